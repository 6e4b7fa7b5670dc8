/* ctl.c: the files that take commands.
 *
 * Plan 9 style: a write is one or more newline-separated messages, carried
 * out during the write, in order; the first failure fails the write with
 * an errno, and the reason in words goes to the events file as an "error"
 * line.  Offsets are ignored (bash seeks back after a read-back).
 *
 *   ctl            new NAME [key=value ...] | destroy NAME
 *   <box>/ctl/kill N [SIGNAL]
 *   <box>/config   key value lines, merged into the sandbox's config
 *   <box>/execs/N/ctl  kill [SIGNAL]
 *   <box>/ctl/exec the script itself (see ctl_exec_*)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbxfs.h"
#include "sbx/config.h"
#include "sbx/state.h"
#include "sbx/util.h"

#define CTL_MAX (64u << 10)     /* a ctl message is short */

static bool parse_exec_number(const char *s, unsigned *n)
{
        char *end;
        unsigned long v;

        if (!s || !*s || *s == '0' || *s == '-' || *s == '+')
                return false;
        v = strtoul(s, &end, 10);
        if (*end || v > UINT32_MAX)
                return false;
        *n = (unsigned)v;
        return true;
}

/* "new NAME trust=low timeout=5s": config text from the key=value words,
 * checked against the config rules before anything is created. */
static int root_new(gchar **w, int nw, char **why)
{
        GString *cfgtext = g_string_new(NULL);
        struct sbx_config cfg;
        int r;

        for (int i = 2; i < nw; i++) {
                char *eq = strchr(w[i], '=');
                if (!eq || eq == w[i]) {
                        *why = g_strdup_printf("'%s' is not key=value", w[i]);
                        g_string_free(cfgtext, TRUE);
                        return -EINVAL;
                }
                /* trust first, since it resets the other limits */
                if (strncmp(w[i], "trust=", 6) == 0) {
                        g_string_prepend(cfgtext, "\n");
                        g_string_prepend(cfgtext, eq + 1);
                        g_string_prepend(cfgtext, "trust ");
                } else {
                        g_string_append_printf(cfgtext, "%.*s %s\n", (int)(eq - w[i]), w[i], eq + 1);
                }
        }
        sbx_config_defaults(&cfg, SBX_TRUST_DEFAULT);
        r = sbx_config_parse(&cfg, cfgtext->str, why);
        if (r == 0) {
                char *full = sbx_config_format(&cfg);
                r = box_create(w[1], full, why);
                if (r == 0)
                        notify_touch(T_MKDIR, w[1]);
                g_free(full);
        }
        g_string_free(cfgtext, TRUE);
        return r;
}

static int root_ctl(const char *line, char **why)
{
        gchar **w = g_strsplit_set(line, " \t", -1);
        int nw = 0, r;

        /* drop empty words (several spaces) */
        for (int i = 0; w[i]; i++)
                if (*w[i])
                        w[nw++] = w[i];
                else
                        g_free(w[i]);
        w[nw] = NULL;
        if (nw >= 2 && strcmp(w[0], "new") == 0) {
                r = root_new(w, nw, why);
        } else if (nw == 2 && strcmp(w[0], "destroy") == 0) {
                if (!sbx_name_valid(w[1])) {
                        *why = g_strdup_printf("bad sandbox name '%s'", w[1]);
                        r = -EINVAL;
                } else {
                        r = box_destroy(w[1], why);
                        if (r == 0)
                                notify_touch(T_RMDIR, w[1]);
                }
        } else {
                *why = g_strdup_printf("bad message '%s' (new NAME [key=value ...] | destroy NAME)", line);
                r = -EINVAL;
        }
        g_strfreev(w);
        return r;
}

static int box_kill(struct box *b, unsigned n, const char *sig, char **why)
{
        char line[64];

        if (sig && sbx_signal_parse(sig) < 0) {
                *why = g_strdup_printf("unknown signal '%s'", sig);
                return -EINVAL;
        }
        snprintf(line, sizeof line, "kill %u %s", n, sig ? sig : "TERM");
        return box_call(b, line, NULL, 0, NULL, 0, why);
}

/* Merge "key value" lines into the sandbox's config, all or nothing. */
static int config_merge(struct box *b, const char *text, char **why)
{
        struct sbx_config cfg;
        char dir[4096];
        int r;

        snprintf(dir, sizeof dir, "%s/%s", fs.state, b->name);
        if ((r = sbx_config_load(&cfg, dir, why)) < 0)
                return r;
        if ((r = sbx_config_parse(&cfg, text, why)) < 0)
                return r;
        char *full = sbx_config_format(&cfg);
        r = sbx_write_atomic(b->dirfd, SBX_F_CONFIG, full, strlen(full), 0644);
        if (r < 0)
                *why = g_strdup_printf("writing the config: %s", g_strerror(-r));
        else
                sbx_event(fs.state_fd, b->dirfd, b->name, "config %s", g_strstrip(g_strdelimit(
                          g_strdup(text), "\n", ' ')));
        g_free(full);
        return r;
}

int ctl_write(const struct node *nd, const char *buf, size_t len)
{
        struct box *b = NULL;
        char *why = NULL;
        int r = 0;

        if (len > CTL_MAX) {
                why = g_strdup_printf("message of %zu bytes (at most %u)", len, CTL_MAX);
                r = -EFBIG;
                goto out;
        }
        if (nd->box && !(b = box_find(nd->box)))
                return -ENOENT;
        if (memchr(buf, '\0', len)) {
                why = g_strdup("NUL byte in message");
                r = -EINVAL;
                goto out;
        }
        char *text = g_strndup(buf, len);
        if (nd->kind == K_BOX_CONFIG) {
                r = config_merge(b, text, &why);
                g_free(text);
                goto out;
        }
        gchar **lines = g_strsplit(text, "\n", -1);
        g_free(text);
        int done = 0;
        for (int i = 0; lines[i] && r == 0; i++) {
                char *line = g_strstrip(lines[i]);
                if (!*line)
                        continue;
                done++;
                gchar **w = g_strsplit_set(line, " \t", 3);
                int nw = (int)g_strv_length(w);
                unsigned n;
                switch (nd->kind) {
                case K_ROOT_CTL:
                        r = root_ctl(line, &why);
                        break;
                case K_BOX_CTL_KILL:
                        if ((nw == 1 || nw == 2) && parse_exec_number(w[0], &n)) {
                                r = box_kill(b, n, nw == 2 ? w[1] : NULL, &why);
                        } else {
                                why = g_strdup_printf("bad message '%s' (N [SIGNAL])", line);
                                r = -EINVAL;
                        }
                        break;
                case K_EXEC_CTL:
                        if ((nw == 1 || nw == 2) && strcmp(w[0], "kill") == 0) {
                                r = box_kill(b, nd->exec, nw == 2 ? w[1] : NULL, &why);
                        } else {
                                why = g_strdup_printf("bad message '%s' (kill [SIGNAL])", line);
                                r = -EINVAL;
                        }
                        break;
                default:
                        r = -EBADF;
                }
                g_strfreev(w);
        }
        g_strfreev(lines);
        if (r == 0 && done == 0) {
                why = g_strdup("empty message");
                r = -EINVAL;
        }
out:
        if (r < 0) {
                /* ESRCH from kill of an ended exec reads better as itself. */
                box_error(nd->box, nd->path, -r, why);
                g_free(why);
                return r;
        }
        g_free(why);
        return (int)len;
}

int ctl_exec_write(const struct node *nd, struct exec_buf *eb, const char *buf, size_t len)
{
        if (eb->err)
                return -eb->err;        /* EFBIG stays EFBIG */
        if (eb->started) {
                box_error(nd->box, nd->path, EBUSY, "the exec has already started; open ctl/exec again");
                return -EBUSY;
        }
        if (eb->data->len + len > SBX_EXEC_MAX_BYTES) {
                char *why = g_strdup_printf("script larger than %u bytes", SBX_EXEC_MAX_BYTES);
                box_error(nd->box, nd->path, EFBIG, why);
                g_free(why);
                eb->err = EFBIG;
                return -EFBIG;
        }
        g_byte_array_append(eb->data, (const guint8 *)buf, (guint)len);
        return (int)len;
}

int ctl_exec_start(const struct node *nd, struct exec_buf *eb)
{
        struct box *b;
        char line[64], reply[64], *why = NULL;
        int r;

        if (eb->started)
                return 0;
        if (eb->err)
                return -eb->err;
        if (eb->data->len == 0) {
                box_error(nd->box, nd->path, EINVAL, "empty command");
                eb->err = EINVAL;
                return -EINVAL;
        }
        if (!(b = box_find(nd->box)))
                return -ENOENT;
        snprintf(line, sizeof line, "exec %u", eb->data->len);
        r = box_call(b, line, eb->data->data, eb->data->len, reply, sizeof reply, &why);
        if (r == 0) {
                unsigned n = (unsigned)strtoul(reply, NULL, 10);
                eb->started = n;
                pthread_mutex_lock(&fs.lock);
                if (n > b->last)
                        b->last = n;
                pthread_mutex_unlock(&fs.lock);
        } else {
                eb->err = -r;
                box_error(nd->box, nd->path, -r, why);
        }
        g_free(why);
        g_byte_array_set_size(eb->data, 0);
        return r;
}
