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
                .files = 1000, .net = SBX_NET_NONE,
                .seccomp = SBX_SECCOMP_STRICT, .kill_on_violation = true,
        },
        [SBX_TRUST_LOW] = {
                .trust = SBX_TRUST_LOW, .timeout_ms = 30 * S,
                .grace_ms = 2 * S, .cpu_ms = 30 * S, .memory = 256 * M,
                .memory_high = 192 * M, .pids = 64, .nofile = 256,
                .fsize = 64 * M, .tmp = 64 * M, .output = 8 * M,
                .files = 10000, .net = SBX_NET_NONE,
                .seccomp = SBX_SECCOMP_STRICT, .kill_on_violation = false,
        },
        [SBX_TRUST_MEDIUM] = {
                .trust = SBX_TRUST_MEDIUM, .timeout_ms = 300 * S,
                .grace_ms = 5 * S, .cpu_ms = SBX_MAX, .memory = 512 * M,
                .memory_high = 384 * M, .pids = 256, .nofile = 1024,
                .fsize = 1 * G, .tmp = 256 * M, .output = 64 * M,
                .files = 100000, .net = SBX_NET_NONE,
                .seccomp = SBX_SECCOMP_DEFAULT, .kill_on_violation = false,
        },
        [SBX_TRUST_HIGH] = {
                .trust = SBX_TRUST_HIGH, .timeout_ms = SBX_MAX,
                .grace_ms = 10 * S, .cpu_ms = SBX_MAX, .memory = 2 * G,
                .memory_high = SBX_MAX, .pids = 1024, .nofile = 4096,
                .fsize = SBX_MAX, .tmp = 1 * G, .output = 256 * M,
                .files = SBX_MAX, .net = SBX_NET_NONE,
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
};

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
                if (strcmp(value, "none") != 0) {
                        *why = g_strdup_printf("net: '%s' not supported (none)", value);
                        return -EINVAL;
                }
                cfg->net = SBX_NET_NONE;
                return 0;
        }
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
        int r = 0;

        *why = NULL;
        for (int i = 0; lines[i]; i++) {
                char *key, *value, *reason = NULL;
                if (!split_line(lines[i], &key, &value))
                        continue;
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
        g_string_append(s, "net none\n");
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
