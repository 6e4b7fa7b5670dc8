#!/usr/bin/env bash
# tests/bench/net.sh: network throughput of ports/ (the preview router) and
# of the egress proxy, each figure a ratio to a baseline measured in the
# same run, one line per figure:
#
#   ports-bulk    download of 1 GiB from a server inside the sandbox, through
#                 the router (curl on the host) vs. curl inside the sandbox's
#                 network namespace connecting to it directly; target >= 70 %
#   ports-rate    small GETs over one keep-alive connection (python3
#                 http.client), through the router vs. directly inside the
#                 netns; target >= 50 %
#   proxy-bulk    1 GiB from a server on the host's loopback, fetched inside
#                 the sandbox through the egress proxy (net allow, a pinned
#                 name) vs. fetched by the host directly; target >= 60 %
#   proxy-conn    sequential curl requests, a fresh connection each, inside
#                 through the proxy vs. the same loop on the host directly;
#                 reported, no target
#
# Throughput figures are the median of RUNS runs, router/proxy and baseline
# alternating.  The servers are tests/bench/net_helper.py (stdlib only).
#
# Usage: SBX_BUILD=/abs/build tests/bench/net.sh
#   BENCH_QUICK=1      256 MiB instead of 1 GiB, 200 requests instead of
#                      500, one run instead of three
#   BENCH_ONLY="a b"   only these figures
#   BENCH_KEEP=1       leave the temp dir (not the mount) for inspection
#
# A missed target is printed ("MISSED"), not an error.  Exit status 1 when a
# figure could not be measured (its line says FAILED and why), 2 when
# nothing could.  Needs root.  Everything it starts (mount, daemon,
# supervisor, servers, cgroups, temp dir) is removed on exit.

set -u
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
: "${SBX_BUILD:=$ROOT/build}"
: "${BENCH_QUICK:=}"
: "${BENCH_ONLY:=ports-bulk ports-rate proxy-bulk proxy-conn}"

if [ -n "$BENCH_QUICK" ] && [ "$BENCH_QUICK" != 0 ]; then
        SIZE_MIB=256 NREQ=200 NCONN=100 RUNS=1
else
        BENCH_QUICK=
        SIZE_MIB=1024 NREQ=500 NCONN=200 RUNS=3
fi
BYTES=$((SIZE_MIB * 1048576))

. "$HERE/lib.sh"
for t in curl python3; do
        command -v "$t" >/dev/null || { warn "$t is needed"; exit 2; }
done
PY=$(command -v python3)
HELPER=$HERE/net_helper.py
[ -f "$HELPER" ] || { warn "no $HELPER"; exit 2; }

# The servers this script starts, stopped before the unmount.
HOSTSRV=                # pid of the host-side server
BOXSRV=                 # exec number of the server inside the sandbox
BOX=nbench
bench_cleanup_extra() {
        if [ -n "$HOSTSRV" ]; then
                kill -TERM "$HOSTSRV" 2>/dev/null
                wait_gone 3 "$HOSTSRV" || kill -KILL "$HOSTSRV" 2>/dev/null
                wait "$HOSTSRV" 2>/dev/null
        fi
        if [ -n "$BOXSRV" ] && mounted; then
                echo kill | timeout 5 sh -c 'exec cat > "$1"' sh "$MNT/$BOX/execs/$BOXSRV/ctl" 2>/dev/null
                timeout 5 cat "$MNT/$BOX/execs/$BOXSRV/wait" >/dev/null 2>&1
        fi
}
bench_start net -o preview=127.0.0.1:0
# trust=high: no wall-clock or CPU limit on the long-running server and
# the timed loops (medium's 30 s would cut them)
if ! echo "new $BOX trust=high" | timeout 60 sh -c 'exec cat > "$1"' sh "$MNT/ctl"; then
        warn "cannot create the sandbox $BOX"
        exit 2
fi
collect_sups
B=$MNT/$BOX

# ---------------------------------------------------------------------------
# Helpers

FAILED=0
fail() {
        local name=$1
        shift
        say "$name: FAILED: $*"
        FAILED=1
        return 1
}
put() { timeout 30 sh -c 'exec cat > "$1"' sh "$1"; }
# start SCRIPT: start an exec in the sandbox, its number into EXN
start() {
        EXN=
        printf '%s\n' "$1" | put "$B/ctl/exec" || return 1
        EXN=$(timeout 30 readlink "$B/execs/last") || return 1
        EXN=${EXN##*/}
}
# inbox SCRIPT: run SCRIPT in the sandbox to its end (600 s at most); its
# stdout into OUT; fails unless it exited 0 (stderr into $TMP/err)
inbox() {
        local st
        OUT=
        start "$1" || { echo "ctl/exec write failed" >"$TMP/err"; return 1; }
        st=$(timeout 600 cat "$B/execs/$EXN/wait")
        OUT=$(timeout 30 cat "$B/execs/$EXN/stdout")
        timeout 30 cat "$B/execs/$EXN/stderr" >"$TMP/err" 2>/dev/null
        [ "$st" = "exited 0" ] || { echo "exec $EXN: $st; $(tail -n 3 "$TMP/err" | tr '\n' ' ')" >"$TMP/err"; return 1; }
}
lasterr() {
        local e
        e=$(tail -n 3 "$TMP/err" 2>/dev/null | tr '\n' ' ')
        echo "${e:-no message}"
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
calc() { awk "BEGIN { printf \"%.1f\", $1 }"; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
verdict() { if "$@"; then echo met; else echo MISSED; fi; }
want() { [[ " $BENCH_ONLY " == *" $1 "* ]]; }
num() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]] && ge "$1" 0.0001; }
hcurl() { timeout -k 5 600 curl --noproxy '*' "$@" 2>"$TMP/err"; }

# line NAME LABEL VALUE BASELABEL BASE UNIT TARGET: VALUE/BASE in %
line() {
        local pct tgt
        pct=$(calc "100 * ($3) / ($5)")
        if [ "$7" = - ]; then tgt="(no target)"; else tgt="(target >= $7 %): $(verdict ge "$pct" "$7")"; fi
        say "$1: $2 $(calc "$3") $6, $4 $(calc "$5") $6${RUNS:+ (median of $RUNS)}: ratio $pct % $tgt"
}

say "sbxfs net bench: $SBX_BUILD${BENCH_QUICK:+ (quick)}, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# ---------------------------------------------------------------------------
# ports-bulk, ports-rate: a server inside, exposed as ports/8080

if want ports-bulk || want ports-rate; then
        U= ok=1
        if ! put "$B/files/workspace/net_helper.py" <"$HELPER"; then
                fail ports-bulk "cannot write files/workspace/net_helper.py"; ok=
        elif ! start 'cd /workspace && exec python3 net_helper.py serve 8080'; then
                fail ports-bulk "cannot start the server inside"; ok=
        else
                BOXSRV=$EXN
                if ! timeout 30 mkdir "$B/ports/8080" ||
                   [ "$(timeout 30 cat "$B/ports/8080/ready")" != ready ]; then
                        fail ports-bulk "ports/8080 not ready: $(cat "$B/execs/$BOXSRV/status" 2>/dev/null) $(tail -n 3 "$B/execs/$BOXSRV/stderr" 2>/dev/null)"; ok=
                else
                        U=$(cat "$B/ports/8080/url")
                fi
        fi
        [ -n "$ok" ] || { want ports-rate && fail ports-rate "no server (see ports-bulk)"; }
        if [ -n "$ok" ] && want ports-bulk; then
                : >"$TMP/pb.r"; : >"$TMP/pb.d"
                for r in $(seq 1 "$RUNS"); do
                        v=$(hcurl -s -o /dev/null -w '%{speed_download}' "${U}big$BYTES")
                        num "$v" || { fail ports-bulk "curl through the router: '$v' $(lasterr)"; ok=; break; }
                        echo "$v" >>"$TMP/pb.r"
                        inbox "curl -s -o /dev/null -w '%{speed_download}' http://127.0.0.1:8080/big$BYTES" ||
                                { fail ports-bulk "curl inside: $(lasterr)"; ok=; break; }
                        num "$OUT" || { fail ports-bulk "curl inside said '$OUT'"; ok=; break; }
                        echo "$OUT" >>"$TMP/pb.d"
                done
                [ -n "$ok" ] && line ports-bulk router "$(median <"$TMP/pb.r") / 1048576" \
                        "direct in netns" "$(median <"$TMP/pb.d") / 1048576" MiB/s 70
                ok=1
        fi
        if [ -n "$ok" ] && want ports-rate; then
                hp=${U#http://}; hp=${hp%/}; LP=${hp##*:}
                : >"$TMP/pr.r"; : >"$TMP/pr.d"
                for r in $(seq 1 "$RUNS"); do
                        v=$(timeout 600 "$PY" "$HELPER" rate 127.0.0.1 "$LP" "$hp" /small "$NREQ" 2>"$TMP/err")
                        num "$v" || { fail ports-rate "through the router: '$v' $(lasterr)"; ok=; break; }
                        echo "$v" >>"$TMP/pr.r"
                        inbox "python3 /workspace/net_helper.py rate 127.0.0.1 8080 127.0.0.1:8080 /small $NREQ" ||
                                { fail ports-rate "inside: $(lasterr)"; ok=; break; }
                        num "$OUT" || { fail ports-rate "inside said '$OUT'"; ok=; break; }
                        echo "$OUT" >>"$TMP/pr.d"
                done
                [ -n "$ok" ] && line ports-rate "router ($NREQ keep-alive GETs)" "$(median <"$TMP/pr.r")" \
                        "direct in netns" "$(median <"$TMP/pr.d")" req/s 50
        fi
        if [ -n "$BOXSRV" ]; then
                echo kill | put "$B/execs/$BOXSRV/ctl" 2>/dev/null
                timeout 10 cat "$B/execs/$BOXSRV/wait" >/dev/null 2>&1 && BOXSRV=
        fi
fi

# ---------------------------------------------------------------------------
# proxy-bulk, proxy-conn: a server on the host's loopback, reached inside
# as bulk.test through the proxy

if want proxy-bulk || want proxy-conn; then
        ok=1
        PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        "$PY" "$HELPER" serve "$PORT" </dev/null >/dev/null 2>"$TMP/srv.err" &
        HOSTSRV=$!
        n=100
        until curl --noproxy '*' -s -o /dev/null "http://127.0.0.1:$PORT/small"; do
                n=$((n - 1))
                if ! alive "$HOSTSRV" || [ "$n" -le 0 ]; then ok=; break; fi
                sleep 0.1
        done
        if [ -z "$ok" ]; then
                for f in proxy-bulk proxy-conn; do want $f && fail $f "host server did not start: $(tail -n 2 "$TMP/srv.err")"; done
        elif ! printf '%s\n' 'net allow' "allow bulk.test=127.0.0.1:$PORT" | put "$B/config"; then
                for f in proxy-bulk proxy-conn; do want $f && fail $f "config write refused"; done
                ok=
        elif ! inbox 'curl -sS -m 10 -o /dev/null http://bulk.test/small'; then
                for f in proxy-bulk proxy-conn; do want $f && fail $f "curl http://bulk.test/small inside: $(lasterr)"; done
                ok=
        fi
        if [ -n "$ok" ] && want proxy-bulk; then
                : >"$TMP/xb.p"; : >"$TMP/xb.h"
                for r in $(seq 1 "$RUNS"); do
                        inbox "curl -s -o /dev/null -w '%{speed_download}' http://bulk.test/big$BYTES" ||
                                { fail proxy-bulk "curl inside: $(lasterr)"; ok=; break; }
                        num "$OUT" || { fail proxy-bulk "curl inside said '$OUT'"; ok=; break; }
                        echo "$OUT" >>"$TMP/xb.p"
                        v=$(hcurl -s -o /dev/null -w '%{speed_download}' "http://127.0.0.1:$PORT/big$BYTES")
                        num "$v" || { fail proxy-bulk "curl on the host: '$v' $(lasterr)"; ok=; break; }
                        echo "$v" >>"$TMP/xb.h"
                done
                [ -n "$ok" ] && line proxy-bulk "through the proxy" "$(median <"$TMP/xb.p") / 1048576" \
                        "host direct" "$(median <"$TMP/xb.h") / 1048576" MiB/s 60
                ok=1
        fi
        if [ -n "$ok" ] && want proxy-conn; then
                loop='t0=$(date +%s%N); i=0; while [ $i -lt '$NCONN' ]; do curl -s -o /dev/null -m 10 URL || exit 1; i=$((i+1)); done; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000 ))'
                : >"$TMP/xc.p"; : >"$TMP/xc.h"
                for r in $(seq 1 "$RUNS"); do
                        inbox "${loop//URL/http://bulk.test/small}" ||
                                { fail proxy-conn "loop inside: $(lasterr)"; ok=; break; }
                        num "$OUT" || { fail proxy-conn "loop inside said '$OUT'"; ok=; break; }
                        calc "$NCONN * 1000000 / $OUT" >>"$TMP/xc.p"; echo >>"$TMP/xc.p"
                        v=$(export no_proxy='*' NO_PROXY='*'; timeout 600 sh -c "${loop//URL/http://127.0.0.1:$PORT/small}" 2>"$TMP/err")
                        num "$v" || { fail proxy-conn "loop on the host: '$v' $(lasterr)"; ok=; break; }
                        calc "$NCONN * 1000000 / $v" >>"$TMP/xc.h"; echo >>"$TMP/xc.h"
                done
                [ -n "$ok" ] && line proxy-conn "through the proxy ($NCONN curl runs, new connection each)" \
                        "$(median <"$TMP/xc.p")" "host direct" "$(median <"$TMP/xc.h")" conn/s -
        fi
        kill -TERM "$HOSTSRV" 2>/dev/null
        wait_gone 3 "$HOSTSRV" || kill -KILL "$HOSTSRV" 2>/dev/null
        wait "$HOSTSRV" 2>/dev/null
        HOSTSRV=
fi

say "sbxfs net bench: done, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
exit "$FAILED"
