#!/bin/bash
# Streams (execs/N/stdout, stderr): reads block while the exec runs and end
# at its exit; every reader gets the whole output from offset 0; stat size
# grows; tail -f follows; O_NONBLOCK gives EAGAIN; poll works; a signal
# ends a blocked read (EINTR); output beyond the cap is dropped and noted.
# The execs are driven through their stdin, so nothing here depends on time.
. "$(dirname "$0")/../lib/sbx.sh"
sbx_start
MNT=$SBX_MNT
B=$MNT/box1
timeout "$SBX_T" mkdir "$B" || bail_out "mkdir box1 failed"

rd() { timeout "$SBX_T" cat "$B/execs/$1/$2"; }
size() { timeout "$SBX_T" stat -c %s "$B/execs/$1/$2"; }
has_line() { grep -qx -- "$2" "$1" 2>/dev/null; }

# ---- blocking readers, several, from offset 0, at any time
n=$(sbx_exec box1 'read x; echo "$x"; read y; echo "$y"; echo to-err >&2')
like "$n" '^[0-9]+$' "an exec driven by stdin started ($n)"
exec 4>"$B/execs/$n/stdin" || bail_out "cannot open execs/$n/stdin"
O=$B/execs/$n/stdout

sbx_bg timeout 60 cat "$O"; r1=$SBX_BG; o1=$SBX_BG_OUT
sbx_bg timeout 60 cat "$B/execs/$n/stderr"; re=$SBX_BG; oe=$SBX_BG_OUT
sleep 0.5
ok "$(sbx_alive "$r1"; echo $?)" "a reader of stdout blocks while there is no output"
is "$(cat "$o1")" "" "and has read nothing"
is "$(size "$n" stdout)" 0 "stat size is 0 before any output"
is "$(sbx_errno nbread "$O")" "EAGAIN 0" "an O_NONBLOCK read with no output: EAGAIN"

echo line1 >&4
ok "$(wait_for 10 has_line "$o1" line1; echo $?)" "the blocked reader gets the first line"
ok "$(sbx_alive "$r1"; echo $?)" "and goes on blocking for more"
is "$(size "$n" stdout)" 6 "stat size grew to 6"
is "$(sbx_errno nbread "$O")" "EAGAIN 6" "O_NONBLOCK: 6 bytes, then EAGAIN at the end"
sbx_bg timeout 60 cat "$O"; r2=$SBX_BG; o2=$SBX_BG_OUT
ok "$(wait_for 10 has_line "$o2" line1; echo $?)" "a reader that starts later gets the output from offset 0"
is "$(rd "$n" status)" running "the exec is still running"

echo line2 >&4
exec 4>&-
is "$(sbx_wait box1 "$n")" "exited 0" "closing stdin lets the exec end: exited 0"
ok "$(wait_for 10 eval '! sbx_alive '"$r1"' && ! sbx_alive '"$r2"; echo $?)" "the blocked readers end at the exit"
wait "$r1"; s1=$?
wait "$r2"; s2=$?
is "$s1 $s2" "0 0" "both readers ended normally (not by their timeout)"
is "$(cat "$o1")" $'line1\nline2' "reader 1 got the whole output"
is "$(cat "$o2")" $'line1\nline2' "reader 2 got the whole output"
is "$(rd "$n" stdout)" $'line1\nline2' "a reader that starts after the end gets the whole output"
ok "$(wait_for 10 eval '! sbx_alive '"$re"; echo $?)" "the stderr reader ended too"
is "$(cat "$oe")" "to-err" "and got stderr"
is "$(size "$n" stdout)" 12 "stat size is 12 at the end"
is "$(sbx_errno nbread "$O")" "ok 12" "O_NONBLOCK after the end: all 12 bytes, then EOF"

# ---- tail -f
n=$(sbx_exec box1 'while read l; do echo "$l"; done; echo tail-end')
exec 5>"$B/execs/$n/stdin" || bail_out "cannot open execs/$n/stdin"
echo first >&5
ok "$(wait_for 10 eval '[ "$(size '"$n"' stdout)" = 6 ]'; echo $?)" "the first line is out"
sbx_bg timeout 60 tail -s 0.2 -f "$B/execs/$n/stdout"; tp=$SBX_BG; to=$SBX_BG_OUT
ok "$(wait_for 10 has_line "$to" first; echo $?)" "tail -f prints what is there"
echo "marker-$$" >&5
ok "$(wait_for 15 has_line "$to" "marker-$$"; echo $?)" "tail -f follows a new line"
echo "marker2-$$" >&5
ok "$(wait_for 15 has_line "$to" "marker2-$$"; echo $?)" "tail -f follows another new line"
exec 5>&-
ok "$(wait_for 15 has_line "$to" tail-end; echo $?)" "tail -f sees the last line"
kill "$tp" 2>/dev/null
is "$(sbx_wait box1 "$n")" "exited 0" "the tail -f exec ended"

# ---- poll: readable when data or EOF is there, not before
n=$(sbx_exec box1 'while read l; do echo "$l"; done')
out=$(timeout 60 "$SBX_PYTHON" - "$B/execs/$n/stdout" "$B/execs/$n/stdin" <<'EOF'
import os, select, sys
out = os.open(sys.argv[1], os.O_RDONLY)
inp = os.open(sys.argv[2], os.O_WRONLY)
p = select.poll()
p.register(out, select.POLLIN)
res = []
os.write(inp, b"p1\n")
res.append("ready" if p.poll(20000) else "not-ready")
res.append(os.read(out, 100).decode().strip())
res.append("ready" if p.poll(300) else "not-ready")
os.write(inp, b"p2\n")
res.append("ready" if p.poll(20000) else "not-ready")
res.append(os.read(out, 100).decode().strip())
os.close(inp)
res.append("ready" if p.poll(20000) else "not-ready")
res.append("eof" if os.read(out, 100) == b"" else "data")
print(" ".join(res))
EOF
)
set -- $out
is "$1 $2" "ready p1" "poll: readable when there is data"
is "$3" "not-ready" "poll: not readable at the end of the data while the exec runs"
is "$4 $5" "ready p2" "poll: readable again when new data comes"
is "$6 $7" "ready eof" "poll: readable at EOF"

# ---- a signal ends a blocked read
n=$(sbx_exec box1 'cat')
sbx_bg env --default-signal=INT cat "$B/execs/$n/stdout"; cp=$SBX_BG
sleep 0.5
ok "$(sbx_alive "$cp"; echo $?)" "cat of a silent running exec blocks"
kill -INT "$cp"
ok "$(wait_for 5 eval '! sbx_alive '"$cp"; echo $?)" "SIGINT ends the blocked cat promptly"
wait "$cp"; st=$?
is "$st" 130 "cat died of SIGINT"

sbx_bg perl -e '
        $SIG{INT} = sub { $hits++ };
        open(my $f, "<", $ARGV[0]) or die "open: $!";
        my $n = sysread($f, my $buf, 100);
        print defined $n ? "read $n\n" : ($!{EINTR} ? "EINTR\n" : "error $!\n");
' "$B/execs/$n/stdout"
pp=$SBX_BG; po=$SBX_BG_OUT
sleep 0.3
for i in $(seq 25); do         # until the read is interrupted (bounded)
        sbx_alive "$pp" || break
        kill -INT "$pp" 2>/dev/null
        sleep 0.2
done
ok "$(! sbx_alive "$pp"; echo $?)" "a signal with a handler interrupts the blocked read"
is "$(cat "$po")" EINTR "the read fails with EINTR"
echo | sbx_put "$B/execs/$n/stdin"
is "$(sbx_wait box1 "$n")" "exited 0" "the exec is unharmed by the interrupted readers"

# ---- output is byte-exact: every byte value, and a few MB
sbx_run box1 'i=0; while [ $i -lt 256 ]; do printf "\\$(printf %o $i)"; i=$((i + 1)); done'
is "$SBX_STATUS" "exited 0" "an exec prints all 256 byte values"
i=0; while [ $i -lt 256 ]; do printf "\\$(printf %o $i)"; i=$((i + 1)); done >"$SBX_TMP/bytes"
check "stdout holds them byte for byte" cmp "$SBX_TMP/bytes" "$B/execs/$SBX_N/stdout"
sbx_run box1 'seq 1 400000'
is "$SBX_STATUS" "exited 0" "an exec prints 2.6 MB"
seq 1 400000 >"$SBX_TMP/seq"
check "a reader gets all of it" cmp "$SBX_TMP/seq" "$B/execs/$SBX_N/stdout"
n=$(sbx_exec box1 'read x; seq 1 200000; read y; seq 200001 400000')
sbx_bg timeout 60 cat "$B/execs/$n/stdout"; sp=$SBX_BG; so=$SBX_BG_OUT
exec 6>"$B/execs/$n/stdin"
echo go >&6
wait_for 10 eval '[ "$(size '"$n"' stdout)" -ge 1288895 ]'
echo go >&6
exec 6>&-
is "$(sbx_wait box1 "$n")" "exited 0" "a streamed 2.6 MB exec ends"
wait_for 10 eval '! sbx_alive '"$sp"
check "a reader that followed it while it ran got every byte" cmp "$SBX_TMP/seq" "$so"

# ---- output cap
timeout "$SBX_T" mkdir "$MNT/box2" || bail_out "mkdir box2 failed"
echo 'output 1K' | sbx_put "$MNT/box2/config"
is "$?" 0 "write 'output 1K' to box2/config"
sbx_run box2 'head -c 100000 /dev/zero | tr "\0" x; echo err-kept >&2'
like "$SBX_STATUS" '^exited 0 .*output-truncated' "status notes output-truncated ($SBX_STATUS)"
N=$SBX_N
is "$(timeout "$SBX_T" cat "$MNT/box2/execs/$N/stdout" | wc -c)" 1024 "stdout keeps 1024 bytes"
is "$(timeout "$SBX_T" stat -c %s "$MNT/box2/execs/$N/stdout")" 1024 "stat size of stdout is 1024"
is "$(timeout "$SBX_T" cat "$MNT/box2/execs/$N/stderr")" err-kept "stderr under the cap is whole"
m=$(timeout "$SBX_T" cat "$MNT/box2/execs/$N/metrics")
dropped=$(printf '%s\n' "$m" | sed -n 's/^stdout_dropped_bytes //p')
ok "$( [ "${dropped:-0}" -gt 0 ]; echo $?)" "metrics stdout_dropped_bytes > 0 ($dropped)"
is "$dropped" $((100000 - 1024)) "metrics stdout_dropped_bytes counts every dropped byte"
like "$m" '^stderr_dropped_bytes 0$' "metrics stderr_dropped_bytes 0"
like "$(timeout "$SBX_T" cat "$MNT/box2/execs/$N/wait")" 'output-truncated' "wait gives the same status line"

done_testing
