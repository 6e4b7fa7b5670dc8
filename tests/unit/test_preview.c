/* test_preview.c: lib/preview.c — preview host names, tokens and HTTP
 * request heads.  These parse bytes from the network, so besides the
 * examples there are fuzz-style runs: random and mutated inputs must never
 * crash (run under ASan by `make check`), and whatever parses must be
 * exactly a well-formed label. */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx/preview.h"
#include "sbx/util.h"
#include "unit.h"

static int parse(const char *h, unsigned *port, char *box, char *tok)
{
        return sbx_preview_parse_host(h, strlen(h), port, box, tok);
}

START_TEST(host_accepts)
{
        unsigned port;
        char box[64], tok[17];

        ck_assert_int_eq(parse("8080-box1-abc.localhost", &port, box, tok), 0);
        ck_assert_uint_eq(port, 8080);
        ck_assert_str_eq(box, "box1");
        ck_assert_str_eq(tok, "abc");
        ck_assert_int_eq(parse("8080-my-box-2-tok_1.localhost:8723", &port, box, tok), 0);
        ck_assert_str_eq(box, "my-box-2");
        ck_assert_str_eq(tok, "tok_1");
        ck_assert_int_eq(parse("65535-A-XYZ.LocalHost.", &port, box, tok), 0);
        ck_assert_uint_eq(port, 65535);
        ck_assert_str_eq(box, "a");
        ck_assert_str_eq(tok, "xyz");
        ck_assert_int_eq(parse("1024-b-0123456789abcdef.localhost", &port, box, tok), 0);
}
END_TEST

START_TEST(host_refuses)
{
        static const char *bad[] = {
                "", "localhost", "8080-box1-abc", "8080-box1-abc.example.com",
                "8080-box1-abc.localhost.evil", "8080-box1-abc.xlocalhost", "8080-box1.localhost",
                "8080--abc.localhost", "80-box1-abc.localhost", "1023-box1-abc.localhost",
                "65536-box1-abc.localhost", "08080-box1-abc.localhost", "8080-box1-.localhost",
                "8080-box1-0123456789abcdefg.localhost", "8080-box1-a.b.localhost",
                "8080-box_1-abc.localhost", "8080-box1--abc.localhost", "8080--box1-abc.localhost",
                "8080-box1-abc.localhost:", "8080-box1-abc.localhost:x", "8080-box1-abc.localhost:123456",
                "+8080-box1-abc.localhost", "8080-box1-ab c.localhost", "-8080-box1-abc.localhost",
                ".localhost", "8080-box1-abc..localhost",
        };
        unsigned port;
        char box[64], tok[17];

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
                ck_assert_msg(parse(bad[i], &port, box, tok) < 0, "'%s' parsed", bad[i]);
        /* An embedded NUL is not cut short. */
        ck_assert_int_lt(sbx_preview_parse_host("8080-b-t.localhost\0x", 20, &port, box, tok), 0);
        /* A label over 63 chars. */
        char h[256];
        snprintf(h, sizeof h, "8080-%s-abcdefghijklmnop.localhost",
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        ck_assert_int_lt(parse(h, &port, box, tok), 0);
}
END_TEST

START_TEST(tokens)
{
        ck_assert(sbx_token_valid("a"));
        ck_assert(sbx_token_valid("abc_123"));
        ck_assert(sbx_token_valid("0123456789abcdef"));
        ck_assert(!sbx_token_valid(""));
        ck_assert(!sbx_token_valid("0123456789abcdefg"));
        ck_assert(!sbx_token_valid("a-b"));
        ck_assert(!sbx_token_valid("ABC"));
        ck_assert(!sbx_token_valid(NULL));
        ck_assert(sbx_token_equal("abc", "abc"));
        ck_assert(!sbx_token_equal("abc", "abd"));
        ck_assert(!sbx_token_equal("abc", "abcd"));
        ck_assert(!sbx_token_equal("", ""));
        ck_assert(!sbx_token_equal("abc", NULL));
        ck_assert(!sbx_token_equal("0123456789abcdefX", "0123456789abcdefX"));
        ck_assert_int_eq(sbx_port_parse("1024"), 1024);
        ck_assert_int_eq(sbx_port_parse("65535"), 65535);
        ck_assert_int_eq(sbx_port_parse("0080"), -1);
        ck_assert_int_eq(sbx_port_parse("70000"), -1);
        ck_assert_int_eq(sbx_port_parse("123456"), -1);
        ck_assert_int_eq(sbx_port_parse("80a0"), -1);
        ck_assert_uint_eq(sbx_preview_label_len(8080, "box1", 16), 4 + 1 + 4 + 1 + 16);
}
END_TEST

START_TEST(head_parse)
{
        const char *h;
        size_t hl;
        const char *req = "GET / HTTP/1.1\r\nHost:  8080-b-t.localhost:1 \r\nAccept: */*\r\n\r\nBODY";

        ck_assert_int_eq(sbx_http_head(req, strlen(req), &h, &hl), (long)strlen(req) - 4);
        ck_assert_int_eq((int)hl, (int)strlen("8080-b-t.localhost:1"));
        ck_assert(memcmp(h, "8080-b-t.localhost:1", hl) == 0);
        /* Incomplete: more is needed. */
        ck_assert_int_eq(sbx_http_head(req, 20, &h, &hl), 0);
        /* Two Host headers, none: complete but no host. */
        const char *two = "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n";
        ck_assert_int_gt(sbx_http_head(two, strlen(two), &h, &hl), 0);
        ck_assert_ptr_null(h);
        const char *none = "GET / HTTP/1.0\n\n";
        ck_assert_int_gt(sbx_http_head(none, strlen(none), &h, &hl), 0);
        ck_assert_ptr_null(h);
        /* Not HTTP, folding, no colon. */
        const char *bad[] = { "HELLO\r\n\r\n", "GET / HTTP/1.1\r\n Host: x\r\n\r\n",
                              "GET / HTTP/1.1\r\nHost x\r\n\r\n", "GET / SPDY/3\r\n\r\n" };
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
                ck_assert_int_lt(sbx_http_head(bad[i], strlen(bad[i]), &h, &hl), 0);
        /* Too long. */
        char *big = g_malloc(SBX_HTTP_HEAD_MAX + 10);
        memset(big, 'a', SBX_HTTP_HEAD_MAX + 10);
        ck_assert_int_lt(sbx_http_head(big, SBX_HTTP_HEAD_MAX + 10, &h, &hl), 0);
        g_free(big);
}
END_TEST

/* Fuzz: random bytes over a small alphabet that makes near-misses likely,
 * and single-byte mutations of valid hosts.  Anything accepted must be
 * the lower-cased "<port>-<box>-<token>.localhost[.][:digits]". */
static void check_roundtrip(const char *in, size_t len)
{
        unsigned port;
        char box[64], tok[17], label[128], low[300];

        if (sbx_preview_parse_host(in, len, &port, box, tok) < 0)
                return;
        ck_assert(len < sizeof low);
        for (size_t i = 0; i < len; i++)
                low[i] = (char)g_ascii_tolower(in[i]);
        low[len] = '\0';
        ck_assert(port >= 1024 && port <= 65535);
        ck_assert(sbx_name_valid(box));
        ck_assert(sbx_token_valid(tok));
        snprintf(label, sizeof label, "%u-%s-%s.localhost", port, box, tok);
        ck_assert_msg(strncmp(low, label, strlen(label)) == 0, "'%s' parsed as '%s'", low, label);
        const char *rest = low + strlen(label);
        if (*rest == '.')
                rest++;
        if (*rest == ':')
                for (rest++; *rest; rest++)
                        ck_assert(*rest >= '0' && *rest <= '9');
        ck_assert(*rest == '\0');
        ck_assert(strlen(label) - strlen(".localhost") <= 63);
}

START_TEST(fuzz_host)
{
        static const char alpha[] = "0123456789abcAZ-_.:localhost\0 \t";
        GRand *r = g_rand_new_with_seed(12345);
        char buf[128];
        const char *seeds[] = { "8080-box1-abc.localhost", "1024-a-b.localhost:8723",
                                "65535-x-y-z-tok_.localhost." };

        for (int i = 0; i < 200000; i++) {
                size_t len = (size_t)g_rand_int_range(r, 0, 80);
                for (size_t j = 0; j < len; j++)
                        buf[j] = alpha[g_rand_int_range(r, 0, sizeof alpha - 1)];
                check_roundtrip(buf, len);
        }
        for (size_t s = 0; s < G_N_ELEMENTS(seeds); s++) {
                size_t n = strlen(seeds[s]);
                for (int i = 0; i < 50000; i++) {
                        memcpy(buf, seeds[s], n);
                        int muts = g_rand_int_range(r, 1, 4);
                        for (int m = 0; m < muts; m++)
                                buf[g_rand_int_range(r, 0, (gint32)n)] =
                                        (char)g_rand_int_range(r, 0, 256);
                        check_roundtrip(buf, n);
                }
        }
        g_rand_free(r);
}
END_TEST

START_TEST(fuzz_head)
{
        static const char *pieces[] = { "GET ", "/ ", "HTTP/1.1", "\r\n", "\n", "Host:", "host: ",
                                        "x", " ", ":", "\r", "\0", "8080-b-t.localhost" };
        GRand *r = g_rand_new_with_seed(777);
        char buf[512];

        for (int i = 0; i < 100000; i++) {
                size_t len = 0;
                int n = g_rand_int_range(r, 0, 30);
                for (int j = 0; j < n; j++) {
                        const char *p = pieces[g_rand_int_range(r, 0, G_N_ELEMENTS(pieces))];
                        size_t pl = *p ? strlen(p) : 1;
                        if (len + pl > sizeof buf)
                                break;
                        memcpy(buf + len, p, pl);
                        len += pl;
                }
                /* An exact-size heap copy, so ASan sees any over-read. */
                char *copy = g_memdup2(buf, len ? len : 1);
                const char *h;
                size_t hl;
                long e = sbx_http_head(copy, len, &h, &hl);
                ck_assert(e <= (long)len);
                if (e > 0 && h) {
                        ck_assert(h >= copy && h + hl <= copy + e);
                        check_roundtrip(h, hl);
                }
                g_free(copy);
        }
        g_rand_free(r);
}
END_TEST

Suite *preview_suite(void)
{
        Suite *s = suite_create("preview");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, host_accepts);
        tcase_add_test(tc, host_refuses);
        tcase_add_test(tc, tokens);
        tcase_add_test(tc, head_parse);
        tcase_add_test(tc, fuzz_host);
        tcase_add_test(tc, fuzz_head);
        suite_add_tcase(s, tc);
        return s;
}
