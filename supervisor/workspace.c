/* workspace.c: an optional size limit for /workspace.
 *
 * /workspace is kept in the state directory, on the host's disk, so
 * without a limit a sandbox could fill that disk.  With `workspace SIZE`
 * in the config, the workspace is an ext4 image of that size
 * (<dir>/workspace.img, sparse), loop-mounted by the supervisor on
 * <dir>/workspace before the namespaces are made; init then binds it as
 * before.  A full workspace answers ENOSPC inside.  The size is fixed when
 * the image is made (at the sandbox's first start).  Without the key the
 * workspace is a plain directory (no image, no mkfs: cold start stays
 * fast).  ext4 cannot be mounted inside a user namespace, so this is done
 * here, on the host side, and undone by sbx_workspace_umount. */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "workspace.h"

#define IMAGE "workspace.img"

static bool is_mounted(const char *dir, const char *ws)
{
        struct stat a, b;
        return stat(dir, &a) == 0 && stat(ws, &b) == 0 && a.st_dev != b.st_dev;
}

static int run(char **argv, char **why);

static int make_image(const char *img, uint64_t size, uid_t owner, char **why)
{
        int fd = open(img, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
                *why = g_strdup_printf("create %s: %s", img, g_strerror(errno));
                return -errno;
        }
        if (ftruncate(fd, (off_t)size) < 0) {
                int e = errno;
                close(fd);
                unlink(img);
                *why = g_strdup_printf("size %s: %s", img, g_strerror(e));
                return -e;
        }
        close(fd);
        char *ro = g_strdup_printf("root_owner=%u:%u", owner, owner);
        char *argv[] = { "mkfs.ext4", "-q", "-F", "-m", "0", "-E", ro, (char *)img, NULL };
        int r = run(argv, why);
        g_free(ro);
        if (r < 0) {
                unlink(img);
                return r;
        }
        return 0;
}

/* Run argv (found on PATH); 0 when it exits 0. */
static int run(char **argv, char **why)
{
        gint status = 0;
        GError *err = NULL;
        gboolean ok = g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                                   NULL, NULL, NULL, NULL, &status, &err);

        if (!ok || !g_spawn_check_wait_status(status, NULL)) {
                *why = g_strdup_printf("%s for the workspace failed%s%s", argv[0],
                                       err ? ": " : "", err ? err->message : "");
                g_clear_error(&err);
                return -EIO;
        }
        return 0;
}

int sbx_workspace_mount(const char *dir, uint64_t size, uid_t owner, char **why)
{
        char *ws = g_build_filename(dir, "workspace", NULL);
        char *img = g_build_filename(dir, IMAGE, NULL);
        int r = 0;

        if (is_mounted(dir, ws))
                goto out;               /* left by a supervisor that died */
        if (access(img, F_OK) < 0 && (r = make_image(img, size, owner, why)) < 0)
                goto out;
        /* mount(8) sets the loop device up (autoclear) and tears it down
         * again on failure: no need to redo losetup here. */
        char *argv[] = { "mount", "-t", "ext4", "-o", "loop,nosuid,nodev", img, ws, NULL };
        r = run(argv, why);
out:
        g_free(ws);
        g_free(img);
        return r;
}

void sbx_workspace_umount(const char *dir)
{
        char *ws = g_build_filename(dir, "workspace", NULL);

        if (is_mounted(dir, ws))
                umount2(ws, MNT_DETACH);
        g_free(ws);
}
