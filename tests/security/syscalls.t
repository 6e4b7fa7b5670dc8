#!/usr/bin/env bash
# Escape suite, system calls: keyring, bpf, perf, io_uring, userfaultfd,
# modules, kexec, reboot, clocks, other admin calls, privilege gain
# (capabilities, setuid, file capabilities), nested user namespaces, tty
# injection (TIOCSTI/TIOCLINUX, also with high bits set in the request),
# other syscall ABIs and unknown numbers; and how violations are recorded:
# execs/N/violations ("SYSCALL COUNT"), events lines, the status (medium
# and low: EPERM and the note security-violation; untrusted: the exec ends
# with security-violation SYSCALL).
. "$(dirname "$0")/lib.sh"

sec_start
P=$SEC_H/probe

sec_box sbox || bail_out "cannot create sbox"
sec_box lbox trust=low || bail_out "cannot create lbox"
sec_box ubox trust=untrusted || bail_out "cannot create ubox"

events() { timeout "$SBX_T" cat "$SBX_MNT/$1/events"; }

# 1. Keyring (not namespaced), medium: EPERM, recorded, the exec goes on.
sec_run sbox "$P keyring; echo after"
sec_expect "keyring (medium): keyctl, add_key, request_key give EPERM and the exec goes on" <<'EOF'
keyctl EPERM
add_key EPERM
request_key EPERM
after
EOF
sec_viol "keyring (medium): each call is a line of violations" keyctl add_key request_key
is "$SEC_STATUS" "exited 0 security-violation" "keyring (medium): status exited 0 with the note security-violation"
is "$(sec_metric violations)" 3 "keyring (medium): metrics count 3 violations"
like "$(events sbox)" " sbox exec $SEC_N violation keyctl$" "keyring (medium): an event line names the syscall"
sec_host_fine "keyring (medium)"

# 2. Keyring, untrusted: the first violation ends the exec.
sec_run ubox "$P keyring; echo after"
is "$SEC_STATUS" "security-violation keyctl" "keyring (untrusted): the exec ends with security-violation keyctl"
unlike "$SEC_OUT" '^(add_key|request_key|after)' "keyring (untrusted): nothing runs after the first violation"
sec_viol "keyring (untrusted): keyctl in violations" keyctl
like "$(events ubox)" " ubox exec $SEC_N ended security-violation keyctl$" \
        "keyring (untrusted): the end event names the violation"
sec_run ubox 'echo next'
is "$SEC_STATUS/$SEC_OUT" "exited 0/next" "keyring (untrusted): the sandbox runs the next exec"
sec_host_fine "keyring (untrusted)"

# 3-6. bpf, perf_event_open, io_uring, userfaultfd: kernel attack surface.
# (perf with exclude_kernel and userfaultfd with UFFD_USER_MODE_ONLY would
# be granted to an unprivileged process: only the filter refuses them.)
for c in "bpf bpf" "perf perf_event_open" "io_uring io_uring_setup" "userfaultfd userfaultfd"; do
        set -- $c
        sec_run sbox "$P $1"
        sec_expect "$2 gives EPERM" <<<"$2 EPERM"
        sec_viol "$2 is recorded in violations" "$2"
        sec_host_fine "$2"
done

# 7. Kernel modules and kexec.
sec_run sbox "$P modules"
sec_expect "init_module, finit_module, delete_module, kexec_load give EPERM" <<'EOF'
init_module EPERM
finit_module EPERM
delete_module EPERM
kexec_load EPERM
EOF
sec_viol "module and kexec calls are recorded" init_module finit_module delete_module kexec_load
sec_host_fine "modules and kexec"

# 8. reboot.
sec_run sbox "$P reboot; echo after"
sec_expect "reboot gives EPERM" <<'EOF'
reboot EPERM
after
EOF
sec_viol "reboot is recorded" reboot
sec_host_fine "reboot"

# 9. Clocks (set to the value they already have: harmless even if allowed).
sec_run sbox "$P clock"
sec_expect "clock_settime, settimeofday, adjtimex, clock_adjtime give EPERM" <<'EOF'
clock_settime EPERM
settimeofday EPERM
adjtimex EPERM
clock_adjtime EPERM
EOF
sec_viol "clock_settime and settimeofday are recorded" clock_settime settimeofday
sec_host_fine "clocks (host clock unchanged)"

# 10. Other administration calls.
sec_run sbox "$P admin"
sec_expect "swapon, acct, syslog, iopl, ioperm, quotactl give EPERM" <<'EOF'
swapon EPERM
acct EPERM
syslog EPERM
iopl EPERM
ioperm EPERM
quotactl EPERM
EOF
sec_viol "those admin calls are recorded" swapon acct syslog iopl ioperm quotactl
sec_host_fine "admin calls"

# 11. Capabilities: none, and none can be had.
sec_run sbox "$P privs; $P status"
sec_expect "privilege: no capability in any set, no_new_privs, seccomp on; capset/ambient/securebits/setuid/file caps/rlimit raise refused" <<'EOF'
capset_all EPERM
ambient_raise EPERM
securebits_clear EPERM
no_new_privs 1
setuid_65534 EPERM
setgid_65534 EPERM
setgroups EPERM
setxattr_fcap EPERM
raise_nofile EPERM
raise_nproc_prlimit1 EPERM
CapInh:	0000000000000000
CapPrm:	0000000000000000
CapEff:	0000000000000000
CapBnd:	0000000000000000
CapAmb:	0000000000000000
NoNewPrivs:	1
Seccomp:	2
EOF
sec_host_fine "capabilities"

# 12. setuid binaries: a setuid copy gains nothing; the host's setuid
# /usr/bin/mount cannot mount; chown to another uid is refused.
sec_run sbox "cp $P /workspace/suid && chmod 4755 /workspace/suid && /workspace/suid status | sed 's/^/suid /'
cp $P /tmp/suid && chmod 6755 /tmp/suid && /tmp/suid status | grep CapEff | sed 's/^/tmp_suid /'
mkdir -p /tmp/m; if mount -t tmpfs none /tmp/m 2>/dev/null; then echo setuid_mount ok; else echo setuid_mount refused; fi
if chown 65534 /workspace/suid 2>/dev/null; then echo chown ok; else echo chown refused; fi"
sec_expect "setuid: setuid executables gain no capability; setuid mount(8) cannot mount; chown refused" <<'EOF'
suid CapEff:	0000000000000000
suid CapPrm:	0000000000000000
suid NoNewPrivs:	1
suid euid 0
tmp_suid CapEff:	0000000000000000
setuid_mount refused
chown refused
EOF
sec_host_fine "setuid binaries"

# 13. Nested user namespaces (medium): refused, like every namespace.
sec_run sbox "$P userns; unshare -U true 2>/dev/null && echo unshare_cmd ok || echo unshare_cmd refused"
sec_expect "nested namespaces (medium): unshare/clone with CLONE_NEWUSER give EPERM, clone3 ENOSYS, setns refused" <<'EOF'
unshare_user EPERM
unshare_mnt EPERM
unshare_net EPERM
unshare_pid EPERM
unshare_cgroup EPERM
clone_newuser EPERM
clone3_newuser ENOSYS
setns_init_mnt (EPERM|EACCES)
setns_init_user (EPERM|EACCES)
setns_init_pid (EPERM|EACCES)
setns_init_net (EPERM|EACCES)
setns_init_cgroup (EPERM|EACCES)
unshare_cmd refused
EOF
sec_host_fine "nested user namespaces (medium)"

# 14. Nested user namespaces (low): EPERM from the filter, recorded.
sec_run lbox "$P userns"
sec_expect "nested namespaces (low): unshare and clone with namespace flags give EPERM" <<'EOF'
unshare_user EPERM
unshare_mnt EPERM
clone_newuser EPERM
clone3_newuser ENOSYS
EOF
sec_viol "nested namespaces (low): unshare and clone recorded" unshare clone
sec_host_fine "nested user namespaces (low)"

# 15. Nested user namespaces (untrusted): the exec ends.
sec_run ubox "$P userns; echo after"
is "$SEC_STATUS" "security-violation unshare" "nested namespaces (untrusted): the exec ends with security-violation unshare"
sec_host_fine "nested user namespaces (untrusted)"

# 16. TIOCSTI / TIOCLINUX: refused, also with high bits set in the request
# (CVE-2019-10063), even on a terminal that is the caller's controlling tty.
# The exec has no terminal of the host: its stdio are pipes, no ctty.
for box in sbox lbox; do
        sec_run "$box" "$P tty"
        sec_expect "tty injection ($box): TIOCSTI and TIOCLINUX give EPERM, high bits or not" <<'EOF'
tiocsti EPERM
tiocsti_hibit EPERM
tiocsti_allhigh EPERM
tioclinux EPERM
tioclinux_hibit EPERM
EOF
        sec_expect "tty injection ($box): no terminal of the host (stdio not ttys, /dev/tty ENXIO)" <<'EOF'
tiocsti_fd0 (EPERM|ENOTTY)
tiocsti_hibit_fd0 (EPERM|ENOTTY)
tiocsti_fd1 (EPERM|ENOTTY)
tiocsti_hibit_fd1 (EPERM|ENOTTY)
tiocsti_fd2 (EPERM|ENOTTY)
tiocsti_hibit_fd2 (EPERM|ENOTTY)
isatty_fd0 no
isatty_fd1 no
isatty_fd2 no
open_dev_tty ENXIO
EOF
        sec_host_fine "tty injection ($box)"
done

# 17. Other ABIs and unknown syscall numbers: no way around the filter.
sec_run sbox "$P abi"
sec_expect "other ABIs: i386 (int 0x80) and x32 keyctl refused, unknown syscall numbers give EPERM" <<'EOF'
int80_keyctl (EPERM|ENOSYS|SEGV|SYS)
int80_unshare_user (EPERM|ENOSYS|SEGV|SYS)
x32_keyctl (EPERM|ENOSYS|SYS)
unknown_syscall_1000 EPERM
EOF
like "$SEC_VIOL" '1000 1$' "unknown syscall numbers are recorded in violations"
sec_host_fine "other ABIs"

# 18. violations: "SYSCALL COUNT" lines that count repeats.
sec_run sbox "$P keyring; $P keyring; $P bpf"
sec_viol "violations: repeated calls are counted" keyctl add_key request_key bpf
like "$SEC_VIOL" '^keyctl 2$' "violations: keyctl twice gives 'keyctl 2'"
unlike "$SEC_VIOL" '^(.*[^ ]+ [^0-9].*|[^ ]*)$' "violations: every line is 'SYSCALL COUNT'"
is "$(sec_metric violations)" 7 "violations: metrics count every denied call (7)"
sec_host_fine "violation counting"

done_testing
