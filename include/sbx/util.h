/* sbx/util.h: small helpers both programs use (lib/util.c, lib/events.c). */
#ifndef SBX_UTIL_H
#define SBX_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Name rules for sandboxes: 1-63 chars of a-z 0-9 '-', not starting or
 * ending with '-'.  Returns true when valid. */
bool sbx_name_valid(const char *name);

/* Write buf to dirfd/name atomically: a temporary file in the same
 * directory, fsync-free (state is rebuilt by the supervisor if the host
 * crashes), then rename.  Returns 0 or -errno. */
int sbx_write_atomic(int dirfd, const char *name, const void *buf, size_t len,
                     mode_t mode);

/* Remove dirfd/name and everything below it, never following a symlink
 * (a sandbox's workspace may hold anything).  Returns 0 or -errno. */
int sbx_rm_tree_at(int dirfd, const char *name);

/* Read a whole small file (at most max bytes) into a malloc'd,
 * NUL-terminated buffer.  Returns 0 or -errno (-EFBIG if larger). */
int sbx_read_file(int dirfd, const char *name, size_t max, char **out,
                  size_t *len);

/* Append one event line "<ISO-8601 UTC ms> <who> <text>\n" to
 * <state>/events (state_fd) and, when sandbox_fd >= 0, to the sandbox's
 * own events file too.  Each is a single O_APPEND write, so concurrent
 * writers never interleave.  who is a sandbox name or "-".
 * Returns 0 or -errno (of the first failure). */
int sbx_event(int state_fd, int sandbox_fd, const char *who,
              const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int sbx_eventv(int state_fd, int sandbox_fd, const char *who,
               const char *fmt, va_list ap);

/* Signal names without "SIG": "TERM" <-> SIGTERM.  sbx_signal_parse also
 * accepts "SIGTERM", "term" and numbers.  -EINVAL when unknown. */
int sbx_signal_parse(const char *s);
const char *sbx_signal_name(int sig);  /* "TERM"; "SIG42" style if unknown */

/* Wall clock in milliseconds since the epoch, and a monotonic clock in ns. */
uint64_t sbx_now_ms(void);
uint64_t sbx_mono_ns(void);

/* Format a size as the config syntax does: "max" or a plain byte count. */
void sbx_format_u64(char *buf, size_t size, uint64_t v);

/* Fill buf with n random bytes rendered as lowercase base32 (a-z2-7),
 * i.e. 5 bits per character.  For clone ids and tokens. */
int sbx_random_id(char *buf, size_t chars);

#endif
