/* files.c: <box>/files/, the sandbox's own filesystem, passed through.
 *
 * The root is /proc/<init>/root: the sandbox's / in its own mount
 * namespace, so /workspace, /tmp and the read-only system parts are
 * exactly what its processes see, and read-only parts answer EROFS by
 * themselves.  Like libfuse's passthrough_ll, every inode holds an O_PATH
 * fd, and every lookup is one name relative to its parent's fd with
 * O_NOFOLLOW: the kernel walks paths component by component and handles
 * "..", so no name and no symlink planted inside can make us open
 * anything outside the sandbox's tree (this is RESOLVE_IN_ROOT done one
 * step at a time, and it holds when links are swapped mid-walk).
 *
 * The one way out would be the caller's own kernel following a symlink
 * we return: readlink therefore rewrites targets that are absolute, or
 * hold a "..", to MNT/<box>/files/<target resolved lexically>, so no link
 * we return has a way up and every one resolves inside this sandbox's
 * files/.  Relative links of plain names are returned as they are.  /proc, /dev and /sys are not shown: through them a
 * host user's write could reach kernel or device state.
 *
 * Ownership: what is created through files/ is chowned to the sandbox's
 * root (host uid uidbase), so code inside can change it.  stat shows
 * uids of the sandbox's range as the ids inside (uidbase -> 0 -> the
 * mount's owner), and host ids as they are.
 *
 * Cache: entries and attributes time out at once and no page cache is
 * kept across opens, so what a process inside writes is seen at once.
 *
 * Watching: each directory looked up here gets an inotify watch on the
 * backing directory; a change made inside is replayed on our mount by the
 * notifier (notify.c), so inotifywait on files/ sees it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/fsuid.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "sbxfs.h"
#include "sbx/state.h"

#define FILES_BASE   (1ULL << 40)    /* inode numbers above the synthetic ones */
#define UID_RANGE    65536u

struct finode {
        fuse_ino_t ino;
        int fd;                 /* O_PATH */
        dev_t dev;
        ino_t hino;
        mode_t type;
        uint64_t nlookup;
        char *box;
        char *path;             /* below files/, "" for the root (for events) */
        uid_t uidbase;
        int wd;                 /* backing inotify watch (directories), or -1 */
        bool is_root;
};

struct fdir {
        DIR *dp;
        off_t offset;
        struct dirent *entry;
        bool root;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static GPtrArray *table;                /* ino - FILES_BASE -> finode (or NULL) */
static GHashTable *by_key;              /* "box:dev:ino" -> finode */
static GHashTable *by_wd;               /* wd -> finode (directories) */
static int ino_fd = -1;
static GHashTable *echoes;              /* "box/files/path" -> expiry (mono µs) */

#define ECHO_US 1000000                 /* how long a change of ours is ours */

/* A change made through files/ shows up again on the backing directory;
 * the VFS has already told watchers of this mount, so the echo is not
 * replayed (one CREATE per create, not two). */
static void echo_note(const char *box, const char *path)
{
        char *key = g_strdup_printf("%s/files/%s", box, path);
        pthread_mutex_lock(&lock);
        g_hash_table_replace(echoes, key, (gpointer)(intptr_t)(g_get_monotonic_time() + ECHO_US));
        pthread_mutex_unlock(&lock);
}

static void echo_note_child(const struct finode *p, const char *name)
{
        char *cp = *p->path ? g_strdup_printf("%s/%s", p->path, name) : g_strdup(name);
        echo_note(p->box, cp);
        g_free(cp);
}

/* Called with lock held. */
static bool echo_is_ours(const char *key)
{
        gpointer v;
        gint64 now = g_get_monotonic_time();

        if (g_hash_table_size(echoes) > 4096) {         /* prune */
                GHashTableIter it;
                gpointer k;
                g_hash_table_iter_init(&it, echoes);
                while (g_hash_table_iter_next(&it, &k, &v))
                        if ((gint64)(intptr_t)v < now)
                                g_hash_table_iter_remove(&it);
        }
        return g_hash_table_lookup_extended(echoes, key, NULL, &v) && (gint64)(intptr_t)v >= now;
}

bool files_is(fuse_ino_t ino)
{
        return ino >= FILES_BASE;
}

static struct finode *fget(fuse_ino_t ino)
{
        struct finode *f = NULL;

        pthread_mutex_lock(&lock);
        if (ino >= FILES_BASE && ino - FILES_BASE < table->len)
                f = g_ptr_array_index(table, ino - FILES_BASE);
        pthread_mutex_unlock(&lock);
        return f;
}

static char *key_of(const char *box, dev_t dev, ino_t ino)
{
        return g_strdup_printf("%s:%lu:%lu", box, (unsigned long)dev, (unsigned long)ino);
}

static const char *const hidden[] = { "proc", "dev", "sys" };

static bool is_hidden(const struct finode *parent, const char *name)
{
        if (!parent->is_root)
                return false;
        for (size_t i = 0; i < G_N_ELEMENTS(hidden); i++)
                if (strcmp(name, hidden[i]) == 0)
                        return true;
        return false;
}

static void procpath(char *buf, size_t size, int fd)
{
        snprintf(buf, size, "/proc/self/fd/%d", fd);
}

/* ---- ids ------------------------------------------------------------- */

static void map_ids(const struct finode *f, struct stat *st)
{
        if (st->st_uid >= f->uidbase && st->st_uid < f->uidbase + UID_RANGE) {
                st->st_uid -= f->uidbase;
                if (st->st_uid == 0)
                        st->st_uid = fs.uid;
        }
        if (st->st_gid >= f->uidbase && st->st_gid < f->uidbase + UID_RANGE) {
                st->st_gid -= f->uidbase;
                if (st->st_gid == 0)
                        st->st_gid = fs.gid;
        }
}

static uid_t unmap_id(const struct finode *f, uid_t shown, uid_t owner)
{
        if (shown == owner)
                return f->uidbase;
        return shown < UID_RANGE ? f->uidbase + shown : shown;
}

/* New files are made with the sandbox root's fs ids: they belong to it
 * (so code inside can change them), and a tmpfs mounted inside the
 * sandbox's user namespace refuses owners it cannot map (EOVERFLOW), such
 * as host root.  fsuid is per thread: this worker only, for one call. */
static void as_sandbox(const struct finode *p, bool on)
{
        setfsgid(on ? p->uidbase : fs.gid);
        setfsuid(on ? p->uidbase : fs.uid);
}

static void own(const struct finode *parent, const char *name)
{
        /* Failure leaves the file host-owned but still usable from here;
         * code inside would see it as nobody's. */
        struct stat st;
        if (fstatat(parent->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_uid == parent->uidbase)
                return;
        if (fchownat(parent->fd, name, parent->uidbase, parent->uidbase, AT_SYMLINK_NOFOLLOW) < 0)
                box_error(parent->box, "files", errno, "chown of a new file failed");
}

/* ---- inodes ---------------------------------------------------------- */

static void watch_dir(struct finode *f);

/* The finode for fd (taken over), or an existing one for the same file. */
static struct finode *finode_for(const char *box, uid_t uidbase, int fd, const struct stat *st,
                                 const char *path, bool is_root)
{
        char *key = key_of(box, st->st_dev, st->st_ino);
        struct finode *f;

        pthread_mutex_lock(&lock);
        f = g_hash_table_lookup(by_key, key);
        if (f && !is_root) {
                f->nlookup++;
                pthread_mutex_unlock(&lock);
                close(fd);
                g_free(key);
                return f;
        }
        if (f)  /* a new root for the same sandbox: the old one stays until forgotten */
                g_hash_table_remove(by_key, key);
        f = g_new0(struct finode, 1);
        f->fd = fd;
        f->dev = st->st_dev;
        f->hino = st->st_ino;
        f->type = st->st_mode & S_IFMT;
        f->nlookup = 1;
        f->box = g_strdup(box);
        f->path = g_strdup(path);
        f->uidbase = uidbase;
        f->wd = -1;
        f->is_root = is_root;
        g_ptr_array_add(table, f);
        f->ino = FILES_BASE + table->len - 1;
        g_hash_table_insert(by_key, key, f);
        pthread_mutex_unlock(&lock);
        if (S_ISDIR(st->st_mode))
                watch_dir(f);
        return f;
}

static void forget_one(fuse_ino_t ino, uint64_t n)
{
        struct finode *f;

        pthread_mutex_lock(&lock);
        f = ino - FILES_BASE < table->len ? g_ptr_array_index(table, ino - FILES_BASE) : NULL;
        if (f && (f->nlookup -= n > f->nlookup ? f->nlookup : n) == 0) {
                char *key = key_of(f->box, f->dev, f->hino);
                if (g_hash_table_lookup(by_key, key) == f)
                        g_hash_table_remove(by_key, key);
                g_free(key);
                if (f->wd >= 0) {
                        g_hash_table_remove(by_wd, GINT_TO_POINTER(f->wd));
                        inotify_rm_watch(ino_fd, f->wd);
                }
                g_ptr_array_index(table, ino - FILES_BASE) = NULL;
                close(f->fd);
                g_free(f->box);
                g_free(f->path);
                g_free(f);
        }
        pthread_mutex_unlock(&lock);
}

static int fill_stat(const struct finode *f, struct stat *st)
{
        if (fstatat(f->fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        /* The file's own inode number (mixed with its device, since files/
         * spans several file systems), not our node id: node ids change
         * when the kernel forgets an inode, and cp, tar and vim compare
         * st_ino across calls. */
        st->st_ino = f->hino ^ ((uint64_t)(f->dev & 0xffffff) << 40);
        map_ids(f, st);
        return 0;
}

static void reply_entry_of(fuse_req_t req, struct finode *f)
{
        struct fuse_entry_param e = { .ino = f->ino };

        int r = fill_stat(f, &e.attr);
        if (r < 0) {
                forget_one(f->ino, 1);
                return (void)fuse_reply_err(req, -r);
        }
        fuse_reply_entry(req, &e);
}

/* The sandbox's uid base, from its state. */
static uid_t read_uidbase(struct box *b)
{
        char buf[32] = "";
        int fd = openat(b->dirfd, SBX_F_UIDBASE, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;

        if (fd >= 0)
                close(fd);
        return n > 0 ? (uid_t)strtoul(buf, NULL, 10) : 0;
}

void files_lookup_root(fuse_req_t req, struct box *b)
{
        char buf[32] = "", path[64];
        int fd = openat(b->dirfd, SBX_F_INITPID, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        struct stat st;

        if (fd >= 0)
                close(fd);
        long pid = n > 0 ? strtol(buf, NULL, 10) : 0;
        if (pid <= 1)
                return (void)fuse_reply_err(req, ENOENT);
        /* The pid is the sandbox's init while the supervisor that wrote
         * init.pid lives; the pidfd check after the open closes the window
         * in which it could die and the pid be reused. */
        int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
        if (pidfd < 0)
                return (void)fuse_reply_err(req, ENOENT);
        snprintf(path, sizeof path, "/proc/%ld/root", pid);
        fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        bool alive = syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0;
        close(pidfd);
        if (fd < 0 || !alive || fstat(fd, &st) < 0) {
                if (fd >= 0)
                        close(fd);
                return (void)fuse_reply_err(req, ENOENT);
        }
        struct finode *f = finode_for(b->name, read_uidbase(b), fd, &st, "", true);
        reply_entry_of(req, f);
}

/* ---- lookup and attributes ---------------------------------------------- */

static char *child_path(const struct finode *p, const char *name)
{
        return *p->path ? g_strdup_printf("%s/%s", p->path, name) : g_strdup(name);
}

/* Look name up in p for real; false (nothing replied) when it is absent
 * and absent_ok. */
static bool lookup_in(fuse_req_t req, struct finode *p, const char *name, bool absent_ok)
{
        struct stat st;
        int fd = openat(p->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

        if (fd < 0 || fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
                int e = errno;
                if (fd >= 0)
                        close(fd);
                if (absent_ok && e == ENOENT)
                        return false;
                fuse_reply_err(req, e);
                return true;
        }
        char *cp = child_path(p, name);
        struct finode *f = finode_for(p->box, p->uidbase, fd, &st, cp, false);
        g_free(cp);
        reply_entry_of(req, f);
        return true;
}

/* Entries the notifier is told are there although they are gone, so that
 * its unlink/rmdir raises IN_DELETE.  Outside the table: forgets of them
 * are ignored. */
#define GHOST_FILE (FILES_BASE - 1)
#define GHOST_DIR  (FILES_BASE - 2)

void fx_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
        struct finode *p = fget(parent);

        if (!p)
                return (void)fuse_reply_err(req, ENOENT);
        if (is_hidden(p, name))
                return (void)fuse_reply_err(req, ENOENT);
        char *cp = child_path(p, name);
        char *mpath = g_strdup_printf("%s/files/%s", p->box, cp);
        int pretend = notify_pretend(req, mpath);
        g_free(mpath);
        g_free(cp);
        if (pretend == 1)
                return (void)fuse_reply_err(req, ENOENT);
        if (pretend == 0) {
                if (lookup_in(req, p, name, true))
                        return;
                bool dir = notify_pretend_dir();
                struct fuse_entry_param e = { .ino = dir ? GHOST_DIR : GHOST_FILE };
                e.attr.st_ino = e.ino;
                e.attr.st_mode = dir ? S_IFDIR | 0755 : S_IFREG | 0644;
                e.attr.st_nlink = 1;
                return (void)fuse_reply_entry(req, &e);
        }
        lookup_in(req, p, name, false);
}

void fx_forget(fuse_ino_t ino, uint64_t nlookup)
{
        forget_one(ino, nlookup);
}

void fx_getattr(fuse_req_t req, fuse_ino_t ino)
{
        struct finode *f = fget(ino);
        struct stat st;
        int r;

        if (!f)
                return (void)fuse_reply_err(req, ENOENT);
        if ((r = fill_stat(f, &st)) < 0)
                return (void)fuse_reply_err(req, -r);
        fuse_reply_attr(req, &st, 0);
}

void fx_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
                struct fuse_file_info *fi)
{
        struct finode *f = fget(ino);
        char pp[64];
        int r = 0;

        if (!f)
                return (void)fuse_reply_err(req, ENOENT);
        if (notify_is_self(req))
                valid = 0;
        bool lnk = S_ISLNK(f->type);
        int ofd = fi ? (int)fi->fh : -1;
        procpath(pp, sizeof pp, f->fd);
        /* A symlink's O_PATH fd must never be used through its /proc path:
         * that would follow the link on the host. */
        if ((valid & FUSE_SET_ATTR_MODE) && !r) {
                if (lnk)
                        r = -EOPNOTSUPP;
                else if ((ofd >= 0 ? fchmod(ofd, attr->st_mode) : chmod(pp, attr->st_mode)) < 0)
                        r = -errno;
        }
        if ((valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) && !r) {
                uid_t u = valid & FUSE_SET_ATTR_UID ? unmap_id(f, attr->st_uid, fs.uid) : (uid_t)-1;
                gid_t g = valid & FUSE_SET_ATTR_GID ? unmap_id(f, attr->st_gid, fs.gid) : (gid_t)-1;
                if (fchownat(f->fd, "", u, g, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
                        r = -errno;
        }
        if ((valid & FUSE_SET_ATTR_SIZE) && !r) {
                if (lnk)
                        r = -EINVAL;
                else if ((ofd >= 0 ? ftruncate(ofd, attr->st_size) : truncate(pp, attr->st_size)) < 0)
                        r = -errno;
        }
        if ((valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) && !r) {
                struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };
                if (valid & FUSE_SET_ATTR_ATIME_NOW)
                        ts[0].tv_nsec = UTIME_NOW;
                else if (valid & FUSE_SET_ATTR_ATIME)
                        ts[0] = attr->st_atim;
                if (valid & FUSE_SET_ATTR_MTIME_NOW)
                        ts[1].tv_nsec = UTIME_NOW;
                else if (valid & FUSE_SET_ATTR_MTIME)
                        ts[1] = attr->st_mtim;
                if (utimensat(f->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
                        r = -errno;
        }
        if (r < 0)
                return (void)fuse_reply_err(req, -r);
        if (valid)
                echo_note(f->box, f->path);
        fx_getattr(req, ino);
}

/* Lexically resolve target (a link in directory dir, both below files/)
 * to a path below files/ with no "." or ".."; climbing stops at the root. */
static char *resolve_inside(const char *dir, const char *target)
{
        GPtrArray *parts = g_ptr_array_new_with_free_func(g_free);
        gchar **d = g_strsplit(target[0] == '/' ? "" : dir, "/", -1);
        gchar **t = g_strsplit(target, "/", -1);

        for (int pass = 0; pass < 2; pass++)
                for (gchar **c = pass ? t : d; *c; c++) {
                        if (!**c || strcmp(*c, ".") == 0)
                                continue;
                        if (strcmp(*c, "..") == 0) {
                                if (parts->len)
                                        g_ptr_array_remove_index(parts, parts->len - 1);
                                continue;
                        }
                        g_ptr_array_add(parts, g_strdup(*c));
                }
        g_ptr_array_add(parts, NULL);
        char *r = g_strjoinv("/", (gchar **)parts->pdata);
        g_ptr_array_free(parts, TRUE);
        g_strfreev(d);
        g_strfreev(t);
        return r;
}

/* Does target have a ".." component? */
static bool has_dotdot(const char *target)
{
        gchar **t = g_strsplit(target, "/", -1);
        bool r = false;
        for (gchar **c = t; *c && !r; c++)
                r = strcmp(*c, "..") == 0;
        g_strfreev(t);
        return r;
}

void fx_readlink(fuse_req_t req, fuse_ino_t ino)
{
        struct finode *f = fget(ino);
        char buf[PATH_MAX + 1];
        ssize_t n;

        if (!f)
                return (void)fuse_reply_err(req, ENOENT);
        n = readlinkat(f->fd, "", buf, sizeof buf - 1);
        if (n < 0)
                return (void)fuse_reply_err(req, errno);
        buf[n] = '\0';
        char *dir = g_path_get_dirname(f->path);
        if (strcmp(dir, ".") == 0)
                dir[0] = '\0';
        /* Only links made of plain names descend without any way up; the
         * rest are resolved here, lexically, to a path below files/ with
         * no "..": the caller's kernel would otherwise walk ".." from
         * wherever an inner link landed, up past files/ to the host (a
         * link through a link, or a directory moved while held). */
        if (buf[0] != '/' && !has_dotdot(buf)) {
                g_free(dir);
                return (void)fuse_reply_readlink(req, buf);
        }
        char *in = resolve_inside(dir, buf);
        char *out = g_strdup_printf("%s/%s/files/%s", fs.mountpoint, f->box, in);
        fuse_reply_readlink(req, out);
        g_free(out);
        g_free(in);
        g_free(dir);
}

/* ---- making and removing --------------------------------------------- */

static void made(fuse_req_t req, struct finode *p, const char *name)
{
        own(p, name);
        fx_lookup(req, p->ino, name);
}

static bool self_entry(fuse_req_t req, struct finode *p, const char *name)
{
        /* The notifier replays a creation: answer with what is there. */
        if (!notify_is_self(req))
                return false;
        lookup_in(req, p, name, false);
        return true;
}

/* Make name in p: a node (S_IFMT in mode), a directory (S_IFDIR) or a
 * symlink (link set).  First with the sandbox root's fs ids; where those
 * may not (a directory only the host may write), as ourselves, and
 * made() then chowns it.  The echo is noted before: the watcher may be
 * quicker than our return. */
static void make_node(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      dev_t rdev, const char *link)
{
        struct finode *p = fget(parent);
        int r = -1, err = 0;

        if (!p)
                return (void)fuse_reply_err(req, ENOENT);
        if (self_entry(req, p, name))
                return;
        if (is_hidden(p, name))
                return (void)fuse_reply_err(req, EPERM);
        echo_note_child(p, name);
        for (int as_box = 1; as_box >= 0; as_box--) {
                as_sandbox(p, as_box);
                r = link ? symlinkat(link, p->fd, name) :
                    S_ISDIR(mode) ? mkdirat(p->fd, name, mode & 07777) :
                    mknodat(p->fd, name, mode, rdev);
                err = errno;
                as_sandbox(p, false);
                if (r == 0 || (err != EACCES && err != EPERM))
                        break;
        }
        if (r < 0)
                return (void)fuse_reply_err(req, err);
        made(req, p, name);
}

void fx_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
        make_node(req, parent, name, mode, rdev, NULL);
}

void fx_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
        make_node(req, parent, name, S_IFDIR | (mode & 07777), 0, NULL);
}

void fx_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
        make_node(req, parent, name, 0, 0, link);
}

void fx_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
        struct finode *f = fget(ino), *p = fget(newparent);

        if (!f || !p)
                return (void)fuse_reply_err(req, ENOENT);
        if (strcmp(f->box, p->box) != 0)
                return (void)fuse_reply_err(req, EXDEV);
        echo_note_child(p, newname);
        if (linkat(f->fd, "", p->fd, newname, AT_EMPTY_PATH) < 0)
                return (void)fuse_reply_err(req, errno);
        fx_lookup(req, newparent, newname);
}

void fx_unlink(fuse_req_t req, fuse_ino_t parent, const char *name, bool dir)
{
        struct finode *p = fget(parent);

        if (!p)
                return (void)fuse_reply_err(req, ENOENT);
        if (notify_is_self(req))
                return (void)fuse_reply_err(req, 0);
        if (is_hidden(p, name))
                return (void)fuse_reply_err(req, EPERM);
        echo_note_child(p, name);
        if (unlinkat(p->fd, name, dir ? AT_REMOVEDIR : 0) < 0)
                return (void)fuse_reply_err(req, errno);
        fuse_reply_err(req, 0);
}

void fx_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
               const char *newname, unsigned int flags)
{
        struct finode *p = fget(parent), *np = fget(newparent);

        if (!p || !np)
                return (void)fuse_reply_err(req, ENOENT);
        if (strcmp(p->box, np->box) != 0)
                return (void)fuse_reply_err(req, EXDEV);
        if (is_hidden(p, name) || is_hidden(np, newname))
                return (void)fuse_reply_err(req, EPERM);
        echo_note_child(p, name);
        echo_note_child(np, newname);
        if (renameat2(p->fd, name, np->fd, newname, flags) < 0)
                return (void)fuse_reply_err(req, errno);
        fuse_reply_err(req, 0);
}

/* ---- open files --------------------------------------------------------- */

static int reopen(struct finode *f, int flags)
{
        char pp[64];

        /* Never through a symlink's /proc path (see fx_setattr). */
        if (S_ISLNK(f->type))
                return -ELOOP;
        procpath(pp, sizeof pp, f->fd);
        int fd = open(pp, (flags & ~(O_NOFOLLOW | O_CREAT | O_EXCL)) | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

void fx_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
        struct finode *f = fget(ino);

        if (!f)
                return (void)fuse_reply_err(req, ENOENT);
        if (notify_is_self(req)) {
                fi->fh = (uint64_t)-1;
                return (void)fuse_reply_open(req, fi);
        }
        int fd = reopen(f, fi->flags);
        if (fd < 0)
                return (void)fuse_reply_err(req, -fd);
        fi->fh = (uint64_t)fd;
        fi->keep_cache = 0;     /* a process inside may have changed it */
        fuse_reply_open(req, fi);
}

void fx_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
               struct fuse_file_info *fi)
{
        struct finode *p = fget(parent);
        struct fuse_entry_param e = { 0 };
        struct stat st;

        if (!p)
                return (void)fuse_reply_err(req, ENOENT);
        if (is_hidden(p, name))
                return (void)fuse_reply_err(req, EPERM);
        int flags = fi->flags | O_CREAT | O_NOFOLLOW | O_CLOEXEC;
        echo_note_child(p, name);
        as_sandbox(p, true);
        int fd = openat(p->fd, name, flags, mode);
        as_sandbox(p, false);
        if (fd < 0 && (errno == EACCES || errno == EPERM)) {
                fd = openat(p->fd, name, flags, mode);
                if (fd >= 0 && fchown(fd, p->uidbase, p->uidbase) < 0)
                        box_error(p->box, "files", errno, "chown of a new file failed");
        }
        if (fd < 0)
                return (void)fuse_reply_err(req, errno);
        int pfd = openat(p->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (pfd < 0 || fstatat(pfd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
                int err = errno;
                close(fd);
                if (pfd >= 0)
                        close(pfd);
                return (void)fuse_reply_err(req, err);
        }
        char *cp = child_path(p, name);
        echo_note(p->box, cp);
        struct finode *f = finode_for(p->box, p->uidbase, pfd, &st, cp, false);
        g_free(cp);
        e.ino = f->ino;
        fill_stat(f, &e.attr);
        fi->fh = (uint64_t)fd;
        fuse_reply_create(req, &e, fi);
}

void fx_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi)
{
        struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);

        if ((int)fi->fh < 0)
                return (void)fuse_reply_buf(req, NULL, 0);
        bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
        bv.buf[0].fd = (int)fi->fh;
        bv.buf[0].pos = off;
        fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
}

void fx_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in, off_t off,
                  struct fuse_file_info *fi)
{
        struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
        struct finode *f = fget(ino);

        if (f)
                echo_note(f->box, f->path);

        if ((int)fi->fh < 0)
                return (void)fuse_reply_write(req, fuse_buf_size(in));
        out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
        out.buf[0].fd = (int)fi->fh;
        out.buf[0].pos = off;
        ssize_t n = fuse_buf_copy(&out, in, 0);
        if (n < 0)
                return (void)fuse_reply_err(req, (int)-n);
        fuse_reply_write(req, (size_t)n);
}

void fx_flush(fuse_req_t req, struct fuse_file_info *fi)
{
        int r = 0;

        /* close() of a dup drops this owner's POSIX locks, as a local
         * close would. */
        if ((int)fi->fh >= 0) {
                int d = dup((int)fi->fh);
                r = d < 0 || close(d) < 0 ? errno : 0;
        }
        fuse_reply_err(req, r);
}

void fx_release(fuse_req_t req, struct fuse_file_info *fi)
{
        if ((int)fi->fh >= 0)
                close((int)fi->fh);
        fuse_reply_err(req, 0);
}

void fx_fsync(fuse_req_t req, int datasync, struct fuse_file_info *fi)
{
        int fd = (int)fi->fh, r = 0;

        if (fd >= 0)
                r = (datasync ? fdatasync(fd) : fsync(fd)) < 0 ? errno : 0;
        fuse_reply_err(req, r);
}

void fx_flock(fuse_req_t req, struct fuse_file_info *fi, int op)
{
        int r = flock((int)fi->fh, op) < 0 ? errno : 0;
        fuse_reply_err(req, r);
}

void fx_fallocate(fuse_req_t req, int mode, off_t off, off_t len, struct fuse_file_info *fi)
{
        int r = fallocate((int)fi->fh, mode, off, len) < 0 ? errno : 0;
        fuse_reply_err(req, r);
}

void fx_lseek(fuse_req_t req, off_t off, int whence, struct fuse_file_info *fi)
{
        off_t r = lseek((int)fi->fh, off, whence);
        if (r < 0)
                return (void)fuse_reply_err(req, errno);
        fuse_reply_lseek(req, r);
}

/* ---- directories ------------------------------------------------------ */

void fx_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
        struct finode *f = fget(ino);

        if (!f)
                return (void)fuse_reply_err(req, ENOENT);
        int fd = openat(f->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return (void)fuse_reply_err(req, errno);
        struct fdir *d = g_new0(struct fdir, 1);
        d->dp = fdopendir(fd);
        d->root = f->is_root;
        if (!d->dp) {
                int e = errno;
                close(fd);
                g_free(d);
                return (void)fuse_reply_err(req, e);
        }
        fi->fh = (uint64_t)(uintptr_t)d;
        fuse_reply_open(req, fi);
}

void fx_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
        struct fdir *d = (struct fdir *)(uintptr_t)fi->fh;
        struct finode *f = fget(ino);
        char *buf = g_malloc(size), *p = buf;
        size_t rem = size;

        if (off != d->offset) {
                seekdir(d->dp, off);
                d->entry = NULL;
                d->offset = off;
        }
        for (;;) {
                if (!d->entry) {
                        errno = 0;
                        d->entry = readdir(d->dp);
                        if (!d->entry)
                                break;
                }
                struct stat st = { .st_ino = d->entry->d_ino, .st_mode = (mode_t)d->entry->d_type << 12 };
                off_t next = d->entry->d_off;
                if (!(f && is_hidden(f, d->entry->d_name))) {
                        size_t n = fuse_add_direntry(req, p, rem, d->entry->d_name, &st, next);
                        if (n > rem)
                                break;
                        p += n;
                        rem -= n;
                }
                d->entry = NULL;
                d->offset = next;
        }
        fuse_reply_buf(req, buf, size - rem);
        g_free(buf);
}

void fx_releasedir(fuse_req_t req, struct fuse_file_info *fi)
{
        struct fdir *d = (struct fdir *)(uintptr_t)fi->fh;

        closedir(d->dp);
        g_free(d);
        fuse_reply_err(req, 0);
}

void fx_fsyncdir(fuse_req_t req, struct fuse_file_info *fi)
{
        struct fdir *d = (struct fdir *)(uintptr_t)fi->fh;
        int r = fsync(dirfd(d->dp)) < 0 ? errno : 0;
        fuse_reply_err(req, r);
}

void fx_statfs(fuse_req_t req, fuse_ino_t ino)
{
        struct finode *f = fget(ino);
        struct statvfs sv;

        if (!f)
                return (void)fuse_reply_err(req, ENOENT);
        if (fstatvfs(f->fd, &sv) < 0)
                return (void)fuse_reply_err(req, errno);
        fuse_reply_statfs(req, &sv);
}

/* ---- xattrs: through the /proc path, never for symlinks ------------------ */

/* The /proc path of ino's fd for an xattr call, or 0 with the error
 * already answered (never for symlinks, see fx_setattr). */
static bool xattr_path(fuse_req_t req, fuse_ino_t ino, char *pp, size_t size)
{
        struct finode *f = fget(ino);

        if (!f || S_ISLNK(f->type)) {
                fuse_reply_err(req, f ? ENOTSUP : ENOENT);
                return false;
        }
        procpath(pp, size, f->fd);
        return true;
}

/* getxattr (name) or listxattr (name NULL): size 0 asks for the length. */
static void xattr_get(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
        char pp[64];

        if (!xattr_path(req, ino, pp, sizeof pp))
                return;
        char *buf = size ? g_malloc(size) : NULL;
        ssize_t n = name ? getxattr(pp, name, buf, size) : listxattr(pp, buf, size);
        if (n < 0)
                fuse_reply_err(req, errno);
        else if (size == 0)
                fuse_reply_xattr(req, (size_t)n);
        else
                fuse_reply_buf(req, buf, (size_t)n);
        g_free(buf);
}

void fx_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
        xattr_get(req, ino, name, size);
}

void fx_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
        xattr_get(req, ino, NULL, size);
}

void fx_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
                 size_t size, int flags)
{
        char pp[64];

        if (xattr_path(req, ino, pp, sizeof pp))
                fuse_reply_err(req, setxattr(pp, name, value, size, flags) < 0 ? errno : 0);
}

void fx_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
        char pp[64];

        if (xattr_path(req, ino, pp, sizeof pp))
                fuse_reply_err(req, removexattr(pp, name) < 0 ? errno : 0);
}

/* ---- watching changes made inside ------------------------------------ */

static void watch_dir(struct finode *f)
{
        char pp[64];

        if (ino_fd < 0)
                return;
        procpath(pp, sizeof pp, f->fd);
        int wd = inotify_add_watch(ino_fd, pp, IN_CREATE | IN_CLOSE_WRITE | IN_MODIFY |
                                   IN_ATTRIB | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                   IN_ONLYDIR | IN_EXCL_UNLINK);
        if (wd < 0)
                return;
        pthread_mutex_lock(&lock);
        /* One directory may be reached as several finodes (a new root):
         * the newest wins. */
        g_hash_table_replace(by_wd, GINT_TO_POINTER(wd), f);
        f->wd = wd;
        pthread_mutex_unlock(&lock);
}

static void on_files_event(const struct inotify_event *ev)
{
        if (!ev->len)
                return;
        pthread_mutex_lock(&lock);
        struct finode *f = g_hash_table_lookup(by_wd, GINT_TO_POINTER(ev->wd));
        char *path = f ? g_strdup_printf("%s/files/%s%s%s", f->box, f->path,
                                         *f->path ? "/" : "", ev->name) : NULL;
        bool root = f && f->is_root;
        if (path && echo_is_ours(path)) {
                g_free(path);
                path = NULL;
        }
        pthread_mutex_unlock(&lock);
        if (!path)
                return;
        bool hide = false;
        for (size_t i = 0; root && i < G_N_ELEMENTS(hidden); i++)
                hide |= strcmp(ev->name, hidden[i]) == 0;
        if (!hide) {
                if (ev->mask & (IN_CREATE | IN_MOVED_TO))
                        notify_touch(ev->mask & IN_ISDIR ? T_MKDIR : T_MKNOD, path);
                else if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
                        notify_touch(ev->mask & IN_ISDIR ? T_RMDIR : T_UNLINK, path);
                else if (ev->mask & IN_CLOSE_WRITE)
                        notify_touch(T_CLOSE_WRITE, path);
                else
                        notify_touch(T_MODIFY, path);
        }
        g_free(path);
}

int files_init(void)
{
        table = g_ptr_array_new();
        by_key = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        by_wd = g_hash_table_new(NULL, NULL);
        echoes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        ino_fd = inotify_init1(IN_CLOEXEC);
        if (ino_fd < 0)
                return -errno;
        return inotify_reader_start(ino_fd, on_files_event);
}
