/* proxy.c: the sandbox's egress proxy (see proxy.h and the "Network"
 * section of docs/trust-levels.md).
 *
 * One connection's life:
 *   HEAD     read the request head (up to 16 KiB) from the sandbox
 *   decide   config policy (sbx_net_decide), quotas
 *   RESOLVE  GResolver (getaddrinfo in glib's threads), unless the rule
 *            pins an address or the host is an address literal
 *   CONNECT  non-blocking connect in the host netns, one address at a time
 *   RELAY    bytes both ways, counted (net_bytes_in/out, max_bytes)
 *   CLOSING  after a refusal: the 403 is sent, the rest of the request is
 *            read and dropped until EOF (so the close sends no RST that
 *            could eat the answer), bounded by a timer
 * A forwarded http:// request is sent with "Connection: close", so one
 * client connection is one request. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exec.h"
#include "proxy.h"
#include "sbx/config.h"
#include "sbx/util.h"

#define HEAD_MAX   16384
#define BUF_SIZE   65536
#define CONNECT_TIMEOUT_MS 15000
#define LINGER_MS  2000

enum state { ST_HEAD, ST_RESOLVE, ST_CONNECT, ST_RELAY, ST_CLOSING };

struct pump {
        char buf[BUF_SIZE];
        size_t len, off;
        bool eof, shut;
};

struct conn {
        struct sup *s;
        enum state st;
        int cfd, ufd;
        guint csrc, usrc, timer;
        GIOCondition ccond, ucond;
        char head[HEAD_MAX + 1];
        size_t hlen;
        char method[16];
        char host[256];
        unsigned port;
        bool tunnel;
        bool explicit_addr;     /* a rule names the address: no range check */
        unsigned cport;         /* port to connect to */
        GList *addrs, *next;    /* GInetAddress */
        GCancellable *cancel;
        bool resolving, dead;
        struct pump up;         /* sandbox -> outside */
        struct pump down;       /* outside -> sandbox */
};

static int listen_fd = -1;
static guint listen_src;
static GList *conns;
static uint64_t q_requests, q_bytes;   /* quota use since the policy changed */
static char *q_policy;                  /* the policy text they count for */

/* ---- address ranges */

bool proxy_addr_internal(const guint8 *b, gsize len)
{
        if (len == 16) {
                static const guint8 mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
                static const guint8 zero[16];
                if (memcmp(b, mapped, 12) == 0)
                        return proxy_addr_internal(b + 12, 4);
                if (memcmp(b, zero, 15) == 0)                    /* :: and ::1 */
                        return true;
                if (memcmp(b, zero, 12) == 0)                    /* ::a.b.c.d (old compat) */
                        return true;
                if ((b[0] & 0xfe) == 0xfc)                       /* fc00::/7 ULA */
                        return true;
                if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)       /* fe80::/10 */
                        return true;
                if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)       /* fec0::/10 */
                        return true;
                if (b[0] == 0xff)                                /* multicast */
                        return true;
                if (b[0] == 0x20 && b[1] == 0x02)                /* 6to4: embedded v4 */
                        return proxy_addr_internal(b + 2, 4);
                if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b)
                        return proxy_addr_internal(b + 12, 4);   /* NAT64 64:ff9b:: */
                return false;
        }
        if (len != 4)
                return true;
        return b[0] == 0 || b[0] == 10 || b[0] == 127 ||
               (b[0] == 100 && (b[1] & 0xc0) == 64) ||           /* 100.64/10 */
               (b[0] == 169 && b[1] == 254) ||
               (b[0] == 172 && (b[1] & 0xf0) == 16) ||
               (b[0] == 192 && b[1] == 168) ||
               (b[0] == 192 && b[1] == 0 && b[2] == 0) ||        /* 192.0.0/24 */
               (b[0] == 198 && (b[1] & 0xfe) == 18) ||           /* 198.18/15 */
               b[0] >= 224;                                      /* multicast, 240/4, broadcast */
}

static bool inet_internal(GInetAddress *a)
{
        return proxy_addr_internal(g_inet_address_to_bytes(a), g_inet_address_get_native_size(a));
}

/* ---- connection plumbing */

static void conn_free(struct conn *c);
static void conn_update(struct conn *c);
static void start_connect(struct conn *c);

/* Drop the outside connection (its watch first). */
static void close_up(struct conn *c)
{
        if (c->usrc)
                g_source_remove(c->usrc);
        c->usrc = 0;
        c->ucond = 0;
        if (c->ufd >= 0)
                close(c->ufd);
        c->ufd = -1;
}

static void count_blocked(struct conn *c, const char *reason)
{
        c->s->net_blocked++;
        sbx_event(c->s->state_fd, c->s->dir_fd, c->s->name, "net blocked %s %s:%u: %s",
                  c->method[0] ? c->method : "-", c->host[0] ? c->host : "-", c->port, reason);
}

/* Answer with status code and text, then linger until the client closes. */
static void reply_and_close(struct conn *c, int code, const char *what, const char *reason)
{
        char *body = g_strdup_printf("sbxfs proxy: %s: %s\n", code == 403 ? "blocked" : what, reason);
        char *msg = g_strdup_printf("HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
                                    "Content-Length: %zu\r\nConnection: close\r\n"
                                    "X-Sbx-Blocked: %s\r\n\r\n%s",
                                    code, what, strlen(body), code == 403 ? "1" : "0", body);
        ssize_t w = send(c->cfd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL);
        (void)w;
        g_free(body);
        g_free(msg);
        shutdown(c->cfd, SHUT_WR);
        close_up(c);
        c->st = ST_CLOSING;
        conn_update(c);
}

static void block(struct conn *c, const char *reason)
{
        count_blocked(c, reason);
        reply_and_close(c, 403, "Forbidden", reason);
}

static gboolean on_timer(gpointer data)
{
        struct conn *c = data;

        c->timer = 0;
        if (c->st == ST_CONNECT) {
                close_up(c);
                c->next = c->next ? c->next->next : NULL;
                start_connect(c);
        } else {
                conn_free(c);
        }
        return G_SOURCE_REMOVE;
}

static void set_timer(struct conn *c, guint ms)
{
        if (c->timer)
                g_source_remove(c->timer);
        c->timer = g_timeout_add(ms, on_timer, c);
}

/* Quota: the per-sandbox counters restart whenever the net keys change. */
static void quota_sync(const struct sbx_config *cfg)
{
        char *p = g_strdup_printf("%d|%s|%s|%llu|%llu", cfg->net, cfg->net_allow, cfg->net_deny,
                                  (unsigned long long)cfg->max_requests,
                                  (unsigned long long)cfg->max_bytes);
        if (!q_policy || strcmp(p, q_policy) != 0) {
                g_free(q_policy);
                q_policy = p;
                q_requests = q_bytes = 0;
        } else {
                g_free(p);
        }
}

static uint64_t cur_max_bytes = SBX_MAX;

/* Move bytes both ways; false when the connection is over. */
static bool relay(struct conn *c)
{
        struct { struct pump *p; int from, to; uint64_t *count; } d[2] = {
                { &c->up, c->cfd, c->ufd, &c->s->net_bytes_out },
                { &c->down, c->ufd, c->cfd, &c->s->net_bytes_in },
        };
        bool progress = true;

        while (progress) {
                progress = false;
                for (int i = 0; i < 2; i++) {
                        struct pump *p = d[i].p;
                        if (p->len == 0 && !p->eof) {
                                ssize_t n = recv(d[i].from, p->buf, sizeof p->buf, MSG_DONTWAIT);
                                if (n > 0) {
                                        p->len = (size_t)n;
                                        p->off = 0;
                                        *d[i].count += (uint64_t)n;
                                        q_bytes += (uint64_t)n;
                                        progress = true;
                                        if (cur_max_bytes != SBX_MAX && q_bytes > cur_max_bytes) {
                                                char r[96];
                                                snprintf(r, sizeof r, "max_bytes %llu used up (connection cut)",
                                                         (unsigned long long)cur_max_bytes);
                                                count_blocked(c, r);
                                                return false;
                                        }
                                } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                                        p->eof = true;
                                        progress = true;
                                }
                        }
                        if (p->len > 0) {
                                ssize_t n = send(d[i].to, p->buf + p->off, p->len, MSG_DONTWAIT | MSG_NOSIGNAL);
                                if (n > 0) {
                                        p->off += (size_t)n;
                                        p->len -= (size_t)n;
                                        progress = true;
                                } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                                        return false;
                                }
                        }
                        if (p->len == 0 && p->eof && !p->shut) {
                                shutdown(d[i].to, SHUT_WR);
                                p->shut = true;
                        }
                }
        }
        return !(c->up.shut && c->down.shut);
}

static gboolean on_io(gint fd, GIOCondition cond, gpointer data);

static void watch(struct conn *c, int fd, guint *src, GIOCondition *have, GIOCondition want)
{
        if (*src && *have == want)
                return;
        if (*src)
                g_source_remove(*src);
        *src = 0;
        *have = want;
        if (fd >= 0 && want)
                *src = g_unix_fd_add(fd, want, on_io, c);
}

static void conn_update(struct conn *c)
{
        GIOCondition cw = 0, uw = 0;

        switch (c->st) {
        case ST_HEAD:
        case ST_CLOSING:
                cw = G_IO_IN;
                break;
        case ST_RESOLVE:
                break;
        case ST_CONNECT:
                uw = G_IO_OUT;
                break;
        case ST_RELAY:
                if (c->up.len == 0 && !c->up.eof)
                        cw |= G_IO_IN;
                if (c->down.len > 0)
                        cw |= G_IO_OUT;
                if (c->down.len == 0 && !c->down.eof)
                        uw |= G_IO_IN;
                if (c->up.len > 0)
                        uw |= G_IO_OUT;
                break;
        }
        watch(c, c->cfd, &c->csrc, &c->ccond, cw);
        watch(c, c->ufd, &c->usrc, &c->ucond, uw);
}

static void conn_free(struct conn *c)
{
        struct sup *s = c->s;

        if (c->csrc)
                g_source_remove(c->csrc);
        if (c->usrc)
                g_source_remove(c->usrc);
        if (c->timer)
                g_source_remove(c->timer);
        c->csrc = c->usrc = c->timer = 0;
        if (c->cfd >= 0)
                close(c->cfd);
        if (c->ufd >= 0)
                close(c->ufd);
        c->cfd = c->ufd = -1;
        conns = g_list_remove(conns, c);
        if (c->resolving) {
                /* the resolver's callback frees it */
                c->dead = true;
                g_cancellable_cancel(c->cancel);
                return;
        }
        g_list_free_full(c->addrs, g_object_unref);
        if (c->cancel)
                g_object_unref(c->cancel);
        g_free(c);
        exec_update_metrics(s);
}

/* ---- the request */

/* "host[:port]" or "[v6][:port]" (len bytes of s) into c->host, c->port. */
static bool parse_authority(struct conn *c, const char *s, size_t len, unsigned defport)
{
        char a[300], *colon = NULL;

        if (len == 0 || len >= sizeof a)
                return false;
        memcpy(a, s, len);
        a[len] = '\0';
        char *at = strrchr(a, '@');             /* user:pass@host: drop */
        char *h = at ? at + 1 : a;
        if (h[0] == '[') {
                char *rb = strchr(h, ']');
                if (!rb)
                        return false;
                *rb = '\0';
                if (rb[1] == ':')
                        colon = rb + 1;
                else if (rb[1])
                        return false;
                h++;
        } else {
                colon = strrchr(h, ':');
        }
        c->port = defport;
        if (colon) {
                *colon = '\0';
                char *end;
                unsigned long p = strtoul(colon + 1, &end, 10);
                if (!colon[1] || *end || p == 0 || p > 65535)
                        return false;
                c->port = (unsigned)p;
        }
        if (strlen(h) >= sizeof c->host)
                return false;
        snprintf(c->host, sizeof c->host, "%s", h);
        return c->port != 0 && sbx_net_host_valid(c->host);
}

static bool hop_header(const char *line)
{
        static const char *drop[] = { "proxy-connection:", "proxy-authorization:",
                                      "connection:", "keep-alive:" };
        for (size_t i = 0; i < G_N_ELEMENTS(drop); i++)
                if (g_ascii_strncasecmp(line, drop[i], strlen(drop[i])) == 0)
                        return true;
        return false;
}

static void on_resolved(GObject *src, GAsyncResult *res, gpointer data);
static void got_addresses(struct conn *c);

static void handle_head(struct conn *c, size_t head_len)
{
        char *eol = strstr(c->head, "\r\n");
        char *line = g_strndup(c->head, (gsize)(eol - c->head));
        gchar **w = g_strsplit(line, " ", -1);
        const char *target;
        const char *path = "/";
        struct sbx_config cfg;
        struct sbx_net_rule rule;
        char *why = NULL;

        if (g_strv_length(w) != 3 || strlen(w[0]) >= sizeof c->method ||
            strncmp(w[2], "HTTP/1.", 7) != 0) {
                reply_and_close(c, 400, "Bad Request", "not an HTTP/1.x request line");
                goto out;
        }
        snprintf(c->method, sizeof c->method, "%s", w[0]);
        target = w[1];
        if (strcmp(c->method, "CONNECT") == 0) {
                c->tunnel = true;
                if (!parse_authority(c, target, strlen(target), 0)) {
                        reply_and_close(c, 400, "Bad Request", "CONNECT wants HOST:PORT");
                        goto out;
                }
        } else if (g_ascii_strncasecmp(target, "http://", 7) == 0) {
                const char *a = target + 7;
                size_t al = strcspn(a, "/?#");
                if (a[al] == '/')
                        path = a + al;
                else if (a[al] == '?') {
                        path = NULL;    /* "/" + query, below */
                }
                if (!parse_authority(c, a, al, 80)) {
                        reply_and_close(c, 400, "Bad Request", "bad host in the URL");
                        goto out;
                }
                GString *f = g_string_new(NULL);
                if (path)
                        g_string_append_printf(f, "%s %s %s\r\n", c->method, path, w[2]);
                else
                        g_string_append_printf(f, "%s /%s %s\r\n", c->method, a + al, w[2]);
                gchar **hl = g_strsplit(eol + 2, "\r\n", -1);
                for (int i = 0; hl[i]; i++)
                        if (*hl[i] && !hop_header(hl[i]))
                                g_string_append_printf(f, "%s\r\n", hl[i]);
                g_strfreev(hl);
                g_string_append(f, "Connection: close\r\n\r\n");
                /* the head, then what came after it (a body's start) */
                size_t rest = c->hlen - head_len;
                if (f->len + rest > sizeof c->up.buf) {
                        g_string_free(f, TRUE);
                        reply_and_close(c, 431, "Request Header Fields Too Large", "request head too large");
                        goto out;
                }
                memcpy(c->up.buf, f->str, f->len);
                memcpy(c->up.buf + f->len, c->head + head_len, rest);
                c->up.len = f->len + rest;
                g_string_free(f, TRUE);
        } else if (g_ascii_strncasecmp(target, "https://", 8) == 0) {
                reply_and_close(c, 400, "Bad Request", "https:// goes through CONNECT");
                goto out;
        } else {
                reply_and_close(c, 400, "Bad Request",
                                "this is the sandbox's egress proxy: ask for an absolute http:// URL or CONNECT");
                goto out;
        }
        if (c->tunnel) {
                size_t rest = c->hlen - head_len;
                memcpy(c->up.buf, c->head + head_len, rest);
                c->up.len = rest;
        }

        /* The policy, as the config says now. */
        if (sbx_config_load(&cfg, c->s->dir, &why) < 0) {
                char *r = g_strdup_printf("config unreadable: %s", why ? why : "?");
                block(c, r);
                g_free(r);
                goto out;
        }
        quota_sync(&cfg);
        cur_max_bytes = cfg.max_bytes;
        if (!sbx_net_decide(&cfg, c->host, c->port, &rule, &why)) {
                block(c, why);
                goto out;
        }
        if (cfg.max_requests != SBX_MAX && q_requests >= cfg.max_requests) {
                char r[96];
                snprintf(r, sizeof r, "max_requests %llu used up", (unsigned long long)cfg.max_requests);
                block(c, r);
                goto out;
        }
        if (cfg.max_bytes != SBX_MAX && q_bytes >= cfg.max_bytes) {
                char r[96];
                snprintf(r, sizeof r, "max_bytes %llu used up", (unsigned long long)cfg.max_bytes);
                block(c, r);
                goto out;
        }
        q_requests++;
        c->s->net_requests++;
        c->cport = c->port;
        if (rule.host[0] && rule.pin[0]) {
                c->explicit_addr = true;
                c->addrs = g_list_append(NULL, g_inet_address_new_from_string(rule.pin));
                if (rule.pin_port)
                        c->cport = rule.pin_port;
        } else if (g_hostname_is_ip_address(c->host)) {
                /* an address literal: only internal ranges when an allow
                 * rule names this very address */
                c->explicit_addr = rule.host[0] && rule.is_ip;
                c->addrs = g_list_append(NULL, g_inet_address_new_from_string(c->host));
        } else {
                c->st = ST_RESOLVE;
                c->resolving = true;
                c->cancel = g_cancellable_new();
                conn_update(c);
                g_resolver_lookup_by_name_async(g_resolver_get_default(), c->host, c->cancel,
                                                on_resolved, c);
                goto out;
        }
        got_addresses(c);
out:
        g_free(why);
        g_strfreev(w);
        g_free(line);
}

static void got_addresses(struct conn *c)
{
        GList *keep = NULL;
        char first[64] = "";

        for (GList *l = c->addrs; l; l = l->next) {
                if (!c->explicit_addr && inet_internal(l->data)) {
                        if (!first[0]) {
                                char *t = g_inet_address_to_string(l->data);
                                snprintf(first, sizeof first, "%s", t);
                                g_free(t);
                        }
                        g_object_unref(l->data);
                } else {
                        keep = g_list_append(keep, l->data);
                }
        }
        g_list_free(c->addrs);
        c->addrs = keep;
        if (!keep) {
                char *r = g_strdup_printf("%s is an internal address (loopback, private or "
                                          "link-local); an allow rule must name it "
                                          "(allow NAME=ADDR:PORT or allow ADDR:PORT)", first);
                /* it was counted as a request; it is a refusal */
                c->s->net_requests--;
                q_requests--;
                block(c, r);
                g_free(r);
                return;
        }
        c->next = c->addrs;
        start_connect(c);
}

static void on_resolved(GObject *src, GAsyncResult *res, gpointer data)
{
        struct conn *c = data;
        GError *err = NULL;
        GList *l = g_resolver_lookup_by_name_finish(G_RESOLVER(src), res, &err);

        c->resolving = false;
        if (c->dead) {
                g_resolver_free_addresses(l);
                if (err)
                        g_error_free(err);
                c->addrs = NULL;
                conn_free(c);
                return;
        }
        if (!l) {
                char *r = g_strdup_printf("cannot resolve %s: %s", c->host, err ? err->message : "?");
                reply_and_close(c, 502, "Bad Gateway", r);
                g_free(r);
                if (err)
                        g_error_free(err);
                return;
        }
        c->addrs = l;
        got_addresses(c);
}

/* Connect to c->next, or the ones after it; 502 when none answers. */
static void start_connect(struct conn *c)
{
        for (; c->next; c->next = c->next->next) {
                GInetAddress *a = c->next->data;
                GSocketAddress *sa = g_inet_socket_address_new(a, (guint16)c->cport);
                struct sockaddr_storage ss;
                gssize sl = g_socket_address_get_native_size(sa);
                bool ok = g_socket_address_to_native(sa, &ss, sizeof ss, NULL);
                g_object_unref(sa);
                if (!ok)
                        continue;
                c->ufd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (c->ufd < 0)
                        continue;
                if (connect(c->ufd, (struct sockaddr *)&ss, (socklen_t)sl) == 0 || errno == EINPROGRESS) {
                        c->st = ST_CONNECT;
                        set_timer(c, CONNECT_TIMEOUT_MS);
                        conn_update(c);
                        return;
                }
                close(c->ufd);
                c->ufd = -1;
        }
        char *r = g_strdup_printf("cannot connect to %s:%u", c->host, c->cport);
        reply_and_close(c, 502, "Bad Gateway", r);
        g_free(r);
}

static void connected(struct conn *c)
{
        int err = 0;
        socklen_t el = sizeof err;

        getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
                if (c->timer)
                        g_source_remove(c->timer);
                c->timer = 0;
                close_up(c);
                c->next = c->next->next;
                start_connect(c);
                return;
        }
        if (c->timer)
                g_source_remove(c->timer);
        c->timer = 0;
        if (c->tunnel) {
                static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
                memcpy(c->down.buf, ok, sizeof ok - 1);
                c->down.len = sizeof ok - 1;
        }
        /* what the sandbox sent with or after its head */
        c->s->net_bytes_out += c->up.len;
        q_bytes += c->up.len;
        c->st = ST_RELAY;
        if (!relay(c)) {
                conn_free(c);
                return;
        }
        conn_update(c);
}

static gboolean on_io(gint fd, GIOCondition cond, gpointer data)
{
        struct conn *c = data;

        (void)cond;
        switch (c->st) {
        case ST_HEAD: {
                ssize_t n = recv(fd, c->head + c->hlen, HEAD_MAX - c->hlen, MSG_DONTWAIT);
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                        c->csrc = 0;
                        conn_free(c);
                        return G_SOURCE_REMOVE;
                }
                if (n < 0)
                        return G_SOURCE_CONTINUE;
                c->hlen += (size_t)n;
                c->head[c->hlen] = '\0';
                char *end = strstr(c->head, "\r\n\r\n");
                if (!end) {
                        if (c->hlen >= HEAD_MAX)
                                reply_and_close(c, 431, "Request Header Fields Too Large",
                                                "request head over 16 KiB");
                        return G_SOURCE_CONTINUE;
                }
                if (c->timer)
                        g_source_remove(c->timer);
                c->timer = 0;
                handle_head(c, (size_t)(end + 4 - c->head));
                return G_SOURCE_CONTINUE;
        }
        case ST_CLOSING: {
                char junk[4096];
                ssize_t n = recv(fd, junk, sizeof junk, MSG_DONTWAIT);
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                        c->csrc = 0;
                        conn_free(c);
                        return G_SOURCE_REMOVE;
                }
                if (!c->timer)
                        set_timer(c, LINGER_MS);
                return G_SOURCE_CONTINUE;
        }
        case ST_CONNECT:
                connected(c);
                return G_SOURCE_CONTINUE;
        case ST_RELAY:
                if (!relay(c)) {
                        conn_free(c);
                        return G_SOURCE_CONTINUE;
                }
                conn_update(c);
                return G_SOURCE_CONTINUE;
        default:
                return G_SOURCE_CONTINUE;
        }
}

static gboolean on_accept(gint fd, GIOCondition cond, gpointer data)
{
        struct sup *s = data;

        (void)cond;
        int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0)
                return G_SOURCE_CONTINUE;
        if (g_list_length(conns) >= 1024) {
                close(cfd);
                return G_SOURCE_CONTINUE;
        }
        struct conn *c = g_new0(struct conn, 1);
        c->s = s;
        c->cfd = cfd;
        c->ufd = -1;
        c->st = ST_HEAD;
        conns = g_list_prepend(conns, c);
        set_timer(c, 30000);    /* the head must come within 30 s */
        conn_update(c);
        return G_SOURCE_CONTINUE;
}

/* ---- the listener, made inside the sandbox's netns */

struct mk {
        int pidfd;
        pid_t pid;
        int fd, err;
        const char *step;
};

static void *mk_listener(void *p)
{
        struct mk *m = p;
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(SBX_PROXY_PORT),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int one = 1;

        m->fd = -1;
        if (setns(m->pidfd, CLONE_NEWNET) < 0) {
                char path[64];
                snprintf(path, sizeof path, "/proc/%d/ns/net", (int)m->pid);
                int ns = open(path, O_RDONLY | O_CLOEXEC);
                int r = ns < 0 ? -1 : setns(ns, CLONE_NEWNET);
                if (ns >= 0)
                        close(ns);
                if (r < 0) {
                        m->err = errno;
                        m->step = "setns";
                        return NULL;
                }
        }
        m->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (m->fd < 0) {
                m->err = errno;
                m->step = "socket";
                return NULL;
        }
        setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(m->fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(m->fd, 128) < 0) {
                m->err = errno;
                m->step = "bind/listen 127.0.0.1:3128";
                close(m->fd);
                m->fd = -1;
        }
        return NULL;
}

int proxy_start(struct sup *s, char **why)
{
        struct mk m = { .pidfd = s->sb.init_pidfd, .pid = s->sb.init_pid };
        pthread_t t;
        int r;

        if ((r = pthread_create(&t, NULL, mk_listener, &m)) != 0) {
                *why = g_strdup_printf("proxy: thread: %s", g_strerror(r));
                return -r;
        }
        pthread_join(t, NULL);
        if (m.fd < 0) {
                *why = g_strdup_printf("proxy: %s: %s", m.step, g_strerror(m.err));
                return -m.err;
        }
        listen_fd = m.fd;
        listen_src = g_unix_fd_add(listen_fd, G_IO_IN, on_accept, s);
        return 0;
}

void proxy_stop(struct sup *s)
{
        (void)s;
        if (listen_src)
                g_source_remove(listen_src);
        listen_src = 0;
        if (listen_fd >= 0)
                close(listen_fd);
        listen_fd = -1;
        while (conns)
                conn_free(conns->data);
}

static uint64_t snmp_field(pid_t pid, const char *file, const char *table, const char *key)
{
        char path[64], *text = NULL;
        uint64_t v = 0;

        snprintf(path, sizeof path, "/proc/%d/net/%s", (int)pid, file);
        if (!g_file_get_contents(path, &text, NULL, NULL))
                return 0;
        gchar **lines = g_strsplit(text, "\n", -1);
        if (table) {
                /* "Ip: Forwarding ... OutNoRoutes ..." then the values */
                for (int i = 0; lines[i] && lines[i + 1]; i++) {
                        if (!g_str_has_prefix(lines[i], table) || !g_str_has_prefix(lines[i + 1], table))
                                continue;
                        gchar **k = g_strsplit_set(lines[i], " ", -1);
                        gchar **x = g_strsplit_set(lines[i + 1], " ", -1);
                        for (int j = 0; k[j] && x[j]; j++)
                                if (strcmp(k[j], key) == 0)
                                        v = g_ascii_strtoull(x[j], NULL, 10);
                        g_strfreev(k);
                        g_strfreev(x);
                        break;
                }
        } else {
                /* snmp6: "Ip6OutNoRoutes   3" */
                for (int i = 0; lines[i]; i++)
                        if (g_str_has_prefix(lines[i], key) && (lines[i][strlen(key)] == ' ' ||
                                                                 lines[i][strlen(key)] == '\t'))
                                v = g_ascii_strtoull(g_strchug(lines[i] + strlen(key)), NULL, 10);
        }
        g_strfreev(lines);
        g_free(text);
        return v;
}

uint64_t proxy_noroute_count(struct sup *s)
{
        if (s->sb.init_pid <= 0)
                return 0;
        return snmp_field(s->sb.init_pid, "snmp", "Ip:", "OutNoRoutes") +
               snmp_field(s->sb.init_pid, "snmp6", NULL, "Ip6OutNoRoutes");
}
