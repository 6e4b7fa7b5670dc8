/* sbxbench: the timing loops of tests/bench/run.sh, in C so that the
 * harness costs (fork of a shell, cat, readlink) stay out of the figures.
 *
 *   sbxbench exec BOXDIR N [CMD]     N x (open ctl/exec O_RDWR, write CMD,
 *                                    read back the exec number, close; open
 *                                    execs/N/wait, read the status, close)
 *   sbxbench spawn N PROG [ARG...]   N x fork, execv PROG, waitpid
 *   sbxbench pair N BOXDIR exec BOXDIR2     N x (one exec of `true` in each,
 *   sbxbench pair N BOXDIR spawn PROG [ARG...]  or one exec and one fork/exec
 *                                    of PROG), alternating in blocks of 10, so
 *                                    that a change in machine load hits
 *                                    both alike; prints "us_a us_b" lines
 *   sbxbench cold MNT PREFIX N WARMBOX PROG [ARG...]
 *                                    N x (mkdir MNT/PREFIX-i, then one exec
 *                                    of `true` as above, until its wait;
 *                                    then, as baselines, one exec in
 *                                    WARMBOX and one fork/exec of PROG);
 *                                    then rmdir them all
 *   sbxbench start BOXDIR CMD        start CMD (read-back form), print N
 *
 * Timing commands print their samples, one per line, in microseconds (cold:
 * "mkdir_us exec_us warm_us prog_us" per sandbox, then "rmdir US" per
 * sandbox); run.sh summarizes them.
 * Every exec must end "exited 0"; anything else is an error (exit 1, reason
 * on stderr) so that a broken sandbox never yields a figure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *prog = "sbxbench";

static void die(const char *fmt, const char *a, int err)
{
        fprintf(stderr, "%s: ", prog);
        fprintf(stderr, fmt, a);
        if (err)
                fprintf(stderr, ": %s", strerror(err));
        fputc('\n', stderr);
        exit(1);
}

static uint64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void report(const uint64_t *t, int n)
{
        for (int i = 0; i < n; i++)
                printf("%.1f\n", (double)t[i] / 1e3);
}

static int parse_n(const char *s)
{
        char *end;
        long n = strtol(s, &end, 10);
        if (*s == '\0' || *end != '\0' || n < 1 || n > 1000000)
                die("bad count '%s'", s, 0);
        return (int)n;
}

/* Read all of fd (small files) into buf, NUL-terminated. */
static ssize_t read_all(int fd, char *buf, size_t size)
{
        size_t got = 0;
        while (got + 1 < size) {
                ssize_t r = read(fd, buf + got, size - 1 - got);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                if (r == 0)
                        break;
                got += (size_t)r;
        }
        buf[got] = '\0';
        return (ssize_t)got;
}

/* Start cmd in box with the read-back form of ctl/exec; returns N. */
static long exec_start(const char *box, const char *cmd)
{
        char path[4096], buf[64];
        snprintf(path, sizeof path, "%s/ctl/exec", box);
        int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                die("open %s", path, errno);
        size_t len = strlen(cmd);
        if (write(fd, cmd, len) != (ssize_t)len)
                die("write %s", path, errno);
        ssize_t r = read(fd, buf, sizeof buf - 1);
        if (r <= 0)
                die("read back %s", path, r < 0 ? errno : EIO);
        buf[r] = '\0';
        close(fd);
        char *end;
        long n = strtol(buf, &end, 10);
        if (n < 1 || (*end != '\n' && *end != '\0'))
                die("read back %s: not an exec number", path, 0);
        return n;
}

/* Block until exec n of box ends; die unless it "exited 0". */
static void exec_wait(const char *box, long n)
{
        char path[4096], buf[256];
        snprintf(path, sizeof path, "%s/execs/%ld/wait", box, n);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                die("open %s", path, errno);
        if (read_all(fd, buf, sizeof buf) < 0)
                die("read %s", path, errno);
        close(fd);
        if (strcmp(buf, "exited 0\n") != 0) {
                buf[strcspn(buf, "\n")] = '\0';
                fprintf(stderr, "%s: %s: status '%s', not 'exited 0'\n", prog, path, buf);
                exit(1);
        }
}

static int cmd_exec(int argc, char **argv)
{
        if (argc < 2 || argc > 3)
                die("usage: exec BOXDIR N [CMD]%s", "", 0);
        const char *box = argv[0], *cmd = argc == 3 ? argv[2] : "true\n";
        int n = parse_n(argv[1]);
        uint64_t *t = calloc((size_t)n, sizeof *t);
        for (int i = 0; i < n; i++) {
                uint64_t t0 = now_ns();
                exec_wait(box, exec_start(box, cmd));
                t[i] = now_ns() - t0;
        }
        report(t, n);
        return 0;
}

/* fork, execv argv[0], waitpid: the time taken, in ns; dies unless the
 * program exits 0. */
static uint64_t spawn_once(char **argv)
{
        uint64_t t0 = now_ns();
        pid_t pid = fork();
        if (pid < 0)
                die("fork%s", "", errno);
        if (pid == 0) {
                execv(argv[0], argv);
                _exit(127);
        }
        int st;
        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR)
                        die("waitpid%s", "", errno);
        uint64_t t = now_ns() - t0;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                fprintf(stderr, "%s: %s: wait status %#x\n", prog, argv[0], st);
                exit(1);
        }
        return t;
}

static uint64_t exec_once(const char *box)
{
        uint64_t t0 = now_ns();
        exec_wait(box, exec_start(box, "true\n"));
        return now_ns() - t0;
}

static int cmd_spawn(int argc, char **argv)
{
        if (argc < 2)
                die("usage: spawn N PROG [ARG...]%s", "", 0);
        int n = parse_n(argv[0]);
        uint64_t *t = calloc((size_t)n, sizeof *t);
        for (int i = 0; i < n; i++)
                t[i] = spawn_once(argv + 1);
        report(t, n);
        return 0;
}

static int cmd_pair(int argc, char **argv)
{
        bool b_box = argc == 4 && !strcmp(argv[2], "exec");
        if (argc < 4 || (!b_box && strcmp(argv[2], "spawn") != 0))
                die("usage: pair N BOXDIR exec BOXDIR2 | pair N BOXDIR spawn PROG [ARG...]%s", "", 0);
        int n = parse_n(argv[0]);
        const char *box = argv[1];
        char **b = argv + 3;
        /* blocks of 10 (so that the tail of one kind's work rarely falls
         * in the other's timing), alternating which block goes first */
        uint64_t *ta = calloc((size_t)n, sizeof *ta), *tb = calloc((size_t)n, sizeof *tb);
        for (int i0 = 0, k = 0; i0 < n; i0 += 10, k++) {
                int i1 = i0 + 10 < n ? i0 + 10 : n;
                for (int half = 0; half < 2; half++) {
                        bool a_now = (half == 0) == (k % 2 == 0);
                        for (int i = i0; i < i1; i++) {
                                if (a_now)
                                        ta[i] = exec_once(box);
                                else
                                        tb[i] = b_box ? exec_once(b[0]) : spawn_once(b);
                        }
                }
        }
        for (int i = 0; i < n; i++)
                printf("%.1f %.1f\n", (double)ta[i] / 1e3, (double)tb[i] / 1e3);
        return 0;
}

static int cmd_cold(int argc, char **argv)
{
        if (argc < 5)
                die("usage: cold MNT PREFIX N WARMBOX PROG [ARG...]%s", "", 0);
        const char *mnt = argv[0], *prefix = argv[1], *warm = argv[3];
        int n = parse_n(argv[2]);
        char box[4096];
        for (int i = 0; i < n; i++) {
                snprintf(box, sizeof box, "%s/%s-%d", mnt, prefix, i);
                uint64_t t0 = now_ns();
                if (mkdir(box, 0755) < 0)
                        die("mkdir %s", box, errno);
                uint64_t t1 = now_ns();
                exec_wait(box, exec_start(box, "true\n"));
                uint64_t t2 = now_ns();
                /* the baselines, interleaved: an exec in an existing
                 * sandbox, and PROG (unshare ...) */
                uint64_t tw = exec_once(warm), tp = spawn_once(argv + 4);
                printf("%.1f %.1f %.1f %.1f\n", (double)(t1 - t0) / 1e3,
                       (double)(t2 - t1) / 1e3, (double)tw / 1e3, (double)tp / 1e3);
                fflush(stdout);
        }
        for (int i = 0; i < n; i++) {
                snprintf(box, sizeof box, "%s/%s-%d", mnt, prefix, i);
                uint64_t t0 = now_ns();
                if (rmdir(box) < 0)
                        die("rmdir %s", box, errno);
                printf("rmdir %.1f\n", (double)(now_ns() - t0) / 1e3);
        }
        return 0;
}

static int cmd_start(int argc, char **argv)
{
        if (argc != 2)
                die("usage: start BOXDIR CMD%s", "", 0);
        printf("%ld\n", exec_start(argv[0], argv[1]));
        return 0;
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                fprintf(stderr, "usage: %s exec|spawn|pair|cold|start ...\n", prog);
                return 2;
        }
        const char *c = argv[1];
        argc -= 2;
        argv += 2;
        if (!strcmp(c, "exec"))
                return cmd_exec(argc, argv);
        if (!strcmp(c, "spawn"))
                return cmd_spawn(argc, argv);
        if (!strcmp(c, "pair"))
                return cmd_pair(argc, argv);
        if (!strcmp(c, "cold"))
                return cmd_cold(argc, argv);
        if (!strcmp(c, "start"))
                return cmd_start(argc, argv);
        fprintf(stderr, "%s: unknown command %s\n", prog, c);
        return 2;
}
