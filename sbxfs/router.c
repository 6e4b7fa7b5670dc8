/* router.c: the preview listener, one for the whole mount.
 *
 *   -o preview=ADDR:PORT     default 127.0.0.1:8723 (an ephemeral port if
 *                            that one is taken); :0 asks for an ephemeral
 *                            port; "off" disables.  The port in use is in
 *                            <state>/preview.addr and in every ports/N/url.
 *
 * A request for http://<port>-<box>-<token>.localhost:<p>/ is routed to
 * 127.0.0.1:<port> inside sandbox <box>, when <box> has exposed <port>
 * with that token.  Anything else (a wrong or missing token, an unexposed
 * port, an unknown sandbox, another host) gets the same 404.
 *
 * Why only the head of the first request is parsed, then bytes spliced:
 * the router needs the Host and nothing else, and a byte pipe passes
 * everything HTTP/1.1 can do unchanged and without a parser to get wrong:
 * keep-alive, chunked and streamed (SSE) responses, large bodies both
 * ways, Expect: 100-continue, and WebSocket (or any other) upgrades.  The
 * consequence: later requests on a keep-alive connection go to the same
 * target as the first, without their Host being looked at.  That is fine
 * here: a client sends the same Host on a connection (it connected to
 * that host name), and a client that lies can reach only what its first
 * request's token already opened.  No headers are added (no
 * X-Forwarded-For): the app sees exactly what the client sent. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sbxfs.h"
#include "sbx/preview.h"
#include "sbx/state.h"
#include "sbx/util.h"

#define DEFAULT_ADDR     "127.0.0.1"
#define DEFAULT_PORT     8723
#define HEAD_TIMEOUT_MS  10000   /* the first request head must come by then */
#define CONNECT_MS       5000

static int lfd = -1;
static struct sockaddr_in bound;

unsigned router_port(void)
{
        return lfd >= 0 ? ntohs(bound.sin_port) : 0;
}

static int bind_to(const char *addr, unsigned port)
{
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
        socklen_t sl = sizeof sa;
        int one = 1, fd;

        if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
                return -EINVAL;
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 512) < 0 ||
            getsockname(fd, (struct sockaddr *)&bound, &sl) < 0) {
                int e = errno;
                close(fd);
                return -e;
        }
        lfd = fd;
        return 0;
}

int router_bind(const char *spec)
{
        char addr[64];
        unsigned long port;
        int r;

        if (spec && strcmp(spec, "off") == 0)
                return 0;
        if (!spec) {
                r = bind_to(DEFAULT_ADDR, DEFAULT_PORT);
                if (r == -EADDRINUSE) {
                        fprintf(stderr, "sbxfs: preview port %s:%d is taken; using an ephemeral port\n",
                                DEFAULT_ADDR, DEFAULT_PORT);
                        r = bind_to(DEFAULT_ADDR, 0);
                }
                if (r < 0)
                        fprintf(stderr, "sbxfs: preview listener: %s (no preview URLs)\n",
                                g_strerror(-r));
                return 0;       /* the default is best effort */
        }
        const char *colon = strrchr(spec, ':');
        char *end;
        if (!colon || (size_t)(colon - spec) >= sizeof addr || !colon[1]) {
                fprintf(stderr, "sbxfs: -o preview=%s: want ADDR:PORT (e.g. 127.0.0.1:0) or off\n", spec);
                return -EINVAL;
        }
        memcpy(addr, spec, (size_t)(colon - spec));
        addr[colon - spec] = '\0';
        port = strtoul(colon + 1, &end, 10);
        if (*end || port > 65535) {
                fprintf(stderr, "sbxfs: -o preview=%s: bad port\n", spec);
                return -EINVAL;
        }
        if ((r = bind_to(addr[0] ? addr : DEFAULT_ADDR, (unsigned)port)) < 0)
                fprintf(stderr, "sbxfs: -o preview=%s: %s\n", spec, g_strerror(-r));
        return r;
}

static void say(int fd, int code, const char *text)
{
        char buf[256];
        int n = snprintf(buf, sizeof buf,
                         "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n%s\n",
                         code, text, strlen(text) + 1, text);
        (void)!send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void *conn_thread(void *arg)
{
        int fd = (int)(intptr_t)arg, up = -1;
        char *buf = g_malloc(SBX_HTTP_HEAD_MAX);
        size_t len = 0;
        long head = 0;
        const char *host = NULL;
        size_t hl = 0;
        uint64_t end = sbx_mono_ns() + (uint64_t)HEAD_TIMEOUT_MS * 1000000u;

        /* Read until the first request head is complete (or too long). */
        while (head == 0) {
                int left = (int)((end - sbx_mono_ns()) / 1000000u);
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (sbx_mono_ns() >= end || poll(&p, 1, left) <= 0)
                        goto out;
                ssize_t n = recv(fd, buf + len, SBX_HTTP_HEAD_MAX - len, 0);
                if (n <= 0)
                        goto out;
                len += (size_t)n;
                head = sbx_http_head(buf, len, &host, &hl);
                if (head == 0 && len == SBX_HTTP_HEAD_MAX)
                        head = -1;
        }
        if (head < 0) {
                say(fd, 400, "bad request");
                goto out;
        }
        unsigned port;
        char box[SBX_NAME_MAX + 1], tok[SBX_TOKEN_MAX + 1];
        struct pstat *ps = NULL;
        if (host && sbx_preview_parse_host(host, hl, &port, box, tok) == 0)
                ps = ports_route(box, port, tok);
        if (!ps) {
                say(fd, 404, "not found");
                goto out;
        }
        if ((up = ports_connect(box, port, CONNECT_MS)) < 0) {
                say(fd, 502, "nothing answers on that port in the sandbox");
                goto out;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        /* Everything read so far (the head and any body bytes that came
         * with it) goes first, then the two directions are spliced. */
        ports_relay(ps, fd, up, buf, len);
out:
        g_free(buf);
        if (up >= 0)
                close(up);
        close(fd);
        return NULL;
}

static void *accept_thread(void *arg)
{
        pthread_attr_t at;

        (void)arg;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&at, 256 << 10);
        for (;;) {
                int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                                usleep(100000);
                        continue;
                }
                pthread_t th;
                if (pthread_create(&th, &at, conn_thread, (void *)(intptr_t)fd) != 0) {
                        say(fd, 503, "busy");
                        close(fd);
                }
        }
        return NULL;
}

int router_start(void)
{
        struct rlimit rl;
        char line[64];
        pthread_t th;
        int r;

        ports_init();
        if (lfd < 0) {
                unlinkat(fs.state_fd, SBX_F_PREVIEW, 0);
                return 0;
        }
        /* Each relayed connection holds 6 fds (2 sockets, 2 pipes). */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                setrlimit(RLIMIT_NOFILE, &rl);
        }
        if ((r = pthread_create(&th, NULL, accept_thread, NULL)) != 0)
                return -r;
        pthread_detach(th);
        char a[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &bound.sin_addr, a, sizeof a);
        snprintf(line, sizeof line, "%s:%u\n", a, router_port());
        sbx_write_atomic(fs.state_fd, SBX_F_PREVIEW, line, strlen(line), 0644);
        sbx_event(fs.state_fd, -1, "-", "preview listening on %s:%u", a, router_port());
        return 0;
}
