/* test_net.c: the network keys of lib/config.c (net, allow, deny,
 * max_requests, max_bytes), the rule parser and matcher, the policy
 * decision, and the proxy's internal-address ranges (supervisor/proxy.c). */
#include <errno.h>
#include <glib.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"
#include "sbx/config.h"
#include "unit.h"

static struct sbx_net_rule rule(const char *w, bool allow)
{
        struct sbx_net_rule r;
        char *why = NULL;
        ck_assert_msg(sbx_net_rule_parse(w, allow, &r, &why) == 0, "rule '%s': %s", w, why);
        return r;
}

static void refused(const char *w, bool allow)
{
        struct sbx_net_rule r;
        char *why = NULL;
        ck_assert_msg(sbx_net_rule_parse(w, allow, &r, &why) == -EINVAL, "rule '%s' accepted", w);
        ck_assert_ptr_nonnull(why);
        g_free(why);
}

START_TEST(rule_forms)
{
        struct sbx_net_rule r = rule("Example.COM", true);
        ck_assert_str_eq(r.host, "example.com");
        ck_assert(!r.wildcard && !r.is_ip && r.port == 0 && r.pin[0] == 0);
        r = rule("*.example.com:443", true);
        ck_assert(r.wildcard);
        ck_assert_str_eq(r.host, "example.com");
        ck_assert_uint_eq(r.port, 443);
        r = rule("api.test=127.0.0.1:9000", true);
        ck_assert_str_eq(r.pin, "127.0.0.1");
        ck_assert_uint_eq(r.pin_port, 9000);
        ck_assert_uint_eq(r.port, 0);
        r = rule("api.test:80=[::1]", true);
        ck_assert_str_eq(r.pin, "::1");
        ck_assert_uint_eq(r.pin_port, 0);
        ck_assert_uint_eq(r.port, 80);
        r = rule("10.1.2.3:8080", false);
        ck_assert(r.is_ip);
        r = rule("[2001:db8::1]:443", true);
        ck_assert(r.is_ip);
        ck_assert_str_eq(r.host, "2001:db8::1");
        ck_assert_uint_eq(r.port, 443);
}
END_TEST

START_TEST(rule_refusals)
{
        const char *bad[] = { "", "bad..name", "-a.test", "a-.test", "a.test:0", "a.test:65536",
                              "a.test:x", "*.1.2.3.4", "*", "*.", "http://a.test/", "a.test=",
                              "a.test=name.test", "a.test=1.2.3.4:0", "[::1", "[nothex]:80",
                              "a b", "a$b.test", NULL };
        for (int i = 0; bad[i]; i++)
                refused(bad[i], true);
        refused("a.test=1.2.3.4", false);       /* deny takes no pin */
}
END_TEST

START_TEST(rule_matching)
{
        struct sbx_net_rule r = rule("*.corp.test", true);
        ck_assert(sbx_net_rule_match(&r, "a.corp.test", 80));
        ck_assert(sbx_net_rule_match(&r, "a.b.corp.test", 443));
        ck_assert(!sbx_net_rule_match(&r, "corp.test", 80));
        ck_assert(!sbx_net_rule_match(&r, "xcorp.test", 80));
        r = rule("api.test:443", true);
        ck_assert(sbx_net_rule_match(&r, "api.test", 443));
        ck_assert(!sbx_net_rule_match(&r, "api.test", 80));
        ck_assert(!sbx_net_rule_match(&r, "x.api.test", 443));
}
END_TEST

START_TEST(config_keys)
{
        struct sbx_config c;
        char *why = NULL;

        sbx_config_defaults(&c, SBX_TRUST_MEDIUM);
        ck_assert_int_eq(c.net, SBX_NET_NONE);
        ck_assert_uint_eq(c.max_requests, SBX_MAX);
        sbx_config_defaults(&c, SBX_TRUST_HIGH);
        ck_assert_int_eq(c.net, SBX_NET_ALL);
        sbx_config_defaults(&c, SBX_TRUST_MEDIUM);
        ck_assert_int_eq(sbx_config_parse(&c, "net allow\nallow a.test b.test:443\nallow *.c.test\n"
                                              "deny x.c.test\nmax_requests 10\nmax_bytes 1M\n", &why), 0);
        ck_assert_int_eq(c.net, SBX_NET_ALLOW);
        ck_assert_str_eq(c.net_allow, "a.test b.test:443 *.c.test");
        ck_assert_str_eq(c.net_deny, "x.c.test");
        ck_assert_uint_eq(c.max_requests, 10);
        ck_assert_uint_eq(c.max_bytes, 1024 * 1024);
        /* a later write replaces the list it names */
        ck_assert_int_eq(sbx_config_parse(&c, "allow d.test\n", &why), 0);
        ck_assert_str_eq(c.net_allow, "d.test");
        ck_assert_str_eq(c.net_deny, "x.c.test");
        /* format and parse again: the same */
        char *t = sbx_config_format(&c);
        ck_assert_ptr_nonnull(strstr(t, "\nnet allow\nallow d.test\ndeny x.c.test\n"));
        ck_assert_ptr_nonnull(strstr(t, "\nmax_requests 10\nmax_bytes 1M\n"));
        struct sbx_config d;
        sbx_config_defaults(&d, SBX_TRUST_LOW);
        ck_assert_int_eq(sbx_config_parse(&d, t, &why), 0);
        ck_assert_str_eq(d.net_allow, c.net_allow);
        ck_assert_str_eq(d.net_deny, c.net_deny);
        ck_assert_int_eq(d.net, c.net);
        free(t);
        ck_assert_int_eq(sbx_config_parse(&c, "allow none\n", &why), 0);
        ck_assert_str_eq(c.net_allow, "");
        /* all or nothing */
        ck_assert_int_eq(sbx_config_parse(&c, "allow e.test\nallow bad..test\n", &why), -EINVAL);
        ck_assert_ptr_nonnull(strstr(why, "line 2"));
        g_free(why);
        ck_assert_str_eq(c.net_allow, "");
        ck_assert_int_eq(sbx_config_parse(&c, "net sometimes\n", &why), -EINVAL);
        g_free(why);
        ck_assert_int_eq(sbx_config_parse(&c, "max_requests 0\n", &why), -EINVAL);
        g_free(why);
        /* trust resets the lists */
        ck_assert_int_eq(sbx_config_parse(&c, "allow f.test\ntrust low\n", &why), 0);
        ck_assert_str_eq(c.net_allow, "");
}
END_TEST

START_TEST(decide)
{
        struct sbx_config c;
        struct sbx_net_rule r;
        char *why = NULL;

        sbx_config_defaults(&c, SBX_TRUST_MEDIUM);
        ck_assert(!sbx_net_decide(&c, "a.test", 80, &r, &why));
        ck_assert_ptr_nonnull(strstr(why, "net none"));
        g_free(why);
        ck_assert_int_eq(sbx_config_parse(&c, "net allow\nallow a.test:80=127.0.0.1:9000 *.b.test\n"
                                              "deny x.b.test\n", &why), 0);
        ck_assert(sbx_net_decide(&c, "a.test", 80, &r, &why));
        ck_assert_str_eq(r.pin, "127.0.0.1");
        ck_assert(!sbx_net_decide(&c, "a.test", 81, &r, &why));
        ck_assert_ptr_nonnull(strstr(why, "port 81"));
        g_free(why);
        ck_assert(sbx_net_decide(&c, "y.b.test", 443, &r, &why));
        ck_assert(!sbx_net_decide(&c, "x.b.test", 443, &r, &why));
        ck_assert_ptr_nonnull(strstr(why, "deny x.b.test"));
        g_free(why);
        ck_assert(!sbx_net_decide(&c, "other.test", 80, &r, &why));
        ck_assert_ptr_nonnull(strstr(why, "not on the allow list"));
        g_free(why);
        ck_assert_int_eq(sbx_config_parse(&c, "net all\n", &why), 0);
        ck_assert(sbx_net_decide(&c, "other.test", 80, &r, &why));
        ck_assert_int_eq(r.host[0], 0);
        ck_assert(!sbx_net_decide(&c, "x.b.test", 80, &r, &why));   /* deny wins */
        g_free(why);
}
END_TEST

START_TEST(internal_ranges)
{
        const char *in[] = { "127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
                             "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
                             "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd12::1",
                             "::ffff:127.0.0.1", "::ffff:10.0.0.1", "ff02::1", NULL };
        const char *out[] = { "1.1.1.1", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111",
                              "::ffff:1.1.1.1", NULL };
        for (int i = 0; in[i]; i++) {
                guint8 b[16];
                int af = strchr(in[i], ':') ? AF_INET6 : AF_INET;
                ck_assert(inet_pton(af, in[i], b) == 1);
                ck_assert_msg(proxy_addr_internal(b, af == AF_INET ? 4 : 16), "%s is internal", in[i]);
        }
        for (int i = 0; out[i]; i++) {
                guint8 b[16];
                int af = strchr(out[i], ':') ? AF_INET6 : AF_INET;
                ck_assert(inet_pton(af, out[i], b) == 1);
                ck_assert_msg(!proxy_addr_internal(b, af == AF_INET ? 4 : 16), "%s is public", out[i]);
        }
}
END_TEST

Suite *net_suite(void)
{
        Suite *s = suite_create("net");
        TCase *tc = tcase_create("net");

        tcase_add_test(tc, rule_forms);
        tcase_add_test(tc, rule_refusals);
        tcase_add_test(tc, rule_matching);
        tcase_add_test(tc, config_keys);
        tcase_add_test(tc, decide);
        tcase_add_test(tc, internal_ranges);
        suite_add_tcase(s, tc);
        return s;
}
