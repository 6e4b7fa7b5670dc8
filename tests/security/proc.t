#!/usr/bin/env bash
# Escape suite, processes and /proc: seeing or signalling host processes and
# the supervisor, kill -1, ptrace and /proc/PID of init, writes under
# /proc/sys, sysrq, core_pattern, the masked parts of /proc, cgroup file
# system tricks, the hostname, and other sandboxes' processes.
. "$(dirname "$0")/lib.sh"

sec_start
P=$SEC_H/probe

sec_box pbox || bail_out "cannot create pbox"
sec_box other || bail_out "cannot create other"
sec_box lowbox trust=low || bail_out "cannot create lowbox"
sec_box ubox trust=untrusted || bail_out "cannot create ubox"
PSUP=$(sbx_sup_pid pbox)
OSUP=$(sbx_sup_pid other)
WSUP=$(sbx_sup_pid "$SEC_WITNESS")

# 1. Only the sandbox's own processes are in its /proc.
sec_run pbox 'n=0; for p in /proc/[0-9]*; do n=$((n + 1)); read -r c < $p/comm
case $c in sbx-init|sh|cat) ;; *) echo "foreign ${p#/proc/} $c";; esac; done
echo nprocs $n; read -r c < /proc/1/comm; echo init_comm $c'
unlike "$SEC_OUT" '^foreign' "host processes: none of the host's processes (sbxfs, supervisors, the test) is in /proc"
like "$SEC_OUT" '^nprocs [1-4]$' "host processes: /proc holds only init and the exec's own processes"
like "$SEC_OUT" '^init_comm sbx-init$' "host processes: pid 1 is the sandbox's init"
sec_host_fine "listing /proc"

# 2. Nothing readable in /proc names the host's paths (the supervisor's
# binary, the state directory) or holds the daemon's environment.
sec_run pbox "for p in /proc/[0-9]*; do printf '%s: ' \${p#/proc/}; tr '\\0' ' ' < \$p/cmdline; echo; done
cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | grep -c $SEC_CANARY | sed 's/^/canary_environ /'"
unlike "$SEC_OUT" "$SBX_STATE|$SBX_BUILD|sbx-supervisor" \
        "processes: no command line in the sandbox's /proc shows the host's state dir or the supervisor binary"
like "$SEC_OUT" '^canary_environ 0$' "processes: no readable environ holds the daemon's environment"
sec_host_fine "command lines in /proc"

# 3. Host pids cannot be signalled or pidfd-opened (not in the pid namespace).
sec_run pbox "$P kill $PSUP $OSUP $WSUP $SBX_PID $$"
want=
for p in $PSUP $OSUP $WSUP $SBX_PID $$; do
        want+="kill0_$p ESRCH"$'\n'"kill_term_$p ESRCH"$'\n'"pidfd_open_$p ESRCH"$'\n'
done
sec_expect "signals to host pids (supervisors, sbxfs, the test shell) give ESRCH" <<<"$want"
bad=
for p in $PSUP $OSUP $WSUP $SBX_PID; do sbx_alive "$p" || bad+=" $p"; done
is "$bad" "" "signals to host pids: every supervisor and sbxfs are still alive"
sec_host_fine "signalling host pids"

# 4. kill -KILL -1 and kill -KILL 1 from inside: the sandbox's own other
# processes die, init and everything outside the sandbox stay.
INIT_BEFORE=$(cat "$SBX_STATE/pbox/init.pid")
NP=$(sbx_exec pbox 'sleep 60')
NO=$(sbx_exec other 'sleep 60')
wait_for "$SBX_T" eval "timeout 2 grep -qx running '$SBX_MNT/other/execs/$NO/status'"
sec_run pbox 'kill -KILL -1; echo kill_all_rc $?; kill -KILL 1; echo kill_init_rc $?; sleep 0.2; echo survived'
like "$SEC_OUT" '^survived$' "kill -KILL -1 inside: the killer itself goes on"
is "$(sbx_wait pbox "$NP" 10)" "killed KILL" "kill -KILL -1 inside: the sandbox's other exec is killed"
is "$(timeout "$SBX_T" cat "$SBX_MNT/other/execs/$NO/status")" running \
        "kill -KILL -1 inside: another sandbox's exec is untouched"
is "$(cat "$SBX_STATE/pbox/init.pid")" "$INIT_BEFORE" "kill -KILL 1 inside: the sandbox's init is the same"
sbx_alive "$INIT_BEFORE"; ok $? "kill -KILL 1 inside: the sandbox's init is alive"
sec_run pbox 'echo still-runs'
is "$SEC_STATUS/$SEC_OUT" "exited 0/still-runs" "kill -1 inside: the sandbox still runs execs"
echo "kill KILL" | sbx_put "$SBX_MNT/other/execs/$NO/ctl"
sbx_wait other "$NO" 10 >/dev/null
sec_host_fine "kill -1 and kill 1"

# 5. ptrace and /proc/1 of init (it has every capability of the sandbox's
# user namespace; the exec has none).
sec_run pbox "$P ptrace; $P open d /proc/1/root /proc/1/fd /proc/1/map_files"
sec_expect "ptrace, process_vm_*, kcmp, pidfd_getfd, /proc/1/{mem,environ,fd,cwd,root} of init are refused" <<'EOF'
ptrace_attach_init EPERM
ptrace_seize_init EPERM
process_vm_readv_init EPERM
process_vm_writev_init EPERM
kcmp_init EPERM
pidfd_getfd_init EPERM
open_init_mem EACCES
open_init_environ EACCES
opendir_init_fd (EACCES|ok)
readlink_init_cwd EACCES
open_d /proc/1/root EACCES
open_d /proc/1/fd (EACCES|ok)
open_d /proc/1/map_files (EACCES|ok)
EOF
# init is sbx-init, exec'd in the sandbox's user namespace, so its /proc/1
# directories belong to the sandbox's root and may be listed; they hold
# nothing: init has no open file at all, and following its map_files
# entries needs ptrace rights over it, which the exec lacks.
sec_run pbox 'ls /proc/1/fd | wc -l; for m in /proc/1/map_files/*; do readlink "$m" >/dev/null 2>&1 && echo "readable $m"; done; echo done'
is "$SEC_OUT" "$(printf '0\ndone')" "init holds no fd, and its map_files cannot be followed"
sec_host_fine "ptrace of init"

# 6. Strict profile (low): ptrace of its own child is refused by the filter
# and recorded; the exec goes on.
sec_run lowbox "$P ptrace_child; echo after"
sec_expect "ptrace (trust=low): EPERM even on its own child, and the exec goes on" <<'EOF'
ptrace_attach_child EPERM
after
EOF
sec_viol "ptrace (trust=low): recorded in violations" ptrace
is "$SEC_STATUS" "exited 0 security-violation" "ptrace (trust=low): status note security-violation"
sec_host_fine "ptrace on trust=low"

# 7. Untrusted: the first denied syscall ends the exec.
sec_run ubox "$P ptrace_child; echo after"
is "$SEC_STATUS" "security-violation ptrace" "ptrace (trust=untrusted): the exec ends with security-violation ptrace"
unlike "$SEC_OUT" '^after$' "ptrace (trust=untrusted): nothing runs after the violation"
sec_viol "ptrace (trust=untrusted): recorded in violations" ptrace
like "$(timeout "$SBX_T" cat "$SBX_MNT/ubox/events")" " ubox exec $SEC_N violation ptrace$" \
        "ptrace (trust=untrusted): a violation line in the sandbox's events"
sec_host_fine "ptrace on trust=untrusted"

# 8. Writes under /proc/sys, core_pattern included.
sec_run pbox "$P open w /proc/sys/kernel/core_pattern /proc/sys/kernel/core_uses_pid \
  /proc/sys/kernel/hostname /proc/sys/vm/drop_caches /proc/sys/vm/overcommit_memory \
  /proc/sys/net/ipv4/ip_forward /proc/sys/fs/protected_symlinks /proc/sys/kernel/pid_max
echo '|/workspace/evil %p' > /proc/sys/kernel/core_pattern 2>/dev/null; echo shell_write_rc \$?"
sec_expect "writes under /proc/sys (core_pattern, hostname, drop_caches, ip_forward ...) are refused" <<'EOF'
open_w /proc/sys/kernel/core_pattern (EACCES|EROFS)
open_w /proc/sys/kernel/core_uses_pid (EACCES|EROFS)
open_w /proc/sys/kernel/hostname (EACCES|EROFS)
open_w /proc/sys/vm/drop_caches (EACCES|EROFS)
open_w /proc/sys/vm/overcommit_memory (EACCES|EROFS)
open_w /proc/sys/net/ipv4/ip_forward (EACCES|EROFS)
open_w /proc/sys/fs/protected_symlinks (EACCES|EROFS)
open_w /proc/sys/kernel/pid_max (EACCES|EROFS)
shell_write_rc [1-9][0-9]*
EOF
is "$(cat /proc/sys/kernel/core_pattern)" "$SEC_CORE_PATTERN" "/proc/sys: the host's core_pattern is unchanged"
sec_host_fine "writes under /proc/sys"

# 9. sysrq: the trigger is absent or refused; the host's sysrq unchanged.
sec_run pbox "$P open w /proc/sysrq-trigger; echo b > /proc/sysrq-trigger 2>/dev/null; echo shell_rc \$?"
sec_expect "sysrq-trigger cannot be written" <<'EOF'
open_w /proc/sysrq-trigger (ENOENT|EACCES|EROFS)
shell_rc [1-9][0-9]*
EOF
sec_host_fine "sysrq"

# 10. The parts of /proc that reveal the host are masked or refused.
sec_run pbox "$P open r /proc/kmsg /proc/kcore /proc/sched_debug
echo keys_bytes \$(cat /proc/keys | wc -c); echo timer_list_bytes \$(cat /proc/timer_list | wc -c)
echo kallsyms_nonzero \$(awk '\$1 != \"0000000000000000\"' /proc/kallsyms | wc -l)
$P admin"
sec_expect "/proc masked: kmsg refused, kcore absent, keys and timer_list empty, kallsyms without addresses, syslog EPERM" <<'EOF'
open_r /proc/kmsg (EACCES|EPERM)
open_r /proc/kcore (ENOENT|EACCES|EPERM)
open_r /proc/sched_debug (ENOENT|EACCES)
keys_bytes 0
timer_list_bytes 0
kallsyms_nonzero 0
syslog EPERM
EOF
sec_host_fine "masked /proc"

# 11. cgroup file system tricks (CVE-2022-0492 and friends).
sec_run pbox "$P open d /sys /sys/fs/cgroup; $P mount | grep cgroup
cat /proc/self/cgroup | sed 's/^/cg /'
unshare -Urm sh -c 'mkdir -p /tmp/cg && mount -t cgroup -o memory cgroup /tmp/cg && echo NESTED_MOUNTED' 2>/dev/null
unshare -U sh -c 'mount -t cgroup -o rdma cgroup /tmp 2>/dev/null && echo NESTED_MOUNTED'
ls /proc/self/root/sys/fs/cgroup 2>/dev/null && echo CGROUPFS_VISIBLE; echo done"
sec_expect "cgroup: no /sys, cgroup and cgroup2 mounts give EPERM" <<'EOF'
open_d /sys ENOENT
open_d /sys/fs/cgroup ENOENT
mount_cgroup EPERM
mount_cgroup2 EPERM
done
EOF
unlike "$SEC_OUT" 'NESTED_MOUNTED|CGROUPFS_VISIBLE' "cgroup: no cgroup file system even from a nested user namespace (release_agent unreachable)"
unlike "$(printf '%s\n' "$SEC_OUT" | grep '^cg ')" 'process_api|sbx-|/init|:/[^e]' \
        "cgroup: /proc/self/cgroup shows only the exec's own cgroup (namespaced)"
sec_host_fine "cgroup tricks"

# 12. Hostname: the sandbox's own name; it cannot be changed.
sec_run pbox "hostname; $P admin | grep -e hostname -e domainname"
sec_expect "hostname: the sandbox's name inside; sethostname/setdomainname give EPERM" <<'EOF'
pbox
sethostname EPERM
setdomainname EPERM
EOF
sec_host_fine "hostname"

# 13. Another sandbox's processes are not visible.
MNUM=$RANDOM$RANDOM
MARK=mark$MNUM
NO=$(sbx_exec other "exec sh -c 'sleep 60; : $MARK'")
wait_for "$SBX_T" eval "timeout 2 grep -qx running '$SBX_MNT/other/execs/$NO/status'"
[ "$(sec_host_pids "$OSUP" | wc -l)" -ge 3 ]; ok $? "other sandbox's processes: its exec is running (host view)"
sec_run pbox "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' ' | grep -c 'mar[k]$MNUM' | sed 's/^/seen /'"
sec_expect "another sandbox's running processes are not in /proc" <<'EOF'
seen 0
EOF
echo "kill KILL" | sbx_put "$SBX_MNT/other/execs/$NO/ctl"
sbx_wait other "$NO" 10 >/dev/null
sec_host_fine "other sandbox's processes"

done_testing
