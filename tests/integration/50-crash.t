#!/bin/bash
# Crash independence: kill -9 the sbxfs daemon while an exec runs; the
# supervisor and the exec go on, and a new mount on the same state shows
# the sandbox, the exec and its complete output.
. "$(dirname "$0")/../lib/sbx.sh"
sbx_start
MNT=$SBX_MNT
B=$MNT/box1
timeout "$SBX_T" mkdir "$B" || bail_out "mkdir box1 failed"

LINES=25
script='i=0; while [ $i -lt '$LINES' ]; do echo "line $i"; i=$((i + 1)); sleep 0.2; done'
n=$(sbx_exec box1 "$script")
like "$n" '^[0-9]+$' "a long exec started ($n)"
SOUT=$SBX_STATE/box1/execs/$n/stdout
lines_on_disk() { [ -f "$SOUT" ] && wc -l <"$SOUT" || echo 0; }
ok "$(wait_for 10 eval '[ "$(lines_on_disk)" -ge 2 ]'; echo $?)" "it prints lines"
sup=$(sbx_sup_pid box1)
ok "$(sbx_alive "$sup"; echo $?)" "box1's supervisor runs ($sup)"
sbx_bg timeout 60 cat "$B/execs/$n/stdout"; reader=$SBX_BG

old=$SBX_PID
sbx_crash
ok "$(! sbx_alive "$old"; echo $?)" "kill -9 ended the sbxfs daemon"
ok "$(! sbx_mounted; echo $?)" "and the dead mount is gone (lazy unmount)"
ok "$(wait_for 10 eval '! sbx_alive '"$reader"; echo $?)" "a reader blocked on the dead mount is released"
at_crash=$(lines_on_disk)
ok "$(sbx_alive "$sup"; echo $?)" "the supervisor survives the daemon"
is "$(cat "$SBX_STATE/box1/execs/$n/status")" running "the exec is still running (state dir)"
ok "$(wait_for 10 eval '[ "$(lines_on_disk)" -gt '"$at_crash"' ]'; echo $?)" \
        "the exec goes on printing with no daemon ($at_crash lines at the crash)"

sbx_mount || bail_out "cannot mount again after the crash"
pass "mounted again on the same state"
like "$(timeout "$SBX_T" ls "$MNT")" '^box1$' "ls shows box1"
like "$(timeout "$SBX_T" ls "$B/execs")" "^$n\$" "execs/ lists exec $n"
is "$(timeout "$SBX_T" readlink "$B/execs/last")" "$n" "execs/last points at it"
st=$(timeout "$SBX_T" cat "$B/execs/$n/status")
like "$st" '^(running|exited 0)$' "its status is running or done ($st)"
is "$(sbx_wait box1 "$n" 30)" "exited 0" "wait returns exited 0 when it ends"
expect=$(for i in $(seq 0 $((LINES - 1))); do echo "line $i"; done)
is "$(timeout "$SBX_T" cat "$B/execs/$n/stdout")" "$expect" "its stdout is complete: all $LINES lines"
is "$(sbx_sup_pid box1)" "$sup" "the same supervisor still serves box1"
m=$(timeout "$SBX_T" cat "$B/execs/$n/metrics")
like "$m" '^status exited 0$' "its metrics are there"
sbx_run box1 'echo after-crash'
is "$SBX_STATUS" "exited 0" "a new exec works"
is "$SBX_N" $((n + 1)) "and is numbered after the old one"

# A crash with a blocked stdout reader and an exec fed through stdin.
n=$(sbx_exec box1 'read x; echo "got $x"')
sbx_remount || bail_out "cannot mount again after the second crash"
echo hello | sbx_put "$B/execs/$n/stdin"
is "$?" 0 "after a crash, stdin of a running exec can still be written"
is "$(sbx_wait box1 "$n")" "exited 0" "and the exec ends"
is "$(timeout "$SBX_T" cat "$B/execs/$n/stdout")" "got hello" "with the input it was given"

# A sandbox whose supervisor died is brought back by the next mount.
sup=$(sbx_sup_pid box1)
sbx_umount
kill -TERM "$sup"
ok "$(wait_for 10 eval '! sbx_alive '"$sup"; echo $?)" "box1's supervisor stopped (TERM) while unmounted"
sbx_mount || bail_out "cannot mount again"
like "$(timeout "$SBX_T" ls "$MNT")" '^box1$' "box1 is still listed"
sbx_run box1 'echo revived'
is "$SBX_STATUS" "exited 0" "the mount starts a new supervisor: a new exec works"
new=$(sbx_sup_pid box1)
isnt "$new" "$sup" "box1 has a new supervisor ($new)"
is "$(timeout "$SBX_T" cat "$B/execs/1/stdout" | wc -l)" "$LINES" "the old output is still there"

# The supervisor itself killed -9 while an exec runs: the next supervisor
# marks the exec lost.
n=$(sbx_exec box1 'sleep 1000')
wait_for 5 eval '[ "$(cat "$SBX_STATE/box1/execs/'"$n"'/status")" = running ]'
sup=$(sbx_sup_pid box1)
sbx_umount
kill -KILL "$sup"
ok "$(wait_for 10 eval '! sbx_alive '"$sup"; echo $?)" "box1's supervisor killed with SIGKILL while an exec ran"
sbx_mount || bail_out "cannot mount again"
like "$(sbx_wait box1 "$n" 15)" '^lost' "the exec's status becomes 'lost'"
sbx_run box1 'echo after-lost'
is "$SBX_STATUS" "exited 0" "the sandbox works again with a new supervisor"

# A supervisor that does not answer (stopped): every call must still end
# (an error is fine), never hang; a process blocked in a FUSE request
# cannot even be killed.  The calls run in the background, so that a hang
# fails the test instead of blocking it.
start() {       # NAME CMD...: run CMD in the background as job NAME
        local name=$1
        shift
        sbx_bg "$@"
        eval "P_$name=$SBX_BG O_$name=$SBX_BG_OUT S_$name=$SECONDS"
}
ended() {       # NAME DESC: job NAME ended within 15 s of its start
        local p s left
        eval "p=\$P_$1 s=\$S_$1"
        left=$((15 - (SECONDS - s)))
        [ "$left" -lt 1 ] && left=1
        ok "$(wait_for "$left" eval '! sbx_alive '"$p"; echo $?)" "$2"
}
sup=$(sbx_sup_pid box1)
kill -STOP "$sup"
start rb "$SBX_PYTHON" "$SBX_LIB/fsop.py" readback "$B/ctl/exec" 'echo x'
start st cat "$B/status"
start ls ls "$MNT"
start es cat "$B/execs/1/status"
ended rb "stopped supervisor: a read-back exec returns"
like "$(cat "$O_rb")" '^E[A-Z]+$' "stopped supervisor: the read-back exec fails ($(cat "$O_rb"))"
ended st "stopped supervisor: cat box1/status returns"
ended ls "stopped supervisor: ls \$MNT returns"
ended es "stopped supervisor: cat box1/execs/1/status returns"
kill -CONT "$sup"
ok "$(wait_for 20 eval '! sbx_alive '"$P_rb"' && ! sbx_alive '"$P_st"; echo $?)" "after SIGCONT everything returns"
ok "$(wait_for 5 eval 'sbx_snap "$B/events" | grep -q " error "'; echo $?)" \
        "stopped supervisor: an error line in box1/events"

# A supervisor killed while mounted: the next request starts a new one,
# execs of the old one end as lost (docs/tree.md, ctl/exec errors).
n=$(sbx_exec box1 'sleep 1000')
wait_for 5 eval '[ "$(cat "$SBX_STATE/box1/execs/'"$n"'/status")" = running ]'
sup=$(sbx_sup_pid box1)
kill -KILL "$sup"
wait_for 10 eval '! sbx_alive '"$sup"
start rb "$SBX_PYTHON" "$SBX_LIB/fsop.py" readback "$B/ctl/exec" 'echo restarted'
ended rb "dead supervisor: a read-back exec returns"
like "$(cat "$O_rb")" '^ok [0-9]+$' "dead supervisor: the exec is started by a new supervisor ($(cat "$O_rb"))"
m=$(cat "$O_rb"); m=${m#ok }
is "$(sbx_wait box1 "$m")" "exited 0" "and runs"
new=$(sbx_sup_pid box1)
ok "$( [ "$new" != "$sup" ] && sbx_alive "$new"; echo $?)" "box1 has a new live supervisor ($new)"
like "$(sbx_wait box1 "$n" 15)" '^lost' "the exec of the killed supervisor ends as lost"
like "$(sbx_snap "$B/events")" ' box1 supervisor restarted' "box1/events: 'supervisor restarted'"
like "$(timeout "$SBX_T" cat "$B/status")" '^state running$' "status says state running"

done_testing
