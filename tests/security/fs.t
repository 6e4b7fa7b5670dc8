#!/usr/bin/env bash
# Escape suite, file systems: host files, other sandboxes' files, the
# read-only parts of the root, device nodes, mount and pivot tricks, the
# /proc/PID/exe overwrite, the sbxfs mount and /dev/fuse, and symlinks that
# point out of the workspace.  Every case runs a probe inside a sandbox
# through the real tree, asserts the exact contained outcome, then asserts
# the host, sbxfs and the witness sandbox are fine.
. "$(dirname "$0")/lib.sh"

sec_start
P=$SEC_H/probe

sec_box fsbox || bail_out "cannot create fsbox"
sec_box other || bail_out "cannot create other"
SECRET=secret-$RANDOM$RANDOM
sec_run other "echo $SECRET > /workspace/secret.txt; echo $SECRET > /tmp/secret.txt; echo $SECRET > /dev/shm/secret.txt; echo done"
[ "$SEC_STATUS" = "exited 0" ] || diag "other: could not plant its secret ($SEC_STATUS: $SEC_ERR)"

# 1. Host files: nothing of the host's / but the read-only system dirs.
sec_run fsbox "$P open r /etc/shadow /etc/gshadow /etc/sudoers /root /home /var /boot /srv /mnt \
  $SBX_STATE $SBX_STATE/events $SBX_STATE/other/workspace/secret.txt $SEC_MARKER \
  $SBX_BUILD/sbxfs $SBX_TMP/sbxfs.log /tmp/sbx-sec-marker.*
d=\$(readlink /proc/self/fd/0); $P open r \"\${d%/*}/cmd\" \"\${d%/execs/*}/config\"
echo passwd_lines \$(grep -c . /etc/passwd)
echo root_entries \$(ls -A / | tr '\n' ' ')"
sec_expect "host files: shadow, /root, /home, the state dir and the daemon's files are not there (ENOENT)" <<EOF
open_r /etc/shadow ENOENT
open_r /etc/gshadow ENOENT
open_r /etc/sudoers ENOENT
open_r /root ENOENT
open_r /home ENOENT
open_r /var ENOENT
open_r /boot ENOENT
open_r $SBX_STATE ENOENT
open_r $SBX_STATE/events ENOENT
open_r $SBX_STATE/other/workspace/secret.txt ENOENT
open_r $SEC_MARKER ENOENT
open_r $SBX_BUILD/sbxfs ENOENT
open_r $SBX_TMP/sbxfs.log ENOENT
open_r .*/execs/[0-9]+/cmd ENOENT
open_r .*/config ENOENT
passwd_lines 2
root_entries bin dev etc lib (lib32 )?(lib64 )?(libx32 )?proc run sbin tmp usr workspace
EOF
sec_host_fine "host files"

# 2. Other sandboxes' files: /workspace, /tmp and /dev/shm are per sandbox.
sec_run fsbox "$P open r /workspace/secret.txt /tmp/secret.txt /dev/shm/secret.txt
if grep -rqs $SECRET /workspace /tmp /dev/shm /run /etc; then echo secret_found yes; else echo secret_found no; fi"
sec_expect "other sandbox's files: its /workspace, /tmp and /dev/shm are not visible" <<EOF
open_r /workspace/secret.txt ENOENT
open_r /tmp/secret.txt ENOENT
open_r /dev/shm/secret.txt ENOENT
secret_found no
EOF
sec_host_fine "other sandbox's files"

# 3. Read-only parts: the root, /usr and friends, /etc, the scripts dir.
sec_run fsbox "$P open c /evil /etc/evil /usr/evil /usr/bin/evil /bin/evil /sbin/evil /lib/evil \
  /etc/ssl/evil /run/evil /run/sbx/scripts/evil
$P open w /etc/passwd /etc/hosts /etc/ld.so.cache /etc/resolv.conf /usr/bin/env /run/sbx/scripts/\$(ls /run/sbx/scripts | head -n 1)
if rm -f /usr/bin/env 2>/dev/null; then echo rm_usr ok; else echo rm_usr refused; fi
if chmod 4777 /usr/bin/env 2>/dev/null; then echo chmod_usr ok; else echo chmod_usr refused; fi"
sec_expect "read-only parts: creating or writing files under /, /etc, /usr, /bin, /lib, /run fails (EROFS/EACCES)" <<'EOF'
open_c /evil EROFS
open_c /etc/evil EROFS
open_c /usr/evil EROFS
open_c /usr/bin/evil EROFS
open_c /bin/evil EROFS
open_c /sbin/evil EROFS
open_c /lib/evil EROFS
open_c /etc/ssl/evil EROFS
open_c /run/evil EROFS
open_c /run/sbx/scripts/evil EROFS
open_w /etc/passwd EROFS
open_w /etc/hosts EROFS
open_w /etc/ld.so.cache EROFS
open_w /etc/resolv.conf EROFS
open_w /usr/bin/env (EROFS|EACCES)
open_w /run/sbx/scripts/[0-9]+ (EROFS|EACCES)
rm_usr refused
chmod_usr refused
EOF
sec_host_fine "read-only parts"

# 4. Mount and pivot tricks: every mount-family call is denied by the filter.
sec_run fsbox "$P mount"
sec_expect "mount tricks: mount, bind, remount rw, umount, pivot_root, chroot and the new mount API give EPERM" <<'EOF'
mount_tmpfs EPERM
mount_proc EPERM
remount_root_rw EPERM
remount_usr_rw EPERM
bind_usr EPERM
umount_proc EPERM
umount_proc_sys EPERM
pivot_root EPERM
chroot EPERM
fsopen EPERM
fspick EPERM
open_tree EPERM
move_mount EPERM
mount_setattr EPERM
EOF
sec_viol "mount tricks are recorded in execs/N/violations" \
        mount umount2 pivot_root chroot fsopen fspick open_tree move_mount mount_setattr
like "$SEC_STATUS" '^exited 0 security-violation$' "mount tricks: medium exec goes on, status note security-violation"
sec_host_fine "mount tricks"

# 5. "shocker": open_by_handle_at reaches inodes outside the root.
sec_expect "open_by_handle_at (shocker) gives EPERM" <<'EOF'
open_by_handle_at EPERM
EOF
sec_viol "open_by_handle_at is recorded" open_by_handle_at
sec_host_fine "open_by_handle_at"

# 6. Device nodes: none can be made, none of the host's is there.
sec_run fsbox "$P devices; echo dev \$(ls -A /dev | tr '\n' ' ')"
sec_expect "device nodes: mknod gives EPERM; disks, memory, consoles, tun, kmsg are absent" <<'EOF'
mknod_blk EPERM
mknod_fuse EPERM
mknod_mem EPERM
open_mem ENOENT
open_kmem ENOENT
open_port ENOENT
open_vda ENOENT
open_sda ENOENT
open_kmsg ENOENT
open_console ENOENT
open_tty0 ENOENT
open_ttyS0 ENOENT
open_loop-control ENOENT
open_net/tun ENOENT
open_hpet ENOENT
open_rtc0 ENOENT
open_uinput ENOENT
open_vsock ENOENT
open_vhost-net ENOENT
dev fd full null ptmx pts random shm stderr stdin stdout tty urandom zero
EOF
sec_host_fine "device nodes"

# 7. The sbxfs mount and /dev/fuse are not reachable from inside.
sec_run fsbox "$P open r /dev/fuse; $P open d $SBX_MNT $SBX_TMP
echo fuse_mounts \$(grep -c fuse /proc/self/mountinfo)
echo sbxfs_in_mountinfo \$(grep -c -e ' - fuse' -e '$SBX_MNT ' /proc/self/mountinfo)"
sec_expect "/dev/fuse and the sbxfs mount are not reachable (ENOENT, not in mountinfo)" <<EOF
open_r /dev/fuse ENOENT
open_d $SBX_MNT ENOENT
open_d $SBX_TMP ENOENT
fuse_mounts 0
sbxfs_in_mountinfo 0
EOF
sec_host_fine "sbxfs mount and /dev/fuse"

# 8. CVE-2019-5736: no /proc/PID/exe can be opened for writing.
sec_run fsbox "sleep 5 & $P exes; kill %1"
sec_expect "/proc/PID/exe of every process (init, sh, sleep) cannot be opened for writing" <<'EOF'
exes [3-9] opened 0
EOF
is "$(sha256sum "$SBX_BUILD/sbxfs" "$SBX_BUILD/sbx-supervisor")" "$SEC_BIN_SUMS" \
        "/proc/PID/exe: the sbxfs and sbx-supervisor binaries are unchanged (init runs the latter)"
sec_host_fine "/proc/PID/exe overwrite"

# 9. Writable mounts cannot carry setuid files or devices.
sec_run fsbox "awk '\$5 == \"/workspace\" || \$5 == \"/tmp\" || \$5 == \"/dev/shm\" || \$5 == \"/dev\" {
  n = split(\$6, o, \",\"); s = \"\"; for (i = 1; i <= n; i++) if (o[i] == \"nosuid\" || o[i] == \"nodev\" || o[i] == \"ro\") s = s \" \" o[i]; print \"mnt\", \$5 s }' /proc/self/mountinfo"
# (/dev is a tmpfs made inside the user namespace: the kernel treats it as
# nodev whatever its flags, and mknod is refused anyway, case 6.)
sec_expect "writable mounts are nosuid, and nodev (/workspace, /tmp, /dev/shm)" <<'EOF'
mnt /workspace nosuid nodev
mnt /tmp nosuid nodev
mnt /dev nosuid( nodev)?
mnt /dev/shm nosuid nodev
EOF
sec_host_fine "writable mount flags"

# 10. Symlinks out of the workspace: inside they resolve in the sandbox's
# root; destroying the sandbox removes them without following them.
BAIT=$(mktemp -d "$SBX_TMP/bait.XXXXXX")
chmod 755 "$BAIT"
echo keep >"$BAIT/keep"
sec_box victim || bail_out "cannot create victim"
sec_run victim "ln -s $BAIT /workspace/hostdir; ln -s $BAIT/keep /workspace/hostfile
mkdir -p /workspace/d; ln -s / /workspace/d/root; ln -s $SBX_STATE /workspace/state
$P open r /workspace/hostfile /workspace/hostdir/keep /workspace/state/witness/config
echo planted"
sec_expect "symlinks to host paths resolve inside the sandbox (ENOENT)" <<EOF
open_r /workspace/hostfile ENOENT
open_r /workspace/hostdir/keep ENOENT
open_r /workspace/state/witness/config ENOENT
planted
EOF
r=$(sbx_errno write "$SBX_MNT/ctl" "destroy victim")
is "$r" ok "destroy victim (its workspace holds symlinks to host paths)"
wait_for "$SBX_T" test ! -e "$SBX_STATE/victim"
bad=
[ -f "$BAIT/keep" ] && [ "$(cat "$BAIT/keep")" = keep ] || bad+="$BAIT/keep is gone; "
[ -d "$SBX_STATE/witness/workspace" ] || bad+="the witness's workspace is gone; "
[ -e "$SBX_STATE/victim" ] && bad+="victim's state is still there; "
is "$bad" "" "destroy did not follow the workspace's symlinks"
sec_host_fine "workspace symlinks and destroy"

done_testing
