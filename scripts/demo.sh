#!/usr/bin/env bash
# scripts/demo.sh: the whole of sbxfs in one run, on a fresh Debian 12.
#
# Installs what is missing (scripts/deps.sh), builds (make), mounts sbxfs
# on a temporary directory with a temporary state directory, makes a
# sandbox with mkdir, runs a shell command and a python3 script in it by
# writing them to ctl/exec, shows their status, output and metrics and the
# tree, then destroys the sandbox (rmdir) and unmounts.  Whatever happens,
# the exit trap unmounts, stops what the demo started and removes the
# temporary directories.  Needs root (namespaces, cgroups, FUSE).
#
#   scripts/demo.sh             everything
#   scripts/demo.sh --no-deps   skip scripts/deps.sh
#
# Exit status 0 when every step did what the demo expects.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

do_deps=1
for arg in "$@"; do
	case $arg in
	--no-deps) do_deps=0 ;;
	-h | --help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "demo.sh: unknown argument '$arg'" >&2; exit 2 ;;
	esac
done

if [ -t 1 ]; then
	B=$'\e[1m' C=$'\e[36m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'
else
	B='' C='' G='' R='' N=''
fi
section() { printf '\n%s== %s ==%s\n' "$B" "$*" "$N"; }
note() { printf '%s# %s%s\n' "$C" "$*" "$N"; }
ok() { printf '%s✓ %s%s\n' "$G" "$*" "$N"; }
die() { printf '%sdemo.sh: %s%s\n' "$R" "$*" "$N" >&2; exit 1; }
# Show a command as written (with $MNT unexpanded, for reading), then run it.
step() { printf '%s$ %s%s\n' "$B" "$1" "$N"; eval "$1"; }

MNT='' STATE='' SBXFS="$top/build/sbxfs"

# Every sbxfs daemon serving $MNT, by its command line: only the one this
# script started can have this fresh mktemp path as its mount point.
sbxfs_pids() {
	local f pid arg
	for f in /proc/[0-9]*/cmdline; do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		while IFS= read -r -d '' arg; do
			if [ "$arg" = "$MNT" ]; then
				case $(readlink "/proc/$pid/exe" 2>/dev/null) in
				*/sbxfs) echo "$pid" ;;
				esac
				break
			fi
		done 2>/dev/null <"$f" || true
	done
}

is_mounted() {
	[ -n "$MNT" ] && grep -qF " $MNT " /proc/self/mounts
}

cleanup() {
	local rc=$? pid n
	trap - EXIT INT TERM
	set +e
	if [ "$rc" != 0 ] && [ -n "$STATE" ] && [ -s "$STATE/events" ]; then
		# Failures are explained in words in the events log.
		printf '%sdemo.sh: the last events (%s):%s\n' "$R" "\$STATE/events" "$N" >&2
		tail -n 5 "$STATE/events" >&2
	fi
	if [ -n "$MNT" ]; then
		section "clean-up"
		if is_mounted; then
			# Destroy the sandbox first, so that its supervisor ends too.
			if [ -d "$MNT/demo" ]; then
				note "rmdir \$MNT/demo"
				rmdir "$MNT/demo" 2>/dev/null
			fi
			note "fusermount3 -u \$MNT"
			fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null ||
				umount -l "$MNT" 2>/dev/null
		fi
		# The daemon leaves once unmounted; give it a moment, then insist.
		for n in $(seq 50); do
			[ -z "$(sbxfs_pids)" ] && break
			[ "$n" = 30 ] && for pid in $(sbxfs_pids); do kill -TERM "$pid"; done
			sleep 0.1
		done
	fi
	if [ -n "$STATE" ] && [ -d "$STATE" ]; then
		# Supervisors are detached from sbxfs and outlive it: stop those of
		# this state directory (a sandbox the demo did not get to rmdir).
		for f in "$STATE"/*/supervisor.pid; do
			[ -f "$f" ] || continue
			pid=$(cat "$f" 2>/dev/null)
			case $pid in '' | *[!0-9]*) continue ;; esac
			if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$STATE"; then
				note "stopping supervisor $pid"
				kill -TERM "$pid"
				for n in $(seq 50); do
					kill -0 "$pid" 2>/dev/null || break
					sleep 0.1
				done
			fi
		done
		if grep -qF " $STATE" /proc/self/mounts; then
			printf '%sdemo.sh: something is still mounted under %s; left in place%s\n' \
				"$R" "$STATE" "$N" >&2
		else
			rm -rf -- "$STATE"
		fi
	fi
	# rmdir, never rm -r: if the unmount failed, the mount stays untouched.
	if [ -n "$MNT" ] && ! is_mounted; then
		rmdir -- "$MNT" 2>/dev/null
	elif [ -n "$MNT" ]; then
		printf '%sdemo.sh: %s is still mounted%s\n' "$R" "$MNT" "$N" >&2
		rc=1
	fi
	if [ "$rc" = 0 ]; then
		ok "unmounted, temporary directories removed"
	else
		printf '%sdemo.sh: failed (exit %s); clean-up done%s\n' "$R" "$rc" "$N" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Wait (up to 10 s) until execs/last names an exec other than $1, and print
# its number.  The exec starts when the writer's file is released, which
# FUSE reports a moment after close(2) has returned.
new_exec() {
	local prev=$1 n cur
	for n in $(seq 100); do
		cur=$(readlink "$MNT/demo/execs/last" 2>/dev/null || true)
		if [ -n "$cur" ] && [ "$cur" != "$prev" ]; then
			echo "${cur##*/}"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

show_exec() {
	local n=$1
	step "cat \$MNT/demo/execs/$n/cmd"
	step "cat \$MNT/demo/execs/$n/wait        # blocks until the exec ends"
	step "cat \$MNT/demo/execs/$n/stdout"
	step "cat \$MNT/demo/execs/$n/stderr"
	step "cat \$MNT/demo/execs/$n/metrics"
}

# ----------------------------------------------------------------------

if [ "$(id -u)" -ne 0 ]; then
	die "run me as root: sandboxes need user namespaces, cgroups and FUSE mounts."
fi

if [ "$do_deps" = 1 ]; then
	section "dependencies (scripts/deps.sh)"
	bash scripts/deps.sh
fi

section "build (make)"
make -j"$(nproc 2>/dev/null || echo 2)"
[ -x "$SBXFS" ] || die "make did not produce $SBXFS"
step "build/sbxfs --version"

section "mount"
MNT=$(mktemp -d /tmp/sbxfs-demo-mnt.XXXXXX)
STATE=$(mktemp -d /tmp/sbxfs-demo-state.XXXXXX)
# mktemp makes it 0700; a sandbox's init runs as an unprivileged host uid
# and must be able to pass through it to reach its own directory.
chmod 711 "$STATE"
note "MNT=$MNT"
note "STATE=$STATE   (the state directory: sandboxes, outputs, logs)"
step "build/sbxfs \$MNT -o state=\$STATE      # mounts, then daemonizes"
for n in $(seq 50); do
	is_mounted && break
	sleep 0.1
done
is_mounted || die "sbxfs did not mount on $MNT"
ok "mounted"
step "ls -l \$MNT"

section "a sandbox is a directory"
step "mkdir \$MNT/demo"
step "ls -l \$MNT/demo"
step "cat \$MNT/demo/status"
step "cat \$MNT/demo/config"

section "run a command: write it to ctl/exec"
prev=$(readlink "$MNT/demo/execs/last" 2>/dev/null || true)
step "echo 'echo hello from \$(hostname); uname -a; id; exit 3' > \$MNT/demo/ctl/exec"
n1=$(new_exec "$prev") || die "no new exec appeared in \$MNT/demo/execs"
note "the exec is number $n1 (execs/last -> $n1)"
step "ls -l \$MNT/demo/execs/last"
show_exec last
[ "$(cat "$MNT/demo/execs/$n1/wait")" = "exited 3" ] || die "exec $n1: expected 'exited 3'"
grep -q '^hello from ' "$MNT/demo/execs/$n1/stdout" || die "exec $n1: no 'hello from' in stdout"
ok "exec $n1 exited with status 3 and said hello"

section "run a script: a #! first line picks the interpreter"
prev=$(readlink "$MNT/demo/execs/last" 2>/dev/null || true)
# shellcheck disable=SC2016 # $MNT is shown, not expanded
printf '%s$ cat > $MNT/demo/ctl/exec <<%s%s\n' "$B" "'EOF'" "$N"
script=$(
	cat <<'EOF'
#!/usr/bin/env python3
import os, socket, sys
print("python", sys.version.split()[0], "as uid", os.getuid(), "in", os.getcwd())
print("sees in /:", " ".join(sorted(os.listdir("/"))))
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2)
    print("network: reachable")
except OSError as e:
    print("network: blocked:", e.strerror or e)
print("a line on stderr", file=sys.stderr)
EOF
)
printf '%s\nEOF\n' "$script"
printf '%s\n' "$script" >"$MNT/demo/ctl/exec"
n2=$(new_exec "$prev") || die "no new exec appeared in \$MNT/demo/execs"
note "the exec is number $n2"
show_exec "$n2"
[ "$(cat "$MNT/demo/execs/$n2/wait")" = "exited 0" ] || die "exec $n2: expected 'exited 0'"
grep -q '^python ' "$MNT/demo/execs/$n2/stdout" || die "exec $n2: python printed nothing"
ok "the python script ran in the sandbox"

section "the tree"
step "ls -l \$MNT \$MNT/demo \$MNT/demo/ctl \$MNT/demo/execs \$MNT/demo/execs/$n1"
step "cat \$MNT/demo/metrics"
note "events never end (a read at the end waits for the next line): read for 1 s"
step "timeout 1 cat \$MNT/demo/events || true"

section "destroy and unmount"
step "rmdir \$MNT/demo"
[ ! -e "$MNT/demo" ] || die "\$MNT/demo is still there after rmdir"
step "ls -l \$MNT"
step "fusermount3 -u \$MNT"
for n in $(seq 50); do
	is_mounted || break
	sleep 0.1
done
is_mounted && die "still mounted after fusermount3 -u"
ok "done: sandbox destroyed, sbxfs unmounted"
