/* bomb: resource exhaustion inside a sandbox, reporting where it stopped.
 *
 *   bomb fork                fork children (that wait) until fork fails;
 *                            prints "forked N EAGAIN", then holds them
 *                            until killed (the limits must end it)
 *   bomb forkcount           the same, but kills the children and exits 0
 *   bomb threads             pthread_create until it fails; prints and exits
 *   bomb mem MIB             allocate and touch MIB MiB, 1 MiB at a time,
 *                            printing "mem N" every 16 MiB; "mem done N"
 *                            when it got all of it
 *   bomb fds                 open /dev/null until it fails; prints
 *                            "fds N EMFILE", then tries to raise the limit
 *   bomb fill DIR MIB COUNT  write COUNT files of MIB MiB into DIR, with
 *                            SIGXFSZ ignored; prints "fill BYTES ERRNO"
 *                            (or "fill BYTES ok") and exits 0
 *   bomb spin                burn CPU forever
 *   bomb spin-noterm         the same with SIGTERM ignored
 *   bomb out MIB             write MIB MiB of 'x' to stdout as fast as it can
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *errname(int e)
{
        switch (e) {
        case EAGAIN: return "EAGAIN";
        case ENOMEM: return "ENOMEM";
        case EMFILE: return "EMFILE";
        case ENFILE: return "ENFILE";
        case ENOSPC: return "ENOSPC";
        case EFBIG: return "EFBIG";
        case EDQUOT: return "EDQUOT";
        case EPERM: return "EPERM";
        case EINVAL: return "EINVAL";
        case EROFS: return "EROFS";
        case EACCES: return "EACCES";
        default: {
                static char b[16];
                snprintf(b, sizeof b, "E%d", e);
                return b;
        }
        }
}

static void fork_until_fail(int keep)
{
        static pid_t kids[100000];
        int n = 0;

        for (;;) {
                pid_t p = fork();
                if (p == 0) {
                        for (;;)
                                pause();
                }
                if (p < 0) {
                        printf("forked %d %s\n", n, errname(errno));
                        fflush(stdout);
                        break;
                }
                if (n < 100000)
                        kids[n] = p;
                n++;
        }
        if (keep)
                for (;;)
                        pause();
        for (int i = 0; i < n && i < 100000; i++)
                kill(kids[i], SIGKILL);
        while (wait(NULL) > 0)
                ;
}

static void *idle(void *arg)
{
        (void)arg;
        for (;;)
                pause();
        return NULL;
}

static void threads(void)
{
        int n = 0, r;
        pthread_t t;
        pthread_attr_t a;

        pthread_attr_init(&a);
        pthread_attr_setstacksize(&a, 65536);
        while ((r = pthread_create(&t, &a, idle, NULL)) == 0)
                n++;
        printf("threads %d %s\n", n, errname(r));
        fflush(stdout);
        _exit(0);
}

static void mem(long mib)
{
        long got = 0;
        for (long i = 0; i < mib; i++) {
                char *p = malloc(1 << 20);
                if (!p) {
                        printf("mem %ld ENOMEM\n", got);
                        fflush(stdout);
                        exit(0);
                }
                memset(p, (int)(i & 0xff) | 1, 1 << 20);
                got++;
                if (got % 16 == 0) {
                        printf("mem %ld\n", got);
                        fflush(stdout);
                }
        }
        printf("mem done %ld\n", got);
}

static void fds(void)
{
        int n = 0, fd;
        while ((fd = open("/dev/null", O_RDONLY)) >= 0)
                n++;
        printf("fds %d %s\n", n, errname(errno));
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        printf("nofile %llu %llu\n", (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
        rl.rlim_cur = rl.rlim_max = rl.rlim_max == RLIM_INFINITY ? RLIM_INFINITY : rl.rlim_max * 16;
        printf("raise %s\n", setrlimit(RLIMIT_NOFILE, &rl) < 0 ? errname(errno) : "ok");
        fflush(stdout);
}

static void fill(const char *dir, long mib, long count)
{
        static char buf[1 << 20];
        long long total = 0;
        int err = 0;

        signal(SIGXFSZ, SIG_IGN);
        memset(buf, 'f', sizeof buf);
        for (long i = 0; i < count && !err; i++) {
                char path[4096];
                snprintf(path, sizeof path, "%s/sbx-fill-%ld", dir, i);
                int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                if (fd < 0) {
                        err = errno;
                        break;
                }
                for (long m = 0; m < mib && !err; m++) {
                        size_t off = 0;
                        while (off < sizeof buf) {
                                ssize_t w = write(fd, buf + off, sizeof buf - off);
                                if (w < 0) {
                                        err = errno;
                                        break;
                                }
                                off += (size_t)w;
                                total += w;
                        }
                }
                if (close(fd) < 0 && !err)
                        err = errno;
        }
        printf("fill %lld %s\n", total, err ? errname(err) : "ok");
        fflush(stdout);
}

static void out(long mib)
{
        static char buf[1 << 16];
        memset(buf, 'x', sizeof buf);
        for (long i = 0; i < mib * 16; i++) {
                size_t off = 0;
                while (off < sizeof buf) {
                        ssize_t w = write(1, buf + off, sizeof buf - off);
                        if (w < 0)
                                _exit(1);
                        off += (size_t)w;
                }
        }
}

int main(int argc, char **argv)
{
        if (argc < 2)
                goto usage;
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (!strcmp(argv[1], "fork"))
                fork_until_fail(1);
        else if (!strcmp(argv[1], "forkcount"))
                fork_until_fail(0);
        else if (!strcmp(argv[1], "threads"))
                threads();
        else if (!strcmp(argv[1], "mem") && argc == 3)
                mem(atol(argv[2]));
        else if (!strcmp(argv[1], "fds"))
                fds();
        else if (!strcmp(argv[1], "fill") && argc == 5)
                fill(argv[2], atol(argv[3]), atol(argv[4]));
        else if (!strcmp(argv[1], "spin") || !strcmp(argv[1], "spin-noterm")) {
                if (argv[1][4])
                        signal(SIGTERM, SIG_IGN);
                for (volatile unsigned long i = 0;; i++)
                        ;
        } else if (!strcmp(argv[1], "out") && argc == 3)
                out(atol(argv[2]));
        else
                goto usage;
        return 0;
usage:
        fprintf(stderr, "usage: bomb fork|forkcount|threads|mem MIB|fds|fill DIR MIB COUNT|spin|spin-noterm|out MIB\n");
        return 2;
}
