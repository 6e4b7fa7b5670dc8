/* sbx/config.h: sandbox configuration, trust levels and limits.
 *
 * A sandbox's config file holds "key value" lines.  The word "max" means
 * no limit.  Sizes take K, M, G, T suffixes (powers of 1024); durations
 * take ms, s, m, h (a bare number is seconds).  Unknown keys and bad
 * values are refused, with a reason, and the old config stays.
 *
 *   trust        untrusted | low | medium | high   (picks the defaults)
 *   timeout      wall-clock limit per exec     (TERM, then KILL after grace)
 *   grace        time between TERM and KILL
 *   cpu          CPU time budget per exec
 *   memory       hard memory limit per exec (OOM kill)
 *   memory_high  soft memory threshold per exec (throttle + event)
 *   pids         processes/threads per exec
 *   nofile       open files per process (RLIMIT_NOFILE)
 *   fsize        largest file a process may write (RLIMIT_FSIZE)
 *   tmp          size of the sandbox's /tmp tmpfs (at sandbox start)
 *   output       bytes kept per stream (stdout, stderr) per exec
 *   files        inodes the sandbox's /tmp may hold
 *   net          none            (only none in this version)
 *   seccomp      strict | default | off
 *   on_violation kill | errno     (kill: untrusted ends the exec)
 *
 * Defaults per trust level come from the profiles file (a glib key file,
 * SBX_PROFILES_PATH or -o profiles=FILE), falling back to the built-in
 * table in lib/config.c.  docs/trust-levels.md shows the table.
 */
#ifndef SBX_CONFIG_H
#define SBX_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#define SBX_MAX            UINT64_MAX   /* "max": no limit */
#define SBX_PROFILES_PATH  "/etc/sbxfs/profiles.conf"

enum sbx_trust { SBX_TRUST_UNTRUSTED, SBX_TRUST_LOW, SBX_TRUST_MEDIUM,
                 SBX_TRUST_HIGH, SBX_TRUST_COUNT };
#define SBX_TRUST_DEFAULT SBX_TRUST_MEDIUM

enum sbx_seccomp_mode { SBX_SECCOMP_OFF, SBX_SECCOMP_DEFAULT,
                        SBX_SECCOMP_STRICT };
enum sbx_net_mode { SBX_NET_NONE };

struct sbx_config {
        enum sbx_trust trust;
        uint64_t timeout_ms;
        uint64_t grace_ms;
        uint64_t cpu_ms;
        uint64_t memory;        /* bytes */
        uint64_t memory_high;   /* bytes */
        uint64_t pids;
        uint64_t nofile;
        uint64_t fsize;         /* bytes */
        uint64_t tmp;           /* bytes */
        uint64_t output;        /* bytes per stream */
        uint64_t files;         /* inodes */
        enum sbx_net_mode net;
        enum sbx_seccomp_mode seccomp;
        bool kill_on_violation;
};

const char *sbx_trust_name(enum sbx_trust t);
int sbx_trust_parse(const char *s, enum sbx_trust *out);   /* 0 or -EINVAL */

/* Fill cfg with the defaults of trust level t: from the profiles file if
 * one was loaded, else the built-in table. */
void sbx_config_defaults(struct sbx_config *cfg, enum sbx_trust t);

/* Load profiles from a glib key file ([untrusted] timeout=10s ...).
 * A missing file is not an error (returns 0).  On a bad file returns
 * -EINVAL and sets *why to a malloc'd reason. */
int sbx_profiles_load(const char *path, char **why);

/* Apply one "key value" setting to cfg.  Returns 0, or -EINVAL with a
 * malloc'd reason in *why.  "trust X" resets every limit to X's defaults
 * first. */
int sbx_config_set(struct sbx_config *cfg, const char *key, const char *value,
                   char **why);

/* Parse a whole config text (lines of "key value", '#' comments, blank
 * lines) on top of the built-in defaults.  All or nothing: on error cfg is
 * untouched, the return is -EINVAL and *why names the line. */
int sbx_config_parse(struct sbx_config *cfg, const char *text, char **why);

/* Read <dir>/config.  A missing file gives the defaults. */
int sbx_config_load(struct sbx_config *cfg, const char *sandbox_dir,
                    char **why);

/* Render cfg as "key value" lines (every key, in the order above).
 * Returns a malloc'd string. */
char *sbx_config_format(const struct sbx_config *cfg);

/* Value parsers shared with the ctl files.  0 or -EINVAL. */
int sbx_parse_size(const char *s, uint64_t *out);       /* 64M, max */
int sbx_parse_duration_ms(const char *s, uint64_t *out);/* 10s, 500ms */
int sbx_parse_count(const char *s, uint64_t *out);      /* 100, max */

#endif
