/* sbx/protocol.h: the wire between sbxfs and sbx-supervisor.
 *
 * One SOCK_STREAM unix socket per sandbox, <state>/<name>/sock, owned by
 * the supervisor.  A client sends one request line; the supervisor answers
 * one reply line.  The words are the ones users write to ctl files, so the
 * socket can be driven by hand:  socat - UNIX-CONNECT:<state>/box1/sock
 *
 * Requests
 *   ping                      -> ok PID RUNNING  (running execs)
 *   exec LEN                  followed by exactly LEN bytes (the script);
 *                             -> ok N          (exec number)
 *   kill N [SIGNAL]           signal exec N's whole process tree
 *                             (default TERM)   -> ok
 *   stdin-close N             the supervisor drops its own write end of
 *                             execs/N/stdin, so the process sees EOF once
 *                             every other writer has closed  -> ok
 *   destroy                   kill everything, remove cgroups and the
 *                             sandbox's state directory; the reply is sent
 *                             when all of that is done, then the
 *                             supervisor exits  -> ok
 *
 * Replies
 *   ok [WORDS...]
 *   error ERRNAME TEXT...     ERRNAME is a symbolic errno (EINVAL, EFBIG,
 *                             ESHUTDOWN, ENOENT, ESRCH ...), TEXT a reason
 *                             in words for the events file.
 *
 * Several requests may be sent on one connection, one after another.
 */
#ifndef SBX_PROTOCOL_H
#define SBX_PROTOCOL_H

#include <stddef.h>
#include <sys/types.h>

#define SBX_PROTO_LINE_MAX  4096

/* Connect to <sandbox_dir>/sock.  Returns an fd or -errno. */
int sbx_proto_connect(const char *sandbox_dir);

/* Send one request (line without its newline, plus an optional body of
 * body_len bytes) and read the reply line into reply (NUL-terminated,
 * newline stripped).  Returns 0 when the reply starts with "ok", the
 * negative errno named by an "error" reply, or -errno for I/O failure.
 * On "error" replies, reply still holds the whole line. */
int sbx_proto_call(int fd, const char *line, const void *body, size_t body_len,
                   char *reply, size_t reply_size);

/* Map a symbolic errno name ("EINVAL") to its value and back.  Unknown
 * names give EIO; unknown values give "EIO". */
int sbx_errno_from_name(const char *name);
const char *sbx_errno_name(int err);

/* Server side: read one request line from fd (blocking), at most
 * SBX_PROTO_LINE_MAX bytes.  Returns the line length, 0 at EOF, -errno. */
ssize_t sbx_proto_read_line(int fd, char *buf, size_t size);

/* Server side: write "ok ..." or "error ERRNAME text" plus newline. */
int sbx_proto_reply_ok(int fd, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
int sbx_proto_reply_err(int fd, int err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#endif
