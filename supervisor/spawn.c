/* spawn.c: start one exec inside a running sandbox (see sandbox.h).
 *
 *   supervisor ─fork─▶ helper: enter the exec cgroup, setns into init's
 *                      namespaces, clone(CLONE_PARENT) ─▶ exec process
 *
 * The exec process is the supervisor's child (CLONE_PARENT), so waitpid
 * gives its status; it sits in the sandbox's pid namespace because the
 * helper joined it before cloning.  In the exec process, before execve:
 * new session, fds 0-2 only, root inside, /workspace, rlimits, no
 * capabilities in any set, no_new_privs, seccomp. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <glib.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
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

static int last_cap = -1;

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
                return -errno;
        for (int c = 0; c <= last_cap; c++)
                if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
                        return -errno;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
                return -errno;
        if (syscall(SYS_capset, &h, d) < 0)
                return -errno;
        return 0;
}

/* The exec process.  Everything it needs was prepared before the fork;
 * it reports a failure as an errno on errfd and exits 127. */
static void __attribute__((noreturn)) child(const struct sbx_spawn *sp, int errfd, int lsock)
{
        int e = 0, step = 0;

#define TRY(x) do { step++; if ((x) < 0) { e = errno; goto fail; } } while (0)
        TRY(prctl(PR_SET_PDEATHSIG, SIGKILL));
        TRY(setsid());
        TRY(dup2(sp->stdin_fd, 0));
        TRY(dup2(sp->stdout_fd, 1));
        TRY(dup2(sp->stderr_fd, 2));
        /* Nothing of ours beyond 0-2 reaches the code: mark every other fd
         * close-on-exec (errfd and lsock are needed until then). */
        TRY(syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC));
        TRY(setgroups(0, NULL));
        TRY(setresgid(0, 0, 0));
        TRY(setresuid(0, 0, 0));
        TRY(chdir("/workspace"));
        set_limit(RLIMIT_NOFILE, to_rlim(sp->cfg->nofile), to_rlim(sp->cfg->nofile));
        set_limit(RLIMIT_FSIZE, to_rlim(sp->cfg->fsize), to_rlim(sp->cfg->fsize));
        set_limit(RLIMIT_CORE, 0, 0);
        if (sp->cfg->cpu_ms != SBX_MAX) {
                /* SIGXCPU at the budget, SIGKILL a second later. */
                rlim_t s = (rlim_t)((sp->cfg->cpu_ms + 999) / 1000);
                set_limit(RLIMIT_CPU, s, s + 1);
        }
        step = 100;
        if (drop_caps() < 0) {
                e = errno;
                goto fail;
        }
        TRY(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
        if (sp->filter) {
                int l = sbx_seccomp_install(sp->filter);
                if (l < 0) {
                        e = -l;
                        goto fail;
                }
                /* Hand the listener to the supervisor before execve. */
                char b = 0;
                struct iovec iov = { &b, 1 };
                union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
                struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                                      .msg_control = u.buf, .msg_controllen = sizeof u.buf };
                struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &l, sizeof l);
                if (sendmsg(lsock, &msg, 0) < 0) {
                        e = errno;
                        goto fail;
                }
                close(l);
        }
        execve(sp->argv[0], sp->argv, sp->envp);
        e = errno;
        step = 200;
fail:
        {
                int msg[2] = { e, step };
                if (write(errfd, msg, sizeof msg) < 0)
                        _exit(126);
        }
        _exit(127);
#undef TRY
}

pid_t sbx_sandbox_spawn(struct sbx_sandbox *sb, const struct sbx_spawn *sp,
                        int *listener, char **why)
{
        int errp[2], pidp[2], ls[2] = { -1, -1 };
        pid_t helper, pid = -1;

        *why = NULL;
        *listener = -1;
        if (last_cap < 0) {
                gchar *t = NULL;
                last_cap = g_file_get_contents("/proc/sys/kernel/cap_last_cap", &t, NULL, NULL)
                           ? atoi(t) : 40;
                g_free(t);
        }
        if (pipe2(errp, O_CLOEXEC) < 0 || pipe2(pidp, O_CLOEXEC) < 0 ||
            (sp->filter && socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, ls) < 0)) {
                *why = g_strdup_printf("pipe: %s", g_strerror(errno));
                return -errno;
        }
        helper = fork();
        if (helper < 0) {
                int e = errno;
                *why = g_strdup_printf("fork: %s", g_strerror(e));
                close(errp[0]); close(errp[1]); close(pidp[0]); close(pidp[1]);
                if (ls[0] >= 0) { close(ls[0]); close(ls[1]); }
                return -e;
        }
        if (helper == 0) {
                /* The cgroup namespace belongs to the host's user namespace,
                 * so join it while we still have our host privileges. */
                if (sbx_cg_enter(sp->cg) < 0 ||
                    setns(sb->init_pidfd, CLONE_NEWCGROUP) < 0 ||
                    setns(sb->init_pidfd, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID |
                          CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0) {
                        int msg[2] = { errno, 1000 };
                        if (write(errp[1], msg, sizeof msg) < 0)
                                _exit(3);
                        _exit(2);
                }
                long c = syscall(SYS_clone, CLONE_PARENT, NULL, NULL, NULL, 0);
                if (c == 0)
                        child(sp, errp[1], ls[1]);
                pid_t p = (pid_t)c;
                if (c < 0 || write(pidp[1], &p, sizeof p) != sizeof p)
                        _exit(3);
                _exit(0);
        }
        close(errp[1]);
        close(pidp[1]);
        if (ls[1] >= 0)
                close(ls[1]);
        int st;
        while (waitpid(helper, &st, 0) < 0 && errno == EINTR)
                ;
        if (read(pidp[0], &pid, sizeof pid) != sizeof pid)
                pid = -1;
        close(pidp[0]);
        /* errp reads EOF when execve succeeded (close-on-exec). */
        int msg[2] = { 0, 0 };
        ssize_t n;
        while ((n = read(errp[0], msg, sizeof msg)) < 0 && errno == EINTR)
                ;
        close(errp[0]);
        if (n > 0 || pid < 0) {
                int e = n > 0 ? msg[0] : EIO;
                const char *where = msg[1] == 1000 ? "entering the sandbox" :
                                    msg[1] == 200 ? "execve" : msg[1] == 100 ? "dropping capabilities" :
                                    "preparing the process";
                *why = g_strdup_printf("%s: %s", where, g_strerror(e));
                if (pid > 0)
                        waitpid(pid, NULL, 0);
                if (ls[0] >= 0)
                        close(ls[0]);
                return -(e ? e : EIO);
        }
        if (ls[0] >= 0) {
                char b;
                struct iovec iov = { &b, 1 };
                union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
                struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
                                    .msg_control = u.buf, .msg_controllen = sizeof u.buf };
                if (recvmsg(ls[0], &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) > 0) {
                        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
                        if (c && c->cmsg_type == SCM_RIGHTS)
                                memcpy(listener, CMSG_DATA(c), sizeof(int));
                }
                close(ls[0]);
        }
        return pid;
}
