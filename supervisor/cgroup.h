/* cgroup.h: cgroups for a sandbox and its execs, v2 or v1, found at run
 * time.
 *
 * Each controller we use (memory, pids, cpu accounting) is taken from the
 * v2 hierarchy when the v2 root lists it in cgroup.controllers, else from
 * the v1 hierarchy that has it mounted.  The v2 hierarchy, when mounted
 * (on hybrid hosts at /sys/fs/cgroup/unified), is also used for
 * cgroup.kill and cgroup.events even with no controllers.
 *
 * Every cgroup is created beneath the supervisor's own cgroup in that
 * hierarchy (from /proc/self/cgroup), never elsewhere, and removed by
 * sbx_cg_remove.  Layout, in each hierarchy used:
 *
 *   <own>/sbx-<name>-<supervisor pid>/          the sandbox (cgroup ns root)
 *   <own>/sbx-<name>-<supervisor pid>/init      the sandbox's pid 1
 *   <own>/sbx-<name>-<supervisor pid>/exec-<n>  one exec's process tree
 *
 * A directory that already exists is never shared: creating it fails.
 */
#ifndef SBX_CGROUP_H
#define SBX_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "sbx/config.h"

enum sbx_cg_hier { SBX_CG_UNIFIED, SBX_CG_MEMORY, SBX_CG_PIDS, SBX_CG_CPU,
                   SBX_CG_NHIER };

/* One cgroup, as a directory path in each hierarchy used (NULL where the
 * hierarchy is not available). */
struct sbx_cg {
        char *path[SBX_CG_NHIER];
        char *procs[SBX_CG_NHIER];   /* cgroup.procs, precomputed for
                                      * sbx_cg_enter (no allocation) */
};

struct sbx_cg_stats {
        uint64_t cpu_user_us, cpu_sys_us;
        uint64_t mem_peak;          /* bytes */
        uint64_t pids_peak;
        uint64_t pids_max_events;   /* forks refused by pids.max */
        uint64_t oom_kills;
        uint64_t mem_high_events;   /* times memory_high was crossed */
        uint64_t io_read, io_write; /* bytes */
        uint64_t throttled_us;
};

/* Detect hierarchies and the supervisor's own cgroup in each.  Call once.
 * Returns 0 or -errno with *why. */
int sbx_cg_init(char **why);

/* Which limits this host can enforce (for an event line at start-up). */
const char *sbx_cg_describe(void);

/* Create the sandbox cgroup ("sbx-<name>-<pid>" under our own). */
int sbx_cg_create_sandbox(struct sbx_cg *out, const char *name, char **why);

/* Create parent/<child> ("init", "exec-3"); with cfg non-NULL, apply the
 * limits memory, memory_high, pids and cpu (cpu: accounting only; the
 * budget is enforced with RLIMIT_CPU and checked against the usage). */
int sbx_cg_create_child(struct sbx_cg *out, const struct sbx_cg *parent,
                        const char *child, const struct sbx_config *cfg,
                        char **why);

/* Write pids.max (SBX_MAX: "max").  sbx_cg_create_child sets one more
 * than cfg->pids, room for the spawn helper; after the spawn the caller
 * sets cfg->pids.  Returns 0 or -errno. */
int sbx_cg_set_pids(const struct sbx_cg *cg, uint64_t pids);

/* Move the calling process into cg in every hierarchy (writes "0" to each
 * cgroup.procs).  Safe between fork and exec (no allocation).
 * Returns 0 or -errno. */
int sbx_cg_enter(const struct sbx_cg *cg);

/* Read usage figures.  Missing files leave their fields at 0. */
void sbx_cg_stats(const struct sbx_cg *cg, struct sbx_cg_stats *st);

/* True when no process is left in cg. */
bool sbx_cg_empty(const struct sbx_cg *cg);

/* SIGKILL every process in cg (cgroup.kill on v2, else a loop over
 * cgroup.procs until empty).  Returns 0 or -errno. */
int sbx_cg_kill(const struct sbx_cg *cg);

/* Signal every process in cg with sig (for TERM before KILL). */
int sbx_cg_signal(const struct sbx_cg *cg, int sig);

/* Kill what is left, then rmdir in every hierarchy; frees the paths.
 * Waits (sleeping) for killed processes to leave: for shutdown paths. */
int sbx_cg_remove(struct sbx_cg *cg);

/* rmdir in every hierarchy if no process is left, and free the paths;
 * -EBUSY (paths kept) while processes remain.  Never waits. */
int sbx_cg_try_remove(struct sbx_cg *cg);

/* Total CPU time used in cg, in microseconds (0 if unknown). */
uint64_t sbx_cg_cpu_us(const struct sbx_cg *cg);

/* The sandbox cgroup's directories are recorded in <dir>/.cgroups (a
 * hidden name, never shown by sbxfs), so that a supervisor started after
 * a crash of the previous one removes what it left behind.  save writes
 * the record; clean_stale (after sbx_cg_init) removes the recorded
 * directories, only ever sbx-* ones directly below our own cgroup, and
 * the record. */
#define SBX_CG_RECORD ".cgroups"
int sbx_cg_save(const struct sbx_cg *cg, int dirfd);
void sbx_cg_clean_stale(int dirfd);

/* Free the paths without touching the cgroups. */
void sbx_cg_free(struct sbx_cg *cg);

/* Parsers, exposed for the unit tests.  sbx_cg_parse_self finds hierarchy
 * h's path in /proc/self/cgroup text (malloc'd, g_free); sbx_cg_keyed reads
 * "key N" from flat-keyed text (cpu.stat, memory.events), 0 if absent. */
int sbx_cg_parse_self(const char *text, int h, char **path);
uint64_t sbx_cg_keyed(const char *text, const char *key);

#endif
