/* seccomp.h: the syscall filter (libseccomp), built once per profile.
 *
 * Filters are compiled to BPF once per (mode, on_violation) pair and kept
 * for the supervisor's life; an exec only installs the ready program
 * (building per exec costs ~1.5 ms, installing ~0.3 ms).
 *
 * Denied syscalls do not die silently: the filter returns
 * SECCOMP_RET_USER_NOTIF for them, the exec's child hands the listener fd
 * to the supervisor, and the supervisor records the syscall by name, then
 * answers EPERM (or, with kill_on_violation, kills the exec and ends it as
 * "security-violation SYSCALL").
 */
#ifndef SBX_SECCOMP_H
#define SBX_SECCOMP_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sbx/config.h"

/* The compiled program for a mode.  Returns NULL for SBX_SECCOMP_OFF.
 * On failure returns NULL and sets *why (malloc'd).  The returned program
 * is owned by the module and lives until exit. */
const struct sock_fprog *sbx_seccomp_program(enum sbx_seccomp_mode mode,
                                             char **why);

/* In the exec child, after no_new_privs: install prog with
 * SECCOMP_FILTER_FLAG_NEW_LISTENER.  Returns the listener fd or -errno. */
int sbx_seccomp_install(const struct sock_fprog *prog);

/* Supervisor side: one notification is ready on listener fd.  Reads it
 * and names the syscall (e.g. "unshare") into name; *id is for the
 * answer.  Returns 0, or -errno (-ENOENT when the target is gone). */
int sbx_seccomp_recv(int listener, char *name, size_t name_size, uint64_t *id);

/* Answer notification id with EPERM.  The caller may kill the process
 * first, so that it never runs again after the denied call.  Returns 0
 * (also when the target has gone meanwhile) or -errno. */
int sbx_seccomp_deny(int listener, uint64_t id);

#endif
