/* sbxfs.h: what the modules of the FUSE front share.
 *
 * sbxfs is only a view of the state directory (include/sbx/state.h): every
 * file it shows is rendered from disk or forwarded to a sandbox's
 * supervisor.  The little it keeps in memory (inode numbers, parked reads,
 * open ctl buffers) can be lost with the process without losing anything.
 *
 *   main.c     options, mount, daemon, restore of existing sandboxes
 *   nodes.c    the tree: paths <-> inode numbers and node kinds
 *   ops.c      the FUSE low-level operations, dispatched by node kind
 *   content.c  the text of generated files (status, metrics.json, ...)
 *   ctl.c      the ctl files: root ctl, ctl/exec, ctl/kill, execs/N/ctl
 *   boxes.c    sandboxes: create, destroy, list, their supervisors
 *   wait.c     blocking reads: parked requests, poll, inotify on the state
 *   notify.c   raising inotify events on our own mount for watchers
 *   ports.c    <box>/ports/: exposed ports, their state, readiness, tcp
 *   router.c   the preview HTTP listener and the byte relay
 */
#ifndef SBXFS_H
#define SBXFS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <glib.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

/* ---- nodes.c ---------------------------------------------------------- */

enum kind {
        K_ROOT, K_ROOT_CTL, K_ROOT_CLONE, K_ROOT_EVENTS,
        K_BOX, K_BOX_CTLDIR, K_BOX_CTL_EXEC, K_BOX_CTL_KILL, K_BOX_CONFIG,
        K_BOX_ENV, K_BOX_STATUS, K_BOX_METRICS, K_BOX_METRICS_JSON,
        K_BOX_EVENTS, K_BOX_EXECS, K_EXECS_LAST,
        K_EXEC, K_EXEC_CMD, K_EXEC_STDIN, K_EXEC_STDOUT, K_EXEC_STDERR,
        K_EXEC_STATUS, K_EXEC_WAIT, K_EXEC_METRICS, K_EXEC_METRICS_JSON,
        K_EXEC_VIOLATIONS, K_EXEC_CTL,
        K_BOX_PORTS, K_PORT, K_PORT_URL, K_PORT_TOKEN, K_PORT_STATUS,   /* ports.c */
        K_PORT_READY, K_PORT_CTL, K_PORT_TCP,
        K_COUNT
};

struct node {
        fuse_ino_t ino;
        enum kind kind;
        char *box;              /* sandbox name, or NULL */
        unsigned exec;          /* exec number, or 0 */
        char *path;             /* path below the mount, "" for the root */
};

/* Static description of each kind. */
struct kind_info {
        const char *name;       /* entry name ("stdout"), NULL for variable */
        mode_t mode;            /* S_IFxxx | permissions */
        const char *backing;    /* file in the sandbox or exec dir, or NULL */
};
extern const struct kind_info kinds[K_COUNT];

void nodes_init(void);
/* The node for (kind, box, exec), created on first use; never freed, so
 * pointers stay valid and inode numbers stable for the daemon's life. */
struct node *node_get(enum kind k, const char *box, unsigned exec);
struct node *node_by_ino(fuse_ino_t ino);
/* The child kinds of a directory kind, for lookup and readdir. */
const enum kind *node_children(enum kind dir, size_t *n);

/* ---- boxes.c ---------------------------------------------------------- */

/* sbxfs's in-memory view of one sandbox (the truth is its state dir). */
struct box {
        char *name;
        int dirfd;              /* <state>/<name> */
        int execs_fd;           /* <state>/<name>/execs, -1 until present */
        unsigned last;          /* newest exec number seen */
        int pending;            /* ctl/exec writes closed but not released */
        bool gone;
};

struct sbxfs {
        char *mountpoint;       /* absolute */
        char *state;            /* absolute state directory */
        char *profiles;         /* -o profiles=FILE or NULL */
        char *supervisor;       /* path of sbx-supervisor */
        int state_fd;
        struct fuse_session *se;
        uid_t uid;              /* owner shown for every file */
        gid_t gid;
        struct timespec mounted;
        pthread_mutex_t lock;   /* boxes table and box fields */
        pthread_cond_t cond;    /* box->pending changes */
        GHashTable *boxes;      /* name -> struct box* */
};
extern struct sbxfs fs;

/* Find the sandbox by name (loading it from the state dir on first use).
 * Returns NULL when there is no such sandbox.  Caller must hold fs.lock. */
struct box *box_find_locked(const char *name);
struct box *box_find(const char *name);
/* Create: name checked, config text already validated ("key value" lines).
 * Returns 0 or -errno with *why. */
int box_create(const char *name, const char *config, char **why);
int box_destroy(const char *name, char **why);
/* Names of every sandbox on disk, sorted (g_ptr_array of char*). */
GPtrArray *box_list(void);
/* Start supervisors for sandboxes whose supervisor is gone (at mount). */
void box_restore_all(void);
/* One request to the sandbox's supervisor.  Returns 0, or -errno with the
 * reason in *why.  reply (may be NULL) gets the words after "ok". */
int box_call(struct box *b, const char *line, const void *body, size_t len,
             char *reply, size_t reply_size, char **why);
/* Newest exec number of b (after waiting out pending ctl/exec closes). */
unsigned box_last(struct box *b);
/* Record an "error" line in the sandbox's events (and the root's). */
void box_error(const char *box, const char *file, int err, const char *why);
/* Is exec n of b still running?  (status file's first word) */
bool exec_running(struct box *b, unsigned n);
/* Open a file of exec n: O_RDONLY|O_CLOEXEC unless flags given. */
int exec_openat(struct box *b, unsigned n, const char *file, int flags);

/* ---- content.c -------------------------------------------------------- */

/* The text of a generated or small backed file, as read at this moment.
 * Returns a GString, or NULL with -errno in *err. */
GString *content_render(const struct node *nd, int *err);
/* Size of a node's content for stat. */
off_t content_size(const struct node *nd);
/* key value lines to one JSON object (numbers stay numbers). */
GString *content_kv_to_json(const char *kv);

/* ---- ctl.c ------------------------------------------------------------ */

/* A write to a ctl-like file (everything but ctl/exec and stdin).
 * Returns bytes taken or -errno. */
int ctl_write(const struct node *nd, const char *buf, size_t len);

/* ctl/exec handles: the script accumulates until the exec starts. */
struct exec_buf {
        GByteArray *data;
        unsigned started;       /* exec number once started */
        int err;                /* errno of the start, if it failed */
        bool flushed;           /* closed once with data: counted in
                                 * box->pending until released */
};
int ctl_exec_write(const struct node *nd, struct exec_buf *eb, const char *buf,
                   size_t len);
/* Start the exec now (read-back or release).  Returns 0 or -errno. */
int ctl_exec_start(const struct node *nd, struct exec_buf *eb);

/* ---- wait.c ----------------------------------------------------------- */

int wait_init(void);
/* A thread that reads inotify fd and calls fn for every event. */
struct inotify_event;
int inotify_reader_start(int fd, void (*fn)(const struct inotify_event *ev));
/* A read of a blocking file (stdout, stderr, events, wait) at off: answers
 * now or parks the request until there is something to answer. */
void wait_read(fuse_req_t req, const struct node *nd, int fd, off_t off,
               size_t size, int flags, off_t *pos);
/* poll on a blocking file. */
void wait_poll(fuse_req_t req, const struct node *nd, int fd, off_t off,
               struct fuse_pollhandle *ph);
/* Watch a sandbox's directories (called when a box is first seen). */
void wait_watch_box(struct box *b);
/* Wake everything parked on (box, exec); exec 0 = the box's own files. */
void wait_wake(const char *box, unsigned exec);

/* ---- notify.c --------------------------------------------------------- */

enum touch { T_MODIFY, T_CLOSE_WRITE, T_MKDIR, T_RMDIR, T_MKNOD, T_UNLINK };
int notify_init(void);
/* Ask the notifier to make the VFS raise an event on path (relative to
 * the mount).  Coalesced; never blocks. */
void notify_touch(enum touch t, const char *path);
/* True when the request comes from the notifier thread (its own ops are
 * answered without effect). */
bool notify_is_self(fuse_req_t req);
/* For lookups by the notifier: 1 = answer "absent" (it is about to mkdir
 * the path), 0 = answer "present" (about to rmdir it), -1 = the truth. */
int notify_pretend(fuse_req_t req, const char *path);
bool notify_pretend_dir(void);  /* the "present" entry is a directory */

/* ---- files.c ---------------------------------------------------------- */

/* <box>/files/: the sandbox's / passed through (see files.c). */
int files_init(void);
bool files_is(fuse_ino_t ino);
void files_lookup_root(fuse_req_t req, struct box *b);
void fx_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void fx_forget(fuse_ino_t ino, uint64_t nlookup);
void fx_getattr(fuse_req_t req, fuse_ino_t ino);
void fx_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
                struct fuse_file_info *fi);
void fx_readlink(fuse_req_t req, fuse_ino_t ino);
void fx_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev);
void fx_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void fx_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name);
void fx_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname);
void fx_unlink(fuse_req_t req, fuse_ino_t parent, const char *name, bool dir);
void fx_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
               const char *newname, unsigned int flags);
void fx_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fx_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
               struct fuse_file_info *fi);
void fx_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi);
void fx_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in, off_t off,
                  struct fuse_file_info *fi);
void fx_flush(fuse_req_t req, struct fuse_file_info *fi);
void fx_release(fuse_req_t req, struct fuse_file_info *fi);
void fx_fsync(fuse_req_t req, int datasync, struct fuse_file_info *fi);
void fx_flock(fuse_req_t req, struct fuse_file_info *fi, int op);
void fx_fallocate(fuse_req_t req, int mode, off_t off, off_t len, struct fuse_file_info *fi);
void fx_lseek(fuse_req_t req, off_t off, int whence, struct fuse_file_info *fi);
void fx_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fx_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void fx_releasedir(fuse_req_t req, struct fuse_file_info *fi);
void fx_fsyncdir(fuse_req_t req, struct fuse_file_info *fi);
void fx_statfs(fuse_req_t req, fuse_ino_t ino);
void fx_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void fx_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void fx_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
                 size_t size, int flags);
void fx_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

/* ---- ports.c ---------------------------------------------------------- */

/* Nodes of <box>/ports/ (K_PORT and below keep the port in node->exec). */
bool ports_kind(enum kind k);
char *ports_make_path(enum kind k, const char *box, unsigned port);
const struct node *ports_child(const struct node *dir, const char *name);
bool ports_exists(const struct node *nd);
/* The exposed ports of box, sorted (GArray of unsigned). */
GArray *ports_list(const char *box);
/* mkdir/rmdir in ports/: 0 or -errno (the reason goes to events). */
int ports_expose(const char *box, const char *name);
int ports_unexpose(const char *box, const char *name);
GString *ports_render(const struct node *nd, int *err);
off_t ports_size(const struct node *nd);
/* A write to ports/N/token or ports/N/ctl: bytes taken or -errno. */
int ports_write(const struct node *nd, const char *buf, size_t len);
/* A read of ports/N/ready: answered now or from a thread, later. */
void ports_read(fuse_req_t req, const struct node *nd, off_t off, size_t size);
/* After daemonizing: bring back the tcp forwards found in the state. */
void ports_init(void);

/* Routing helpers for router.c. */
struct pstat;
/* The exposure (box, port) if tok is its token (constant time), else NULL;
 * the same NULL for an unknown box, port or token. */
struct pstat *ports_route(const char *box, unsigned port, const char *tok);
/* A TCP connection to 127.0.0.1:port inside box's network namespace
 * (non-blocking fd), or -errno.  Waits at most timeout_ms. */
int ports_connect(const char *box, unsigned port, int timeout_ms);
/* Relay bytes between client and upstream until both sides are done
 * (pre: bytes already read from the client, sent first); counted in ps.
 * Closes neither fd. */
void ports_relay(struct pstat *ps, int client, int upstream, const char *pre, size_t prelen);

/* ---- router.c --------------------------------------------------------- */

/* -o preview=ADDR:PORT ("off" disables; NULL: 127.0.0.1:8723, or an
 * ephemeral port if that is taken).  Binds now (before daemonizing);
 * returns 0 or -errno with a message on stderr. */
int router_bind(const char *spec);
/* Start serving (a thread); writes <state>/preview.addr. */
int router_start(void);
/* The listener's port, 0 when there is none. */
unsigned router_port(void);

#endif
