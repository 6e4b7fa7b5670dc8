/* mounts.c: the sandbox's root filesystem, built by init inside its own
 * user and mount namespaces, then entered with pivot_root.
 *
 *   /usr /bin /sbin /lib* read-only binds of the host's (or its symlinks)
 *   /etc                  a few written files + read-only CA certs
 *   /workspace            <dir>/workspace, persistent
 *   /tmp                  tmpfs, size and inode limits from the config
 *   /run/sbx/scripts      <dir>/scripts, read-only (scripts of ctl/exec)
 *   /dev                  null zero full random urandom tty, pts, shm
 *   /proc                 fresh, with the host-revealing parts masked
 *
 * Nothing else of the host is bound, so the sbxfs mount and /dev/fuse are
 * never visible.  Every step reports failures in words for the events. */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mounts.h"
#include "sbx/state.h"

#define FAIL(...) do { *why = g_strdup_printf(__VA_ARGS__); return -1; } while (0)

/* Flags a bind remount must keep: in a user namespace the kernel locks
 * the source mount's nosuid/nodev/noexec/atime flags. */
static unsigned long locked_flags(const char *path)
{
        struct statvfs sv;
        unsigned long f = 0;

        if (statvfs(path, &sv) < 0)
                return 0;
        if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
        if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
        if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
        if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
        if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
        if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
        return f;
}

static int bind(const char *src, const char *dst, bool ro, unsigned long extra, char **why)
{
        if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
                FAIL("bind %s: %s", src, g_strerror(errno));
        if (ro || extra) {
                unsigned long f = MS_BIND | MS_REMOUNT | locked_flags(dst) | extra | (ro ? MS_RDONLY : 0);
                if (mount(NULL, dst, NULL, f, NULL) < 0)
                        FAIL("remount %s%s: %s", dst, ro ? " read-only" : "", g_strerror(errno));
        }
        return 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
        char tmp[4096];

        snprintf(tmp, sizeof tmp, "%s", path);
        for (char *p = tmp + 1; *p; p++)
                if (*p == '/') {
                        *p = '\0';
                        if (mkdir(tmp, mode) < 0 && errno != EEXIST)
                                return -1;
                        *p = '/';
                }
        return mkdir(tmp, mode) < 0 && errno != EEXIST ? -1 : 0;
}

static int write_file(const char *path, const char *text, char **why)
{
        GError *err = NULL;
        if (!g_file_set_contents(path, text, -1, &err)) {
                *why = g_strdup_printf("write %s: %s", path, err->message);
                g_error_free(err);
                return -1;
        }
        chmod(path, 0644);
        return 0;
}

/* A host top-level directory (/bin, /lib64 ...): recreate a symlink as a
 * symlink (merged /usr), bind a real directory read-only, skip if absent. */
static int host_dir(const char *root, const char *name, char **why)
{
        char src[256], dst[4096], target[4096];
        struct stat st;

        snprintf(src, sizeof src, "/%s", name);
        snprintf(dst, sizeof dst, "%s/%s", root, name);
        if (lstat(src, &st) < 0)
                return 0;
        if (S_ISLNK(st.st_mode)) {
                ssize_t n = readlink(src, target, sizeof target - 1);
                if (n < 0)
                        FAIL("readlink %s: %s", src, g_strerror(errno));
                target[n] = '\0';
                if (symlink(target, dst) < 0)
                        FAIL("symlink %s: %s", dst, g_strerror(errno));
                return 0;
        }
        if (!S_ISDIR(st.st_mode))
                return 0;
        if (mkdir(dst, 0755) < 0)
                FAIL("mkdir %s: %s", dst, g_strerror(errno));
        return bind(src, dst, true, MS_NOSUID | MS_NODEV, why);
}

static int make_etc(const char *root, const char *name, char **why)
{
        char p[4096];
        static const char *const ro_dirs[] = { "ssl", "ca-certificates", "alternatives" };
        char *hosts = g_strdup_printf("127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n", name);
        char *hostname = g_strdup_printf("%s\n", name);
        const struct { const char *file; const char *text; } files[] = {
                { "passwd", "root:x:0:0:root:/workspace:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n" },
                { "group", "root:x:0:\nnogroup:x:65534:\n" },
                { "hosts", hosts },
                { "hostname", hostname },
                { "nsswitch.conf", "passwd: files\ngroup: files\nshadow: files\nhosts: files\n" },
                { "resolv.conf", "" },
        };
        int r = 0;

        snprintf(p, sizeof p, "%s/etc", root);
        if (mkdir(p, 0755) < 0)
                FAIL("mkdir %s: %s", p, g_strerror(errno));
        for (size_t i = 0; i < G_N_ELEMENTS(files) && r == 0; i++) {
                snprintf(p, sizeof p, "%s/etc/%s", root, files[i].file);
                r = write_file(p, files[i].text, why);
        }
        g_free(hosts);
        g_free(hostname);
        if (r < 0)
                return r;
        /* The dynamic loader's cache: copy, so the host's cannot change it. */
        gchar *cache = NULL;
        gsize len = 0;
        if (g_file_get_contents("/etc/ld.so.cache", &cache, &len, NULL)) {
                snprintf(p, sizeof p, "%s/etc/ld.so.cache", root);
                g_file_set_contents(p, cache, (gssize)len, NULL);
                chmod(p, 0644);
                g_free(cache);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(ro_dirs); i++) {
                char src[256];
                struct stat st;
                snprintf(src, sizeof src, "/etc/%s", ro_dirs[i]);
                if (stat(src, &st) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                snprintf(p, sizeof p, "%s/etc/%s", root, ro_dirs[i]);
                if (mkdir(p, 0755) < 0 || bind(src, p, true, MS_NOSUID | MS_NODEV, why) < 0) {
                        if (!*why)
                                *why = g_strdup_printf("mkdir %s: %s", p, g_strerror(errno));
                        return -1;
                }
        }
        return 0;
}

static int make_dev(const char *root, char **why)
{
        static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
        static const char *const links[][2] = {
                { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" },
                { "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
                { "pts/ptmx", "ptmx" },
        };
        char p[4096], src[64];

        snprintf(p, sizeof p, "%s/dev", root);
        if (mkdir(p, 0755) < 0)
                FAIL("mkdir %s: %s", p, g_strerror(errno));
        if (mount("sbx-dev", p, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") < 0)
                FAIL("mount tmpfs on /dev: %s", g_strerror(errno));
        /* mknod is refused in a user namespace: bind the host's nodes. */
        for (size_t i = 0; i < G_N_ELEMENTS(nodes); i++) {
                snprintf(p, sizeof p, "%s/dev/%s", root, nodes[i]);
                snprintf(src, sizeof src, "/dev/%s", nodes[i]);
                int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
                if (fd < 0)
                        FAIL("create %s: %s", p, g_strerror(errno));
                close(fd);
                if (mount(src, p, NULL, MS_BIND, NULL) < 0)
                        FAIL("bind %s: %s", src, g_strerror(errno));
        }
        for (size_t i = 0; i < G_N_ELEMENTS(links); i++) {
                snprintf(p, sizeof p, "%s/dev/%s", root, links[i][1]);
                if (symlink(links[i][0], p) < 0)
                        FAIL("symlink %s: %s", p, g_strerror(errno));
        }
        snprintf(p, sizeof p, "%s/dev/pts", root);
        if (mkdir(p, 0755) < 0 ||
            mount("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") < 0)
                FAIL("mount devpts: %s", g_strerror(errno));
        snprintf(p, sizeof p, "%s/dev/shm", root);
        if (mkdir(p, 01777) < 0 ||
            mount("shm", p, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m") < 0)
                FAIL("mount /dev/shm: %s", g_strerror(errno));
        return 0;
}

static int make_proc(const char *root, char **why)
{
        static const char *const ro[] = { "sys", "sysrq-trigger", "irq", "bus" };
        static const char *const masked[] = { "kcore", "keys", "timer_list", "sched_debug" };
        char p[4096];
        struct stat st;

        snprintf(p, sizeof p, "%s/proc", root);
        if (mkdir(p, 0555) < 0)
                FAIL("mkdir %s: %s", p, g_strerror(errno));
        if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                FAIL("mount /proc: %s", g_strerror(errno));
        for (size_t i = 0; i < G_N_ELEMENTS(ro); i++) {
                snprintf(p, sizeof p, "%s/proc/%s", root, ro[i]);
                if (lstat(p, &st) == 0 && bind(p, p, true, MS_NOSUID | MS_NODEV | MS_NOEXEC, why) < 0)
                        return -1;
        }
        char null[4096];
        snprintf(null, sizeof null, "%s/dev/null", root);
        for (size_t i = 0; i < G_N_ELEMENTS(masked); i++) {
                snprintf(p, sizeof p, "%s/proc/%s", root, masked[i]);
                if (lstat(p, &st) == 0 && mount(null, p, NULL, MS_BIND, NULL) < 0)
                        FAIL("mask %s: %s", p, g_strerror(errno));
        }
        return 0;
}

int sbx_mounts_build(const char *dir, const char *name, const struct sbx_config *cfg, char **why)
{
        static const char *const top[] = { "usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32" };
        char root[4096], p[4096], src[4096], opts[128];

        *why = NULL;
        snprintf(root, sizeof root, "%s/%s", dir, SBX_D_ROOT);
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                FAIL("make / private: %s", g_strerror(errno));
        if (mount("sbx-root", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=4m") < 0)
                FAIL("mount tmpfs on %s: %s", root, g_strerror(errno));
        for (size_t i = 0; i < G_N_ELEMENTS(top); i++)
                if (host_dir(root, top[i], why) < 0)
                        return -1;
        if (make_etc(root, name, why) < 0)
                return -1;

        snprintf(p, sizeof p, "%s/workspace", root);
        snprintf(src, sizeof src, "%s/%s", dir, SBX_D_WORKSPACE);
        if (mkdir(p, 0755) < 0 || bind(src, p, false, MS_NOSUID | MS_NODEV, why) < 0) {
                if (!*why)
                        *why = g_strdup_printf("mkdir %s: %s", p, g_strerror(errno));
                return -1;
        }

        snprintf(p, sizeof p, "%s/tmp", root);
        int n = snprintf(opts, sizeof opts, "mode=1777");
        if (cfg->tmp != SBX_MAX)
                n += snprintf(opts + n, sizeof opts - (size_t)n, ",size=%llu", (unsigned long long)cfg->tmp);
        if (cfg->files != SBX_MAX)
                snprintf(opts + n, sizeof opts - (size_t)n, ",nr_inodes=%llu", (unsigned long long)cfg->files);
        if (mkdir(p, 01777) < 0 || mount("sbx-tmp", p, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
                FAIL("mount /tmp (%s): %s", opts, g_strerror(errno));

        snprintf(p, sizeof p, "%s/run/sbx/scripts", root);
        snprintf(src, sizeof src, "%s/scripts", dir);
        if (mkdir_p(p, 0755) < 0 || bind(src, p, true, MS_NOSUID | MS_NODEV, why) < 0) {
                if (!*why)
                        *why = g_strdup_printf("mkdir %s: %s", p, g_strerror(errno));
                return -1;
        }
        if (make_dev(root, why) < 0 || make_proc(root, why) < 0)
                return -1;

        /* Enter the new root; the old one is detached and gone. */
        if (chdir(root) < 0)
                FAIL("chdir %s: %s", root, g_strerror(errno));
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                FAIL("pivot_root: %s", g_strerror(errno));
        if (umount2(".", MNT_DETACH) < 0)
                FAIL("detach old root: %s", g_strerror(errno));
        if (chdir("/") < 0)
                FAIL("chdir /: %s", g_strerror(errno));
        if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
                FAIL("remount / read-only: %s", g_strerror(errno));
        return 0;
}
