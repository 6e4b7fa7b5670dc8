# tests/security/lib.sh: what the escape suite adds to tests/lib/sbx.sh.
#
#   . "$(dirname "$0")/lib.sh"
#   sec_start                     mount (sbx_start), snapshot the host, make
#                                 the "witness" sandbox that must stay fine
#   sec_box NAME [KEY=VALUE...]   create a sandbox through $SBX_MNT/ctl
#                                 ("new NAME KEY=VALUE...") and copy the
#                                 helpers into its /workspace/.h
#   sec_run BOX SCRIPT [SECS]     run SCRIPT through ctl/exec and wait; sets
#                                 SEC_N, SEC_STATUS, SEC_OUT, SEC_ERR,
#                                 SEC_VIOL (violations), SEC_METRICS
#   sec_expect DESC <<EOF         one TAP assertion: every line of stdin is an
#     keyctl EPERM                ERE that must match a whole line of SEC_OUT
#   EOF                           (the helpers print "NAME RESULT" lines)
#   sec_viol DESC SYSCALL...      one assertion: each SYSCALL has a
#                                 "SYSCALL N" line (N >= 1) in SEC_VIOL
#   sec_host_fine LABEL           one assertion: the host, sbxfs and the
#                                 witness sandbox are fine after LABEL
#   sec_metric KEY                print KEY's value from SEC_METRICS
#   sec_listen KIND ADDR|NAME     start tests/security/listen.py on the host;
#                                 sets SEC_LDIR (port, hits, pid files) and
#                                 SEC_LPORT; killed by pid at cleanup
#
# The helpers (tests/helpers/probe.c and bomb.c, built statically by the
# Makefile into $SBX_BUILD/helpers) reach the sandbox the only way a user's
# program would: as base64 inside a script written to ctl/exec.

SEC_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$SEC_LIB/../lib/sbx.sh"

SEC_HELPERS="probe bomb"
SEC_H=/workspace/.h             # where the helpers live inside a sandbox
SEC_WITNESS=witness
SEC_MARKER=
SEC_LISTENERS=

# A value only the test and the daemon's environment know: it must never
# show up inside a sandbox.
SEC_CANARY=sbx-canary-$$-$RANDOM$RANDOM
export SBX_SEC_CANARY="$SEC_CANARY"

sec_start() {
        for h in $SEC_HELPERS; do
                [ -x "$SBX_BUILD/helpers/$h" ] || bail_out "no $SBX_BUILD/helpers/$h (run make)"
        done
        command -v python3 >/dev/null || bail_out "python3 is needed for the host-side listeners"
        sbx_start "$@"
        trap '_sec_rc=$?; sec_cleanup; (exit $_sec_rc); sbx_cleanup' EXIT
        sec_snapshot
        sec_box "$SEC_WITNESS" || bail_out "cannot create the witness sandbox"
        sec_run "$SEC_WITNESS" 'echo ready' || bail_out "the witness sandbox does not run: $SEC_STATUS"
}

sec_cleanup() {
        local p
        for p in $SEC_LISTENERS; do
                kill -TERM "$p" 2>/dev/null
                wait "$p" 2>/dev/null
        done
        SEC_LISTENERS=
        [ -n "$SEC_MARKER" ] && rm -f "$SEC_MARKER"
        SEC_MARKER=
        return 0
}

# What must not change on the host, whatever a sandbox does.
sec_snapshot() {
        SEC_MARKER=$(mktemp /tmp/sbx-sec-marker.XXXXXX)
        head -c 48 /dev/urandom | base64 -w0 >"$SEC_MARKER"
        _sec_read SEC_MARKER_TEXT "$SEC_MARKER"
        _sec_read SEC_CORE_PATTERN /proc/sys/kernel/core_pattern
        _sec_read SEC_SYSRQ /proc/sys/kernel/sysrq
        _sec_read SEC_HOSTNAME /proc/sys/kernel/hostname
        _sec_read SEC_DOMAINNAME /proc/sys/kernel/domainname
        SEC_CLOCK_OFF=$(sec_clock_offset)
        SEC_BIN_SUMS=$(sha256sum "$SBX_BUILD/sbxfs" "$SBX_BUILD/sbx-supervisor")
}

# Wall clock minus boot-time clock, in seconds: a sandbox that set the
# host's clock would move it.
sec_clock_offset() {
        local up now
        read -r up _ </proc/uptime
        printf -v now '%(%s)T' -1
        echo $((now - ${up%.*}))
}

# The install script: every helper as base64, decoded into $SEC_H.
_sec_install_script() {
        local h
        echo "set -e; mkdir -p $SEC_H"
        for h in $SEC_HELPERS; do
                echo "base64 -d > $SEC_H/$h <<'SBX_B64_END'"
                base64 -w0 "$SBX_BUILD/helpers/$h"
                echo
                echo "SBX_B64_END"
                echo "chmod 755 $SEC_H/$h"
        done
        echo "echo installed"
}

sec_box() {
        local name=$1 r
        shift
        r=$(sbx_errno write "$SBX_MNT/ctl" "new $name${*:+ $*}")
        if [ "$r" != ok ]; then
                diag "new $name $*: $r"
                return 1
        fi
        sbx_sup_pid "$name" >/dev/null
        sec_run "$name" "$(_sec_install_script)" 60
        if [ "$SEC_STATUS" != "exited 0" ] || [ "$SEC_OUT" != installed ]; then
                diag "installing helpers in $name: status '$SEC_STATUS' out '$SEC_OUT' err '${SEC_ERR:0:500}'"
                return 1
        fi
}

sec_run() {
        local box=$1 d
        SEC_OUT= SEC_ERR= SEC_VIOL= SEC_METRICS=
        sbx_run "$@"
        local st=$?
        SEC_N=$SBX_N
        SEC_STATUS=$SBX_STATUS
        [ -n "$SEC_N" ] || return 1
        d=$SBX_MNT/$box/execs/$SEC_N
        if [ "$st" -ne 0 ]; then
                # Not ended (or not started): the streams may block.
                diag "exec $box/$SEC_N did not end in time (status '$SEC_STATUS')"
                SEC_OUT=$(timeout 2 cat "$d/stdout" 2>/dev/null)
                SEC_ERR=$(timeout 2 cat "$d/stderr" 2>/dev/null)
                return $st
        fi
        # The exec has ended: these files are complete and never block.
        _sec_read SEC_OUT "$d/stdout"
        _sec_read SEC_ERR "$d/stderr"
        _sec_read SEC_VIOL "$d/violations"
        _sec_read SEC_METRICS "$d/metrics"
        return $st
}

# _sec_read VAR FILE: FILE's content into VAR without trailing newlines,
# like $(cat FILE) but without a process (they cost ~20 ms each here).
_sec_read() {
        local -n _v=$1
        _v=
        [ -r "$2" ] || return 1
        IFS= read -r -d '' _v <"$2"
        while [[ $_v == *$'\n' ]]; do _v=${_v%$'\n'}; done
        return 0
}

sec_metric() {
        printf '%s\n' "$SEC_METRICS" | awk -v k="$1" '$1 == k { print $2; exit }'
}

sec_expect() {
        local desc=$1 want missing=
        while IFS= read -r want; do
                [ -z "$want" ] && continue
                printf '%s\n' "$SEC_OUT" | grep -Eqx -- "$want" || missing+="$want"$'\n'
        done
        if [ -z "$missing" ]; then
                pass "$desc"
                return 0
        fi
        fail "$desc"
        diag "  expected lines not found:"$'\n'"${missing%$'\n'}"$'\n'"  status: $SEC_STATUS"$'\n'"  output:"$'\n'"${SEC_OUT:0:3000}"$'\n'"  stderr: ${SEC_ERR:0:1000}"
        return 1
}

sec_viol() {
        local desc=$1 s missing=
        shift
        for s in "$@"; do
                printf '%s\n' "$SEC_VIOL" | grep -Eqx -- "$s [1-9][0-9]*" || missing+=" $s"
        done
        if [ -z "$missing" ]; then
                pass "$desc"
                return 0
        fi
        fail "$desc"
        diag "  not in violations:$missing"$'\n'"  violations:"$'\n'"${SEC_VIOL:-<empty>}"$'\n'"  status: $SEC_STATUS"
        return 1
}

# One assertion covering everything that must hold after any case.
sec_host_fine() {
        local label=$1 bad= p out v k up
        _sec_read v "$SEC_MARKER"; [ "$v" = "$SEC_MARKER_TEXT" ] ||
                bad+="host marker file $SEC_MARKER changed or gone; "
        _sec_read v /proc/sys/kernel/core_pattern; [ "$v" = "$SEC_CORE_PATTERN" ] ||
                bad+="host core_pattern is now '$v'; "
        _sec_read v /proc/sys/kernel/sysrq; [ "$v" = "$SEC_SYSRQ" ] || bad+="host kernel.sysrq is now '$v'; "
        _sec_read v /proc/sys/kernel/hostname; [ "$v" = "$SEC_HOSTNAME" ] || bad+="host hostname is now '$v'; "
        _sec_read v /proc/sys/kernel/domainname; [ "$v" = "$SEC_DOMAINNAME" ] ||
                bad+="host domainname is now '$v'; "
        read -r up _ </proc/uptime
        printf -v v '%(%s)T' -1
        v=$((v - ${up%.*} - SEC_CLOCK_OFF))
        [ "$v" -le 2 ] && [ "$v" -ge -2 ] || bad+="host clock moved by $v s; "
        sbx_alive "$SBX_PID" || bad+="sbxfs daemon $SBX_PID is gone; "
        sbx_mounted || bad+="$SBX_MNT is no longer mounted; "
        out=$(timeout "$SBX_T" ls "$SBX_MNT" 2>&1) || bad+="ls \$MNT failed: $out; "
        [[ $'\n'$out$'\n' == *$'\n'"$SEC_WITNESS"$'\n'* ]] || bad+="witness missing from ls \$MNT; "
        p=
        while read -r k v; do [ "$k" = supervisor_pid ] && p=$v; done <"$SBX_MNT/$SEC_WITNESS/status"
        sbx_alive "$p" || bad+="witness supervisor '$p' is not alive; "
        local tok=alive-$RANDOM$RANDOM
        # sbx_run, not sec_run: the case's SEC_* values stay for the caller.
        # It also shows that the host can still fork.
        if sbx_run "$SEC_WITNESS" "echo $tok; hostname" 20; then
                [ "$SBX_STATUS" = "exited 0" ] || bad+="witness exec status '$SBX_STATUS'; "
                _sec_read out "$SBX_MNT/$SEC_WITNESS/execs/$SBX_N/stdout"
                [ "$out" = "$tok"$'\n'"$SEC_WITNESS" ] || bad+="witness exec printed '$out'; "
        else
                bad+="witness exec did not run or end (status '$SBX_STATUS'); "
        fi
        if [ -z "$bad" ]; then
                pass "host, sbxfs and the witness sandbox fine after $label"
                return 0
        fi
        fail "host, sbxfs and the witness sandbox fine after $label"
        diag "  $bad"
        return 1
}

sec_listen() {
        local kind=$1 where=$2
        SEC_LDIR=$(mktemp -d "$SBX_TMP/listen.XXXXXX")
        : >"$SEC_LDIR/hits"
        python3 "$SEC_LIB/listen.py" "$kind" "$where" "$SEC_LDIR" </dev/null \
                >"$SEC_LDIR/log" 2>&1 &
        SEC_LISTENERS+=" $!"
        echo "$!" >>"$SBX_TMP/bg.pids"
        if ! wait_for "$SBX_T" test -s "$SEC_LDIR/port"; then
                diag "listener $kind $where did not start: $(cat "$SEC_LDIR/log")"
                return 1
        fi
        SEC_LPORT=$(cat "$SEC_LDIR/port")
}

# The sandbox's processes as the host sees them: pids whose cgroup path
# holds the sandbox's cgroup name (sbx-NAME-SUPPID).
sec_host_pids() {
        local sup=$1 p
        for p in /proc/[0-9]*; do
                grep -qs "sbx-[a-z0-9-]*-$sup\(/\|$\)" "$p/cgroup" && echo "${p#/proc/}"
        done
}
