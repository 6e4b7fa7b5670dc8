# tests/lib/sbx.sh: shared harness for tests that run against a real sbxfs mount
# (tests/integration, tests/security, tests/bench).  Needs root, bash >= 5.
#
#   . "$(dirname "$0")/../lib/sbx.sh"      # also sources tap.sh
#   sbx_start                              # temp dir + cleanup trap + mount
#   mkdir "$SBX_MNT/box1"
#   sbx_run box1 'echo hi'; is "$SBX_STATUS" "exited 0" "runs"
#   done_testing
#
# Variables
#   SBX_BUILD   directory holding sbxfs and sbx-supervisor (absolute; default:
#               build/ at the top of the tree).  Set by `make check`.
#   SBX_TMP     the test's temp dir (mktemp -d under /tmp); removed at exit
#   SBX_MNT     mount point, $SBX_TMP/mnt
#   SBX_STATE   state directory, $SBX_TMP/state
#   SBX_PID     pid of the running sbxfs daemon (run with -f, so exact)
#   SBX_T       bound in seconds for one ordinary blocking step (default 10)
#   SBX_WAIT_T  bound for waiting on an exec to end (default 30)
#   SBX_TEST_TIMEOUT  watchdog for the whole test file (default 300): when it
#               fires, the test's children are killed, then (if something is
#               stuck in a FUSE request) the daemon; the test prints a
#               "not ok" and cleanup runs
#   SBX_KEEP    set: cleanup leaves $SBX_TMP (state, logs) for a post-mortem
#   SBX_LIB     this directory
#   SBX_PYTHON  python3 to use (default /usr/bin/python3 if there, else python3)
#
# Functions (return 0 on success, non-zero on failure; none prints TAP)
#   sbx_start [OPTS]        make SBX_TMP (mode 0755: the sandboxes' mapped uids
#                           must walk to their state dir), install the
#                           EXIT/INT/TERM/HUP trap (sbx_cleanup), start the
#                           watchdog, sbx_mount OPTS.  Bails out (TAP "Bail
#                           out!") when the mount fails; skips when not root.
#   sbx_mount [OPTS]        start `sbxfs -f SBX_MNT -o state=SBX_STATE OPTS` in the
#                           background (log: $SBX_TMP/sbxfs.log), wait until
#                           mounted (bounded); sets SBX_PID
#   sbx_umount [fusermount3|umount]
#                           unmount that way and wait (bounded) for the daemon
#                           to exit; returns the unmount command's status
#   sbx_remount [OPTS]      sbx_crash, then sbx_mount OPTS on the same state dir
#   sbx_crash               kill -9 the daemon and lazy-unmount (no new mount)
#   sbx_cleanup             what the trap does, idempotent: kill sbx_bg jobs,
#                           unmount (fusermount3 -u, else umount -l), TERM then
#                           KILL the daemon(s) and this state dir's supervisors
#                           (by pid), remove their leftover cgroups
#                           (sbx-<name>-<pid>, reported with diag), rm the temp dir
#   wait_for SECS CMD...    run CMD every 0.1 s until it succeeds, for at most
#                           SECS (a deadline); 1 on timeout.  CMD must not
#                           block (wrap it in `timeout` if it may)
#   sbx_put FILE            copy stdin to FILE (bounded by SBX_T); cat's status
#   sbx_run BOX SCRIPT [SECS]
#                           write SCRIPT to BOX/ctl/exec, read execs/last, then
#                           cat execs/N/wait (bounded by SECS); sets SBX_N and
#                           SBX_STATUS (call it directly, not in $(...))
#   sbx_exec BOX SCRIPT     start SCRIPT with the read-back form of ctl/exec;
#                           prints the exec number
#   sbx_wait BOX N [SECS]   print exec N's status line once it has ended
#   sbx_errno OP PATH [DATA]
#                           one syscall sequence via fsop.py; prints "ok ..."
#                           or the errno name (EINVAL); TIMEOUT when it hung.
#                           OPs: write append readback read nbread mkdir rmdir
#                           unlink truncate; DATA "-" = stdin
#   sbx_snap FILE           print what a stream file (events, stdout ...) holds
#                           now: its stat size in bytes, read with head -c, so
#                           it never blocks at the end
#   sbx_sup_pid BOX         print BOX's supervisor pid (remembered for cleanup)
#   sbx_alive PID           true when PID exists and is not a zombie
#   sbx_cgroups PID         print the cgroup dirs named sbx-*-PID
#   sbx_bg CMD...           run CMD in the background with stdout/stderr to
#                           files and fds 3-9 closed; sets SBX_BG (pid),
#                           SBX_BG_OUT, SBX_BG_ERR; killed (TERM) at cleanup
#                           if still running
#   sbx_mounted             true when SBX_MNT is a mount point (never blocks)

SBX_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
declare -F _tap_result >/dev/null || . "$SBX_LIB/tap.sh"

: "${SBX_BUILD:=$(cd "$SBX_LIB/../.." && pwd)/build}"
: "${SBX_T:=10}"
: "${SBX_WAIT_T:=30}"
: "${SBX_TEST_TIMEOUT:=300}"
: "${SBX_MOUNT_T:=10}"
# The system python starts in 50 ms; a pyenv shim on PATH can take 10 times that.
if [ -z "$SBX_PYTHON" ]; then
        if [ -x /usr/bin/python3 ]; then SBX_PYTHON=/usr/bin/python3; else SBX_PYTHON=python3; fi
fi
SBX_TMP=
SBX_MNT=
SBX_STATE=
SBX_PID=
_SBX_CLEANED=
_SBX_WATCHDOG=
_SBX_BGN=0

wait_for() {            # a deadline, not a count: forks are slow on a busy machine
        local t=$1 end now
        shift
        end=$(( ${EPOCHREALTIME/./} + t * 1000000 ))
        while :; do
                "$@" && return 0
                now=${EPOCHREALTIME/./}
                [ "$now" -ge "$end" ] && break
                sleep 0.1
        done
        "$@"
}

sbx_alive() {
        [ -n "$1" ] && [ -e "/proc/$1" ] || return 1
        local st
        st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
        [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

sbx_mounted() {
        [ -n "$SBX_MNT" ] && awk -v m="$SBX_MNT" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo
}

# Kill one pid: TERM, wait up to $2 s, then KILL.  Reaps it when it is our child.
_sbx_kill() {
        local pid=$1 t=${2:-5}
        sbx_alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
        kill -TERM "$pid" 2>/dev/null
        if ! wait_for "$t" eval '! sbx_alive '"$pid"; then
                kill -KILL "$pid" 2>/dev/null
                wait_for 5 eval '! sbx_alive '"$pid"
        fi
        wait "$pid" 2>/dev/null
        return 0
}

sbx_start() {
        if [ "$(id -u)" != 0 ]; then
                skip_all "sbxfs tests need root"
        fi
        if [ ! -x "$SBX_BUILD/sbxfs" ] || [ ! -x "$SBX_BUILD/sbx-supervisor" ]; then
                bail_out "no $SBX_BUILD/sbxfs or sbx-supervisor (run make, set SBX_BUILD)"
        fi
        SBX_TMP=$(mktemp -d /tmp/sbxfs-test.XXXXXX) || bail_out "mktemp failed"
        SBX_TMP=$(realpath "$SBX_TMP")
        # mktemp makes it 0700, but the sandboxes' mapped uids must be able
        # to walk the path to their state dir.
        chmod 0755 "$SBX_TMP"
        SBX_MNT=$SBX_TMP/mnt
        SBX_STATE=$SBX_TMP/state
        mkdir -p "$SBX_MNT" "$SBX_STATE"
        : >"$SBX_TMP/sup.pids"
        : >"$SBX_TMP/daemon.pids"
        : >"$SBX_TMP/bg.pids"
        trap 'sbx_cleanup' EXIT
        trap 'sbx_cleanup; exit 130' INT
        trap 'fail "test killed by SIGTERM (the watchdog sends it after $SBX_TEST_TIMEOUT s)"; sbx_cleanup; exit 143' TERM
        trap 'sbx_cleanup; exit 129' HUP
        # The watchdog: a hung step must fail the test, not block CI.  Bash
        # runs traps only between foreground commands, so it first ends the
        # test shell's other children, then the shell itself.  A process
        # stuck in a FUSE request that the daemon never answers cannot be
        # killed at all; killing the daemon aborts the connection and frees
        # it, so that comes next.
        local top=$$
        (
                exec >/dev/null 2>&1 </dev/null
                me=$BASHPID
                sleep "$SBX_TEST_TIMEOUT" &
                # A killed sleep is cleanup stopping us, not a timeout.
                wait $! || exit 0
                echo "watchdog: $SBX_TEST_TIMEOUT s" >>"$SBX_TMP/sbxfs.log"
                ours() { grep -qs -- "$SBX_TMP" "/proc/$1/cmdline"; }
                kids() {
                        local p
                        for p in $(ps -o pid= --ppid "$top"); do
                                [ "$p" = "$me" ] && continue
                                grep -qx -- "$p" "$SBX_TMP/daemon.pids" && continue
                                echo "$p"
                        done
                }
                kill -TERM "$top"
                for p in $(kids); do kill -TERM "$p"; done
                sleep 3
                [ -e "/proc/$top" ] || exit 0
                echo "watchdog: killing sbxfs to free stuck requests" >>"$SBX_TMP/sbxfs.log"
                for p in $(cat "$SBX_TMP/daemon.pids"); do ours "$p" && kill -KILL "$p"; done
                sleep 3
                for p in $(kids); do kill -KILL "$p"; done
        ) &
        _SBX_WATCHDOG=$!
        sbx_mount "$@" || bail_out "cannot mount sbxfs on $SBX_MNT: $(tail -n 5 "$SBX_TMP/sbxfs.log" 2>/dev/null)"
}

sbx_mount() {
        "$SBX_BUILD/sbxfs" -f "$SBX_MNT" -o "state=$SBX_STATE" "$@" \
                </dev/null >>"$SBX_TMP/sbxfs.log" 2>&1 &
        SBX_PID=$!
        echo "$SBX_PID" >>"$SBX_TMP/daemon.pids"
        local n=$((SBX_MOUNT_T * 10))
        while [ "$n" -gt 0 ]; do
                if ! sbx_alive "$SBX_PID"; then
                        wait "$SBX_PID" 2>/dev/null
                        diag "sbxfs exited before mounting: $(tail -n 5 "$SBX_TMP/sbxfs.log")"
                        return 1
                fi
                if sbx_mounted && timeout 2 mountpoint -q "$SBX_MNT"; then
                        _sbx_collect_sups
                        return 0
                fi
                sleep 0.1
                n=$((n - 1))
        done
        diag "sbxfs did not mount within $SBX_MOUNT_T s"
        return 1
}

sbx_umount() {
        local how=${1:-fusermount3} st
        _sbx_collect_sups
        case $how in
        umount) timeout "$SBX_T" umount "$SBX_MNT" ;;
        *) timeout "$SBX_T" fusermount3 -u "$SBX_MNT" ;;
        esac
        st=$?
        if [ "$st" -ne 0 ] && sbx_mounted; then
                diag "$how of $SBX_MNT failed ($st); lazy unmount"
                fusermount3 -uz "$SBX_MNT" 2>/dev/null || umount -l "$SBX_MNT"
        fi
        if ! wait_for "$SBX_T" eval '! sbx_alive '"$SBX_PID"; then
                diag "sbxfs $SBX_PID still running $SBX_T s after unmount; killing it"
                st=1
        fi
        _sbx_kill "$SBX_PID" 2
        return "$st"
}

sbx_crash() {
        _sbx_collect_sups
        kill -KILL "$SBX_PID" 2>/dev/null
        wait_for "$SBX_T" eval '! sbx_alive '"$SBX_PID"
        wait "$SBX_PID" 2>/dev/null
        if sbx_mounted; then
                fusermount3 -uz "$SBX_MNT" 2>/dev/null || umount -l "$SBX_MNT"
        fi
        ! sbx_mounted
}

sbx_remount() {
        sbx_crash
        sbx_mount "$@"
}

_sbx_collect_sups() {
        local f p
        [ -d "$SBX_STATE" ] || return 0
        for f in "$SBX_STATE"/*/supervisor.pid; do
                [ -f "$f" ] || continue
                read -r p <"$f" 2>/dev/null && [ -n "$p" ] && echo "$p" >>"$SBX_TMP/sup.pids"
        done
        return 0
}

# Is pid a supervisor of a state dir of ours?  (guards against pid reuse)
_sbx_our_sup() {
        local cl
        cl=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") || return 1
        [[ $cl == *sbx-supervisor* && $cl == *"$SBX_TMP/"* ]]
}

sbx_sup_pid() {
        local p
        read -r p <"$SBX_STATE/$1/supervisor.pid" 2>/dev/null || return 1
        echo "$p" >>"$SBX_TMP/sup.pids"
        echo "$p"
}

sbx_cgroups() {
        [ -n "$1" ] || return 0
        find /sys/fs/cgroup -maxdepth 6 -type d -name "sbx-*-$1" 2>/dev/null
}

sbx_bg() {
        _SBX_BGN=$((_SBX_BGN + 1))
        SBX_BG_OUT=$SBX_TMP/bg.$_SBX_BGN.out
        SBX_BG_ERR=$SBX_TMP/bg.$_SBX_BGN.err
        # fds 3-9 closed: a test's own `exec 4>.../stdin` must not be held
        # open by a background reader (the exec would never see EOF).
        "$@" </dev/null >"$SBX_BG_OUT" 2>"$SBX_BG_ERR" \
                3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
        SBX_BG=$!
        echo "$SBX_BG" >>"$SBX_TMP/bg.pids"
}

sbx_cleanup() {
        local rc=$? p d
        [ -n "$_SBX_CLEANED" ] && return "$rc"
        _SBX_CLEANED=1
        [ -n "$SBX_TMP" ] && [ -d "$SBX_TMP" ] || return "$rc"
        trap - INT TERM HUP
        # Background helpers first (they may hold files of the mount open).
        for p in $(cat "$SBX_TMP/bg.pids" 2>/dev/null) $(jobs -p); do
                [ "$p" = "$_SBX_WATCHDOG" ] && continue
                grep -qx "$p" "$SBX_TMP/daemon.pids" 2>/dev/null && continue
                kill -TERM "$p" 2>/dev/null
        done
        for p in $(cat "$SBX_TMP/bg.pids" 2>/dev/null); do
                wait_for 2 eval '! sbx_alive '"$p" || kill -KILL "$p" 2>/dev/null
        done
        _sbx_collect_sups
        if sbx_mounted; then
                timeout 5 fusermount3 -u "$SBX_MNT" 2>/dev/null ||
                        fusermount3 -uz "$SBX_MNT" 2>/dev/null || umount -l "$SBX_MNT"
        fi
        for p in $(cat "$SBX_TMP/daemon.pids" 2>/dev/null); do
                _sbx_kill "$p" 3
        done
        # The supervisors of this state dir, by pid: TERM makes them stop
        # their sandbox and remove their cgroups; KILL when they do not.
        local sups
        sups=$(sort -un "$SBX_TMP/sup.pids" 2>/dev/null)
        for p in $sups; do
                _sbx_our_sup "$p" && kill -TERM "$p" 2>/dev/null && kill -CONT "$p" 2>/dev/null
        done
        for p in $sups; do
                if _sbx_our_sup "$p" && ! wait_for 5 eval '! sbx_alive '"$p"; then
                        diag "cleanup: supervisor $p ignored TERM; KILL"
                        kill -KILL "$p" 2>/dev/null
                fi
        done
        for p in $sups; do
                for d in $(sbx_cgroups "$p"); do
                        diag "cleanup: leftover cgroup $d"
                        find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null |
                                while read -r q; do kill -KILL "$q" 2>/dev/null; done
                        wait_for 5 eval "! find '$d' -name cgroup.procs -exec cat {} + 2>/dev/null | grep -q ."
                        find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
                        [ -d "$d" ] && diag "cleanup: cannot remove $d"
                done
        done
        if [ -n "$_SBX_WATCHDOG" ]; then
                # The watchdog itself first: woken early, it would take the
                # end of its sleep for a timeout.
                local wkids
                wkids=$(ps -o pid= --ppid "$_SBX_WATCHDOG" 2>/dev/null)
                kill -TERM "$_SBX_WATCHDOG" 2>/dev/null
                for p in $wkids; do
                        kill -TERM "$p" 2>/dev/null
                done
                wait "$_SBX_WATCHDOG" 2>/dev/null
        fi
        if [ "${TAP_FAILED:-0}" -gt 0 ] || [ "$rc" -ne 0 ]; then
                diag "sbxfs log (last 30 lines):" "$(tail -n 30 "$SBX_TMP/sbxfs.log" 2>/dev/null)"
        fi
        if sbx_mounted; then
                diag "cleanup: $SBX_MNT still mounted; leaving $SBX_TMP"
        elif [ -n "$SBX_KEEP" ]; then
                diag "cleanup: SBX_KEEP set, leaving $SBX_TMP"
        else
                # --one-file-system: never descend into anything mounted below.
                rm -rf --one-file-system "$SBX_TMP" 2>/dev/null ||
                        diag "cleanup: cannot remove all of $SBX_TMP"
        fi
        return "$rc"
}

sbx_snap() {
        local size
        size=$(timeout "$SBX_T" stat -c %s "$1") || return 1
        timeout "$SBX_T" head -c "$size" "$1"
}

sbx_put() {
        timeout "$SBX_T" sh -c 'exec cat > "$1"' sh "$1"
}

sbx_run() {
        local box=$1 script=$2 t=${3:-$SBX_WAIT_T}
        SBX_N=
        SBX_STATUS=
        printf '%s\n' "$script" | sbx_put "$SBX_MNT/$box/ctl/exec" || return 1
        SBX_N=$(timeout "$SBX_T" readlink "$SBX_MNT/$box/execs/last") || return 1
        SBX_N=${SBX_N##*/}
        SBX_STATUS=$(timeout "$t" cat "$SBX_MNT/$box/execs/$SBX_N/wait") || return 1
}

sbx_exec() {
        local r
        r=$(printf '%s\n' "$2" | sbx_errno readback "$SBX_MNT/$1/ctl/exec" -)
        [[ $r == "ok "* ]] || { diag "sbx_exec $1: $r"; return 1; }
        echo "${r#ok }"
}

sbx_wait() {
        timeout "${3:-$SBX_WAIT_T}" cat "$SBX_MNT/$1/execs/$2/wait"
}

sbx_errno() {
        local out st
        out=$(timeout "$SBX_T" "$SBX_PYTHON" "$SBX_LIB/fsop.py" "$@")
        st=$?
        if [ "$st" -eq 124 ]; then
                echo TIMEOUT
        else
                echo "$out"
        fi
}
