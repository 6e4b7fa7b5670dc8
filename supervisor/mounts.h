/* mounts.h: building the sandbox's root (run by init, see mounts.c). */
#ifndef SBX_MOUNTS_H
#define SBX_MOUNTS_H

#include "sbx/config.h"

/* In init, inside the new user and mount namespaces: build the root under
 * <dir>/.root and pivot_root into it.  Returns 0, or -1 with *why. */
int sbx_mounts_build(const char *dir, const char *name, const struct sbx_config *cfg,
                     char **why);

#endif
