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
 *   workspace    size of /workspace (max: a plain directory; a size: an
 *                ext4 image of that size, made at the sandbox's first start)
 *   net          none | allow | all   (egress through the sandbox's proxy;
 *                none: nothing leaves; allow: only what allow rules name;
 *                all: any public address, deny rules still apply)
 *   allow        RULE...  (one line per rule when formatted; the first allow
 *                line of a write replaces the list, later ones append;
 *                "allow none" empties it)
 *   deny         RULE...  (the same; deny wins over allow)
 *   max_requests proxied requests per sandbox (since the net keys last changed)
 *   max_bytes    proxied bytes, both ways, per sandbox (likewise)
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
enum sbx_net_mode { SBX_NET_NONE, SBX_NET_ALLOW, SBX_NET_ALL };

/* Room for the allow and deny lists: rules, space separated, normalised
 * (lower case).  A longer list is refused. */
#define SBX_NET_LIST_MAX 4096

/* One allow/deny rule:
 *   HOST[:PORT][=ADDR[:PORT2]]
 * HOST is a name (example.com), a suffix pattern (*.example.com: any name
 * below it, not example.com itself), an IPv4 address or [IPv6].  PORT
 * limits the rule to that port (default: any).  =ADDR (allow only) pins
 * the name to an address literal: the proxy connects there (to PORT2, or
 * the port asked for) without resolving, even when ADDR is loopback or
 * private. */
struct sbx_net_rule {
        char host[256];         /* lower case; for *.x the "x" part */
        bool wildcard;          /* *.host */
        bool is_ip;             /* host is an address literal (no brackets) */
        unsigned port;          /* 0: any */
        char pin[64];           /* address literal, "" when not pinned */
        unsigned pin_port;      /* 0: the port asked for */
};

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
        uint64_t workspace;     /* bytes of /workspace (an image), at start */
        enum sbx_net_mode net;
        char net_allow[SBX_NET_LIST_MAX];       /* rules, space separated */
        char net_deny[SBX_NET_LIST_MAX];
        uint64_t max_requests;
        uint64_t max_bytes;
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

/* Parse one allow (allow=true) or deny rule.  0, or -EINVAL with a
 * malloc'd reason in *why. */
int sbx_net_rule_parse(const char *word, bool allow, struct sbx_net_rule *out,
                       char **why);

/* Does rule r cover host:port?  host is lower case, without brackets. */
bool sbx_net_rule_match(const struct sbx_net_rule *r, const char *host,
                        unsigned port);

/* Is s a name or address the proxy may be asked for (what a rule's HOST
 * may be, without '*.')?  Lower-cases s in place. */
bool sbx_net_host_valid(char *s);

/* The policy's answer for host:port (host lower case, no brackets):
 * true = allowed, with the matching allow rule in *rule (rule->host[0]
 * is 0 when none matched: net all); false = blocked, with a malloc'd
 * reason in *why.  Quotas and address checks are the proxy's. */
bool sbx_net_decide(const struct sbx_config *cfg, const char *host,
                    unsigned port, struct sbx_net_rule *rule, char **why);

/* Value parsers shared with the ctl files.  0 or -EINVAL. */
int sbx_parse_size(const char *s, uint64_t *out);       /* 64M, max */
int sbx_parse_duration_ms(const char *s, uint64_t *out);/* 10s, 500ms */
int sbx_parse_count(const char *s, uint64_t *out);      /* 100, max */

#endif
