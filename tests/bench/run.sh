#!/usr/bin/env bash
# tests/bench/run.sh: sbxfs benchmarks, each printed as a ratio against a
# baseline measured in the same run, one line per benchmark:
#
#   exec-latency  500 x (ctl/exec `true`, read execs/N/wait) against 500 x
#                 fork/exec/wait of /bin/true (and bwrap --unshare-all, when
#                 installed); target median <= 2x direct and <= 1.5 ms
#   cold-start    mkdir of a new sandbox until its first `true` has ended,
#                 20 sandboxes, against `unshare -Urpmn --fork true` and a
#                 warm exec; target median <= 10 ms
#   streaming     an exec writing 1 GiB to stdout, read by cat following the
#                 stream, against `head -c 1G /dev/zero | cat` on the host;
#                 target >= 50 % of the pipe
#   density       Pss of supervisor + init per idle sandbox, 100 sandboxes,
#                 against a `sleep infinity`; target <= 1 MiB per sandbox
#   confinement   exec latency (300 runs) in a trust=untrusted sandbox
#                 against a trust=high one with seccomp off and limits at
#                 max; target <= 1.3x
#
# Latencies are timed by a C helper (sbxbench.c, compiled here into
# $SBX_BUILD/bench/) that alternates a figure and its baseline in blocks of
# 10, so that the load of anything else on the machine hits both alike; the
# ratios are steadier than the absolute figures.  Figures go to stdout, one
# line each; p10/p90 and the load average go to stderr.
#
# Usage: SBX_BUILD=/abs/build tests/bench/run.sh     (make bench does this)
#   BENCH_QUICK=1      fewer iterations (about a quarter)
#   BENCH_ONLY="a b"   run only these benchmarks (names as above)
#   BENCH_KEEP=1       leave the temp dir (not the mount) for inspection
#
# A missed target is printed ("MISSED"), not an error.  Exit status 1 when a
# benchmark could not run at all (its line says FAILED and why), 2 when
# nothing could (no root, no build, mount failed).  Needs root.  Everything
# it starts (mount, daemon, supervisors, cgroups, temp dir) is removed on
# exit, also on failure or a signal.

# Functions called from traps, eval or indirectly look unreachable to it:
# shellcheck disable=SC2317,SC2016
set -u
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
: "${SBX_BUILD:=$ROOT/build}"
: "${BENCH_QUICK:=}"
: "${BENCH_ONLY:=exec-latency cold-start streaming density confinement}"

if [ -n "$BENCH_QUICK" ] && [ "$BENCH_QUICK" != 0 ]; then
        N_EXEC=100 N_CONF=60 N_COLD=6 N_DENSITY=20
        STREAM_MIB=256 STREAM_RUNS=1
else
        BENCH_QUICK=
        N_EXEC=500 N_CONF=300 N_COLD=20 N_DENSITY=100
        STREAM_MIB=1024 STREAM_RUNS=3
fi

. "$HERE/lib.sh"

# Background jobs (sleepers), stopped before the unmount.
BG_PIDS=()
bench_cleanup_extra() {
        local p
        for p in "${BG_PIDS[@]}"; do
                kill -TERM "$p" 2>/dev/null
        done
        for p in "${BG_PIDS[@]}"; do
                wait_gone 2 "$p" || kill -KILL "$p" 2>/dev/null
                wait "$p" 2>/dev/null
        done
}
bench_start run
# The C helper: timing loops without a shell in them.
H=$SBX_BUILD/bench/sbxbench
if [ ! -x "$H" ] || [ "$HERE/sbxbench.c" -nt "$H" ]; then
        if ! { mkdir -p "$SBX_BUILD/bench" &&
               ${CC:-cc} -std=gnu11 -O2 -Wall -Wextra -o "$H.tmp" "$HERE/sbxbench.c" &&
               mv -f "$H.tmp" "$H"; }; then
                warn "cannot compile $HERE/sbxbench.c"
                exit 2
        fi
fi


# ---------------------------------------------------------------------------
# Helpers

FAILED=0
fail() {                # fail NAME REASON...: the benchmark could not run
        local name=$1
        shift
        say "$name: FAILED: $*"
        FAILED=1
        return 1
}

# run SECS CMD...: CMD bounded in time; its stderr goes to $TMP/err
run() {
        local t=$1
        shift
        timeout -k 5 "$t" "$@" 2>"$TMP/err"
}
lasterr() {
        local e
        e=$(tail -n 3 "$TMP/err" 2>/dev/null | tr '\n' ' ')
        echo "${e:-no message}"
}

# stat FILE: "median p10 p90 n" of the samples in FILE (one number a line,
# first field), in the same unit
stats() {
        sort -n -k1,1 "$1" | awk '{ v[NR] = $1 } END {
                if (NR == 0) { print "nan nan nan 0"; exit }
                m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                lo = int(NR * 0.1) + 1; hi = NR - int(NR * 0.1)
                print m, v[lo], v[hi], NR }'
}
median() { stats "$1" | cut -d' ' -f1; }

# calc EXPR: awk arithmetic, printed with %.2f
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }
# le A B / ge A B: numeric comparison
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
verdict() { if "$@"; then echo met; else echo MISSED; fi; }

# mkbox NAME: a sandbox by mkdir, bounded
mkbox() {
        run 60 mkdir "$MNT/$1" || return 1
        collect_sups
}

# newbox NAME ARGS: a sandbox by "new NAME ARGS" on the root ctl
newbox() {
        local name=$1
        shift
        printf 'new %s %s\n' "$name" "$*" | run 60 sh -c 'cat > "$1"' sh "$MNT/ctl" || return 1
        collect_sups
}

# setcfg BOX TEXT: write config lines
setcfg() {
        printf '%s\n' "$2" | run 10 sh -c 'cat > "$1"' sh "$MNT/$1/config"
}

# rmbox NAME: destroy, bounded (best effort; cleanup catches the rest)
rmbox() {
        run 60 rmdir "$MNT/$1" || warn "rmdir $1: $(lasterr)"
}

# pair FILE_A FILE_B N BOX exec BOX2 | pair FILE_A FILE_B N BOX spawn PROG...:
# the helper alternates the two in blocks of 10, so drift in machine load
# hits both alike; samples (us) go to FILE_A and FILE_B
pair() {
        local fa=$1 fb=$2 n=$3
        shift 3
        run $((n / 4 + 60)) "$H" pair "$n" "$@" >"$TMP/pair.out" || return 1
        awk '{ print $1 }' "$TMP/pair.out" >"$fa"
        awk '{ print $2 }' "$TMP/pair.out" >"$fb"
}

ms() { calc "$1 / 1000"; }

# ---------------------------------------------------------------------------
# 1. exec latency

bench_exec_latency() {
        local name=exec-latency s d b ratio line
        mkbox lat || { fail $name "mkdir lat: $(lasterr)"; return; }
        # warm up: first exec of a sandbox, page cache
        run 30 "$H" exec "$MNT/lat" 5 >/dev/null ||
                { fail $name "exec in sandbox: $(lasterr)"; return; }
        pair "$TMP/lat.sbx" "$TMP/lat.direct" "$N_EXEC" "$MNT/lat" spawn /bin/true ||
                { fail $name "exec loop: $(lasterr)"; return; }
        s=$(median "$TMP/lat.sbx")
        d=$(median "$TMP/lat.direct")
        ratio=$(calc "$s / $d")
        line="$name: sbxfs median $(ms "$s") ms, direct fork/exec $(ms "$d") ms: ratio ${ratio}x (target <= 2x, <= 1.5 ms): $(verdict eval 'le "$ratio" 2 && le "$s" 1500')"
        if command -v bwrap >/dev/null 2>&1; then
                # paired with sbxfs execs of its own, as drift goes on
                if pair "$TMP/lat.sbx2" "$TMP/lat.bwrap" $((N_EXEC / 2)) "$MNT/lat" spawn \
                        "$(command -v bwrap)" --unshare-all --ro-bind / / true; then
                        b=$(median "$TMP/lat.bwrap")
                        line="$line; bwrap --unshare-all $(ms "$b") ms: ratio $(calc "$(median "$TMP/lat.sbx2") / $b")x"
                else
                        line="$line; bwrap did not run ($(lasterr))"
                fi
        else
                line="$line; bwrap not installed"
        fi
        say "$line"
        say "  p10/p90: sbxfs $(stats "$TMP/lat.sbx" | awk '{ printf "%.2f/%.2f", $2 / 1000, $3 / 1000 }') ms, direct $(stats "$TMP/lat.direct" | awk '{ printf "%.2f/%.2f", $2 / 1000, $3 / 1000 }') ms" >&2
        rmbox lat
}

# ---------------------------------------------------------------------------
# 2. cold start

bench_cold_start() {
        local name=cold-start c mk ex rm u w st
        # baselines, timed between the cold starts: a warm exec in an
        # existing sandbox, and bare namespaces (unshare)
        mkbox warm || { fail $name "mkdir warm: $(lasterr)"; return; }
        run 60 "$H" exec "$MNT/warm" 5 >/dev/null ||
                { fail $name "exec in sandbox: $(lasterr)"; return; }
        run $((N_COLD * 10 + 60)) "$H" cold "$MNT" cold "$N_COLD" "$MNT/warm" \
                "$(command -v unshare)" -Urpmn --fork true >"$TMP/cold.out"
        st=$?
        collect_sups
        [ $st -eq 0 ] || { fail $name "$(lasterr)"; return; }
        rmbox warm
        awk '$1 != "rmdir" { print $1 + $2 }' "$TMP/cold.out" >"$TMP/cold.total"
        awk '$1 != "rmdir" { print $1 }' "$TMP/cold.out" >"$TMP/cold.mkdir"
        awk '$1 != "rmdir" { print $2 }' "$TMP/cold.out" >"$TMP/cold.exec"
        awk '$1 != "rmdir" { print $3 }' "$TMP/cold.out" >"$TMP/cold.warm"
        awk '$1 != "rmdir" { print $4 }' "$TMP/cold.out" >"$TMP/cold.unshare"
        awk '$1 == "rmdir" { print $2 }' "$TMP/cold.out" >"$TMP/cold.rmdir"
        c=$(median "$TMP/cold.total")
        mk=$(median "$TMP/cold.mkdir")
        ex=$(median "$TMP/cold.exec")
        rm=$(median "$TMP/cold.rmdir")
        u=$(median "$TMP/cold.unshare")
        w=$(median "$TMP/cold.warm")
        say "$name: sbxfs median $(ms "$c") ms (mkdir $(ms "$mk") + first exec $(ms "$ex"); rmdir $(ms "$rm")), unshare -Urpmn --fork true $(ms "$u") ms: ratio $(calc "$c / $u")x, warm exec $(ms "$w") ms: ratio $(calc "$c / $w")x (target <= 10 ms): $(verdict le "$c" 10000)"
}

# ---------------------------------------------------------------------------
# 3. streaming

bench_streaming() {
        local name=streaming i t0 t1 n size want st box
        want=$((STREAM_MIB * 1024 * 1024))
        : >"$TMP/stream.host"
        : >"$TMP/stream.sbx"
        for ((i = 0; i < STREAM_RUNS; i++)); do
                # The output is kept in the state dir: start each run with no
                # dirty page backlog (from earlier runs or anyone else), so
                # that runs compare; a fresh sandbox each time, whose rmdir
                # drops the copy before it is ever written back.
                timeout 120 sync
                t0=$(date +%s%N)
                run 300 sh -c "head -c ${STREAM_MIB}M /dev/zero | cat > /dev/null" ||
                        { fail $name "host pipe: $(lasterr)"; return; }
                t1=$(date +%s%N)
                echo $(( (t1 - t0) / 1000 )) >>"$TMP/stream.host"

                box=stream$i
                mkbox $box || { fail $name "mkdir $box: $(lasterr)"; return; }
                setcfg $box 'output max' || { fail $name "output max: $(lasterr)"; return; }
                timeout 120 sync
                t0=$(date +%s%N)
                n=$(run 30 "$H" start "$MNT/$box" "head -c ${STREAM_MIB}M /dev/zero") ||
                        { fail $name "start exec: $(lasterr)"; return; }
                run 300 cat "$MNT/$box/execs/$n/stdout" >/dev/null ||
                        { fail $name "cat execs/$n/stdout: $(lasterr)"; return; }
                t1=$(date +%s%N)
                echo $(( (t1 - t0) / 1000 )) >>"$TMP/stream.sbx"
                st=$(run 60 cat "$MNT/$box/execs/$n/wait") ||
                        { fail $name "wait: $(lasterr)"; return; }
                size=$(stat -c %s "$MNT/$box/execs/$n/stdout")
                rmbox $box
                if [ "$st" != "exited 0" ] || [ "$size" != "$want" ]; then
                        fail $name "exec $n: '$st', $size bytes of $want"
                        return
                fi
        done
        local h s hr sr pct
        h=$(median "$TMP/stream.host")
        s=$(median "$TMP/stream.sbx")
        hr=$(calc "$STREAM_MIB / ($h / 1e6)")
        sr=$(calc "$STREAM_MIB / ($s / 1e6)")
        pct=$(calc "100 * $h / $s")
        say "$name: sbxfs $sr MiB/s, host pipe $hr MiB/s ($STREAM_MIB MiB, median of $STREAM_RUNS): ratio $pct % (target >= 50 %): $(verdict ge "$pct" 50)"
}

# ---------------------------------------------------------------------------
# 4. density

# pss PID: Pss of PID in KiB (empty when it is gone)
pss() { awk '$1 == "Pss:" { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null; }

bench_density() {
        local name=density i p c n=0 sup=0 init=0 v base sleeper d
        for ((i = 0; i < N_DENSITY; i++)); do
                if ! run 60 mkdir "$MNT/d$i"; then
                        collect_sups
                        fail $name "mkdir d$i: $(lasterr)"
                        for ((; i > 0; i--)); do rmbox "d$((i - 1))"; done
                        return
                fi
        done
        collect_sups
        sleep 1         # let them settle to idle
        sleep infinity &
        sleeper=$!
        BG_PIDS+=("$sleeper")
        for ((i = 0; i < N_DENSITY; i++)); do
                read -r p <"$STATE/d$i/supervisor.pid" 2>/dev/null || continue
                v=$(pss "$p")
                [ -n "$v" ] || continue
                n=$((n + 1))
                sup=$((sup + v))
                # shellcheck disable=SC2013
                for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do
                        v=$(pss "$c")
                        init=$((init + ${v:-0}))
                done
        done
        base=$(pss "$sleeper")
        d=$(pss "$DAEMON")
        kill "$sleeper" 2>/dev/null
        wait "$sleeper" 2>/dev/null
        for ((i = 0; i < N_DENSITY; i++)); do rmbox "d$i"; done
        if [ "$n" -ne "$N_DENSITY" ] || [ -z "$base" ]; then
                fail $name "found $n of $N_DENSITY supervisors, sleep Pss '${base}'"
                return
        fi
        local per
        per=$(calc "($sup + $init) / $n / 1024")
        say "$name: sbxfs Pss $per MiB per idle sandbox (supervisor $(calc "$sup / $n / 1024") + init $(calc "$init / $n / 1024"), $n sandboxes; sbxfs daemon $(calc "${d:-0} / 1024") MiB in all), sleep infinity $(calc "$base / 1024") MiB: ratio $(calc "($sup + $init) / $n / $base")x (target <= 1 MiB per sandbox): $(verdict le "$per" 1)"
}

# ---------------------------------------------------------------------------
# 5. confinement overhead

bench_confinement() {
        local name=confinement u f max
        newbox locked trust=untrusted || { fail $name "new locked trust=untrusted: $(lasterr)"; return; }
        newbox fast trust=high || { fail $name "new fast trust=high: $(lasterr)"; return; }
        setcfg fast 'seccomp off' || { fail $name "seccomp off: $(lasterr)"; return; }
        max="limits at max"
        if ! setcfg fast "$(printf '%s max\n' timeout cpu memory memory_high pids nofile fsize output)"; then
                max="trust=high limits ($(lasterr))"
        fi
        run 30 "$H" exec "$MNT/locked" 5 >/dev/null || { fail $name "exec in untrusted: $(lasterr)"; return; }
        run 30 "$H" exec "$MNT/fast" 5 >/dev/null || { fail $name "exec in fast: $(lasterr)"; return; }
        pair "$TMP/conf.locked" "$TMP/conf.fast" "$N_CONF" "$MNT/locked" exec "$MNT/fast" ||
                { fail $name "exec loop: $(lasterr)"; return; }
        u=$(median "$TMP/conf.locked")
        f=$(median "$TMP/conf.fast")
        rmbox locked
        rmbox fast
        say "$name: untrusted median $(ms "$u") ms, seccomp off + $max $(ms "$f") ms: ratio $(calc "$u / $f")x (target <= 1.3x): $(verdict le "$(calc "$u / $f")" 1.3)"
}

# ---------------------------------------------------------------------------

say "sbxfs bench: $SBX_BUILD${BENCH_QUICK:+ (quick)}, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for b in $BENCH_ONLY; do
        case $b in
        exec-latency) bench_exec_latency ;;
        cold-start) bench_cold_start ;;
        streaming) bench_streaming ;;
        density) bench_density ;;
        confinement) bench_confinement ;;
        *) fail "$b" "no such benchmark" ;;
        esac
done
say "sbxfs bench: done, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
exit "$FAILED"
