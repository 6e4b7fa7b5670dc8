/* workspace.h: the size-limited /workspace (workspace.c). */
#ifndef SBX_WORKSPACE_H
#define SBX_WORKSPACE_H

#include <stdint.h>
#include <sys/types.h>

/* Mount <dir>/workspace.img (made on first use, size bytes, root inside
 * as owner) on <dir>/workspace.  0 or -errno with *why. */
int sbx_workspace_mount(const char *dir, uint64_t size, uid_t owner, char **why);

/* Undo it (lazy unmount; the loop device is cleared with the mount). */
void sbx_workspace_umount(const char *dir);

#endif
