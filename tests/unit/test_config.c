/* test_config.c: lib/config.c (value parsers, config text, trust levels,
 * profiles). */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbx/config.h"
#include "unit.h"

#define KiB 1024ull
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)

/* Field by field: memcmp would also compare the padding. */
#define assert_cfg_eq(a, b) do { \
        const struct sbx_config *a_ = (a), *b_ = (b); \
        ck_assert_int_eq(a_->trust, b_->trust); \
        ck_assert_uint_eq(a_->timeout_ms, b_->timeout_ms); \
        ck_assert_uint_eq(a_->grace_ms, b_->grace_ms); \
        ck_assert_uint_eq(a_->cpu_ms, b_->cpu_ms); \
        ck_assert_uint_eq(a_->memory, b_->memory); \
        ck_assert_uint_eq(a_->memory_high, b_->memory_high); \
        ck_assert_uint_eq(a_->pids, b_->pids); \
        ck_assert_uint_eq(a_->nofile, b_->nofile); \
        ck_assert_uint_eq(a_->fsize, b_->fsize); \
        ck_assert_uint_eq(a_->tmp, b_->tmp); \
        ck_assert_uint_eq(a_->output, b_->output); \
        ck_assert_uint_eq(a_->files, b_->files); \
        ck_assert_int_eq(a_->net, b_->net); \
        ck_assert_int_eq(a_->seccomp, b_->seccomp); \
        ck_assert_int_eq(a_->kill_on_violation, b_->kill_on_violation); \
} while (0)

START_TEST(parse_size_values)
{
        uint64_t v;

        ck_assert_int_eq(sbx_parse_size("0", &v), 0);
        ck_assert_uint_eq(v, 0);
        ck_assert_int_eq(sbx_parse_size("4096", &v), 0);
        ck_assert_uint_eq(v, 4096);
        ck_assert_int_eq(sbx_parse_size("1K", &v), 0);
        ck_assert_uint_eq(v, KiB);
        ck_assert_int_eq(sbx_parse_size("1k", &v), 0);
        ck_assert_uint_eq(v, KiB);
        ck_assert_int_eq(sbx_parse_size("64M", &v), 0);
        ck_assert_uint_eq(v, 64 * MiB);
        ck_assert_int_eq(sbx_parse_size("2G", &v), 0);
        ck_assert_uint_eq(v, 2 * GiB);
        ck_assert_int_eq(sbx_parse_size("3T", &v), 0);
        ck_assert_uint_eq(v, 3 * 1024 * GiB);
        ck_assert_int_eq(sbx_parse_size("512MiB", &v), 0);
        ck_assert_uint_eq(v, 512 * MiB);
        ck_assert_int_eq(sbx_parse_size("max", &v), 0);
        ck_assert_uint_eq(v, SBX_MAX);
}
END_TEST

START_TEST(parse_size_refuses)
{
        static const char *bad[] = {
                "", "M", "-1", "+5", " 5", "5 ", "1.5G", "64X", "64MB", "0x10",
                "MAX", "Max", "maximum", "12abc", "99999999999999999999",
                "18014398509481984K", /* 2^54 KiB: overflows 64 bits */
        };
        uint64_t v = 77;

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                ck_assert_msg(sbx_parse_size(bad[i], &v) == -EINVAL, "'%s' accepted", bad[i]);
                ck_assert_uint_eq(v, 77);
        }
        ck_assert_int_eq(sbx_parse_size(NULL, &v), -EINVAL);
}
END_TEST

START_TEST(parse_duration_values)
{
        uint64_t v;

        ck_assert_int_eq(sbx_parse_duration_ms("10", &v), 0);
        ck_assert_uint_eq(v, 10000);
        ck_assert_int_eq(sbx_parse_duration_ms("10s", &v), 0);
        ck_assert_uint_eq(v, 10000);
        ck_assert_int_eq(sbx_parse_duration_ms("500ms", &v), 0);
        ck_assert_uint_eq(v, 500);
        ck_assert_int_eq(sbx_parse_duration_ms("5m", &v), 0);
        ck_assert_uint_eq(v, 300000);
        ck_assert_int_eq(sbx_parse_duration_ms("2h", &v), 0);
        ck_assert_uint_eq(v, 7200000);
        ck_assert_int_eq(sbx_parse_duration_ms("0", &v), 0);
        ck_assert_uint_eq(v, 0);
        ck_assert_int_eq(sbx_parse_duration_ms("max", &v), 0);
        ck_assert_uint_eq(v, SBX_MAX);
}
END_TEST

START_TEST(parse_duration_refuses)
{
        static const char *bad[] = {
                "", "s", "ms", "-1s", "1.5s", "10sec", "10S", "10 s", "1d", "max1",
        };
        uint64_t v = 77;

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                ck_assert_msg(sbx_parse_duration_ms(bad[i], &v) == -EINVAL, "'%s' accepted", bad[i]);
                ck_assert_uint_eq(v, 77);
        }
}
END_TEST

START_TEST(parse_count_values)
{
        uint64_t v = 0;

        ck_assert_int_eq(sbx_parse_count("100", &v), 0);
        ck_assert_uint_eq(v, 100);
        ck_assert_int_eq(sbx_parse_count("max", &v), 0);
        ck_assert_uint_eq(v, SBX_MAX);
        v = 5;
        ck_assert_int_eq(sbx_parse_count("10K", &v), -EINVAL);
        ck_assert_int_eq(sbx_parse_count("1e3", &v), -EINVAL);
        ck_assert_int_eq(sbx_parse_count("-3", &v), -EINVAL);
        ck_assert_int_eq(sbx_parse_count("", &v), -EINVAL);
        ck_assert_int_eq(sbx_parse_count("3 ", &v), -EINVAL);
        ck_assert_uint_eq(v, 5);
}
END_TEST

START_TEST(trust_names)
{
        static const char *names[] = { "untrusted", "low", "medium", "high" };
        enum sbx_trust t;

        for (int i = 0; i < SBX_TRUST_COUNT; i++) {
                ck_assert_int_eq(sbx_trust_parse(names[i], &t), 0);
                ck_assert_int_eq(t, i);
                ck_assert_str_eq(sbx_trust_name(t), names[i]);
        }
        t = SBX_TRUST_HIGH;
        ck_assert_int_eq(sbx_trust_parse("Medium", &t), -EINVAL);
        ck_assert_int_eq(sbx_trust_parse("", &t), -EINVAL);
        ck_assert_int_eq(sbx_trust_parse("trusted", &t), -EINVAL);
        ck_assert_int_eq(sbx_trust_parse("medium ", &t), -EINVAL);
        ck_assert_int_eq(t, SBX_TRUST_HIGH);
        ck_assert_str_eq(sbx_trust_name(SBX_TRUST_COUNT), "unknown");
}
END_TEST

START_TEST(defaults_order_by_trust)
{
        struct sbx_config u, m, h;

        sbx_config_defaults(&u, SBX_TRUST_UNTRUSTED);
        sbx_config_defaults(&m, SBX_TRUST_MEDIUM);
        sbx_config_defaults(&h, SBX_TRUST_HIGH);
        ck_assert_int_eq(u.trust, SBX_TRUST_UNTRUSTED);
        ck_assert_int_eq(m.trust, SBX_TRUST_MEDIUM);
        /* Stricter levels get less, and untrusted dies on a violation. */
        ck_assert_uint_lt(u.memory, m.memory);
        ck_assert_uint_lt(m.memory, h.memory);
        ck_assert_uint_lt(u.pids, m.pids);
        ck_assert_uint_lt(u.timeout_ms, m.timeout_ms);
        ck_assert(u.kill_on_violation);
        ck_assert(!m.kill_on_violation);
        ck_assert_int_eq(u.seccomp, SBX_SECCOMP_STRICT);
        ck_assert_int_eq(m.seccomp, SBX_SECCOMP_DEFAULT);
        /* An unknown level gives the default level. */
        sbx_config_defaults(&u, SBX_TRUST_COUNT);
        ck_assert_int_eq(u.trust, SBX_TRUST_DEFAULT);
}
END_TEST

START_TEST(config_set_keys)
{
        struct sbx_config c;
        char *why = NULL;

        sbx_config_defaults(&c, SBX_TRUST_MEDIUM);
        ck_assert_int_eq(sbx_config_set(&c, "timeout", "5s", &why), 0);
        ck_assert_ptr_null(why);
        ck_assert_uint_eq(c.timeout_ms, 5000);
        ck_assert_int_eq(sbx_config_set(&c, "grace", "0", &why), 0);
        ck_assert_uint_eq(c.grace_ms, 0);
        ck_assert_int_eq(sbx_config_set(&c, "memory", "64M", &why), 0);
        ck_assert_uint_eq(c.memory, 64 * MiB);
        ck_assert_int_eq(sbx_config_set(&c, "pids", "max", &why), 0);
        ck_assert_uint_eq(c.pids, SBX_MAX);
        ck_assert_int_eq(sbx_config_set(&c, "output", "1K", &why), 0);
        ck_assert_uint_eq(c.output, KiB);
        ck_assert_int_eq(sbx_config_set(&c, "seccomp", "off", &why), 0);
        ck_assert_int_eq(c.seccomp, SBX_SECCOMP_OFF);
        ck_assert_int_eq(sbx_config_set(&c, "on_violation", "kill", &why), 0);
        ck_assert(c.kill_on_violation);
        ck_assert_int_eq(sbx_config_set(&c, "net", "none", &why), 0);
        /* trust resets every limit to the level's defaults. */
        ck_assert_int_eq(sbx_config_set(&c, "trust", "untrusted", &why), 0);
        struct sbx_config u;
        sbx_config_defaults(&u, SBX_TRUST_UNTRUSTED);
        assert_cfg_eq(&c, &u);
}
END_TEST

/* A refused setting: -EINVAL, a reason naming want, cfg unchanged. */
static void assert_refused(const char *key, const char *value, const char *want)
{
        struct sbx_config c, before;
        char *why = NULL;

        sbx_config_defaults(&c, SBX_TRUST_LOW);
        before = c;
        ck_assert_int_eq(sbx_config_set(&c, key, value, &why), -EINVAL);
        ck_assert_msg(why && strstr(why, want), "reason for %s=%s is '%s', wanted '%s'",
                      key, value, why ? why : "(null)", want);
        assert_cfg_eq(&c, &before);
        g_free(why);
}

START_TEST(config_set_refuses)
{
        assert_refused("timeout", "soon", "timeout");
        assert_refused("timeout", "0", "greater than 0");
        assert_refused("memory", "0", "greater than 0");
        assert_refused("memory", "lots", "size");
        assert_refused("pids", "1K", "whole number");
        assert_refused("colour", "blue", "unknown key 'colour'");
        assert_refused("trust", "root", "unknown level 'root'");
        assert_refused("net", "host", "net");
        assert_refused("seccomp", "lax", "seccomp");
        assert_refused("on_violation", "ignore", "on_violation");
        assert_refused("memory", "", "missing value");
        assert_refused("memory", NULL, "missing value");
}
END_TEST

START_TEST(config_parse_text)
{
        struct sbx_config c;
        char *why = NULL;

        sbx_config_defaults(&c, SBX_TRUST_MEDIUM);
        ck_assert_int_eq(sbx_config_parse(&c, "# a comment\n\n  timeout 5s  \nmemory=64M\n"
                                              "pids\t10\noutput = 2K\n", &why), 0);
        ck_assert_ptr_null(why);
        ck_assert_uint_eq(c.timeout_ms, 5000);
        ck_assert_uint_eq(c.memory, 64 * MiB);
        ck_assert_uint_eq(c.pids, 10);
        ck_assert_uint_eq(c.output, 2 * KiB);
        /* Later lines win; trust applies where it stands. */
        ck_assert_int_eq(sbx_config_parse(&c, "memory 1G\ntrust high\npids 7\n", &why), 0);
        struct sbx_config h;
        sbx_config_defaults(&h, SBX_TRUST_HIGH);
        ck_assert_uint_eq(c.memory, h.memory);
        ck_assert_uint_eq(c.pids, 7);
        ck_assert_int_eq(sbx_config_parse(&c, "", &why), 0);
        ck_assert_uint_eq(c.pids, 7);
}
END_TEST

START_TEST(config_parse_all_or_nothing)
{
        struct sbx_config c, before;
        char *why = NULL;

        sbx_config_defaults(&c, SBX_TRUST_MEDIUM);
        before = c;
        ck_assert_int_eq(sbx_config_parse(&c, "timeout 5s\nmemory 64M\n# x\nmemory lots\npids 3\n",
                                          &why), -EINVAL);
        ck_assert_ptr_nonnull(why);
        /* The reason names the line and the key. */
        ck_assert_msg(strstr(why, "line 4") && strstr(why, "memory"), "reason '%s'", why);
        assert_cfg_eq(&c, &before);
        g_free(why);
        why = NULL;
        ck_assert_int_eq(sbx_config_parse(&c, "trust low\nbogus 1\n", &why), -EINVAL);
        ck_assert_msg(strstr(why, "line 2") && strstr(why, "bogus"), "reason '%s'", why);
        assert_cfg_eq(&c, &before);
        g_free(why);
}
END_TEST

static void assert_round_trip(const struct sbx_config *c)
{
        struct sbx_config back;
        char *why = NULL, *text = sbx_config_format(c);

        /* Parsed on top of other defaults: the text says everything. */
        sbx_config_defaults(&back, c->trust == SBX_TRUST_HIGH ? SBX_TRUST_UNTRUSTED : SBX_TRUST_HIGH);
        ck_assert_msg(sbx_config_parse(&back, text, &why) == 0, "'%s': %s", text, why);
        assert_cfg_eq(&back, c);
        free(text);
}

START_TEST(config_format_round_trip)
{
        struct sbx_config c;
        char *why = NULL;

        for (int t = 0; t < SBX_TRUST_COUNT; t++) {
                sbx_config_defaults(&c, (enum sbx_trust)t);
                assert_round_trip(&c);
        }
        sbx_config_defaults(&c, SBX_TRUST_LOW);
        ck_assert_int_eq(sbx_config_parse(&c, "timeout 1500ms\ngrace 0\nmemory 1000\n"
                                              "memory_high 3G\nfiles max\nseccomp off\n"
                                              "on_violation kill\n", &why), 0);
        assert_round_trip(&c);
        /* Every key, one per line, trust first, the way people write it. */
        char *text = sbx_config_format(&c);
        ck_assert_msg(g_str_has_prefix(text, "trust low\ntimeout 1500ms\ngrace 0s\n"), "'%s'", text);
        ck_assert_ptr_nonnull(strstr(text, "\nmemory 1000\n"));
        ck_assert_ptr_nonnull(strstr(text, "\nmemory_high 3G\n"));
        ck_assert_ptr_nonnull(strstr(text, "\nfiles max\n"));
        ck_assert_ptr_nonnull(strstr(text, "\nseccomp off\n"));
        ck_assert(g_str_has_suffix(text, "\non_violation kill\n"));
        gchar **lines = g_strsplit(text, "\n", -1);
        ck_assert_uint_eq(g_strv_length(lines), 19);   /* 18 keys + "" (no allow/deny rules) */
        g_strfreev(lines);
        free(text);
}
END_TEST

START_TEST(config_load_dir)
{
        char *dir = unit_tmpdir(), *why = NULL, path[4200];
        struct sbx_config c, m;

        /* No config file: the default level's defaults. */
        sbx_config_defaults(&m, SBX_TRUST_DEFAULT);
        ck_assert_int_eq(sbx_config_load(&c, dir, &why), 0);
        assert_cfg_eq(&c, &m);
        snprintf(path, sizeof path, "%s/config", dir);
        ck_assert(g_file_set_contents(path, "output 1K\n", -1, NULL));
        ck_assert_int_eq(sbx_config_load(&c, dir, &why), 0);
        ck_assert_uint_eq(c.output, KiB);
        ck_assert(g_file_set_contents(path, "output lots\n", -1, NULL));
        ck_assert_int_eq(sbx_config_load(&c, dir, &why), -EINVAL);
        ck_assert_ptr_nonnull(strstr(why, "output"));
        g_free(why);
        ck_assert_int_eq(sbx_config_load(&c, "/nonexistent/sbx", &why), -ENOENT);
        ck_assert_ptr_nonnull(why);
        g_free(why);
        unit_rmtree(dir);
        free(dir);
}
END_TEST

/* Profiles are process-wide: put the built-in values back after a test
 * (Check may run the tests in one process, CK_FORK=no), by writing them
 * as a profiles file, which also proves format and profiles agree. */
static char *saved_profiles;

static void profiles_save(void)
{
        GString *kf = g_string_new(NULL);

        for (int t = 0; t < SBX_TRUST_COUNT; t++) {
                struct sbx_config c;
                sbx_config_defaults(&c, (enum sbx_trust)t);
                char *text = sbx_config_format(&c);
                gchar **lines = g_strsplit(text, "\n", -1);
                g_string_append_printf(kf, "[%s]\n", sbx_trust_name((enum sbx_trust)t));
                for (int i = 1; lines[i]; i++) {        /* line 0: trust */
                        char *sp = strchr(lines[i], ' ');
                        if (sp)
                                *sp = '=';
                        if (*lines[i])
                                g_string_append_printf(kf, "%s\n", lines[i]);
                }
                g_strfreev(lines);
                free(text);
        }
        saved_profiles = g_string_free(kf, FALSE);
}

static void profiles_restore(void)
{
        char *dir = unit_tmpdir(), path[4200], *why = NULL;

        snprintf(path, sizeof path, "%s/restore.conf", dir);
        ck_assert(g_file_set_contents(path, saved_profiles, -1, NULL));
        ck_assert_msg(sbx_profiles_load(path, &why) == 0, "restore: %s", why);
        unit_rmtree(dir);
        free(dir);
        g_free(saved_profiles);
        saved_profiles = NULL;
}

static int load_text(const char *text, char **why)
{
        char *dir = unit_tmpdir(), path[4200];

        snprintf(path, sizeof path, "%s/profiles.conf", dir);
        ck_assert(g_file_set_contents(path, text, -1, NULL));
        int r = sbx_profiles_load(path, why);
        unit_rmtree(dir);
        free(dir);
        return r;
}

START_TEST(profiles_override_defaults)
{
        struct sbx_config before_low, c;
        char *why = NULL;

        sbx_config_defaults(&before_low, SBX_TRUST_LOW);
        ck_assert_int_eq(load_text("# site limits\n[untrusted]\ntimeout=3s\nmemory = 32M\n"
                                   "[high]\npids=2000\n", &why), 0);
        ck_assert_ptr_null(why);
        sbx_config_defaults(&c, SBX_TRUST_UNTRUSTED);
        ck_assert_uint_eq(c.timeout_ms, 3000);
        ck_assert_uint_eq(c.memory, 32 * MiB);
        ck_assert_int_eq(c.trust, SBX_TRUST_UNTRUSTED);
        ck_assert(c.kill_on_violation);          /* untouched keys stay */
        sbx_config_defaults(&c, SBX_TRUST_HIGH);
        ck_assert_uint_eq(c.pids, 2000);
        sbx_config_defaults(&c, SBX_TRUST_LOW);
        assert_cfg_eq(&c, &before_low);
        /* A config's "trust untrusted" now means the new defaults. */
        ck_assert_int_eq(sbx_config_parse(&c, "trust untrusted\n", &why), 0);
        ck_assert_uint_eq(c.timeout_ms, 3000);
}
END_TEST

START_TEST(profiles_bad_files)
{
        struct sbx_config u, c;
        char *why = NULL;

        sbx_config_defaults(&u, SBX_TRUST_UNTRUSTED);
        /* Each is refused with a reason, and nothing of it is applied. */
        static const struct { const char *text, *want; } bad[] = {
                { "[untrusted]\ntimeout=1s\nmemory=lots\n", "memory" },
                { "[untrusted]\ntimeout=1s\ncolour=blue\n", "colour" },
                { "[untrusted]\ntimeout=1s\n[root]\npids=1\n", "unknown profile [root]" },
                { "[untrusted]\ntimeout=1s\ntrust=high\n", "trust" },
                { "[untrusted]\ntimeout=1s\nnot a key file line\n", "profiles.conf" },
                { "[untrusted]\ntimeout=1s\npids=0\n", "greater than 0" },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                ck_assert_int_eq(load_text(bad[i].text, &why), -EINVAL);
                ck_assert_msg(why && strstr(why, bad[i].want), "file %zu: reason '%s', wanted '%s'",
                              i, why ? why : "(null)", bad[i].want);
                g_free(why);
                why = NULL;
                sbx_config_defaults(&c, SBX_TRUST_UNTRUSTED);
                assert_cfg_eq(&c, &u);
        }
        /* A missing file is no error and changes nothing. */
        ck_assert_int_eq(sbx_profiles_load("/nonexistent/profiles.conf", &why), 0);
        ck_assert_ptr_null(why);
        sbx_config_defaults(&c, SBX_TRUST_UNTRUSTED);
        assert_cfg_eq(&c, &u);
}
END_TEST

START_TEST(profiles_shipped_file_loads)
{
        /* docs/profiles.conf, found from this source file's path. */
        char *src = g_path_get_dirname(__FILE__);
        char *path = g_build_filename(src, "..", "..", "docs", "profiles.conf", NULL);
        char *why = NULL;

        if (g_file_test(path, G_FILE_TEST_EXISTS))
                ck_assert_msg(sbx_profiles_load(path, &why) == 0, "%s: %s", path, why);
        g_free(path);
        g_free(src);
}
END_TEST

Suite *config_suite(void)
{
        Suite *s = suite_create("config");
        TCase *t = tcase_create("values");
        TCase *p = tcase_create("profiles");

        tcase_add_test(t, parse_size_values);
        tcase_add_test(t, parse_size_refuses);
        tcase_add_test(t, parse_duration_values);
        tcase_add_test(t, parse_duration_refuses);
        tcase_add_test(t, parse_count_values);
        tcase_add_test(t, trust_names);
        tcase_add_test(t, defaults_order_by_trust);
        tcase_add_test(t, config_set_keys);
        tcase_add_test(t, config_set_refuses);
        tcase_add_test(t, config_parse_text);
        tcase_add_test(t, config_parse_all_or_nothing);
        tcase_add_test(t, config_format_round_trip);
        tcase_add_test(t, config_load_dir);
        suite_add_tcase(s, t);
        tcase_add_checked_fixture(p, profiles_save, profiles_restore);
        tcase_add_test(p, profiles_override_defaults);
        tcase_add_test(p, profiles_bad_files);
        tcase_add_test(p, profiles_shipped_file_loads);
        suite_add_tcase(s, p);
        return s;
}
