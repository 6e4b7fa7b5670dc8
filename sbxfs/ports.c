/* ports.c: <box>/ports/ — services in a sandbox exposed as preview URLs.
 *
 *   ports/<port>/          mkdir exposes, rmdir unexposes (1024-65535)
 *     url                  http://<port>-<box>-<token>.localhost:<p>/
 *     token                the token (made at first use: reading url or
 *                          token); a custom one (1-16 of a-z 0-9 _) may
 *                          be written before that, later gives EBUSY
 *     status               listening, connections, bytes ("key value")
 *     ready                a read blocks until the port accepts inside
 *                          the sandbox ("ready\n"), ETIMEDOUT after 30 s
 *     ctl                  "tcp" starts a raw TCP forward, "notcp" ends it
 *     tcp                  "127.0.0.1:<p>\n" while the forward is on
 *
 * The exposure itself is the directory <state>/<box>/ports/<port>/ (and
 * its token file), so it survives a restart of sbxfs; the counters in
 * status are this daemon's only.
 *
 * Into the sandbox: the sandbox's network namespace has only lo, and it
 * gets no route out.  A connection is made by a short-lived thread that
 * setns(CLONE_NEWNET)s into /proc/<init>/ns/net and creates the socket
 * there; a socket keeps its namespace after the thread is gone, so the
 * relay (router.c, or a tcp forward here) works on it from the host. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbxfs.h"
#include "sbx/preview.h"
#include "sbx/state.h"
#include "sbx/util.h"

#define READY_TIMEOUT_MS   30000
#define READY_POLL_MS      100
#define CONNECT_TIMEOUT_MS 5000
#define RELAY_CHUNK        65536

/* In-memory side of one exposure: counters, open connections, forward. */
struct pstat {
        char box[SBX_NAME_MAX + 1];
        unsigned port;
        atomic_uint_fast64_t open, total, bytes_in, bytes_out;
        GList *conns;           /* struct conn*, under lock */
        int fwd_fd;             /* tcp forward listener, -1 when off */
        unsigned fwd_port;
};

struct conn {
        int a, b;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;        /* stats, conns, forwards */
static pthread_mutex_t tlock = PTHREAD_MUTEX_INITIALIZER;       /* token files */
static GHashTable *stats;       /* "box/port" -> struct pstat* (never freed) */
static ino_t host_netns;

static struct pstat *pstat_get(const char *box, unsigned port)
{
        char key[SBX_NAME_MAX + 16];
        struct pstat *ps;

        snprintf(key, sizeof key, "%s/%u", box, port);
        pthread_mutex_lock(&lock);
        if (!stats)
                stats = g_hash_table_new(g_str_hash, g_str_equal);
        ps = g_hash_table_lookup(stats, key);
        if (!ps) {
                ps = g_new0(struct pstat, 1);
                g_strlcpy(ps->box, box, sizeof ps->box);
                ps->port = port;
                ps->fwd_fd = -1;
                g_hash_table_insert(stats, g_strdup(key), ps);
        }
        pthread_mutex_unlock(&lock);
        return ps;
}

/* ---- the state: <state>/<box>/ports/<port>/ ------------------------------ */

static int port_dirfd(const char *box, unsigned port)
{
        char path[SBX_NAME_MAX + 32];

        snprintf(path, sizeof path, "%s/%s/%u", box, SBX_D_PORTS, port);
        return openat(fs.state_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

static bool exposed(const char *box, unsigned port)
{
        int fd = sbx_name_valid(box) ? port_dirfd(box, port) : -1;

        if (fd < 0)
                return false;
        close(fd);
        return true;
}

/* The token of (box, port) into t (17 bytes).  create: make a random one
 * when there is none yet.  Returns 0, -ENOENT (no exposure, or no token and
 * !create) or -errno.  held: the caller holds tlock. */
static int token_get2(const char *box, unsigned port, char *t, bool create, bool held)
{
        char *text = NULL;
        int r, fd = port_dirfd(box, port);

        if (fd < 0)
                return -errno;
        if (!held)
                pthread_mutex_lock(&tlock);
        r = sbx_read_file(fd, SBX_P_TOKEN, 64, &text, NULL);
        if (r == 0) {
                g_strstrip(text);
                r = sbx_token_valid(text) ? 0 : -EIO;
                if (r == 0)
                        g_strlcpy(t, text, SBX_TOKEN_MAX + 1);
                free(text);
        } else if (r == -ENOENT && create) {
                char line[SBX_TOKEN_MAX + 2];
                if ((r = sbx_random_id(t, SBX_TOKEN_DEFAULT_LEN)) == 0) {
                        snprintf(line, sizeof line, "%s\n", t);
                        r = sbx_write_atomic(fd, SBX_P_TOKEN, line, strlen(line), 0600);
                }
        }
        if (!held)
                pthread_mutex_unlock(&tlock);
        close(fd);
        return r;
}

static int token_get(const char *box, unsigned port, char *t, bool create)
{
        return token_get2(box, port, t, create, false);
}

struct pstat *ports_route(const char *box, unsigned port, const char *tok)
{
        char t[SBX_TOKEN_MAX + 1] = "";

        /* Every miss ends the same way; the token compare is constant time. */
        if (!sbx_name_valid(box) || port < SBX_PORT_MIN || port > SBX_PORT_MAX)
                return NULL;
        if (token_get(box, port, t, false) < 0)
                return NULL;
        if (!sbx_token_equal(t, tok))
                return NULL;
        return pstat_get(box, port);
}

/* ---- connecting inside the sandbox --------------------------------------- */

static int open_netns(const char *box)
{
        char path[SBX_NAME_MAX + 32], *pid = NULL, *status = NULL;
        struct stat st;
        int r, fd;

        snprintf(path, sizeof path, "%s/%s", box, SBX_F_INITPID);
        if ((r = sbx_read_file(fs.state_fd, path, 32, &pid, NULL)) < 0)
                return r == -ENOENT ? -EHOSTUNREACH : r;
        g_strstrip(pid);
        long v = strtol(pid, NULL, 10);
        free(pid);
        if (v <= 1)
                return -EHOSTUNREACH;
        snprintf(path, sizeof path, "/proc/%ld/ns/net", v);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
                return -EHOSTUNREACH;
        /* init.pid may be stale and the pid reused: the namespace must not
         * be ours, and the process must be pid 1 of its own pid namespace. */
        if (fstat(fd, &st) < 0 || st.st_ino == host_netns) {
                close(fd);
                return -EHOSTUNREACH;
        }
        snprintf(path, sizeof path, "/proc/%ld/status", v);
        if (sbx_read_file(AT_FDCWD, path, 65536, &status, NULL) < 0) {
                close(fd);
                return -EHOSTUNREACH;
        }
        char *ns = strstr(status, "\nNSpid:");
        char *eol = ns ? strchr(ns + 1, '\n') : NULL;
        if (eol)
                *eol = '\0';
        char *lastf = ns ? strrchr(ns, '\t') : NULL;
        bool is_init = lastf && strcmp(lastf + 1, "1") == 0 && lastf != strchr(ns, '\t');
        free(status);
        if (!is_init) {
                close(fd);
                return -EHOSTUNREACH;
        }
        return fd;
}

struct nsc {
        int nsfd;
        unsigned port;
        int fd;
        int err;
};

static void *nsc_thread(void *arg)
{
        struct nsc *c = arg;
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)c->port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

        /* This thread only: the socket is made in the sandbox's netns and
         * keeps it; the thread ends right after. */
        if (setns(c->nsfd, CLONE_NEWNET) < 0) {
                c->err = errno;
                return NULL;
        }
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (c->fd < 0) {
                c->err = errno;
                return NULL;
        }
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
                c->err = errno;
                close(c->fd);
                c->fd = -1;
        }
        return NULL;
}

int ports_connect(const char *box, unsigned port, int timeout_ms)
{
        struct nsc c = { .port = port, .fd = -1 };
        pthread_t th;
        int r;

        if ((c.nsfd = open_netns(box)) < 0)
                return c.nsfd;
        if ((r = pthread_create(&th, NULL, nsc_thread, &c)) != 0) {
                close(c.nsfd);
                return -r;
        }
        pthread_join(th, NULL);
        close(c.nsfd);
        if (c.fd < 0)
                return -c.err;
        struct pollfd p = { .fd = c.fd, .events = POLLOUT };
        int err = 0;
        socklen_t el = sizeof err;
        r = poll(&p, 1, timeout_ms);
        if (r <= 0)
                err = r == 0 ? ETIMEDOUT : errno;
        else if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
                err = errno;
        if (err) {
                close(c.fd);
                return -err;
        }
        return c.fd;
}

static bool listening(const char *box, unsigned port, int timeout_ms)
{
        int fd = ports_connect(box, port, timeout_ms);

        if (fd < 0)
                return false;
        close(fd);
        return true;
}

/* ---- relay ------------------------------------------------------------- */

struct leg {
        int src, dst;
        int pipe[2];
        size_t pend;            /* bytes in the pipe */
        bool eof, shut;
        atomic_uint_fast64_t *count;
};

/* Move what can be moved now.  Returns -1 on a fatal error. */
static int leg_step(struct leg *l, short rev_src, short rev_dst)
{
        if (!l->eof && l->pend == 0 && (rev_src & (POLLIN | POLLHUP | POLLERR))) {
                ssize_t n = splice(l->src, NULL, l->pipe[1], NULL, RELAY_CHUNK,
                                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                if (n > 0)
                        l->pend = (size_t)n;
                else if (n == 0)
                        l->eof = true;
                else if (errno != EAGAIN && errno != EINTR)
                        return -1;
        }
        if (l->pend > 0 && (rev_dst & (POLLOUT | POLLERR | POLLHUP) || rev_dst == 0)) {
                ssize_t n = splice(l->pipe[0], NULL, l->dst, NULL, l->pend,
                                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                if (n > 0) {
                        l->pend -= (size_t)n;
                        atomic_fetch_add(l->count, (uint64_t)n);
                } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                        return -1;
                }
        }
        if (l->eof && l->pend == 0 && !l->shut) {
                shutdown(l->dst, SHUT_WR);
                l->shut = true;
        }
        return 0;
}

static int write_all_nb(int fd, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
                if (n > 0) {
                        buf += n;
                        len -= (size_t)n;
                } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                        struct pollfd p = { .fd = fd, .events = POLLOUT };
                        if (poll(&p, 1, 30000) <= 0)
                                return -1;
                } else {
                        return -1;
                }
        }
        return 0;
}

void ports_relay(struct pstat *ps, int client, int upstream, const char *pre, size_t prelen)
{
        struct leg up = { .src = client, .dst = upstream, .pipe = { -1, -1 }, .count = &ps->bytes_in };
        struct leg down = { .src = upstream, .dst = client, .pipe = { -1, -1 }, .count = &ps->bytes_out };
        struct conn c = { client, upstream };

        atomic_fetch_add(&ps->open, 1);
        atomic_fetch_add(&ps->total, 1);
        pthread_mutex_lock(&lock);
        ps->conns = g_list_prepend(ps->conns, &c);
        pthread_mutex_unlock(&lock);

        fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK);
        fcntl(upstream, F_SETFL, fcntl(upstream, F_GETFL) | O_NONBLOCK);
        if (pipe2(up.pipe, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(down.pipe, O_CLOEXEC | O_NONBLOCK) < 0)
                goto out;
        if (prelen) {
                if (write_all_nb(upstream, pre, prelen) < 0)
                        goto out;
                atomic_fetch_add(&ps->bytes_in, prelen);
        }
        while (!(up.shut && down.shut)) {
                struct pollfd p[2] = { { .fd = client }, { .fd = upstream } };
                /* index 0 = client, 1 = upstream */
                if (!up.eof && up.pend == 0)
                        p[0].events |= POLLIN;
                if (up.pend > 0)
                        p[1].events |= POLLOUT;
                if (!down.eof && down.pend == 0)
                        p[1].events |= POLLIN;
                if (down.pend > 0)
                        p[0].events |= POLLOUT;
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (((p[0].revents | p[1].revents) & POLLNVAL))
                        break;
                if (leg_step(&up, p[0].revents, p[1].revents) < 0 ||
                    leg_step(&down, p[1].revents, p[0].revents) < 0)
                        break;
                /* Both sides gone (a reset, or unexpose's shutdown). */
                if ((p[0].revents & POLLERR) || (p[1].revents & POLLERR))
                        if (!(p[0].revents & POLLIN) && !(p[1].revents & POLLIN))
                                break;
        }
out:
        for (int i = 0; i < 2; i++) {
                if (up.pipe[i] >= 0)
                        close(up.pipe[i]);
                if (down.pipe[i] >= 0)
                        close(down.pipe[i]);
        }
        pthread_mutex_lock(&lock);
        ps->conns = g_list_remove(ps->conns, &c);
        pthread_mutex_unlock(&lock);
        atomic_fetch_sub(&ps->open, 1);
}

/* Cut every open connection of ps (they end their relays themselves). */
static void cut_conns(struct pstat *ps)
{
        pthread_mutex_lock(&lock);
        for (GList *l = ps->conns; l; l = l->next) {
                struct conn *c = l->data;
                shutdown(c->a, SHUT_RDWR);
                shutdown(c->b, SHUT_RDWR);
        }
        pthread_mutex_unlock(&lock);
}

/* ---- raw TCP forwards ------------------------------------------------------ */

struct fwd_conn {
        struct pstat *ps;
        int fd;
};

static void *fwd_conn_thread(void *arg)
{
        struct fwd_conn *fc = arg;
        int up = ports_connect(fc->ps->box, fc->ps->port, CONNECT_TIMEOUT_MS);

        if (up >= 0) {
                ports_relay(fc->ps, fc->fd, up, NULL, 0);
                close(up);
        }
        close(fc->fd);
        g_free(fc);
        return NULL;
}

struct fwd_arg {
        struct pstat *ps;
        int lfd;
};

static void *fwd_thread(void *arg)
{
        struct fwd_arg *fa = arg;
        pthread_attr_t at;

        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&at, 256 << 10);
        for (;;) {
                int fd = accept4(fa->lfd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE ||
                            errno == ENFILE) {
                                if (errno == EMFILE || errno == ENFILE)
                                        usleep(100000);
                                continue;
                        }
                        break;          /* shut down: the forward is off */
                }
                struct fwd_conn *fc = g_new(struct fwd_conn, 1);
                pthread_t th;
                fc->ps = fa->ps;
                fc->fd = fd;
                if (pthread_create(&th, &at, fwd_conn_thread, fc) != 0) {
                        close(fd);
                        g_free(fc);
                }
        }
        pthread_attr_destroy(&at);
        close(fa->lfd);
        g_free(fa);
        return NULL;
}

/* Start the forward of ps on 127.0.0.1:want (0: any).  Caller holds lock. */
static int fwd_start_locked(struct pstat *ps, unsigned want)
{
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)want),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof sa;
        int one = 1, fd;

        if (ps->fwd_fd >= 0)
                return 0;
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && want) {
                sa.sin_port = 0;        /* the old port is taken: any */
                if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
                        goto fail;
        }
        if (listen(fd, 128) < 0 || getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
                goto fail;
        struct fwd_arg *fa = g_new(struct fwd_arg, 1);
        pthread_t th;
        fa->ps = ps;
        fa->lfd = fd;
        if (pthread_create(&th, NULL, fwd_thread, fa) != 0) {
                g_free(fa);
                errno = EAGAIN;
                goto fail;
        }
        pthread_detach(th);
        ps->fwd_fd = fd;
        ps->fwd_port = ntohs(sa.sin_port);
        return 0;
fail:;
        int e = errno;
        close(fd);
        return -e;
}

static void fwd_stop_locked(struct pstat *ps)
{
        if (ps->fwd_fd >= 0) {
                shutdown(ps->fwd_fd, SHUT_RDWR);   /* wakes accept(); it closes */
                ps->fwd_fd = -1;
                ps->fwd_port = 0;
        }
}

static int fwd_set(const char *box, unsigned port, bool on)
{
        struct pstat *ps = pstat_get(box, port);
        int fd = port_dirfd(box, port), r = 0;
        char line[16];

        if (fd < 0)
                return -ENOENT;
        pthread_mutex_lock(&lock);
        if (on) {
                char *old = NULL;
                unsigned want = 0;
                if (sbx_read_file(fd, SBX_P_TCP, 32, &old, NULL) == 0)
                        want = (unsigned)strtoul(old, NULL, 10);
                free(old);
                r = fwd_start_locked(ps, want <= 65535 ? want : 0);
                if (r == 0) {
                        snprintf(line, sizeof line, "%u\n", ps->fwd_port);
                        sbx_write_atomic(fd, SBX_P_TCP, line, strlen(line), 0600);
                }
        } else {
                fwd_stop_locked(ps);
                unlinkat(fd, SBX_P_TCP, 0);
        }
        pthread_mutex_unlock(&lock);
        close(fd);
        return r;
}

/* ---- the tree ------------------------------------------------------------ */

bool ports_kind(enum kind k)
{
        return k >= K_BOX_PORTS && k <= K_PORT_TCP;
}

char *ports_make_path(enum kind k, const char *box, unsigned port)
{
        if (k == K_BOX_PORTS)
                return g_strdup_printf("%s/%s", box, kinds[k].name);
        if (k == K_PORT)
                return g_strdup_printf("%s/%s/%u", box, kinds[K_BOX_PORTS].name, port);
        return g_strdup_printf("%s/%s/%u/%s", box, kinds[K_BOX_PORTS].name, port, kinds[k].name);
}

const struct node *ports_child(const struct node *dir, const char *name)
{
        int p;

        if (dir->kind != K_BOX_PORTS || (p = sbx_port_parse(name)) < 0)
                return NULL;
        return node_get(K_PORT, dir->box, (unsigned)p);
}

bool ports_exists(const struct node *nd)
{
        if (nd->kind == K_BOX_PORTS)
                return true;
        return exposed(nd->box, nd->exec);
}

static gint cmp_uint(gconstpointer a, gconstpointer b)
{
        unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
        return x < y ? -1 : x > y;
}

GArray *ports_list(const char *box)
{
        GArray *a = g_array_new(FALSE, FALSE, sizeof(unsigned));
        char path[SBX_NAME_MAX + 16];
        int fd;

        snprintf(path, sizeof path, "%s/%s", box, SBX_D_PORTS);
        fd = openat(fs.state_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;
        if (!d) {
                if (fd >= 0)
                        close(fd);
                return a;
        }
        while ((de = readdir(d))) {
                int p = sbx_port_parse(de->d_name);
                if (p > 0) {
                        unsigned u = (unsigned)p;
                        g_array_append_val(a, u);
                }
        }
        closedir(d);
        g_array_sort(a, cmp_uint);
        return a;
}

static int refuse(const char *box, const char *file, int err, char *why)
{
        box_error(box, file, err, why);
        g_free(why);
        return -err;
}

int ports_expose(const char *box, const char *name)
{
        char file[SBX_NAME_MAX + 32], path[SBX_NAME_MAX + 32];
        struct box *b = box_find(box);
        int p = sbx_port_parse(name);

        snprintf(file, sizeof file, "ports/%.16s", name);
        if (!b)
                return -ENOENT;
        if (p < 0)
                return refuse(box, file, EINVAL, g_strdup_printf(
                        "'%.32s' is not a port: 1024-65535, decimal, no leading zero", name));
        size_t label = sbx_preview_label_len((unsigned)p, box, SBX_TOKEN_DEFAULT_LEN);
        if (label > SBX_LABEL_MAX)
                return refuse(box, file, ENAMETOOLONG, g_strdup_printf(
                        "a preview host label '%d-%s-<token of %d>' would be %zu chars, a DNS label "
                        "holds %d: use a sandbox name of at most %zu chars",
                        p, box, SBX_TOKEN_DEFAULT_LEN, label, SBX_LABEL_MAX,
                        strlen(box) - (label - SBX_LABEL_MAX)));
        if (mkdirat(b->dirfd, SBX_D_PORTS, 0700) < 0 && errno != EEXIST)
                return refuse(box, file, errno, NULL);
        snprintf(path, sizeof path, "%s/%d", SBX_D_PORTS, p);
        if (mkdirat(b->dirfd, path, 0700) < 0) {
                int e = errno;
                return refuse(box, file, e, e == EEXIST ? g_strdup_printf("port %d is already exposed", p)
                                                      : NULL);
        }
        struct pstat *ps = pstat_get(box, (unsigned)p);
        pthread_mutex_lock(&lock);
        atomic_store(&ps->total, 0);
        atomic_store(&ps->bytes_in, 0);
        atomic_store(&ps->bytes_out, 0);
        pthread_mutex_unlock(&lock);
        sbx_event(fs.state_fd, b->dirfd, box, "port %d exposed", p);
        return 0;
}

int ports_unexpose(const char *box, const char *name)
{
        char path[SBX_NAME_MAX + 32];
        struct box *b = box_find(box);
        int p = sbx_port_parse(name);

        if (!b || p < 0)
                return -ENOENT;
        int fd = port_dirfd(box, (unsigned)p);
        if (fd < 0)
                return -ENOENT;
        /* Token first: from here on the router answers 404. */
        unlinkat(fd, SBX_P_TOKEN, 0);
        unlinkat(fd, SBX_P_TCP, 0);
        close(fd);
        snprintf(path, sizeof path, "%s/%d", SBX_D_PORTS, p);
        if (unlinkat(b->dirfd, path, AT_REMOVEDIR) < 0) {
                int e = errno;
                return refuse(box, name, e, NULL);
        }
        struct pstat *ps = pstat_get(box, (unsigned)p);
        pthread_mutex_lock(&lock);
        fwd_stop_locked(ps);
        pthread_mutex_unlock(&lock);
        cut_conns(ps);
        sbx_event(fs.state_fd, b->dirfd, box, "port %d unexposed", p);
        return 0;
}

GString *ports_render(const struct node *nd, int *err)
{
        char t[SBX_TOKEN_MAX + 1];
        unsigned port = nd->exec;
        int r;

        *err = 0;
        if (!ports_exists(nd)) {
                *err = ENOENT;
                return NULL;
        }
        switch (nd->kind) {
        case K_PORT_URL: case K_PORT_TOKEN:
                if ((r = token_get(nd->box, port, t, true)) < 0) {
                        *err = -r;
                        return NULL;
                }
                if (nd->kind == K_PORT_TOKEN)
                        return g_string_append(g_string_new(t), "\n");
                if (!router_port())
                        return g_string_new("");        /* -o preview=off */
                GString *u = g_string_new(NULL);
                g_string_printf(u, "http://%u-%s-%s.%s:%u/\n", port, nd->box, t,
                                SBX_PREVIEW_DOMAIN, router_port());
                return u;
        case K_PORT_STATUS: {
                struct pstat *ps = pstat_get(nd->box, port);
                GString *s = g_string_new(NULL);
                unsigned fp;
                pthread_mutex_lock(&lock);
                fp = ps->fwd_fd >= 0 ? ps->fwd_port : 0;
                pthread_mutex_unlock(&lock);
                g_string_append_printf(s, "port %u\nlistening %s\n", port,
                                       listening(nd->box, port, 1000) ? "yes" : "no");
                g_string_append_printf(s, "connections_open %llu\nconnections_total %llu\n",
                                       (unsigned long long)atomic_load(&ps->open),
                                       (unsigned long long)atomic_load(&ps->total));
                g_string_append_printf(s, "bytes_in %llu\nbytes_out %llu\n",
                                       (unsigned long long)atomic_load(&ps->bytes_in),
                                       (unsigned long long)atomic_load(&ps->bytes_out));
                if (fp)
                        g_string_append_printf(s, "tcp 127.0.0.1:%u\n", fp);
                else
                        g_string_append(s, "tcp -\n");
                return s;
        }
        case K_PORT_TCP: {
                struct pstat *ps = pstat_get(nd->box, port);
                GString *s = g_string_new(NULL);
                pthread_mutex_lock(&lock);
                if (ps->fwd_fd >= 0)
                        g_string_printf(s, "127.0.0.1:%u\n", ps->fwd_port);
                pthread_mutex_unlock(&lock);
                return s;
        }
        default:
                return g_string_new("");
        }
}

off_t ports_size(const struct node *nd)
{
        GString *s;
        int err;
        off_t n;

        if (nd->kind != K_PORT_URL && nd->kind != K_PORT_TCP)
                return 0;       /* token: stat must not choose it */
        if (!(s = ports_render(nd, &err)))
                return 0;
        n = (off_t)s->len;
        g_string_free(s, TRUE);
        return n;
}

int ports_write(const struct node *nd, const char *buf, size_t len)
{
        char word[64], t[SBX_TOKEN_MAX + 1];
        unsigned port = nd->exec;
        const char *file = nd->path + strlen(nd->box) + 1;
        size_t size = len;      /* all of it is taken, newline included */
        int r;

        if (!ports_exists(nd))
                return -ENOENT;
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == '\t'))
                len--;
        if (len >= sizeof word)
                return refuse(nd->box, file, EINVAL, g_strdup_printf("too long: %zu bytes", len));
        memcpy(word, buf, len);
        word[len] = '\0';
        if (nd->kind == K_PORT_CTL) {
                if (strcmp(word, "tcp") == 0)
                        r = fwd_set(nd->box, port, true);
                else if (strcmp(word, "notcp") == 0)
                        r = fwd_set(nd->box, port, false);
                else
                        return refuse(nd->box, file, EINVAL, g_strdup_printf(
                                "unknown command '%s' (tcp, notcp)", word));
                if (r < 0)
                        return refuse(nd->box, file, -r, NULL);
                return (int)size;
        }
        if (nd->kind != K_PORT_TOKEN)
                return -EBADF;
        if (!sbx_token_valid(word))
                return refuse(nd->box, file, EINVAL, g_strdup_printf(
                        "bad token '%s': 1-%d chars of a-z 0-9 _", word, SBX_TOKEN_MAX));
        int fd = port_dirfd(nd->box, port);
        if (fd < 0)
                return -ENOENT;
        pthread_mutex_lock(&tlock);
        r = token_get2(nd->box, port, t, false, true) == 0 ? -EEXIST : 0;
        if (r == -EEXIST && strcmp(t, word) == 0)
                r = 0;          /* the same again: fine */
        else if (r == 0) {
                char line[SBX_TOKEN_MAX + 2];
                snprintf(line, sizeof line, "%s\n", word);
                r = sbx_write_atomic(fd, SBX_P_TOKEN, line, strlen(line), 0600);
        }
        pthread_mutex_unlock(&tlock);
        close(fd);
        if (r == -EEXIST)
                return refuse(nd->box, file, EBUSY, g_strdup(
                        "the token is already in use (url or token was read); rmdir and mkdir "
                        "the port to choose a new one"));
        if (r < 0)
                return refuse(nd->box, file, -r, NULL);
        return (int)size;
}

void ports_init(void)
{
        struct stat st;

        if (stat("/proc/self/ns/net", &st) == 0)
                host_netns = st.st_ino;
        /* Forwards that were on when the last sbxfs stopped come back, on
         * the same host port when it is free. */
        GPtrArray *boxes = box_list();
        for (guint i = 0; i < boxes->len; i++) {
                const char *box = g_ptr_array_index(boxes, i);
                GArray *ports = ports_list(box);
                for (guint j = 0; j < ports->len; j++) {
                        unsigned p = g_array_index(ports, unsigned, j);
                        int fd = port_dirfd(box, p);
                        if (fd < 0)
                                continue;
                        bool on = faccessat(fd, SBX_P_TCP, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
                        close(fd);
                        if (on && fwd_set(box, p, true) < 0)
                                box_error(box, "ports", EADDRINUSE, "could not restore a tcp forward");
                }
                g_array_free(ports, TRUE);
        }
        g_ptr_array_free(boxes, TRUE);
}

/* ---- ready --------------------------------------------------------------- */

struct ready {
        fuse_req_t req;
        char box[SBX_NAME_MAX + 1];
        unsigned port;
        size_t size;
};

static void *ready_thread(void *arg)
{
        struct ready *rd = arg;
        uint64_t end = sbx_mono_ns() + (uint64_t)READY_TIMEOUT_MS * 1000000u;
        int err = ETIMEDOUT;

        for (;;) {
                if (!exposed(rd->box, rd->port)) {
                        err = ENOENT;
                        break;
                }
                if (listening(rd->box, rd->port, READY_POLL_MS)) {
                        err = 0;
                        break;
                }
                if (fuse_req_interrupted(rd->req)) {
                        err = EINTR;
                        break;
                }
                if (sbx_mono_ns() >= end)
                        break;
                usleep(READY_POLL_MS * 1000);
        }
        if (err)
                fuse_reply_err(rd->req, err);
        else
                fuse_reply_buf(rd->req, "ready\n", rd->size < 6 ? rd->size : 6);
        g_free(rd);
        return NULL;
}

void ports_read(fuse_req_t req, const struct node *nd, off_t off, size_t size)
{
        pthread_attr_t at;
        pthread_t th;

        if (nd->kind != K_PORT_READY || off > 0)
                return (void)fuse_reply_buf(req, NULL, 0);
        struct ready *rd = g_new0(struct ready, 1);
        rd->req = req;
        g_strlcpy(rd->box, nd->box, sizeof rd->box);
        rd->port = nd->exec;
        rd->size = size;
        /* A thread of its own: a FUSE worker is not held for 30 s. */
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&at, 256 << 10);
        if (pthread_create(&th, &at, ready_thread, rd) != 0) {
                g_free(rd);
                fuse_reply_err(req, EAGAIN);
        }
        pthread_attr_destroy(&at);
}
