#!/usr/bin/env bash
# Learn the number of the exec you start, race-free.
#
#   read-back-exec-number.sh [MOUNTPOINT]   (default: $SBX_MNT)
#
# Open ctl/exec read-write, write the command, then read: the read starts
# the exec at once and returns its number.  (A plain `echo cmd > ctl/exec`
# has no way to return it; execs/last is the newest exec, which is only
# yours if nobody else uses the sandbox.)
set -euo pipefail

mnt=${1:-${SBX_MNT:-}}
if [ -z "$mnt" ] || [ ! -e "$mnt/ctl" ]; then
	echo "usage: $0 MOUNTPOINT   (or set SBX_MNT; is sbxfs mounted?)" >&2
	exit 2
fi

box="example-readback-$$"
mkdir "$mnt/$box"
trap 'rmdir "$mnt/$box"' EXIT

run() {                                 # run CMD: print the exec's number
	local n
	exec 3<>"$mnt/$box/ctl/exec"
	printf '%s\n' "$1" >&3
	read -r n <&3
	exec 3>&-
	echo "$n"
}

n=$(run 'ls -l /')
echo "exec $n: $(cat "$mnt/$box/execs/$n/wait")"
cat "$mnt/$box/execs/$n/stdout"

# Several at once: each gets its own number.
a=$(run 'echo one')
b=$(run 'echo two; exit 7')
echo "exec $a: $(cat "$mnt/$box/execs/$a/wait"): $(cat "$mnt/$box/execs/$a/stdout")"
echo "exec $b: $(cat "$mnt/$box/execs/$b/wait"): $(cat "$mnt/$box/execs/$b/stdout")"
