#!/bin/bash
# config and env: reading shows every key; a write merges the given keys;
# bad keys or values are refused with EINVAL and change nothing; limits
# apply to new execs; env lines reach new execs.
. "$(dirname "$0")/../lib/sbx.sh"
sbx_start
MNT=$SBX_MNT
B=$MNT/box1
timeout "$SBX_T" mkdir "$B" || bail_out "mkdir box1 failed"

cfg() { timeout "$SBX_T" cat "$B/config"; }
without() { printf '%s\n' "$1" | grep -v -E "^($2) "; }

# ---- reading
c0=$(cfg)
for k in trust timeout grace cpu memory memory_high pids nofile fsize tmp output files net \
         seccomp on_violation; do
        like "$c0" "^$k [^ ]+\$" "config shows $k"
done
like "$c0" '^trust medium$' "a mkdir'd sandbox has trust medium"
is "$(printf '%s\n' "$c0" | awk 'NF != 2' )" "" "every config line is 'key value'"

# ---- a write merges
echo 'timeout 2s' | sbx_put "$B/config"
is "$?" 0 "write 'timeout 2s'"
c1=$(cfg)
like "$c1" '^timeout 2s$' "config now has timeout 2s"
is "$(without "$c1" timeout)" "$(without "$c0" timeout)" "every other key is unchanged"
printf 'grace 1s\npids 64\n' | sbx_put "$B/config"
is "$?" 0 "write two keys at once"
c2=$(cfg)
like "$c2" '^grace 1s$' "grace 1s"
like "$c2" '^pids 64$' "pids 64"
like "$c2" '^timeout 2s$' "timeout 2s is kept by the later write"
is "$(without "$c2" 'grace|pids')" "$(without "$c1" 'grace|pids')" "the rest is unchanged"
is "$(timeout "$SBX_T" cat "$SBX_STATE/box1/config" | grep -c '^timeout 2s$')" 1 \
        "the state dir's config has the merged value"

# ---- refused writes change nothing
for bad in 'bogus 1' 'timeout forever' 'memory lots' 'trust superhigh' 'timeout' \
           $'pids 10\nbogus 1'; do
        is "$(sbx_errno write "$B/config" "$bad")" EINVAL "config write '${bad//$'\n'/\\n}': EINVAL"
        is "$(cfg)" "$c2" "and the config is unchanged"
done
out=$(echo 'bogus 1' | sbx_put "$B/config" 2>&1)
like "$out" 'Invalid argument' "the shell sees 'Invalid argument'"
ok "$(wait_for 5 eval 'sbx_snap "$B/events" | grep -q " error .*bogus"'; echo $?)" \
        "box1/events gets an error line naming the bad key"

# ---- limits apply to new execs
sbx_run box1 'sleep 30' 30
is "$SBX_STATUS" timeout "an exec over 'timeout 2s' ends with 'timeout'"
m=$(timeout "$SBX_T" cat "$B/execs/$SBX_N/metrics")
like "$m" '^reason timeout$' "its metrics say reason timeout"
echo 'timeout 300s' | sbx_put "$B/config"
sbx_run box1 'sleep 3; echo slept'
is "$SBX_STATUS" "exited 0" "after 'timeout 300s' the same kind of exec completes"
echo 'output 10' | sbx_put "$B/config"
sbx_run box1 'echo 0123456789abcdef'
like "$SBX_STATUS" 'output-truncated' "a new 'output 10' applies to the next exec"
is "$(timeout "$SBX_T" cat "$B/execs/$SBX_N/stdout")" 0123456789 "stdout keeps 10 bytes"

# ---- trust resets the limits to that level's defaults
echo 'trust high' | sbx_put "$B/config"
like "$(cfg)" '^trust high$' "trust high"
like "$(timeout "$SBX_T" cat "$B/status")" '^trust high$' "status shows the new trust"
isnt "$(cfg | grep '^output ')" "output 10" "trust resets the other limits (output 10 gone)"

# ---- env
is "$(timeout "$SBX_T" cat "$B/env")" "" "env starts empty"
echo 'FOO=bar' | sbx_put "$B/env"
is "$?" 0 "write FOO=bar to env"
like "$(timeout "$SBX_T" cat "$B/env")" '^FOO=bar$' "env shows FOO=bar"
sbx_run box1 'echo "FOO=$FOO"'
is "$(timeout "$SBX_T" cat "$B/execs/$SBX_N/stdout")" "FOO=bar" "FOO reaches a new exec"
printf 'A=1\nB=two words\n' | sbx_put "$B/env"
sbx_run box1 'echo "$A|$B"'
is "$(timeout "$SBX_T" cat "$B/execs/$SBX_N/stdout")" "1|two words" "several KEY=VALUE lines, values with spaces"
n=$(sbx_exec box1 'read x; echo "$FOO/$A"')
printf 'A=changed\n' | sbx_put "$B/env"
echo | sbx_put "$B/execs/$n/stdin"
sbx_wait box1 "$n" >/dev/null
like "$(timeout "$SBX_T" cat "$B/execs/$n/stdout")" '/1$' "a running exec keeps the environment it started with"
sbx_run box1 'echo "$A"'
is "$(timeout "$SBX_T" cat "$B/execs/$SBX_N/stdout")" changed "a new exec sees the changed value"

done_testing
