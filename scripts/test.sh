#!/usr/bin/env bash
# scripts/test.sh: the test command.  Installs what is missing
# (scripts/deps.sh), builds, and runs `make check`: unit tests (plain and
# under ASan/UBSan), then the integration and security suites against real
# mounts.  Needs root for the real-mount suites (namespaces, cgroups, FUSE).
#
#   scripts/test.sh            deps + build + make check
#   scripts/test.sh VAR=value  extra arguments go to `make check`
#
# Exit status is that of `make check`.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

say() { printf '\n==> %s\n' "$*"; }

say "dependencies (scripts/deps.sh)"
bash scripts/deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
say "build (make -j$jobs)"
make -j"$jobs"

if [ "$(id -u)" -ne 0 ]; then
	echo "test.sh: warning: not root; the real-mount suites need root and may skip or fail." >&2
fi

say "tests (make check${*:+ $*})"
make check "$@"
say "all tests passed"
