/* sandbox.h: the sandbox's namespaces and root, and spawning into them.
 *
 * sbx_sandbox_start makes the sandbox's pid 1 ("init"): a child of the
 * supervisor in new user, pid, mount, net, ipc, uts and cgroup namespaces.
 * Root inside maps to uidbase..uidbase+65535 on the host.  init builds the
 * root (read-only host /usr and friends, minimal /etc and /dev, fresh
 * /proc, tmpfs /tmp, persistent /workspace, read-only /run/sbx/scripts),
 * pivot_roots into it, brings lo up, sets the hostname, then only reaps
 * orphans.  It dies with the supervisor (PR_SET_PDEATHSIG).
 *
 * sbx_sandbox_spawn starts one exec: a short-lived helper joins the exec's
 * cgroup, enters init's namespaces (setns on init's pidfd), and clones the
 * exec process with CLONE_PARENT, so the supervisor is its parent and gets
 * its exit status from waitpid.  The exec process then drops everything
 * (see spawn.c) and calls execve.
 */
#ifndef SBX_SANDBOX_H
#define SBX_SANDBOX_H

#include <linux/filter.h>
#include <stdbool.h>
#include <sys/types.h>
#include "sbx/config.h"
#include "cgroup.h"

/* Where the supervisor's scripts directory appears inside the sandbox. */
#define SBX_SCRIPTS_INSIDE "/run/sbx/scripts"
#define SBX_D_SCRIPTS      "scripts"     /* <state>/<name>/scripts/<n> */

struct sbx_sandbox {
        char *name;
        char *dir;              /* <state>/<name> */
        uid_t uidbase;          /* host uid of root inside */
        pid_t init_pid;         /* host pid */
        int init_pidfd;
        struct sbx_cg cg;       /* the sandbox cgroup */
        struct sbx_cg init_cg;  /* <sandbox cgroup>/init */
};

/* Where main's argv and environ strings lie (one block on the stack),
 * set by main; init wipes them. */
struct sbx_host_strings {
        char *start;
        size_t len;
};
extern struct sbx_host_strings sbx_host_strings;

/* Start init.  cfg gives the /tmp size and inode count.  On failure
 * returns -errno and sets *why. */
int sbx_sandbox_start(struct sbx_sandbox *sb, const char *dir,
                      const char *name, uid_t uidbase,
                      const struct sbx_config *cfg, char **why);

struct sbx_spawn {
        char *const *argv;              /* argv[0] is the path inside */
        char *const *envp;
        int stdin_fd, stdout_fd, stderr_fd;
        const struct sbx_cg *cg;        /* the exec's cgroup */
        const struct sbx_config *cfg;   /* rlimits: nofile, fsize, cpu */
        const struct sock_fprog *filter;/* NULL: no seccomp */
};

/* Start one exec.  Returns the exec's host pid (a child of the caller),
 * or -errno with *why.  When filter is set, *listener receives the
 * seccomp notification fd (else -1).  Startup failures that happen in
 * the child after it exists (execve ENOENT, say) are reported the same
 * way: the child is reaped and -errno returned. */
pid_t sbx_sandbox_spawn(struct sbx_sandbox *sb, const struct sbx_spawn *sp,
                        int *listener, char **why);

/* Kill init (and so every process in the sandbox), reap it, close fds. */
void sbx_sandbox_stop(struct sbx_sandbox *sb);

/* Allocate (or read back) this sandbox's uid range: <dir>/uidbase, unique
 * among the sandboxes of <state>.  Returns 0 or -errno. */
int sbx_uidbase_get(const char *state_dir, const char *dir, uid_t *out,
                    char **why);

#endif
