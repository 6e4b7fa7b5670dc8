/* seccomp.c: the syscall filter, an allowlist modeled on Docker's default
 * profile (moby/profiles default.json), compiled once per mode with
 * libseccomp and installed per exec as ready BPF (see seccomp.h).
 *
 * Anything not allowed, including syscall numbers this list has never
 * heard of, goes to the supervisor as a user notification, which records
 * it by name and answers EPERM.  The filter allows the native ABI only:
 * a syscall through any other (int 0x80, x32 numbers on amd64) kills the
 * process, so a 32-bit entry is no way around it.  Allowlists for x86
 * and x32 as well made the program three times longer (969 instead of
 * 313 instructions), which cost about 0.5 ms per exec to install and
 * more on every syscall, for programs a sandbox does not run. */
#include <errno.h>
#include <glib.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "seccomp.h"

/* Docker's default allowlist, less what it only grants with extra
 * capabilities.  Names unknown to libseccomp on this arch are skipped. */
static const char *const allow_default[] = {
        "accept", "accept4", "access", "adjtimex", "alarm", "arch_prctl", "bind", "brk",
        "capget", "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime",
        "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64",
        "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect",
        "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1",
        "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
        "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group",
        "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark",
        "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl",
        "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr",
        "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync",
        "ftruncate", "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait",
        "futex_waitv", "futex_wake", "futimesat", "getcpu", "getcwd", "getdents", "getdents64",
        "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
        "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid",
        "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32",
        "getrlimit", "get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt",
        "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32", "getxattr",
        "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel",
        "ioctl", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
        "ioprio_get", "ioprio_set", "io_setup", "io_submit", "ipc", "kill", "landlock_add_rule",
        "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr",
        "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek", "lremovexattr",
        "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack", "membarrier",
        "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat",
        "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr",
        "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
        "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd",
        "msync", "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep",
        "newfstatat", "_newselect", "open", "openat", "openat2", "pause", "pidfd_open",
        "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect",
        "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64",
        "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2",
        "read", "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg",
        "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat",
        "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending",
        "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
        "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
        "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max",
        "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval",
        "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr",
        "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl",
        "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64",
        "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32",
        "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid",
        "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
        "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid",
        "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr",
        "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd",
        "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat",
        "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync",
        "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create",
        "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64",
        "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
        "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill",
        "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat",
        "utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4",
        "waitid", "waitpid", "write", "writev",
        /* Docker grants these only with CAP_SYS_NICE, but procps probes
         * them (libnuma): denied, every "ps" was a violation, and killed
         * an untrusted exec.  They set the caller's own NUMA policy. */
        "get_mempolicy", "set_mempolicy",
        /* Docker allows these on new kernels; strict mode drops them. */
        "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "personality",
        /* Only without namespace flags (see build); unshare and setns are
         * not allowed at all: Docker grants them with CAP_SYS_ADMIN only,
         * and our execs have no capabilities.  Nested user namespaces are
         * kernel attack surface no trust level needs. */
        "clone",
};

/* Removed again for the strict profile (untrusted, low). */
static const char *const strict_drop[] = {
        "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
        "io_setup", "io_submit", "io_getevents", "io_pgetevents", "io_cancel", "io_destroy",
        "name_to_handle_at", "fanotify_mark", "memfd_secret", "landlock_create_ruleset",
        "landlock_add_rule", "landlock_restrict_self",
};

#define CLONE_NS_FLAGS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | \
                        CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP | 0x00000080 /* NEWTIME */)

static bool in_list(const char *name, const char *const *list, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(list[i], name) == 0)
                        return true;
        return false;
}

static int add(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n,
               const struct scmp_arg_cmp *cmp)
{
        int nr = seccomp_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR)
                return 0;
        int r = seccomp_rule_add_array(ctx, action, nr, n, cmp);
        /* -EOPNOTSUPP/-EDOM: not a syscall on some of our arches. */
        return r == -EOPNOTSUPP || r == -EDOM ? 0 : r;
}

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef AF_ALG
#define AF_ALG 38
#endif

/* Export ctx as BPF into out (malloc'd, kept for the supervisor's life).
 * libseccomp 2.5 exports only to an fd. */
static int export(scmp_filter_ctx ctx, struct sock_fprog *out, char **why)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *tmp = tmpfile();
        int r;

        if (!tmp) {
                *why = g_strdup("tmpfile for the BPF export failed");
                return -EIO;
        }
        r = seccomp_export_bpf(ctx, fileno(tmp));
        if (r == 0) {
                fseek(tmp, 0, SEEK_END);
                len = (size_t)ftell(tmp);
                rewind(tmp);
                buf = malloc(len);
                if (!buf || fread(buf, 1, len, tmp) != len)
                        r = -EIO;
        }
        fclose(tmp);
        if (r < 0) {
                free(buf);
                *why = g_strdup_printf("export BPF: %s", g_strerror(-r));
                return r;
        }
        out->len = (unsigned short)(len / sizeof(struct sock_filter));
        out->filter = (struct sock_filter *)buf;
        return 0;
}

/* The guard: a second filter, stacked under the main one, for the few
 * "deny when an argument matches under a mask" rules.  In one filter an
 * unconditional allow of ioctl would override them (libseccomp keeps the
 * broadest rule); stacked, the stricter verdict of the two wins.
 *   ioctl TIOCSTI, TIOCLINUX: push input into a terminal.  The kernel
 *     reads the request as 32 bits, so the mask ignores the upper half
 *     (CVE-2019-10063: a request with high bits set).
 *   socket AF_VSOCK: not network-namespaced, it reaches the hypervisor's
 *     host side; AF_ALG: the kernel crypto API, a history of CVEs.
 * These get their errno from the filter, unrecorded. */
static struct sock_fprog guard;

static int build_guard(char **why)
{
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        struct scmp_arg_cmp sti[] = { SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI) };
        struct scmp_arg_cmp lnx[] = { SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX) };
        struct scmp_arg_cmp vs[] = { SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, AF_VSOCK) };
        struct scmp_arg_cmp alg[] = { SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, AF_ALG) };
        int r;

        if (!ctx) {
                *why = g_strdup("seccomp_init failed");
                return -ENOMEM;
        }
        if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0 ||
            (r = add(ctx, SCMP_ACT_ERRNO(EPERM), "ioctl", 1, sti)) < 0 ||
            (r = add(ctx, SCMP_ACT_ERRNO(EPERM), "ioctl", 1, lnx)) < 0 ||
            (r = add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), "socket", 1, vs)) < 0 ||
            (r = add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), "socket", 1, alg)) < 0) {
                *why = g_strdup_printf("seccomp guard rule: %s", g_strerror(-r));
                seccomp_release(ctx);
                return r;
        }
        r = export(ctx, &guard, why);
        seccomp_release(ctx);
        return r;
}

static int build(enum sbx_seccomp_mode mode, struct sock_fprog *out, char **why)
{
        bool strict = mode == SBX_SECCOMP_STRICT;
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_NOTIFY);
        int r = 0;

        if (!ctx) {
                *why = g_strdup("seccomp_init failed");
                return -ENOMEM;
        }
        /* The exec sets no_new_privs itself; a foreign ABI kills. */
        if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0 ||
            (r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0) {
                *why = g_strdup_printf("seccomp attributes: %s", g_strerror(-r));
                seccomp_release(ctx);
                return r;
        }
        for (size_t i = 0; i < G_N_ELEMENTS(allow_default) && r == 0; i++) {
                const char *n = allow_default[i];
                if (strict && in_list(n, strict_drop, G_N_ELEMENTS(strict_drop)))
                        continue;
                if (strcmp(n, "clone") == 0) {
                        /* Plain fork and threads yes, new namespaces no. */
                        struct scmp_arg_cmp a[] = { SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NS_FLAGS, 0) };
                        r = add(ctx, SCMP_ACT_ALLOW, n, 1, a);
                        continue;
                }
                if (strict && strcmp(n, "personality") == 0) {
                        /* Only the default and querying; no ADDR_NO_RANDOMIZE. */
                        struct scmp_arg_cmp a[] = { SCMP_A0(SCMP_CMP_EQ, 0) };
                        struct scmp_arg_cmp b[] = { SCMP_A0(SCMP_CMP_EQ, 0xffffffff) };
                        r = add(ctx, SCMP_ACT_ALLOW, n, 1, a);
                        if (r == 0)
                                r = add(ctx, SCMP_ACT_ALLOW, n, 1, b);
                        continue;
                }
                r = add(ctx, SCMP_ACT_ALLOW, n, 0, NULL);
        }
        /* clone3 passes its flags in memory, which a filter cannot read:
         * answer ENOSYS so libc falls back to clone, which it can.  And
         * socket: everything but AF_NETLINK's audit and the like is fine;
         * keep it simple and allow it (the netns has only lo). */
        if (r == 0)
                r = add(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL);
        if (r == 0)
                r = add(ctx, SCMP_ACT_ALLOW, "socket", 0, NULL);
        if (r < 0) {
                *why = g_strdup_printf("seccomp rule: %s", g_strerror(-r));
                seccomp_release(ctx);
                return r;
        }
        /* Export the BPF once; each exec installs the same program. */
        r = export(ctx, out, why);
        seccomp_release(ctx);
        return r;
}

const struct sock_fprog *sbx_seccomp_program(enum sbx_seccomp_mode mode, char **why)
{
        static struct sock_fprog progs[3];

        *why = NULL;
        if (mode == SBX_SECCOMP_OFF || mode > SBX_SECCOMP_STRICT)
                return NULL;
        if (!guard.filter && build_guard(why) < 0)
                return NULL;
        if (!progs[mode].filter && build(mode, &progs[mode], why) < 0)
                return NULL;
        return &progs[mode];
}

int sbx_seccomp_install(const struct sock_fprog *prog)
{
        /* The guard first (no listener), then the main filter. */
        if (guard.filter && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &guard) < 0)
                return -errno;
        long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                          SECCOMP_FILTER_FLAG_NEW_LISTENER, prog);
        return fd < 0 ? -errno : (int)fd;
}

int sbx_seccomp_recv(int listener, char *name, size_t name_size, uint64_t *id)
{
        struct seccomp_notif req;

        memset(&req, 0, sizeof req);
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
                return -errno;
        char *n = seccomp_syscall_resolve_num_arch(req.data.arch, req.data.nr);
        if (n)
                snprintf(name, name_size, "%s", n);
        else
                snprintf(name, name_size, "syscall%d", req.data.nr);
        free(n);
        if (strcmp(name, "ioctl") == 0)
                snprintf(name, name_size, "ioctl(0x%llx)", (unsigned long long)req.data.args[1]);
        *id = req.id;
        return 0;
}

int sbx_seccomp_deny(int listener, uint64_t id)
{
        struct seccomp_notif_resp resp;

        memset(&resp, 0, sizeof resp);
        resp.id = id;
        resp.error = -EPERM;
        /* ENOENT: the target died (or was killed) meanwhile. */
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}
