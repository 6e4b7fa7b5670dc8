#!/usr/bin/env bash
# Follow an exec's output while it runs, with tail -f.
#
#   stream-output.sh [MOUNTPOINT]        (default: $SBX_MNT)
#
# sbxfs shows stdout growing (stat sizes grow, inotify IN_MODIFY), so
# `tail -f` follows it like a log file.  tail never stops on its own; here
# --pid ends it once the exec is over: a `cat wait` in the background
# exits when the exec ends, and tail, told to follow until that pid is
# gone, reads a last time and stops.
#
# Simpler still: `cat execs/N/stdout` also streams, and ends by itself at
# the end of the exec (a read at the end of the data blocks while it runs).
set -euo pipefail

mnt=${1:-${SBX_MNT:-}}
if [ -z "$mnt" ] || [ ! -e "$mnt/ctl" ]; then
	echo "usage: $0 MOUNTPOINT   (or set SBX_MNT; is sbxfs mounted?)" >&2
	exit 2
fi

box="example-stream-$$"
waiter=''
mkdir "$mnt/$box"
trap '[ -z "$waiter" ] || kill "$waiter" 2>/dev/null; rmdir "$mnt/$box"' EXIT

# shellcheck disable=SC2016 # expanded in the sandbox, not here
echo 'for i in 1 2 3 4 5; do echo "tick $i at $(date +%T)"; sleep 1; done; echo done' \
	>"$mnt/$box/ctl/exec"
out="$mnt/$box/execs/last/stdout"
wait_file="$mnt/$box/execs/last/wait"

cat "$wait_file" >/dev/null &           # exits when the exec ends
waiter=$!
echo "following $out (Ctrl-C stops following; the exec goes on until rmdir)"
tail -n +1 -f --pid="$waiter" "$out"
wait "$waiter" || true
waiter=''
echo "status: $(cat "$wait_file")"
