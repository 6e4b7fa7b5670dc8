/* sandbox.c: the sandbox's pid 1 ("init") in its own namespaces, and the
 * sandbox's host uid range (see sandbox.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mounts.h"
#include "sandbox.h"
#include "workspace.h"
#include "sbx/state.h"
#include "sbx/util.h"

static int read_full(int fd, void *buf, size_t n)
{
        size_t got = 0;
        while (got < n) {
                ssize_t r = read(fd, (char *)buf + got, n - got);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        return r < 0 ? -errno : (int)got;
                got += (size_t)r;
        }
        return (int)got;
}

int sbx_uidbase_get(const char *state_dir, const char *dir, uid_t *out, char **why)
{
        char path[4096], *text = NULL;
        int lock, r = 0;

        snprintf(path, sizeof path, "%s/%s", dir, SBX_F_UIDBASE);
        if (g_file_get_contents(path, &text, NULL, NULL)) {
                *out = (uid_t)strtoul(text, NULL, 10);
                g_free(text);
                return 0;
        }
        /* Allocate the lowest free slot, under a lock shared by every
         * sandbox of this state directory. */
        snprintf(path, sizeof path, "%s/.uidbase.lock", state_dir);
        lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lock < 0 || flock(lock, LOCK_EX) < 0) {
                *why = g_strdup_printf("lock %s: %s", path, g_strerror(errno));
                if (lock >= 0)
                        close(lock);
                return -EIO;
        }
        GHashTable *used = g_hash_table_new(NULL, NULL);
        DIR *d = opendir(state_dir);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof path, "%s/%s/%s", state_dir, de->d_name, SBX_F_UIDBASE);
                if (g_file_get_contents(path, &text, NULL, NULL)) {
                        unsigned long u = strtoul(text, NULL, 10);
                        g_hash_table_add(used, GUINT_TO_POINTER((u - SBX_UID_FIRST) / SBX_UID_COUNT));
                        g_free(text);
                }
        }
        if (d)
                closedir(d);
        unsigned slot = 0;
        while (slot < SBX_UID_SLOTS && g_hash_table_contains(used, GUINT_TO_POINTER(slot)))
                slot++;
        g_hash_table_destroy(used);
        if (slot == SBX_UID_SLOTS) {
                *why = g_strdup("no free uid range left");
                r = -ENOSPC;
        } else {
                *out = SBX_UID_FIRST + slot * SBX_UID_COUNT;
                char val[32];
                int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                snprintf(val, sizeof val, "%u\n", (unsigned)*out);
                r = dfd < 0 ? -errno : sbx_write_atomic(dfd, SBX_F_UIDBASE, val, strlen(val), 0644);
                if (dfd >= 0)
                        close(dfd);
                if (r < 0)
                        *why = g_strdup_printf("write uidbase: %s", g_strerror(-r));
        }
        close(lock);
        return r;
}

static void lo_up(void)
{
        struct ifreq ifr = { 0 };
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        if (s < 0)
                return;
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
        if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
                ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
                ioctl(s, SIOCSIFFLAGS, &ifr);
        }
        close(s);
}

/* Report a failure of init to the supervisor, in words, and die. */
static void __attribute__((noreturn)) init_fail(int report, const char *why)
{
        dprintf(report, "%s\n", why ? why : "unknown error");
        _exit(1);
}

struct sbx_host_strings sbx_host_strings;

/* sbx-init, opened once (see init/sbx-init.c); -1 when not installed. */
static int init_exe_fd = -1;

static void open_init_exe(void)
{
        char self[4096];
        ssize_t n;

        if (init_exe_fd >= 0)
                return;
        const char *env = getenv("SBX_INIT");
        if (env) {
                init_exe_fd = open(env, O_PATH | O_CLOEXEC);
                return;
        }
        n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0)
                return;
        self[n] = '\0';
        char *dir = g_path_get_dirname(self);
        char *p = g_build_filename(dir, "sbx-init", NULL);
        init_exe_fd = open(p, O_PATH | O_CLOEXEC);
        g_free(dir);
        g_free(p);
}

static void __attribute__((noreturn)) init_main(int sync, int report, const char *dir,
                                                const char *name, const struct sbx_config *cfg)
{
        char c, *why = NULL;
        sigset_t chld;

        /* Wait until the supervisor has written our uid/gid maps; EOF
         * means it died. */
        if (read(sync, &c, 1) != 1)
                _exit(1);
        close(sync);
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                init_fail(report, "setresuid to root inside failed");
        /* Only now: a change of uid clears the death signal.  Should the
         * supervisor already be gone, the "ok" below fails (EPIPE). */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                init_fail(report, "prctl PDEATHSIG failed");
        if (sethostname(name, strlen(name)) < 0)
                init_fail(report, "sethostname failed");
        lo_up();
        if (sbx_mounts_build(dir, name, cfg, &why) < 0)
                init_fail(report, why);
        prctl(PR_SET_NAME, "sbx-init");
        /* Code inside may read our /proc/1/cmdline and environ: leave
         * nothing of the host there (state paths, sbxfs's environment). */
        if (sbx_host_strings.start)
                memset(sbx_host_strings.start, 0, sbx_host_strings.len);
        /* SIGCHLD is ignored by default, so it would never wake a
         * pause(): keep it blocked and take it with sigwaitinfo. */
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        sigprocmask(SIG_BLOCK, &chld, NULL);
        if (write(report, "ok\n", 3) != 3)
                _exit(1);
        /* Keep nothing of the supervisor's: its state directory fds, the
         * lock (which must go when the supervisor dies) and the rest. */
        if (init_exe_fd > 0)
                syscall(SYS_close_range, 0, (unsigned)init_exe_fd - 1, 0);
        syscall(SYS_close_range, (unsigned)init_exe_fd + 1, ~0U, 0);
        /* Become sbx-init (no heap, argv or environment of ours); the fd
         * was opened before pivot_root, so the path need not exist here. */
        if (init_exe_fd >= 0) {
                char *argv[] = { "sbx-init", NULL }, *envp[] = { NULL };
                syscall(SYS_execveat, init_exe_fd, "", argv, envp, AT_EMPTY_PATH);
                close(init_exe_fd);
        }
        /* No sbx-init: reap whatever is orphaned ourselves, forever. */
        for (;;) {
                while (waitpid(-1, NULL, WNOHANG) > 0)
                        ;
                sigwaitinfo(&chld, NULL);
        }
}

static int write_map(pid_t pid, const char *file, uid_t base, char **why)
{
        char path[64], map[64];
        int fd, r = 0;

        snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
        snprintf(map, sizeof map, "0 %u %u\n", (unsigned)base, SBX_UID_COUNT);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, map, strlen(map)) < 0) {
                r = -errno;
                *why = g_strdup_printf("write %s: %s", path, g_strerror(errno));
        }
        if (fd >= 0)
                close(fd);
        return r;
}

int sbx_sandbox_start(struct sbx_sandbox *sb, const char *dir, const char *name,
                      uid_t uidbase, const struct sbx_config *cfg, char **why)
{
        int sync[2], report[2], pidp[2];
        char path[4096];
        pid_t helper, init = -1;

        *why = NULL;
        sb->name = g_strdup(name);
        sb->dir = g_strdup(dir);
        sb->uidbase = uidbase;
        sb->init_pid = -1;
        sb->init_pidfd = -1;

        /* Mount points and the workspace must exist, owned by root inside. */
        snprintf(path, sizeof path, "%s/%s", dir, SBX_D_ROOT);
        mkdir(path, 0700);
        snprintf(path, sizeof path, "%s/%s", dir, SBX_D_SCRIPTS);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/%s", dir, SBX_D_WORKSPACE);
        if (mkdir(path, 0755) < 0 && errno != EEXIST) {
                *why = g_strdup_printf("mkdir %s: %s", path, g_strerror(errno));
                return -errno;
        }
        if (cfg->workspace != SBX_MAX) {
                int w = sbx_workspace_mount(dir, cfg->workspace, uidbase, why);
                if (w < 0)
                        return w;
        }
        if (chown(path, uidbase, uidbase) < 0) {
                *why = g_strdup_printf("chown %s: %s", path, g_strerror(errno));
                return -errno;
        }
        open_init_exe();
        int r = sbx_cg_create_sandbox(&sb->cg, name, why);
        if (r < 0)
                return r;
        r = sbx_cg_create_child(&sb->init_cg, &sb->cg, "init", NULL, why);
        if (r < 0)
                return r;
        if (pipe2(sync, O_CLOEXEC) < 0 || pipe2(report, O_CLOEXEC) < 0 || pipe2(pidp, O_CLOEXEC) < 0) {
                *why = g_strdup_printf("pipe: %s", g_strerror(errno));
                return -errno;
        }

        /* A helper enters the cgroups and makes the cgroup namespace, so
         * that the sandbox cgroup is "/" inside; then it clones init with
         * CLONE_PARENT so that init is our child, and leaves. */
        helper = fork();
        if (helper < 0) {
                *why = g_strdup_printf("fork: %s", g_strerror(errno));
                return -errno;
        }
        if (helper == 0) {
                if (sbx_cg_enter(&sb->cg) < 0 || unshare(CLONE_NEWCGROUP) < 0 ||
                    sbx_cg_enter(&sb->init_cg) < 0)
                        _exit(2);
                long pid = syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS |
                                   CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_PARENT,
                                   NULL, NULL, NULL, 0);
                if (pid == 0) {
                        close(sync[1]);
                        close(report[0]);
                        init_main(sync[0], report[1], dir, name, cfg);
                }
                pid_t p = (pid_t)pid;
                if (pid < 0 || write(pidp[1], &p, sizeof p) != sizeof p)
                        _exit(3);
                _exit(0);
        }
        close(sync[0]);
        close(report[1]);
        close(pidp[1]);
        int st = 0;
        waitpid(helper, &st, 0);
        if (read_full(pidp[0], &init, sizeof init) != sizeof init) {
                *why = g_strdup_printf("could not create the namespaces (helper status %d)",
                                       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
                close(pidp[0]);
                close(sync[1]);
                close(report[0]);
                return -EPERM;
        }
        close(pidp[0]);
        sb->init_pid = init;
        if ((r = write_map(init, "uid_map", uidbase, why)) < 0 ||
            (r = write_map(init, "gid_map", uidbase, why)) < 0 ||
            write(sync[1], "g", 1) != 1) {
                if (r == 0) {
                        r = -EIO;
                        *why = g_strdup("init died before it started");
                }
                close(sync[1]);
                close(report[0]);
                sbx_sandbox_stop(sb);
                return r;
        }
        close(sync[1]);
        char line[1024] = "";
        int n = read_full(report[0], line, sizeof line - 1);
        close(report[0]);
        if (n < 3 || strncmp(line, "ok\n", 3) != 0) {
                line[n > 0 ? n : 0] = '\0';
                g_strchomp(line);
                *why = g_strdup_printf("sandbox init failed: %s", *line ? line : "died");
                sbx_sandbox_stop(sb);
                return -EIO;
        }
        sb->init_pidfd = (int)syscall(SYS_pidfd_open, init, 0);
        if (sb->init_pidfd < 0) {
                *why = g_strdup_printf("pidfd_open: %s", g_strerror(errno));
                sbx_sandbox_stop(sb);
                return -EIO;
        }
        return 0;
}

void sbx_sandbox_stop(struct sbx_sandbox *sb)
{
        if (sb->init_pid > 0) {
                if (sb->init_pidfd >= 0)
                        syscall(SYS_pidfd_send_signal, sb->init_pidfd, SIGKILL, NULL, 0);
                else
                        kill(sb->init_pid, SIGKILL);
                waitpid(sb->init_pid, NULL, 0);
                sb->init_pid = -1;
        }
        if (sb->init_pidfd >= 0) {
                close(sb->init_pidfd);
                sb->init_pidfd = -1;
        }
}
