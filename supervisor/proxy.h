/* proxy.h: the sandbox's egress proxy (proxy.c).
 *
 * The sandbox's network namespace has only lo.  The supervisor listens on
 * 127.0.0.1:3128 *inside* that namespace (the socket is made by a
 * short-lived thread that setns()es into init's netns; a socket keeps the
 * namespace it was made in) and serves it from its main loop: an HTTP
 * forward proxy for http:// URLs and CONNECT tunnels (TLS stays end to
 * end).  Outbound connections are made by the supervisor in the host's
 * namespace, after the policy of the sandbox's config (net, allow, deny,
 * max_requests, max_bytes; read again for every new connection) has
 * allowed them.  Refusals get "403 Forbidden" with the reason in the body,
 * an "net blocked ..." line in events, and count in net_blocked. */
#ifndef SBX_PROXY_H
#define SBX_PROXY_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define SBX_PROXY_PORT 3128
#define SBX_PROXY_URL  "http://127.0.0.1:3128"

struct sup;

/* Listen inside the sandbox's netns (init must be running).  0, or
 * -errno with *why. */
int proxy_start(struct sup *s, char **why);

/* Close the listener and every connection. */
void proxy_stop(struct sup *s);

/* Connection attempts inside the sandbox's netns that found no route
 * (Ip OutNoRoutes + Ip6OutNoRoutes of /proc/<init>/net/snmp{,6}): direct
 * connections that bypassed the proxy. */
uint64_t proxy_noroute_count(struct sup *s);

/* Is this address (4 or 16 bytes, network order) one the proxy refuses
 * unless a rule names it: loopback, private, link-local, CGNAT,
 * unspecified, multicast, reserved, ULA, and IPv4-mapped forms of those. */
bool proxy_addr_internal(const guint8 *b, gsize len);

#endif
