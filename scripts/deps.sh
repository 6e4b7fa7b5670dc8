#!/usr/bin/env bash
# scripts/deps.sh: install what sbxfs needs to build and test on Debian 12.
#
#   scripts/deps.sh            build and test dependencies
#   scripts/deps.sh --build    build dependencies only
#   scripts/deps.sh --check    only report what is missing (exit 1 if any)
#
# Checks each package with dpkg-query first; only when something is missing
# does it run `apt-get update` and `apt-get install -y
# --no-install-recommends` for the missing ones.  Idempotent, never
# prompts (works with CI=true and no stdin).  Runs apt-get directly as
# root, through sudo otherwise.
set -euo pipefail

# Needed by `make`: compiler, pkg-config and the three libraries (fuse3,
# libseccomp, glib) with their headers, Check for the unit tests.
# fusermount3 (fuse3) mounts and unmounts.
BUILD_PKGS=(
	build-essential pkg-config
	libfuse3-dev fuse3
	libseccomp-dev libglib2.0-dev
	check
)

# Needed by `make check` and the demo: prove (perl), inotifywait, python3
# for #! scripts and JSON checks, the tools the integration and security
# tests drive (chromium: the preview URL in a real browser; e2fsprogs:
# mkfs.ext4 for size-limited workspaces), and man-db to check the man pages.
TEST_PKGS=(
	perl inotify-tools python3 curl iproute2 bubblewrap procps psmisc
	git vim rsync socat util-linux coreutils findutils
	jq strace attr file man-db e2fsprogs
	chromium
)

usage() {
	sed -n '2,12s/^# \{0,1\}//p' "$0"
}

want_test=1
check_only=0
for arg in "$@"; do
	case $arg in
	--build) want_test=0 ;;
	--check) check_only=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "deps.sh: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
	esac
done

pkgs=("${BUILD_PKGS[@]}")
if [ "$want_test" = 1 ]; then
	pkgs+=("${TEST_PKGS[@]}")
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps.sh: dpkg-query not found; this script is for Debian 12 (apt)." >&2
	echo "deps.sh: install by hand: ${pkgs[*]}" >&2
	exit 1
fi

# A package counts as present only when dpkg says "install ok installed";
# removed-but-configured ("rc") or half-installed ones are missing.
# One dpkg-query for all of them (it names the unknown ones on stderr).
# (It exits 1 when one is unknown: hence the "|| true".)
installed=" $({ dpkg-query -W -f='${db:Status-Abbrev}${Package}\n' "${pkgs[@]}" 2>/dev/null || true; } |
	sed -n 's/^ii *//p' | tr '\n' ' ') "
missing=()
for p in "${pkgs[@]}"; do
	case $installed in
	*" $p "*) ;;
	*) missing+=("$p") ;;
	esac
done

if [ "${#missing[@]}" -eq 0 ]; then
	echo "deps.sh: all ${#pkgs[@]} packages are installed."
else
	echo "deps.sh: missing: ${missing[*]}"
	if [ "$check_only" = 1 ]; then
		exit 1
	fi
	if [ "$(id -u)" -eq 0 ]; then
		as_root=()
	elif command -v sudo >/dev/null 2>&1; then
		# -n: never ask for a password on a terminal that is not there.
		as_root=(sudo -n)
		if [ -t 0 ]; then
			as_root=(sudo)
		fi
	else
		echo "deps.sh: not root and no sudo: run as root to install: ${missing[*]}" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt_opts=(-q -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0)
	echo "deps.sh: apt-get update"
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get "${apt_opts[@]}" update </dev/null
	echo "deps.sh: apt-get install ${missing[*]}"
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get "${apt_opts[@]}" install -y --no-install-recommends \
		"${missing[@]}" </dev/null
	echo "deps.sh: installed ${#missing[@]} package(s)."
fi

# The kernel side cannot be installed by apt; say what is wrong, loudly,
# but do not fail: `make` works without any of it.
if [ "$check_only" = 0 ] && [ ! -e /dev/fuse ]; then
	if [ "$(id -u)" -eq 0 ] && command -v modprobe >/dev/null 2>&1; then
		modprobe fuse 2>/dev/null || true
	fi
	if [ ! -e /dev/fuse ]; then
		echo "deps.sh: warning: /dev/fuse is missing: mounting sbxfs will fail" \
			"(load the fuse module, or give the container --device /dev/fuse)." >&2
	fi
fi
if [ ! -d /sys/fs/cgroup ] || [ -z "$(ls -A /sys/fs/cgroup 2>/dev/null)" ]; then
	echo "deps.sh: warning: no cgroup filesystem at /sys/fs/cgroup:" \
		"memory, pids and CPU limits cannot be enforced." >&2
fi
exit 0
