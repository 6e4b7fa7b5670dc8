/* preview.c: preview host names and HTTP request heads (sbx/preview.h).
 *
 * Everything here reads untrusted bytes from the network, so it is
 * written to be boring: explicit lengths, no allocation, no sscanf. */
#include <string.h>

#include "sbx/preview.h"
#include "sbx/state.h"
#include "sbx/util.h"

static bool token_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool sbx_token_valid(const char *t)
{
        size_t n = 0;

        if (!t)
                return false;
        for (; t[n]; n++)
                if (n >= SBX_TOKEN_MAX || !token_char(t[n]))
                        return false;
        return n > 0;
}

bool sbx_token_equal(const char *a, const char *b)
{
        /* Both padded to SBX_TOKEN_MAX + 1 bytes with NULs; every byte is
         * looked at whatever the contents. */
        volatile unsigned char diff = 0;
        unsigned char x[SBX_TOKEN_MAX + 1] = { 0 }, y[SBX_TOKEN_MAX + 1] = { 0 };
        size_t la, lb;

        if (!a || !b)
                return false;
        la = strnlen(a, SBX_TOKEN_MAX + 1);
        lb = strnlen(b, SBX_TOKEN_MAX + 1);
        if (la > SBX_TOKEN_MAX || lb > SBX_TOKEN_MAX)
                return false;
        memcpy(x, a, la);
        memcpy(y, b, lb);
        for (size_t i = 0; i < sizeof x; i++)
                diff |= x[i] ^ y[i];
        return diff == 0 && la > 0;
}

static int port_parse_n(const char *s, size_t n)
{
        unsigned v = 0;

        if (n < 4 || n > 5 || s[0] == '0')
                return -1;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (unsigned)(s[i] - '0');
        }
        return v >= SBX_PORT_MIN && v <= SBX_PORT_MAX ? (int)v : -1;
}

int sbx_port_parse(const char *s)
{
        return s ? port_parse_n(s, strnlen(s, 6)) : -1;
}

size_t sbx_preview_label_len(unsigned port, const char *box, size_t token_len)
{
        size_t digits = 1;

        for (unsigned p = port; p >= 10; p /= 10)
                digits++;
        return digits + 1 + strlen(box) + 1 + token_len;
}

static char lower(char c)
{
        return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

int sbx_preview_parse_host(const char *host, size_t len, unsigned *port, char *box,
                           char *token)
{
        char h[256];
        size_t n, dot, first, last;
        static const char dom[] = SBX_PREVIEW_DOMAIN;

        if (!host || len == 0 || len >= sizeof h)
                return -1;
        for (size_t i = 0; i < len; i++) {
                if (host[i] == '\0')
                        return -1;
                h[i] = lower(host[i]);
        }
        n = len;
        h[n] = '\0';
        /* ":port" of the listener: digits only, ignored. */
        char *colon = memchr(h, ':', n);
        if (colon) {
                size_t pl = n - (size_t)(colon - h) - 1;
                if (pl == 0 || pl > 5)
                        return -1;
                for (size_t i = 1; i <= pl; i++)
                        if (colon[i] < '0' || colon[i] > '9')
                                return -1;
                n = (size_t)(colon - h);
                h[n] = '\0';
        }
        if (n > 0 && h[n - 1] == '.')           /* "localhost." */
                h[--n] = '\0';
        char *d = memchr(h, '.', n);
        if (!d)
                return -1;
        dot = (size_t)(d - h);
        if (n - dot - 1 != sizeof dom - 1 || memcmp(d + 1, dom, sizeof dom - 1) != 0)
                return -1;
        if (dot == 0 || dot > SBX_LABEL_MAX)
                return -1;
        /* The label: first '-' ends the port, last '-' starts the token. */
        const char *f = memchr(h, '-', dot);
        if (!f)
                return -1;
        first = (size_t)(f - h);
        last = dot;
        while (last > 0 && h[last - 1] != '-')
                last--;
        last--;                                 /* index of the last '-' */
        if (last <= first + 1)                  /* no room for a sandbox */
                return -1;
        int p = port_parse_n(h, first);
        if (p < 0)
                return -1;
        size_t bl = last - first - 1, tl = dot - last - 1;
        if (bl > SBX_NAME_MAX || tl == 0 || tl > SBX_TOKEN_MAX)
                return -1;
        char b[SBX_NAME_MAX + 1], t[SBX_TOKEN_MAX + 1];
        memcpy(b, h + first + 1, bl);
        b[bl] = '\0';
        memcpy(t, h + last + 1, tl);
        t[tl] = '\0';
        if (!sbx_name_valid(b) || !sbx_token_valid(t))
                return -1;
        *port = (unsigned)p;
        memcpy(box, b, bl + 1);
        memcpy(token, t, tl + 1);
        return 0;
}

static bool ows(char c)
{
        return c == ' ' || c == '\t';
}

long sbx_http_head(const char *buf, size_t len, const char **host, size_t *host_len)
{
        size_t end = 0, scan = len < SBX_HTTP_HEAD_MAX ? len : SBX_HTTP_HEAD_MAX;
        int hosts = 0;

        *host = NULL;
        *host_len = 0;
        /* The end of the head: an empty line ("\r\n\r\n", or bare "\n\n"). */
        for (size_t i = 0; i < scan; i++) {
                if (buf[i] == '\0')
                        return -1;
                if (buf[i] != '\n')
                        continue;
                if (i + 1 < len && buf[i + 1] == '\n') {
                        end = i + 2;
                        break;
                }
                if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
                        end = i + 3;
                        break;
                }
        }
        if (!end)
                return len >= SBX_HTTP_HEAD_MAX ? -1 : 0;
        if (end > SBX_HTTP_HEAD_MAX)
                return -1;
        /* The request line: METHOD SP target SP HTTP/x.y */
        const char *nl = memchr(buf, '\n', end);
        size_t ll = (size_t)(nl - buf);
        if (ll > 0 && buf[ll - 1] == '\r')
                ll--;
        const char *sp = memchr(buf, ' ', ll);
        if (!sp || sp == buf || ll < 10 || memcmp(buf + ll - 8, "HTTP/1.", 7) != 0)
                return -1;
        /* Header lines. */
        for (const char *l = nl + 1; l < buf + end;) {
                const char *e = memchr(l, '\n', (size_t)(buf + end - l));
                size_t n = (size_t)(e - l);
                if (n > 0 && l[n - 1] == '\r')
                        n--;
                if (n == 0)
                        break;
                if (ows(l[0]))
                        return -1;              /* obsolete line folding */
                const char *c = memchr(l, ':', n);
                if (!c)
                        return -1;
                if (c - l == 4 && (l[0] | 32) == 'h' && (l[1] | 32) == 'o' &&
                    (l[2] | 32) == 's' && (l[3] | 32) == 't') {
                        const char *v = c + 1, *ve = l + n;
                        while (v < ve && ows(*v))
                                v++;
                        while (ve > v && ows(ve[-1]))
                                ve--;
                        *host = v;
                        *host_len = (size_t)(ve - v);
                        hosts++;
                }
                l = e + 1;
        }
        if (hosts != 1) {
                *host = NULL;
                *host_len = 0;
        }
        return (long)end;
}
