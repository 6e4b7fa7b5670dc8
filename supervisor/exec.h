/* exec.h: one exec's life in the supervisor (exec.c). */
#ifndef SBX_EXEC_H
#define SBX_EXEC_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "sandbox.h"
#include "sbx/config.h"

/* The supervisor's state, shared by main.c and exec.c. */
struct sup {
        char *state_dir, *dir, *name;
        int state_fd, dir_fd, execs_fd;
        struct sbx_sandbox sb;
        GHashTable *execs;      /* exec number -> struct exec*, running ones */
        unsigned next;          /* next exec number */
        bool destroying;
        GMainLoop *loop;
        /* sandbox totals, kept in <dir>/metrics */
        uint64_t n_execs, cpu_user_ms, cpu_sys_ms, mem_peak, out_bytes, err_bytes,
                 oom_kills, violations, timeouts;
        /* network (proxy.c): requests let out, refusals (by the proxy, and
         * direct connections that found no route), bytes both ways */
        uint64_t net_requests, net_blocked, net_bytes_in, net_bytes_out;
        uint64_t noroute_seen;  /* OutNoRoutes already counted in net_blocked */
};

/* Rewrite <dir>/metrics from the totals. */
void exec_update_metrics(struct sup *s);

/* Start exec: returns its number (> 0), or -errno with *why. */
int exec_start(struct sup *s, const char *body, size_t len, char **why);

/* kill N SIG: 0, -ENOENT (no such exec), -ESRCH (already ended). */
int exec_kill(struct sup *s, unsigned n, int sig);

/* stdin-close N */
int exec_stdin_close(struct sup *s, unsigned n);

/* Kill every running exec and wait for them (destroy, shutdown). */
void exec_kill_all(struct sup *s, const char *reason);

/* Sandbox totals as a previous supervisor left them in <dir>/metrics,
 * so that a restart carries on counting. */
void exec_load_totals(struct sup *s);

/* Mark execs left "running" by a dead supervisor as lost. */
void exec_mark_lost(struct sup *s);

/* Highest exec number on disk + 1. */
unsigned exec_next_number(struct sup *s);

#endif
