/* sbxfs: sandboxes as directories.
 *
 *   sbxfs MOUNTPOINT [-f] [-o state=DIR,profiles=FILE,...]
 *
 * Mounts the view, brings back every sandbox already in the state
 * directory (starting a supervisor where none runs), and serves until
 * unmounted.  See sbxfs(1) and docs/tree.md. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sbxfs.h"
#include "sbx/config.h"
#include "sbx/state.h"
#include "sbx/util.h"

#define MAX_THREADS 64           /* parked reads do not hold threads */

struct sbxfs fs;
extern const struct fuse_lowlevel_ops sbxfs_ops;

struct options {
        char *state;
        char *profiles;
        char *supervisor;
        char *preview;          /* router.c */
};

static const struct fuse_opt option_spec[] = {
        { "state=%s", offsetof(struct options, state), 0 },
        { "profiles=%s", offsetof(struct options, profiles), 0 },
        { "supervisor=%s", offsetof(struct options, supervisor), 0 },
        { "preview=%s", offsetof(struct options, preview), 0 },
        FUSE_OPT_END
};

static void usage(const char *prog)
{
        printf("usage: %s MOUNTPOINT [-f] [-o state=DIR,profiles=FILE,...]\n"
               "\n"
               "Mount sandboxes as directories: mkdir MOUNTPOINT/NAME makes one, writing\n"
               "a command to MOUNTPOINT/NAME/ctl/exec runs it confined, and\n"
               "MOUNTPOINT/NAME/execs/N/ holds its stdout, stderr, status and metrics.\n"
               "\n"
               "options:\n"
               "  -f                    stay in the foreground\n"
               "  -d                    debug: print every FUSE request (implies -f)\n"
               "  -o state=DIR          state directory (default %s)\n"
               "  -o profiles=FILE      trust-level profiles (default %s)\n"
               "  -o supervisor=PATH    sbx-supervisor to run (default: beside sbxfs)\n"
               "  -o preview=ADDR:PORT  preview URL listener (default 127.0.0.1:8723;\n"
               "                        :0 for an ephemeral port; off to disable)\n"
               "  -h, --help            this text\n"
               "  -V, --version         the version\n"
               "\n"
               "Unmount with: fusermount3 -u MOUNTPOINT  (or umount MOUNTPOINT)\n"
               "Sandboxes and their processes outlive the mount; mounting again on the\n"
               "same state directory shows them all.  See sbxfs(1), sbxfs(5).\n",
               prog, SBX_STATE_DEFAULT, SBX_PROFILES_PATH);
}

/* sbx-supervisor: -o supervisor, $SBX_SUPERVISOR, beside our binary, or
 * on PATH. */
static char *find_supervisor(const char *opt)
{
        char self[PATH_MAX];
        ssize_t n;

        if (opt)
                return realpath(opt, NULL);
        if (getenv("SBX_SUPERVISOR"))
                return realpath(getenv("SBX_SUPERVISOR"), NULL);
        n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n > 0) {
                self[n] = '\0';
                char *dir = g_path_get_dirname(self);
                char *p = g_build_filename(dir, "sbx-supervisor", NULL);
                g_free(dir);
                if (access(p, X_OK) == 0)
                        return p;
                g_free(p);
        }
        return g_find_program_in_path("sbx-supervisor");
}

static int mkdir_p(const char *path)
{
        char *p = g_strdup(path);
        int r = g_mkdir_with_parents(p, 0711);   /* sandboxes run as other uids */
        g_free(p);
        return r;
}

int main(int argc, char **argv)
{
        struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
        struct fuse_cmdline_opts cmd;
        struct options o = { 0 };
        int ret = 1;

        if (fuse_opt_parse(&args, &o, option_spec, NULL) < 0)
                return 2;
        if (fuse_parse_cmdline(&args, &cmd) != 0) {
                fprintf(stderr, "%s: bad arguments; see %s --help\n", argv[0], argv[0]);
                return 2;
        }
        if (cmd.show_help) {
                usage(argv[0]);
                return 0;
        }
        if (cmd.show_version) {
                printf("sbxfs %s (libfuse %s)\n", SBX_VERSION, fuse_pkgversion());
                return 0;
        }
        if (!cmd.mountpoint) {
                fprintf(stderr, "%s: no mount point; see %s --help\n", argv[0], argv[0]);
                return 2;
        }

        const char *state = o.state ? o.state : SBX_STATE_DEFAULT;
        if (mkdir_p(state) < 0) {
                fprintf(stderr, "sbxfs: cannot make the state directory %s: %s\n", state, g_strerror(errno));
                return 1;
        }
        fs.state = realpath(state, NULL);
        fs.mountpoint = realpath(cmd.mountpoint, NULL);
        if (!fs.state || !fs.mountpoint) {
                fprintf(stderr, "sbxfs: %s: %s\n", fs.state ? cmd.mountpoint : state, g_strerror(errno));
                return 1;
        }
        if (strlen(fs.state) > 2048) {
                fprintf(stderr, "sbxfs: state directory path too long\n");
                return 1;
        }
        if (g_str_has_prefix(fs.state, fs.mountpoint) &&
            (fs.state[strlen(fs.mountpoint)] == '/' || fs.state[strlen(fs.mountpoint)] == '\0')) {
                fprintf(stderr, "sbxfs: the state directory cannot be under the mount point\n");
                return 1;
        }
        /* Sandboxes run as other uids: they must be able to pass through
         * every directory above the state (its own mode sbxfs sets). */
        for (char *d = g_path_get_dirname(fs.state), *up; ; d = up) {
                struct stat st;
                if (stat(d, &st) == 0 && !(st.st_mode & S_IXOTH)) {
                        fprintf(stderr, "sbxfs: %s is not searchable by other users (mode %o); the "
                                "sandboxes, which run as their own uids, cannot reach the state "
                                "directory %s: chmod o+x %s, or choose another state directory\n",
                                d, st.st_mode & 07777, fs.state, d);
                        return 1;
                }
                if (strcmp(d, "/") == 0 || strcmp(d, ".") == 0) {
                        g_free(d);
                        break;
                }
                up = g_path_get_dirname(d);
                g_free(d);
        }
        struct stat sst;
        if (stat(fs.state, &sst) == 0 && !(sst.st_mode & S_IXOTH))
                chmod(fs.state, (sst.st_mode & 07777) | 0011);  /* pass-through only */
        fs.supervisor = find_supervisor(o.supervisor);
        if (!fs.supervisor || access(fs.supervisor, X_OK) < 0) {
                fprintf(stderr, "sbxfs: sbx-supervisor not found (install it beside sbxfs, or -o supervisor=PATH)\n");
                return 1;
        }
        if (o.profiles) {
                char *why = NULL;
                fs.profiles = realpath(o.profiles, NULL);
                if (!fs.profiles || sbx_profiles_load(fs.profiles, &why) < 0) {
                        fprintf(stderr, "sbxfs: profiles %s: %s\n", o.profiles,
                                why ? why : g_strerror(errno));
                        return 1;
                }
        } else {
                char *why = NULL;
                if (sbx_profiles_load(SBX_PROFILES_PATH, &why) < 0) {
                        fprintf(stderr, "sbxfs: %s: %s\n", SBX_PROFILES_PATH, why);
                        return 1;
                }
        }
        fs.state_fd = open(fs.state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fs.state_fd < 0) {
                fprintf(stderr, "sbxfs: %s: %s\n", fs.state, g_strerror(errno));
                return 1;
        }
        int efd = openat(fs.state_fd, SBX_F_EVENTS, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (efd >= 0)
                close(efd);
        fs.uid = getuid();
        fs.gid = getgid();
        clock_gettime(CLOCK_REALTIME, &fs.mounted);
        pthread_mutex_init(&fs.lock, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&fs.cond, &ca);
        fs.boxes = g_hash_table_new(g_str_hash, g_str_equal);

        if (router_bind(o.preview) < 0)         /* before daemonizing: errors show */
                return 1;
        fuse_opt_add_arg(&args, "-ofsname=sbxfs,subtype=sbxfs");
        fs.se = fuse_session_new(&args, &sbxfs_ops, sizeof sbxfs_ops, NULL);
        if (!fs.se)
                goto out;
        if (fuse_set_signal_handlers(fs.se) != 0)
                goto out_session;
        if (fuse_session_mount(fs.se, fs.mountpoint) != 0)
                goto out_signals;
        if (fuse_daemonize(cmd.foreground) != 0)
                goto out_unmount;

        /* Threads only after daemonizing (it forks). */
        nodes_init();
        int r;
        if ((r = wait_init()) < 0 || (r = notify_init()) < 0 || (r = files_init()) < 0) {
                fprintf(stderr, "sbxfs: start-up: %s\n", g_strerror(-r));
                goto out_unmount;
        }
        box_restore_all();
        router_start();                 /* ports/: forwards and preview URLs */
        sbx_event(fs.state_fd, -1, "-", "mounted %s", fs.mountpoint);

        struct fuse_loop_config *lc = fuse_loop_cfg_create();
        fuse_loop_cfg_set_max_threads(lc, MAX_THREADS);
        fuse_loop_cfg_set_clone_fd(lc, cmd.clone_fd);
        ret = cmd.singlethread ? fuse_session_loop(fs.se) : fuse_session_loop_mt(fs.se, lc);
        fuse_loop_cfg_destroy(lc);
        sbx_event(fs.state_fd, -1, "-", "unmounted %s", fs.mountpoint);
out_unmount:
        fuse_session_unmount(fs.se);
out_signals:
        fuse_remove_signal_handlers(fs.se);
out_session:
        fuse_session_destroy(fs.se);
out:
        free(cmd.mountpoint);
        fuse_opt_free_args(&args);
        /* Sandboxes go on: their supervisors are not ours to stop. */
        _exit(ret ? 1 : 0);
}
