#!/bin/bash
# ctl/exec and execs/N: the user flow of docs/tree.md, scripts with #!,
# the read-back form, size limits, stdin, kill, execs/last, cmd, and
# read-only files.
. "$(dirname "$0")/../lib/sbx.sh"
sbx_start
MNT=$SBX_MNT
B=$MNT/box1
timeout "$SBX_T" mkdir "$B" || bail_out "mkdir box1 failed"

last() { timeout "$SBX_T" readlink "$B/execs/last"; }
rd() { timeout "$SBX_T" cat "$B/execs/$1/$2"; }

# ---- the user flow
echo 'echo hello; echo oops >&2; exit 3' | sbx_put "$B/ctl/exec"
is "$?" 0 "echo CMD > ctl/exec succeeds"
is "$(timeout "$SBX_WAIT_T" cat "$B/execs/last/wait")" "exited 3" "cat execs/last/wait gives 'exited 3'"
n=$(last)
is "$n" 1 "the first exec is number 1"
is "$(rd 1 stdout)" hello "stdout is 'hello'"
is "$(rd 1 stderr)" oops "stderr is 'oops'"
is "$(rd 1 status)" "exited 3" "status is 'exited 3'"
is "$(rd 1 cmd)" 'echo hello; echo oops >&2; exit 3' "cmd holds what was written"
m=$(rd 1 metrics)
for k in exec start_ms end_ms wall_ms cpu_user_ms cpu_sys_ms mem_peak_bytes pids_peak \
         io_read_bytes io_write_bytes stdout_bytes stderr_bytes stdout_dropped_bytes \
         stderr_dropped_bytes exit_code signal oom_kills violations reason status; do
        like "$m" "^$k [^ ]" "metrics has $k"
done
like "$m" '^exec 1$' "metrics: exec 1"
like "$m" '^stdout_bytes 6$' "metrics: stdout_bytes 6"
like "$m" '^stderr_bytes 5$' "metrics: stderr_bytes 5"
like "$m" '^exit_code 3$' "metrics: exit_code 3"
like "$m" '^signal -$' "metrics: signal -"
like "$m" '^reason exited$' "metrics: reason exited"
like "$m" '^status exited 3$' "metrics: status exited 3"
like "$m" '^start_ms [0-9]{13}$' "metrics: start_ms is Unix time in ms"
j=$(rd 1 metrics.json)
check "metrics.json parses with python3 -m json.tool" \
        sh -c 'printf "%s" "$1" | "$2" -m json.tool' sh "$j" "$SBX_PYTHON"
is "$(printf '%s' "$j" | "$SBX_PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(d["exit_code"], d["stdout_bytes"], d["status"], d["signal"])')" \
        "3 6 exited 3 -" "metrics.json has the same values (numbers stay numbers)"
is "$(rd 1 violations)" "" "violations is empty for a plain exec"

# ---- scripts
py=$SBX_TMP/script.py
printf '%s\n' '#!/usr/bin/env python3' 'import sys' 'print(sum(range(10)))' \
        'print("to-stderr", file=sys.stderr)' 'sys.exit(5)' >"$py"
timeout "$SBX_T" sh -c 'cat "$1" > "$2"' sh "$py" "$B/ctl/exec"
is "$?" 0 "cat script.py > ctl/exec succeeds"
n=$(last)
is "$(sbx_wait box1 "$n")" "exited 5" "the #!/usr/bin/env python3 script ran: exited 5"
is "$(rd "$n" stdout)" 45 "the python script's stdout"
is "$(rd "$n" stderr)" to-stderr "the python script's stderr"
check "cmd holds the script byte for byte" cmp "$py" "$B/execs/$n/cmd"

sbx_run box1 $'#!/usr/bin/python3\nimport os\nprint(os.getpid() > 0)'
is "$SBX_STATUS" "exited 0" "a #!/usr/bin/python3 script runs"
is "$(rd "$SBX_N" stdout)" True "and prints"

sbx_run box1 $'#!/bin/sh\nset -e\necho "sh-script $0 $#"\nexit 7'
is "$SBX_STATUS" "exited 7" "a #!/bin/sh script runs: exited 7"
like "$(rd "$SBX_N" stdout)" '^sh-script .* 0$' "the #!/bin/sh script's output"

sbx_run box1 $'#!/nonexistent/interp\necho x'
like "$SBX_STATUS" '^failed ' "a #! naming a missing interpreter: 'failed REASON' ($SBX_STATUS)"

# ---- read-back form
out=$(timeout "$SBX_T" bash -c 'exec 3<>"$1"; echo "echo readback" >&3; read n <&3; echo "$n"; exec 3>&-' \
        sh "$B/ctl/exec")
like "$out" '^[0-9]+$' "exec 3<>ctl/exec; echo >&3; read n <&3 gives a number ($out)"
n=$out
ok "$( [ -d "$B/execs/$n" ]; echo $?)" "execs/$n exists"
is "$(sbx_wait box1 "$n")" "exited 0" "the read-back exec ran"
is "$(rd "$n" stdout)" readback "its output is in execs/$n/stdout"
is "$(last)" "$n" "execs/last is the read-back exec"
n2=$(sbx_exec box1 'echo via-helper')
is "$n2" $((n + 1)) "numbers go up by one"

# ---- sizes
big=$SBX_TMP/big.sh
{
        echo 'n=0'
        for i in $(seq 1 4300); do
                printf ': %0250d\n' "$i"
        done
        echo 'echo big-ok'
} >"$big"
size=$(stat -c %s "$big")
ok "$( [ "$size" -ge 1048576 ]; echo $?)" "the big script is >= 1 MiB ($size bytes)"
timeout "$SBX_T" sh -c 'cat "$1" > "$2"' sh "$big" "$B/ctl/exec"
is "$?" 0 "a 1 MiB script is accepted"
n=$(last)
is "$(sbx_wait box1 "$n")" "exited 0" "the 1 MiB script runs"
is "$(rd "$n" stdout)" big-ok "and gives its output"
is "$(timeout "$SBX_T" stat -c %s "$B/execs/$n/cmd")" "$size" "its cmd has the full size"

before=$(last)
err=$(timeout 60 sh -c 'head -c 17M /dev/zero | tr "\0" a > "$1"' sh "$B/ctl/exec" 2>&1)
st=$?
isnt "$st" 0 "writing 17 MiB to ctl/exec fails"
like "$err" 'File too large' "with 'File too large' (EFBIG)"
is "$(last)" "$before" "no exec was started by the too-large write"
r=$(head -c $((16 * 1024 * 1024 + 1)) /dev/zero | tr '\0' a | sbx_errno write "$B/ctl/exec" -)
is "$r" EFBIG "16 MiB + 1 byte written by a write loop (short write, then the rest): EFBIG"
is "$(last)" "$before" "still no new exec"

# ---- empty writes
is "$(sbx_errno readback "$B/ctl/exec" '')" EINVAL "an empty read-back: EINVAL"
ok "$(wait_for 5 eval 'sbx_snap "$B/events" | grep -q " error "'; echo $?)" \
        "the empty read-back leaves an error line in box1/events"
like "$(sbx_snap "$B/events" | grep ' error ' | tail -n 1)" \
        '^[0-9-]+T[0-9:.]+Z box1 error ctl/exec: EINVAL ' \
        "the error line has the documented form '<time> box1 error ctl/exec: EINVAL ...'"
: | sbx_put "$B/ctl/exec"
is "$?" 0 "closing an empty write-only open succeeds"
is "$(last)" "$before" "and starts nothing"

# ---- stdin
n=$(sbx_exec box1 'cat; echo cat-done')
like "$n" '^[0-9]+$' "an exec reading stdin started ($n)"
is "$(rd "$n" status)" running "it is running while stdin is open"
like "$(timeout "$SBX_T" cat "$B/status")" '^running [1-9]' "box1 status counts it as running"
echo from-stdin | sbx_put "$B/execs/$n/stdin"
is "$?" 0 "writing to execs/$n/stdin succeeds"
is "$(sbx_wait box1 "$n")" "exited 0" "closing stdin sends EOF: cat ends, exited 0"
is "$(rd "$n" stdout)" $'from-stdin\ncat-done' "stdout has what was written to stdin"

n=$(sbx_exec box1 'wc -l')
printf 'a\nb\nc\n' | sbx_put "$B/execs/$n/stdin"
is "$(sbx_wait box1 "$n")" "exited 0" "wc -l ends after stdin is closed"
is "$(rd "$n" stdout | tr -d ' ')" 3 "it counted the three lines written"

# ---- kill
kill_case() {   # DESC HOW EXPECTED
        local n
        n=$(sbx_exec box1 'sleep 1000')
        wait_for 5 eval '[ "$(rd '"$n"' status)" = running ]'
        case $2 in
        ctl) echo kill | sbx_put "$B/execs/$n/ctl" ;;
        ctl-KILL) echo 'kill KILL' | sbx_put "$B/execs/$n/ctl" ;;
        ctl-INT) echo 'kill INT' | sbx_put "$B/execs/$n/ctl" ;;
        kill) echo "$n" | sbx_put "$B/ctl/kill" ;;
        kill-KILL) echo "$n KILL" | sbx_put "$B/ctl/kill" ;;
        kill-SIGHUP) echo "$n SIGHUP" | sbx_put "$B/ctl/kill" ;;
        esac
        is "$?" 0 "$1: the write succeeds"
        is "$(sbx_wait box1 "$n" 15)" "$3" "$1: sleep 1000 ends with '$3'"
        KN=$n
}
kill_case "execs/N/ctl 'kill'" ctl "killed TERM"
like "$(rd "$KN" metrics)" '^signal TERM$' "metrics of the killed exec: signal TERM"
like "$(rd "$KN" metrics)" '^exit_code -1$' "metrics of the killed exec: exit_code -1"
kill_case "execs/N/ctl 'kill KILL'" ctl-KILL "killed KILL"
kill_case "execs/N/ctl 'kill INT'" ctl-INT "killed INT"
kill_case "ctl/kill 'N'" kill "killed TERM"
kill_case "ctl/kill 'N KILL'" kill-KILL "killed KILL"
kill_case "ctl/kill 'N SIGHUP'" kill-SIGHUP "killed HUP"
n=$(sbx_exec box1 'sleep 1000')
is "$(sbx_errno write "$B/execs/$n/ctl" 'kill NOSUCHSIG')" EINVAL "kill with an unknown signal: EINVAL"
is "$(sbx_errno write "$B/execs/$n/ctl" 'frob')" EINVAL "an unknown verb in execs/N/ctl: EINVAL"
is "$(sbx_errno write "$B/ctl/kill" 'x TERM')" EINVAL "ctl/kill with a bad number: EINVAL"
is "$(rd "$n" status)" running "after the refused writes the exec still runs"
echo "$n KILL" | sbx_put "$B/ctl/kill"
is "$(sbx_wait box1 "$n" 15)" "killed KILL" "and then it can be killed"
# a process tree: the whole tree goes
n=$(sbx_exec box1 'sh -c "sleep 1000 & sleep 1000 & wait" & wait')
sleep 0.3
echo kill | sbx_put "$B/execs/$n/ctl"
like "$(sbx_wait box1 "$n" 15)" '^killed ' "kill ends an exec whose children run in the background"

# ---- execs/last
ok "$( [ -L "$B/execs/last" ]; echo $?)" "execs/last is a symlink"
sbx_run box1 'true'
is "$(last)" "$SBX_N" "execs/last points at the newest exec ($SBX_N)"
is "$(timeout "$SBX_T" cat "$B/execs/last/cmd")" "true" "execs/last/cmd reads through the link"
count=$(timeout "$SBX_T" ls "$B/execs" | grep -c '^[0-9][0-9]*$')
is "$count" "$SBX_N" "execs/ lists every exec 1..$SBX_N"

# ---- echo > ctl/exec; cat execs/last/... never sees an older exec
bad=0
for i in $(seq 1 20); do
        echo "echo round-$i" | sbx_put "$B/ctl/exec"
        c=$(timeout "$SBX_T" cat "$B/execs/last/cmd")
        [ "$c" = "echo round-$i" ] || { bad=$((bad + 1)); diag "round $i: execs/last/cmd is '$c'"; }
done
is "$bad" 0 "20 times: right after the write, execs/last is the new exec"
is "$(timeout "$SBX_WAIT_T" cat "$B/execs/last/wait")" "exited 0" "and the last one ran"

# ---- execs started at the same time
for i in 1 2 3 4 5 6; do
        sbx_bg "$SBX_PYTHON" "$SBX_LIB/fsop.py" readback "$B/ctl/exec" "echo par-$i"
        eval "po$i=$SBX_BG_OUT pp$i=$SBX_BG"
done
for i in 1 2 3 4 5 6; do eval "wait \$pp$i"; done
nums=$(for i in 1 2 3 4 5 6; do eval "cat \$po$i"; done | sed -n 's/^ok //p' | sort -un)
is "$(printf '%s\n' "$nums" | grep -c .)" 6 "six parallel read-back execs get six different numbers"
good=0
for i in 1 2 3 4 5 6; do
        eval "k=\$(cat \$po$i)"
        k=${k#ok }
        [ "$(sbx_wait box1 "$k")" = "exited 0" ] && [ "$(rd "$k" stdout)" = "par-$i" ] && good=$((good + 1))
done
is "$good" 6 "each ran its own command"

# ---- stat sizes match the content (editors and cp rely on it)
for f in status config env metrics metrics.json execs/1/cmd execs/1/status execs/1/metrics \
         execs/1/metrics.json execs/1/stdout execs/1/stderr execs/1/wait; do
        a=$(timeout "$SBX_T" stat -c %s "$B/$f")
        b=$(timeout "$SBX_T" cat "$B/$f" | wc -c)
        is "$a" "$b" "stat size of $f is the length of its content ($b)"
done

# ---- read-only files
before_status=$(rd 1 status)
for f in execs/1/status execs/1/stdout execs/1/cmd execs/1/wait execs/1/metrics status metrics; do
        r=$(sbx_errno write "$B/$f" 'tampered')
        like "$r" '^(EACCES|EPERM|EBADF|EROFS)$' "writing to $f fails ($r)"
done
is "$(rd 1 status)" "$before_status" "execs/1/status is unchanged"
is "$(rd 1 stdout)" hello "execs/1/stdout is unchanged"
like "$(sbx_errno unlink "$B/execs/1/stdout")" '^E[A-Z]+$' "rm execs/1/stdout fails"
ok "$( [ -e "$B/execs/1/stdout" ]; echo $?)" "execs/1/stdout still exists"

done_testing
