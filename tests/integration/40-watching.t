#!/bin/bash
# Watching: inotify events that sbxfs raises on its own mount (exec ends,
# new execs, new output, new event lines, sandboxes made and removed), and
# the lines of $MNT/events and $MNT/<box>/events.
. "$(dirname "$0")/../lib/sbx.sh"
command -v inotifywait >/dev/null || skip_all "inotifywait (inotify-tools) is not installed"
sbx_start
MNT=$SBX_MNT
B=$MNT/box1
timeout "$SBX_T" mkdir "$B" || bail_out "mkdir box1 failed"

has() { grep -q -- "$2" "$1" 2>/dev/null; }

# watch PATH EVENTS...: start `inotifywait -m` in the background and wait
# until its watches are set.  Sets W (pid) and WO (its output file).
watch() {
        local path=$1 e
        shift
        local ev=()
        for e in "$@"; do ev+=(-e "$e"); done
        sbx_bg timeout 60 inotifywait -m "${ev[@]}" "$path"
        W=$SBX_BG
        WO=$SBX_BG_OUT
        wait_for 10 has "$SBX_BG_ERR" 'Watches established' ||
                diag "inotifywait did not start: $(cat "$SBX_BG_ERR")"
}
# watched DESC ERE: the watcher printed a line matching ERE (bounded wait).
watched() {
        wait_for 20 grep -Eq -- "$2" "$WO"
        ok $? "$1" || diag "inotifywait printed: $(cat "$WO")"
        kill "$W" 2>/dev/null
        wait "$W" 2>/dev/null
}

# ---- an exec ends: status, wait, and the exec's directory
n=$(sbx_exec box1 'read x; echo "$x"')
watch "$B/execs/$n/status" modify close_write
echo go | sbx_put "$B/execs/$n/stdin"
watched "inotifywait on execs/$n/status sees the exec end" 'status (MODIFY|CLOSE_WRITE)'
is "$(sbx_wait box1 "$n")" "exited 0" "the exec did end"

n=$(sbx_exec box1 'read x')
watch "$B/execs/$n/wait" modify close_write
echo go | sbx_put "$B/execs/$n/stdin"
watched "inotifywait on execs/$n/wait sees the exec end" 'wait (MODIFY|CLOSE_WRITE)'

n=$(sbx_exec box1 'read x')
watch "$B/execs/$n" modify close_write
echo go | sbx_put "$B/execs/$n/stdin"
watched "inotifywait on the execs/$n/ directory sees the exec end (status or wait)" \
        '(MODIFY|CLOSE_WRITE)[A-Z_,]* (status|wait)$'

# ---- new output: IN_MODIFY on stdout
n=$(sbx_exec box1 'read x; echo "$x"; read y; exit 0')
watch "$B/execs/$n/stdout" modify
exec 4>"$B/execs/$n/stdin"
echo out-line >&4
watched "inotifywait on execs/$n/stdout sees new output" 'stdout MODIFY'
exec 4>&-
is "$(sbx_wait box1 "$n")" "exited 0" "the output exec ended"

# ---- a new exec: IN_CREATE (or a move into place) on execs/
watch "$B/execs" create moved_to
n=$(sbx_exec box1 'true')
watched "inotifywait on execs/ sees the new exec $n" "(CREATE|MOVED_TO),ISDIR $n\$"

# ---- sandboxes made and removed: IN_CREATE / IN_DELETE on $MNT
watch "$MNT" create delete
echo 'new viactl' | sbx_put "$MNT/ctl"
watched "inotifywait on \$MNT sees a sandbox made through ctl (IN_CREATE)" 'CREATE,ISDIR viactl$'
watch "$MNT" create
c=$(timeout "$SBX_T" cat "$MNT/clone")
watched "inotifywait on \$MNT sees a sandbox made through clone (IN_CREATE)" "CREATE,ISDIR $c\$"
watch "$MNT" delete
echo 'destroy viactl' | sbx_put "$MNT/ctl"
watched "inotifywait on \$MNT sees a sandbox destroyed through ctl (IN_DELETE)" 'DELETE,ISDIR viactl$'
timeout "$SBX_T" mkdir "$MNT/viarm" || fail "mkdir viarm"
watch "$MNT" delete
timeout "$SBX_T" rmdir "$MNT/viarm"
watched "inotifywait on \$MNT sees rmdir (IN_DELETE)" 'DELETE,ISDIR viarm$'

# ---- new event lines: IN_MODIFY on events
watch "$MNT/events" modify
n=$(sbx_exec box1 'true')
watched "inotifywait on \$MNT/events sees new event lines" 'events MODIFY'
watch "$B/events" modify
n=$(sbx_exec box1 'true')
watched "inotifywait on box1/events sees new event lines" 'events MODIFY'

# ---- the lines of the events files
sbx_bg timeout 60 cat "$MNT/events"; er=$SBX_BG; eo=$SBX_BG_OUT
timeout "$SBX_T" mkdir "$MNT/ev" || bail_out "mkdir ev failed"
sbx_bg timeout 60 cat "$MNT/ev/events"; br=$SBX_BG; bo=$SBX_BG_OUT
sbx_run ev 'exit 3'
is "$SBX_STATUS" "exited 3" "an exec in ev ran"
timeout "$SBX_T" rmdir "$MNT/ev" || fail "rmdir ev"
T='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'
ok "$(wait_for 10 has "$eo" ' ev destroyed'; echo $?)" "a reader of \$MNT/events gets the lines as they come"
ok "$(sbx_alive "$er"; echo $?)" "and goes on blocking: events never ends"
root=$(sbx_snap "$MNT/events")
like "$root" "$T ev created( trust=medium)?\$" "root events: '<time> ev created trust=medium'"
like "$root" "$T ev exec 1 started\$" "root events: '<time> ev exec 1 started'"
like "$root" "$T ev exec 1 ended exited 3\$" "root events: '<time> ev exec 1 ended exited 3'"
like "$root" "$T ev destroyed\$" "root events: '<time> ev destroyed'"
unlike "$root" '^[^0-9]' "root events: every line starts with a time"
like "$root" "$T box1 exec 1 started\$" "root events also hold box1's lines"
ok "$(wait_for 10 has "$bo" ' ev exec 1 ended'; echo $?)" "a reader of ev/events got its lines"
box=$(cat "$bo")
like "$box" "$T ev created( trust=medium)?\$" "ev/events: created"
like "$box" "$T ev exec 1 started\$" "ev/events: exec 1 started"
like "$box" "$T ev exec 1 ended exited 3\$" "ev/events: exec 1 ended exited 3"
unlike "$box" ' box1 ' "ev/events holds no line of box1"
b1=$(sbx_snap "$B/events")
unlike "$b1" ' ev ' "box1/events holds no line of ev"
like "$b1" "$T box1 exec 1 started\$" "box1/events has its own exec lines"

done_testing
