/* ops.c: the FUSE low-level operations, dispatched by node kind.
 *
 * Cache policy: every synthetic file is direct_io and every entry and
 * attribute is given with a zero timeout, so sizes, contents and listings
 * are never stale (fuse-behaviour.md 3a: with attr_timeout=1 up to 45 %
 * of stats were stale).  The cost is one round trip per stat, which the
 * benchmarks show is small next to an exec.
 *
 * Each operation ends in exactly one fuse_reply_*; blocking reads may
 * park their request (wait.c) and be answered later. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "sbxfs.h"
#include "sbx/config.h"
#include "sbx/state.h"
#include "sbx/util.h"

#define CLONE_ID_CHARS 20        /* 100 random bits, base32 */

enum hkind { H_SNAPSHOT, H_STREAM, H_CTL, H_EXEC, H_ENV, H_STDIN, H_CLONE, H_NOP,
             H_PORT /* ports/N/ready: ports.c answers */ };

struct handle {
        enum hkind hk;
        const struct node *nd;
        int fd;                  /* stream file or stdin FIFO, else -1 */
        GString *text;           /* snapshot, clone name, env being written */
        struct exec_buf eb;      /* ctl/exec */
        bool wrote;
        bool answered;           /* ctl/exec read-back given */
        off_t pos;               /* streams: offset after the last read */
};

struct dirbuf {
        GPtrArray *names;        /* char* */
        GArray *inos;            /* fuse_ino_t */
        GArray *modes;           /* mode_t */
};

static const struct node *nd_of(fuse_ino_t ino)
{
        return node_by_ino(ino);
}

/* ---- existence and attributes ------------------------------------------ */

static bool exec_exists(struct box *b, unsigned n)
{
        char path[32];
        struct stat st;

        snprintf(path, sizeof path, "%s/%u", SBX_D_EXECS, n);
        return fstatat(b->dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static bool exists(const struct node *nd)
{
        struct box *b;

        if (!nd->box)
                return true;
        if (!(b = box_find(nd->box)))
                return false;
        if (nd->kind == K_EXECS_LAST)
                return box_last(b) > 0;
        if (ports_kind(nd->kind))
                return ports_exists(nd);
        if (nd->exec)
                return exec_exists(b, nd->exec);
        return true;
}

/* mtime of the backing file where there is one, else of the sandbox or
 * the mount. */
static void fill_times(const struct node *nd, struct stat *st)
{
        struct stat bs;
        char path[128];
        struct box *b = nd->box ? box_find(nd->box) : NULL;
        const char *backing = kinds[nd->kind].backing;
        int r = -1;

        if (nd->kind == K_ROOT_EVENTS)
                r = fstatat(fs.state_fd, SBX_F_EVENTS, &bs, 0);
        else if (b && nd->exec) {
                snprintf(path, sizeof path, "%s/%u%s%s", SBX_D_EXECS, nd->exec,
                         backing ? "/" : "", backing ? backing : "");
                r = fstatat(b->dirfd, path, &bs, AT_SYMLINK_NOFOLLOW);
        } else if (b && backing) {
                r = fstatat(b->dirfd, backing, &bs, 0);
        }
        if (r < 0 && b)
                r = fstatat(b->dirfd, ".", &bs, 0);
        if (r == 0) {
                st->st_atim = bs.st_atim;
                st->st_mtim = bs.st_mtim;
                st->st_ctim = bs.st_ctim;
        } else {
                st->st_atim = st->st_mtim = st->st_ctim = fs.mounted;
        }
}

static int fill_attr(const struct node *nd, struct stat *st)
{
        if (!exists(nd))
                return -ENOENT;
        memset(st, 0, sizeof *st);
        st->st_ino = nd->ino;
        st->st_mode = kinds[nd->kind].mode;
        st->st_nlink = S_ISDIR(st->st_mode) ? 2 : 1;
        st->st_uid = fs.uid;
        st->st_gid = fs.gid;
        st->st_blksize = 4096;
        if (nd->kind == K_EXECS_LAST) {
                char t[16];
                st->st_size = snprintf(t, sizeof t, "%u", box_last(box_find(nd->box)));
        } else if (S_ISREG(st->st_mode)) {
                st->st_size = content_size(nd);
        }
        st->st_blocks = (st->st_size + 511) / 512;
        fill_times(nd, st);
        return 0;
}

static void reply_entry(fuse_req_t req, const struct node *nd)
{
        struct fuse_entry_param e = { 0 };
        int r = fill_attr(nd, &e.attr);

        if (r < 0) {
                fuse_reply_err(req, -r);
                return;
        }
        e.ino = nd->ino;
        e.attr_timeout = 0;
        e.entry_timeout = 0;
        fuse_reply_entry(req, &e);
}

/* ---- lookup --------------------------------------------------------------- */

static const struct node *child(const struct node *dir, const char *name)
{
        size_t n;
        const enum kind *ch = node_children(dir->kind, &n);

        for (size_t i = 0; i < n; i++)
                if (strcmp(kinds[ch[i]].name, name) == 0)
                        return node_get(ch[i], dir->box, dir->exec);
        if (dir->kind == K_ROOT && sbx_name_valid(name))
                return node_get(K_BOX, name, 0);
        if (dir->kind == K_BOX_PORTS)
                return ports_child(dir, name);
        if (dir->kind == K_BOX_EXECS) {
                char *end;
                unsigned long v = strtoul(name, &end, 10);
                if (*end == '\0' && name[0] != '0' && v <= UINT32_MAX)
                        return node_get(K_EXEC, dir->box, (unsigned)v);
        }
        return NULL;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
        const struct node *dir, *nd;

        if (files_is(parent))
                return fx_lookup(req, parent, name);
        dir = nd_of(parent);
        if (dir && dir->kind == K_BOX && strcmp(name, "files") == 0) {
                struct box *b = box_find(dir->box);
                if (!b)
                        return (void)fuse_reply_err(req, ENOENT);
                return files_lookup_root(req, b);
        }

        if (!dir || !S_ISDIR(kinds[dir->kind].mode))
                return (void)fuse_reply_err(req, ENOTDIR);
        if (!(nd = child(dir, name)))
                return (void)fuse_reply_err(req, ENOENT);
        int pretend = notify_pretend(req, nd->path);
        if (pretend == 1)
                return (void)fuse_reply_err(req, ENOENT);
        if (pretend == 0) {
                struct fuse_entry_param e = { .ino = nd->ino };
                e.attr.st_ino = nd->ino;
                e.attr.st_mode = kinds[nd->kind].mode;
                e.attr.st_nlink = 2;
                return (void)fuse_reply_entry(req, &e);
        }
        /* A new exec may be on its way from a closed ctl/exec. */
        if (nd->kind == K_EXEC) {
                struct box *b = box_find(nd->box);
                if (b && !exec_exists(b, nd->exec))
                        box_last(b);
        }
        reply_entry(req, nd);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
        const struct node *nd;
        struct stat st;
        int r;

        (void)fi;
        if (files_is(ino))
                return fx_getattr(req, ino);
        if (!(nd = nd_of(ino)))
                return (void)fuse_reply_err(req, ENOENT);
        if ((r = fill_attr(nd, &st)) < 0)
                return (void)fuse_reply_err(req, -r);
        fuse_reply_attr(req, &st, 0);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                       struct fuse_file_info *fi)
{
        const struct node *nd;
        struct handle *h = fi ? (struct handle *)fi->fh : NULL;
        struct stat st;
        int r;

        if (files_is(ino))
                return fx_setattr(req, ino, attr, to_set, fi);
        if (!(nd = nd_of(ino)))
                return (void)fuse_reply_err(req, ENOENT);
        if (notify_is_self(req))
                to_set = 0;
        if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))
                return (void)fuse_reply_err(req, EPERM);
        if (to_set & FUSE_SET_ATTR_SIZE) {
                switch (nd->kind) {
                case K_ROOT_CTL: case K_BOX_CTL_EXEC: case K_BOX_CTL_KILL: case K_EXEC_CTL:
                case K_BOX_CONFIG: case K_EXEC_STDIN: case K_PORT_TOKEN: case K_PORT_CTL:
                        break;          /* ctl files: truncate is a no-op */
                case K_BOX_ENV:
                        if (attr->st_size != 0)
                                return (void)fuse_reply_err(req, EINVAL);
                        if (h && h->hk == H_ENV)
                                g_string_truncate(h->text, 0);
                        else {
                                struct box *b = box_find(nd->box);
                                if (!b || (r = sbx_write_atomic(b->dirfd, SBX_F_ENV, "", 0, 0644)) < 0)
                                        return (void)fuse_reply_err(req, b ? -r : ENOENT);
                        }
                        break;
                default:
                        return (void)fuse_reply_err(req, S_ISDIR(kinds[nd->kind].mode) ? EISDIR : EACCES);
                }
        }
        /* Times: accepted and forgotten (they are the state's). */
        if ((r = fill_attr(nd, &st)) < 0)
                return (void)fuse_reply_err(req, -r);
        fuse_reply_attr(req, &st, 0);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
        const struct node *nd;
        struct box *b;
        char t[16];

        if (files_is(ino))
                return fx_readlink(req, ino);
        nd = nd_of(ino);
        if (!nd || nd->kind != K_EXECS_LAST)
                return (void)fuse_reply_err(req, EINVAL);
        if (!(b = box_find(nd->box)))
                return (void)fuse_reply_err(req, ENOENT);
        unsigned last = box_last(b);
        if (!last)
                return (void)fuse_reply_err(req, ENOENT);
        snprintf(t, sizeof t, "%u", last);
        fuse_reply_readlink(req, t);
}

/* ---- directories ------------------------------------------------------ */

static void dir_add(struct dirbuf *d, const char *name, const struct node *nd)
{
        fuse_ino_t ino = nd->ino;
        mode_t mode = kinds[nd->kind].mode;

        g_ptr_array_add(d->names, g_strdup(name));
        g_array_append_val(d->inos, ino);
        g_array_append_val(d->modes, mode);
}

static gint cmp_uint(gconstpointer a, gconstpointer b)
{
        unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
        return x < y ? -1 : x > y;
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
        const struct node *nd;
        struct box *b = NULL;
        size_t n;

        if (files_is(ino))
                return fx_opendir(req, ino, fi);
        nd = nd_of(ino);
        if (!nd || !S_ISDIR(kinds[nd->kind].mode))
                return (void)fuse_reply_err(req, ENOTDIR);
        if (!exists(nd))
                return (void)fuse_reply_err(req, ENOENT);
        if (nd->box)
                b = box_find(nd->box);
        struct dirbuf *d = g_new0(struct dirbuf, 1);
        d->names = g_ptr_array_new_with_free_func(g_free);
        d->inos = g_array_new(FALSE, FALSE, sizeof(fuse_ino_t));
        d->modes = g_array_new(FALSE, FALSE, sizeof(mode_t));
        dir_add(d, ".", nd);
        dir_add(d, "..", nd);   /* the kernel fills in the real parent */
        const enum kind *ch = node_children(nd->kind, &n);
        for (size_t i = 0; i < n; i++) {
                const struct node *c = node_get(ch[i], nd->box, nd->exec);
                if (ch[i] == K_EXECS_LAST && !(b && box_last(b)))
                        continue;
                dir_add(d, kinds[ch[i]].name, c);
        }
        if (nd->kind == K_BOX) {
                /* files/ is a passthrough root; its real inode number is
                 * given at lookup. */
                struct node files = { .ino = FUSE_ROOT_ID, .kind = K_BOX };
                dir_add(d, "files", &files);
        }
        if (nd->kind == K_ROOT) {
                GPtrArray *names = box_list();
                for (guint i = 0; i < names->len; i++) {
                        const char *name = g_ptr_array_index(names, i);
                        dir_add(d, name, node_get(K_BOX, name, 0));
                }
                g_ptr_array_free(names, TRUE);
        } else if (nd->kind == K_BOX_EXECS && b) {
                box_last(b);
                int fd = openat(b->dirfd, SBX_D_EXECS, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                GDir *gd = NULL;
                GArray *nums = g_array_new(FALSE, FALSE, sizeof(unsigned));
                if (fd >= 0) {
                        char p[64];
                        snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
                        gd = g_dir_open(p, 0, NULL);
                }
                const char *e;
                while (gd && (e = g_dir_read_name(gd))) {
                        char *end;
                        unsigned long v = strtoul(e, &end, 10);
                        if (*end == '\0' && e[0] != '0' && v <= UINT32_MAX) {
                                unsigned u = (unsigned)v;
                                g_array_append_val(nums, u);
                        }
                }
                if (gd)
                        g_dir_close(gd);
                if (fd >= 0)
                        close(fd);
                g_array_sort(nums, cmp_uint);
                for (guint i = 0; i < nums->len; i++) {
                        char name[16];
                        unsigned u = g_array_index(nums, unsigned, i);
                        snprintf(name, sizeof name, "%u", u);
                        dir_add(d, name, node_get(K_EXEC, nd->box, u));
                }
                g_array_free(nums, TRUE);
        } else if (nd->kind == K_BOX_PORTS && b) {
                GArray *ports = ports_list(nd->box);
                for (guint i = 0; i < ports->len; i++) {
                        char name[16];
                        unsigned u = g_array_index(ports, unsigned, i);
                        snprintf(name, sizeof name, "%u", u);
                        dir_add(d, name, node_get(K_PORT, nd->box, u));
                }
                g_array_free(ports, TRUE);
        }
        fi->fh = (uint64_t)(uintptr_t)d;
        fi->cache_readdir = 0;
        fuse_reply_open(req, fi);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
        struct dirbuf *d = (struct dirbuf *)(uintptr_t)fi->fh;
        char *buf;
        size_t used = 0;

        if (files_is(ino))
                return fx_readdir(req, ino, size, off, fi);
        buf = g_malloc(size);
        for (guint i = (guint)off; i < d->names->len; i++) {
                struct stat st = { .st_ino = g_array_index(d->inos, fuse_ino_t, i),
                                   .st_mode = g_array_index(d->modes, mode_t, i) };
                size_t n = fuse_add_direntry(req, buf + used, size - used,
                                             g_ptr_array_index(d->names, i), &st, i + 1);
                if (n > size - used)
                        break;
                used += n;
        }
        fuse_reply_buf(req, buf, used);
        g_free(buf);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
        struct dirbuf *d = (struct dirbuf *)(uintptr_t)fi->fh;

        if (files_is(ino))
                return fx_releasedir(req, fi);
        g_ptr_array_free(d->names, TRUE);
        g_array_free(d->inos, TRUE);
        g_array_free(d->modes, TRUE);
        g_free(d);
        fuse_reply_err(req, 0);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
        const struct node *dir = nd_of(parent);
        char *why = NULL, *cfg;
        struct sbx_config c;
        int r;

        if (files_is(parent))
                return fx_mkdir(req, parent, name, mode);
        if (!dir)
                return (void)fuse_reply_err(req, ENOENT);
        if (notify_is_self(req)) {
                const struct node *nd = child(dir, name);
                if (!nd)
                        return (void)fuse_reply_err(req, ENOENT);
                return reply_entry(req, nd);
        }
        if (dir->kind == K_BOX_PORTS) {         /* expose a port (ports.c) */
                if ((r = ports_expose(dir->box, name)) < 0)
                        return (void)fuse_reply_err(req, -r);
                return reply_entry(req, ports_child(dir, name));
        }
        if (dir->kind != K_ROOT) {
                box_error(dir->box, dir->path, EPERM, "only sandboxes can be made here");
                return (void)fuse_reply_err(req, EPERM);
        }
        sbx_config_defaults(&c, SBX_TRUST_DEFAULT);
        cfg = sbx_config_format(&c);
        r = box_create(name, cfg, &why);
        g_free(cfg);
        if (r < 0) {
                box_error(NULL, "mkdir", -r, why);
                g_free(why);
                return (void)fuse_reply_err(req, -r);
        }
        reply_entry(req, node_get(K_BOX, name, 0));
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
        const struct node *dir = nd_of(parent);
        char *why = NULL;
        int r;

        if (files_is(parent))
                return fx_unlink(req, parent, name, true);
        if (notify_is_self(req))
                return (void)fuse_reply_err(req, 0);
        if (dir && dir->kind == K_BOX_PORTS)    /* unexpose (ports.c) */
                return (void)fuse_reply_err(req, -ports_unexpose(dir->box, name));
        if (!dir || dir->kind != K_ROOT)
                return (void)fuse_reply_err(req, EPERM);
        if (!sbx_name_valid(name))
                return (void)fuse_reply_err(req, ENOENT);
        r = box_destroy(name, &why);
        if (r < 0 && r != -ENOENT)
                box_error(name, "rmdir", -r, why);
        g_free(why);
        fuse_reply_err(req, -r);
}

static void op_refuse(fuse_req_t req)
{
        fuse_reply_err(req, EPERM);
}

/* The synthetic tree takes no new names but sandboxes (mkdir); files/
 * takes everything. */
static void op_mknod(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m, dev_t d)
{
        if (files_is(p))
                return fx_mknod(req, p, n, m, d);
        op_refuse(req);
}

static void op_unlink(fuse_req_t req, fuse_ino_t p, const char *n)
{
        if (files_is(p))
                return fx_unlink(req, p, n, false);
        op_refuse(req);
}

static void op_symlink(fuse_req_t req, const char *l, fuse_ino_t p, const char *n)
{
        if (files_is(p))
                return fx_symlink(req, l, p, n);
        op_refuse(req);
}

static void op_rename(fuse_req_t req, fuse_ino_t p, const char *n, fuse_ino_t np,
                      const char *nn, unsigned int f)
{
        if (files_is(p) && files_is(np))
                return fx_rename(req, p, n, np, nn, f);
        fuse_reply_err(req, files_is(p) || files_is(np) ? EXDEV : EPERM);
}

static void op_link(fuse_req_t req, fuse_ino_t i, fuse_ino_t np, const char *nn)
{
        if (files_is(i) && files_is(np))
                return fx_link(req, i, np, nn);
        fuse_reply_err(req, files_is(i) || files_is(np) ? EXDEV : EPERM);
}

static void op_create(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m,
                      struct fuse_file_info *fi)
{
        if (files_is(p))
                return fx_create(req, p, n, m, fi);
        /* Reached only for names that do not exist. */
        fuse_reply_err(req, EACCES);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
        if (files_is(ino))
                fx_forget(ino, nlookup);
        fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *fl)
{
        for (size_t i = 0; i < count; i++)
                if (files_is(fl[i].ino))
                        fx_forget(fl[i].ino, fl[i].nlookup);
        fuse_reply_none(req);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
        struct statvfs sv = { .f_bsize = 4096, .f_namemax = 255 };

        if (files_is(ino))
                return fx_statfs(req, ino);
        fuse_reply_statfs(req, &sv);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
        if (files_is(ino))
                return fx_getxattr(req, ino, name, size);
        fuse_reply_err(req, ENOTSUP);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
        if (files_is(ino))
                return fx_listxattr(req, ino, size);
        if (size == 0)
                return (void)fuse_reply_xattr(req, 0);
        fuse_reply_buf(req, NULL, 0);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
                        size_t size, int flags)
{
        if (files_is(ino))
                return fx_setxattr(req, ino, name, value, size, flags);
        fuse_reply_err(req, ENOTSUP);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
        if (files_is(ino))
                return fx_removexattr(req, ino, name);
        fuse_reply_err(req, ENOTSUP);
}

static void op_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op)
{
        if (files_is(ino))
                return fx_flock(req, fi, op);
        fuse_reply_err(req, 0);         /* nothing to lock in a ctl file */
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
                         struct fuse_file_info *fi)
{
        if (files_is(ino))
                return fx_fallocate(req, mode, off, len, fi);
        fuse_reply_err(req, EOPNOTSUPP);
}

static void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
                     struct fuse_file_info *fi)
{
        if (files_is(ino))
                return fx_lseek(req, off, whence, fi);
        fuse_reply_err(req, ENOSYS);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
        (void)datasync;
        if (files_is(ino))
                return fx_fsyncdir(req, fi);
        fuse_reply_err(req, 0);
}

/* ---- files ------------------------------------------------------------ */

static bool want_read(int flags)  { return (flags & O_ACCMODE) != O_WRONLY; }
static bool want_write(int flags) { return (flags & O_ACCMODE) != O_RDONLY; }

static void handle_free(struct handle *h)
{
        if (h->fd >= 0)
                close(h->fd);
        if (h->text)
                g_string_free(h->text, TRUE);
        if (h->eb.data)
                g_byte_array_free(h->eb.data, TRUE);
        g_free(h);
}

static int open_clone(struct handle *h)
{
        char id[CLONE_ID_CHARS + 1], name[SBX_NAME_MAX + 1], *why = NULL, *cfg;
        struct sbx_config c;
        int r;

        if ((r = sbx_random_id(id, CLONE_ID_CHARS)) < 0)
                return r;
        snprintf(name, sizeof name, "sbx-%s", id);
        sbx_config_defaults(&c, SBX_TRUST_DEFAULT);
        cfg = sbx_config_format(&c);
        r = box_create(name, cfg, &why);
        g_free(cfg);
        if (r < 0) {
                box_error(NULL, "clone", -r, why);
                g_free(why);
                return r;
        }
        notify_touch(T_MKDIR, name);
        h->text = g_string_new(name);
        g_string_append_c(h->text, '\n');
        return 0;
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
        const struct node *nd;
        struct handle *h;
        int r = 0, err;

        if (files_is(ino))
                return fx_open(req, ino, fi);
        if (!(nd = nd_of(ino)))
                return (void)fuse_reply_err(req, ENOENT);
        if (!exists(nd))
                return (void)fuse_reply_err(req, ENOENT);
        h = g_new0(struct handle, 1);
        h->nd = nd;
        h->fd = -1;
        fi->direct_io = 1;
        if (notify_is_self(req)) {
                h->hk = H_NOP;
                goto done;
        }
        mode_t mode = kinds[nd->kind].mode;
        if ((want_read(fi->flags) && !(mode & 0444)) || (want_write(fi->flags) && !(mode & 0222))) {
                r = -EACCES;
                goto done;
        }
        struct box *b = nd->box ? box_find(nd->box) : NULL;
        switch (nd->kind) {
        case K_ROOT_CLONE:
                h->hk = H_CLONE;
                r = open_clone(h);
                break;
        case K_ROOT_CTL: case K_BOX_CTL_KILL: case K_EXEC_CTL: case K_PORT_CTL:
                h->hk = H_CTL;
                break;
        case K_PORT_TOKEN:
                h->hk = want_write(fi->flags) ? H_CTL : H_SNAPSHOT;
                if (h->hk == H_SNAPSHOT && !(h->text = content_render(nd, &err)))
                        r = -err;
                break;
        case K_PORT_READY:
                h->hk = H_PORT;
                break;
        case K_BOX_CTL_EXEC:
                h->hk = H_EXEC;
                h->eb.data = g_byte_array_new();
                break;
        case K_BOX_CONFIG:
                h->hk = want_write(fi->flags) ? H_CTL : H_SNAPSHOT;
                break;
        case K_BOX_ENV:
                h->hk = want_write(fi->flags) ? H_ENV : H_SNAPSHOT;
                if (h->hk == H_ENV) {
                        h->text = (fi->flags & O_TRUNC) ? g_string_new("") : content_render(nd, &err);
                        if (!h->text)
                                r = -err;
                }
                break;
        case K_ROOT_EVENTS:
                h->hk = H_STREAM;
                h->fd = openat(fs.state_fd, SBX_F_EVENTS, O_RDONLY | O_CLOEXEC | O_CREAT, 0644);
                if (h->fd < 0)
                        r = -errno;
                break;
        case K_BOX_EVENTS:
                h->hk = H_STREAM;
                h->fd = openat(b->dirfd, SBX_F_EVENTS, O_RDONLY | O_CLOEXEC | O_CREAT, 0644);
                if (h->fd < 0)
                        r = -errno;
                break;
        case K_EXEC_STDOUT: case K_EXEC_STDERR:
                h->hk = H_STREAM;
                h->fd = exec_openat(b, nd->exec, kinds[nd->kind].backing, 0);
                if (h->fd < 0)
                        r = -errno;
                break;
        case K_EXEC_WAIT:
                h->hk = H_STREAM;
                break;
        case K_EXEC_STDIN:
                h->hk = H_STDIN;
                /* Non-blocking open: no reader means the exec has ended. */
                h->fd = exec_openat(b, nd->exec, SBX_E_STDIN, O_WRONLY | O_NONBLOCK);
                if (h->fd < 0)
                        r = errno == ENXIO ? -EPIPE : -errno;
                else if (!(fi->flags & O_NONBLOCK))
                        fcntl(h->fd, F_SETFL, 0);
                break;
        default:
                h->hk = H_SNAPSHOT;
                h->text = content_render(nd, &err);
                if (!h->text)
                        r = -err;
                break;
        }
done:
        if (r < 0) {
                handle_free(h);
                return (void)fuse_reply_err(req, -r);
        }
        fi->fh = (uint64_t)(uintptr_t)h;
        fuse_reply_open(req, fi);
}

static void reply_text(fuse_req_t req, const GString *s, off_t off, size_t size)
{
        if (!s || (size_t)off >= s->len)
                return (void)fuse_reply_buf(req, NULL, 0);
        size_t n = s->len - (size_t)off < size ? s->len - (size_t)off : size;
        fuse_reply_buf(req, s->str + off, n);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
        struct handle *h = (struct handle *)(uintptr_t)fi->fh;
        int err;

        if (files_is(ino))
                return fx_read(req, size, off, fi);
        switch (h->hk) {
        case H_SNAPSHOT:
                if (off == 0) {         /* a re-read from the start: fresh */
                        GString *s = content_render(h->nd, &err);
                        if (!s)
                                return (void)fuse_reply_err(req, err);
                        if (h->text)
                                g_string_free(h->text, TRUE);
                        h->text = s;
                }
                return reply_text(req, h->text, off, size);
        case H_CLONE: case H_ENV:
                return reply_text(req, h->text, off, size);
        case H_PORT:
                return ports_read(req, h->nd, off, size);
        case H_STREAM:
                return wait_read(req, h->nd, h->fd, off, size, fi->flags, &h->pos);
        case H_EXEC: {
                /* Read-back: start now and answer the exec number. */
                int r = ctl_exec_start(h->nd, &h->eb);
                if (r < 0)
                        return (void)fuse_reply_err(req, -r);
                /* The file position is past what was written: the
                 * answer is read whole once, then EOF. */
                char t[16];
                int n = snprintf(t, sizeof t, "%u\n", h->eb.started);
                GString s = { .str = t, .len = (gsize)n };
                bool first = !h->answered;
                h->answered = true;
                return reply_text(req, &s, first ? 0 : (off_t)s.len, size);
        }
        default:
                fuse_reply_buf(req, NULL, 0);
        }
}

/* env: KEY=VALUE lines (and blank or # lines); all checked before saving. */
static int env_commit(struct handle *h)
{
        gchar **lines = g_strsplit(h->text->str, "\n", -1);
        struct box *b = box_find(h->nd->box);
        int r = 0;

        for (int i = 0; lines[i] && r == 0; i++) {
                const char *l = lines[i], *p = l;
                if (!*l || *l == '#')
                        continue;
                while (*p == '_' || g_ascii_isalnum(*p))
                        p++;
                if (*p != '=' || p == l || g_ascii_isdigit(*l)) {
                        char *why = g_strdup_printf("line %d: '%s' is not NAME=VALUE", i + 1, l);
                        box_error(h->nd->box, h->nd->path, EINVAL, why);
                        g_free(why);
                        r = -EINVAL;
                }
        }
        g_strfreev(lines);
        if (r == 0 && !b)
                r = -ENOENT;
        if (r == 0)
                r = sbx_write_atomic(b->dirfd, SBX_F_ENV, h->text->str, h->text->len, 0644);
        return r;
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
        struct handle *h = (struct handle *)(uintptr_t)fi->fh;
        int r;

        (void)ino;
        switch (h->hk) {
        case H_CTL:
                r = ports_kind(h->nd->kind) ? ports_write(h->nd, buf, size)
                                            : ctl_write(h->nd, buf, size);
                break;
        case H_EXEC:
                r = ctl_exec_write(h->nd, &h->eb, buf, size);
                break;
        case H_ENV: {
                /* Editors write at offsets; echo >> appends. */
                GString *saved = g_string_new_len(h->text->str, (gssize)h->text->len);
                if (fi->flags & O_APPEND)
                        off = (off_t)h->text->len;
                if ((size_t)off > h->text->len)
                        g_string_set_size(h->text, (gsize)off);
                g_string_overwrite_len(h->text, (gsize)off, buf, (gssize)size);
                if ((r = env_commit(h)) == 0) {
                        r = (int)size;
                        g_string_free(saved, TRUE);
                } else {
                        g_string_free(h->text, TRUE);
                        h->text = saved;
                }
                break;
        }
        case H_STDIN: {
                ssize_t n = write(h->fd, buf, size);
                r = n < 0 ? -errno : (int)n;
                break;
        }
        case H_NOP:
                r = (int)size;
                break;
        default:
                r = -EBADF;
        }
        if (r < 0)
                return (void)fuse_reply_err(req, -r);
        h->wrote = true;
        fuse_reply_write(req, (size_t)r);
}

/* Writes to files/ go straight from the FUSE buffer to the file (splice
 * where the kernel allows); the synthetic files take a copy. */
static void op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in, off_t off,
                         struct fuse_file_info *fi)
{
        if (files_is(ino))
                return fx_write_buf(req, ino, in, off, fi);
        size_t size = fuse_buf_size(in);
        struct fuse_bufvec mem = FUSE_BUFVEC_INIT(size);
        mem.buf[0].mem = g_malloc(size ? size : 1);
        ssize_t n = fuse_buf_copy(&mem, in, 0);
        if (n < 0)
                fuse_reply_err(req, (int)-n);
        else
                op_write(req, ino, mem.buf[0].mem, (size_t)n, off, fi);
        g_free(mem.buf[0].mem);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
        struct handle *h = (struct handle *)(uintptr_t)fi->fh;

        if (files_is(ino))
                return fx_flush(req, fi);
        /* A close of a ctl/exec with a script in it: the exec starts at
         * RELEASE (FLUSH comes once per close(), and bash closes before it
         * writes), but until then execs/last waits for it. */
        if (h->hk == H_EXEC && h->eb.data->len > 0 && !h->eb.started && !h->eb.err &&
            !h->eb.flushed) {
                struct box *b = box_find(h->nd->box);
                if (b) {
                        pthread_mutex_lock(&fs.lock);
                        b->pending++;
                        h->eb.flushed = true;
                        pthread_mutex_unlock(&fs.lock);
                }
        }
        fuse_reply_err(req, 0);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
        struct handle *h = (struct handle *)(uintptr_t)fi->fh;
        char line[64], *why = NULL;

        if (files_is(ino))
                return fx_release(req, fi);
        if (h->hk == H_EXEC) {
                if (h->eb.data->len > 0 && !h->eb.started && !h->eb.err)
                        ctl_exec_start(h->nd, &h->eb);
                if (h->eb.flushed) {
                        struct box *b = box_find(h->nd->box);
                        pthread_mutex_lock(&fs.lock);
                        if (b)
                                b->pending--;
                        pthread_cond_broadcast(&fs.cond);
                        pthread_mutex_unlock(&fs.lock);
                }
        } else if (h->hk == H_STDIN) {
                struct box *b = box_find(h->nd->box);
                close(h->fd);
                h->fd = -1;
                snprintf(line, sizeof line, "stdin-close %u", h->nd->exec);
                if (b)
                        box_call(b, line, NULL, 0, NULL, 0, &why);
                g_free(why);
        }
        handle_free(h);
        fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
        if (files_is(ino))
                return fx_fsync(req, datasync, fi);
        fuse_reply_err(req, 0);
}

static void op_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
                    struct fuse_pollhandle *ph)
{
        struct handle *h = (struct handle *)(uintptr_t)fi->fh;

        if (files_is(ino) || h->hk != H_STREAM) {
                if (ph)
                        fuse_pollhandle_destroy(ph);
                return (void)fuse_reply_poll(req, POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
        }
        /* FUSE poll carries no offset: readable means "a read after the
         * last one would not block". */
        wait_poll(req, h->nd, h->fd, h->pos, ph);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
        (void)userdata;
        if (conn->capable & FUSE_CAP_SPLICE_WRITE)
                conn->want |= FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE;
        if (conn->capable & FUSE_CAP_FLOCK_LOCKS)
                conn->want |= FUSE_CAP_FLOCK_LOCKS;
        conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
}

const struct fuse_lowlevel_ops sbxfs_ops = {
        .init       = op_init,
        .lookup     = op_lookup,
        .getattr    = op_getattr,
        .setattr    = op_setattr,
        .readlink   = op_readlink,
        .mknod      = op_mknod,
        .mkdir      = op_mkdir,
        .unlink     = op_unlink,
        .rmdir      = op_rmdir,
        .symlink    = op_symlink,
        .rename     = op_rename,
        .link       = op_link,
        .open       = op_open,
        .read       = op_read,
        .write      = op_write,
        .write_buf  = op_write_buf,
        .forget     = op_forget,
        .forget_multi = op_forget_multi,
        .statfs     = op_statfs,
        .getxattr   = op_getxattr,
        .listxattr  = op_listxattr,
        .setxattr   = op_setxattr,
        .removexattr = op_removexattr,
        .flock      = op_flock,
        .fallocate  = op_fallocate,
        .lseek      = op_lseek,
        .fsyncdir   = op_fsyncdir,
        .flush      = op_flush,
        .release    = op_release,
        .fsync      = op_fsync,
        .opendir    = op_opendir,
        .readdir    = op_readdir,
        .releasedir = op_releasedir,
        .create     = op_create,
        .poll       = op_poll,
};
