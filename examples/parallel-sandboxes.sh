#!/usr/bin/env bash
# Several sandboxes at once, each running its own job, then collect results.
#
#   parallel-sandboxes.sh [MOUNTPOINT] [COUNT]   (default: $SBX_MNT, 3)
#
# Sandboxes are isolated from each other: each has its own /workspace,
# /tmp, processes and limits.  Here each writes a file in its workspace and
# cannot see the others'.
set -euo pipefail

mnt=${1:-${SBX_MNT:-}}
count=${2:-3}
if [ -z "$mnt" ] || [ ! -e "$mnt/ctl" ]; then
	echo "usage: $0 MOUNTPOINT [COUNT]   (or set SBX_MNT; is sbxfs mounted?)" >&2
	exit 2
fi

boxes=()
cleanup() {
	local b
	for b in "${boxes[@]}"; do
		rmdir "$mnt/$b" 2>/dev/null || true
	done
}
trap cleanup EXIT

# Make them: mkdir for the default level, or "new NAME key=value" in ctl.
for i in $(seq "$count"); do
	b="example-par-$$-$i"
	echo "new $b trust=low timeout=20s" >"$mnt/ctl"
	boxes+=("$b")
done

# Start a job in each (every exec starts when its writer closes).
for i in "${!boxes[@]}"; do
	b=${boxes[$i]}
	echo "echo job $i > /workspace/mine; sleep $((i % 3 + 1)); ls /workspace; hostname" \
		>"$mnt/$b/ctl/exec"
done

# Wait for all: each `cat wait` blocks until its exec ends.
for b in "${boxes[@]}"; do
	cat "$mnt/$b/execs/last/wait" >/dev/null &
done
wait

for b in "${boxes[@]}"; do
	printf '%s: %s; wall_ms %s; output: %s\n' "$b" \
		"$(cat "$mnt/$b/execs/last/status")" \
		"$(sed -n 's/^wall_ms //p' "$mnt/$b/execs/last/metrics")" \
		"$(tr '\n' ' ' <"$mnt/$b/execs/last/stdout")"
done
