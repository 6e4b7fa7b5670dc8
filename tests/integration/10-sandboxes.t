#!/bin/bash
# Sandboxes: mkdir, root ctl "new"/"destroy", clone, name rules (EINVAL),
# duplicates (EEXIST), rmdir and destroy really remove everything, unknown
# ctl verbs (EINVAL plus an error line in $MNT/events).
. "$(dirname "$0")/../lib/sbx.sh"
sbx_start
MNT=$SBX_MNT
STATE=$SBX_STATE

boxes() {       # the sandbox names ls shows, one line
        timeout "$SBX_T" ls "$MNT" | grep -v -x -e ctl -e clone -e events | tr '\n' ' '
}
listed() { timeout "$SBX_T" ls "$MNT" | grep -qx -- "$1"; }

# ---- mkdir
check "mkdir box1" timeout "$SBX_T" mkdir "$MNT/box1"
ok "$(listed box1; echo $?)" "ls shows box1"
ok "$( [ -d "$STATE/box1" ]; echo $?)" "box1 has a state dir"
sup1=$(sbx_sup_pid box1)
ok "$(sbx_alive "$sup1"; echo $?)" "box1 has a live supervisor"
st=$(timeout "$SBX_T" cat "$MNT/box1/status")
like "$st" '^state running$' "box1 status: state running"
like "$st" '^trust medium$' "mkdir makes trust = medium"
is "$(printf '%s\n' "$st" | awk '{print $1}' | sort | tr '\n' ' ')" \
        "execs name running state supervisor_pid trust " "status has exactly the documented keys"
like "$st" '^name box1$' "status: name box1"
like "$st" "^supervisor_pid $sup1\$" "status: supervisor_pid is the supervisor's pid"
like "$st" '^execs 0$' "status: execs 0 before any exec"
like "$st" '^running 0$' "status: running 0"
for d in ctl ctl/exec ctl/kill config env status metrics metrics.json events execs; do
        ok "$( [ -e "$MNT/box1/$d" ]; echo $?)" "box1/$d exists"
done

# ---- root ctl: new
printf 'new box2\n' | sbx_put "$MNT/ctl"
is "$?" 0 "'new box2' > ctl succeeds"
ok "$(listed box2; echo $?)" "ls shows box2"
printf 'new box3 trust=low timeout=5s\n' | sbx_put "$MNT/ctl"
is "$?" 0 "'new box3 trust=low timeout=5s' succeeds"
cfg=$(timeout "$SBX_T" cat "$MNT/box3/config")
like "$cfg" '^trust low$' "box3 config has trust low"
like "$cfg" '^timeout 5s$' "box3 config has timeout 5s"
like "$(timeout "$SBX_T" cat "$MNT/box3/status")" '^trust low$' "box3 status says trust low"
is "$(sbx_errno write "$MNT/ctl" 'new box4 bogus=1')" EINVAL "new with an unknown key: EINVAL"
ok "$(! listed box4 && [ ! -e "$STATE/box4" ]; echo $?)" "and no box4 was made"
is "$(sbx_errno write "$MNT/ctl" 'new box4 timeout=never')" EINVAL "new with a bad value: EINVAL"

# several lines in one write, in order, the first failure fails the write
printf 'new m1\nnew m2\n' | sbx_put "$MNT/ctl"
is "$?" 0 "two 'new' lines in one write succeed"
ok "$(listed m1 && listed m2; echo $?)" "both m1 and m2 exist"
is "$(sbx_errno write "$MNT/ctl" $'new m3\nnew BAD\nnew m4\n')" EINVAL \
        "a write whose second line is bad fails with EINVAL"
ok "$(listed m3; echo $?)" "the line before the bad one was carried out"
ok "$(! listed m4; echo $?)" "the line after the bad one was not"
is "$(sbx_errno truncate "$MNT/ctl" 0)" ok "truncate on ctl is accepted"
is "$(sbx_errno append "$MNT/ctl" 'new m5')" ok "an O_APPEND write to ctl works (offsets are ignored)"
ok "$(listed m5; echo $?)" "m5 exists"
is "$(sbx_errno write "$MNT/ctl" 'new m6')" ok "a write without a trailing newline works"
ok "$(listed m6; echo $?)" "m6 exists"

# several sandboxes made at the same time
for i in 1 2 3 4 5; do
        sbx_bg timeout "$SBX_T" mkdir "$MNT/par$i"
        eval "pp$i=$SBX_BG"
done
st=0
for i in 1 2 3 4 5; do
        eval "wait \$pp$i" || st=1
done
is "$st" 0 "five parallel mkdirs all succeed"
ok "$(for i in 1 2 3 4 5; do listed "par$i" || exit 1; done; echo 0)" "and all five are listed"
pids=$(for i in 1 2 3 4 5; do sbx_sup_pid "par$i"; done | sort -u | wc -l)
is "$pids" 5 "each has its own supervisor"
sbx_run par3 'echo par'
is "$SBX_STATUS" "exited 0" "one of them runs an exec"

# ---- clone
c1=$(timeout "$SBX_T" cat "$MNT/clone"); s1=$?
c2=$(timeout "$SBX_T" cat "$MNT/clone"); s2=$?
is "$s1$s2" 00 "two reads of clone succeed"
like "$c1" '^sbx-[a-z0-9]{20}$' "clone gives sbx-<20 chars> ($c1)"
like "$c2" '^sbx-[a-z0-9]{20}$' "the second clone too ($c2)"
isnt "$c1" "$c2" "two clones give two different names"
ok "$(listed "$c1" && listed "$c2"; echo $?)" "both cloned sandboxes are listed"
ok "$( [ -d "$STATE/$c1" ] && [ -d "$STATE/$c2" ]; echo $?)" "both have state dirs"
like "$(timeout "$SBX_T" cat "$MNT/$c1/status")" '^state running$' "a cloned sandbox is running"

# ---- name rules
long63=$(printf 'a%.0s' $(seq 63))
long64=$(printf 'a%.0s' $(seq 64))
for bad in Box1 'a_b' '-ab' 'ab-' "$long64" 'a..b' 'a.b' 'a b' 'ünï'; do
        is "$(sbx_errno mkdir "$MNT/$bad")" EINVAL "mkdir '$bad': EINVAL"
        ok "$( [ ! -e "$STATE/$bad" ]; echo $?)" "and no state dir for '$bad'"
done
for bad in '../x' 'a/b' 'Box1' '-x' "$long64" '.' '..' 'a..b'; do
        is "$(sbx_errno write "$MNT/ctl" "new $bad")" EINVAL "ctl 'new $bad': EINVAL"
done
ok "$( [ ! -e "$SBX_TMP/x" ] && [ ! -e "$STATE/a" ]; echo $?)" "'new ../x' and 'new a/b' made nothing"
is "$(sbx_errno write "$MNT/ctl" 'new')" EINVAL "ctl 'new' without a name: EINVAL"
is "$(sbx_errno mkdir "$MNT/$long63")" ok "a 63-character name is accepted"
is "$(sbx_errno mkdir "$MNT/0-9")" ok "a name of digits and an inner '-' is accepted"

# ---- duplicates
out=$(timeout "$SBX_T" mkdir "$MNT/box1" 2>&1)
like "$out" 'File exists' "mkdir of an existing sandbox: 'File exists'"
is "$(sbx_errno mkdir "$MNT/box1")" EEXIST "mkdir of an existing sandbox: EEXIST"
is "$(sbx_errno write "$MNT/ctl" 'new box2')" EEXIST "ctl 'new box2' again: EEXIST"
is "$(sbx_errno write "$MNT/ctl" "new $c1")" EEXIST "ctl 'new' of a cloned name: EEXIST"
is "$(sbx_errno mkdir "$MNT/ctl")" EEXIST "mkdir ctl: EEXIST"

# ---- rmdir and destroy remove everything
gone_checks() {         # NAME SUPERVISOR_PID HOW
        ok "$(! listed "$1"; echo $?)" "$3: ls no longer shows $1"
        ok "$( [ ! -e "$STATE/$1" ]; echo $?)" "$3: $1's state dir is gone"
        ok "$(wait_for "$SBX_T" eval "! sbx_alive $2"; echo $?)" "$3: $1's supervisor ($2) is gone"
        is "$(find /sys/fs/cgroup -maxdepth 6 -type d -name "sbx-$1-$2" 2>/dev/null)" "" \
                "$3: no cgroup sbx-$1-* remains"
        is "$(sbx_errno read "$MNT/$1/status")" ENOENT "$3: $1/status is ENOENT"
}
sbx_run box2 'sleep 1000 & echo started'
sup2=$(sbx_sup_pid box2)
check "rmdir box2 (with a process running in it)" timeout "$SBX_T" rmdir "$MNT/box2"
gone_checks box2 "$sup2" rmdir
sup3=$(sbx_sup_pid box3)
printf 'destroy box3\n' | sbx_put "$MNT/ctl"
is "$?" 0 "'destroy box3' > ctl succeeds"
gone_checks box3 "$sup3" destroy
is "$(sbx_errno write "$MNT/ctl" 'destroy box3')" ENOENT "destroy of a sandbox that is gone: ENOENT"
is "$(sbx_errno write "$MNT/ctl" 'destroy nosuch')" ENOENT "destroy of an unknown name: ENOENT"
is "$(sbx_errno rmdir "$MNT/nosuch")" ENOENT "rmdir of an unknown name: ENOENT"
check "mkdir box2 again after its rmdir" timeout "$SBX_T" mkdir "$MNT/box2"
sbx_run box2 'echo reborn'
is "$SBX_N" 1 "a re-made sandbox starts from exec 1"
is "$(timeout "$SBX_T" cat "$MNT/box2/execs/1/stdout")" reborn "and runs"

# ---- unknown verbs
is "$(sbx_errno write "$MNT/ctl" 'frobnicate box1')" EINVAL "an unknown ctl verb: EINVAL"
out=$(printf 'frobnicate box1\n' | sbx_put "$MNT/ctl" 2>&1)
like "$out" 'Invalid argument' "the shell sees 'Invalid argument'"
ok "$(wait_for 5 eval 'sbx_snap "$MNT/events" | grep -q " error .*frobnicate"'; echo $?)" \
        "\$MNT/events gets an error line naming the bad write"
like "$(sbx_snap "$MNT/events" | grep ' error ' | tail -n 1)" \
        '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z - error ' "the error line has the documented form"
is "$(boxes)" "$(printf '%s\n' 0-9 box1 box2 "$c1" "$c2" "$long63" m1 m2 m3 m5 m6 par1 par2 par3 par4 par5 | sort | tr '\n' ' ')" \
        "in the end exactly the expected sandboxes are listed"

done_testing
