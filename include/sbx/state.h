/* sbx/state.h: the state directory, the contract between sbxfs and
 * sbx-supervisor.
 *
 * The state directory is the source of truth.  sbxfs only renders it;
 * sbx-supervisor owns one sandbox directory each.  Either program can die
 * and be restarted without losing anything that is on disk.
 *
 *   <state>/events                 root event log (append-only lines)
 *   <state>/<name>/                one sandbox (created by sbxfs)
 *     config                       "key value" lines (sbx/config.h); sbxfs
 *                                  writes it atomically, the supervisor
 *                                  re-reads it before every exec
 *     env                          KEY=VALUE lines, extra environment
 *     sock                         supervisor's unix socket (sbx/protocol.h)
 *     supervisor.pid               decimal pid of the live supervisor
 *     init.pid                     host pid of the sandbox's pid 1 (its
 *                                  /proc/<pid>/root is the sandbox's /)
 *     uidbase                      first host uid of the sandbox's range
 *     events                       sandbox event log (append-only lines)
 *     metrics                      sandbox totals, "key value" (atomic)
 *     destroying                   present while a destroy is under way
 *     workspace/                   the sandbox's persistent /workspace
 *     execs/<n>/                   one exec, n = 1, 2, 3 ... never reused
 *       cmd                        what was written to ctl/exec
 *       stdin                      FIFO: bytes written reach the process
 *       stdout, stderr             append-only output logs (capped)
 *       status                     one line, see SBX_STATUS_* below (atomic)
 *       metrics                    "key value" lines (atomic, at the end)
 *       violations                 "SYSCALL COUNT" lines (seccomp)
 *     ports/<port>/                an exposed port (sbxfs only; 0700)
 *       token                      its preview token, made at first use
 *       tcp                        present while a raw TCP forward is on:
 *                                  the host loopback port it listens on
 *   <state>/preview.addr           "ADDR:PORT" of the preview listener
 *
 * Exec directories are built as execs/.<n>.tmp and renamed into place, so
 * a watcher of execs/ sees one IN_MOVED_TO per new exec and never a
 * half-made directory.  status and metrics are written to a temporary name
 * and renamed over the old file, so a reader never sees a torn line.
 * Output logs only grow.
 */
#ifndef SBX_STATE_H
#define SBX_STATE_H

#define SBX_STATE_DEFAULT      "/var/lib/sbxfs"

#define SBX_F_EVENTS           "events"
#define SBX_F_CONFIG           "config"
#define SBX_F_ENV              "env"
#define SBX_F_SOCK             "sock"
#define SBX_F_PID              "supervisor.pid"
#define SBX_F_INITPID          "init.pid"
#define SBX_F_UIDBASE          "uidbase"
#define SBX_F_METRICS          "metrics"
#define SBX_F_DESTROYING       "destroying"
#define SBX_D_WORKSPACE        "workspace"
#define SBX_D_EXECS            "execs"
#define SBX_D_ROOT             ".root"   /* mount point for the new root */
#define SBX_D_PORTS            "ports"   /* ports/<port>/ (sbxfs) */
#define SBX_P_TOKEN            "token"
#define SBX_P_TCP              "tcp"
#define SBX_F_PREVIEW          "preview.addr"

#define SBX_E_CMD              "cmd"
#define SBX_E_STDIN            "stdin"
#define SBX_E_STDOUT           "stdout"
#define SBX_E_STDERR           "stderr"
#define SBX_E_STATUS           "status"
#define SBX_E_METRICS          "metrics"
#define SBX_E_VIOLATIONS       "violations"

/* The status file holds one line: the first word is the state or the end
 * reason; notes that do not end the exec follow as extra words.
 *   running
 *   exited CODE                    normal exit
 *   killed SIGNAME                 a signal (from ctl/kill or the code)
 *   timeout                        wall-clock limit (SANDBOX_TIMEOUT)
 *   cpu-limit                      CPU time budget used up
 *   memory-limit                   OOM kill in the exec's cgroup
 *                                  (SANDBOX_MEMORY_LIMIT)
 *   security-violation SYSCALL     seccomp, untrusted profile
 *                                  (SANDBOX_SECURITY_VIOLATION)
 *   lost                           the supervisor died while it ran
 *   failed REASON                  could not be started (e.g. ENOENT)
 * Notes, appended after the reason when they apply:
 *   output-truncated  pids-limit  network-blocked  security-violation
 */
#define SBX_STATUS_RUNNING     "running"

/* Sandbox names: DNS label rules, so that a name fits in a preview URL. */
#define SBX_NAME_MAX           63

/* Largest script accepted by ctl/exec.  More gives EFBIG. */
#define SBX_EXEC_MAX_BYTES     (16u << 20)

/* Host uid ranges: sandbox slot k maps root inside to
 * SBX_UID_FIRST + k * SBX_UID_COUNT on the host. */
#define SBX_UID_FIRST          1073741824u   /* 2^30: far above /etc/subuid */
#define SBX_UID_COUNT          65536u
#define SBX_UID_SLOTS          16384u

#endif
