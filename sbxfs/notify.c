/* notify.c: inotify events for changes sbxfs did not see through the VFS.
 *
 * The kernel raises inotify events from the VFS system-call paths only;
 * a FUSE daemon has no way to raise one itself (no notify code for it up
 * to protocol 7.45, see ../shared/research/fuse-behaviour.md 3a).  So a
 * thread of ours makes a system call on our own mount after each change:
 *
 *   T_MODIFY       utimensat(mtime only)  -> IN_MODIFY
 *   T_CLOSE_WRITE  open(O_WRONLY) + close -> IN_OPEN, IN_CLOSE_WRITE
 *   T_MKDIR        mkdir                  -> IN_CREATE | IN_ISDIR
 *   T_RMDIR        rmdir                  -> IN_DELETE | IN_ISDIR
 *   T_MKNOD        mknod(S_IFREG)         -> IN_CREATE
 *   T_UNLINK       unlink                 -> IN_DELETE
 *
 * The operations' handlers know the thread by its tid (notify_is_self)
 * and answer without changing anything; for T_MKDIR the lookup of the
 * target pretends it is absent, for T_RMDIR that it is present, or the
 * VFS would stop before asking us.  Requests are queued and coalesced
 * (one pending touch per path and kind), so a fast stream costs a few
 * round trips, not one per write.  Only watchers of this mount see them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbxfs.h"

static GAsyncQueue *queue;              /* of char* "<touch>:<path>" */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static GHashTable *pending;             /* the same strings, for coalescing */
static pid_t tid = -1;
static enum touch cur_touch;            /* what the thread is doing now */
static char cur_path[1024];

void notify_touch(enum touch t, const char *path)
{
        char *item;

        if (!queue)
                return;
        item = g_strdup_printf("%d:%s", (int)t, path);
        pthread_mutex_lock(&lock);
        if (g_hash_table_contains(pending, item)) {
                pthread_mutex_unlock(&lock);
                g_free(item);
                return;
        }
        g_hash_table_add(pending, g_strdup(item));
        pthread_mutex_unlock(&lock);
        g_async_queue_push(queue, item);
}

bool notify_is_self(fuse_req_t req)
{
        return fuse_req_ctx(req)->pid == tid;
}

/* For lookup: should the notifier see path as absent (1), present (0 and
 * *kind_hint unchanged), or as it really is (-1)? */
int notify_pretend(fuse_req_t req, const char *path)
{
        if (!notify_is_self(req) || strcmp(path, cur_path) != 0)
                return -1;
        return cur_touch == T_MKDIR || cur_touch == T_MKNOD ? 1 :
               cur_touch == T_RMDIR || cur_touch == T_UNLINK ? 0 : -1;
}

bool notify_pretend_dir(void)
{
        return cur_touch == T_RMDIR;
}

static void *notify_thread(void *arg)
{
        (void)arg;
        tid = gettid();
        for (;;) {
                char *item = g_async_queue_pop(queue);
                char *colon = strchr(item, ':');
                char *full;

                pthread_mutex_lock(&lock);
                g_hash_table_remove(pending, item);
                pthread_mutex_unlock(&lock);
                cur_touch = (enum touch)atoi(item);
                g_strlcpy(cur_path, colon + 1, sizeof cur_path);
                full = g_strdup_printf("%s/%s", fs.mountpoint, colon + 1);
                switch (cur_touch) {
                case T_MODIFY: {
                        struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_NOW } };
                        utimensat(AT_FDCWD, full, ts, AT_SYMLINK_NOFOLLOW);
                        break;
                }
                case T_CLOSE_WRITE: {
                        int fd = open(full, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
                        if (fd >= 0)
                                close(fd);
                        break;
                }
                case T_MKDIR:
                        mkdir(full, 0755);
                        break;
                case T_RMDIR:
                        rmdir(full);
                        break;
                case T_MKNOD:
                        mknod(full, S_IFREG | 0644, 0);
                        break;
                case T_UNLINK:
                        unlink(full);
                        break;
                }
                cur_path[0] = '\0';
                g_free(full);
                g_free(item);
        }
        return NULL;
}

int notify_init(void)
{
        pthread_t t;

        pending = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        queue = g_async_queue_new();
        if (pthread_create(&t, NULL, notify_thread, NULL) != 0)
                return -EAGAIN;
        pthread_detach(t);
        while (__atomic_load_n(&tid, __ATOMIC_ACQUIRE) < 0)
                usleep(1000);
        return 0;
}
