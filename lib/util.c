/* util.c: names, atomic files, event lines, signals, clocks, random ids. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sbx/util.h"

bool sbx_name_valid(const char *name)
{
        size_t n = name ? strlen(name) : 0;

        if (n == 0 || n > 63 || name[0] == '-' || name[n - 1] == '-')
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = name[i];
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
                        return false;
        }
        return true;
}

static int write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;

        while (len > 0) {
                ssize_t w = write(fd, p, len);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += w;
                len -= (size_t)w;
        }
        return 0;
}

int sbx_write_atomic(int dirfd, const char *name, const void *buf, size_t len,
                     mode_t mode)
{
        char tmp[256];
        int fd, r;

        /* The temporary name starts with '.', which sbxfs never shows. */
        if (snprintf(tmp, sizeof tmp, ".%s.%d.tmp", name, (int)getpid()) >= (int)sizeof tmp)
                return -ENAMETOOLONG;
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return -errno;
        r = write_all(fd, buf, len);
        if (r == 0 && fchmod(fd, mode) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = -errno;
        if (r < 0)
                unlinkat(dirfd, tmp, 0);
        return r;
}

int sbx_read_file(int dirfd, const char *name, size_t max, char **out, size_t *len)
{
        int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        size_t cap = max < 256 ? max : 256, n = 0;
        char *buf;

        if (fd < 0)
                return -errno;
        buf = malloc(cap + 1);
        if (!buf) {
                close(fd);
                return -ENOMEM;
        }
        for (;;) {
                if (n == cap) {
                        if (cap >= max) {
                                /* Full: one byte more tells a file of
                                 * exactly max bytes from a larger one. */
                                char c;
                                ssize_t r;
                                while ((r = read(fd, &c, 1)) < 0 && errno == EINTR)
                                        ;
                                if (r == 0)
                                        break;
                                int e = r < 0 ? -errno : -EFBIG;
                                free(buf);
                                close(fd);
                                return e;
                        }
                        cap = cap * 2 > max ? max : cap * 2;
                        char *nb = realloc(buf, cap + 1);
                        if (!nb) {
                                free(buf);
                                close(fd);
                                return -ENOMEM;
                        }
                        buf = nb;
                }
                ssize_t r = read(fd, buf + n, cap - n);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        int e = -errno;
                        free(buf);
                        close(fd);
                        return e;
                }
                if (r == 0)
                        break;
                n += (size_t)r;
        }
        close(fd);
        buf[n] = '\0';
        *out = buf;
        if (len)
                *len = n;
        return 0;
}

static int append_line(int dirfd, const char *line, size_t len)
{
        int fd = openat(dirfd, "events", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        int r;

        if (fd < 0)
                return -errno;
        /* One write per line: O_APPEND writes do not interleave. */
        r = write_all(fd, line, len);
        close(fd);
        return r;
}

int sbx_eventv(int state_fd, int sandbox_fd, const char *who,
               const char *fmt, va_list ap)
{
        char line[2048], stamp[40];
        struct timespec ts;
        struct tm tm;
        int n, m, r = 0, r2;

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
        n = snprintf(line, sizeof line, "%s.%03ldZ %s ", stamp, ts.tv_nsec / 1000000, who);
        m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
        if (m < 0)
                return -EINVAL;
        n += m;
        if (n > (int)sizeof line - 2)
                n = (int)sizeof line - 2;
        /* A reason may carry a newline from user input: keep one line. */
        for (int i = 0; i < n; i++)
                if (line[i] == '\n' || line[i] == '\0')
                        line[i] = ' ';
        line[n++] = '\n';
        if (state_fd >= 0)
                r = append_line(state_fd, line, (size_t)n);
        if (sandbox_fd >= 0) {
                r2 = append_line(sandbox_fd, line, (size_t)n);
                if (r == 0)
                        r = r2;
        }
        return r;
}

int sbx_event(int state_fd, int sandbox_fd, const char *who, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = sbx_eventv(state_fd, sandbox_fd, who, fmt, ap);
        va_end(ap);
        return r;
}

static const struct { int sig; const char *name; } signals[] = {
        { SIGHUP, "HUP" }, { SIGINT, "INT" }, { SIGQUIT, "QUIT" },
        { SIGILL, "ILL" }, { SIGTRAP, "TRAP" }, { SIGABRT, "ABRT" },
        { SIGBUS, "BUS" }, { SIGFPE, "FPE" }, { SIGKILL, "KILL" },
        { SIGUSR1, "USR1" }, { SIGSEGV, "SEGV" }, { SIGUSR2, "USR2" },
        { SIGPIPE, "PIPE" }, { SIGALRM, "ALRM" }, { SIGTERM, "TERM" },
        { SIGSTKFLT, "STKFLT" }, { SIGCHLD, "CHLD" }, { SIGCONT, "CONT" },
        { SIGSTOP, "STOP" }, { SIGTSTP, "TSTP" }, { SIGTTIN, "TTIN" },
        { SIGTTOU, "TTOU" }, { SIGURG, "URG" }, { SIGXCPU, "XCPU" },
        { SIGXFSZ, "XFSZ" }, { SIGVTALRM, "VTALRM" }, { SIGPROF, "PROF" },
        { SIGWINCH, "WINCH" }, { SIGIO, "IO" }, { SIGPWR, "PWR" },
        { SIGSYS, "SYS" },
};

int sbx_signal_parse(const char *s)
{
        char *end;

        if (!s || !*s)
                return -EINVAL;
        /* After "SIG": sbx_signal_name gives "SIG40" for signal 40. */
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        if (s[0] >= '0' && s[0] <= '9') {
                long v = strtol(s, &end, 10);
                if (*end || v < 1 || v > SIGRTMAX)
                        return -EINVAL;
                return (int)v;
        }
        for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
                if (strcasecmp(s, signals[i].name) == 0)
                        return signals[i].sig;
        return -EINVAL;
}

const char *sbx_signal_name(int sig)
{
        static __thread char buf[16];

        for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
                if (signals[i].sig == sig)
                        return signals[i].name;
        snprintf(buf, sizeof buf, "SIG%d", sig);
        return buf;
}

uint64_t sbx_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t sbx_mono_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void sbx_format_u64(char *buf, size_t size, uint64_t v)
{
        if (v == UINT64_MAX)
                snprintf(buf, size, "max");
        else
                snprintf(buf, size, "%llu", (unsigned long long)v);
}

int sbx_random_id(char *buf, size_t chars)
{
        static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
        unsigned char raw[64];

        if (chars > sizeof raw)
                return -EINVAL;
        /* One random byte per character, of which 5 bits are used. */
        size_t got = 0;
        while (got < chars) {
                ssize_t r = getrandom(raw + got, chars - got, 0);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                got += (size_t)r;
        }
        for (size_t i = 0; i < chars; i++)
                buf[i] = alphabet[raw[i] & 31];
        buf[chars] = '\0';
        return 0;
}

int sbx_rm_tree_at(int parent, const char *name)
{
        int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return unlinkat(parent, name, 0) < 0 && errno != ENOENT ? -errno : 0;
        DIR *d = fdopendir(fd);
        struct dirent *de;
        if (!d) {
                close(fd);
                return -errno;
        }
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        sbx_rm_tree_at(fd, de->d_name);
        closedir(d);
        return unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -errno : 0;
}
