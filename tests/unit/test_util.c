/* test_util.c: lib/util.c (names, atomic files, event lines, signals,
 * random ids). */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbx/util.h"
#include "unit.h"

START_TEST(name_valid_accepts)
{
        char longest[64];

        memset(longest, 'a', 63);
        longest[63] = '\0';
        ck_assert(sbx_name_valid("a"));
        ck_assert(sbx_name_valid("box1"));
        ck_assert(sbx_name_valid("my-box-2"));
        ck_assert(sbx_name_valid("0"));
        ck_assert(sbx_name_valid("a--b"));
        ck_assert(sbx_name_valid(longest));
}
END_TEST

START_TEST(name_valid_refuses)
{
        char too_long[65];

        memset(too_long, 'a', 64);
        too_long[64] = '\0';
        ck_assert(!sbx_name_valid(too_long));
        ck_assert(!sbx_name_valid(""));
        ck_assert(!sbx_name_valid(NULL));
        ck_assert(!sbx_name_valid("Box"));
        ck_assert(!sbx_name_valid("BOX1"));
        ck_assert(!sbx_name_valid("a/b"));
        ck_assert(!sbx_name_valid("/"));
        ck_assert(!sbx_name_valid(".."));
        ck_assert(!sbx_name_valid("."));
        ck_assert(!sbx_name_valid("a..b"));
        ck_assert(!sbx_name_valid("my_box"));
        ck_assert(!sbx_name_valid("-box"));
        ck_assert(!sbx_name_valid("box-"));
        ck_assert(!sbx_name_valid("-"));
        ck_assert(!sbx_name_valid("a b"));
        ck_assert(!sbx_name_valid("bo\nx"));
        ck_assert(!sbx_name_valid("caf\xc3\xa9"));
}
END_TEST

START_TEST(signal_parse_forms)
{
        ck_assert_int_eq(sbx_signal_parse("TERM"), SIGTERM);
        ck_assert_int_eq(sbx_signal_parse("SIGTERM"), SIGTERM);
        ck_assert_int_eq(sbx_signal_parse("term"), SIGTERM);
        ck_assert_int_eq(sbx_signal_parse("sigkill"), SIGKILL);
        ck_assert_int_eq(sbx_signal_parse("KILL"), SIGKILL);
        ck_assert_int_eq(sbx_signal_parse("INT"), SIGINT);
        ck_assert_int_eq(sbx_signal_parse("USR1"), SIGUSR1);
        ck_assert_int_eq(sbx_signal_parse("9"), 9);
        ck_assert_int_eq(sbx_signal_parse("15"), 15);
        ck_assert_int_eq(sbx_signal_parse("40"), 40);
        ck_assert_int_eq(sbx_signal_parse("SIG40"), 40);
}
END_TEST

START_TEST(signal_parse_refuses)
{
        char big[16];

        snprintf(big, sizeof big, "%d", SIGRTMAX + 1);
        ck_assert_int_eq(sbx_signal_parse(NULL), -EINVAL);
        ck_assert_int_eq(sbx_signal_parse(""), -EINVAL);
        ck_assert_int_eq(sbx_signal_parse("0"), -EINVAL);
        ck_assert_int_eq(sbx_signal_parse(big), -EINVAL);
        ck_assert_int_eq(sbx_signal_parse("-9"), -EINVAL);
        ck_assert_int_eq(sbx_signal_parse("9x"), -EINVAL);
        ck_assert_int_eq(sbx_signal_parse("BOGUS"), -EINVAL);
        ck_assert_int_eq(sbx_signal_parse("SIG"), -EINVAL);
        ck_assert_int_eq(sbx_signal_parse("TERM "), -EINVAL);
}
END_TEST

START_TEST(signal_name_round_trip)
{
        ck_assert_str_eq(sbx_signal_name(SIGTERM), "TERM");
        ck_assert_str_eq(sbx_signal_name(SIGKILL), "KILL");
        ck_assert_str_eq(sbx_signal_name(SIGXCPU), "XCPU");
        ck_assert_str_eq(sbx_signal_name(SIGSYS), "SYS");
        ck_assert_str_eq(sbx_signal_name(40), "SIG40");
        /* Every name the module gives reads back as the same signal. */
        for (int sig = 1; sig <= SIGRTMAX; sig++)
                ck_assert_int_eq(sbx_signal_parse(sbx_signal_name(sig)), sig);
}
END_TEST

static bool in_alphabet(const char *s)
{
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '2' && *s <= '7')))
                        return false;
        return true;
}

START_TEST(random_id_shape)
{
        char a[64], b[64], big[80];

        ck_assert_int_eq(sbx_random_id(a, 20), 0);
        ck_assert_int_eq(sbx_random_id(b, 20), 0);
        ck_assert_uint_eq(strlen(a), 20);
        ck_assert_uint_eq(strlen(b), 20);
        ck_assert_msg(in_alphabet(a), "'%s' is not lowercase base32", a);
        ck_assert_msg(in_alphabet(b), "'%s' is not lowercase base32", b);
        /* 100 random bits: equal only by a bug. */
        ck_assert_str_ne(a, b);
        ck_assert_int_eq(sbx_random_id(a, 0), 0);
        ck_assert_str_eq(a, "");
        ck_assert_int_eq(sbx_random_id(big, 65), -EINVAL);
}
END_TEST

START_TEST(random_id_uses_whole_alphabet)
{
        bool seen[256] = { false };
        char buf[65];
        int distinct = 0;

        /* 32 symbols, 64 000 draws: each shows up unless bits are lost. */
        for (int i = 0; i < 1000; i++) {
                ck_assert_int_eq(sbx_random_id(buf, 64), 0);
                for (char *p = buf; *p; p++)
                        if (!seen[(unsigned char)*p]) {
                                seen[(unsigned char)*p] = true;
                                distinct++;
                        }
        }
        ck_assert_int_eq(distinct, 32);
        ck_assert(in_alphabet("abcdefghijklmnopqrstuvwxyz234567"));
}
END_TEST

static int open_dir(const char *path)
{
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
        return fd;
}

static int count_entries(const char *path)
{
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", path);
        FILE *f = popen(cmd, "r");
        int n = -1;
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fscanf(f, "%d", &n), 1);
        pclose(f);
        return n;
}

START_TEST(write_atomic_and_read_back)
{
        char *dir = unit_tmpdir(), *text = NULL;
        int dfd = open_dir(dir);
        struct stat st;
        size_t len = 0;

        ck_assert_int_eq(sbx_write_atomic(dfd, "status", "running\n", 8, 0644), 0);
        ck_assert_int_eq(sbx_read_file(dfd, "status", 4096, &text, &len), 0);
        ck_assert_uint_eq(len, 8);
        ck_assert_str_eq(text, "running\n");
        free(text);
        /* Replacing: the new content, the new mode, no temporary left. */
        ck_assert_int_eq(sbx_write_atomic(dfd, "status", "exited 0\n", 9, 0600), 0);
        ck_assert_int_eq(sbx_read_file(dfd, "status", 4096, &text, NULL), 0);
        ck_assert_str_eq(text, "exited 0\n");
        free(text);
        ck_assert_int_eq(fstatat(dfd, "status", &st, 0), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        ck_assert_int_eq(count_entries(dir), 1);
        /* An empty file reads as an empty string. */
        ck_assert_int_eq(sbx_write_atomic(dfd, "empty", "", 0, 0644), 0);
        ck_assert_int_eq(sbx_read_file(dfd, "empty", 16, &text, &len), 0);
        ck_assert_uint_eq(len, 0);
        ck_assert_str_eq(text, "");
        free(text);
        close(dfd);
        unit_rmtree(dir);
        free(dir);
}
END_TEST

START_TEST(read_file_limits)
{
        char *dir = unit_tmpdir(), *text = NULL, big[5000];
        int dfd = open_dir(dir);
        size_t len = 0;

        memset(big, 'x', sizeof big);
        ck_assert_int_eq(sbx_write_atomic(dfd, "big", big, sizeof big, 0644), 0);
        /* Exactly max bytes is fine, one more is EFBIG, at every size. */
        ck_assert_int_eq(sbx_read_file(dfd, "big", sizeof big, &text, &len), 0);
        ck_assert_uint_eq(len, sizeof big);
        ck_assert_int_eq(text[len], '\0');
        ck_assert_mem_eq(text, big, sizeof big);
        free(text);
        ck_assert_int_eq(sbx_read_file(dfd, "big", sizeof big - 1, &text, NULL), -EFBIG);
        ck_assert_int_eq(sbx_read_file(dfd, "big", 100, &text, NULL), -EFBIG);
        ck_assert_int_eq(sbx_write_atomic(dfd, "ten", big, 10, 0644), 0);
        ck_assert_int_eq(sbx_read_file(dfd, "ten", 9, &text, NULL), -EFBIG);
        ck_assert_int_eq(sbx_read_file(dfd, "ten", 10, &text, &len), 0);
        ck_assert_uint_eq(len, 10);
        free(text);
        ck_assert_int_eq(sbx_read_file(dfd, "missing", 10, &text, NULL), -ENOENT);
        /* A symlink is not followed. */
        ck_assert_int_eq(symlinkat("ten", dfd, "link"), 0);
        ck_assert_int_eq(sbx_read_file(dfd, "link", 100, &text, NULL), -ELOOP);
        close(dfd);
        unit_rmtree(dir);
        free(dir);
}
END_TEST

START_TEST(write_atomic_errors)
{
        char *dir = unit_tmpdir(), name[300];
        int dfd = open_dir(dir);

        memset(name, 'n', sizeof name - 1);
        name[sizeof name - 1] = '\0';
        ck_assert_int_eq(sbx_write_atomic(dfd, name, "x", 1, 0644), -ENAMETOOLONG);
        ck_assert_int_eq(sbx_write_atomic(dfd, "no/such/dir", "x", 1, 0644), -ENOENT);
        ck_assert_int_eq(count_entries(dir), 0);
        close(dfd);
        unit_rmtree(dir);
        free(dir);
}
END_TEST

/* One event line: "<YYYY-MM-DDTHH:MM:SS.mmmZ> <who> <text>\n". */
static void assert_event_line(const char *line, const char *who, const char *text)
{
        regex_t re;
        regmatch_t m[3];
        char pat[512];

        snprintf(pat, sizeof pat,
                 "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z (%s) (.*)$", who);
        ck_assert_int_eq(regcomp(&re, pat, REG_EXTENDED | REG_NEWLINE), 0);
        int r = regexec(&re, line, 3, m, 0);
        regfree(&re);
        ck_assert_msg(r == 0, "'%s' is not an event line of %s", line, who);
        ck_assert_str_eq(line + m[2].rm_so, text);
}

START_TEST(event_lines)
{
        char *dir = unit_tmpdir(), *text = NULL, sub[4200];
        int state = open_dir(dir);

        snprintf(sub, sizeof sub, "%s/box1", dir);
        ck_assert_int_eq(mkdir(sub, 0755), 0);
        int box = open_dir(sub);

        ck_assert_int_eq(sbx_event(state, box, "box1", "exec %u started", 7u), 0);
        ck_assert_int_eq(sbx_event(state, -1, "-", "error %s", "two\nlines"), 0);

        /* The root log has both lines, the sandbox's only its own. */
        ck_assert_int_eq(sbx_read_file(state, "events", 1 << 16, &text, NULL), 0);
        gchar **lines = g_strsplit(text, "\n", -1);
        ck_assert_uint_eq(g_strv_length(lines), 3);
        ck_assert_str_eq(lines[2], "");
        assert_event_line(lines[0], "box1", "exec 7 started");
        /* A newline in the text does not start a second line. */
        assert_event_line(lines[1], "-", "error two lines");
        g_strfreev(lines);
        free(text);
        ck_assert_int_eq(sbx_read_file(box, "events", 1 << 16, &text, NULL), 0);
        ck_assert_ptr_eq(strchr(text, '\n'), text + strlen(text) - 1);
        text[strlen(text) - 1] = '\0';
        assert_event_line(text, "box1", "exec 7 started");
        free(text);

        /* A long text is cut, still as one line. */
        char longtext[5000];
        memset(longtext, 'z', sizeof longtext - 1);
        longtext[sizeof longtext - 1] = '\0';
        ck_assert_int_eq(sbx_event(-1, box, "box1", "%s", longtext), 0);
        ck_assert_int_eq(sbx_read_file(box, "events", 1 << 16, &text, NULL), 0);
        lines = g_strsplit(text, "\n", -1);
        ck_assert_uint_eq(g_strv_length(lines), 3);
        ck_assert_uint_gt(strlen(lines[1]), 1000);
        g_strfreev(lines);
        free(text);
        close(box);
        close(state);
        unit_rmtree(dir);
        free(dir);
}
END_TEST

START_TEST(format_u64_max)
{
        char buf[32];

        sbx_format_u64(buf, sizeof buf, UINT64_MAX);
        ck_assert_str_eq(buf, "max");
        sbx_format_u64(buf, sizeof buf, 0);
        ck_assert_str_eq(buf, "0");
        sbx_format_u64(buf, sizeof buf, 1234567890123ull);
        ck_assert_str_eq(buf, "1234567890123");
}
END_TEST

START_TEST(clocks_move)
{
        uint64_t a = sbx_mono_ns(), ms = sbx_now_ms();

        usleep(2000);
        ck_assert_uint_gt(sbx_mono_ns(), a + 1000000);
        /* After 2020-01-01 and not in the far future. */
        ck_assert_uint_gt(ms, 1577836800000ull);
        ck_assert_uint_lt(ms, 4102444800000ull);
}
END_TEST

Suite *util_suite(void)
{
        Suite *s = suite_create("util");
        TCase *t = tcase_create("util");

        tcase_add_test(t, name_valid_accepts);
        tcase_add_test(t, name_valid_refuses);
        tcase_add_test(t, signal_parse_forms);
        tcase_add_test(t, signal_parse_refuses);
        tcase_add_test(t, signal_name_round_trip);
        tcase_add_test(t, random_id_shape);
        tcase_add_test(t, random_id_uses_whole_alphabet);
        tcase_add_test(t, write_atomic_and_read_back);
        tcase_add_test(t, read_file_limits);
        tcase_add_test(t, write_atomic_errors);
        tcase_add_test(t, event_lines);
        tcase_add_test(t, format_u64_max);
        tcase_add_test(t, clocks_move);
        suite_add_tcase(s, t);
        return s;
}
