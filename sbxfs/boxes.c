/* boxes.c: sandboxes as sbxfs sees them, and their supervisors.
 *
 * A sandbox is a directory <state>/<name> with a live sbx-supervisor that
 * answers on <state>/<name>/sock.  sbxfs creates the directory and the
 * config, starts the supervisor (which detaches into its own session, so
 * it outlives us), and forwards requests to it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sbxfs.h"
#include "sbx/protocol.h"
#include "sbx/state.h"
#include "sbx/util.h"

#define START_TIMEOUT_MS 20000   /* supervisor start-up, incl. namespaces */
#define PENDING_WAIT_S   5       /* longest wait for a closed ctl/exec */
#define CALL_S           5       /* longest wait for a supervisor's answer */
#define CALL_SLOW_S      30      /* ... to "destroy" */
#define CALL_PING_S      1       /* ... to "ping" (status asks it on every stat) */

/* Highest numbered entry of execs/. */
static unsigned scan_last(int execs_fd)
{
        int fd = openat(execs_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;
        unsigned max = 0;

        if (!d) {
                if (fd >= 0)
                        close(fd);
                return 0;
        }
        while ((de = readdir(d))) {
                char *end;
                unsigned long v = strtoul(de->d_name, &end, 10);
                if (*end == '\0' && de->d_name[0] != '0' && v > max && v <= UINT32_MAX)
                        max = (unsigned)v;
        }
        closedir(d);
        return max;
}

static int open_execs(struct box *b)
{
        if (b->execs_fd < 0) {
                b->execs_fd = openat(b->dirfd, SBX_D_EXECS,
                                     O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (b->execs_fd >= 0)
                        b->last = scan_last(b->execs_fd);
        }
        return b->execs_fd;
}

struct box *box_find_locked(const char *name)
{
        struct box *b = g_hash_table_lookup(fs.boxes, name);

        if (b && !b->gone) {
                struct stat st;
                /* Still there?  (destroyed behind our back, or by us) */
                if (fstatat(b->dirfd, ".", &st, 0) == 0 && st.st_nlink > 0) {
                        open_execs(b);
                        return b;
                }
                b->gone = true;
        }
        if (!sbx_name_valid(name))
                return NULL;
        int fd = openat(fs.state_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return NULL;
        if (b) {        /* a new sandbox of the same name: keep the old struct
                         * alive (others may hold it), mark it gone */
                g_hash_table_steal(fs.boxes, name);
        }
        b = g_new0(struct box, 1);
        b->name = g_strdup(name);
        b->dirfd = fd;
        b->execs_fd = -1;
        open_execs(b);
        g_hash_table_insert(fs.boxes, b->name, b);
        wait_watch_box(b);
        return b;
}

struct box *box_find(const char *name)
{
        pthread_mutex_lock(&fs.lock);
        struct box *b = box_find_locked(name);
        pthread_mutex_unlock(&fs.lock);
        return b;
}

void box_error(const char *box, const char *file, int err, const char *why)
{
        int bfd = -1;

        /* Within a sandbox's lines, files are named from the sandbox:
         * "box1 error ctl/exec: ...". */
        size_t bl = box ? strlen(box) : 0;
        if (box && strncmp(file, box, bl) == 0 && file[bl] == '/')
                file += bl + 1;
        if (box)
                bfd = openat(fs.state_fd, box, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        sbx_event(fs.state_fd, bfd, box ? box : "-", "error %s: %s %s", file,
                  sbx_errno_name(err), why ? why : g_strerror(err));
        if (bfd >= 0)
                close(bfd);
}

static gint cmp_names(gconstpointer a, gconstpointer b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

GPtrArray *box_list(void)
{
        GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
        int fd = openat(fs.state_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;

        if (!d) {
                if (fd >= 0)
                        close(fd);
                return a;
        }
        while ((de = readdir(d)))
                if (de->d_type == DT_DIR && sbx_name_valid(de->d_name))
                        g_ptr_array_add(a, g_strdup(de->d_name));
        closedir(d);
        g_ptr_array_sort(a, cmp_names);
        return a;
}

/* Start the supervisor of <state>/<name> and wait for its "ok PID".
 * It detaches itself (fork + setsid), so our child exits at once. */
static int start_supervisor(const char *name, char **why)
{
        int p[2];
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0) {
                *why = g_strdup_printf("pipe: %s", g_strerror(errno));
                return -errno;
        }
        pid = fork();
        if (pid < 0) {
                *why = g_strdup_printf("fork: %s", g_strerror(errno));
                close(p[0]);
                close(p[1]);
                return -errno;
        }
        if (pid == 0) {
                /* Nothing of ours but the ready pipe may reach the
                 * supervisor (and from it the sandbox): fd 3, then close
                 * the rest; /dev/fuse above all. */
                if (dup2(p[1], 3) < 0)
                        _exit(127);
                close_range(4, ~0U, 0);
                signal(SIGPIPE, SIG_DFL);
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                char *argv[] = { fs.supervisor, "--state", fs.state, "--name", (char *)name,
                                 "--ready-fd", "3", NULL };
                /* A small, known environment: nothing of the user's shell
                 * reaches the sandbox. */
                char *profiles = fs.profiles ? g_strdup_printf("SBX_PROFILES=%s", fs.profiles) : NULL;
                char *envp[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                 "LANG=C.UTF-8", profiles, NULL };
                execve(fs.supervisor, argv, envp);
                dprintf(3, "error %s exec %s: %s\n", sbx_errno_name(errno), fs.supervisor,
                        g_strerror(errno));
                _exit(127);
        }
        close(p[1]);
        waitpid(pid, NULL, 0);

        char line[512];
        size_t got = 0;
        struct pollfd pf = { .fd = p[0], .events = POLLIN };
        while (got < sizeof line - 1) {
                int r = poll(&pf, 1, START_TIMEOUT_MS);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
                ssize_t n = read(p[0], line + got, sizeof line - 1 - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                got += (size_t)n;
                if (memchr(line, '\n', got))
                        break;
        }
        close(p[0]);
        line[got] = '\0';
        g_strchomp(line);
        if (strncmp(line, "ok", 2) == 0)
                return 0;
        if (strncmp(line, "error ", 6) == 0) {
                char *sp = strchr(line + 6, ' ');
                if (sp)
                        *sp++ = '\0';
                *why = g_strdup_printf("supervisor: %s", sp ? sp : line + 6);
                return -sbx_errno_from_name(line + 6);
        }
        *why = g_strdup_printf("supervisor did not start (%s)", got ? line : "no answer");
        return -EIO;
}

int box_create(const char *name, const char *config, char **why)
{
        int r;

        *why = NULL;
        if (!sbx_name_valid(name)) {
                *why = g_strdup_printf("bad sandbox name '%s' (1-63 of a-z 0-9 -, not "
                                       "starting or ending with -)", name);
                return -EINVAL;
        }
        if (mkdirat(fs.state_fd, name, 0711) < 0) {  /* init (an unprivileged host uid) must pass */
                r = -errno;
                *why = g_strdup(errno == EEXIST ? "a sandbox of that name exists"
                                                : g_strerror(errno));
                return r;
        }
        int dfd = openat(fs.state_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0 || (r = sbx_write_atomic(dfd, SBX_F_CONFIG, config, strlen(config), 0644)) < 0) {
                r = dfd < 0 ? -errno : r;
                *why = g_strdup_printf("writing the config: %s", g_strerror(-r));
                if (dfd >= 0)
                        close(dfd);
                sbx_rm_tree_at(fs.state_fd, name);
                return r;
        }
        close(dfd);
        r = start_supervisor(name, why);
        if (r < 0) {
                sbx_rm_tree_at(fs.state_fd, name);
                return r;
        }
        char *trust = strstr(config, "trust ");
        struct box *b = box_find(name);
        sbx_event(fs.state_fd, b ? b->dirfd : -1, name, "created%s%.*s", trust ? " trust=" : "",
                  trust ? (int)strcspn(trust + 6, "\n") : 0, trust ? trust + 6 : "");
        return 0;
}

int box_destroy(const char *name, char **why)
{
        struct box *b = box_find(name);
        int r;

        *why = NULL;
        if (!b) {
                *why = g_strdup_printf("no sandbox '%s'", name);
                return -ENOENT;
        }
        r = box_call(b, "destroy", NULL, 0, NULL, 0, why);
        if (r == -EIO) {
                /* No supervisor (it died): nothing runs; remove the state. */
                g_free(*why);
                *why = NULL;
                sbx_rm_tree_at(fs.state_fd, name);
                sbx_event(fs.state_fd, -1, name, "destroyed (no supervisor)");
                r = 0;
        }
        if (r == 0) {
                pthread_mutex_lock(&fs.lock);
                b->gone = true;
                pthread_cond_broadcast(&fs.cond);
                pthread_mutex_unlock(&fs.lock);
                wait_wake(name, 0);
        }
        return r;
}

int box_call(struct box *b, const char *line, const void *body, size_t len,
             char *reply, size_t reply_size, char **why)
{
        char buf[SBX_PROTO_LINE_MAX], dir[4096];
        int fd, r;

        snprintf(dir, sizeof dir, "%s/%s", fs.state, b->name);
        fd = sbx_proto_connect(dir);
        if ((fd == -ECONNREFUSED || fd == -ENOENT) && !b->gone &&
            faccessat(b->dirfd, ".", F_OK, 0) == 0) {
                /* The supervisor died (killed, OOM, host trouble): the
                 * sandbox's state is all on disk, so start a new one,
                 * which also removes what the old one left, and go on. */
                char *swhy = NULL;
                int r2 = start_supervisor(b->name, &swhy);
                if (r2 == 0)
                        sbx_event(fs.state_fd, b->dirfd, b->name, "supervisor restarted");
                else
                        box_error(b->name, "supervisor", -r2, swhy);
                g_free(swhy);
                fd = sbx_proto_connect(dir);
        }
        if (fd < 0) {
                *why = g_strdup_printf("supervisor not answering: %s", g_strerror(-fd));
                return -EIO;
        }
        /* A FUSE request cannot be interrupted while we wait here, so a
         * hung (stopped) supervisor must not hold it for ever: destroy may
         * take a while (it kills and waits), anything else answers fast. */
        struct timeval tv = { .tv_sec = strcmp(line, "destroy") == 0 ? CALL_SLOW_S :
                                        strcmp(line, "ping") == 0 ? CALL_PING_S : CALL_S };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        r = sbx_proto_call(fd, line, body, len, buf, sizeof buf);
        close(fd);
        if (r == -EAGAIN || r == -EWOULDBLOCK) {
                *why = g_strdup_printf("supervisor not answering for %ld s (stopped?)", (long)tv.tv_sec);
                box_error(b->name, "supervisor", ETIMEDOUT, *why);
                return -EIO;
        }
        if (r < 0) {
                /* "error ENAME text": keep the text as the reason */
                const char *t = buf;
                if (strncmp(buf, "error ", 6) == 0 && (t = strchr(buf + 6, ' ')))
                        t++;
                *why = g_strdup(t && *t ? t : g_strerror(-r));
                return r;
        }
        if (reply) {
                const char *w = buf + 2;
                while (*w == ' ')
                        w++;
                g_strlcpy(reply, w, reply_size);
        }
        return 0;
}

unsigned box_last(struct box *b)
{
        struct timespec until;
        unsigned last;

        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += PENDING_WAIT_S;
        pthread_mutex_lock(&fs.lock);
        /* A ctl/exec that was closed but not yet released is about to
         * start an exec: "echo cmd > ctl/exec; cat execs/last/wait" must
         * see it. */
        while (b->pending > 0 && !b->gone)
                if (pthread_cond_timedwait(&fs.cond, &fs.lock, &until) == ETIMEDOUT)
                        break;
        /* Execs are numbered in order, so only the ones after the newest
         * we know of can be new (started through another mount, or not
         * yet seen by the inotify thread): no scan of execs/. */
        if (open_execs(b) >= 0) {
                char name[16];
                struct stat st;
                for (;;) {
                        snprintf(name, sizeof name, "%u", b->last + 1);
                        if (fstatat(b->execs_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                                break;
                        b->last++;
                }
        }
        last = b->last;
        pthread_mutex_unlock(&fs.lock);
        return last;
}

int exec_openat(struct box *b, unsigned n, const char *file, int flags)
{
        char path[64];

        snprintf(path, sizeof path, "%s/%u/%s", SBX_D_EXECS, n, file);
        return openat(b->dirfd, path, (flags ? flags : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW);
}

bool exec_running(struct box *b, unsigned n)
{
        char buf[16];
        int fd = exec_openat(b, n, SBX_E_STATUS, 0);
        ssize_t k;

        if (fd < 0)
                return false;
        k = pread(fd, buf, sizeof buf - 1, 0);
        close(fd);
        if (k <= 0)
                return false;
        buf[k] = '\0';
        return strncmp(buf, SBX_STATUS_RUNNING, strlen(SBX_STATUS_RUNNING)) == 0 &&
               (buf[7] == '\n' || buf[7] == ' ' || buf[7] == '\0');
}

/* A supervisor is alive when its socket answers "ping". */
static bool supervised(const char *name)
{
        char dir[4096], reply[64];
        int fd, r;

        snprintf(dir, sizeof dir, "%s/%s", fs.state, name);
        fd = sbx_proto_connect(dir);
        if (fd < 0)
                return false;
        r = sbx_proto_call(fd, "ping", NULL, 0, reply, sizeof reply);
        close(fd);
        return r == 0;
}

void box_restore_all(void)
{
        GPtrArray *names = box_list();

        for (guint i = 0; i < names->len; i++) {
                const char *name = g_ptr_array_index(names, i);
                char *why = NULL;
                if (faccessat(fs.state_fd, name, F_OK, 0) < 0)
                        continue;
                if (!supervised(name)) {
                        int r = start_supervisor(name, &why);
                        if (r < 0)
                                box_error(name, "restore", -r, why);
                        else
                                sbx_event(fs.state_fd, -1, name, "restored");
                        g_free(why);
                }
                box_find(name);
        }
        g_ptr_array_free(names, TRUE);
}
