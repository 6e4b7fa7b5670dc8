/* sbx/preview.h: preview URLs (sbxfs ports/): the pure parts, kept here so
 * the unit tests can reach them (lib/preview.c).
 *
 * A preview host is one DNS label under "localhost":
 *
 *     <port>-<sandbox>-<token>.localhost[:<listener port>]
 *
 * port: 1024-65535 in decimal, no leading zero; sandbox: a sandbox name
 * (sbx_name_valid: a-z 0-9 '-'); token: 1-16 of a-z 0-9 '_' (no '-', so
 * the label splits unambiguously at its first and last '-').  The whole
 * label must fit in 63 characters. */
#ifndef SBX_PREVIEW_H
#define SBX_PREVIEW_H

#include <stdbool.h>
#include <stddef.h>

#define SBX_PORT_MIN           1024
#define SBX_PORT_MAX           65535
#define SBX_TOKEN_MAX          16
#define SBX_TOKEN_DEFAULT_LEN  16      /* base32: 80 random bits */
#define SBX_LABEL_MAX          63
#define SBX_PREVIEW_DOMAIN     "localhost"
#define SBX_HTTP_HEAD_MAX      16384   /* a longer request head gets 431 */

/* 1-16 chars of a-z 0-9 '_'. */
bool sbx_token_valid(const char *t);

/* Constant-time comparison of two tokens (each at most SBX_TOKEN_MAX
 * chars): the time does not depend on where they differ, nor on a's
 * content.  False when either is NULL or too long. */
bool sbx_token_equal(const char *a, const char *b);

/* A port directory name: "1024".."65535", no sign, no leading zero.
 * Returns the port, or -1. */
int sbx_port_parse(const char *s);

/* Length of the label "<port>-<box>-<token>". */
size_t sbx_preview_label_len(unsigned port, const char *box, size_t token_len);

/* Parse a Host header value (len bytes, not NUL-terminated, any case).
 * On success returns 0 and fills port, box (>= 64 bytes) and token
 * (>= 17 bytes) in lower case; -1 when it is not a preview host. */
int sbx_preview_parse_host(const char *host, size_t len, unsigned *port, char *box,
                           char *token);

/* Look at the start of an HTTP/1.x request in buf[0..len).  Returns the
 * length of the head (through the blank line) once it is complete, 0 when
 * more bytes are needed, -1 when it is malformed or longer than
 * SBX_HTTP_HEAD_MAX.  With a complete head, *host and *host_len give the one
 * Host header's value, trimmed (NULL when absent or given twice). */
long sbx_http_head(const char *buf, size_t len, const char **host, size_t *host_len);

#endif
