/* config.c: trust profiles and the per-sandbox "key value" config
 * (see include/sbx/config.h). */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbx/config.h"
#include "sbx/state.h"
#include "sbx/util.h"

#define K 1024ull
#define M (1024ull * K)
#define G (1024ull * M)
#define S 1000ull        /* ms per second */

static const char *trust_names[SBX_TRUST_COUNT] = {
        "untrusted", "low", "medium", "high",
};

/* Built-in profiles.  Stricter levels get less of everything; see
 * docs/trust-levels.md, which shows this table. */
static struct sbx_config profiles[SBX_TRUST_COUNT] = {
        [SBX_TRUST_UNTRUSTED] = {
                .trust = SBX_TRUST_UNTRUSTED, .timeout_ms = 10 * S,
                .grace_ms = 1 * S, .cpu_ms = 10 * S, .memory = 128 * M,
                .memory_high = 96 * M, .pids = 32, .nofile = 64,
                .fsize = 16 * M, .tmp = 16 * M, .output = 1 * M,
                .files = 1000, .workspace = SBX_MAX, .net = SBX_NET_NONE,
                .max_requests = SBX_MAX, .max_bytes = SBX_MAX,
                .seccomp = SBX_SECCOMP_STRICT, .kill_on_violation = true,
        },
        [SBX_TRUST_LOW] = {
                .trust = SBX_TRUST_LOW, .timeout_ms = 30 * S,
                .grace_ms = 2 * S, .cpu_ms = 30 * S, .memory = 256 * M,
                .memory_high = 192 * M, .pids = 64, .nofile = 256,
                .fsize = 64 * M, .tmp = 64 * M, .output = 8 * M,
                .files = 10000, .workspace = SBX_MAX, .net = SBX_NET_NONE,
                .max_requests = SBX_MAX, .max_bytes = SBX_MAX,
                .seccomp = SBX_SECCOMP_STRICT, .kill_on_violation = false,
        },
        [SBX_TRUST_MEDIUM] = {
                .trust = SBX_TRUST_MEDIUM, .timeout_ms = 300 * S,
                .grace_ms = 5 * S, .cpu_ms = SBX_MAX, .memory = 512 * M,
                .memory_high = 384 * M, .pids = 256, .nofile = 1024,
                .fsize = 1 * G, .tmp = 256 * M, .output = 64 * M,
                .files = 100000, .workspace = SBX_MAX, .net = SBX_NET_NONE,
                .max_requests = SBX_MAX, .max_bytes = SBX_MAX,
                .seccomp = SBX_SECCOMP_DEFAULT, .kill_on_violation = false,
        },
        [SBX_TRUST_HIGH] = {
                .trust = SBX_TRUST_HIGH, .timeout_ms = SBX_MAX,
                .grace_ms = 10 * S, .cpu_ms = SBX_MAX, .memory = 2 * G,
                .memory_high = SBX_MAX, .pids = 1024, .nofile = 4096,
                .fsize = SBX_MAX, .tmp = 1 * G, .output = 256 * M,
                .files = SBX_MAX, .workspace = SBX_MAX, .net = SBX_NET_ALL,
                .max_requests = SBX_MAX, .max_bytes = SBX_MAX,
                .seccomp = SBX_SECCOMP_DEFAULT, .kill_on_violation = false,
        },
};

const char *sbx_trust_name(enum sbx_trust t)
{
        return t < SBX_TRUST_COUNT ? trust_names[t] : "unknown";
}

int sbx_trust_parse(const char *s, enum sbx_trust *out)
{
        for (int i = 0; i < SBX_TRUST_COUNT; i++)
                if (strcmp(s, trust_names[i]) == 0) {
                        *out = (enum sbx_trust)i;
                        return 0;
                }
        return -EINVAL;
}

void sbx_config_defaults(struct sbx_config *cfg, enum sbx_trust t)
{
        if (t >= SBX_TRUST_COUNT)
                t = SBX_TRUST_DEFAULT;
        *cfg = profiles[t];
}

/* Parse an unsigned number with an optional suffix from units[] (each a
 * suffix and its multiplier; "" is the bare number).  "max" is no limit. */
struct unit { const char *suffix; uint64_t mult; };

static int parse_with_units(const char *s, const struct unit *units, uint64_t *out)
{
        char *end;
        unsigned long long v;

        if (!s || !*s)
                return -EINVAL;
        if (strcmp(s, "max") == 0) {
                *out = SBX_MAX;
                return 0;
        }
        if (s[0] < '0' || s[0] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno)
                return -EINVAL;
        for (const struct unit *u = units; u->suffix; u++) {
                if (strcmp(end, u->suffix) == 0) {
                        if (u->mult && v > UINT64_MAX / u->mult - 1)
                                return -EINVAL;
                        *out = v * u->mult;
                        return 0;
                }
        }
        return -EINVAL;
}

int sbx_parse_size(const char *s, uint64_t *out)
{
        static const struct unit u[] = {
                { "", 1 }, { "K", K }, { "k", K }, { "M", M }, { "m", M },
                { "G", G }, { "g", G }, { "T", 1024 * G }, { "t", 1024 * G },
                { "KiB", K }, { "MiB", M }, { "GiB", G }, { NULL, 0 },
        };
        return parse_with_units(s, u, out);
}

int sbx_parse_duration_ms(const char *s, uint64_t *out)
{
        static const struct unit u[] = {
                { "", S }, { "s", S }, { "ms", 1 }, { "m", 60 * S },
                { "h", 3600 * S }, { NULL, 0 },
        };
        return parse_with_units(s, u, out);
}

int sbx_parse_count(const char *s, uint64_t *out)
{
        static const struct unit u[] = { { "", 1 }, { NULL, 0 } };
        return parse_with_units(s, u, out);
}

enum kind { K_SIZE, K_DURATION, K_COUNT };

static const struct field {
        const char *key;
        enum kind kind;
        size_t off;
} fields[] = {
        { "timeout", K_DURATION, offsetof(struct sbx_config, timeout_ms) },
        { "grace", K_DURATION, offsetof(struct sbx_config, grace_ms) },
        { "cpu", K_DURATION, offsetof(struct sbx_config, cpu_ms) },
        { "memory", K_SIZE, offsetof(struct sbx_config, memory) },
        { "memory_high", K_SIZE, offsetof(struct sbx_config, memory_high) },
        { "pids", K_COUNT, offsetof(struct sbx_config, pids) },
        { "nofile", K_COUNT, offsetof(struct sbx_config, nofile) },
        { "fsize", K_SIZE, offsetof(struct sbx_config, fsize) },
        { "tmp", K_SIZE, offsetof(struct sbx_config, tmp) },
        { "output", K_SIZE, offsetof(struct sbx_config, output) },
        { "files", K_COUNT, offsetof(struct sbx_config, files) },
        { "workspace", K_SIZE, offsetof(struct sbx_config, workspace) },
        { "max_requests", K_COUNT, offsetof(struct sbx_config, max_requests) },
        { "max_bytes", K_SIZE, offsetof(struct sbx_config, max_bytes) },
};

static const char *net_names[] = { "none", "allow", "all" };

static const char *seccomp_names[] = { "off", "default", "strict" };

static int set_u64_field(struct sbx_config *cfg, const struct field *f,
                         const char *value, char **why)
{
        uint64_t v;
        int r;

        switch (f->kind) {
        case K_SIZE: r = sbx_parse_size(value, &v); break;
        case K_DURATION: r = sbx_parse_duration_ms(value, &v); break;
        default: r = sbx_parse_count(value, &v); break;
        }
        if (r < 0) {
                *why = g_strdup_printf("%s: bad value '%s' (want %s or max)",
                                       f->key, value,
                                       f->kind == K_SIZE ? "a size like 64M" :
                                       f->kind == K_DURATION ? "a duration like 10s or 500ms" :
                                       "a whole number");
                return -EINVAL;
        }
        /* Limits of zero would make every exec fail in a confusing way. */
        if (v == 0 && strcmp(f->key, "grace") != 0) {
                *why = g_strdup_printf("%s: must be greater than 0", f->key);
                return -EINVAL;
        }
        *(uint64_t *)((char *)cfg + f->off) = v;
        return 0;
}

/* ---- network rules (see struct sbx_net_rule) */

static bool label_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* A DNS name: labels of [a-z0-9_-], 1..63 long, not starting or ending
 * with '-', 253 in all; or an IPv4 address.  Lower-cases s. */
static bool name_valid(char *s)
{
        size_t n = strlen(s), lab = 0;

        if (n == 0 || n > 253)
                return false;
        for (size_t i = 0; i < n; i++) {
                s[i] = g_ascii_tolower(s[i]);
                if (s[i] == '.') {
                        if (lab == 0 || s[i - 1] == '-')
                                return false;
                        lab = 0;
                } else if (label_char(s[i])) {
                        if (lab == 0 && s[i] == '-')
                                return false;
                        if (++lab > 63)
                                return false;
                } else {
                        return false;
                }
        }
        return lab > 0 && s[n - 1] != '-';
}

static bool is_ip_literal(const char *s)
{
        return g_hostname_is_ip_address(s);
}

bool sbx_net_host_valid(char *s)
{
        size_t n = strlen(s);

        if (n && s[n - 1] == '.' && n > 1)      /* "example.com." */
                s[n - 1] = '\0';
        if (strchr(s, ':'))
                return is_ip_literal(s);
        return name_valid(s);
}

static int parse_port(const char *s, unsigned *out)
{
        char *end;
        unsigned long v;

        if (!*s || *s < '0' || *s > '9')
                return -EINVAL;
        v = strtoul(s, &end, 10);
        if (*end || v == 0 || v > 65535)
                return -EINVAL;
        *out = (unsigned)v;
        return 0;
}

/* "host", "host:port", "[v6]", "[v6]:port" into host (no brackets) and
 * port (0 when absent). */
static int split_host_port(const char *s, char *host, size_t size, unsigned *port)
{
        const char *colon;
        size_t hl;

        *port = 0;
        if (s[0] == '[') {
                const char *rb = strchr(s, ']');
                if (!rb)
                        return -EINVAL;
                hl = (size_t)(rb - s - 1);
                if (hl == 0 || hl >= size)
                        return -EINVAL;
                memcpy(host, s + 1, hl);
                host[hl] = '\0';
                if (!strchr(host, ':') || !is_ip_literal(host))
                        return -EINVAL;
                if (rb[1] == '\0')
                        return 0;
                if (rb[1] != ':')
                        return -EINVAL;
                return parse_port(rb + 2, port);
        }
        colon = strchr(s, ':');
        hl = colon ? (size_t)(colon - s) : strlen(s);
        if (hl == 0 || hl >= size)
                return -EINVAL;
        memcpy(host, s, hl);
        host[hl] = '\0';
        if (colon && parse_port(colon + 1, port) < 0)
                return -EINVAL;
        return 0;
}

int sbx_net_rule_parse(const char *word, bool allow, struct sbx_net_rule *r, char **why)
{
        const char *kind = allow ? "allow" : "deny";
        char lhs[300];
        const char *eq = strchr(word, '=');
        size_t ll = eq ? (size_t)(eq - word) : strlen(word);

        *why = NULL;
        memset(r, 0, sizeof *r);
        if (ll == 0 || ll >= sizeof lhs) {
                *why = g_strdup_printf("%s: bad rule '%s'", kind, word);
                return -EINVAL;
        }
        memcpy(lhs, word, ll);
        lhs[ll] = '\0';
        const char *h = lhs;
        if (strncmp(h, "*.", 2) == 0) {
                r->wildcard = true;
                h += 2;
        }
        if (split_host_port(h, r->host, sizeof r->host, &r->port) < 0) {
                *why = g_strdup_printf("%s: bad rule '%s' (want NAME, *.SUFFIX, an IP address, "
                                       "each with an optional :PORT of 1-65535)", kind, word);
                return -EINVAL;
        }
        r->is_ip = is_ip_literal(r->host);
        if (!r->is_ip && !name_valid(r->host)) {
                *why = g_strdup_printf("%s: '%s' is not a valid host name", kind, r->host);
                return -EINVAL;
        }
        if (r->wildcard && r->is_ip) {
                *why = g_strdup_printf("%s: '%s': *. needs a domain, not an address", kind, word);
                return -EINVAL;
        }
        if (eq) {
                unsigned pp;
                if (!allow) {
                        *why = g_strdup_printf("deny: '%s': only allow rules take =ADDRESS", word);
                        return -EINVAL;
                }
                if (split_host_port(eq + 1, r->pin, sizeof r->pin, &pp) < 0 ||
                    !is_ip_literal(r->pin)) {
                        *why = g_strdup_printf("allow: '%s': after = comes an IP address with an "
                                               "optional :PORT (1.2.3.4:80, [::1]:8080)", word);
                        return -EINVAL;
                }
                r->pin_port = pp;
        }
        return 0;
}

bool sbx_net_rule_match(const struct sbx_net_rule *r, const char *host, unsigned port)
{
        if (r->port && r->port != port)
                return false;
        if (!r->wildcard)
                return g_ascii_strcasecmp(r->host, host) == 0;
        size_t hl = strlen(host), rl = strlen(r->host);
        return hl > rl + 1 && host[hl - rl - 1] == '.' &&
               g_ascii_strcasecmp(host + hl - rl, r->host) == 0;
}

/* Walk the rules of a list; stop at the first that covers host:port. */
static bool list_find(const char *list, bool allow, const char *host, unsigned port,
                      struct sbx_net_rule *found, bool *host_seen)
{
        gchar **w = g_strsplit(list, " ", -1);
        bool hit = false;

        for (int i = 0; w[i] && !hit; i++) {
                struct sbx_net_rule r;
                char *why = NULL;
                if (!*w[i] || sbx_net_rule_parse(w[i], allow, &r, &why) < 0) {
                        g_free(why);
                        continue;
                }
                if (sbx_net_rule_match(&r, host, port)) {
                        hit = true;
                        if (found)
                                *found = r;
                } else if (host_seen && (r.port = 0, sbx_net_rule_match(&r, host, port))) {
                        *host_seen = true;
                }
        }
        g_strfreev(w);
        return hit;
}

bool sbx_net_decide(const struct sbx_config *cfg, const char *host, unsigned port,
                    struct sbx_net_rule *rule, char **why)
{
        struct sbx_net_rule d;
        bool seen = false;

        *why = NULL;
        memset(rule, 0, sizeof *rule);
        if (cfg->net == SBX_NET_NONE) {
                *why = g_strdup("network is off (net none)");
                return false;
        }
        if (list_find(cfg->net_deny, false, host, port, &d, NULL)) {
                char p[16] = "";
                if (d.port)
                        snprintf(p, sizeof p, ":%u", d.port);
                *why = g_strdup_printf("denied by rule 'deny %s%s%s'", d.wildcard ? "*." : "",
                                       d.host, p);
                return false;
        }
        if (list_find(cfg->net_allow, true, host, port, rule, &seen))
                return true;
        if (cfg->net == SBX_NET_ALL)
                return true;
        if (seen)
                *why = g_strdup_printf("port %u of %s is not allowed", port, host);
        else
                *why = g_strdup_printf("%s is not on the allow list", host);
        return false;
}

/* Add the rules of value (space separated) to list, normalised.  "none"
 * empties the list. */
static int net_list_add(char *list, bool allow, const char *key, const char *value, char **why)
{
        GString *s = g_string_new(list);
        gchar **w = g_strsplit_set(value, " \t", -1);
        int r = 0;

        if (strcmp(value, "none") == 0) {
                list[0] = '\0';
                g_strfreev(w);
                g_string_free(s, TRUE);
                return 0;
        }
        for (int i = 0; w[i] && r == 0; i++) {
                struct sbx_net_rule rule;
                if (!*w[i])
                        continue;
                if ((r = sbx_net_rule_parse(w[i], allow, &rule, why)) < 0)
                        break;
                char *norm = g_ascii_strdown(w[i], -1);
                gchar **have = g_strsplit(s->str, " ", -1);
                bool dup = g_strv_contains((const gchar *const *)have, norm);
                g_strfreev(have);
                if (!dup) {
                        if (s->len)
                                g_string_append_c(s, ' ');
                        g_string_append(s, norm);
                }
                g_free(norm);
        }
        if (r == 0 && s->len >= SBX_NET_LIST_MAX) {
                *why = g_strdup_printf("%s: too many rules (%d bytes at most)", key,
                                       SBX_NET_LIST_MAX - 1);
                r = -EINVAL;
        }
        if (r == 0)
                memcpy(list, s->str, s->len + 1);
        g_strfreev(w);
        g_string_free(s, TRUE);
        return r;
}

int sbx_config_set(struct sbx_config *cfg, const char *key, const char *value,
                   char **why)
{
        *why = NULL;
        if (!value || !*value) {
                *why = g_strdup_printf("%s: missing value", key);
                return -EINVAL;
        }
        if (strcmp(key, "trust") == 0) {
                enum sbx_trust t;
                if (sbx_trust_parse(value, &t) < 0) {
                        *why = g_strdup_printf("trust: unknown level '%s' (untrusted, low, medium, high)", value);
                        return -EINVAL;
                }
                sbx_config_defaults(cfg, t);
                return 0;
        }
        for (size_t i = 0; i < G_N_ELEMENTS(fields); i++)
                if (strcmp(key, fields[i].key) == 0)
                        return set_u64_field(cfg, &fields[i], value, why);
        if (strcmp(key, "net") == 0) {
                for (int i = 0; i < 3; i++)
                        if (strcmp(value, net_names[i]) == 0) {
                                cfg->net = (enum sbx_net_mode)i;
                                return 0;
                        }
                *why = g_strdup_printf("net: unknown mode '%s' (none, allow, all)", value);
                return -EINVAL;
        }
        if (strcmp(key, "allow") == 0 || strcmp(key, "deny") == 0)
                return net_list_add(key[0] == 'a' ? cfg->net_allow : cfg->net_deny,
                                    key[0] == 'a', key, value, why);
        if (strcmp(key, "seccomp") == 0) {
                for (int i = 0; i < 3; i++)
                        if (strcmp(value, seccomp_names[i]) == 0) {
                                cfg->seccomp = (enum sbx_seccomp_mode)i;
                                return 0;
                        }
                *why = g_strdup_printf("seccomp: unknown mode '%s' (strict, default, off)", value);
                return -EINVAL;
        }
        if (strcmp(key, "on_violation") == 0) {
                if (strcmp(value, "kill") == 0)
                        cfg->kill_on_violation = true;
                else if (strcmp(value, "errno") == 0)
                        cfg->kill_on_violation = false;
                else {
                        *why = g_strdup_printf("on_violation: '%s' (kill or errno)", value);
                        return -EINVAL;
                }
                return 0;
        }
        *why = g_strdup_printf("unknown key '%s'", key);
        return -EINVAL;
}

/* Split one line into key and value (trimmed).  Returns false for blank
 * and comment lines. */
static bool split_line(char *line, char **key, char **value)
{
        char *p = g_strstrip(line);

        if (*p == '\0' || *p == '#')
                return false;
        *key = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '=')
                p++;
        if (*p) {
                *p++ = '\0';
                while (*p == ' ' || *p == '\t' || *p == '=')
                        p++;
        }
        *value = p;
        return true;
}

int sbx_config_parse(struct sbx_config *cfg, const char *text, char **why)
{
        struct sbx_config work = *cfg;
        gchar **lines = g_strsplit(text, "\n", -1);
        bool seen_allow = false, seen_deny = false;
        int r = 0;

        *why = NULL;
        for (int i = 0; lines[i]; i++) {
                char *key, *value, *reason = NULL;
                if (!split_line(lines[i], &key, &value))
                        continue;
                /* The first allow (deny) line of a text replaces the
                 * list, the ones after it add to it; "trust" resets it. */
                if (strcmp(key, "allow") == 0 && !seen_allow) {
                        work.net_allow[0] = '\0';
                        seen_allow = true;
                } else if (strcmp(key, "deny") == 0 && !seen_deny) {
                        work.net_deny[0] = '\0';
                        seen_deny = true;
                }
                r = sbx_config_set(&work, key, value, &reason);
                if (r < 0) {
                        *why = g_strdup_printf("line %d: %s", i + 1, reason);
                        g_free(reason);
                        break;
                }
        }
        g_strfreev(lines);
        if (r == 0)
                *cfg = work;
        return r;
}

int sbx_config_load(struct sbx_config *cfg, const char *sandbox_dir, char **why)
{
        char *text = NULL;
        int dfd, r;

        *why = NULL;
        sbx_config_defaults(cfg, SBX_TRUST_DEFAULT);
        dfd = open(sandbox_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                r = -errno;
                *why = g_strdup_printf("open %s: %s", sandbox_dir, g_strerror(errno));
                return r;
        }
        r = sbx_read_file(dfd, SBX_F_CONFIG, 1 << 20, &text, NULL);
        close(dfd);
        if (r == -ENOENT)
                return 0;
        if (r < 0) {
                *why = g_strdup_printf("read config: %s", g_strerror(-r));
                return r;
        }
        r = sbx_config_parse(cfg, text, why);
        free(text);
        return r;
}

/* 67108864 -> "64M": the way a person would write it back. */
static void format_size(char *buf, size_t size, uint64_t x)
{
        static const struct { char c; uint64_t m; } u[] = {
                { 'T', 1024 * G }, { 'G', G }, { 'M', M }, { 'K', K },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(u); i++)
                if (x >= u[i].m && x % u[i].m == 0) {
                        snprintf(buf, size, "%llu%c", (unsigned long long)(x / u[i].m), u[i].c);
                        return;
                }
        snprintf(buf, size, "%llu", (unsigned long long)x);
}

char *sbx_config_format(const struct sbx_config *cfg)
{
        GString *s = g_string_new(NULL);
        char v[32];

        g_string_append_printf(s, "trust %s\n", sbx_trust_name(cfg->trust));
        for (size_t i = 0; i < G_N_ELEMENTS(fields); i++) {
                uint64_t x = *(const uint64_t *)((const char *)cfg + fields[i].off);
                if (fields[i].kind == K_DURATION && x != SBX_MAX && x % 1000 == 0)
                        snprintf(v, sizeof v, "%llus", (unsigned long long)(x / 1000));
                else if (fields[i].kind == K_DURATION && x != SBX_MAX)
                        snprintf(v, sizeof v, "%llums", (unsigned long long)x);
                else if (fields[i].kind == K_SIZE && x != SBX_MAX)
                        format_size(v, sizeof v, x);
                else
                        sbx_format_u64(v, sizeof v, x);
                g_string_append_printf(s, "%s %s\n", fields[i].key, v);
        }
        g_string_append_printf(s, "net %s\n", net_names[cfg->net]);
        const char *lists[2] = { cfg->net_allow, cfg->net_deny };
        for (int l = 0; l < 2; l++) {
                gchar **w = g_strsplit(lists[l], " ", -1);
                for (int i = 0; w[i]; i++)
                        if (*w[i])
                                g_string_append_printf(s, "%s %s\n", l ? "deny" : "allow", w[i]);
                g_strfreev(w);
        }
        g_string_append_printf(s, "seccomp %s\n", seccomp_names[cfg->seccomp]);
        g_string_append_printf(s, "on_violation %s\n", cfg->kill_on_violation ? "kill" : "errno");
        /* Caller frees with free(): hand back a malloc'd copy. */
        char *out = strdup(s->str);
        g_string_free(s, TRUE);
        return out;
}

int sbx_profiles_load(const char *path, char **why)
{
        GKeyFile *kf = g_key_file_new();
        GError *err = NULL;
        struct sbx_config loaded[SBX_TRUST_COUNT];
        int r = 0;

        *why = NULL;
        if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &err)) {
                if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
                        g_error_free(err);
                        g_key_file_free(kf);
                        return 0;
                }
                *why = g_strdup_printf("%s: %s", path, err->message);
                g_error_free(err);
                g_key_file_free(kf);
                return -EINVAL;
        }
        memcpy(loaded, profiles, sizeof loaded);
        for (int t = 0; t < SBX_TRUST_COUNT && r == 0; t++) {
                gchar **keys = g_key_file_get_keys(kf, trust_names[t], NULL, NULL);
                for (int i = 0; keys && keys[i] && r == 0; i++) {
                        gchar *v = g_key_file_get_string(kf, trust_names[t], keys[i], NULL);
                        char *reason = NULL;
                        if (strcmp(keys[i], "trust") == 0) {
                                reason = g_strdup("trust cannot be set inside a profile");
                                r = -EINVAL;
                        } else {
                                r = sbx_config_set(&loaded[t], keys[i], v ? g_strstrip(v) : "", &reason);
                        }
                        if (r < 0)
                                *why = g_strdup_printf("%s: [%s] %s", path, trust_names[t], reason);
                        g_free(reason);
                        g_free(v);
                }
                g_strfreev(keys);
        }
        /* A group that is not a trust level is most likely a typo. */
        gchar **groups = g_key_file_get_groups(kf, NULL);
        for (int i = 0; groups[i] && r == 0; i++) {
                enum sbx_trust t;
                if (sbx_trust_parse(groups[i], &t) < 0) {
                        *why = g_strdup_printf("%s: unknown profile [%s]", path, groups[i]);
                        r = -EINVAL;
                }
        }
        g_strfreev(groups);
        g_key_file_free(kf);
        if (r == 0)
                memcpy(profiles, loaded, sizeof loaded);
        return r;
}
