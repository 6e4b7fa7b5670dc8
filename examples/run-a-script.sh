#!/usr/bin/env bash
# Run a script in a fresh sandbox and show what it did.
#
#   run-a-script.sh [MOUNTPOINT] [SCRIPT]
#
# MOUNTPOINT defaults to $SBX_MNT.  SCRIPT is any file: with a #! first
# line it runs under that interpreter, else under /bin/sh.  Without one, a
# small python3 script runs.  Exits with the script's exit code.
set -euo pipefail

mnt=${1:-${SBX_MNT:-}}
if [ -z "$mnt" ] || [ ! -e "$mnt/ctl" ]; then
	echo "usage: $0 MOUNTPOINT [SCRIPT]   (or set SBX_MNT; is sbxfs mounted?)" >&2
	exit 2
fi
script=${2:-}

box="example-run-$$"
mkdir "$mnt/$box"                          # a new sandbox (trust medium)
trap 'rmdir "$mnt/$box"' EXIT              # rmdir destroys it

if [ -n "$script" ]; then
	cat -- "$script" >"$mnt/$box/ctl/exec"  # runs when the file is closed
else
	cat >"$mnt/$box/ctl/exec" <<'PY'
#!/usr/bin/env python3
import os, sys
print("hello from", os.uname().nodename, "in", os.getcwd())
print("sys.version:", sys.version.split()[0])
print("this goes to stderr", file=sys.stderr)
sys.exit(0)
PY
fi

exec_dir="$mnt/$box/execs/last"             # our sandbox: the newest exec is ours
status=$(cat "$exec_dir/wait")              # blocks until it ends
echo "--- stdout";  cat "$exec_dir/stdout"
echo "--- stderr";  cat "$exec_dir/stderr"
echo "--- status: $status"
grep -E '^(wall_ms|cpu_user_ms|mem_peak_bytes) ' "$exec_dir/metrics"

case $status in
"exited "*) code=${status#exited }; exit "${code%% *}" ;;
*) exit 1 ;;
esac
