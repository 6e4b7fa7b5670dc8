/* sbx-supervisor: owns one sandbox.  Started by sbxfs, detached from it
 * (own session), it keeps the sandbox's init, runs execs, and answers the
 * line protocol of include/sbx/protocol.h on <state>/<name>/sock. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "exec.h"
#include "proxy.h"
#include "seccomp.h"
#include "workspace.h"
#include "sbx/protocol.h"
#include "sbx/state.h"
#include "sbx/util.h"

static struct sup S;
static int ready_fd = -1;

static void usage(FILE *f)
{
        fprintf(f, "usage: sbx-supervisor --state DIR --name NAME [--ready-fd N] [--foreground]\n"
                   "Runs one sbxfs sandbox; normally started by sbxfs.  See sbx-supervisor(1).\n");
}

/* Tell sbxfs how the start went: "ok PID" or "error ERRNAME reason". */
static void ready(int err, const char *why)
{
        if (ready_fd < 0)
                return;
        if (err)
                dprintf(ready_fd, "error %s %s\n", sbx_errno_name(err), why ? why : "");
        else
                dprintf(ready_fd, "ok %d\n", (int)getpid());
        close(ready_fd);
        ready_fd = -1;
}

static void teardown_cgroups(void)
{
        sbx_cg_remove(&S.sb.init_cg);
        if (sbx_cg_remove(&S.sb.cg) == 0)
                unlinkat(S.dir_fd, SBX_CG_RECORD, 0);
}

static int destroy(void)
{
        S.destroying = true;
        proxy_stop(&S);
        exec_kill_all(&S, "sandbox destroyed");
        sbx_sandbox_stop(&S.sb);
        teardown_cgroups();
        sbx_workspace_umount(S.dir);
        int r = sbx_rm_tree_at(S.state_fd, S.name);
        if (r == 0)
                sbx_event(S.state_fd, -1, S.name, "destroyed");
        return r;
}

static gboolean on_term(gpointer data)
{
        (void)data;
        /* Orderly stop: the state stays, the processes and cgroups go. */
        proxy_stop(&S);
        exec_kill_all(&S, "supervisor stopped");
        sbx_sandbox_stop(&S.sb);
        teardown_cgroups();
        sbx_workspace_umount(S.dir);
        unlinkat(S.dir_fd, SBX_F_SOCK, 0);
        g_main_loop_quit(S.loop);
        return G_SOURCE_REMOVE;
}

static bool parse_uint(const char *s, unsigned *out)
{
        char *end;
        unsigned long v;

        if (!s || !*s)
                return false;
        v = strtoul(s, &end, 10);
        if (*end || v == 0 || v > UINT32_MAX)
                return false;
        *out = (unsigned)v;
        return true;
}

/* One request; false when the connection should close. */
static bool handle(int fd)
{
        char line[SBX_PROTO_LINE_MAX], *why = NULL;
        ssize_t n = sbx_proto_read_line(fd, line, sizeof line);

        if (n <= 0)
                return false;
        gchar **w = g_strsplit_set(line, " \t", -1);
        int nw = (int)g_strv_length(w);
        const char *verb = nw ? w[0] : "";
        unsigned num;
        int r;

        if (strcmp(verb, "ping") == 0 && nw == 1) {
                sbx_proto_reply_ok(fd, "%d %u", (int)getpid(), g_hash_table_size(S.execs));
        } else if (strcmp(verb, "exec") == 0 && nw == 2) {
                char *end;
                unsigned long long len = strtoull(w[1], &end, 10);
                if (*end || len > SBX_EXEC_MAX_BYTES) {
                        sbx_proto_reply_err(fd, *end ? EINVAL : EFBIG, "bad length %s", w[1]);
                        g_strfreev(w);
                        return false;
                }
                char *body = g_malloc(len + 1);
                size_t got = 0;
                while (got < len) {
                        ssize_t k = read(fd, body + got, len - got);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0)
                                break;
                        got += (size_t)k;
                }
                if (got < len) {
                        g_free(body);
                        g_strfreev(w);
                        return false;
                }
                r = exec_start(&S, body, len, &why);
                if (r > 0)
                        sbx_proto_reply_ok(fd, "%d", r);
                else
                        sbx_proto_reply_err(fd, -r, "%s", why ? why : g_strerror(-r));
                g_free(body);
        } else if (strcmp(verb, "kill") == 0 && (nw == 2 || nw == 3) && parse_uint(w[1], &num)) {
                int sig = nw == 3 ? sbx_signal_parse(w[2]) : SIGTERM;
                if (sig < 0)
                        sbx_proto_reply_err(fd, EINVAL, "unknown signal %s", w[2]);
                else if ((r = exec_kill(&S, num, sig)) < 0)
                        sbx_proto_reply_err(fd, -r, "exec %u %s", num,
                                            r == -ESRCH ? "has ended" : "does not exist");
                else
                        sbx_proto_reply_ok(fd, NULL);
        } else if (strcmp(verb, "stdin-close") == 0 && nw == 2 && parse_uint(w[1], &num)) {
                if ((r = exec_stdin_close(&S, num)) < 0)
                        sbx_proto_reply_err(fd, -r, "exec %u does not exist", num);
                else
                        sbx_proto_reply_ok(fd, NULL);
        } else if (strcmp(verb, "destroy") == 0 && nw == 1) {
                r = destroy();
                if (r < 0)
                        sbx_proto_reply_err(fd, -r, "removing the state: %s", g_strerror(-r));
                else
                        sbx_proto_reply_ok(fd, NULL);
                g_main_loop_quit(S.loop);
                g_strfreev(w);
                return false;
        } else {
                sbx_proto_reply_err(fd, EINVAL, "bad request '%s'", line);
        }
        g_free(why);
        g_strfreev(w);
        return true;
}

static gboolean on_client(gint fd, GIOCondition cond, gpointer data)
{
        (void)data;
        if ((cond & G_IO_IN) && handle(fd))
                return G_SOURCE_CONTINUE;
        close(fd);
        return G_SOURCE_REMOVE;
}

static gboolean on_accept(gint fd, GIOCondition cond, gpointer data)
{
        (void)cond;
        (void)data;
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (c >= 0)
                g_unix_fd_add(c, G_IO_IN | G_IO_HUP | G_IO_ERR, on_client, NULL);
        return G_SOURCE_CONTINUE;
}

static int listen_sock(char **why)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", S.dir, SBX_F_SOCK) >= (int)sizeof sa.sun_path) {
                *why = g_strdup_printf("socket path %s/%s is too long", S.dir, SBX_F_SOCK);
                return -ENAMETOOLONG;
        }
        unlink(sa.sun_path);
        mode_t old = umask(0077);
        int r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
        umask(old);
        if (fd < 0 || r < 0 || listen(fd, 64) < 0) {
                *why = g_strdup_printf("listen on %s: %s", sa.sun_path, g_strerror(errno));
                return -errno;
        }
        return fd;
}

static int start(char **why)
{
        struct sbx_config cfg;
        char path[4096], *pwhy = NULL;
        uid_t uidbase;
        int r;

        S.state_fd = open(S.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        S.dir_fd = openat(S.state_fd, S.name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (S.state_fd < 0 || S.dir_fd < 0) {
                *why = g_strdup_printf("open %s: %s", S.dir, g_strerror(errno));
                return -errno;
        }
        mkdirat(S.dir_fd, SBX_D_EXECS, 0755);
        S.execs_fd = openat(S.dir_fd, SBX_D_EXECS, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (S.execs_fd < 0) {
                *why = g_strdup_printf("open %s/execs: %s", S.dir, g_strerror(errno));
                return -errno;
        }
        /* One supervisor per sandbox, for as long as it lives. */
        int lock = openat(S.dir_fd, "supervisor.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0) {
                *why = g_strdup("already supervised");
                return -EBUSY;
        }
        snprintf(path, sizeof path, "%d\n", (int)getpid());
        sbx_write_atomic(S.dir_fd, SBX_F_PID, path, strlen(path), 0644);
        exec_load_totals(&S);
        exec_mark_lost(&S);
        S.next = exec_next_number(&S);
        /* The operator's profiles, as sbxfs was told (-o profiles). */
        const char *profiles = getenv("SBX_PROFILES");
        if ((r = sbx_profiles_load(profiles ? profiles : SBX_PROFILES_PATH, why)) < 0)
                return r;
        if ((r = sbx_config_load(&cfg, S.dir, why)) < 0)
                return r;
        if ((r = sbx_uidbase_get(S.state_dir, S.dir, &uidbase, why)) < 0)
                return r;
        if ((r = sbx_cg_init(why)) < 0)
                return r;
        /* What a crashed predecessor left behind (its init is gone with
         * it, PR_SET_PDEATHSIG). */
        sbx_cg_clean_stale(S.dir_fd);
        /* Compile the filter now, once, so execs only install it. */
        if (cfg.seccomp != SBX_SECCOMP_OFF && !sbx_seccomp_program(cfg.seccomp, why))
                return -EIO;
        if ((r = sbx_sandbox_start(&S.sb, S.dir, S.name, uidbase, &cfg, why)) < 0) {
                teardown_cgroups();
                return r;
        }
        if ((r = sbx_cg_save(&S.sb.cg, S.dir_fd)) < 0)
                sbx_event(S.state_fd, S.dir_fd, S.name, "error supervisor: record cgroups: %s",
                          g_strerror(-r));
        /* The egress proxy listens on the sandbox's 127.0.0.1:3128 whatever
         * net says now (the config may change); without it the sandbox
         * still runs, offline. */
        if ((r = proxy_start(&S, &pwhy)) < 0) {
                sbx_event(S.state_fd, S.dir_fd, S.name, "error supervisor: %s", pwhy);
                g_free(pwhy);
        }
        S.noroute_seen = proxy_noroute_count(&S);
        snprintf(path, sizeof path, "%d\n", (int)S.sb.init_pid);
        sbx_write_atomic(S.dir_fd, SBX_F_INITPID, path, strlen(path), 0644);
        int ls = listen_sock(why);
        if (ls < 0) {
                sbx_sandbox_stop(&S.sb);
                teardown_cgroups();
                return ls;
        }
        g_unix_fd_add(ls, G_IO_IN, on_accept, NULL);
        sbx_event(S.state_fd, S.dir_fd, S.name, "supervisor %d ready uids=%u cgroups: %s",
                  (int)getpid(), (unsigned)uidbase, sbx_cg_describe());
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                { "state", required_argument, NULL, 's' },
                { "name", required_argument, NULL, 'n' },
                { "ready-fd", required_argument, NULL, 'r' },
                { "foreground", no_argument, NULL, 'f' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { NULL, 0, NULL, 0 },
        };
        bool fg = false;
        int c;

        /* argv and environ strings: one block, from argv[0] to the end of
         * the last environment string (see sandbox.h). */
        {
                char *end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
                for (char **e = environ; *e; e++)
                        if (*e > argv[0] && *e + strlen(*e) + 1 > end)
                                end = *e + strlen(*e) + 1;
                sbx_host_strings.start = argv[0];
                sbx_host_strings.len = (size_t)(end - argv[0]);
        }

        while ((c = getopt_long(argc, argv, "s:n:r:fhV", opts, NULL)) != -1) {
                switch (c) {
                case 's': S.state_dir = realpath(optarg, NULL); if (!S.state_dir) S.state_dir = g_strdup(optarg); break;
                case 'n': S.name = g_strdup(optarg); break;
                case 'r': ready_fd = atoi(optarg); break;
                case 'f': fg = true; break;
                case 'h': usage(stdout); return 0;
                case 'V': printf("sbx-supervisor %s\n", SBX_VERSION); return 0;
                default: usage(stderr); return 2;
                }
        }
        if (!S.state_dir || !S.name || !sbx_name_valid(S.name) || strlen(S.state_dir) > 2048) {
                usage(stderr);
                ready(EINVAL, "bad arguments");
                return 2;
        }
        S.dir = g_strdup_printf("%s/%s", S.state_dir, S.name);
        signal(SIGPIPE, SIG_IGN);
        /* The modes of the state's files are ours, not the starter's. */
        umask(022);
        if (!fg) {
                /* Detach: a new session, away from sbxfs, so it can die
                 * or be restarted while the sandbox runs on. */
                pid_t p = fork();
                if (p < 0) {
                        ready(errno, "fork failed");
                        return 1;
                }
                if (p > 0)
                        _exit(0);
                setsid();
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null >= 0) {
                        dup2(null, 0);
                        dup2(null, 1);
                        dup2(null, 2);
                        close(null);
                }
        }
        S.execs = g_hash_table_new(NULL, NULL);
        S.loop = g_main_loop_new(NULL, FALSE);
        char *why = NULL;
        int r = start(&why);
        if (r < 0) {
                if (S.state_fd >= 0 && S.dir_fd >= 0)
                        sbx_event(S.state_fd, S.dir_fd, S.name, "error supervisor: %s", why);
                fprintf(stderr, "sbx-supervisor: %s: %s\n", S.name, why);
                ready(-r, why);
                return 1;
        }
        ready(0, NULL);
        g_unix_signal_add(SIGTERM, on_term, NULL);
        g_unix_signal_add(SIGINT, on_term, NULL);
        g_main_loop_run(S.loop);
        return 0;
}
