/* probe: try one escape move inside a sandbox and print what happened.
 *
 *   probe NAME [ARGS...]
 *
 * Prints one line per attempt, "NAME RESULT", where RESULT is "ok" when
 * the call succeeded (the move worked: not contained) or the symbolic
 * errno it failed with (EPERM, EROFS, ENOENT ...).  A few probes print
 * extra lines (fds, ctty).  Exit status: 0 when every attempt was made,
 * 2 on a usage error.  The test scripts compare the printed lines with
 * the contained outcome they expect (the .t files in tests/security).
 *
 * Every probe is written so that, if containment were broken, it changes
 * nothing on the host: clocks are "set" to the value they already have,
 * reboot asks for Ctrl-Alt-Del off inside a pid namespace, mounts target
 * the sandbox's own /tmp, and so on. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/mount.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <dirent.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif

static const char *errname(int e)
{
        switch (e) {
#define E(x) case x: return #x;
        E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC)
        E(EBADF) E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY)
        E(EEXIST) E(EXDEV) E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE)
        E(EMFILE) E(ENOTTY) E(ETXTBSY) E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS)
        E(EMLINK) E(EPIPE) E(ERANGE) E(ENOSYS) E(ENOTEMPTY) E(ELOOP) E(ENODATA)
        E(EOPNOTSUPP) E(EAFNOSUPPORT) E(EADDRINUSE) E(EADDRNOTAVAIL) E(ENETDOWN)
        E(ENETUNREACH) E(ECONNREFUSED) E(ECONNRESET) E(EHOSTUNREACH) E(ETIMEDOUT)
        E(EDQUOT) E(ENOKEY) E(EKEYREJECTED) E(ENOTSOCK) E(EPROTONOSUPPORT)
        E(ENOTCONN) E(EALREADY) E(EINPROGRESS) E(ENAMETOOLONG) E(EOVERFLOW)
#undef E
        default: {
                static char buf[32];
                snprintf(buf, sizeof buf, "E%d", e);
                return buf;
        }
        }
}

/* Print "name ok" for r >= 0, else "name EXXX" from errno. */
static long report(const char *name, long r)
{
        int e = errno;
        printf("%s %s\n", name, r < 0 ? errname(e) : "ok");
        fflush(stdout);
        errno = e;
        return r;
}

/* --- syscalls the filter must deny ------------------------------------ */

static void p_keyring(void)
{
        report("keyctl", syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "sbx-probe"));
        report("add_key", syscall(SYS_add_key, "user", "sbx-probe", "x", 1,
                                  KEY_SPEC_PROCESS_KEYRING));
        report("request_key", syscall(SYS_request_key, "user", "sbx-probe", NULL,
                                      KEY_SPEC_PROCESS_KEYRING));
}

static void p_bpf(void)
{
        struct bpf_insn insns[2] = {
                { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
                { .code = BPF_JMP | BPF_EXIT },
        };
        union bpf_attr a;
        memset(&a, 0, sizeof a);
        a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
        a.insn_cnt = 2;
        a.insns = (uint64_t)(uintptr_t)insns;
        a.license = (uint64_t)(uintptr_t)"GPL";
        long fd = report("bpf", syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof a));
        if (fd >= 0)
                close((int)fd);
}

static void p_perf(void)
{
        struct perf_event_attr a;
        memset(&a, 0, sizeof a);
        a.type = PERF_TYPE_SOFTWARE;
        a.size = sizeof a;
        a.config = PERF_COUNT_SW_CPU_CLOCK;
        a.exclude_kernel = 1;
        a.exclude_hv = 1;
        long fd = report("perf_event_open", syscall(SYS_perf_event_open, &a, 0, -1, -1, 0));
        if (fd >= 0)
                close((int)fd);
}

static void p_io_uring(void)
{
        struct io_uring_params p;
        memset(&p, 0, sizeof p);
        long fd = report("io_uring_setup", syscall(SYS_io_uring_setup, 8, &p));
        if (fd >= 0)
                close((int)fd);
}

static void p_userfaultfd(void)
{
        /* UFFD_USER_MODE_ONLY (1): the kernel grants this one without
         * privilege, so only the filter stands in the way. */
        long fd = report("userfaultfd", syscall(SYS_userfaultfd, O_CLOEXEC | 1));
        if (fd >= 0)
                close((int)fd);
}

static void p_modules(void)
{
        report("init_module", syscall(SYS_init_module, NULL, 0, ""));
        report("finit_module", syscall(SYS_finit_module, 0, "", 0));
        report("delete_module", syscall(SYS_delete_module, "sbx_probe_none", O_NONBLOCK));
        report("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
}

static void p_reboot(void)
{
        /* CAD_OFF: in a pid namespace the kernel would answer EINVAL. */
        report("reboot", syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
                                 LINUX_REBOOT_CMD_CAD_OFF, NULL));
}

static void p_clock(void)
{
        struct timespec ts;
        struct timeval tv;
        struct timex tx;

        clock_gettime(CLOCK_REALTIME, &ts);
        report("clock_settime", syscall(SYS_clock_settime, CLOCK_REALTIME, &ts));
        gettimeofday(&tv, NULL);
        report("settimeofday", syscall(SYS_settimeofday, &tv, NULL));
        /* Read the frequency, then "set" it to the same value. */
        memset(&tx, 0, sizeof tx);
        syscall(SYS_adjtimex, &tx);
        tx.modes = ADJ_FREQUENCY;
        report("adjtimex", syscall(SYS_adjtimex, &tx));
        memset(&tx, 0, sizeof tx);
        syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx);
        tx.modes = ADJ_FREQUENCY;
        report("clock_adjtime", syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx));
}

static void p_misc_admin(void)
{
        report("sethostname", syscall(SYS_sethostname, "sbx-probe-evil", 14));
        report("setdomainname", syscall(SYS_setdomainname, "sbx-probe-evil", 14));
        report("swapon", syscall(SYS_swapon, "/tmp/sbx-probe-swap", 0));
        report("acct", syscall(SYS_acct, "/tmp/sbx-probe-acct"));
        report("syslog", syscall(SYS_syslog, 3 /* READ_ALL */, (char[64]){0}, 64));
        report("iopl", syscall(SYS_iopl, 3));
        report("ioperm", syscall(SYS_ioperm, 0x80, 1, 1));
        report("quotactl", syscall(SYS_quotactl, 0, "/dev/null", 0, NULL));
}

/* --- mounts and roots ------------------------------------------------- */

static void p_mount(void)
{
        mkdir("/tmp/sbx-probe-mnt", 0755);
        report("mount_tmpfs", mount("sbx-probe", "/tmp/sbx-probe-mnt", "tmpfs", 0, NULL));
        report("mount_proc", mount("proc", "/tmp/sbx-probe-mnt", "proc", 0, NULL));
        report("mount_cgroup", mount("cgroup", "/tmp/sbx-probe-mnt", "cgroup", 0, "memory"));
        report("mount_cgroup2", mount("cgroup2", "/tmp/sbx-probe-mnt", "cgroup2", 0, NULL));
        report("remount_root_rw", mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND, NULL));
        report("remount_usr_rw", mount(NULL, "/usr", NULL, MS_REMOUNT | MS_BIND, NULL));
        report("bind_usr", mount("/usr", "/tmp/sbx-probe-mnt", NULL, MS_BIND, NULL));
        report("umount_proc", umount2("/proc", MNT_DETACH));
        report("umount_proc_sys", umount2("/proc/sys", MNT_DETACH));
        mkdir("/tmp/sbx-probe-mnt/old", 0755);
        report("pivot_root", syscall(SYS_pivot_root, "/tmp", "/tmp/sbx-probe-mnt"));
        report("chroot", chroot("/tmp"));
        long fd = report("fsopen", syscall(SYS_fsopen, "tmpfs", 0));
        if (fd >= 0)
                close((int)fd);
        fd = report("fspick", syscall(SYS_fspick, AT_FDCWD, "/", 0));
        if (fd >= 0)
                close((int)fd);
        fd = report("open_tree", syscall(SYS_open_tree, AT_FDCWD, "/usr", 1 /* OPEN_TREE_CLONE */));
        if (fd >= 0)
                close((int)fd);
        report("move_mount", syscall(SYS_move_mount, AT_FDCWD, "/proc", AT_FDCWD,
                                     "/tmp/sbx-probe-mnt", 0));
        struct mount_attr ma = { .attr_clr = MOUNT_ATTR_RDONLY };
        report("mount_setattr", syscall(SYS_mount_setattr, AT_FDCWD, "/usr", 0, &ma, sizeof ma));
        /* "shocker": open a host inode by handle. */
        struct { struct file_handle h; unsigned char b[8]; } fh;
        memset(&fh, 0, sizeof fh);
        fh.h.handle_bytes = 8;
        fh.h.handle_type = 1;
        fd = report("open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD, &fh.h, O_RDONLY));
        if (fd >= 0)
                close((int)fd);
}

/* --- namespaces ------------------------------------------------------- */

static int child_exit(void *arg)
{
        (void)arg;
        _exit(0);
}

static void p_userns(void)
{
        pid_t p = fork();
        if (p == 0) {
                /* In a child: a success would change our own namespaces. */
                report("unshare_user", unshare(CLONE_NEWUSER));
                _exit(0);
        }
        waitpid(p, NULL, 0);
        p = fork();
        if (p == 0) {
                report("unshare_mnt", unshare(CLONE_NEWNS));
                report("unshare_net", unshare(CLONE_NEWNET));
                report("unshare_pid", unshare(CLONE_NEWPID));
                report("unshare_cgroup", unshare(CLONE_NEWCGROUP));
                _exit(0);
        }
        waitpid(p, NULL, 0);
        static char stack[65536];
        long c = clone(child_exit, stack + sizeof stack, CLONE_NEWUSER | SIGCHLD, NULL);
        report("clone_newuser", c);
        if (c > 0)
                waitpid((pid_t)c, NULL, 0);
        struct { uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
                 stack_size, tls; } ca;
        memset(&ca, 0, sizeof ca);
        ca.flags = CLONE_NEWUSER;
        ca.exit_signal = SIGCHLD;
        c = syscall(SYS_clone3, &ca, sizeof ca);
        if (c == 0)
                _exit(0);
        report("clone3_newuser", c);
        if (c > 0)
                waitpid((pid_t)c, NULL, 0);
        static const char *const ns[] = { "mnt", "user", "pid", "net", "cgroup" };
        for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
                char path[64], name[64];
                snprintf(path, sizeof path, "/proc/1/ns/%s", ns[i]);
                snprintf(name, sizeof name, "setns_init_%s", ns[i]);
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        report(name, -1);
                        continue;
                }
                p = fork();
                if (p == 0) {
                        report(name, setns(fd, 0));
                        _exit(0);
                }
                waitpid(p, NULL, 0);
                close(fd);
        }
}

/* --- privilege -------------------------------------------------------- */

static void p_privs(void)
{
        struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
        struct __user_cap_data_struct d[2];
        memset(d, 0xff, sizeof d);
        report("capset_all", syscall(SYS_capset, &h, d));
        report("ambient_raise", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0));
        report("securebits_clear", prctl(PR_SET_SECUREBITS, 0, 0, 0, 0));
        printf("no_new_privs %d\n", (int)prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
        report("setuid_65534", setresuid(65534, 65534, 65534));
        report("setgid_65534", setresgid(65534, 65534, 65534));
        report("setgroups", setgroups(1, (gid_t[]){ 0 }));
        int fd = open("/workspace/sbx-probe-fcap", O_CREAT | O_WRONLY | O_CLOEXEC, 0755);
        if (fd >= 0)
                close(fd);
        /* VFS_CAP_REVISION_2 with CAP_SYS_ADMIN permitted+effective. */
        uint32_t cap[5] = { 0x02000001, 1u << 21, 0, 0, 0 };
        report("setxattr_fcap", setxattr("/workspace/sbx-probe-fcap", "security.capability",
                                         cap, sizeof cap, 0));
        unlink("/workspace/sbx-probe-fcap");
        report("raise_nofile", setrlimit(RLIMIT_NOFILE, &(struct rlimit){ RLIM_INFINITY, RLIM_INFINITY }));
        report("raise_nproc_prlimit1", syscall(SYS_prlimit64, 1, RLIMIT_NOFILE,
                                               &(struct rlimit){ RLIM_INFINITY, RLIM_INFINITY }, NULL));
}

/* Print the capability and seccomp lines of /proc/self/status after an
 * execve of this binary (the caller runs it setuid or with file caps). */
static void p_status(void)
{
        char line[256];
        FILE *f = fopen("/proc/self/status", "r");
        if (!f) {
                report("status", -1);
                return;
        }
        while (fgets(line, sizeof line, f))
                if (!strncmp(line, "Cap", 3) || !strncmp(line, "NoNewPrivs", 10) ||
                    !strncmp(line, "Seccomp:", 8) || !strncmp(line, "Uid:", 4) ||
                    !strncmp(line, "Gid:", 4))
                        fputs(line, stdout);
        fclose(f);
        printf("euid %d\n", (int)geteuid());
}

/* --- devices ---------------------------------------------------------- */

static void p_devices(void)
{
        report("mknod_blk", mknod("/tmp/sbx-probe-blk", S_IFBLK | 0600, makedev(254, 0)));
        report("mknod_fuse", mknod("/tmp/sbx-probe-fuse", S_IFCHR | 0600, makedev(10, 229)));
        report("mknod_mem", mknod("/workspace/sbx-probe-mem", S_IFCHR | 0600, makedev(1, 1)));
        unlink("/tmp/sbx-probe-blk");
        unlink("/tmp/sbx-probe-fuse");
        unlink("/workspace/sbx-probe-mem");
        static const char *const nodes[] = { "/dev/fuse", "/dev/mem", "/dev/kmem", "/dev/port",
                "/dev/vda", "/dev/sda", "/dev/kmsg", "/dev/console", "/dev/tty0", "/dev/ttyS0",
                "/dev/loop-control", "/dev/net/tun", "/dev/hpet", "/dev/rtc0", "/dev/cpu_dma_latency",
                "/dev/uinput", "/dev/vsock", "/dev/vhost-net" };
        for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
                char name[80];
                snprintf(name, sizeof name, "open_%s", nodes[i] + 5);
                int fd = open(nodes[i], O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
                report(name, fd);
                if (fd >= 0)
                        close(fd);
        }
}

/* --- terminals -------------------------------------------------------- */

static void p_tty(void)
{
        char c = 'x';
        int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        int s = -1;

        if (m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0) {
                const char *n = ptsname(m);
                if (n)
                        s = open(n, O_RDWR | O_NOCTTY | O_CLOEXEC);
        }
        if (s < 0) {
                report("pty", -1);
        } else {
                /* As the controlling tty, TIOCSTI would need no capability. */
                pid_t p = fork();
                if (p == 0) {
                        setsid();
                        ioctl(s, TIOCSCTTY, 0);
                        report("tiocsti", syscall(SYS_ioctl, s, (unsigned long)TIOCSTI, &c));
                        report("tiocsti_hibit", syscall(SYS_ioctl, s,
                                                        (1UL << 32) | (unsigned long)TIOCSTI, &c));
                        report("tiocsti_allhigh", syscall(SYS_ioctl, s,
                                                          0xffffffff00000000UL | (unsigned long)TIOCSTI, &c));
                        char sub = 6;  /* TIOCL_GETSHIFTSTATE: harmless */
                        report("tioclinux", syscall(SYS_ioctl, s, (unsigned long)TIOCLINUX, &sub));
                        report("tioclinux_hibit", syscall(SYS_ioctl, s,
                                                          (1UL << 32) | (unsigned long)TIOCLINUX, &sub));
                        _exit(0);
                }
                waitpid(p, NULL, 0);
        }
        /* The exec's own stdio: not a terminal, no controlling tty. */
        for (int fd = 0; fd < 3; fd++) {
                char name[32];
                snprintf(name, sizeof name, "tiocsti_fd%d", fd);
                report(name, syscall(SYS_ioctl, fd, (unsigned long)TIOCSTI, &c));
                snprintf(name, sizeof name, "tiocsti_hibit_fd%d", fd);
                report(name, syscall(SYS_ioctl, fd, (1UL << 32) | (unsigned long)TIOCSTI, &c));
                snprintf(name, sizeof name, "isatty_fd%d", fd);
                printf("%s %s\n", name, isatty(fd) ? "yes" : "no");
        }
        int t = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
        report("open_dev_tty", t);
        if (t >= 0)
                close(t);
        printf("getsid_is_self %s\n", getsid(0) == getpid() || getsid(0) > 0 ? "yes" : "no");
}

/* --- processes -------------------------------------------------------- */

static void p_ptrace(void)
{
        report("ptrace_attach_init", ptrace(PTRACE_ATTACH, 1, NULL, NULL));
        report("ptrace_seize_init", ptrace(PTRACE_SEIZE, 1, NULL, NULL));
        char buf[16];
        struct iovec l = { buf, sizeof buf }, r = { (void *)0x400000, sizeof buf };
        report("process_vm_readv_init", syscall(SYS_process_vm_readv, 1, &l, 1, &r, 1, 0));
        report("process_vm_writev_init", syscall(SYS_process_vm_writev, 1, &l, 1, &r, 1, 0));
        report("kcmp_init", syscall(SYS_kcmp, getpid(), 1, 0 /* KCMP_FILE */, 0, 0));
        long pfd = syscall(SYS_pidfd_open, 1, 0);
        report("pidfd_open_init", pfd);
        if (pfd >= 0) {
                report("pidfd_getfd_init", syscall(SYS_pidfd_getfd, pfd, 4, 0));
                close((int)pfd);
        }
        report("open_init_mem", open("/proc/1/mem", O_RDWR | O_CLOEXEC));
        report("open_init_environ", open("/proc/1/environ", O_RDONLY | O_CLOEXEC));
        report("opendir_init_fd", open("/proc/1/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        report("readlink_init_cwd", readlink("/proc/1/cwd", buf, sizeof buf));
}

/* ptrace a child of our own: allowed by the kernel, so this tells whether
 * the filter (strict profile) is what denies it. */
static void p_ptrace_child(void)
{
        pid_t p = fork();
        if (p == 0) {
                pause();
                _exit(0);
        }
        long r = report("ptrace_attach_child", ptrace(PTRACE_ATTACH, p, NULL, NULL));
        if (r == 0)
                ptrace(PTRACE_DETACH, p, NULL, NULL);
        kill(p, SIGKILL);
        waitpid(p, NULL, 0);
}

static void p_kill(int argc, char **argv)
{
        /* probe kill PID...: signal 0 to host pids (they must not exist
         * here), and pidfd_open them. */
        for (int i = 0; i < argc; i++) {
                char name[64];
                int pid = atoi(argv[i]);
                snprintf(name, sizeof name, "kill0_%d", pid);
                report(name, kill(pid, 0));
                snprintf(name, sizeof name, "kill_term_%d", pid);
                report(name, kill(pid, SIGTERM));
                snprintf(name, sizeof name, "pidfd_open_%d", pid);
                long fd = report(name, syscall(SYS_pidfd_open, pid, 0));
                if (fd >= 0)
                        close((int)fd);
        }
}

/* --- files ------------------------------------------------------------ */

static void p_open(int argc, char **argv)
{
        /* probe open MODE PATH...: MODE r, w (O_WRONLY|O_TRUNC is not used:
         * O_WRONLY|O_APPEND, so a success changes nothing), c (O_CREAT),
         * d (opendir), x (O_WRONLY on an executable: the /proc/PID/exe
         * overwrite). */
        if (argc < 2) {
                fprintf(stderr, "probe open MODE PATH...\n");
                exit(2);
        }
        char mode = argv[0][0];
        for (int i = 1; i < argc; i++) {
                int fl = O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
                switch (mode) {
                case 'r': fl |= O_RDONLY; break;
                case 'w': case 'x': fl |= O_WRONLY | O_APPEND; break;
                case 'c': fl |= O_WRONLY | O_CREAT | O_EXCL; break;
                case 'd': fl |= O_RDONLY | O_DIRECTORY; break;
                default: fprintf(stderr, "bad mode\n"); exit(2);
                }
                char name[512];
                snprintf(name, sizeof name, "open_%c %s", mode, argv[i]);
                int fd = (int)report(name, open(argv[i], fl, 0644));
                if (fd >= 0) {
                        if (mode == 'c')
                                unlink(argv[i]);
                        close(fd);
                }
        }
}

/* probe exes: try to open every /proc/PID/exe for writing. */
static void p_exes(void)
{
        DIR *d = opendir("/proc");
        struct dirent *de;
        int n = 0, opened = 0;

        while (d && (de = readdir(d))) {
                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                char path[300], name[320];
                snprintf(path, sizeof path, "/proc/%s/exe", de->d_name);
                int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
                snprintf(name, sizeof name, "open_exe %s", de->d_name);
                if (fd >= 0) {
                        opened++;
                        close(fd);
                        report(name, 0);
                } else if (errno != ENOENT) {
                        report(name, -1);
                }
                n++;
        }
        if (d)
                closedir(d);
        printf("exes %d opened %d\n", n, opened);
}

/* probe fds: list our open descriptors (beyond the one used to list). */
static void p_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        int self = d ? dirfd(d) : -1;
        struct dirent *de;

        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                int fd = atoi(de->d_name);
                if (fd == self)
                        continue;
                char path[64], target[512];
                snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
                ssize_t n = readlink(path, target, sizeof target - 1);
                target[n > 0 ? n : 0] = '\0';
                struct stat st;
                const char *type = fstat(fd, &st) < 0 ? "?" :
                        S_ISFIFO(st.st_mode) ? "fifo" : S_ISSOCK(st.st_mode) ? "socket" :
                        S_ISDIR(st.st_mode) ? "dir" : S_ISREG(st.st_mode) ? "file" :
                        S_ISCHR(st.st_mode) ? "chr" : S_ISBLK(st.st_mode) ? "blk" : "other";
                printf("fd %d %s %s\n", fd, type, target);
        }
        if (d)
                closedir(d);
        /* An fd's magic link must not open a directory of the host. */
        report("fd0_parent", open("/proc/self/fd/0/..", O_RDONLY | O_CLOEXEC));
        report("fd0_reopen_dir", open("/proc/self/fd/0", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

/* --- network ---------------------------------------------------------- */

static void p_tcp(int argc, char **argv)
{
        /* probe tcp ADDR PORT: connect, print the outcome. */
        if (argc < 2) {
                fprintf(stderr, "probe tcp ADDR PORT\n");
                exit(2);
        }
        int port = atoi(argv[1]);
        int v6 = strchr(argv[0], ':') != NULL;
        int s = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        char name[128];
        snprintf(name, sizeof name, "tcp %s %d", argv[0], port);
        if (s < 0) {
                report(name, -1);
                return;
        }
        struct timeval tv = { 2, 0 };
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        int r;
        if (v6) {
                struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
                inet_pton(AF_INET6, argv[0], &a.sin6_addr);
                r = connect(s, (struct sockaddr *)&a, sizeof a);
        } else {
                struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
                inet_pton(AF_INET, argv[0], &a.sin_addr);
                r = connect(s, (struct sockaddr *)&a, sizeof a);
        }
        if (report(name, r) == 0) {
                /* Say hello so the listener can tell it was reached. */
                if (write(s, "sbx-probe\n", 10) < 0)
                        perror("write");
        }
        close(s);
}

static void p_udp(int argc, char **argv)
{
        /* probe udp ADDR PORT: send one datagram; "ok" only says it left. */
        if (argc < 2) {
                fprintf(stderr, "probe udp ADDR PORT\n");
                exit(2);
        }
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
        inet_pton(AF_INET, argv[0], &a.sin_addr);
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        char name[128];
        snprintf(name, sizeof name, "udp %s %s", argv[0], argv[1]);
        report(name, s < 0 ? -1 : sendto(s, "sbx-probe\n", 10, 0, (struct sockaddr *)&a, sizeof a));
        if (s >= 0)
                close(s);
}

/* probe sockets: which socket families can be opened at all.  AF_VSOCK
 * is not network-namespaced (it reaches the hypervisor's host side), AF_ALG
 * is kernel crypto attack surface, packet and raw sockets need privilege. */
static void p_sockets(void)
{
        static const struct { const char *name; int fam, type, proto; } f[] = {
                { "socket_vsock", 40 /* AF_VSOCK */, SOCK_STREAM, 0 },
                { "socket_alg", 38 /* AF_ALG */, SOCK_SEQPACKET, 0 },
                { "socket_packet", 17 /* AF_PACKET */, SOCK_RAW, 0 },
                { "socket_raw_inet", AF_INET, SOCK_RAW, 1 /* ICMP */ },
                { "socket_netlink_audit", 16 /* AF_NETLINK */, SOCK_RAW, 9 /* NETLINK_AUDIT */ },
        };
        for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
                int s = socket(f[i].fam, f[i].type | SOCK_CLOEXEC, f[i].proto);
                report(f[i].name, s);
                if (s >= 0)
                        close(s);
        }
}

static void p_vsock(int argc, char **argv)
{
        /* probe vsock CID PORT: connect a vsock stream socket. */
        if (argc < 2) {
                fprintf(stderr, "probe vsock CID PORT\n");
                exit(2);
        }
        struct { sa_family_t family; unsigned short reserved; unsigned int port, cid;
                 unsigned char flags, zero[3]; } a;
        memset(&a, 0, sizeof a);
        a.family = 40;  /* AF_VSOCK */
        a.cid = (unsigned)strtoul(argv[0], NULL, 0);
        a.port = (unsigned)strtoul(argv[1], NULL, 0);
        char name[96];
        snprintf(name, sizeof name, "vsock %s %s", argv[0], argv[1]);
        int s = socket(40, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct timeval tv = { 2, 0 };
        if (s >= 0)
                setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        int r = s < 0 ? -1 : connect(s, (struct sockaddr *)&a, sizeof a);
        if (report(name, r) == 0 && write(s, "sbx-probe\n", 10) < 0)
                perror("write");
        if (s >= 0)
                close(s);
}

static void p_unix(int argc, char **argv)
{
        /* probe unix NAME...: NAME "@x" is abstract, else a path. */
        for (int i = 0; i < argc; i++) {
                struct sockaddr_un a = { .sun_family = AF_UNIX };
                socklen_t len;
                const char *n = argv[i];
                if (n[0] == '@') {
                        size_t l = strlen(n + 1);
                        if (l > sizeof a.sun_path - 1)
                                l = sizeof a.sun_path - 1;
                        memcpy(a.sun_path + 1, n + 1, l);
                        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + l);
                } else {
                        snprintf(a.sun_path, sizeof a.sun_path, "%s", n);
                        len = sizeof a;
                }
                char name[160];
                snprintf(name, sizeof name, "unix %s", n);
                int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                int r = s < 0 ? -1 : connect(s, (struct sockaddr *)&a, len);
                if (report(name, r) == 0 && write(s, "sbx-probe\n", 10) < 0)
                        perror("write");
                if (s >= 0)
                        close(s);
        }
}

/* --- other ABIs and unknown numbers ---------------------------------- */

/* One 32-bit (int 0x80) system call, in a child: with no IA32 emulation
 * in the kernel, int 0x80 faults (SIGSEGV), which also means "no way in".
 * Prints "NAME ok|EXXX|SIGNAME". */
static void int80(const char *name, long nr, long a1, long a2)
{
#if defined(__x86_64__)
        pid_t p = fork();
        if (p == 0) {
                long r;
                __asm__ volatile ("int $0x80" : "=a"(r) : "a"(nr), "b"(a1), "c"(a2)
                                  : "memory", "r8", "r9", "r10", "r11", "r12", "r13",
                                    "r14", "r15");
                errno = r < 0 && r > -4096 ? (int)-r : 0;
                report(name, r < 0 && r > -4096 ? -1 : r);
                _exit(0);
        }
        int st = 0;
        waitpid(p, &st, 0);
        if (WIFSIGNALED(st))
                printf("%s %s\n", name, sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "SIG?");
#else
        (void)nr; (void)a1; (void)a2;
        printf("%s ENOSYS\n", name);
#endif
        fflush(stdout);
}

static void p_abi(void)
{
        /* i386 numbers: keyctl 288, unshare 310. */
        int80("int80_keyctl", 288, KEYCTL_JOIN_SESSION_KEYRING, 0);
        int80("int80_unshare_user", 310, CLONE_NEWUSER, 0);
        report("unknown_syscall_1000", syscall(1000));
        /* x32: the x86_64 numbers with bit 30 set; in a child, as a filter
         * for the native ABI only kills the process (SIGSYS). */
        pid_t p = fork();
        if (p == 0) {
                report("x32_keyctl", syscall(0x40000000L | SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "x"));
                _exit(0);
        }
        int st = 0;
        waitpid(p, &st, 0);
        if (WIFSIGNALED(st))
                printf("x32_keyctl %s\n", sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "SIG?");
}

static const struct {
        const char *name;
        void (*fn)(void);
} simple[] = {
        { "keyring", p_keyring }, { "bpf", p_bpf }, { "perf", p_perf },
        { "io_uring", p_io_uring }, { "userfaultfd", p_userfaultfd },
        { "modules", p_modules }, { "reboot", p_reboot }, { "clock", p_clock },
        { "admin", p_misc_admin }, { "mount", p_mount }, { "userns", p_userns },
        { "privs", p_privs }, { "status", p_status }, { "devices", p_devices },
        { "tty", p_tty }, { "ptrace", p_ptrace }, { "ptrace_child", p_ptrace_child },
        { "exes", p_exes }, { "fds", p_fds }, { "abi", p_abi },
        { "sockets", p_sockets },
};

int main(int argc, char **argv)
{
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc < 2) {
                fprintf(stderr, "usage: probe NAME [ARGS...]\n");
                return 2;
        }
        for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
                if (strcmp(argv[1], simple[i].name) == 0) {
                        simple[i].fn();
                        return 0;
                }
        if (strcmp(argv[1], "kill") == 0)
                p_kill(argc - 2, argv + 2);
        else if (strcmp(argv[1], "open") == 0)
                p_open(argc - 2, argv + 2);
        else if (strcmp(argv[1], "tcp") == 0)
                p_tcp(argc - 2, argv + 2);
        else if (strcmp(argv[1], "vsock") == 0)
                p_vsock(argc - 2, argv + 2);
        else if (strcmp(argv[1], "udp") == 0)
                p_udp(argc - 2, argv + 2);
        else if (strcmp(argv[1], "unix") == 0)
                p_unix(argc - 2, argv + 2);
        else {
                fprintf(stderr, "probe: unknown probe %s\n", argv[1]);
                return 2;
        }
        return 0;
}
