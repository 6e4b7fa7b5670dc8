#!/usr/bin/env bash
# React to sbxfs with inotify instead of polling.
#
#   watch-with-inotify.sh [MOUNTPOINT]   (default: $SBX_MNT)
#
# sbxfs raises inotify events on its own mount: IN_CREATE on execs/ for a
# new exec, IN_CLOSE_WRITE and IN_MODIFY on execs/N/status when an exec
# ends, IN_MODIFY on stdout/stderr/events as they grow.  Needs inotifywait
# (package inotify-tools).
set -euo pipefail

mnt=${1:-${SBX_MNT:-}}
if [ -z "$mnt" ] || [ ! -e "$mnt/ctl" ]; then
	echo "usage: $0 MOUNTPOINT   (or set SBX_MNT; is sbxfs mounted?)" >&2
	exit 2
fi
command -v inotifywait >/dev/null || { echo "$0: needs inotifywait (inotify-tools)" >&2; exit 2; }

box="example-watch-$$"
log=$(mktemp)
watcher=''
mkdir "$mnt/$box"
trap '[ -z "$watcher" ] || kill "$watcher" 2>/dev/null; rmdir "$mnt/$box"; rm -f "$log"' EXIT

# 1. A monitor of execs/: one line per new exec.
inotifywait -m -e create --format 'new exec: %f' "$mnt/$box/execs" >"$log" 2>&1 &
watcher=$!
until grep -q 'Watches established' "$log"; do sleep 0.1; done

# 2. Start two execs; learn each number by reading it back.
for cmd in 'sleep 1; echo first' 'sleep 2; echo second'; do
	exec 3<>"$mnt/$box/ctl/exec"
	echo "$cmd" >&3
	read -r n <&3
	exec 3>&-
	last=$n
done

# 3. Wait for the second one to end: sleep in inotifywait until its status
#    file is rewritten, then look again (checking first, so that an end
#    before the watch was set is not missed).
status="$mnt/$box/execs/$last/status"
while [ "$(cat "$status")" = running ]; do
	inotifywait -qq -t 10 -e close_write -e modify "$status" || true
done
echo "exec $last: $(cat "$status"): $(cat "$mnt/$box/execs/$last/stdout")"

kill "$watcher" 2>/dev/null || true
wait "$watcher" 2>/dev/null || true
watcher=''
grep '^new exec' "$log"
