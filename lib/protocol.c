/* protocol.c: the line protocol between sbxfs and sbx-supervisor
 * (see include/sbx/protocol.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sbx/protocol.h"
#include "sbx/state.h"

#define E(x) { x, #x }
static const struct { int err; const char *name; } errnames[] = {
        E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO), E(E2BIG),
        E(ENOEXEC), E(EBADF), E(ECHILD), E(EAGAIN), E(ENOMEM), E(EACCES),
        E(EFAULT), E(EBUSY), E(EEXIST), E(EXDEV), E(ENODEV), E(ENOTDIR),
        E(EISDIR), E(EINVAL), E(ENFILE), E(EMFILE), E(ETXTBSY), E(EFBIG),
        E(ENOSPC), E(ESPIPE), E(EROFS), E(EMLINK), E(EPIPE), E(ERANGE),
        E(ENAMETOOLONG), E(ENOSYS), E(ENOTEMPTY), E(ELOOP), E(ENOTSUP),
        E(ECONNREFUSED), E(ESHUTDOWN), E(ETIMEDOUT), E(ECANCELED),
        E(EOVERFLOW), E(EDQUOT), E(ENOTCONN), E(EPROTO),
};
#undef E

int sbx_errno_from_name(const char *name)
{
        for (size_t i = 0; i < sizeof errnames / sizeof errnames[0]; i++)
                if (strcmp(name, errnames[i].name) == 0)
                        return errnames[i].err;
        return EIO;
}

const char *sbx_errno_name(int err)
{
        if (err < 0)
                err = -err;
        for (size_t i = 0; i < sizeof errnames / sizeof errnames[0]; i++)
                if (errnames[i].err == err)
                        return errnames[i].name;
        return "EIO";
}

int sbx_proto_connect(const char *sandbox_dir)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", sandbox_dir,
                     SBX_F_SOCK) >= (int)sizeof sa.sun_path)
                return -ENAMETOOLONG;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
                int e = -errno;
                close(fd);
                return e;
        }
        return fd;
}

static int send_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;

        while (len > 0) {
                /* MSG_NOSIGNAL: a dead peer is an error, not a SIGPIPE. */
                ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
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

ssize_t sbx_proto_read_line(int fd, char *buf, size_t size)
{
        size_t n = 0;

        /* Byte at a time: the line may be followed by a body that belongs
         * to the caller, so never read past the newline. */
        while (n + 1 < size) {
                char c;
                ssize_t r = read(fd, &c, 1);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (r == 0) {
                        if (n == 0)
                                return 0;
                        return -EPROTO;      /* cut off mid-line */
                }
                if (c == '\n') {
                        buf[n] = '\0';
                        return (ssize_t)n;
                }
                buf[n++] = c;
        }
        return -E2BIG;
}

int sbx_proto_call(int fd, const char *line, const void *body, size_t body_len,
                   char *reply, size_t reply_size)
{
        char head[SBX_PROTO_LINE_MAX];
        int n = snprintf(head, sizeof head, "%s\n", line);
        ssize_t r;

        if (n < 0 || n >= (int)sizeof head)
                return -E2BIG;
        if ((r = send_all(fd, head, (size_t)n)) < 0)
                return (int)r;
        if (body_len && (r = send_all(fd, body, body_len)) < 0)
                return (int)r;
        r = sbx_proto_read_line(fd, reply, reply_size);
        if (r < 0)
                return (int)r;
        if (r == 0)
                return -ECONNRESET;
        if (strncmp(reply, "ok", 2) == 0 && (reply[2] == '\0' || reply[2] == ' '))
                return 0;
        if (strncmp(reply, "error ", 6) == 0) {
                char name[32] = "";
                sscanf(reply + 6, "%31s", name);
                return -sbx_errno_from_name(name);
        }
        return -EPROTO;
}

static int reply_v(int fd, const char *prefix, const char *fmt, va_list ap)
{
        char buf[SBX_PROTO_LINE_MAX];
        int n = snprintf(buf, sizeof buf, "%s", prefix);
        int m;

        if (fmt && *fmt) {
                m = vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
                if (m < 0)
                        return -EINVAL;
                n += m;
                if (n > (int)sizeof buf - 2)
                        n = (int)sizeof buf - 2;
        } else if (n > 0 && buf[n - 1] == ' ') {
                n--;
        }
        for (int i = 0; i < n; i++)
                if (buf[i] == '\n')
                        buf[i] = ' ';
        buf[n++] = '\n';
        return send_all(fd, buf, (size_t)n);
}

int sbx_proto_reply_ok(int fd, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = reply_v(fd, "ok ", fmt, ap);
        va_end(ap);
        return r;
}

int sbx_proto_reply_err(int fd, int err, const char *fmt, ...)
{
        char prefix[48];
        va_list ap;
        int r;

        snprintf(prefix, sizeof prefix, "error %s ", sbx_errno_name(err));
        va_start(ap, fmt);
        r = reply_v(fd, prefix, fmt, ap);
        va_end(ap);
        return r;
}
