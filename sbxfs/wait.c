/* wait.c: blocking reads of stdout, stderr, events and wait.
 *
 * A read at the end of a stream that is still being written is not
 * answered at once: the request is parked and answered when the
 * supervisor writes more (or ends the exec).  We learn of that through
 * inotify on the state directory, so an idle stream costs nothing.
 *
 * Lost wake-ups: a reader checks and parks under `lock`, and the inotify
 * thread re-tries the parked requests under the same lock after every
 * change, so a change either is seen by the check or wakes the park.
 * Lock order: lock -> fs.lock; `wlock` (the watch table) is a leaf.
 *
 * Ctrl-C: every parked request has an interrupt callback that answers it
 * with EINTR (without one even SIGKILL would wait for the data).
 * O_NONBLOCK: EAGAIN instead of parking.  poll: handles are kept and
 * notified the same way. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "sbxfs.h"
#include "sbx/state.h"
#include "sbx/util.h"

struct parked {
        fuse_req_t req;                 /* NULL for a poll waiter */
        struct fuse_pollhandle *ph;
        const struct node *nd;
        int fd;
        off_t off;
        size_t size;
        off_t *pos;                     /* the handle's read position */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static GList *parked;                   /* of struct parked* */

enum wtype { W_STATE, W_BOX, W_EXECS, W_EXEC };
struct watch {
        enum wtype type;
        char *box;
        unsigned exec;
};
static pthread_mutex_t wlock = PTHREAD_MUTEX_INITIALIZER;
static GHashTable *watches;             /* wd -> struct watch* */
static GHashTable *exec_wds;            /* "box/N" -> wd, running execs */
static int ino_fd = -1;

/* ---- answering ---------------------------------------------------------- */

enum probe { P_NOTHING, P_DATA, P_EOF, P_ERROR };

static bool box_gone(const char *name)
{
        struct stat st;
        return fstatat(fs.state_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0;
}

/* What a read at off would get now.  For streams, "ended" is checked
 * before the size: the supervisor writes all output before the status, so
 * ended-then-no-more-data really is the end. */
static enum probe probe(const struct node *nd, int fd, off_t off, off_t *avail, int *err)
{
        struct box *b = NULL;
        bool ended = false;
        struct stat st;

        switch (nd->kind) {
        case K_EXEC_WAIT:
                b = box_find(nd->box);
                if (b && exec_running(b, nd->exec))
                        return P_NOTHING;
                return P_DATA;          /* rendered at answer time */
        case K_EXEC_STDOUT: case K_EXEC_STDERR:
                b = box_find(nd->box);
                ended = !b || !exec_running(b, nd->exec);
                break;
        case K_BOX_EVENTS:
                ended = box_gone(nd->box);
                break;
        default:        /* the root's events never end */
                break;
        }
        if (fstat(fd, &st) < 0) {
                *err = errno;
                return P_ERROR;
        }
        if (st.st_size > off) {
                *avail = st.st_size - off;
                return P_DATA;
        }
        return ended ? P_EOF : P_NOTHING;
}

/* Answer req now if there is anything to answer; false to park.  *pos
 * (when given) becomes the offset after what was answered, for poll. */
static bool answer(fuse_req_t req, const struct node *nd, int fd, off_t off, size_t size,
                   int flags, off_t *pos)
{
        off_t avail = 0;
        int err = 0;

        switch (probe(nd, fd, off, &avail, &err)) {
        case P_ERROR:
                fuse_reply_err(req, err);
                return true;
        case P_EOF:
                fuse_reply_buf(req, NULL, 0);
                return true;
        case P_DATA:
                if (nd->kind == K_EXEC_WAIT) {
                        GString *s = content_render(nd, &err);
                        if (!s) {
                                fuse_reply_err(req, err);
                        } else {
                                size_t from = (size_t)off < s->len ? (size_t)off : s->len;
                                size_t n = s->len - from < size ? s->len - from : size;
                                fuse_reply_buf(req, s->str + from, n);
                                g_string_free(s, TRUE);
                        }
                        return true;
                }
                size_t n = (size_t)avail < size ? (size_t)avail : size;
                struct fuse_bufvec bv = FUSE_BUFVEC_INIT(n);
                if (pos)
                        *pos = off + (off_t)n;
                bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
                bv.buf[0].fd = fd;
                bv.buf[0].pos = off;
                fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
                return true;
        case P_NOTHING:
                if (flags & O_NONBLOCK) {
                        fuse_reply_err(req, EAGAIN);
                        return true;
                }
                return false;
        }
        return false;
}

static void on_interrupt(fuse_req_t req, void *data)
{
        (void)data;
        pthread_mutex_lock(&lock);
        for (GList *l = parked; l; l = l->next) {
                struct parked *p = l->data;
                if (p->req == req) {
                        parked = g_list_delete_link(parked, l);
                        fuse_reply_err(req, EINTR);
                        g_free(p);
                        break;
                }
        }
        pthread_mutex_unlock(&lock);
}

/* Exec n of box needs a watch while it runs (added on demand, since a
 * reader may come before the inotify thread has seen the new exec). */
static void watch_exec(const char *box, unsigned n);

void wait_read(fuse_req_t req, const struct node *nd, int fd, off_t off, size_t size, int flags,
               off_t *pos)
{
        if (nd->kind == K_EXEC_STDOUT || nd->kind == K_EXEC_STDERR || nd->kind == K_EXEC_WAIT)
                watch_exec(nd->box, nd->exec);
        /* Registered before taking the lock: the callback may run at once
         * (and takes the lock itself). */
        fuse_req_interrupt_func(req, on_interrupt, NULL);
        pthread_mutex_lock(&lock);
        if (!answer(req, nd, fd, off, size, flags, pos)) {
                if (fuse_req_interrupted(req)) {
                        fuse_reply_err(req, EINTR);
                } else {
                        struct parked *p = g_new0(struct parked, 1);
                        /* pos stays valid: the file cannot be released
                         * while a read on it is in flight. */
                        *p = (struct parked){ .req = req, .nd = nd, .fd = fd, .off = off,
                                              .size = size, .pos = pos };
                        parked = g_list_prepend(parked, p);
                }
        }
        pthread_mutex_unlock(&lock);
}

void wait_poll(fuse_req_t req, const struct node *nd, int fd, off_t off, struct fuse_pollhandle *ph)
{
        off_t avail;
        int err = 0;
        unsigned revents = 0;

        if (nd->kind == K_EXEC_STDOUT || nd->kind == K_EXEC_STDERR || nd->kind == K_EXEC_WAIT)
                watch_exec(nd->box, nd->exec);
        pthread_mutex_lock(&lock);
        switch (probe(nd, fd, off, &avail, &err)) {
        case P_NOTHING:
                if (ph) {
                        struct parked *p = g_new0(struct parked, 1);
                        *p = (struct parked){ .ph = ph, .nd = nd, .fd = fd, .off = off };
                        parked = g_list_prepend(parked, p);
                        ph = NULL;
                }
                break;
        case P_ERROR:
                revents = POLLERR;
                break;
        default:
                revents = POLLIN | POLLRDNORM;
        }
        pthread_mutex_unlock(&lock);
        if (ph)
                fuse_pollhandle_destroy(ph);
        fuse_reply_poll(req, revents);
}

/* Retry everything parked on (box, exec); box NULL = the root's events. */
void wait_wake(const char *box, unsigned exec)
{
        pthread_mutex_lock(&lock);
        for (GList *l = parked, *next; l; l = next) {
                struct parked *p = l->data;
                next = l->next;
                if (g_strcmp0(p->nd->box, box) != 0 || (box && exec && p->nd->exec != exec))
                        continue;
                if (p->ph) {
                        off_t avail;
                        int err;
                        if (probe(p->nd, p->fd, p->off, &avail, &err) == P_NOTHING)
                                continue;
                        fuse_lowlevel_notify_poll(p->ph);
                        fuse_pollhandle_destroy(p->ph);
                } else if (!answer(p->req, p->nd, p->fd, p->off, p->size, 0, p->pos)) {
                        continue;
                }
                parked = g_list_delete_link(parked, l);
                g_free(p);
        }
        pthread_mutex_unlock(&lock);
}

/* ---- inotify on the state directory ----------------------------------- */

static int add_watch(int dirfd, const char *rel, uint32_t mask, enum wtype type,
                     const char *box, unsigned exec)
{
        char path[64];
        int wd;

        /* inotify wants a path; /proc/self/fd keeps it relative to a dirfd
         * we trust, so a renamed state dir is still watched right. */
        snprintf(path, sizeof path, "/proc/self/fd/%d/%s", dirfd, rel);
        wd = inotify_add_watch(ino_fd, path, mask | IN_ONLYDIR);
        if (wd < 0)
                return -errno;
        struct watch *w = g_new0(struct watch, 1);
        w->type = type;
        w->box = g_strdup(box);
        w->exec = exec;
        pthread_mutex_lock(&wlock);
        g_hash_table_replace(watches, GINT_TO_POINTER(wd), w);
        pthread_mutex_unlock(&wlock);
        return wd;
}

static void watch_free(gpointer p)
{
        struct watch *w = p;
        g_free(w->box);
        g_free(w);
}

/* b must be valid; takes no lock but wlock (box_find_locked calls it). */
static void watch_exec_in(struct box *b, unsigned n)
{
        char key[128], rel[32];
        bool have;

        snprintf(key, sizeof key, "%s/%u", b->name, n);
        pthread_mutex_lock(&wlock);
        have = g_hash_table_contains(exec_wds, key);
        pthread_mutex_unlock(&wlock);
        if (have)
                return;
        snprintf(rel, sizeof rel, "%s/%u", SBX_D_EXECS, n);
        int wd = add_watch(b->dirfd, rel, IN_MODIFY | IN_MOVED_TO, W_EXEC, b->name, n);
        if (wd >= 0) {
                pthread_mutex_lock(&wlock);
                g_hash_table_replace(exec_wds, g_strdup(key), GINT_TO_POINTER(wd));
                pthread_mutex_unlock(&wlock);
        }
}

static void watch_exec(const char *box, unsigned n)
{
        struct box *b = box_find(box);

        if (b)
                watch_exec_in(b, n);
}

static void unwatch_exec(const char *box, unsigned n)
{
        char key[128];
        gpointer wd;

        snprintf(key, sizeof key, "%s/%u", box, n);
        pthread_mutex_lock(&wlock);
        if (g_hash_table_lookup_extended(exec_wds, key, NULL, &wd)) {
                inotify_rm_watch(ino_fd, GPOINTER_TO_INT(wd));
                g_hash_table_remove(exec_wds, key);
        }
        pthread_mutex_unlock(&wlock);
}

void wait_watch_box(struct box *b)
{
        add_watch(b->dirfd, ".", IN_MODIFY | IN_MOVED_TO | IN_DELETE_SELF, W_BOX, b->name, 0);
        if (b->execs_fd >= 0) {
                add_watch(b->dirfd, SBX_D_EXECS, IN_MOVED_TO, W_EXECS, b->name, 0);
                /* Running execs (after a restart): the newest ones. */
                for (unsigned n = b->last; n >= 1 && b->last - n < 64; n--)
                        if (exec_running(b, n))
                                watch_exec_in(b, n);
        }
}

static void on_event(const struct inotify_event *ev)
{
        struct watch w = { 0 };
        char path[512];

        pthread_mutex_lock(&wlock);
        struct watch *wp = g_hash_table_lookup(watches, GINT_TO_POINTER(ev->wd));
        if (wp) {
                w = *wp;
                w.box = g_strdup(wp->box);
        }
        if (ev->mask & IN_IGNORED)
                g_hash_table_remove(watches, GINT_TO_POINTER(ev->wd));
        pthread_mutex_unlock(&wlock);
        if (!wp)
                return;
        const char *name = ev->len ? ev->name : "";

        switch (w.type) {
        case W_STATE:
                if (strcmp(name, SBX_F_EVENTS) == 0) {
                        wait_wake(NULL, 0);
                        notify_touch(T_MODIFY, SBX_F_EVENTS);
                }
                break;
        case W_BOX:
                if (ev->mask & (IN_DELETE_SELF | IN_IGNORED)) {
                        wait_wake(w.box, 0);
                        break;
                }
                if (strcmp(name, SBX_F_EVENTS) == 0 || strcmp(name, SBX_F_METRICS) == 0) {
                        if (strcmp(name, SBX_F_EVENTS) == 0)
                                wait_wake(w.box, 0);
                        snprintf(path, sizeof path, "%s/%s", w.box, name);
                        notify_touch(T_MODIFY, path);
                } else if (strcmp(name, SBX_D_EXECS) == 0) {
                        struct box *b = box_find(w.box);
                        if (b)
                                add_watch(b->dirfd, SBX_D_EXECS, IN_MOVED_TO, W_EXECS, b->name, 0);
                }
                break;
        case W_EXECS: {
                char *end;
                unsigned long n = strtoul(name, &end, 10);
                if (*end || n == 0 || n > UINT32_MAX)
                        break;
                struct box *b = box_find(w.box);
                if (b) {
                        pthread_mutex_lock(&fs.lock);
                        if (n > b->last)
                                b->last = (unsigned)n;
                        pthread_mutex_unlock(&fs.lock);
                        if (exec_running(b, (unsigned)n))
                                watch_exec_in(b, (unsigned)n);
                }
                wait_wake(w.box, (unsigned)n);
                snprintf(path, sizeof path, "%s/%s/%lu", w.box, SBX_D_EXECS, n);
                notify_touch(T_MKDIR, path);
                break;
        }
        case W_EXEC:
                if (ev->mask & IN_IGNORED)
                        break;
                wait_wake(w.box, w.exec);
                snprintf(path, sizeof path, "%s/%s/%u/%s", w.box, SBX_D_EXECS, w.exec, name);
                if (strcmp(name, SBX_E_STATUS) == 0) {
                        struct box *b = box_find(w.box);
                        if (!b || !exec_running(b, w.exec)) {
                                unwatch_exec(w.box, w.exec);
                                notify_touch(T_CLOSE_WRITE, path);
                                snprintf(path, sizeof path, "%s/%s/%u/wait", w.box, SBX_D_EXECS, w.exec);
                                notify_touch(T_CLOSE_WRITE, path);
                        }
                } else if (strcmp(name, SBX_E_STDOUT) == 0 || strcmp(name, SBX_E_STDERR) == 0 ||
                           strcmp(name, SBX_E_METRICS) == 0 || strcmp(name, SBX_E_VIOLATIONS) == 0) {
                        notify_touch(T_MODIFY, path);
                }
                break;
        }
        g_free(w.box);
}

struct reader {
        int fd;
        void (*fn)(const struct inotify_event *);
};

static void *reader_thread(void *arg)
{
        struct reader r = *(struct reader *)arg;
        char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));

        g_free(arg);
        for (;;) {
                ssize_t n = read(r.fd, buf, sizeof buf);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *ev = (const void *)p;
                        p += sizeof *ev + ev->len;
                        r.fn(ev);
                }
        }
        return NULL;
}

int inotify_reader_start(int fd, void (*fn)(const struct inotify_event *ev))
{
        pthread_t t;
        struct reader *r = g_new(struct reader, 1);

        *r = (struct reader){ .fd = fd, .fn = fn };
        if (pthread_create(&t, NULL, reader_thread, r) != 0) {
                g_free(r);
                return -EAGAIN;
        }
        pthread_detach(t);
        return 0;
}

static void on_state_event(const struct inotify_event *ev)
{
        if (ev->mask & IN_Q_OVERFLOW) {
                /* Lost events: retry every parked read. */
                GPtrArray *names = box_list();
                wait_wake(NULL, 0);
                for (guint i = 0; i < names->len; i++)
                        wait_wake(g_ptr_array_index(names, i), 0);
                g_ptr_array_free(names, TRUE);
                return;
        }
        on_event(ev);
}

int wait_init(void)
{
        ino_fd = inotify_init1(IN_CLOEXEC);
        if (ino_fd < 0)
                return -errno;
        watches = g_hash_table_new_full(NULL, NULL, NULL, watch_free);
        exec_wds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        if (add_watch(fs.state_fd, ".", IN_MODIFY, W_STATE, NULL, 0) < 0)
                return -errno;
        return inotify_reader_start(ino_fd, on_state_event);
}
