/* nodes.c: the tree's shape and its inode numbers.
 *
 * Every file sbxfs shows is a (kind, sandbox, exec) triple.  The first
 * time a triple is looked up it gets the next inode number, and keeps it
 * for the daemon's life (nodes are small and never freed, so the kernel's
 * FORGET needs no bookkeeping).  Entries are given with a zero timeout, so
 * the kernel asks again each time and a destroyed sandbox or a new exec is
 * seen at once. */
#include <stdio.h>
#include <string.h>

#include "sbxfs.h"
#include "sbx/state.h"

#define DIR_RX   (S_IFDIR | 0755)
#define FILE_R   (S_IFREG | 0444)
#define FILE_W   (S_IFREG | 0200)
#define FILE_RW  (S_IFREG | 0644)

const struct kind_info kinds[K_COUNT] = {
        [K_ROOT]              = { NULL,           DIR_RX,  NULL },
        [K_ROOT_CTL]          = { "ctl",          FILE_W,  NULL },
        [K_ROOT_CLONE]        = { "clone",        FILE_R,  NULL },
        [K_ROOT_EVENTS]       = { "events",       FILE_R,  SBX_F_EVENTS },
        [K_BOX]               = { NULL,           DIR_RX,  NULL },
        [K_BOX_CTLDIR]        = { "ctl",          DIR_RX,  NULL },
        [K_BOX_CTL_EXEC]      = { "exec",         S_IFREG | 0600, NULL },
        [K_BOX_CTL_KILL]      = { "kill",         FILE_W,  NULL },
        [K_BOX_CONFIG]        = { "config",       FILE_RW, SBX_F_CONFIG },
        [K_BOX_ENV]           = { "env",          FILE_RW, SBX_F_ENV },
        [K_BOX_STATUS]        = { "status",       FILE_R,  NULL },
        [K_BOX_METRICS]       = { "metrics",      FILE_R,  SBX_F_METRICS },
        [K_BOX_METRICS_JSON]  = { "metrics.json", FILE_R,  NULL },
        [K_BOX_EVENTS]        = { "events",       FILE_R,  SBX_F_EVENTS },
        [K_BOX_EXECS]         = { "execs",        DIR_RX,  NULL },
        [K_EXECS_LAST]        = { "last",         S_IFLNK | 0777, NULL },
        [K_EXEC]              = { NULL,           DIR_RX,  NULL },
        [K_EXEC_CMD]          = { "cmd",          FILE_R,  SBX_E_CMD },
        [K_EXEC_STDIN]        = { "stdin",        FILE_W,  SBX_E_STDIN },
        [K_EXEC_STDOUT]       = { "stdout",       FILE_R,  SBX_E_STDOUT },
        [K_EXEC_STDERR]       = { "stderr",       FILE_R,  SBX_E_STDERR },
        [K_EXEC_STATUS]       = { "status",       FILE_R,  SBX_E_STATUS },
        [K_EXEC_WAIT]         = { "wait",         FILE_R,  SBX_E_STATUS },
        [K_EXEC_METRICS]      = { "metrics",      FILE_R,  SBX_E_METRICS },
        [K_EXEC_METRICS_JSON] = { "metrics.json", FILE_R,  NULL },
        [K_EXEC_VIOLATIONS]   = { "violations",   FILE_R,  SBX_E_VIOLATIONS },
        [K_EXEC_CTL]          = { "ctl",          FILE_W,  NULL },
        [K_BOX_PORTS]         = { "ports",        DIR_RX,  NULL },      /* ports.c */
        [K_PORT]              = { NULL,           DIR_RX,  NULL },
        [K_PORT_URL]          = { "url",          FILE_R,  NULL },
        [K_PORT_TOKEN]        = { "token",        S_IFREG | 0600, NULL },
        [K_PORT_STATUS]       = { "status",       FILE_R,  NULL },
        [K_PORT_READY]        = { "ready",        FILE_R,  NULL },
        [K_PORT_CTL]          = { "ctl",          FILE_W,  NULL },
        [K_PORT_TCP]          = { "tcp",          FILE_R,  NULL },
};

static const enum kind root_children[] = { K_ROOT_CTL, K_ROOT_CLONE, K_ROOT_EVENTS };
static const enum kind box_children[] = {
        K_BOX_CTLDIR, K_BOX_CONFIG, K_BOX_ENV, K_BOX_STATUS, K_BOX_METRICS,
        K_BOX_METRICS_JSON, K_BOX_EVENTS, K_BOX_EXECS, K_BOX_PORTS,
};
static const enum kind ctldir_children[] = { K_BOX_CTL_EXEC, K_BOX_CTL_KILL };
static const enum kind execs_children[] = { K_EXECS_LAST };
static const enum kind exec_children[] = {
        K_EXEC_CMD, K_EXEC_STDIN, K_EXEC_STDOUT, K_EXEC_STDERR, K_EXEC_STATUS,
        K_EXEC_WAIT, K_EXEC_METRICS, K_EXEC_METRICS_JSON, K_EXEC_VIOLATIONS,
        K_EXEC_CTL,
};
static const enum kind port_children[] = {
        K_PORT_URL, K_PORT_TOKEN, K_PORT_STATUS, K_PORT_READY, K_PORT_CTL, K_PORT_TCP,
};

const enum kind *node_children(enum kind dir, size_t *n)
{
#define RET(a) do { *n = G_N_ELEMENTS(a); return a; } while (0)
        switch (dir) {
        case K_ROOT:       RET(root_children);
        case K_BOX:        RET(box_children);
        case K_BOX_CTLDIR: RET(ctldir_children);
        case K_BOX_EXECS:  RET(execs_children);
        case K_EXEC:       RET(exec_children);
        case K_PORT:       RET(port_children);
        default:           *n = 0; return NULL;
        }
#undef RET
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static GHashTable *by_path;     /* path -> node */
static GPtrArray *by_ino;       /* ino - 1 -> node */

/* The path of a node below the mount: "box1/execs/3/stdout". */
static char *make_path(enum kind k, const char *box, unsigned exec)
{
        if (ports_kind(k))
                return ports_make_path(k, box, exec);
        switch (k) {
        case K_ROOT:
                return g_strdup("");
        case K_ROOT_CTL: case K_ROOT_CLONE: case K_ROOT_EVENTS:
                return g_strdup(kinds[k].name);
        case K_BOX:
                return g_strdup(box);
        case K_BOX_CTL_EXEC: case K_BOX_CTL_KILL:
                return g_strdup_printf("%s/ctl/%s", box, kinds[k].name);
        case K_EXECS_LAST:
                return g_strdup_printf("%s/execs/last", box);
        case K_EXEC:
                return g_strdup_printf("%s/execs/%u", box, exec);
        default:
                if (k >= K_EXEC_CMD)
                        return g_strdup_printf("%s/execs/%u/%s", box, exec, kinds[k].name);
                return g_strdup_printf("%s/%s", box, kinds[k].name);
        }
}

void nodes_init(void)
{
        by_path = g_hash_table_new(g_str_hash, g_str_equal);
        by_ino = g_ptr_array_new();
        node_get(K_ROOT, NULL, 0);      /* inode 1, FUSE_ROOT_ID */
}

struct node *node_get(enum kind k, const char *box, unsigned exec)
{
        char *path = make_path(k, box, exec);
        struct node *nd;

        pthread_mutex_lock(&lock);
        nd = g_hash_table_lookup(by_path, path);
        if (!nd) {
                nd = g_new0(struct node, 1);
                nd->kind = k;
                nd->box = box ? g_strdup(box) : NULL;
                nd->exec = exec;
                nd->path = path;
                g_ptr_array_add(by_ino, nd);
                nd->ino = by_ino->len;
                g_hash_table_insert(by_path, nd->path, nd);
                path = NULL;
        }
        pthread_mutex_unlock(&lock);
        g_free(path);
        return nd;
}

struct node *node_by_ino(fuse_ino_t ino)
{
        struct node *nd = NULL;

        pthread_mutex_lock(&lock);
        if (ino >= 1 && ino <= by_ino->len)
                nd = g_ptr_array_index(by_ino, ino - 1);
        pthread_mutex_unlock(&lock);
        return nd;
}
