/* cgroup.c: cgroups v2 or v1, found at run time (see cgroup.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "sbx/util.h"

/* One hierarchy we use: where it is mounted and where we sit in it. */
struct hier {
        char *mnt;      /* mount point, NULL when not available */
        char *own;      /* our own cgroup's directory (absolute) */
        bool v2;
        bool shared;    /* same directory tree as SBX_CG_UNIFIED */
};

static struct hier hiers[SBX_CG_NHIER];
static const char *hier_names[SBX_CG_NHIER] = { "unified", "memory", "pids", "cpu" };
static char describe[512];

/* v1 controller names as they appear in /proc/self/cgroup and mount
 * options; cpu accounting lives in cpuacct. */
static const char *v1_ctrl[SBX_CG_NHIER] = { NULL, "memory", "pids", "cpuacct" };
static const char *v2_ctrl[SBX_CG_NHIER] = { NULL, "memory", "pids", "cpu" };

static bool has_word(const char *list, const char *word, char sep)
{
        size_t n = strlen(word);
        for (const char *p = list; p && *p;) {
                const char *e = strchr(p, sep);
                size_t len = e ? (size_t)(e - p) : strlen(p);
                if (len == n && strncmp(p, word, n) == 0)
                        return true;
                p = e ? e + 1 : NULL;
        }
        return false;
}

int sbx_cg_parse_self(const char *text, int hier, char **path)
{
        gchar **lines = g_strsplit(text, "\n", -1);
        int r = -ENOENT;

        for (int i = 0; lines[i] && r < 0; i++) {
                gchar **f = g_strsplit(lines[i], ":", 3);
                if (g_strv_length(f) == 3) {
                        bool match = hier == SBX_CG_UNIFIED ? strcmp(f[0], "0") == 0 && f[1][0] == '\0'
                                                            : has_word(f[1], v1_ctrl[hier], ',');
                        if (match) {
                                *path = g_strdup(f[2]);
                                r = 0;
                        }
                }
                g_strfreev(f);
        }
        g_strfreev(lines);
        return r;
}

/* From /proc/self/mountinfo: the mount point of cgroup2, or of the v1
 * hierarchy carrying ctrl in its super options. */
static char *find_mount(const char *mountinfo, const char *ctrl)
{
        gchar **lines = g_strsplit(mountinfo, "\n", -1);
        char *found = NULL;

        for (int i = 0; lines[i] && !found; i++) {
                /* id parent maj:min root mnt opts [optional...] - fstype src superopts */
                char *dash = strstr(lines[i], " - ");
                if (!dash)
                        continue;
                gchar **pre = g_strsplit(lines[i], " ", 6);
                gchar **post = g_strsplit(dash + 3, " ", 3);
                if (g_strv_length(pre) >= 5 && g_strv_length(post) == 3) {
                        if (!ctrl && strcmp(post[0], "cgroup2") == 0)
                                found = g_strdup(pre[4]);
                        else if (ctrl && strcmp(post[0], "cgroup") == 0 && has_word(post[2], ctrl, ','))
                                found = g_strdup(pre[4]);
                }
                g_strfreev(pre);
                g_strfreev(post);
        }
        g_strfreev(lines);
        return found;
}

static int read_text(const char *path, char **out)
{
        GError *err = NULL;
        if (!g_file_get_contents(path, out, NULL, &err)) {
                int e = err->code == G_FILE_ERROR_NOENT ? ENOENT : EIO;
                g_error_free(err);
                return -e;
        }
        return 0;
}

static int write_text(const char *dir, const char *file, const char *val)
{
        char path[4096];
        int fd, r = 0;

        snprintf(path, sizeof path, "%s/%s", dir, file);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, val, strlen(val)) < 0)
                r = -errno;
        close(fd);
        return r;
}

int sbx_cg_init(char **why)
{
        char *self = NULL, *mi = NULL;
        int r;

        if ((r = read_text("/proc/self/cgroup", &self)) < 0 ||
            (r = read_text("/proc/self/mountinfo", &mi)) < 0) {
                *why = g_strdup_printf("read /proc/self: %s", g_strerror(-r));
                g_free(self);
                return r;
        }
        char *v2mnt = find_mount(mi, NULL);
        char *v2ctrls = NULL;
        if (v2mnt) {
                char *p = g_strdup_printf("%s/cgroup.controllers", v2mnt);
                if (read_text(p, &v2ctrls) < 0)
                        v2ctrls = g_strdup("");
                g_strstrip(v2ctrls);
                g_free(p);
        }
        describe[0] = '\0';
        for (int h = 0; h < SBX_CG_NHIER; h++) {
                char *own = NULL;
                struct hier *x = &hiers[h];
                if (h == SBX_CG_UNIFIED || (v2ctrls && has_word(v2ctrls, v2_ctrl[h], ' '))) {
                        if (!v2mnt || sbx_cg_parse_self(self, SBX_CG_UNIFIED, &own) < 0)
                                continue;
                        x->mnt = g_strdup(v2mnt);
                        x->v2 = true;
                        x->shared = h != SBX_CG_UNIFIED;
                } else {
                        x->mnt = find_mount(mi, v1_ctrl[h]);
                        if (!x->mnt || sbx_cg_parse_self(self, h, &own) < 0) {
                                g_free(x->mnt);
                                x->mnt = NULL;
                                continue;
                        }
                }
                x->own = g_strdup_printf("%s%s", x->mnt, strcmp(own, "/") ? own : "");
                g_free(own);
                size_t n = strlen(describe);
                snprintf(describe + n, sizeof describe - n, "%s%s=%s", n ? " " : "",
                         hier_names[h], x->v2 ? "v2" : "v1");
        }
        for (int h = 1; h < SBX_CG_NHIER; h++)
                if (!hiers[h].mnt) {
                        size_t n = strlen(describe);
                        snprintf(describe + n, sizeof describe - n, " %s=none", hier_names[h]);
                }
        /* v2: our children need the controllers enabled in our own
         * subtree_control.  That fails (EBUSY) when our cgroup holds
         * processes and is not the root; then those limits are missing,
         * which sbx_cg_describe() says. */
        if (v2mnt && hiers[SBX_CG_UNIFIED].own) {
                for (int h = 1; h < SBX_CG_NHIER; h++) {
                        if (!hiers[h].shared)
                                continue;
                        char val[32];
                        snprintf(val, sizeof val, "+%s", v2_ctrl[h]);
                        int e = write_text(hiers[SBX_CG_UNIFIED].own, "cgroup.subtree_control", val);
                        if (e < 0) {
                                size_t n = strlen(describe);
                                snprintf(describe + n, sizeof describe - n,
                                         " (%s unavailable: %s in own cgroup)", v2_ctrl[h], g_strerror(-e));
                                g_free(hiers[h].mnt);
                                g_free(hiers[h].own);
                                hiers[h].mnt = hiers[h].own = NULL;
                        }
                }
        }
        g_free(v2mnt);
        g_free(v2ctrls);
        g_free(self);
        g_free(mi);
        return 0;
}

const char *sbx_cg_describe(void)
{
        return describe;
}

/* The distinct directories of a cgroup: the controllers that share the
 * unified tree have the same path, and are made and removed once. */
static bool distinct(const struct sbx_cg *cg, int h)
{
        return cg->path[h] && !(h != SBX_CG_UNIFIED && hiers[h].shared);
}

static void fill_procs(struct sbx_cg *cg)
{
        for (int h = 0; h < SBX_CG_NHIER; h++)
                cg->procs[h] = distinct(cg, h) ? g_strdup_printf("%s/cgroup.procs", cg->path[h]) : NULL;
}

/* mkdir one cgroup directory in each hierarchy.  An existing directory
 * is an error: it is someone else's (or a stale one that
 * sbx_cg_clean_stale did not know of), never to be shared or removed. */
static int make_dirs(struct sbx_cg *out, char *const want[SBX_CG_NHIER], char **why)
{
        for (int h = 0; h < SBX_CG_NHIER; h++) {
                if (!want[h])
                        continue;
                bool own_dir = !(h != SBX_CG_UNIFIED && hiers[h].shared);
                if (own_dir && mkdir(want[h], 0755) < 0) {
                        int e = errno;
                        *why = g_strdup_printf("mkdir %s: %s", want[h], g_strerror(e));
                        for (int k = h; k < SBX_CG_NHIER; k++)
                                g_free(want[k]);
                        sbx_cg_remove(out);
                        return -e;
                }
                out->path[h] = want[h];
        }
        return 0;
}

int sbx_cg_create_sandbox(struct sbx_cg *out, const char *name, char **why)
{
        char *want[SBX_CG_NHIER] = { NULL };
        int r;

        memset(out, 0, sizeof *out);
        for (int h = 0; h < SBX_CG_NHIER; h++)
                if (hiers[h].mnt)
                        want[h] = g_strdup_printf("%s/sbx-%s-%d", hiers[h].own, name, (int)getpid());
        if ((r = make_dirs(out, want, why)) < 0)
                return r;
        /* Let the sandbox's children (init, exec-N) have the controllers. */
        if (out->path[SBX_CG_UNIFIED])
                for (int h = 1; h < SBX_CG_NHIER; h++)
                        if (hiers[h].shared && out->path[h]) {
                                char val[32];
                                snprintf(val, sizeof val, "+%s", v2_ctrl[h]);
                                write_text(out->path[SBX_CG_UNIFIED], "cgroup.subtree_control", val);
                        }
        fill_procs(out);
        return 0;
}

static void fmt_limit(char *buf, size_t n, uint64_t v, bool v2)
{
        if (v == SBX_MAX)
                snprintf(buf, n, "%s", v2 ? "max" : "-1");
        else
                snprintf(buf, n, "%llu", (unsigned long long)v);
}

static int set_limits(const struct sbx_cg *cg, const struct sbx_config *cfg, char **why)
{
        char v[32];
        int r = 0;
        const char *mem = cg->path[SBX_CG_MEMORY], *pids = cg->path[SBX_CG_PIDS];

        if (mem) {
                bool v2 = hiers[SBX_CG_MEMORY].v2;
                fmt_limit(v, sizeof v, cfg->memory, v2);
                r = write_text(mem, v2 ? "memory.max" : "memory.limit_in_bytes", v);
                if (r == 0) {
                        /* Swap is no way around the memory limit. */
                        if (v2)
                                write_text(mem, "memory.swap.max", "0");
                        else
                                write_text(mem, "memory.memsw.limit_in_bytes", v);
                        fmt_limit(v, sizeof v, cfg->memory_high, v2);
                        write_text(mem, v2 ? "memory.high" : "memory.soft_limit_in_bytes", v);
                }
                if (r < 0) {
                        *why = g_strdup_printf("set memory limit in %s: %s", mem, g_strerror(-r));
                        return r;
                }
        }
        /* One more for the spawn helper, which is in the cgroup while it
         * clones the exec process: sbx_cg_set_pids lowers it after. */
        if (pids && (r = sbx_cg_set_pids(cg, cfg->pids == SBX_MAX ? SBX_MAX : cfg->pids + 1)) < 0) {
                *why = g_strdup_printf("set pids.max in %s: %s", pids, g_strerror(-r));
                return r;
        }
        return 0;
}

int sbx_cg_set_pids(const struct sbx_cg *cg, uint64_t pids)
{
        char v[32];

        if (!cg->path[SBX_CG_PIDS])
                return 0;
        if (pids == SBX_MAX)
                snprintf(v, sizeof v, "max");
        else
                snprintf(v, sizeof v, "%llu", (unsigned long long)pids);
        return write_text(cg->path[SBX_CG_PIDS], "pids.max", v);
}

int sbx_cg_create_child(struct sbx_cg *out, const struct sbx_cg *parent,
                        const char *child, const struct sbx_config *cfg, char **why)
{
        char *want[SBX_CG_NHIER] = { NULL };
        int r;

        memset(out, 0, sizeof *out);
        for (int h = 0; h < SBX_CG_NHIER; h++)
                if (parent->path[h])
                        want[h] = g_strdup_printf("%s/%s", parent->path[h], child);
        if ((r = make_dirs(out, want, why)) < 0)
                return r;
        fill_procs(out);
        if (cfg) {
                r = set_limits(out, cfg, why);
                if (r < 0) {
                        sbx_cg_remove(out);
                        return r;
                }
        }
        return 0;
}

int sbx_cg_enter(const struct sbx_cg *cg)
{
        /* Runs between fork and exec: only open/write/close. */
        for (int h = 0; h < SBX_CG_NHIER; h++) {
                if (!cg->procs[h])
                        continue;
                int fd = open(cg->procs[h], O_WRONLY | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                if (write(fd, "0", 1) < 0) {
                        int e = -errno;
                        close(fd);
                        return e;
                }
                close(fd);
        }
        return 0;
}

/* "key value" lookup in a flat-keyed file. */
uint64_t sbx_cg_keyed(const char *text, const char *key)
{
        size_t n = strlen(key);
        for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (strncmp(p, key, n) == 0 && p[n] == ' ')
                        return strtoull(p + n + 1, NULL, 10);
        return 0;
}

static uint64_t read_u64(const char *dir, const char *file)
{
        char path[4096], *t = NULL;
        uint64_t v = 0;

        if (!dir)
                return 0;
        snprintf(path, sizeof path, "%s/%s", dir, file);
        if (read_text(path, &t) == 0) {
                v = strtoull(t, NULL, 10);
                g_free(t);
        }
        return v;
}

static uint64_t read_keyed(const char *dir, const char *file, const char *key)
{
        char path[4096], *t = NULL;
        uint64_t v = 0;

        if (!dir)
                return 0;
        snprintf(path, sizeof path, "%s/%s", dir, file);
        if (read_text(path, &t) == 0) {
                v = sbx_cg_keyed(t, key);
                g_free(t);
        }
        return v;
}

void sbx_cg_stats(const struct sbx_cg *cg, struct sbx_cg_stats *st)
{
        const char *cpu = cg->path[SBX_CG_CPU], *mem = cg->path[SBX_CG_MEMORY];

        memset(st, 0, sizeof *st);
        if (cpu && hiers[SBX_CG_CPU].v2) {
                st->cpu_user_us = read_keyed(cpu, "cpu.stat", "user_usec");
                st->cpu_sys_us = read_keyed(cpu, "cpu.stat", "system_usec");
                st->throttled_us = read_keyed(cpu, "cpu.stat", "throttled_usec");
        } else if (cpu) {
                st->cpu_user_us = read_u64(cpu, "cpuacct.usage_user") / 1000;
                st->cpu_sys_us = read_u64(cpu, "cpuacct.usage_sys") / 1000;
        } else if (cg->path[SBX_CG_UNIFIED]) {
                /* cpu.stat's usage lines exist even with no cpu controller. */
                st->cpu_user_us = read_keyed(cg->path[SBX_CG_UNIFIED], "cpu.stat", "user_usec");
                st->cpu_sys_us = read_keyed(cg->path[SBX_CG_UNIFIED], "cpu.stat", "system_usec");
        }
        if (mem && hiers[SBX_CG_MEMORY].v2) {
                st->mem_peak = read_u64(mem, "memory.peak");
                st->oom_kills = read_keyed(mem, "memory.events", "oom_kill");
                st->mem_high_events = read_keyed(mem, "memory.events", "high");
        } else if (mem) {
                st->mem_peak = read_u64(mem, "memory.max_usage_in_bytes");
                st->oom_kills = read_keyed(mem, "memory.oom_control", "oom_kill");
                /* v1 has no count of soft-limit crossings: left at 0. */
        }
        if (cg->path[SBX_CG_PIDS]) {
                st->pids_peak = read_u64(cg->path[SBX_CG_PIDS], "pids.peak");
                st->pids_max_events = read_keyed(cg->path[SBX_CG_PIDS], "pids.events", "max");
        }
        if (cg->path[SBX_CG_UNIFIED] && hiers[SBX_CG_UNIFIED].v2) {
                char path[4096], *t = NULL;
                snprintf(path, sizeof path, "%s/io.stat", cg->path[SBX_CG_UNIFIED]);
                if (read_text(path, &t) == 0) {
                        /* "maj:min rbytes=N wbytes=N ..." per device */
                        for (char *p = t; (p = strstr(p, "bytes=")); p += 6) {
                                uint64_t v = strtoull(p + 6, NULL, 10);
                                if (p > t && p[-1] == 'r')
                                        st->io_read += v;
                                else if (p > t && p[-1] == 'w')
                                        st->io_write += v;
                        }
                        g_free(t);
                }
        }
}

uint64_t sbx_cg_cpu_us(const struct sbx_cg *cg)
{
        const char *cpu = cg->path[SBX_CG_CPU];

        if (cpu && hiers[SBX_CG_CPU].v2)
                return read_keyed(cpu, "cpu.stat", "usage_usec");
        if (cpu)
                return read_u64(cpu, "cpuacct.usage") / 1000;
        return read_keyed(cg->path[SBX_CG_UNIFIED], "cpu.stat", "usage_usec");
}

static bool procs_empty(const char *procs)
{
        char *t = NULL;
        bool empty = true;

        if (read_text(procs, &t) == 0) {
                empty = t[0] == '\0';
                g_free(t);
        }
        return empty;
}

bool sbx_cg_empty(const struct sbx_cg *cg)
{
        for (int h = 0; h < SBX_CG_NHIER; h++)
                if (cg->procs[h] && !procs_empty(cg->procs[h]))
                        return false;
        return true;
}

int sbx_cg_signal(const struct sbx_cg *cg, int sig)
{
        /* Any hierarchy holds the whole tree; take the first we have. */
        for (int h = 0; h < SBX_CG_NHIER; h++) {
                char *t = NULL;
                if (!cg->procs[h] || read_text(cg->procs[h], &t) < 0)
                        continue;
                for (char *p = t; *p;) {
                        char *end;
                        long pid = strtol(p, &end, 10);
                        if (end == p)
                                break;
                        if (pid > 0)
                                kill((pid_t)pid, sig);
                        p = end;
                        while (*p == '\n')
                                p++;
                }
                g_free(t);
                return 0;
        }
        return -ENOENT;
}

int sbx_cg_kill(const struct sbx_cg *cg)
{
        const char *u = cg->path[SBX_CG_UNIFIED];

        if (u && write_text(u, "cgroup.kill", "1") == 0)
                return 0;
        /* No cgroup.kill: kill what is listed until nothing is left.  New
         * forks land in the same cgroup, so the loop catches them. */
        for (int i = 0; i < 100 && !sbx_cg_empty(cg); i++) {
                sbx_cg_signal(cg, SIGKILL);
                usleep(1000);
        }
        return sbx_cg_empty(cg) ? 0 : -EBUSY;
}

int sbx_cg_try_remove(struct sbx_cg *cg)
{
        int r = 0;

        if (!sbx_cg_empty(cg))
                return -EBUSY;
        for (int h = SBX_CG_NHIER - 1; h >= 0; h--)
                if (distinct(cg, h) && rmdir(cg->path[h]) < 0 && errno != ENOENT) {
                        /* EBUSY: a process got in after the check. */
                        if (errno == EBUSY)
                                return -EBUSY;
                        if (r == 0)
                                r = -errno;
                }
        sbx_cg_free(cg);
        return r;
}

int sbx_cg_remove(struct sbx_cg *cg)
{
        int r = 0;

        if (!sbx_cg_empty(cg)) {
                sbx_cg_kill(cg);
                /* Killed processes leave the cgroup once reaped. */
                for (int i = 0; i < 200 && !sbx_cg_empty(cg); i++)
                        usleep(i < 20 ? 1000 : 10000);
        }
        for (int h = SBX_CG_NHIER - 1; h >= 0; h--)
                if (distinct(cg, h) && rmdir(cg->path[h]) < 0 && errno != ENOENT && r == 0)
                        r = -errno;
        sbx_cg_free(cg);
        return r;
}

void sbx_cg_free(struct sbx_cg *cg)
{
        for (int h = 0; h < SBX_CG_NHIER; h++) {
                g_free(cg->path[h]);
                g_free(cg->procs[h]);
                cg->path[h] = cg->procs[h] = NULL;
        }
}

/* Remove one stale cgroup directory and what is below it, killing what
 * still runs there (rare: after a crash the sandbox's init took the
 * processes with it).  Blocks a little; only used at start-up. */
static void remove_tree(const char *path)
{
        GDir *d = g_dir_open(path, 0, NULL);
        const char *n;

        while (d && (n = g_dir_read_name(d))) {
                char *sub = g_strdup_printf("%s/%s", path, n);
                if (g_file_test(sub, G_FILE_TEST_IS_DIR) && !g_file_test(sub, G_FILE_TEST_IS_SYMLINK))
                        remove_tree(sub);
                g_free(sub);
        }
        if (d)
                g_dir_close(d);
        char *procs = g_strdup_printf("%s/cgroup.procs", path);
        if (write_text(path, "cgroup.kill", "1") < 0) {
                struct sbx_cg one = { .procs = { procs } };
                sbx_cg_signal(&one, SIGKILL);
        }
        for (int i = 0; i < 100 && !procs_empty(procs); i++)
                usleep(10000);
        g_free(procs);
        rmdir(path);
}

/* Is path a sandbox cgroup directly below our own in some hierarchy? */
static bool ours(const char *path)
{
        if (strstr(path, "/.."))
                return false;
        for (int h = 0; h < SBX_CG_NHIER; h++) {
                size_t n = hiers[h].own ? strlen(hiers[h].own) : 0;
                if (n && strncmp(path, hiers[h].own, n) == 0 &&
                    strncmp(path + n, "/sbx-", 5) == 0 && !strchr(path + n + 1, '/'))
                        return true;
        }
        return false;
}

int sbx_cg_save(const struct sbx_cg *cg, int dirfd)
{
        GString *t = g_string_new(NULL);

        for (int h = 0; h < SBX_CG_NHIER; h++)
                if (distinct(cg, h))
                        g_string_append_printf(t, "%s\n", cg->path[h]);
        int r = sbx_write_atomic(dirfd, SBX_CG_RECORD, t->str, t->len, 0600);
        g_string_free(t, TRUE);
        return r;
}

void sbx_cg_clean_stale(int dirfd)
{
        char *text = NULL;

        if (sbx_read_file(dirfd, SBX_CG_RECORD, 1 << 16, &text, NULL) < 0)
                return;
        gchar **lines = g_strsplit(text, "\n", -1);
        for (int i = 0; lines[i]; i++)
                if (*lines[i] && ours(lines[i]) && g_file_test(lines[i], G_FILE_TEST_IS_DIR))
                        remove_tree(lines[i]);
        g_strfreev(lines);
        free(text);
        unlinkat(dirfd, SBX_CG_RECORD, 0);
}
