#!/usr/bin/env bash
# Escape suite, network: services on the host's loopback (TCP over IPv4 and
# IPv6, UDP), the host's own address and the outside, abstract and path
# unix sockets of the host (the supervisor's socket included), and socket
# families that are not network-namespaced.  The host side runs real
# listeners (tests/security/listen.py) on random ports; they must count no
# hit.
. "$(dirname "$0")/lib.sh"

sec_start
P=$SEC_H/probe

sec_box nbox || bail_out "cannot create nbox"

hits() { cat "$1/hits"; }

# 1. A TCP service on the host's 127.0.0.1: the sandbox has a loopback of
# its own.
sec_listen tcp 127.0.0.1 || bail_out "no TCP listener"
L4=$SEC_LDIR P4=$SEC_LPORT
sec_run nbox "$P tcp 127.0.0.1 $P4; $P tcp 127.0.0.2 $P4; grep -ci ':$(printf %04X "$P4") ' /proc/net/tcp | sed 's/^/listed /'"
sec_expect "host loopback (TCP, 127.0.0.1:$P4): ECONNREFUSED, and the host's listener is not in /proc/net/tcp" <<EOF
tcp 127.0.0.1 $P4 ECONNREFUSED
tcp 127.0.0.2 $P4 ECONNREFUSED
listed 0
EOF
sleep 0.2
is "$(hits "$L4")" "" "host loopback (TCP): the host's listener got no connection"
sec_host_fine "host loopback TCP"

# 2. The same over IPv6 (::1).
if sec_listen tcp ::1; then
        L6=$SEC_LDIR P6=$SEC_LPORT
        sec_run nbox "$P tcp ::1 $P6"
        sec_expect "host loopback (TCP, [::1]:$P6): refused" <<EOF
tcp ::1 $P6 (ECONNREFUSED|EADDRNOTAVAIL|ENETUNREACH)
EOF
        sleep 0.2
        is "$(hits "$L6")" "" "host loopback (TCP6): the host's listener got no connection"
else
        skip "host loopback (TCP6)" "no IPv6 loopback on this host"
        skip "host loopback (TCP6): no connection" "no IPv6 loopback on this host"
fi
sec_host_fine "host loopback TCP6"

# 3. UDP to the host's loopback: the datagram stays in the sandbox.
sec_listen udp 127.0.0.1 || bail_out "no UDP listener"
LU=$SEC_LDIR PU=$SEC_LPORT
sec_run nbox "$P udp 127.0.0.1 $PU; $P udp 127.0.0.1 $PU"
sleep 0.3
is "$(hits "$LU")" "" "host loopback (UDP): no datagram reaches the host's socket"
sec_host_fine "host loopback UDP"

# 4. The host's own addresses and the outside: no route.
sec_listen tcp 0.0.0.0 || bail_out "no TCP listener on 0.0.0.0"
LA=$SEC_LDIR PA=$SEC_LPORT
HOSTIPS=$(ip -4 -o addr show scope global 2>/dev/null | awk '{ sub("/.*", "", $4); print $4 }')
want= cmd=
for ip in $HOSTIPS; do
        cmd+="$P tcp $ip $PA; "
        want+="tcp $ip $PA ENETUNREACH"$'\n'
done
sec_run nbox "$cmd $P tcp 1.1.1.1 443; $P tcp 10.0.2.2 $PA; $P tcp 169.254.169.254 80
getent hosts example.com >/dev/null 2>&1 && echo dns ok || echo dns none
echo ifaces \$(awk -F: 'NR > 2 { gsub(/ /, \"\", \$1); print \$1 }' /proc/net/dev)"
sec_expect "host addresses ($HOSTIPS), the internet, 10.0.2.2, the metadata IP: ENETUNREACH; no DNS; only lo" <<EOF
${want}tcp 1.1.1.1 443 ENETUNREACH
tcp 10.0.2.2 $PA ENETUNREACH
tcp 169.254.169.254 80 ENETUNREACH
dns none
ifaces lo
EOF
like "$SEC_STATUS" "network-blocked" "outside connections: the status carries the note network-blocked (docs/trust-levels.md)"
sleep 0.2
is "$(hits "$LA")" "" "host addresses: the host's 0.0.0.0 listener got no connection"
sec_host_fine "host addresses and the outside"

# 5. An abstract unix socket of the host (CVE-2020-15257: scoped by netns only).
NAME=sbx-sec-abstract-$$-$RANDOM
sec_listen abstract "$NAME" || bail_out "no abstract listener"
LX=$SEC_LDIR
sec_run nbox "$P unix @$NAME; grep -c '@$NAME' /proc/net/unix | sed 's/^/listed /'"
sec_expect "host abstract unix socket @$NAME: ECONNREFUSED, not in /proc/net/unix" <<EOF
unix @$NAME ECONNREFUSED
listed 0
EOF
sleep 0.2
is "$(hits "$LX")" "" "host abstract unix socket: the listener got no connection"
sec_host_fine "abstract unix socket"

# 6. Path unix sockets of the host: the supervisors' sockets, system ones.
sec_run nbox "$P unix $SBX_STATE/nbox/sock $SBX_STATE/$SEC_WITNESS/sock /run/systemd/private \
  /var/run/docker.sock /run/dbus/system_bus_socket /tmp/.X11-unix/X0"
sec_expect "host path unix sockets (the supervisors' own, systemd, docker, dbus, X): ENOENT" <<EOF
unix $SBX_STATE/nbox/sock ENOENT
unix $SBX_STATE/$SEC_WITNESS/sock ENOENT
unix /run/systemd/private ENOENT
unix /var/run/docker.sock ENOENT
unix /run/dbus/system_bus_socket ENOENT
unix /tmp/.X11-unix/X0 ENOENT
EOF
sec_host_fine "path unix sockets"

# 7. Socket families beyond the network namespace's reach or privileged:
# AF_VSOCK is not network-namespaced (on a VM it reaches the hypervisor's
# side, CID 2), AF_ALG is kernel crypto attack surface (Docker's profile
# refuses both); packet and raw sockets need privilege the exec lacks.
sec_run nbox "$P sockets"
sec_expect "socket families: AF_VSOCK and AF_ALG refused; packet and raw sockets refused" <<'EOF'
socket_vsock (EPERM|EAFNOSUPPORT)
socket_alg (EPERM|EAFNOSUPPORT)
socket_packet (EPERM|EAFNOSUPPORT)
socket_raw_inet (EPERM|EAFNOSUPPORT)
EOF
sec_host_fine "socket families"

done_testing
