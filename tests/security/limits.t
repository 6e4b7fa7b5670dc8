#!/usr/bin/env bash
# Escape suite, resource limits: fork bomb, thread bomb, memory bomb (also
# through tmpfs), CPU spin, a process that ignores SIGTERM, disk fill of
# /tmp (bytes and inodes) and /workspace, fd exhaustion, output floods.
# Small limits set through the sandbox's config make each end in seconds
# with its typed reason; after each the host, sbxfs and the witness
# sandbox are fine.
. "$(dirname "$0")/lib.sh"

sec_start
B=$SEC_H/bomb

# tmp and files apply when the sandbox starts: give them at creation.
sec_box lim tmp=16M files=200 workspace=64M || bail_out "cannot create lim"
LSUP=$(sbx_sup_pid lim)

cfg() {         # cfg "key value" ... : merge into lim's config
        local r
        r=$(printf '%s\n' "$@" | sbx_errno write "$SBX_MNT/lim/config" -)
        [ "$r" = ok ] || diag "config $*: $r"
}
nprocs() {      # processes left in lim (init and this exec's sh, ls and grep)
        sec_run lim 'ls /proc | grep -c "^[0-9]"'
        echo "$SEC_OUT"
}

# 1. Fork bomb (a program): fork stops at pids with EAGAIN; the timeout
# ends it; the status carries the note pids-limit.
cfg "pids 32" "timeout 3s" "grace 500ms" "cpu max" "memory 256M"
sec_run lim "$B fork" 20
like "$SEC_OUT" '^forked ([0-9]|[12][0-9]|3[01]) EAGAIN$' "fork bomb: fork fails with EAGAIN before pids (32)"
is "$SEC_STATUS" "timeout pids-limit" "fork bomb: status timeout with the note pids-limit"
p=$(sec_metric pids_peak)
[ -n "$p" ] && [ "$p" -le 32 ]; ok $? "fork bomb: pids_peak $p <= 32"
[ "$(nprocs)" -le 4 ]; ok $? "fork bomb: nothing of it is left in the sandbox"
sec_host_fine "fork bomb (program)"

# 2. Fork bomb (the shell classic).
sec_run lim 'b() { b | b & }; b; sleep 5' 20
like "$SEC_STATUS" '^(timeout|exited [0-9]+|killed [A-Z]+) pids-limit$' "shell fork bomb: ends, with the note pids-limit"
[ "$(nprocs)" -le 4 ]; ok $? "shell fork bomb: nothing of it is left in the sandbox"
sec_host_fine "fork bomb (shell)"

# 3. Thread bomb: threads count against pids too.
sec_run lim "$B threads" 20
like "$SEC_OUT" '^threads ([0-9]|[12][0-9]|3[01]) EAGAIN$' "thread bomb: pthread_create fails with EAGAIN before pids (32)"
is "$SEC_STATUS" "exited 0 pids-limit" "thread bomb: status exited 0 with the note pids-limit"
sec_host_fine "thread bomb"

# 4. Memory bomb: the OOM killer of the exec's cgroup ends it.
cfg "memory 64M" "memory_high max" "timeout 30s" "pids 64"
sec_run lim "$B mem 1024" 40
is "$SEC_STATUS" "memory-limit" "memory bomb: status memory-limit"
[ "$(sec_metric oom_kills)" -ge 1 ] 2>/dev/null; ok $? "memory bomb: metrics oom_kills >= 1 ($(sec_metric oom_kills))"
last=$(printf '%s\n' "$SEC_OUT" | grep '^mem ' | tail -n 1)
like "$last" '^mem ([0-9]|[1-5][0-9]|6[0-4])$' "memory bomb: it never got more than 64 MiB ($last)"
p=$(sec_metric mem_peak_bytes)
[ -n "$p" ] && [ "$p" -le $((72 << 20)) ]; ok $? "memory bomb: mem_peak_bytes $p <= 64 MiB + slack"
sec_host_fine "memory bomb"

# 5. Memory through tmpfs: /dev/shm pages are charged to the exec too.
sec_run lim "exec $B fill /dev/shm 8 32" 40
if [ "$SEC_STATUS" = memory-limit ]; then
        pass "/dev/shm fill: ended by the memory limit"
else
        like "$SEC_OUT" '^fill [0-9]+ ENOSPC$' "/dev/shm fill: stops with ENOSPC (status $SEC_STATUS)"
fi
p=$(printf '%s\n' "$SEC_OUT" | sed -n 's/^fill \([0-9]*\) .*/\1/p')
[ -z "$p" ] || [ "$p" -le $((64 << 20)) ]; ok $? "/dev/shm fill: at most 64 MiB written (${p:-killed first})"
sec_run lim 'rm -f /dev/shm/sbx-fill-*; echo cleaned'
sec_host_fine "/dev/shm fill"

# 6. CPU spin: the cpu budget ends it.
cfg "cpu 1s" "timeout 20s" "memory 256M"
sec_run lim "$B spin" 30
is "$SEC_STATUS" "cpu-limit" "CPU spin: status cpu-limit"
c=$(( $(sec_metric cpu_user_ms) + $(sec_metric cpu_sys_ms) ))
w=$(sec_metric wall_ms)
[ "$c" -ge 900 ] && [ "$c" -le 3500 ]; ok $? "CPU spin: it used about the budget (${c} ms of CPU)"
[ -n "$w" ] && [ "$w" -lt 10000 ]; ok $? "CPU spin: it ended long before the timeout (${w} ms)"
sec_host_fine "CPU spin"

# 7. Spin with SIGTERM ignored, plus stragglers: the timeout kills them all
# after the grace.
cfg "cpu max" "timeout 2s" "grace 1s"
sec_run lim "(sleep 100 &); setsid sleep 100 & exec $B spin-noterm" 30
is "$SEC_STATUS" "timeout" "timeout: a spinner that ignores SIGTERM ends with status timeout"
w=$(sec_metric wall_ms)
[ -n "$w" ] && [ "$w" -ge 2900 ] && [ "$w" -le 5000 ]; ok $? "timeout: killed after timeout (2s) + grace (1s): ${w} ms"
[ "$(nprocs)" -le 4 ]; ok $? "timeout: the exec's stragglers (background, setsid) are gone too"
sec_host_fine "timeout"

# 8. Disk fill of /tmp: bounded by tmp (16M).
cfg "timeout 30s" "fsize max"
sec_run lim "$B fill /tmp 4 16; df -k /tmp | tail -n 1 | awk '{ print \"tmp_size_k\", \$2 }'; rm -f /tmp/sbx-fill-*" 40
like "$SEC_OUT" '^fill [0-9]+ ENOSPC$' "/tmp fill: stops with ENOSPC"
p=$(printf '%s\n' "$SEC_OUT" | sed -n 's/^fill \([0-9]*\) .*/\1/p')
[ -n "$p" ] && [ "$p" -le $((16 << 20)) ]; ok $? "/tmp fill: at most tmp (16M) written ($p bytes)"
like "$SEC_OUT" '^tmp_size_k 16384$' "/tmp fill: /tmp is 16M, as configured"
sec_host_fine "/tmp fill"

# 9. Inode fill of /tmp: bounded by files (200).
sec_run lim 'i=0; while true 2>/dev/null > /tmp/f$i; do i=$((i + 1)); [ $i -ge 5000 ] && break; done
echo files $i; rm -f /tmp/f*' 40
like "$SEC_OUT" '^files 1?[0-9]?[0-9]$' "/tmp inodes: file creation stops at files (200): $SEC_OUT"
sec_host_fine "/tmp inode fill"

# 10. One big file in /workspace: bounded by fsize.
cfg "fsize 4M"
sec_run lim "$B fill /workspace 16 1; head -c 8M /dev/zero > /workspace/big; echo size \$(stat -c %s /workspace/big); rm -f /workspace/big /workspace/sbx-fill-*" 30
sec_expect "/workspace big file: writes stop at fsize (4M) with EFBIG (SIGXFSZ ignored) or SIGXFSZ" <<'EOF'
fill 4194304 EFBIG
size 4194304
EOF
sec_host_fine "/workspace big file"

# 11. Many files in /workspace: the workspace lives on the host's disk, so
# its total must be bounded too (ENOSPC or EDQUOT), not only each file:
# lim was made with workspace=64M (an ext4 image, supervisor/workspace.c).
sec_run lim "$B fill /workspace 4 64; du -sk /workspace | awk '{ print \"du_k\", \$1 }'; rm -f /workspace/sbx-fill-*" 60
like "$SEC_OUT" '^fill [0-9]+ (ENOSPC|EDQUOT)$' "/workspace fill: 64 files of 4M (256M) hit a per-sandbox disk limit (ENOSPC/EDQUOT)"
sec_host_fine "/workspace fill"

# 12. fd exhaustion: bounded by nofile; the limit cannot be raised.
cfg "fsize max" "nofile 64"
sec_run lim "$B fds" 20
sec_expect "fd exhaustion: open fails with EMFILE at nofile (64), which cannot be raised" <<'EOF'
fds (6[0-4]|[1-5][0-9]) EMFILE
nofile 64 64
raise EPERM
EOF
sec_host_fine "fd exhaustion"

# 13. Output flood on stdout: the log keeps output (1M), the rest is
# dropped and counted; the supervisor does not grow.
cfg "nofile 1024" "output 1M" "timeout 30s"
sec_run lim "$B out 64" 40
is "$SEC_STATUS" "exited 0 output-truncated" "stdout flood: status exited 0 with the note output-truncated"
is "$(stat -c %s "$SBX_MNT/lim/execs/$SEC_N/stdout")" 1048576 "stdout flood: the stdout file holds exactly output (1M)"
is "$(sec_metric stdout_dropped_bytes)" $(( (64 << 20) - (1 << 20) )) "stdout flood: metrics count the dropped bytes"
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$LSUP/status")
[ -n "$rss" ] && [ "$rss" -lt 65536 ]; ok $? "stdout flood: the supervisor's RSS stays small (${rss} kB)"
sec_host_fine "stdout flood"

# 14. Output flood on stderr.
sec_run lim 'head -c 16M /dev/zero >&2; echo done' 40
is "$SEC_STATUS" "exited 0 output-truncated" "stderr flood: status exited 0 with the note output-truncated"
is "$(stat -c %s "$SBX_MNT/lim/execs/$SEC_N/stderr")" 1048576 "stderr flood: the stderr file holds exactly output (1M)"
is "$SEC_OUT" done "stderr flood: stdout is unaffected"
sec_host_fine "stderr flood"

done_testing
