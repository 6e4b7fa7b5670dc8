/* content.c: the text of the small files, read whole at open.
 *
 * A read is a snapshot: the text is made when the file is opened (and
 * again at offset 0), so `cat` never sees a half-updated record.  Files
 * backed by the state directory are read from there; the rest (status,
 * config, metrics.json) are rendered from it. */
#include <ctype.h>
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

#define SMALL_MAX (16u << 20)    /* cmd may be a 16 MiB script */

/* Read dirfd/name whole; a missing file reads as empty. */
static GString *read_backing(int dirfd, const char *name, int *err)
{
        char *text = NULL;
        size_t len = 0;
        int r = sbx_read_file(dirfd, name, SMALL_MAX, &text, &len);

        if (r == -ENOENT)
                return g_string_new("");
        if (r < 0) {
                *err = -r;
                return NULL;
        }
        GString *s = g_string_new_len(text, (gssize)len);
        free(text);
        return s;
}

static bool is_number(const char *s)
{
        if (*s == '-')
                s++;
        if (!*s)
                return false;
        for (; *s; s++)
                if (!isdigit((unsigned char)*s))
                        return false;
        return true;
}

GString *content_kv_to_json(const char *kv)
{
        GString *j = g_string_new("{");
        gchar **lines = g_strsplit(kv, "\n", -1);
        bool first = true;

        for (int i = 0; lines[i]; i++) {
                char *sp = strchr(lines[i], ' ');
                if (!*lines[i])
                        continue;
                if (sp)
                        *sp++ = '\0';
                const char *v = sp ? sp : "";
                g_string_append_printf(j, "%s\"%s\": ", first ? "" : ", ", lines[i]);
                if (is_number(v) && !(v[0] == '0' && v[1]) && strlen(v) < 19) {
                        g_string_append(j, v);
                } else {
                        g_string_append_c(j, '"');
                        for (const char *p = v; *p; p++) {
                                if (*p == '"' || *p == '\\')
                                        g_string_append_printf(j, "\\%c", *p);
                                else if ((unsigned char)*p < 0x20)
                                        g_string_append_printf(j, "\\u%04x", *p);
                                else
                                        g_string_append_c(j, *p);
                        }
                        g_string_append_c(j, '"');
                }
                first = false;
        }
        g_strfreev(lines);
        g_string_append(j, "}\n");
        return j;
}

static GString *box_status(struct box *b)
{
        struct sbx_config cfg;
        char dir[4096], *why = NULL, *pid = NULL, reply[64] = "";
        bool alive = box_call(b, "ping", NULL, 0, reply, sizeof reply, &why) == 0;
        unsigned last = box_last(b);

        g_free(why);
        snprintf(dir, sizeof dir, "%s/%s", fs.state, b->name);
        if (sbx_config_load(&cfg, dir, &why) < 0)
                sbx_config_defaults(&cfg, SBX_TRUST_DEFAULT);
        g_free(why);
        sbx_read_file(b->dirfd, SBX_F_PID, 64, &pid, NULL);
        GString *s = g_string_new(NULL);
        g_string_append_printf(s, "state %s\n", faccessat(b->dirfd, SBX_F_DESTROYING, F_OK, 0) == 0
                                                         ? "destroying" : alive ? "running" : "stopped");
        g_string_append_printf(s, "name %s\ntrust %s\n", b->name, sbx_trust_name(cfg.trust));
        g_string_append_printf(s, "supervisor_pid %s\n", alive && pid ? g_strstrip(pid) : "-");
        /* The supervisor knows what runs ("ok PID RUNNING"); scanning the
         * execs would cost O(execs) per stat. */
        const char *sp = strchr(reply, ' ');
        g_string_append_printf(s, "execs %u\nrunning %s\n", last, alive && sp ? sp + 1 : "0");
        free(pid);
        return s;
}

GString *content_render(const struct node *nd, int *err)
{
        struct box *b = nd->box ? box_find(nd->box) : NULL;
        int fd;

        *err = 0;
        if (nd->box && !b) {
                *err = ENOENT;
                return NULL;
        }
        switch (nd->kind) {
        case K_BOX_CONFIG: {
                struct sbx_config cfg;
                char dir[4096], *why = NULL;
                snprintf(dir, sizeof dir, "%s/%s", fs.state, b->name);
                if (sbx_config_load(&cfg, dir, &why) < 0) {
                        g_free(why);
                        *err = EIO;
                        return NULL;
                }
                char *t = sbx_config_format(&cfg);
                GString *s = g_string_new(t);
                g_free(t);
                return s;
        }
        case K_BOX_ENV: case K_BOX_METRICS:
                return read_backing(b->dirfd, kinds[nd->kind].backing, err);
        case K_BOX_METRICS_JSON: {
                GString *kv = read_backing(b->dirfd, SBX_F_METRICS, err);
                if (!kv)
                        return NULL;
                GString *j = content_kv_to_json(kv->str);
                g_string_free(kv, TRUE);
                return j;
        }
        case K_BOX_STATUS:
                return box_status(b);
        case K_EXEC_CMD: case K_EXEC_STATUS: case K_EXEC_METRICS:
        case K_EXEC_VIOLATIONS: case K_EXEC_METRICS_JSON: case K_EXEC_WAIT: {
                char path[64];
                snprintf(path, sizeof path, "%s/%u", SBX_D_EXECS, nd->exec);
                fd = openat(b->dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0) {
                        *err = errno;
                        return NULL;
                }
                GString *s = read_backing(fd, nd->kind == K_EXEC_METRICS_JSON ? SBX_E_METRICS
                                                 : kinds[nd->kind].backing, err);
                close(fd);
                if (s && nd->kind == K_EXEC_METRICS_JSON) {
                        GString *j = content_kv_to_json(s->str);
                        g_string_free(s, TRUE);
                        s = j;
                }
                return s;
        }
        default:
                if (ports_kind(nd->kind))
                        return ports_render(nd, err);
                return g_string_new("");
        }
}

off_t content_size(const struct node *nd)
{
        struct stat st;
        struct box *b;
        char path[128];
        int err;

        switch (nd->kind) {
        case K_ROOT_EVENTS:
                return fstatat(fs.state_fd, SBX_F_EVENTS, &st, 0) == 0 ? st.st_size : 0;
        case K_BOX_ENV: case K_BOX_METRICS: case K_BOX_EVENTS:
                b = box_find(nd->box);
                return b && fstatat(b->dirfd, kinds[nd->kind].backing, &st, 0) == 0 ? st.st_size : 0;
        case K_EXEC_CMD: case K_EXEC_STDOUT: case K_EXEC_STDERR: case K_EXEC_STATUS:
        case K_EXEC_METRICS: case K_EXEC_VIOLATIONS:
                b = box_find(nd->box);
                snprintf(path, sizeof path, "%s/%u/%s", SBX_D_EXECS, nd->exec, kinds[nd->kind].backing);
                return b && fstatat(b->dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_size : 0;
        case K_EXEC_WAIT:
                /* Empty until the exec ends, then its status line. */
                b = box_find(nd->box);
                if (!b || exec_running(b, nd->exec))
                        return 0;
                snprintf(path, sizeof path, "%s/%u/%s", SBX_D_EXECS, nd->exec, SBX_E_STATUS);
                return fstatat(b->dirfd, path, &st, 0) == 0 ? st.st_size : 0;
        case K_BOX_CONFIG: case K_BOX_STATUS: case K_BOX_METRICS_JSON: case K_EXEC_METRICS_JSON: {
                GString *s = content_render(nd, &err);
                off_t n = s ? (off_t)s->len : 0;
                if (s)
                        g_string_free(s, TRUE);
                return n;
        }
        default:
                return ports_kind(nd->kind) ? ports_size(nd) : 0;
        }
}
