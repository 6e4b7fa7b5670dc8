#!/usr/bin/env bash
# Escape suite, leaks from the daemon into the sandbox: file descriptors
# (inside, and as the host sees every process of the sandbox, its init
# included), the environment of sbxfs and the supervisor (a canary exported
# before the mount), the working directory and root.
. "$(dirname "$0")/lib.sh"

sec_start
P=$SEC_H/probe

sec_box kbox || bail_out "cannot create kbox"
KSUP=$(sbx_sup_pid kbox)

# 1. Inside: an exec has fds 0, 1, 2 only (the stdin FIFO and two pipes),
# whether run by sh -c or straight from a #! line.
sec_run kbox "$P fds"
sec_expect "fds (sh -c): only 0 (stdin FIFO), 1 and 2 (pipes); fd 0 leads to no directory" <<'EOF'
fd 0 fifo .*
fd 1 fifo pipe:.*
fd 2 fifo pipe:.*
fd0_parent ENOTDIR
fd0_reopen_dir ENOTDIR
EOF
unlike "$SEC_OUT" '^fd ([3-9]|[1-9][0-9]+) ' "fds (sh -c): no descriptor beyond 2"
sec_run kbox "#!$P fds"
sec_expect "fds (#! script, no shell): only 0, 1 and 2" <<'EOF'
fd 0 fifo .*
fd 1 fifo pipe:.*
fd 2 fifo pipe:.*
EOF
unlike "$SEC_OUT" '^fd ([3-9]|[1-9][0-9]+) ' "fds (#! script): no descriptor beyond 2"
sec_host_fine "fds inside"

# 2. As the host sees them: every process of a running exec holds fds 0-2
# only, none of them /dev/fuse, the state dir, a socket or an eventfd.
N=$(sbx_exec kbox "sleep 30 & sleep 30")
wait_for "$SBX_T" eval '[ "$(sec_host_pids $KSUP | wc -l)" -ge 3 ]'
INIT=$(cat "$SBX_STATE/kbox/init.pid")
bad= n=0
for p in $(sec_host_pids "$KSUP"); do
        [ "$p" = "$INIT" ] && continue
        n=$((n + 1))
        for f in /proc/"$p"/fd/*; do
                [ -e "$f" ] || [ -L "$f" ] || continue
                fd=${f##*/}
                case $fd in 0|1|2) continue ;; esac
                bad+="pid $p fd $fd -> $(readlink "$f"); "
        done
done
[ "$n" -ge 2 ]; ok $? "host view: found the exec's processes ($n)"
is "$bad" "" "host view: the exec's processes hold no fd beyond 0-2"
echo "kill KILL" | sbx_put "$SBX_MNT/kbox/execs/$N/ctl"
sbx_wait kbox "$N" 10 >/dev/null
sec_host_fine "fds as the host sees them"

# 3. The sandbox's init: it is a process of the sandbox, so it must hold
# nothing of the supervisor's or the daemon's (CVE-2024-21626 kind: a
# leaked directory fd is a way out for whoever gets hold of init).
bad=
sbx_alive "$INIT" && ls "/proc/$INIT/fd" >/dev/null || bad="cannot list /proc/$INIT/fd of init; "
for f in /proc/"$INIT"/fd/*; do
        [ -L "$f" ] || continue
        t=$(readlink "$f")
        case $t in
        /dev/null) ;;
        *) bad+="fd ${f##*/} -> $t; " ;;
        esac
done
is "$bad" "" "host view: the sandbox's init holds no descriptor of the supervisor (state dir, lock, pipes, eventfds)"
sec_host_fine "init's fds"

# 4. Environment: the daemon's (with the canary) reaches no process of the
# sandbox; an exec gets the documented variables and the sandbox's env.
r=$(printf 'SEC_FOO=bar\n' | sbx_errno write "$SBX_MNT/kbox/env" -)
is "$r" ok "env: write KEY=VALUE to the sandbox's env file"
sec_run kbox 'tr "\0" "\n" < /proc/$$/environ | sort'
allowed='^(PATH|HOME|PWD|USER|LOGNAME|SHELL|TERM|LANG|SBX_SANDBOX|SBX_EXEC|SEC_FOO)='
unlike "$SEC_OUT" "$SEC_CANARY" "env: the daemon's environment (canary) is not in the exec's"
bad=$(printf '%s\n' "$SEC_OUT" | grep -Ev "$allowed")
is "$bad" "" "env: the exec's environment holds only the documented variables and the sandbox's env"
like "$SEC_OUT" '^SEC_FOO=bar$' "env: the sandbox's env file reaches the exec"
like "$SEC_OUT" '^SBX_SANDBOX=kbox$' "env: SBX_SANDBOX names the sandbox"
if tr '\0' '\n' <"/proc/$INIT/environ" 2>/dev/null | grep -q "$SEC_CANARY"; then
        fail "host view: the sandbox's init does not carry the daemon's environment"
        diag "  /proc/$INIT/environ holds SBX_SEC_CANARY: init is a fork of the supervisor, which inherits sbxfs's environment"
else
        pass "host view: the sandbox's init does not carry the daemon's environment"
fi
sec_host_fine "environment"

# 5. Working directory and root: /workspace inside the sandbox's own root.
sec_run kbox 'pwd -P; readlink /proc/self/cwd; readlink /proc/self/root; ls -di / | cut -d" " -f1 | sed "s/^/root_ino /"'
sec_expect "cwd is /workspace and root is the sandbox's /" <<'EOF'
/workspace
/workspace
/
EOF
sec_host_fine "cwd and root"

done_testing
