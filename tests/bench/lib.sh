# tests/bench/lib.sh: what the benchmark scripts (run.sh, files.sh, net.sh)
# share: checks, one sbxfs mount in a temp dir, and a cleanup that always
# runs (EXIT, INT, TERM, HUP) and removes everything the script started.
#
#   . "$HERE/lib.sh"
#   bench_start NAME [SBXFS -o OPTIONS...]
#           needs root and $SBX_BUILD/{sbxfs,sbx-supervisor}; makes TMP
#           (/tmp/sbxbench-NAME.*), MNT, STATE, mounts sbxfs -f there
#           (DAEMON = its pid); exits 2 when any of that fails
#   bench_cleanup_extra
#           a function the script may define: cleanup calls it first, while
#           the mount is still up (servers, background jobs)
#   collect_sups    remember the supervisors of STATE (call after mkdir)
#   say, warn, mounted, alive PID, wait_gone SECS PID, our_sup PID
#
# BENCH_KEEP=1 leaves TMP (not the mount) for inspection.

say() { printf '%s\n' "$*"; }
warn() { printf 'bench: %s\n' "$*" >&2; }

TMP=
MNT=
STATE=
DAEMON=
CLEANED=

mounted() {
        [ -n "$MNT" ] && awk -v m="$MNT" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo
}

# alive PID: true while PID exists and is not a zombie
alive() {
        [ -n "$1" ] && [ -e "/proc/$1" ] || return 1
        local st
        st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
        [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# wait_gone SECS PID: true once PID has ended (polls every 50 ms)
wait_gone() {
        local n=$(( $1 * 20 ))
        while alive "$2"; do
                n=$((n - 1))
                [ "$n" -gt 0 ] || return 1
                sleep 0.05
        done
}

# Remember the supervisors of our state dir (pid files vanish with rmdir).
collect_sups() {
        local f p
        [ -n "$STATE" ] && [ -d "$STATE" ] || return 0
        for f in "$STATE"/*/supervisor.pid; do
                [ -f "$f" ] || continue
                read -r p <"$f" 2>/dev/null && [ -n "$p" ] && echo "$p" >>"$TMP/sup.pids"
        done
        return 0
}

# Is pid a supervisor of our state dir?  (guards against pid reuse)
our_sup() {
        local cl
        cl=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") || return 1
        [[ $cl == *sbx-supervisor* && $cl == *"$STATE"* ]]
}

cleanup() {
        local rc=$? p d sups left=
        [ -n "$CLEANED" ] && return "$rc"
        CLEANED=1
        trap - INT TERM HUP
        [ -n "$TMP" ] && [ -d "$TMP" ] || return "$rc"
        if declare -F bench_cleanup_extra >/dev/null; then
                bench_cleanup_extra
        fi
        collect_sups
        if mounted; then
                timeout 10 fusermount3 -u "$MNT" 2>/dev/null ||
                        fusermount3 -uz "$MNT" 2>/dev/null || umount -l "$MNT"
        fi
        if [ -n "$DAEMON" ]; then
                if ! wait_gone 5 "$DAEMON"; then
                        kill -TERM "$DAEMON" 2>/dev/null
                        wait_gone 3 "$DAEMON" || kill -KILL "$DAEMON" 2>/dev/null
                fi
                wait "$DAEMON" 2>/dev/null
        fi
        # Supervisors of this state dir, by pid: TERM makes one stop its
        # sandbox and remove its cgroups; KILL when it does not.
        sups=$(sort -un "$TMP/sup.pids" 2>/dev/null)
        for p in $sups; do
                our_sup "$p" && kill -TERM "$p" 2>/dev/null
        done
        for p in $sups; do
                if our_sup "$p" && ! wait_gone 5 "$p"; then
                        warn "cleanup: supervisor $p ignored TERM; KILL"
                        kill -KILL "$p" 2>/dev/null
                fi
        done
        for p in $sups; do
                while read -r d; do
                        [ -n "$d" ] || continue
                        warn "cleanup: leftover cgroup $d"
                        find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null |
                                while read -r q; do kill -KILL "$q" 2>/dev/null; done
                        sleep 0.2
                        find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
                        [ -d "$d" ] && { warn "cleanup: cannot remove $d"; left=1; }
                done < <(find /sys/fs/cgroup -maxdepth 6 -type d -name "sbx-*-$p" 2>/dev/null)
        done
        if [ "$rc" -ne 0 ] && [ -s "$TMP/sbxfs.log" ]; then
                warn "sbxfs log (last 20 lines):"
                tail -n 20 "$TMP/sbxfs.log" >&2
        fi
        if mounted; then
                warn "cleanup: $MNT still mounted; leaving $TMP"
        elif [ -n "${BENCH_KEEP:-}" ]; then
                warn "cleanup: BENCH_KEEP set, leaving $TMP"
        else
                rm -rf --one-file-system "$TMP" 2>/dev/null || warn "cleanup: cannot remove all of $TMP"
        fi
        [ -n "$left" ] && [ "$rc" -eq 0 ] && rc=1
        return "$rc"
}

bench_start() {
        local name=$1 f n
        shift
        if [ "$(id -u)" != 0 ]; then
                warn "needs root (namespaces, cgroups, FUSE)"
                exit 2
        fi
        for f in sbxfs sbx-supervisor; do
                if [ ! -x "$SBX_BUILD/$f" ]; then
                        warn "no $SBX_BUILD/$f (run make, or set SBX_BUILD to an absolute build dir)"
                        exit 2
                fi
        done
        case $SBX_BUILD in /*) ;; *) SBX_BUILD=$(cd "$SBX_BUILD" && pwd) ;; esac
        TMP=$(mktemp -d "/tmp/sbxbench-$name.XXXXXX") || { warn "mktemp failed"; exit 2; }
        TMP=$(realpath "$TMP")
        chmod 0755 "$TMP"       # the sandboxes' mapped uids walk this path
        MNT=$TMP/mnt
        STATE=$TMP/state
        mkdir -p "$MNT" "$STATE"
        : >"$TMP/sup.pids"
        trap 'cleanup; exit $?' EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
        trap 'exit 129' HUP
        "$SBX_BUILD/sbxfs" -f "$MNT" -o "state=$STATE" "$@" </dev/null >>"$TMP/sbxfs.log" 2>&1 &
        DAEMON=$!
        n=200
        until mounted && timeout 2 mountpoint -q "$MNT"; do
                n=$((n - 1))
                if ! alive "$DAEMON" || [ "$n" -le 0 ]; then
                        warn "sbxfs did not mount on $MNT: $(tail -n 5 "$TMP/sbxfs.log")"
                        exit 2
                fi
                sleep 0.05
        done
}
