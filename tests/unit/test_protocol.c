/* test_protocol.c: lib/protocol.c (errno names, request and reply lines)
 * over a socketpair, with a small server thread on the other end. */
#include <errno.h>
#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sbx/protocol.h"
#include "unit.h"

START_TEST(errno_names_round_trip)
{
        static const int errs[] = {
                EPERM, ENOENT, ESRCH, EIO, E2BIG, EAGAIN, ENOMEM, EACCES, EBUSY,
                EEXIST, EINVAL, EMFILE, EFBIG, ENOSPC, EPIPE, ENAMETOOLONG, ENOSYS,
                ENOTEMPTY, ELOOP, ENOTSUP, ECONNREFUSED, ESHUTDOWN, ETIMEDOUT,
                ECANCELED, EOVERFLOW, EDQUOT, ENOTCONN, EPROTO,
        };

        for (size_t i = 0; i < G_N_ELEMENTS(errs); i++) {
                const char *n = sbx_errno_name(errs[i]);
                ck_assert_msg((n[0] == 'E' && strcmp(n, "EIO") != 0) || errs[i] == EIO,
                              "no name for %d", errs[i]);
                ck_assert_int_eq(sbx_errno_from_name(n), errs[i]);
                /* A negative errno names the same. */
                ck_assert_str_eq(sbx_errno_name(-errs[i]), n);
        }
        ck_assert_str_eq(sbx_errno_name(EINVAL), "EINVAL");
        ck_assert_str_eq(sbx_errno_name(ESHUTDOWN), "ESHUTDOWN");
        ck_assert_int_eq(sbx_errno_from_name("EFBIG"), EFBIG);
        ck_assert_int_eq(sbx_errno_from_name("ENOENT"), ENOENT);
}
END_TEST

START_TEST(errno_names_unknown)
{
        ck_assert_int_eq(sbx_errno_from_name("EWHATEVER"), EIO);
        ck_assert_int_eq(sbx_errno_from_name(""), EIO);
        ck_assert_int_eq(sbx_errno_from_name("einval"), EIO);
        ck_assert_str_eq(sbx_errno_name(99999), "EIO");
        ck_assert_str_eq(sbx_errno_name(0), "EIO");
}
END_TEST

/* The server end: for each request line, "exec LEN" reads the body and
 * answers "ok <bytes>", "fail" answers an error, "odd" an unparsable
 * line, "quit" closes. */
static void *server(void *arg)
{
        int fd = *(int *)arg;
        char line[SBX_PROTO_LINE_MAX];
        ssize_t n;

        while ((n = sbx_proto_read_line(fd, line, sizeof line)) > 0) {
                unsigned len;
                if (sscanf(line, "exec %u", &len) == 1) {
                        char *body = malloc(len + 1);
                        size_t got = 0;
                        while (got < len) {
                                ssize_t r = read(fd, body + got, len - got);
                                if (r <= 0)
                                        break;
                                got += (size_t)r;
                        }
                        body[got] = '\0';
                        sbx_proto_reply_ok(fd, "%zu %s", got, body);
                        free(body);
                } else if (strcmp(line, "ping") == 0) {
                        sbx_proto_reply_ok(fd, NULL);
                } else if (strcmp(line, "fail") == 0) {
                        sbx_proto_reply_err(fd, EFBIG, "too big\nreally");
                } else if (strcmp(line, "fail-neg") == 0) {
                        sbx_proto_reply_err(fd, -ESRCH, "exec %u has ended", 3u);
                } else if (strcmp(line, "odd") == 0) {
                        if (write(fd, "okay\n", 5) != 5)
                                break;
                } else if (strcmp(line, "quit") == 0) {
                        break;
                } else {
                        sbx_proto_reply_err(fd, EINVAL, "bad request '%s'", line);
                }
        }
        close(fd);
        return NULL;
}

struct pair { int client, server_fd; pthread_t thread; };

static void pair_open(struct pair *p)
{
        int sv[2];

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        p->client = sv[0];
        p->server_fd = sv[1];
        ck_assert_int_eq(pthread_create(&p->thread, NULL, server, &p->server_fd), 0);
}

static void pair_close(struct pair *p)
{
        close(p->client);
        pthread_join(p->thread, NULL);
}

START_TEST(call_and_reply)
{
        struct pair p;
        char reply[SBX_PROTO_LINE_MAX];

        pair_open(&p);
        /* Several requests on one connection, one after another. */
        ck_assert_int_eq(sbx_proto_call(p.client, "ping", NULL, 0, reply, sizeof reply), 0);
        ck_assert_str_eq(reply, "ok");
        ck_assert_int_eq(sbx_proto_call(p.client, "exec 10", "echo hello", 10, reply, sizeof reply), 0);
        ck_assert_str_eq(reply, "ok 10 echo hello");
        /* A body with newlines and NULs goes through as bytes. */
        ck_assert_int_eq(sbx_proto_call(p.client, "exec 4", "a\nb\n", 4, reply, sizeof reply), 0);
        ck_assert_str_eq(reply, "ok 4 a b ");
        ck_assert_int_eq(sbx_proto_call(p.client, "fail", NULL, 0, reply, sizeof reply), -EFBIG);
        /* The reply keeps the whole line, newlines of the text made spaces. */
        ck_assert_str_eq(reply, "error EFBIG too big really");
        ck_assert_int_eq(sbx_proto_call(p.client, "fail-neg", NULL, 0, reply, sizeof reply), -ESRCH);
        ck_assert_str_eq(reply, "error ESRCH exec 3 has ended");
        ck_assert_int_eq(sbx_proto_call(p.client, "what", NULL, 0, reply, sizeof reply), -EINVAL);
        ck_assert_str_eq(reply, "error EINVAL bad request 'what'");
        ck_assert_int_eq(sbx_proto_call(p.client, "odd", NULL, 0, reply, sizeof reply), -EPROTO);
        /* The server hangs up: the call says so. */
        ck_assert_int_eq(sbx_proto_call(p.client, "quit", NULL, 0, reply, sizeof reply), -ECONNRESET);
        pair_close(&p);
}
END_TEST

START_TEST(call_refuses_long_line)
{
        struct pair p;
        char reply[64], line[SBX_PROTO_LINE_MAX + 10];

        pair_open(&p);
        memset(line, 'x', sizeof line - 1);
        line[sizeof line - 1] = '\0';
        ck_assert_int_eq(sbx_proto_call(p.client, line, NULL, 0, reply, sizeof reply), -E2BIG);
        /* Nothing was sent: the connection still works. */
        ck_assert_int_eq(sbx_proto_call(p.client, "ping", NULL, 0, reply, sizeof reply), 0);
        pair_close(&p);
}
END_TEST

START_TEST(read_line_edges)
{
        int sv[2];
        char buf[8];

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        /* Never reads past the newline: the body stays for the caller. */
        ck_assert_int_eq(write(sv[0], "exec 3\nabc", 10), 10);
        ck_assert_int_eq(sbx_proto_read_line(sv[1], buf, sizeof buf), 6);
        ck_assert_str_eq(buf, "exec 3");
        ck_assert_int_eq(read(sv[1], buf, 3), 3);
        ck_assert_mem_eq(buf, "abc", 3);
        /* An empty line is length 0 but not EOF: buf is "". */
        ck_assert_int_eq(write(sv[0], "\n", 1), 1);
        ck_assert_int_eq(sbx_proto_read_line(sv[1], buf, sizeof buf), 0);
        ck_assert_str_eq(buf, "");
        /* Longer than the buffer. */
        ck_assert_int_eq(write(sv[0], "0123456789\n", 11), 11);
        ck_assert_int_eq(sbx_proto_read_line(sv[1], buf, sizeof buf), -E2BIG);
        /* Cut off mid-line, then EOF. */
        int sv2[2];
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv2), 0);
        ck_assert_int_eq(write(sv2[0], "pi", 2), 2);
        close(sv2[0]);
        ck_assert_int_eq(sbx_proto_read_line(sv2[1], buf, sizeof buf), -EPROTO);
        close(sv2[1]);
        close(sv[0]);
        /* The rest of the long line, then EOF at a line start. */
        ck_assert_int_eq(sbx_proto_read_line(sv[1], buf, sizeof buf), 3);
        ck_assert_str_eq(buf, "789");
        ck_assert_int_eq(sbx_proto_read_line(sv[1], buf, sizeof buf), 0);
        close(sv[1]);
}
END_TEST

START_TEST(reply_lines_exact)
{
        int sv[2];
        char buf[256];

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        ck_assert_int_eq(sbx_proto_reply_ok(sv[0], NULL), 0);
        ck_assert_int_eq(sbx_proto_reply_ok(sv[0], "%d", 42), 0);
        ck_assert_int_eq(sbx_proto_reply_err(sv[0], ENOENT, "exec %u does not exist", 9u), 0);
        ck_assert_int_eq(sbx_proto_reply_err(sv[0], 9999, "odd"), 0);
        close(sv[0]);
        ssize_t n = read(sv[1], buf, sizeof buf - 1);
        ck_assert_int_gt(n, 0);
        buf[n] = '\0';
        ck_assert_str_eq(buf, "ok\nok 42\nerror ENOENT exec 9 does not exist\nerror EIO odd\n");
        close(sv[1]);
}
END_TEST

START_TEST(connect_errors)
{
        char *dir = unit_tmpdir(), longdir[200];

        /* No socket there. */
        ck_assert_int_eq(sbx_proto_connect(dir), -ENOENT);
        memset(longdir, 'd', sizeof longdir - 1);
        longdir[0] = '/';
        longdir[sizeof longdir - 1] = '\0';
        ck_assert_int_eq(sbx_proto_connect(longdir), -ENAMETOOLONG);
        unit_rmtree(dir);
        free(dir);
}
END_TEST

Suite *protocol_suite(void)
{
        Suite *s = suite_create("protocol");
        TCase *t = tcase_create("protocol");

        tcase_add_test(t, errno_names_round_trip);
        tcase_add_test(t, errno_names_unknown);
        tcase_add_test(t, call_and_reply);
        tcase_add_test(t, call_refuses_long_line);
        tcase_add_test(t, read_line_edges);
        tcase_add_test(t, reply_lines_exact);
        tcase_add_test(t, connect_errors);
        suite_add_tcase(s, t);
        return s;
}
