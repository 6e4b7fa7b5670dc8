/* exec.c: one exec's life: its directory in the state, the spawn, output
 * draining with the cap, time limits, seccomp violations, and the end
 * reason and metrics (see docs/tree.md for what users see). */
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"
#include "proxy.h"
#include "seccomp.h"
#include "sbx/protocol.h"
#include "sbx/state.h"
#include "sbx/util.h"

enum cause { CAUSE_NONE, CAUSE_KILL, CAUSE_TIMEOUT, CAUSE_CPU, CAUSE_VIOLATION, CAUSE_SHUTDOWN };

struct stream {
        int pipe;               /* read end; -1 at EOF */
        int file;               /* execs/N/stdout or stderr */
        guint src;
        uint64_t bytes, dropped;
};

struct exec {
        struct sup *s;
        unsigned n;
        pid_t pid;
        int dirfd;
        int stdin_keep;         /* our write end of the stdin FIFO */
        struct stream out, err;
        struct sbx_cg cg;
        struct sbx_config cfg;
        uint64_t start_ms, start_ns;
        guint child_src, timer, grace_timer, cpu_timer, listen_src;
        int listener;
        bool reaped;
        int wstatus;
        enum cause cause;
        int kill_sig;
        char violation[64];
        GHashTable *viol;       /* syscall name -> count */
        uint64_t n_viol;
        /* the sandbox's network counters when the exec started: what
         * changed until it ended is its share (see docs/trust-levels.md) */
        uint64_t net0_req, net0_blocked, net0_in, net0_out, net0_noroute;
};

/* The first cause of the end wins, except a kill request: a signal the
 * code handles (kill N USR1) must not hide a later limit. */
static bool set_cause(struct exec *e, enum cause c)
{
        if (e->cause != CAUSE_NONE && e->cause != CAUSE_KILL)
                return false;
        e->cause = c;
        return true;
}

static void stream_close(struct stream *st)
{
        if (st->src)
                g_source_remove(st->src);
        st->src = 0;
        if (st->pipe >= 0)
                close(st->pipe);
        st->pipe = -1;
}

/* Move what is in the pipe to the file, up to the cap; beyond it, read
 * and count as dropped.  Returns false at EOF. */
static bool drain(struct exec *e, struct stream *st)
{
        static char discard[65536];

        for (;;) {
                ssize_t n;
                if (st->bytes < e->cfg.output) {
                        uint64_t room = e->cfg.output - st->bytes;
                        loff_t off = (loff_t)st->bytes;
                        n = splice(st->pipe, NULL, st->file, &off,
                                   room < (1u << 20) ? (size_t)room : (1u << 20),
                                   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
                        if (n < 0 && errno != EAGAIN && errno != EINTR) {
                                /* Disk full or the like: keep the process
                                 * going, drop what cannot be kept. */
                                n = read(st->pipe, discard, sizeof discard);
                                if (n > 0)
                                        st->dropped += (uint64_t)n;
                                else if (n == 0)
                                        return false;
                                continue;
                        }
                        if (n > 0)
                                st->bytes += (uint64_t)n;
                } else {
                        n = read(st->pipe, discard, sizeof discard);
                        if (n > 0)
                                st->dropped += (uint64_t)n;
                }
                if (n == 0)
                        return false;
                if (n < 0)
                        return errno == EAGAIN || errno == EINTR;
        }
}

static void maybe_finish(struct exec *e);

static gboolean on_output(gint fd, GIOCondition cond, gpointer data)
{
        struct exec *e = data;
        struct stream *st = fd == e->out.pipe ? &e->out : &e->err;

        (void)cond;
        if (drain(e, st))
                return G_SOURCE_CONTINUE;
        st->src = 0;
        close(st->pipe);
        st->pipe = -1;
        maybe_finish(e);
        return G_SOURCE_REMOVE;
}

static void write_violations(struct exec *e)
{
        GString *t = g_string_new(NULL);
        GHashTableIter it;
        gpointer k, v;

        g_hash_table_iter_init(&it, e->viol);
        while (g_hash_table_iter_next(&it, &k, &v))
                g_string_append_printf(t, "%s %u\n", (char *)k, GPOINTER_TO_UINT(v));
        sbx_write_atomic(e->dirfd, SBX_E_VIOLATIONS, t->str, t->len, 0644);
        g_string_free(t, TRUE);
}

static gboolean on_violation(gint fd, GIOCondition cond, gpointer data)
{
        struct exec *e = data;
        char name[64];

        if (cond & G_IO_IN) {
                uint64_t id;
                if (sbx_seccomp_recv(fd, name, sizeof name, &id) == 0) {
                        /* Kill before answering: the process must not run
                         * on past the denied call, not even to print. */
                        if (e->cfg.kill_on_violation && set_cause(e, CAUSE_VIOLATION)) {
                                snprintf(e->violation, sizeof e->violation, "%s", name);
                                sbx_cg_kill(&e->cg);
                        }
                        sbx_seccomp_deny(fd, id);
                        unsigned c = GPOINTER_TO_UINT(g_hash_table_lookup(e->viol, name));
                        g_hash_table_replace(e->viol, g_strdup(name), GUINT_TO_POINTER(c + 1));
                        e->n_viol++;
                        write_violations(e);
                        if (c == 0)
                                sbx_event(e->s->state_fd, e->s->dir_fd, e->s->name,
                                          "exec %u violation %s", e->n, name);
                }
                return G_SOURCE_CONTINUE;
        }
        /* Hang-up: every process using the filter is gone. */
        close(fd);
        e->listener = -1;
        e->listen_src = 0;
        return G_SOURCE_REMOVE;
}

static gboolean on_grace(gpointer data)
{
        struct exec *e = data;

        e->grace_timer = 0;
        sbx_cg_kill(&e->cg);
        return G_SOURCE_REMOVE;
}

static gboolean on_timeout(gpointer data)
{
        struct exec *e = data;

        e->timer = 0;
        set_cause(e, CAUSE_TIMEOUT);
        sbx_cg_signal(&e->cg, SIGTERM);
        e->grace_timer = g_timeout_add(e->cfg.grace_ms ? (guint)e->cfg.grace_ms : 1, on_grace, e);
        return G_SOURCE_REMOVE;
}

/* The CPU budget is for the exec's whole tree (RLIMIT_CPU only sees one
 * process): check the cgroup's usage when the budget could first be used
 * up, i.e. after (budget left) / (CPUs) of wall time, and again likewise. */
static unsigned ncpus(void)
{
        static unsigned n;
        cpu_set_t set;

        if (!n)
                n = sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0
                    ? (unsigned)CPU_COUNT(&set) : 1;
        return n;
}

static gboolean on_cpu_check(gpointer data);

static void arm_cpu_check(struct exec *e, uint64_t left_ms)
{
        uint64_t wait = left_ms / ncpus();

        if (wait < 10)
                wait = 10;
        e->cpu_timer = g_timeout_add(wait > G_MAXUINT ? G_MAXUINT : (guint)wait, on_cpu_check, e);
}

static gboolean on_cpu_check(gpointer data)
{
        struct exec *e = data;
        uint64_t used = sbx_cg_cpu_us(&e->cg) / 1000;

        e->cpu_timer = 0;
        if (used < e->cfg.cpu_ms) {
                arm_cpu_check(e, e->cfg.cpu_ms - used);
        } else {
                set_cause(e, CAUSE_CPU);
                sbx_cg_kill(&e->cg);
        }
        return G_SOURCE_REMOVE;
}

static void on_child(GPid pid, gint status, gpointer data)
{
        struct exec *e = data;

        (void)pid;
        e->child_src = 0;
        e->reaped = true;
        e->wstatus = status;
        /* The exec is its main process: what it leaves behind goes too,
         * which also closes the output pipes they may hold. */
        sbx_cg_kill(&e->cg);
        maybe_finish(e);
}

/* The signal that ended the exec: its own, or the one a shell reports
 * for its last command as exit code 128+N ("sh -c 'python3 big.py'"). */
static int death_signal(int ws)
{
        if (WIFSIGNALED(ws))
                return WTERMSIG(ws);
        if (WIFEXITED(ws) && WEXITSTATUS(ws) > 128 && WEXITSTATUS(ws) < 128 + NSIG)
                return WEXITSTATUS(ws) - 128;
        return 0;
}

/* Exec cgroups whose killed processes have not left yet: removed from
 * a timer, backing off, rather than waited for in the main loop. */
static GSList *graves;
static guint grave_timer, grave_rounds;

static gboolean on_graves(gpointer data)
{
        (void)data;
        for (GSList *l = graves, *next; l; l = next) {
                next = l->next;
                if (sbx_cg_try_remove(l->data) != -EBUSY) {
                        g_free(l->data);
                        graves = g_slist_delete_link(graves, l);
                }
        }
        grave_timer = 0;
        if (graves) {
                grave_rounds++;
                grave_timer = g_timeout_add(grave_rounds < 20 ? 5 : grave_rounds < 60 ? 100 : 1000,
                                            on_graves, NULL);
        }
        return G_SOURCE_REMOVE;
}

static void bury(struct sbx_cg *cg)
{
        struct sbx_cg *dead = g_memdup2(cg, sizeof *cg);

        memset(cg, 0, sizeof *cg);
        sbx_cg_kill(dead);
        graves = g_slist_prepend(graves, dead);
        if (!grave_timer) {
                grave_rounds = 0;
                grave_timer = g_timeout_add(5, on_graves, NULL);
        }
}

/* Shutdown: wait for every buried cgroup (sbx_cg_remove sleeps). */
static void graves_flush(void)
{
        if (grave_timer)
                g_source_remove(grave_timer);
        grave_timer = 0;
        for (GSList *l = graves; l; l = l->next) {
                sbx_cg_remove(l->data);
                g_free(l->data);
        }
        g_slist_free(graves);
        graves = NULL;
}

/* The end reason, as docs/tree.md lists them. */
static char *end_reason(struct exec *e, const struct sbx_cg_stats *st, const char **word)
{
        int ws = e->wstatus, sig = death_signal(ws);
        uint64_t cpu_ms = (st->cpu_user_us + st->cpu_sys_us) / 1000;
        bool failed = !(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
        bool ours = e->cause == CAUSE_KILL || e->cause == CAUSE_SHUTDOWN;

        if (e->cause == CAUSE_VIOLATION) {
                *word = "security-violation";
                return g_strdup_printf("security-violation %s", e->violation);
        }
        if (e->cause == CAUSE_TIMEOUT) {
                *word = "timeout";
                return g_strdup("timeout");
        }
        /* A limit explains a failure unless we killed it ourselves: an
         * OOM kill anywhere in the tree (the counter is the cgroup's),
         * or the CPU budget used up (our check, or RLIMIT_CPU's XCPU
         * and KILL). */
        if (e->cause == CAUSE_CPU ||
            (failed && !ours && (sig == SIGXCPU || sig == SIGKILL) &&
             e->cfg.cpu_ms != SBX_MAX && cpu_ms + 50 >= e->cfg.cpu_ms && st->oom_kills == 0)) {
                *word = "cpu-limit";
                return g_strdup("cpu-limit");
        }
        if (failed && !ours && st->oom_kills > 0) {
                *word = "memory-limit";
                return g_strdup("memory-limit");
        }
        if (WIFEXITED(ws)) {
                *word = "exited";
                return g_strdup_printf("exited %d", WEXITSTATUS(ws));
        }
        *word = "killed";
        return g_strdup_printf("killed %s", sbx_signal_name(sig));
}

void exec_update_metrics(struct sup *s)
{
        char *t = g_strdup_printf(
                "execs %llu\nexecs_running %u\ncpu_user_ms %llu\ncpu_sys_ms %llu\n"
                "mem_peak_bytes %llu\nstdout_bytes %llu\nstderr_bytes %llu\noom_kills %llu\n"
                "violations %llu\ntimeouts %llu\nnet_requests %llu\nnet_blocked %llu\n"
                "net_bytes_in %llu\nnet_bytes_out %llu\n",
                (unsigned long long)s->n_execs, g_hash_table_size(s->execs),
                (unsigned long long)s->cpu_user_ms, (unsigned long long)s->cpu_sys_ms,
                (unsigned long long)s->mem_peak, (unsigned long long)s->out_bytes,
                (unsigned long long)s->err_bytes, (unsigned long long)s->oom_kills,
                (unsigned long long)s->violations, (unsigned long long)s->timeouts,
                (unsigned long long)s->net_requests, (unsigned long long)s->net_blocked,
                (unsigned long long)s->net_bytes_in, (unsigned long long)s->net_bytes_out);
        sbx_write_atomic(s->dir_fd, SBX_F_METRICS, t, strlen(t), 0644);
        g_free(t);
}

static void exec_free(struct exec *e)
{
        stream_close(&e->out);
        stream_close(&e->err);
        if (e->out.file >= 0)
                close(e->out.file);
        if (e->err.file >= 0)
                close(e->err.file);
        if (e->stdin_keep >= 0)
                close(e->stdin_keep);
        if (e->listen_src)
                g_source_remove(e->listen_src);
        if (e->listener >= 0)
                close(e->listener);
        if (e->timer)
                g_source_remove(e->timer);
        if (e->grace_timer)
                g_source_remove(e->grace_timer);
        if (e->cpu_timer)
                g_source_remove(e->cpu_timer);
        if (e->child_src)
                g_source_remove(e->child_src);
        if (e->dirfd >= 0)
                close(e->dirfd);
        if (e->viol)
                g_hash_table_destroy(e->viol);
        sbx_cg_free(&e->cg);
        g_free(e);
}

/* Write metrics and then status (status last: it is what watchers wait
 * for), the event line, and the sandbox totals. */
static void finish(struct exec *e)
{
        struct sup *s = e->s;
        struct sbx_cg_stats st;
        const char *word;
        uint64_t end_ms = sbx_now_ms();
        uint64_t wall_ms = (sbx_mono_ns() - e->start_ns) / 1000000;

        sbx_cg_stats(&e->cg, &st);
        if (e->stdin_keep >= 0) {
                close(e->stdin_keep);
                e->stdin_keep = -1;
        }
        char *reason = end_reason(e, &st, &word);
        GString *status = g_string_new(reason);
        if (e->out.dropped || e->err.dropped)
                g_string_append(status, " output-truncated");
        if (st.pids_max_events)
                g_string_append(status, " pids-limit");
        if (e->n_viol && e->cause != CAUSE_VIOLATION)
                g_string_append(status, " security-violation");
        /* Direct connections that found no route (they bypassed the
         * proxy) count as blocked, once for the sandbox. */
        uint64_t noroute = proxy_noroute_count(s);
        if (noroute > s->noroute_seen) {
                s->net_blocked += noroute - s->noroute_seen;
                s->noroute_seen = noroute;
        }
        uint64_t n_blocked = s->net_blocked - e->net0_blocked;
        if (n_blocked)
                g_string_append(status, " network-blocked");
        bool sig = WIFSIGNALED(e->wstatus) && e->cause != CAUSE_TIMEOUT && e->cause != CAUSE_VIOLATION;
        char *m = g_strdup_printf(
                "exec %u\nstart_ms %llu\nend_ms %llu\nwall_ms %llu\ncpu_user_ms %llu\n"
                "cpu_sys_ms %llu\nmem_peak_bytes %llu\npids_peak %llu\nio_read_bytes %llu\n"
                "io_write_bytes %llu\nstdout_bytes %llu\nstderr_bytes %llu\n"
                "stdout_dropped_bytes %llu\nstderr_dropped_bytes %llu\nexit_code %d\n"
                "signal %s\noom_kills %llu\nviolations %llu\nthrottled_ms %llu\n"
                "net_requests %llu\nnet_blocked %llu\nnet_bytes_in %llu\nnet_bytes_out %llu\n"
                "reason %s\nstatus %s\n",
                e->n, (unsigned long long)e->start_ms, (unsigned long long)end_ms,
                (unsigned long long)wall_ms, (unsigned long long)(st.cpu_user_us / 1000),
                (unsigned long long)(st.cpu_sys_us / 1000), (unsigned long long)st.mem_peak,
                (unsigned long long)st.pids_peak, (unsigned long long)st.io_read,
                (unsigned long long)st.io_write, (unsigned long long)e->out.bytes,
                (unsigned long long)e->err.bytes, (unsigned long long)e->out.dropped,
                (unsigned long long)e->err.dropped,
                WIFEXITED(e->wstatus) ? WEXITSTATUS(e->wstatus) : -1,
                sig || WIFSIGNALED(e->wstatus) ? sbx_signal_name(WTERMSIG(e->wstatus)) : "-",
                (unsigned long long)st.oom_kills, (unsigned long long)e->n_viol,
                (unsigned long long)(st.throttled_us / 1000),
                (unsigned long long)(s->net_requests - e->net0_req), (unsigned long long)n_blocked,
                (unsigned long long)(s->net_bytes_in - e->net0_in),
                (unsigned long long)(s->net_bytes_out - e->net0_out), word, status->str);
        sbx_write_atomic(e->dirfd, SBX_E_METRICS, m, strlen(m), 0644);
        g_string_append_c(status, '\n');
        sbx_write_atomic(e->dirfd, SBX_E_STATUS, status->str, status->len, 0644);
        g_string_truncate(status, status->len - 1);
        sbx_event(s->state_fd, s->dir_fd, s->name, "exec %u ended %s", e->n, status->str);
        /* After the status: nobody waits for the rmdir. */
        if (sbx_cg_try_remove(&e->cg) == -EBUSY)
                bury(&e->cg);
        if (st.mem_high_events)
                sbx_event(s->state_fd, s->dir_fd, s->name, "exec %u memory-high %llu", e->n,
                          (unsigned long long)st.mem_high_events);

        s->cpu_user_ms += st.cpu_user_us / 1000;
        s->cpu_sys_ms += st.cpu_sys_us / 1000;
        if (st.mem_peak > s->mem_peak)
                s->mem_peak = st.mem_peak;
        s->out_bytes += e->out.bytes;
        s->err_bytes += e->err.bytes;
        s->oom_kills += st.oom_kills;
        s->violations += e->n_viol;
        s->timeouts += e->cause == CAUSE_TIMEOUT;
        g_hash_table_remove(s->execs, GUINT_TO_POINTER(e->n));
        exec_update_metrics(s);
        g_free(m);
        g_free(reason);
        g_string_free(status, TRUE);
        exec_free(e);
}

static void maybe_finish(struct exec *e)
{
        if (e->reaped && e->out.pipe < 0 && e->err.pipe < 0)
                finish(e);
}

/* The environment of every exec: small and clean, plus <dir>/env. */
static char **make_env(struct sup *s, unsigned n, const struct sbx_config *cfg)
{
        GPtrArray *a = g_ptr_array_new();
        char *text = NULL;

        g_ptr_array_add(a, g_strdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
        g_ptr_array_add(a, g_strdup("HOME=/workspace"));
        g_ptr_array_add(a, g_strdup("PWD=/workspace"));
        g_ptr_array_add(a, g_strdup("USER=root"));
        g_ptr_array_add(a, g_strdup("LOGNAME=root"));
        g_ptr_array_add(a, g_strdup("SHELL=/bin/sh"));
        g_ptr_array_add(a, g_strdup("TERM=dumb"));
        g_ptr_array_add(a, g_strdup("LANG=C.UTF-8"));
        g_ptr_array_add(a, g_strdup_printf("SBX_SANDBOX=%s", s->name));
        g_ptr_array_add(a, g_strdup_printf("SBX_EXEC=%u", n));
        /* Egress goes through the supervisor's proxy on the sandbox's own
         * loopback (proxy.c); with net none there is none to name. */
        if (cfg->net != SBX_NET_NONE) {
                static const char *const vars[] = { "HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
                                                    "https_proxy", "ALL_PROXY", "all_proxy" };
                for (size_t i = 0; i < G_N_ELEMENTS(vars); i++)
                        g_ptr_array_add(a, g_strdup_printf("%s=%s", vars[i], SBX_PROXY_URL));
                g_ptr_array_add(a, g_strdup("NO_PROXY=localhost,127.0.0.1,::1"));
                g_ptr_array_add(a, g_strdup("no_proxy=localhost,127.0.0.1,::1"));
        }
        if (sbx_read_file(s->dir_fd, SBX_F_ENV, 1 << 20, &text, NULL) == 0) {
                gchar **lines = g_strsplit(text, "\n", -1);
                for (int i = 0; lines[i]; i++) {
                        char *eq = strchr(lines[i], '=');
                        if (eq && eq != lines[i])
                                g_ptr_array_add(a, g_strdup(lines[i]));
                }
                g_strfreev(lines);
                free(text);
        }
        g_ptr_array_add(a, NULL);
        return (char **)g_ptr_array_free(a, FALSE);
}

unsigned exec_next_number(struct sup *s)
{
        GDir *d;
        char path[4096];
        unsigned max = 0;
        const char *n;

        snprintf(path, sizeof path, "%s/%s", s->dir, SBX_D_EXECS);
        d = g_dir_open(path, 0, NULL);
        while (d && (n = g_dir_read_name(d))) {
                unsigned v = (unsigned)strtoul(n[0] == '.' ? n + 1 : n, NULL, 10);
                if (v > max)
                        max = v;
        }
        if (d)
                g_dir_close(d);
        return max + 1;
}

void exec_load_totals(struct sup *s)
{
        char *t = NULL;

        if (sbx_read_file(s->dir_fd, SBX_F_METRICS, 1 << 16, &t, NULL) < 0)
                return;
        s->n_execs = sbx_cg_keyed(t, "execs");
        s->cpu_user_ms = sbx_cg_keyed(t, "cpu_user_ms");
        s->cpu_sys_ms = sbx_cg_keyed(t, "cpu_sys_ms");
        s->mem_peak = sbx_cg_keyed(t, "mem_peak_bytes");
        s->out_bytes = sbx_cg_keyed(t, "stdout_bytes");
        s->err_bytes = sbx_cg_keyed(t, "stderr_bytes");
        s->oom_kills = sbx_cg_keyed(t, "oom_kills");
        s->violations = sbx_cg_keyed(t, "violations");
        s->timeouts = sbx_cg_keyed(t, "timeouts");
        s->net_requests = sbx_cg_keyed(t, "net_requests");
        s->net_blocked = sbx_cg_keyed(t, "net_blocked");
        s->net_bytes_in = sbx_cg_keyed(t, "net_bytes_in");
        s->net_bytes_out = sbx_cg_keyed(t, "net_bytes_out");
        free(t);
}

void exec_mark_lost(struct sup *s)
{
        GDir *d;
        char path[4096];
        const char *n;

        snprintf(path, sizeof path, "%s/%s", s->dir, SBX_D_EXECS);
        d = g_dir_open(path, 0, NULL);
        while (d && (n = g_dir_read_name(d))) {
                char *st = NULL;
                if (n[0] == '.')
                        continue;
                int fd = openat(s->execs_fd, n, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0)
                        continue;
                if (sbx_read_file(fd, SBX_E_STATUS, 4096, &st, NULL) == 0 &&
                    strncmp(st, SBX_STATUS_RUNNING, strlen(SBX_STATUS_RUNNING)) == 0) {
                        const char *m = "reason lost\nstatus lost\n";
                        sbx_write_atomic(fd, SBX_E_METRICS, m, strlen(m), 0644);
                        sbx_write_atomic(fd, SBX_E_STATUS, "lost\n", 5, 0644);
                        sbx_event(s->state_fd, s->dir_fd, s->name, "exec %s ended lost", n);
                }
                free(st);
                close(fd);
        }
        if (d)
                g_dir_close(d);
}

/* An exec that could not start still exists and says why. */
static void fail_exec(struct sup *s, int dirfd, unsigned n, int err, const char *why)
{
        char *status = g_strdup_printf("failed %s\n", sbx_errno_name(err));
        char *m = g_strdup_printf("exec %u\nstart_ms %llu\nend_ms %llu\nwall_ms 0\nexit_code -1\n"
                                  "signal -\nreason failed\nstatus failed %s\n", n,
                                  (unsigned long long)sbx_now_ms(), (unsigned long long)sbx_now_ms(),
                                  sbx_errno_name(err));
        sbx_write_atomic(dirfd, SBX_E_METRICS, m, strlen(m), 0644);
        sbx_write_atomic(dirfd, SBX_E_STATUS, status, strlen(status), 0644);
        sbx_event(s->state_fd, s->dir_fd, s->name, "exec %u ended failed %s: %s", n,
                  sbx_errno_name(err), why);
        g_free(status);
        g_free(m);
}

/* Create one file of a new exec directory.  The directory is not in
 * place yet (execs/.N.tmp), so no one can see a half-written file and a
 * plain write will do.  Returns the fd (kept open when keep) or -errno. */
static int make_file(int dirfd, const char *name, const void *buf, size_t len, bool keep)
{
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        const char *p = buf;

        if (fd < 0)
                return -errno;
        while (len > 0) {
                ssize_t w = write(fd, p, len);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0) {
                        int e = -errno;
                        close(fd);
                        return e;
                }
                p += w;
                len -= (size_t)w;
        }
        if (!keep) {
                close(fd);
                return 0;
        }
        return fd;
}

/* Build execs/.N.tmp with cmd, stdout, stderr, status "running" and the
 * stdin FIFO, then rename it to execs/N.  Returns the directory's fd and
 * the open stdout and stderr files, or -errno with *why. */
static int make_exec_dir(struct sup *s, unsigned n, const char *body, size_t len,
                         int *out, int *err, char **why)
{
        char tmp[32], name[32];
        const char *step;
        int fd, r;

        *out = *err = -1;
        snprintf(tmp, sizeof tmp, ".%u.tmp", n);
        snprintf(name, sizeof name, "%u", n);
        if (mkdirat(s->execs_fd, tmp, 0755) < 0) {
                r = -errno;
                *why = g_strdup_printf("mkdir execs/%s: %s", tmp, g_strerror(-r));
                return r;
        }
        fd = openat(s->execs_fd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                *why = g_strdup_printf("open execs/%s: %s", tmp, g_strerror(-r));
                return r;
        }
        if ((r = make_file(fd, SBX_E_CMD, body, len, false)) < 0) {
                step = SBX_E_CMD;
        } else if ((r = *out = make_file(fd, SBX_E_STDOUT, "", 0, true)) < 0) {
                step = SBX_E_STDOUT;
        } else if ((r = *err = make_file(fd, SBX_E_STDERR, "", 0, true)) < 0) {
                step = SBX_E_STDERR;
        } else if ((r = make_file(fd, SBX_E_STATUS, "running\n", 8, false)) < 0) {
                step = SBX_E_STATUS;
        } else if (mkfifoat(fd, SBX_E_STDIN, 0622) < 0) {
                r = -errno;
                step = "stdin FIFO";
        } else if (renameat(s->execs_fd, tmp, s->execs_fd, name) < 0) {
                r = -errno;
                step = "rename into place";
        } else {
                return fd;
        }
        *why = g_strdup_printf("execs/%u: %s: %s", n, step, g_strerror(-r));
        if (*out >= 0)
                close(*out);
        if (*err >= 0)
                close(*err);
        *out = *err = -1;
        close(fd);
        return r;
}

int exec_start(struct sup *s, const char *body, size_t len, char **why)
{
        struct sbx_config cfg;
        int r;

        *why = NULL;
        if (s->destroying) {
                *why = g_strdup("sandbox is being destroyed");
                return -ESHUTDOWN;
        }
        if (len == 0) {
                *why = g_strdup("empty command");
                return -EINVAL;
        }
        if ((r = sbx_config_load(&cfg, s->dir, why)) < 0)
                return r;

        unsigned n = s->next++;
        int outfd, errfd;
        int dirfd = make_exec_dir(s, n, body, len, &outfd, &errfd, why);
        if (dirfd < 0)
                return dirfd;

        struct exec *e = g_new0(struct exec, 1);
        e->s = s;
        e->n = n;
        e->dirfd = dirfd;
        e->cfg = cfg;
        e->out.pipe = e->err.pipe = -1;
        e->out.file = outfd;
        e->err.file = errfd;
        e->stdin_keep = e->listener = -1;
        e->viol = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        e->start_ms = sbx_now_ms();
        e->start_ns = sbx_mono_ns();
        s->n_execs++;
        e->net0_req = s->net_requests;
        e->net0_in = s->net_bytes_in;
        e->net0_out = s->net_bytes_out;
        /* direct attempts of earlier execs are not this one's */
        uint64_t noroute = proxy_noroute_count(s);
        if (noroute > s->noroute_seen) {
                s->net_blocked += noroute - s->noroute_seen;
                s->noroute_seen = noroute;
        }
        e->net0_blocked = s->net_blocked;

        /* argv: a #! script is run by the kernel itself; a command line
         * by sh -c, or sh FILE when too long for one argument. */
        char script[64], *argv[4] = { NULL };
        bool is_script = len >= 2 && body[0] == '#' && body[1] == '!';
        bool long_cmd = len >= 65536 || memchr(body, '\0', len);
        snprintf(script, sizeof script, "%s/%u", SBX_SCRIPTS_INSIDE, n);
        if (is_script || long_cmd) {
                char file[32];
                int sfd = openat(s->dir_fd, SBX_D_SCRIPTS, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                snprintf(file, sizeof file, "%u", n);
                r = sfd < 0 ? -errno : sbx_write_atomic(sfd, file, body, len, 0755);
                if (sfd >= 0)
                        close(sfd);
                if (r < 0) {
                        fail_exec(s, dirfd, n, -r, "cannot write the script");
                        exec_free(e);
                        return (int)n;
                }
        }
        char *cmd = NULL;
        if (is_script) {
                argv[0] = script;
        } else if (long_cmd) {
                argv[0] = "/bin/sh";
                argv[1] = script;
        } else {
                cmd = g_strndup(body, len);
                argv[0] = "/bin/sh";
                argv[1] = "-c";
                argv[2] = cmd;
        }

        int in_rd = -1, outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
        char *reason = NULL;
        int err = 0;
        /* stdin: the FIFO; we hold a write end so the process does not see
         * EOF before anyone writes.  stdin-close drops it. */
        in_rd = openat(dirfd, SBX_E_STDIN, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (in_rd >= 0) {
                e->stdin_keep = openat(dirfd, SBX_E_STDIN, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
                fcntl(in_rd, F_SETFL, 0);
        }
        if (in_rd < 0 || e->stdin_keep < 0 ||
            pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
                err = errno;
                reason = g_strdup_printf("open stdio: %s", g_strerror(err));
        }
        if (!err) {
                fcntl(outp[0], F_SETPIPE_SZ, 1 << 20);
                char cgname[32];
                snprintf(cgname, sizeof cgname, "exec-%u", n);
                r = sbx_cg_create_child(&e->cg, &s->sb.cg, cgname, &cfg, &reason);
                if (r < 0)
                        err = -r;
        }
        const struct sock_fprog *filter = NULL;
        if (!err && cfg.seccomp != SBX_SECCOMP_OFF) {
                filter = sbx_seccomp_program(cfg.seccomp, &reason);
                if (!filter)
                        err = EIO;
        }
        char **envp = make_env(s, n, &cfg);
        if (!err) {
                struct sbx_spawn sp = {
                        .argv = argv, .envp = envp, .stdin_fd = in_rd,
                        .stdout_fd = outp[1], .stderr_fd = errp[1],
                        .cg = &e->cg, .cfg = &cfg, .filter = filter,
                };
                e->pid = sbx_sandbox_spawn(&s->sb, &sp, &e->listener, &reason);
                if (e->pid < 0)
                        err = -e->pid;
        }
        g_strfreev(envp);
        g_free(cmd);
        if (in_rd >= 0)
                close(in_rd);
        if (outp[1] >= 0)
                close(outp[1]);
        if (errp[1] >= 0)
                close(errp[1]);
        if (err) {
                if (outp[0] >= 0)
                        close(outp[0]);
                if (errp[0] >= 0)
                        close(errp[0]);
                if (e->cg.path[0] || e->cg.path[1] || e->cg.path[2] || e->cg.path[3])
                        sbx_cg_remove(&e->cg);
                fail_exec(s, dirfd, n, err, reason ? reason : g_strerror(err));
                g_free(reason);
                exec_free(e);
                return (int)n;
        }
        /* The helper has gone: the exec's own pids limit.  (It may have
         * forked once more meanwhile; that process stays.) */
        if (cfg.pids != SBX_MAX && (r = sbx_cg_set_pids(&e->cg, cfg.pids)) < 0)
                sbx_event(s->state_fd, s->dir_fd, s->name, "error exec %u: set pids.max: %s",
                          n, g_strerror(-r));
        e->out.pipe = outp[0];
        e->err.pipe = errp[0];
        g_unix_set_fd_nonblocking(e->out.pipe, TRUE, NULL);
        g_unix_set_fd_nonblocking(e->err.pipe, TRUE, NULL);
        e->out.src = g_unix_fd_add(e->out.pipe, G_IO_IN | G_IO_HUP | G_IO_ERR, on_output, e);
        e->err.src = g_unix_fd_add(e->err.pipe, G_IO_IN | G_IO_HUP | G_IO_ERR, on_output, e);
        if (e->listener >= 0)
                e->listen_src = g_unix_fd_add(e->listener, G_IO_IN | G_IO_HUP | G_IO_ERR, on_violation, e);
        e->child_src = g_child_watch_add(e->pid, on_child, e);
        if (cfg.timeout_ms != SBX_MAX)
                e->timer = g_timeout_add(cfg.timeout_ms > G_MAXUINT ? G_MAXUINT : (guint)cfg.timeout_ms,
                                         on_timeout, e);
        if (cfg.cpu_ms != SBX_MAX)
                arm_cpu_check(e, cfg.cpu_ms);
        g_hash_table_insert(s->execs, GUINT_TO_POINTER(n), e);
        sbx_event(s->state_fd, s->dir_fd, s->name, "exec %u started", n);
        return (int)n;
}

int exec_kill(struct sup *s, unsigned n, int sig)
{
        struct exec *e = g_hash_table_lookup(s->execs, GUINT_TO_POINTER(n));

        if (!e)
                return n > 0 && n < s->next ? -ESRCH : -ENOENT;
        if (e->cause == CAUSE_NONE)
                e->cause = CAUSE_KILL;
        e->kill_sig = sig;
        /* The whole process tree: everything in the exec's cgroup. */
        if (sig == SIGKILL)
                return sbx_cg_kill(&e->cg);
        return sbx_cg_signal(&e->cg, sig);
}

int exec_stdin_close(struct sup *s, unsigned n)
{
        struct exec *e = g_hash_table_lookup(s->execs, GUINT_TO_POINTER(n));

        if (!e)
                return n > 0 && n < s->next ? 0 : -ENOENT;
        if (e->stdin_keep >= 0) {
                close(e->stdin_keep);
                e->stdin_keep = -1;
        }
        return 0;
}

void exec_kill_all(struct sup *s, const char *reason)
{
        GList *all = g_hash_table_get_values(s->execs);

        /* Kill every exec before waiting for any: one exec's process may
         * hold another's output pipe open (via /proc/N/fd). */
        for (GList *l = all; l; l = l->next) {
                struct exec *e = l->data;
                if (e->cause == CAUSE_NONE)
                        e->cause = CAUSE_SHUTDOWN;
                sbx_cg_kill(&e->cg);
        }
        for (GList *l = all; l; l = l->next) {
                struct exec *e = l->data;
                if (e->child_src) {
                        g_source_remove(e->child_src);
                        e->child_src = 0;
                }
                int st = 0;
                if (!e->reaped && waitpid(e->pid, &st, 0) == e->pid) {
                        e->reaped = true;
                        e->wstatus = st;
                }
                e->reaped = true;
                /* Killed writers close their ends: drain to EOF, blocking. */
                struct stream *ss[2] = { &e->out, &e->err };
                for (int i = 0; i < 2; i++) {
                        if (ss[i]->pipe < 0)
                                continue;
                        g_unix_set_fd_nonblocking(ss[i]->pipe, FALSE, NULL);
                        while (drain(e, ss[i]))
                                ;
                        stream_close(ss[i]);
                }
                sbx_event(s->state_fd, s->dir_fd, s->name, "exec %u killed: %s", e->n, reason);
                finish(e);
        }
        g_list_free(all);
        graves_flush();
}
