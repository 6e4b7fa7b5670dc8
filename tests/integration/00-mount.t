#!/bin/bash
# Mounting: --help/--version, unmount with fusermount3 -u and with umount,
# mounting again (cleanly, or after the daemon was killed) over a state dir
# that holds sandboxes brings them back with their execs.
. "$(dirname "$0")/../lib/sbx.sh"

# ---- options that print and exit (no mount needed)
out=$(timeout "$SBX_T" "$SBX_BUILD/sbxfs" --help 2>&1); st=$?
is "$st" 0 "sbxfs --help exits 0"
like "$out" '[Uu]sage' "--help prints a usage text"
out=$(timeout "$SBX_T" "$SBX_BUILD/sbxfs" --version 2>&1); st=$?
is "$st" 0 "sbxfs --version exits 0"
like "$out" '^sbxfs [0-9]+\.[0-9]+' "--version prints 'sbxfs X.Y...'"
out=$(timeout "$SBX_T" "$SBX_BUILD/sbxfs" 2>&1); st=$?
isnt "$st" 0 "sbxfs without a mount point fails"

sbx_start
MNT=$SBX_MNT

ok "$(sbx_mounted; echo $?)" "mounted on $MNT"
ls_root=$(timeout "$SBX_T" ls "$MNT" | tr '\n' ' ')
is "$ls_root" "clone ctl events " "an empty mount shows ctl, clone and events"

check "mkdir box1" timeout "$SBX_T" mkdir "$MNT/box1"
sbx_run box1 'echo before-umount'
is "$SBX_STATUS" "exited 0" "an exec runs before the unmount"
sup=$(sbx_sup_pid box1)
ok "$(sbx_alive "$sup"; echo $?)" "box1 has a live supervisor ($sup)"

# ---- fusermount3 -u
old=$SBX_PID
sbx_umount fusermount3
is "$?" 0 "fusermount3 -u unmounts"
ok "$(! sbx_mounted; echo $?)" "no longer mounted after fusermount3 -u"
ok "$(! sbx_alive "$old"; echo $?)" "the sbxfs daemon exited after fusermount3 -u"
ok "$(sbx_alive "$sup"; echo $?)" "the supervisor outlives the mount"

# ---- mount again on the same state: the sandbox and its exec are back
sbx_mount || bail_out "cannot mount again"
pass "mounted again on the same state dir"
like "$(timeout "$SBX_T" ls "$MNT")" '^box1$' "ls shows box1 again"
is "$(timeout "$SBX_T" cat "$MNT/box1/execs/1/stdout")" "before-umount" "the old exec's stdout is readable"
is "$(sbx_wait box1 1)" "exited 0" "the old exec's wait gives its status at once"
sbx_run box1 'echo after-mount'
is "$SBX_STATUS" "exited 0" "a new exec works after mounting again"
is "$SBX_N" 2 "the new exec is numbered after the old ones"
is "$(timeout "$SBX_T" cat "$MNT/box1/execs/2/stdout")" "after-mount" "the new exec's output is readable"
is "$(sbx_sup_pid box1)" "$sup" "the same supervisor still serves box1"

# ---- umount
old=$SBX_PID
sbx_umount umount
is "$?" 0 "umount unmounts"
ok "$(! sbx_mounted; echo $?)" "no longer mounted after umount"
ok "$(! sbx_alive "$old"; echo $?)" "the sbxfs daemon exited after umount"

sbx_mount || bail_out "cannot mount again"
like "$(timeout "$SBX_T" ls "$MNT")" '^box1$' "ls shows box1 after umount and mount"

# ---- kill -9 the daemon, mount again
check "mkdir box2" timeout "$SBX_T" mkdir "$MNT/box2"
sbx_run box2 'echo in-box2; echo err-box2 >&2; exit 4'
is "$SBX_STATUS" "exited 4" "box2 exec ends with exited 4"
old=$SBX_PID
sbx_remount || bail_out "cannot mount after kill -9"
ok "$(! sbx_alive "$old"; echo $?)" "the killed daemon is gone"
pass "mounted again after kill -9 of the daemon"
is "$(timeout "$SBX_T" ls "$MNT" | grep -v -e '^ctl$' -e '^clone$' -e '^events$' | tr '\n' ' ')" \
        "box1 box2 " "both sandboxes are listed after the crash"
is "$(timeout "$SBX_T" cat "$MNT/box2/execs/1/stdout")" "in-box2" "box2's old stdout is readable"
is "$(timeout "$SBX_T" cat "$MNT/box2/execs/1/stderr")" "err-box2" "box2's old stderr is readable"
is "$(timeout "$SBX_T" cat "$MNT/box2/execs/1/status")" "exited 4" "box2's old status is readable"
is "$(timeout "$SBX_T" readlink "$MNT/box1/execs/last")" "2" "box1's execs/last still points at 2"
sbx_run box2 'echo new-after-crash'
is "$SBX_STATUS" "exited 0" "a new exec works after the crash"
is "$(timeout "$SBX_T" cat "$MNT/box2/execs/$SBX_N/stdout")" "new-after-crash" "and its output is readable"
like "$(timeout "$SBX_T" cat "$MNT/box1/status")" '^state running' "box1's status says running"

# ---- a state dir that does not exist yet is made, and sandboxes work in it
sbx_umount
SBX_STATE=$SBX_TMP/new/state
sbx_mount || bail_out "cannot mount with a missing state dir"
ok "$( [ -d "$SBX_STATE" ]; echo $?)" "sbxfs makes a missing state dir"
is "$(timeout "$SBX_T" ls "$MNT" | tr '\n' ' ')" "clone ctl events " "a new state dir shows an empty tree"
check "mkdir in a state dir made by sbxfs" timeout "$SBX_T" mkdir "$MNT/fresh"
sbx_run fresh 'echo fresh-ok'
is "$SBX_STATUS" "exited 0" "an exec runs in a sandbox of a state dir made by sbxfs"

done_testing
