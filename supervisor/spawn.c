/* spawn.c: start one exec inside a running sandbox (see sandbox.h).
 *
 *   supervisor ─clone(VM|VFORK)─▶ helper: enter the exec cgroup, setns
 *       into init's namespaces ─clone(VM|VFORK|PARENT)─▶ exec process
 *
 * The exec process is the supervisor's child (CLONE_PARENT), so waitpid
 * gives its status; it sits in the sandbox's pid namespace because the
 * helper joined it before cloning.  In the exec process, before execve:
 * default signal handling, new session, fds 0-2 only, root inside,
 * /workspace, rlimits, no capabilities in any set, no_new_privs, seccomp.
 *
 * Both clones share the supervisor's memory and suspend their parent
 * until they exit or execve, as posix_spawn does: no page tables are
 * copied (a fork costs about 1 ms on a paravirtualised guest), and a
 * failure is handed back in a shared struct instead of a pipe.  The rules
 * that come with it: all signals stay blocked until just before execve,
 * so no handler of ours runs on the shared memory; no malloc; and the
 * credential calls are raw syscalls, because glibc's wrappers would
 * broadcast them to the supervisor's threads. */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"
#include "seccomp.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define STACK_SIZE (256u << 10)

/* What the helper and the exec process share with the supervisor, which
 * is suspended while they use it.  err/what stay 0/NULL on success. */
struct ctx {
        struct sbx_sandbox *sb;
        const struct sbx_spawn *sp;
        int lsock;              /* sends the seccomp listener back */
        char *child_stack;      /* top of the exec process's stack */
        volatile pid_t pid;
        volatile int err;
        const char *volatile what;
};

static int last_cap = -1;
static char *stacks;            /* two stacks, each above a guard page */

static int stacks_init(char **why)
{
        long pg = sysconf(_SC_PAGESIZE);
        size_t one = STACK_SIZE + (size_t)pg;

        if (stacks)
                return 0;
        char *m = mmap(NULL, 2 * one, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (m == MAP_FAILED) {
                *why = g_strdup_printf("mmap spawn stacks: %s", g_strerror(errno));
                return -errno;
        }
        /* An overflow faults instead of writing over the other stack. */
        if (mprotect(m, (size_t)pg, PROT_NONE) < 0 ||
            mprotect(m + one, (size_t)pg, PROT_NONE) < 0) {
                int e = errno;
                *why = g_strdup_printf("mprotect spawn stack guard: %s", g_strerror(e));
                munmap(m, 2 * one);
                return -e;
        }
        stacks = m;
        return 0;
}

static rlim_t to_rlim(uint64_t v)
{
        return v == SBX_MAX ? RLIM_INFINITY : (rlim_t)v;
}

static void set_limit(int res, rlim_t soft, rlim_t hard)
{
        struct rlimit cur, want = { soft, hard };

        /* Never try to raise above the current hard limit. */
        if (getrlimit(res, &cur) == 0 && cur.rlim_max != RLIM_INFINITY) {
                if (want.rlim_max == RLIM_INFINITY || want.rlim_max > cur.rlim_max)
                        want.rlim_max = cur.rlim_max;
                if (want.rlim_cur == RLIM_INFINITY || want.rlim_cur > want.rlim_max)
                        want.rlim_cur = want.rlim_max;
        }
        setrlimit(res, &want);
}

/* Empty every capability set for good: securebits first, so that uid 0
 * gains nothing at execve, then bounding and ambient sets, then capset. */
static int drop_caps(void)
{
        struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
        struct __user_cap_data_struct d[2] = { { 0, 0, 0 }, { 0, 0, 0 } };

        if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
                  SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
                  SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
                  SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED) < 0)
                return -1;
        for (int c = 0; c <= last_cap; c++)
                if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
                        return -1;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
                return -1;
        return (int)syscall(SYS_capset, &h, d);
}

static int send_fd(int sock, int fd)
{
        char b = 0;
        struct iovec iov = { &b, 1 };
        union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                              .msg_control = u.buf, .msg_controllen = sizeof u.buf };
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
        return sendmsg(sock, &msg, 0) < 0 ? -1 : 0;
}

/* The exec process.  A failure is left in ctx for the supervisor. */
static int child(void *arg)
{
        struct ctx *c = arg;
        const struct sbx_spawn *sp = c->sp;
        sigset_t none;

#define TRY(x, w) do { if ((x) < 0) { c->what = (w); goto fail; } } while (0)
        /* Handlers are the supervisor's: back to the defaults (SIGPIPE
         * was ignored, which execve would keep).  Errors are for the
         * signals glibc keeps to itself. */
        for (int sig = 1; sig < NSIG; sig++) {
                struct sigaction sa = { .sa_handler = SIG_DFL };
                if (sig != SIGKILL && sig != SIGSTOP)
                        sigaction(sig, &sa, NULL);
        }
        TRY(setsid(), "setsid");
        TRY(dup2(sp->stdin_fd, 0), "dup2 stdin");
        TRY(dup2(sp->stdout_fd, 1), "dup2 stdout");
        TRY(dup2(sp->stderr_fd, 2), "dup2 stderr");
        /* Nothing of ours beyond 0-2 reaches the code: mark every other fd
         * close-on-exec (lsock is needed until then). */
        TRY(syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC), "close_range");
        TRY(syscall(SYS_setgroups, 0, NULL), "setgroups");
        TRY(syscall(SYS_setresgid, 0, 0, 0), "setresgid");
        TRY(syscall(SYS_setresuid, 0, 0, 0), "setresuid");
        /* After the uid change, which clears the death signal. */
        TRY(prctl(PR_SET_PDEATHSIG, SIGKILL), "prctl PDEATHSIG");
        TRY(chdir("/workspace"), "chdir /workspace");
        set_limit(RLIMIT_NOFILE, to_rlim(sp->cfg->nofile), to_rlim(sp->cfg->nofile));
        set_limit(RLIMIT_FSIZE, to_rlim(sp->cfg->fsize), to_rlim(sp->cfg->fsize));
        set_limit(RLIMIT_CORE, 0, 0);
        if (sp->cfg->cpu_ms != SBX_MAX) {
                /* SIGXCPU at the budget, SIGKILL a second later. */
                rlim_t s = (rlim_t)((sp->cfg->cpu_ms + 999) / 1000);
                set_limit(RLIMIT_CPU, s, s + 1);
        }
        TRY(drop_caps(), "dropping capabilities");
        TRY(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl NO_NEW_PRIVS");
        if (sp->filter) {
                int l = sbx_seccomp_install(sp->filter);
                if (l < 0) {
                        errno = -l;
                        c->what = "installing the seccomp filter";
                        goto fail;
                }
                /* Hand the listener to the supervisor before execve. */
                TRY(send_fd(c->lsock, l), "sending the seccomp listener");
                close(l);
        }
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(sp->argv[0], sp->argv, sp->envp);
        c->what = "execve";
fail:
        c->err = errno ? errno : EIO;
        _exit(127);
#undef TRY
}

/* The helper: joins the exec's cgroup and the sandbox, then clones the
 * exec process and waits (vfork) until it has called execve or died. */
static int helper(void *arg)
{
        struct ctx *c = arg;
        int r;

        /* The cgroup namespace belongs to the host's user namespace, so
         * join it while we still have our host privileges. */
        if ((r = sbx_cg_enter(c->sp->cg)) < 0) {
                c->err = -r;
                c->what = "entering the exec cgroup";
                _exit(2);
        }
        if (setns(c->sb->init_pidfd, CLONE_NEWCGROUP) < 0 ||
            setns(c->sb->init_pidfd, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID |
                  CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0) {
                c->err = errno;
                c->what = "entering the sandbox's namespaces";
                _exit(2);
        }
        pid_t p = clone(child, c->child_stack, CLONE_VM | CLONE_VFORK | CLONE_PARENT, c);
        if (p < 0) {
                c->err = errno;
                c->what = "clone";
                _exit(2);
        }
        c->pid = p;
        _exit(0);
}

pid_t sbx_sandbox_spawn(struct sbx_sandbox *sb, const struct sbx_spawn *sp,
                        int *listener, char **why)
{
        struct ctx c = { .sb = sb, .sp = sp, .lsock = -1, .pid = -1 };
        int ls[2] = { -1, -1 }, r;
        sigset_t all, old;

        *why = NULL;
        *listener = -1;
        if (last_cap < 0) {
                gchar *t = NULL;
                last_cap = g_file_get_contents("/proc/sys/kernel/cap_last_cap", &t, NULL, NULL)
                           ? atoi(t) : 40;
                g_free(t);
        }
        if ((r = stacks_init(why)) < 0)
                return r;
        if (sp->filter && socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, ls) < 0) {
                r = -errno;
                *why = g_strdup_printf("socketpair: %s", g_strerror(errno));
                return r;
        }
        c.lsock = ls[1];
        c.child_stack = stacks + 2 * (STACK_SIZE + (size_t)sysconf(_SC_PAGESIZE));
        char *helper_stack = stacks + STACK_SIZE + (size_t)sysconf(_SC_PAGESIZE);

        /* No handler of ours may run in the clones: block everything
         * until the exec process resets the handlers. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        pid_t h = clone(helper, helper_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
        int clone_err = errno;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (ls[1] >= 0)
                close(ls[1]);
        if (h < 0) {
                *why = g_strdup_printf("clone: %s", g_strerror(clone_err));
                if (ls[0] >= 0)
                        close(ls[0]);
                return -clone_err;
        }
        while (waitpid(h, NULL, 0) < 0 && errno == EINTR)
                ;
        pid_t pid = c.pid;
        if (c.err || pid < 0) {
                int e = c.err ? c.err : EIO;
                *why = g_strdup_printf("%s: %s", c.what ? c.what : "spawn", g_strerror(e));
                if (pid > 0)
                        waitpid(pid, NULL, 0);
                if (ls[0] >= 0)
                        close(ls[0]);
                return -e;
        }
        if (ls[0] >= 0) {
                char b;
                struct iovec iov = { &b, 1 };
                union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
                struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
                                    .msg_control = u.buf, .msg_controllen = sizeof u.buf };
                if (recvmsg(ls[0], &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) > 0) {
                        struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
                        if (cm && cm->cmsg_type == SCM_RIGHTS)
                                memcpy(listener, CMSG_DATA(cm), sizeof(int));
                }
                close(ls[0]);
        }
        return pid;
}
