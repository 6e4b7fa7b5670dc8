/* test_cgroup.c: the text parsers of supervisor/cgroup.c, on samples of
 * /proc/self/cgroup and of flat-keyed files from v1 and v2 hosts. */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "cgroup.h"
#include "unit.h"

/* This host's layout: hybrid, memory on v1 in a nested cgroup, cpu and
 * cpuacct mounted apart, an empty v2 tree. */
static const char hybrid[] =
        "9:name=systemd:/\n"
        "8:pids:/\n"
        "7:blkio:/\n"
        "6:freezer:/\n"
        "5:devices:/\n"
        "4:memory:/process_api/36ee1e7d881b0a5f97039adf5487964c\n"
        "3:cpuset:/\n"
        "2:cpuacct:/\n"
        "1:cpu:/\n"
        "0::/\n";

/* A systemd v1 host: cpu and cpuacct co-mounted, net_cls,net_prio. */
static const char v1_systemd[] =
        "12:cpuset:/\n"
        "11:net_cls,net_prio:/\n"
        "10:cpu,cpuacct:/user.slice\n"
        "9:pids:/user.slice/user-1000.slice/session-2.scope\n"
        "8:memory:/user.slice/user-1000.slice/session-2.scope\n"
        "1:name=systemd:/user.slice/user-1000.slice/session-2.scope\n";

/* Pure v2. */
static const char v2[] = "0::/user.slice/user-1000.slice/session-2.scope\n";

static void assert_path(const char *text, int h, const char *want)
{
        char *path = NULL;

        ck_assert_int_eq(sbx_cg_parse_self(text, h, &path), 0);
        ck_assert_str_eq(path, want);
        g_free(path);
}

static void assert_absent(const char *text, int h)
{
        char *path = (char *)"untouched";

        ck_assert_int_eq(sbx_cg_parse_self(text, h, &path), -ENOENT);
        ck_assert_str_eq(path, "untouched");
}

START_TEST(parse_self_hybrid)
{
        assert_path(hybrid, SBX_CG_UNIFIED, "/");
        assert_path(hybrid, SBX_CG_MEMORY, "/process_api/36ee1e7d881b0a5f97039adf5487964c");
        assert_path(hybrid, SBX_CG_PIDS, "/");
        /* cpu accounting is cpuacct's, not cpu's nor cpuset's. */
        assert_path(hybrid, SBX_CG_CPU, "/");
        assert_path("3:cpuset:/a\n2:cpuacct:/b\n1:cpu:/c\n", SBX_CG_CPU, "/b");
}
END_TEST

START_TEST(parse_self_v1)
{
        assert_path(v1_systemd, SBX_CG_MEMORY, "/user.slice/user-1000.slice/session-2.scope");
        assert_path(v1_systemd, SBX_CG_PIDS, "/user.slice/user-1000.slice/session-2.scope");
        assert_path(v1_systemd, SBX_CG_CPU, "/user.slice");
        /* No "0::" line: no unified hierarchy, and name=systemd is not it. */
        assert_absent(v1_systemd, SBX_CG_UNIFIED);
}
END_TEST

START_TEST(parse_self_v2)
{
        assert_path(v2, SBX_CG_UNIFIED, "/user.slice/user-1000.slice/session-2.scope");
        assert_absent(v2, SBX_CG_MEMORY);
        assert_absent(v2, SBX_CG_PIDS);
        assert_absent(v2, SBX_CG_CPU);
}
END_TEST

START_TEST(parse_self_odd_lines)
{
        /* A path may hold ':'; no trailing newline; junk lines skipped. */
        assert_path("junk\n\n0::/a:b:c", SBX_CG_UNIFIED, "/a:b:c");
        assert_path("4:memory:/m\n", SBX_CG_MEMORY, "/m");
        /* "memory" must be a whole controller name. */
        assert_absent("4:memoryx:/m\n5:xmemory:/n\n", SBX_CG_MEMORY);
        assert_absent("", SBX_CG_UNIFIED);
        /* A v1 line with an empty controller list is not the v2 one. */
        assert_absent("1::/x\n", SBX_CG_UNIFIED);
}
END_TEST

START_TEST(keyed_v2_files)
{
        static const char cpu_stat[] =
                "usage_usec 486683\nuser_usec 386151\nsystem_usec 100531\n"
                "nr_periods 0\nnr_throttled 0\nthrottled_usec 0\n";
        static const char mem_events[] =
                "low 0\nhigh 5\nmax 2\noom 1\noom_kill 3\noom_group_kill 0\n";

        ck_assert_uint_eq(sbx_cg_keyed(cpu_stat, "usage_usec"), 486683);
        ck_assert_uint_eq(sbx_cg_keyed(cpu_stat, "user_usec"), 386151);
        ck_assert_uint_eq(sbx_cg_keyed(cpu_stat, "system_usec"), 100531);
        ck_assert_uint_eq(sbx_cg_keyed(cpu_stat, "throttled_usec"), 0);
        /* Whole keys only, at the start of a line. */
        ck_assert_uint_eq(sbx_cg_keyed(cpu_stat, "usec"), 0);
        ck_assert_uint_eq(sbx_cg_keyed(cpu_stat, "user"), 0);
        ck_assert_uint_eq(sbx_cg_keyed(mem_events, "oom"), 1);
        ck_assert_uint_eq(sbx_cg_keyed(mem_events, "oom_kill"), 3);
        ck_assert_uint_eq(sbx_cg_keyed(mem_events, "high"), 5);
        ck_assert_uint_eq(sbx_cg_keyed(mem_events, "max"), 2);
        ck_assert_uint_eq(sbx_cg_keyed(mem_events, "kill"), 0);
}
END_TEST

START_TEST(keyed_v1_files)
{
        /* memory.oom_control: oom_kill after oom_kill_disable. */
        static const char oom_control[] = "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n";
        static const char pids_events[] = "max 26\n";

        ck_assert_uint_eq(sbx_cg_keyed(oom_control, "oom_kill"), 4);
        ck_assert_uint_eq(sbx_cg_keyed(oom_control, "oom_kill_disable"), 0);
        ck_assert_uint_eq(sbx_cg_keyed(oom_control, "under_oom"), 0);
        ck_assert_uint_eq(sbx_cg_keyed(pids_events, "max"), 26);
        /* No trailing newline, missing keys, empty text. */
        ck_assert_uint_eq(sbx_cg_keyed("a 1\nb 2", "b"), 2);
        ck_assert_uint_eq(sbx_cg_keyed("a 1\nb 2\n", "c"), 0);
        ck_assert_uint_eq(sbx_cg_keyed("", "a"), 0);
        ck_assert_uint_eq(sbx_cg_keyed("xoom_kill 9\n", "oom_kill"), 0);
        ck_assert_uint_eq(sbx_cg_keyed("big 18446744073709551615\n", "big"), UINT64_MAX);
}
END_TEST

Suite *cgroup_suite(void)
{
        Suite *s = suite_create("cgroup");
        TCase *t = tcase_create("parsers");

        tcase_add_test(t, parse_self_hybrid);
        tcase_add_test(t, parse_self_v1);
        tcase_add_test(t, parse_self_v2);
        tcase_add_test(t, parse_self_odd_lines);
        tcase_add_test(t, keyed_v2_files);
        tcase_add_test(t, keyed_v1_files);
        suite_add_tcase(s, t);
        return s;
}
