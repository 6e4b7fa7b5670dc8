#!/bin/bash
# files/: the sandbox's own filesystem through $MNT/<box>/files/, against a
# real mount.  Every operation (read, write, create, O_APPEND, O_TRUNC,
# truncate, rename, unlink, mkdir, rmdir, symlink, readlink, hard links,
# chmod, utimens, fsync, statfs, sparse files past 4 GiB, mmap, flock,
# xattrs), the read-only parts (EROFS), a full /tmp (ENOSPC), consistency
# both ways with processes inside (no stale content, size or listing) and
# ownership (what the host creates belongs to the sandbox's root).
#
# The last section ("KNOWN BUGS") holds cases that fail because of sbxfs
# bugs, kept apart so that they can be decided on; SBX_SKIP_KNOWN_BUGS=1
# reports them as skipped instead.
. "$(dirname "$0")/../lib/sbx.sh"
sbx_start
MNT=$SBX_MNT
B=$MNT/box1
timeout "$SBX_T" mkdir "$B" || bail_out "mkdir box1 failed"
F=$B/files
W=$F/workspace
BK=$SBX_STATE/box1/workspace            # the backing of files/workspace
read -r UB <"$SBX_STATE/box1/uidbase" 2>/dev/null
[ -n "$UB" ] || bail_out "no uidbase for box1"
ME=$(id -un)

# pyerr CODE ARGS...: run python CODE (sys.argv[2:] are ARGS); prints "ok"
# or the errno name of the OSError it raised.
pyerr() {
        timeout "$SBX_T" "$SBX_PYTHON" -c '
import ctypes, errno, fcntl, mmap, os, sys
a = sys.argv[2:]
try:
    exec(sys.argv[1])
    print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
' "$@"
}
# inside [BOX] SCRIPT: run SCRIPT in the sandbox; IN_OUT/IN_ERR get its
# output, SBX_STATUS its status.
inside() {
        local box=box1
        [ $# -gt 1 ] && { box=$1; shift; }
        IN_OUT= IN_ERR=
        sbx_run "$box" "$1" || diag "inside $box: exec did not end ($SBX_STATUS)"
        IN_OUT=$(timeout "$SBX_T" cat "$MNT/$box/execs/$SBX_N/stdout")
        IN_ERR=$(timeout "$SBX_T" cat "$MNT/$box/execs/$SBX_N/stderr")
        [ "$SBX_STATUS" = "exited 0" ] || diag "inside $box: '$1' -> $SBX_STATUS: ${IN_ERR:0:500}"
}
hstat() { timeout "$SBX_T" stat -c "$@"; }
hcat() { timeout "$SBX_T" cat "$@"; }
fsbytes() { local b s; read -r b s < <(hstat '%b %S' -f "$1"); echo $((b * s)); }

# ---- the root
ok "$( [ -d "$F" ]; echo $?)" "files/ is a directory"
root=$(timeout "$SBX_T" ls -A "$F" | tr '\n' ' ')
like "$root" '(^| )workspace ' "files/ lists workspace ($root)"
like "$root" '(^| )tmp ' "files/ lists tmp"
like "$root" '(^| )usr ' "files/ lists usr"
like "$root" '(^| )etc ' "files/ lists etc"
unlike "$root" '(^| )(proc|dev|sys) ' "files/ does not list proc, dev or sys"
for d in proc dev sys; do
        is "$(pyerr 'os.stat(a[0])' "$F/$d")" ENOENT "stat files/$d: ENOENT (hidden)"
        like "$(pyerr 'os.mkdir(a[0])' "$F/$d")" '^(EPERM|EROFS)$' "mkdir files/$d is refused"
done
is "$(hcat "$F/etc/hostname")" box1 "files/etc/hostname is the sandbox's own (box1)"
like "$(timeout "$SBX_T" readlink "$F/bin")" '^usr/bin$' "files/bin -> usr/bin, a relative link kept as it is"
ok "$( [ -x "$F/bin/sh" ]; echo $?)" "files/bin/sh is reached through that link"

# ---- read, write, create
printf 'hello\nworld\n' >"$W/rw.txt"
is "$?" 0 "create + write files/workspace/rw.txt"
is "$(hcat "$W/rw.txt")" $'hello\nworld' "read it back through files/"
is "$(cat "$BK/rw.txt")" $'hello\nworld' "the backing file holds the same bytes"
is "$(hstat %s "$W/rw.txt")" 12 "stat size 12"
head -c 3000000 /dev/urandom >"$SBX_TMP/rand.bin"
timeout "$SBX_T" cp "$SBX_TMP/rand.bin" "$W/rand.bin"
check "3 MB of random bytes written through files/ read back identical" cmp "$SBX_TMP/rand.bin" "$W/rand.bin"
check "and identical in the backing dir" cmp "$SBX_TMP/rand.bin" "$BK/rand.bin"
is "$(pyerr 'os.close(os.open(a[0], os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))' "$W/rw.txt")" EEXIST \
        "O_CREAT|O_EXCL on an existing file: EEXIST"
is "$(pyerr 'os.close(os.open(a[0], os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))' "$W/excl.txt")" ok \
        "O_CREAT|O_EXCL on a new name creates it"
is "$(hstat %a "$W/excl.txt")" 600 "the mode given to create is kept (0600)"
is "$(pyerr 'os.open(a[0], os.O_RDONLY)' "$W/nosuch")" ENOENT "open of a missing file: ENOENT"
is "$(pyerr 'os.open(a[0], os.O_WRONLY)' "$W")" EISDIR "open of a directory for writing: EISDIR"
# pread/pwrite at offsets
is "$(pyerr 'fd = os.open(a[0], os.O_RDWR); os.pwrite(fd, b"HELLO", 0); assert os.pread(fd, 12, 0) == b"HELLO\nworld\n"; os.close(fd)' "$W/rw.txt")" \
        ok "pwrite at offset 0 then pread see the change"

# ---- O_APPEND, O_TRUNC, truncate
printf 'one\n' >"$W/app.txt"
printf 'two\n' >>"$W/app.txt"
is "$(hcat "$W/app.txt")" $'one\ntwo' ">> appends (O_APPEND)"
is "$(pyerr 'fd = os.open(a[0], os.O_WRONLY | os.O_APPEND); os.lseek(fd, 0, os.SEEK_SET); os.write(fd, b"three\n"); os.close(fd)' "$W/app.txt")" \
        ok "an O_APPEND write after lseek(0)"
is "$(hcat "$W/app.txt")" $'one\ntwo\nthree' "O_APPEND writes at the end whatever the offset"
printf 'x\n' >"$W/app.txt"
is "$(hcat "$W/app.txt")" x "> on an existing file truncates it (O_TRUNC)"
is "$(hstat %s "$W/app.txt")" 2 "size 2 after O_TRUNC"
timeout "$SBX_T" truncate -s 10000 "$W/app.txt"
is "$(hstat %s "$W/app.txt")" 10000 "truncate -s 10000 grows it"
is "$(tail -c +3 "$W/app.txt" | tr -d '\0' | wc -c)" 0 "the grown part reads as zeros"
timeout "$SBX_T" truncate -s 1 "$W/app.txt"
is "$(hcat "$W/app.txt")" x "truncate -s 1 shrinks it"
is "$(pyerr 'fd = os.open(a[0], os.O_RDWR); os.ftruncate(fd, 5); os.close(fd)' "$W/app.txt")" ok "ftruncate on an open fd"
is "$(hstat %s "$W/app.txt")" 5 "size 5 after ftruncate"
is "$(stat -c %s "$BK/app.txt")" 5 "the backing file has size 5 too"

# ---- rename
printf 'src\n' >"$W/mv-a"
timeout "$SBX_T" mv "$W/mv-a" "$W/mv-b"
ok "$( [ ! -e "$W/mv-a" ] && [ "$(hcat "$W/mv-b")" = src ]; echo $?)" "mv a b: b has a's content, a is gone"
printf 'new\n' >"$W/over-src"
printf 'old content\n' >"$W/over-dst"
ino=$(stat -c %i "$BK/over-src")
is "$(pyerr 'os.rename(a[0], a[1])' "$W/over-src" "$W/over-dst")" ok "rename over an existing file"
is "$(hcat "$W/over-dst")" new "the target now has the source's content"
is "$(stat -c %i "$BK/over-dst")" "$ino" "and is the source's inode (atomic replace, not a copy)"
ok "$( [ ! -e "$W/over-src" ] && [ ! -e "$BK/over-src" ]; echo $?)" "the source name is gone"
mkdir -p "$W/dir-a/sub" && printf 'in dir\n' >"$W/dir-a/sub/f"
is "$(pyerr 'os.rename(a[0], a[1])' "$W/dir-a" "$W/dir-b")" ok "rename of a directory"
is "$(hcat "$W/dir-b/sub/f")" "in dir" "its content moved with it"
ok "$( [ ! -e "$W/dir-a" ]; echo $?)" "the old directory name is gone"
mkdir "$W/dir-empty"
is "$(pyerr 'os.rename(a[0], a[1])' "$W/dir-b" "$W/dir-empty")" ok "rename of a directory over an empty directory"
is "$(hcat "$W/dir-empty/sub/f")" "in dir" "the moved tree is under the new name"
mkdir -p "$W/dir-full/x" "$W/dir-c"
is "$(pyerr 'os.rename(a[0], a[1])' "$W/dir-c" "$W/dir-full")" ENOTEMPTY "rename of a directory over a non-empty one: ENOTEMPTY"
is "$(pyerr 'os.rename(a[0], a[1])' "$W/mv-b" "$W/dir-full")" EISDIR "rename of a file over a directory: EISDIR"
is "$(pyerr 'os.rename(a[0], a[1])' "$W/dir-c" "$W/mv-b")" ENOTDIR "rename of a directory over a file: ENOTDIR"
is "$(pyerr 'os.rename(a[0], a[1])' "$W/dir-c" "$W/dir-c/inner")" EINVAL "rename of a directory into itself: EINVAL"
printf 'A\n' >"$W/x-a"; printf 'B\n' >"$W/x-b"
# renameat2 through libc: RENAME_NOREPLACE = 1, RENAME_EXCHANGE = 2
R2='l = ctypes.CDLL(None, use_errno=True)
if l.renameat2(-100, a[0].encode(), -100, a[1].encode(), int(a[2])) != 0:
    raise OSError(ctypes.get_errno(), "renameat2")'
is "$(pyerr "$R2" "$W/x-a" "$W/x-b" 1)" EEXIST "renameat2 RENAME_NOREPLACE over an existing file: EEXIST"
is "$(pyerr "$R2" "$W/x-a" "$W/x-b" 2)" ok "renameat2 RENAME_EXCHANGE"
is "$(hcat "$W/x-a")$(hcat "$W/x-b")" BA "RENAME_EXCHANGE swapped the two files"
is "$(pyerr 'os.rename(a[0], a[1])' "$W/x-a" "$SBX_TMP/x-a")" EXDEV "rename from files/ to a host dir: EXDEV"
is "$(pyerr 'os.rename(a[0], a[1])' "$W/x-a" "$F/tmp/x-a")" EXDEV "rename from files/workspace to files/tmp (two mounts inside): EXDEV"

# ---- unlink, mkdir, rmdir
printf 'bye\n' >"$W/gone.txt"
timeout "$SBX_T" rm "$W/gone.txt"
is "$?" 0 "rm files/workspace/gone.txt"
is "$(pyerr 'os.stat(a[0])' "$W/gone.txt")" ENOENT "stat after rm: ENOENT"
ok "$( [ ! -e "$BK/gone.txt" ]; echo $?)" "it is gone from the backing dir"
is "$(pyerr 'os.unlink(a[0])' "$W/gone.txt")" ENOENT "unlink of a missing file: ENOENT"
is "$(pyerr 'os.unlink(a[0])' "$W/dir-full")" EISDIR "unlink of a directory: EISDIR"
is "$(pyerr 'os.mkdir(a[0], 0o750)' "$W/newdir")" ok "mkdir"
is "$(hstat %F:%a "$W/newdir")" directory:750 "it is a directory with the mode given"
ok "$( [ -d "$BK/newdir" ]; echo $?)" "the backing dir has it"
is "$(pyerr 'os.mkdir(a[0])' "$W/newdir")" EEXIST "mkdir of an existing name: EEXIST"
is "$(pyerr 'os.makedirs(a[0])' "$W/newdir/p/q/r")" ok "mkdir -p of nested dirs"
is "$(pyerr 'os.rmdir(a[0])' "$W/newdir")" ENOTEMPTY "rmdir of a non-empty directory: ENOTEMPTY"
is "$(pyerr 'os.rmdir(a[0])' "$W/rw.txt")" ENOTDIR "rmdir of a file: ENOTDIR"
is "$(pyerr 'os.rmdir(a[0])' "$W/newdir/p/q/r")" ok "rmdir of an empty directory"
ok "$( [ ! -e "$BK/newdir/p/q/r" ]; echo $?)" "it is gone from the backing dir"
timeout "$SBX_T" rm -r "$W/newdir"
ok "$( [ ! -e "$W/newdir" ]; echo $?)" "rm -r of a tree"

# ---- symlink, readlink
printf 'target\n' >"$W/tgt"
mkdir -p "$W/ld/deeper"
ln -s tgt "$W/l-rel"
is "$(timeout "$SBX_T" readlink "$W/l-rel")" tgt "readlink of a relative link made here: as written"
is "$(hcat "$W/l-rel")" target "reading through it reaches the target"
ok "$( [ -L "$W/l-rel" ]; echo $?)" "lstat sees a symlink"
is "$(hstat %F "$W/l-rel")" "symbolic link" "stat -c %F: symbolic link"
ln -s ../../tgt "$W/ld/deeper/l-up"
r=$(timeout "$SBX_T" readlink "$W/ld/deeper/l-up")
ok "$( [ "$r" = ../../tgt ] || [ "$r" = "$F/workspace/tgt" ]; echo $?)" \
        "a relative ../.. link that stays inside reads as written or as files/workspace/tgt ($r)"
is "$(hcat "$W/ld/deeper/l-up")" target "and reaches its target"
ln -s /workspace/tgt "$W/l-abs"
is "$(timeout "$SBX_T" readlink "$W/l-abs")" "$F/workspace/tgt" "an absolute link reads as files/<target> on the host"
is "$(hcat "$W/l-abs")" target "and leads to the sandbox's file"
ln -s nothere "$W/l-dangling"
is "$(timeout "$SBX_T" readlink "$W/l-dangling")" nothere "a dangling link reads back"
is "$(pyerr 'open(a[0])' "$W/l-dangling")" ENOENT "opening a dangling link: ENOENT"
is "$(pyerr 'os.symlink("x", a[0])' "$W/tgt")" EEXIST "symlink over an existing name: EEXIST"
inside 'readlink /workspace/l-abs; readlink /workspace/l-rel; cat /workspace/l-abs; stat -c %u:%g /workspace/l-abs'
is "$IN_OUT" $'/workspace/tgt\ntgt\ntarget\n0:0' "inside, the links hold their targets as written, work, and belong to root"
is "$(readlink "$BK/l-abs")" /workspace/tgt "the backing link holds /workspace/tgt"

# ---- hard links
printf 'linked\n' >"$W/h1"
timeout "$SBX_T" ln "$W/h1" "$W/h2"
is "$?" 0 "ln files/workspace/h1 h2"
is "$(hstat %h "$W/h1")" 2 "h1 has 2 links"
is "$(stat -c %i "$BK/h1")" "$(stat -c %i "$BK/h2")" "and are one inode in the backing dir"
printf 'more\n' >>"$W/h2"
is "$(hcat "$W/h1")" $'linked\nmore' "a write through h2 is read through h1"
inside 'stat -c %h /workspace/h1; cat /workspace/h2'
is "$IN_OUT" $'2\nlinked\nmore' "inside: 2 links, same content"
rm "$W/h1"
is "$(hstat %h "$W/h2")" 1 "after rm h1, h2 has 1 link"
is "$(hcat "$W/h2")" $'linked\nmore' "and still its content"
like "$(pyerr 'os.link(a[0], a[1])' "$W/ld" "$W/ld-link")" '^(EPERM|EISDIR)$' "a hard link to a directory is refused"
is "$(pyerr 'os.link(a[0], a[1])' "$W/h2" "$W/tgt")" EEXIST "a hard link over an existing name: EEXIST"
is "$(pyerr 'os.link(a[0], a[1])' "$W/h2" "$SBX_TMP/h3")" EXDEV "a hard link from files/ to a host dir: EXDEV"

# ---- chmod, utimens
printf '#!/bin/sh\necho script-ran\n' >"$W/run.sh"
chmod 640 "$W/run.sh"
is "$(hstat %a "$W/run.sh")" 640 "chmod 640 through files/"
is "$(stat -c %a "$BK/run.sh")" 640 "the backing file has mode 640"
chmod 755 "$W/run.sh"
inside '/workspace/run.sh; stat -c %a /workspace/run.sh'
is "$IN_OUT" $'script-ran\n755' "after chmod 755 through files/, a process inside runs the script"
chmod 1777 "$W/ld"
is "$(hstat %a "$W/ld")" 1777 "chmod 1777 on a directory (sticky bit)"
timeout "$SBX_T" touch -d '2001-02-03 04:05:06 UTC' "$W/tgt"
is "$(hstat %Y "$W/tgt")" 981173106 "touch -d sets mtime"
is "$(hstat %X "$W/tgt")" 981173106 "and atime"
timeout "$SBX_T" touch -m -d '2002-01-01 00:00:00 UTC' "$W/tgt"
is "$(hstat %Y:%X "$W/tgt")" 1009843200:981173106 "touch -m changes only mtime"
is "$(pyerr 'os.utime(a[0], ns=(1234567890123456789, 1111111111987654321))' "$W/tgt")" ok "utimensat with nanoseconds"
is "$(pyerr 'st = os.stat(a[0]); assert (st.st_atime_ns, st.st_mtime_ns) == (1234567890123456789, 1111111111987654321), (st.st_atime_ns, st.st_mtime_ns)' "$W/tgt")" \
        ok "the nanoseconds are kept exactly"
is "$(stat -c %Y "$BK/tgt")" 1111111111 "the backing file has that mtime"
t0=$(date +%s)
timeout "$SBX_T" touch "$W/tgt"
m=$(hstat %Y "$W/tgt")
ok "$( [ "$m" -ge "$t0" ]; echo $?)" "touch without a time sets mtime to now (UTIME_NOW: $m >= $t0)"
ln -s tgt "$W/l-touch"
timeout "$SBX_T" touch -h -d '2003-01-01 00:00:00 UTC' "$W/l-touch"
is "$?" 0 "touch -h on a symlink"
is "$(hstat %Y "$W/l-touch")" 1041379200 "changes the link's own mtime"
is "$(hstat %Y "$W/tgt")" "$m" "and not its target's"

# ---- fsync, fdatasync, statfs
is "$(pyerr 'fd = os.open(a[0], os.O_RDWR | os.O_CREAT, 0o644); os.write(fd, b"durable\n"); os.fsync(fd); os.fdatasync(fd); os.close(fd)' "$W/sync.txt")" \
        ok "write + fsync + fdatasync"
is "$(cat "$BK/sync.txt")" durable "the data is in the backing file"
is "$(pyerr 'fd = os.open(a[0], os.O_RDONLY | os.O_DIRECTORY); os.fsync(fd); os.close(fd)' "$W")" ok "fsync of a directory"
is "$(pyerr 'fd = os.open(a[0], os.O_WRONLY | os.O_DSYNC); os.write(fd, b"x"); os.close(fd)' "$W/sync.txt")" ok "an O_DSYNC write"
timeout "$SBX_T" sync -f "$W/sync.txt"
is "$?" 0 "sync -f (syncfs) on a file under files/"
is "$(hstat '%b %S %c' -f "$W")" "$(stat -c '%b %S %c' -f "$BK")" \
        "statfs of files/workspace: the backing filesystem's blocks, block size and inodes"
tmpcfg=$(awk '$1 == "tmp" { print $2 }' "$B/config")
case $tmpcfg in
*K) tmpb=$(( ${tmpcfg%K} * 1024 )) ;; *M) tmpb=$(( ${tmpcfg%M} * 1024 * 1024 )) ;;
*G) tmpb=$(( ${tmpcfg%G} * 1024 * 1024 * 1024 )) ;; *) tmpb=$tmpcfg ;;
esac
is "$(fsbytes "$F/tmp")" "$tmpb" "statfs of files/tmp: the tmpfs size (tmp $tmpcfg in config)"
is "$(hstat %l -f "$W")" 255 "statfs: name length 255"

# ---- large sparse files
G=$((1024 * 1024 * 1024))
timeout "$SBX_T" truncate -s 5G "$W/big.sparse"
is "$(hstat %s "$W/big.sparse")" $((5 * G)) "truncate -s 5G: size 5 GiB"
is "$(pyerr 'fd = os.open(a[0], os.O_RDWR); os.pwrite(fd, b"ACROSS-4G", 4 * 2**30 - 4); os.pwrite(fd, b"MARK-4.5G", 9 * 2**29); os.close(fd)' "$W/big.sparse")" \
        ok "pwrite across the 4 GiB boundary and at 4.5 GiB"
is "$(timeout "$SBX_T" dd if="$W/big.sparse" bs=1 skip=$((4 * G - 4)) count=9 status=none)" ACROSS-4G \
        "read back across 4 GiB"
is "$(timeout "$SBX_T" dd if="$W/big.sparse" iflag=skip_bytes,count_bytes skip=$((9 * G / 2)) count=9 status=none)" MARK-4.5G \
        "read back at 4.5 GiB"
is "$(timeout "$SBX_T" dd if="$W/big.sparse" iflag=skip_bytes,count_bytes skip=$G count=4096 status=none | tr -d '\0' | wc -c)" 0 \
        "a hole at 1 GiB reads as zeros"
blocks=$(hstat %b "$W/big.sparse")
ok "$( [ "$blocks" -lt 1024 ]; echo $?)" "it stays sparse ($blocks blocks of 512)"
is "$(pyerr 'fd = os.open(a[0], os.O_RDONLY); d = os.lseek(fd, 0, os.SEEK_DATA); h = os.lseek(fd, d, os.SEEK_HOLE); assert 4 * 2**30 - 65536 <= d <= 4 * 2**30 - 4 and h > d, (d, h); os.close(fd)' "$W/big.sparse")" \
        ok "lseek SEEK_DATA/SEEK_HOLE find the data near 4 GiB"
inside 'dd if=/workspace/big.sparse iflag=skip_bytes,count_bytes skip=4831838208 count=9 status=none; echo; stat -c %s /workspace/big.sparse'
is "$IN_OUT" $'MARK-4.5G\n5368709120' "inside, the 5 GiB file has the same size and data"
timeout "$SBX_T" fallocate -l 8M "$W/falloc"
is "$?" 0 "fallocate -l 8M"
ok "$( [ "$(hstat %b "$W/falloc")" -ge 16384 ]; echo $?)" "the blocks are allocated ($(hstat %b "$W/falloc") blocks)"
timeout "$SBX_T" rm -f "$W/big.sparse" "$W/falloc"

# ---- mmap reads
head -c 2500000 /dev/urandom >"$SBX_TMP/mm.bin"
cp "$SBX_TMP/mm.bin" "$W/mm.bin"
want=$(sha256sum <"$SBX_TMP/mm.bin" | cut -d' ' -f1)
MM='import hashlib
with open(a[0], "rb") as f:
    m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    print(hashlib.sha256(m[:]).hexdigest()); m.close()'
is "$(pyerr "$MM" "$W/mm.bin" | sed -n 1p)" "$want" "an mmap read of a file under files/ gives its bytes"
inside 'printf REWRITTEN | dd of=/workspace/mm.bin bs=1 seek=1000000 conv=notrunc status=none'
is "$(pyerr 'with open(a[0], "rb") as f:
    m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ); print(m[1000000:1000009].decode()); m.close()' "$W/mm.bin" | sed -n 1p)" \
        REWRITTEN "a new mmap sees what a process inside wrote since"
is "$(pyerr 'fd = os.open(a[0], os.O_RDWR); m = mmap.mmap(fd, 0); m[0:6] = b"MMAPED"; m.flush(); m.close(); os.close(fd)' "$W/mm.bin")" \
        ok "a shared writable mmap + msync"
inside 'head -c 6 /workspace/mm.bin'
is "$IN_OUT" MMAPED "a process inside sees what the mmap wrote"

# ---- flock
printf 'lock\n' >"$W/lk"
FL='fd1 = os.open(a[0], os.O_RDWR); fd2 = os.open(a[0], os.O_RDWR)
fcntl.flock(fd1, fcntl.LOCK_EX)
try:
    fcntl.flock(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB); print("second-lock-granted")
except BlockingIOError:
    print("second-lock-refused")
fcntl.flock(fd1, fcntl.LOCK_UN); fcntl.flock(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB)'
is "$(pyerr "$FL" "$W/lk" | tr '\n' ' ')" "second-lock-refused ok " \
        "flock: a second open file is refused LOCK_EX|LOCK_NB, granted after LOCK_UN"
n=$(sbx_exec box1 'flock /workspace/lk sh -c ": > /workspace/lk.held; while [ ! -e /workspace/lk.release ]; do sleep 0.05; done"')
wait_for "$SBX_T" test -e "$W/lk.held"
ok "$?" "a process inside holds flock on lk"
timeout "$SBX_T" flock -n "$W/lk" true
isnt "$?" 0 "flock -n through files/ is refused while a process inside holds the lock"
: >"$W/lk.release"
is "$(sbx_wait box1 "$n")" "exited 0" "the process inside lets go"
timeout "$SBX_T" flock -n "$W/lk" true
is "$?" 0 "then flock -n through files/ is granted"
sbx_bg timeout 60 flock "$W/lk" sh -c ': > "$1.hostheld"; while [ ! -e "$1.hostrelease" ]; do sleep 0.05; done' sh "$W/lk"
wait_for "$SBX_T" test -e "$W/lk.hostheld"
ok "$?" "the host holds flock on lk through files/"
inside 'flock -n /workspace/lk true; echo $?'
is "$IN_OUT" 1 "a process inside is refused flock -n meanwhile"
: >"$W/lk.hostrelease"
wait_for "$SBX_T" eval '! sbx_alive '"$SBX_BG"
inside 'flock -n /workspace/lk true; echo $?'
is "$IN_OUT" 0 "and granted once the host let go"

# ---- xattrs
printf 'x\n' >"$W/xa"
timeout "$SBX_T" setfattr -n user.color -v blue "$W/xa"
is "$?" 0 "setfattr user.color on a workspace file"
is "$(timeout "$SBX_T" getfattr --absolute-names --only-values -n user.color "$W/xa")" blue "getfattr reads it back"
like "$(timeout "$SBX_T" getfattr -d "$W/xa" 2>/dev/null)" '^user.color="blue"$' "listxattr shows it"
is "$(getfattr --only-values -n user.color "$BK/xa" 2>/dev/null)" blue "the backing file carries it"
inside 'getfattr --only-values -n user.color /workspace/xa'
is "$IN_OUT" blue "a process inside reads it"
is "$(pyerr 'os.setxattr(a[0], "user.bin", bytes(range(256)))
assert os.getxattr(a[0], "user.bin") == bytes(range(256))' "$W/xa")" ok "a binary 256-byte value round-trips"
is "$(pyerr 'os.setxattr(a[0], "user.color", b"red", os.XATTR_CREATE)' "$W/xa")" EEXIST "XATTR_CREATE on an existing name: EEXIST"
is "$(pyerr 'os.setxattr(a[0], "user.nosuch", b"x", os.XATTR_REPLACE)' "$W/xa")" ENODATA "XATTR_REPLACE on a missing name: ENODATA"
is "$(pyerr 'os.getxattr(a[0], "user.nosuch")' "$W/xa")" ENODATA "getxattr of a missing name: ENODATA"
is "$(pyerr 'os.removexattr(a[0], "user.color")' "$W/xa")" ok "removexattr"
is "$(pyerr 'os.getxattr(a[0], "user.color")' "$W/xa")" ENODATA "it is gone"
is "$(pyerr 'os.setxattr(a[0], "user.d", b"dir")' "$W/ld")" ok "setxattr on a directory"
like "$(pyerr 'os.setxattr(a[0], "foo.bar", b"x")' "$W/xa")" '^(ENOTSUP|EOPNOTSUPP)$' "a namespace the backing fs does not have: a clean EOPNOTSUPP"
like "$(pyerr 'os.setxattr(a[0], "user.x", b"x", follow_symlinks=False)' "$W/l-rel")" '^(EPERM|ENOTSUP|EOPNOTSUPP)$' \
        "user xattrs on a symlink itself are refused (EPERM/ENOTSUP)"
inside ': > /tmp/xa'
r=$(pyerr 'os.setxattr(a[0], "user.t", b"tmp"); assert os.getxattr(a[0], "user.t") == b"tmp"' "$F/tmp/xa")
like "$r" '^(ok|ENOTSUP|EOPNOTSUPP)$' "user xattr on a file in files/tmp (tmpfs) works or is a clean EOPNOTSUPP ($r)"

# ---- read-only parts: EROFS
env_sum=$(sha256sum /usr/bin/env)
for p in "$F/ro-new" "$F/usr/ro-new" "$F/usr/bin/ro-new" "$F/etc/ro-new" "$F/etc/ssl/ro-new"; do
        is "$(pyerr 'os.close(os.open(a[0], os.O_CREAT | os.O_WRONLY, 0o644))' "$p")" EROFS "create ${p#$B/}: EROFS"
done
is "$(pyerr 'os.open(a[0], os.O_WRONLY)' "$F/etc/passwd")" EROFS "open files/etc/passwd for writing: EROFS"
is "$(pyerr 'os.open(a[0], os.O_RDWR)' "$F/usr/bin/env")" EROFS "open files/usr/bin/env O_RDWR: EROFS"
is "$(pyerr 'os.truncate(a[0], 0)' "$F/etc/hostname")" EROFS "truncate files/etc/hostname: EROFS"
is "$(pyerr 'os.unlink(a[0])' "$F/usr/bin/env")" EROFS "unlink files/usr/bin/env: EROFS"
is "$(pyerr 'os.rename(a[0], a[1])' "$F/etc/hosts" "$F/etc/hosts2")" EROFS "rename in files/etc: EROFS"
is "$(pyerr 'os.mkdir(a[0])' "$F/usr/ro-dir")" EROFS "mkdir in files/usr: EROFS"
is "$(pyerr 'os.mkdir(a[0])' "$F/ro-dir")" EROFS "mkdir in files/ (the sandbox's /): EROFS"
is "$(pyerr 'os.rmdir(a[0])' "$F/usr/local")" EROFS "rmdir files/usr/local: EROFS"
is "$(pyerr 'os.symlink("x", a[0])' "$F/etc/ro-link")" EROFS "symlink in files/etc: EROFS"
is "$(pyerr 'os.link(a[0], a[1])' "$F/usr/bin/env" "$F/usr/bin/env2")" EROFS "hard link in files/usr/bin: EROFS"
is "$(pyerr 'os.chmod(a[0], 0o4777)' "$F/usr/bin/env")" EROFS "chmod files/usr/bin/env: EROFS"
is "$(pyerr 'os.chown(a[0], 0, 0)' "$F/usr/bin/env")" EROFS "chown files/usr/bin/env: EROFS"
is "$(pyerr 'os.utime(a[0])' "$F/usr/bin/env")" EROFS "utimens files/usr/bin/env: EROFS"
is "$(pyerr 'os.setxattr(a[0], "user.x", b"x")' "$F/usr/bin/env")" EROFS "setxattr files/usr/bin/env: EROFS"
is "$(sha256sum /usr/bin/env)" "$env_sum" "the host's /usr/bin/env is unchanged"
ok "$( [ ! -e /usr/ro-new ] && [ ! -e /usr/bin/ro-new ] && [ ! -e /usr/ro-dir ]; echo $?)" "nothing was created in the host's /usr"

# ---- a full /tmp: ENOSPC
r=$(sbx_errno write "$MNT/ctl" 'new tbox tmp=1M')
is "$r" ok "new tbox tmp=1M"
is "$(fsbytes "$MNT/tbox/files/tmp")" $((1024 * 1024)) "statfs of tbox's files/tmp: 1 MiB"
inside tbox ': > /tmp/fill'
FILL='fd = os.open(a[0], os.O_WRONLY | os.O_CREAT, 0o644); n = 0
try:
    while n < 4 * 2**20:
        n += os.write(fd, b"z" * 65536)
finally:
    print(n)'
r=$(pyerr "$FILL" "$MNT/tbox/files/tmp/fill" | tr '\n' ' ')
like "$r" '^[0-9]+ ENOSPC $' "writing 4 MiB into a 1 MiB /tmp through files/: ENOSPC ($r)"
n=${r%% *}
ok "$( [ "$n" -le $((1024 * 1024)) ] && [ "$n" -gt $((512 * 1024)) ]; echo $?)" "after filling most of it ($n bytes)"
inside tbox 'df -k /tmp | awk "NR == 2 { print \$4 }"; echo more >> /tmp/fill; echo $?'
is "$IN_OUT" $'0\n1' "inside, /tmp is full too (a shell append fails)"
timeout "$SBX_T" truncate -s 0 "$MNT/tbox/files/tmp/fill"
is "$(pyerr 'fd = os.open(a[0], os.O_WRONLY); os.write(fd, b"y" * 100000); os.close(fd)' "$MNT/tbox/files/tmp/fill")" ok \
        "after truncating it, writes fit again"

# ---- consistency: host writes, inside reads at once
C=$W/cons
printf 'v1\n' >"$C"
inside 'cat /workspace/cons'
is "$IN_OUT" v1 "host write -> a process inside reads it"
printf 'v2\n' >"$C"
inside 'cat /workspace/cons; stat -c %s /workspace/cons'
is "$IN_OUT" $'v2\n3' "host overwrite (same size) -> inside reads the new bytes"
printf 'a longer version 3\n' >"$C"
inside 'cat /workspace/cons; stat -c %s /workspace/cons'
is "$IN_OUT" $'a longer version 3\n19' "host overwrite (longer) -> inside sees content and size"
: >"$C"
inside 'stat -c %s /workspace/cons'
is "$IN_OUT" 0 "host truncate to 0 -> inside sees size 0"
# a writer that stays open: what it wrote is there before its close
OW='fd = os.open(a[0], os.O_WRONLY | os.O_TRUNC); os.write(fd, b"open-writer\n")
with open(a[1], "w") as c:
    c.write("cat /workspace/cons\n")
n = os.readlink(a[2])
open(a[3] + "/" + n + "/wait").read()
out = open(a[3] + "/" + n + "/stdout").read()
os.close(fd)
assert out == "open-writer\n", out'
is "$(pyerr "$OW" "$C" "$B/ctl/exec" "$B/execs/last" "$B/execs" | tail -n 1)" ok \
        "a write through an fd the host keeps open is seen inside before the close"

# ---- consistency: inside writes, host reads at once
inside 'echo AAAA > /workspace/cons2'
is "$(hcat "$W/cons2")" AAAA "inside write -> host reads it"
inside 'printf BBBB | dd of=/workspace/cons2 conv=notrunc status=none'
is "$(hcat "$W/cons2")" BBBB "inside overwrite in place (same size, maybe same mtime) -> host reads the new bytes"
inside 'echo "grown by a process inside" > /workspace/cons2'
is "$(hstat %s "$W/cons2")" 26 "inside grows it -> host stat shows the new size"
is "$(hcat "$W/cons2")" "grown by a process inside" "and host reads all of it"
inside 'echo s > /workspace/cons2'
is "$(hstat %s "$W/cons2")" 2 "inside shrinks it -> host stat shows the new size"
is "$(hcat "$W/cons2")" s "and host reads no stale tail"
# a reader that stays open (tail -f, editors)
HELD='fd = os.open(a[0], os.O_RDONLY)
first = os.read(fd, 100)
def run(cmd):
    with open(a[1], "w") as c:
        c.write(cmd + "\n")
    n = os.readlink(a[2])
    open(a[3] + "/" + n + "/wait").read()
run("echo line2 >> /workspace/cons2")
size = os.fstat(fd).st_size
rest = os.read(fd, 100)
run("printf S | dd of=/workspace/cons2 conv=notrunc status=none")
again = os.pread(fd, 100, 0)
print(first, size, rest, again)
assert (first, size, rest, again) == (b"s\n", 8, b"line2\n", b"S\nline2\n")'
is "$(pyerr "$HELD" "$W/cons2" "$B/ctl/exec" "$B/execs/last" "$B/execs" | tail -n 1)" ok \
        "an fd held open on the host sees appends (fstat size, read) and in-place rewrites made inside"
# listing
is "$(pyerr 'os.stat(a[0])' "$W/born-inside")" ENOENT "host: born-inside does not exist yet (a negative lookup)"
inside 'echo x > /workspace/born-inside; mkdir /workspace/dir-inside'
like "$(timeout "$SBX_T" ls "$W")" '^born-inside$' "inside creates a file -> host ls lists it at once"
ok "$( [ -f "$W/born-inside" ] && [ -d "$W/dir-inside" ]; echo $?)" "host stat finds the file and the directory (no negative caching)"
inside 'mv /workspace/born-inside /workspace/renamed-inside; rmdir /workspace/dir-inside'
ls_now=$(timeout "$SBX_T" ls "$W")
ok "$(printf '%s\n' "$ls_now" | grep -qx renamed-inside && ! printf '%s\n' "$ls_now" | grep -qx born-inside; echo $?)" \
        "inside renames -> host ls shows the new name only"
is "$(pyerr 'os.stat(a[0])' "$W/born-inside")" ENOENT "host stat of the old name: ENOENT"
is "$(pyerr 'os.stat(a[0])' "$W/dir-inside")" ENOENT "inside rmdir -> host stat: ENOENT"
inside 'rm /workspace/renamed-inside'
unlike "$(timeout "$SBX_T" ls "$W")" '^renamed-inside$' "inside rm -> host ls no longer lists it"
printf 'h\n' >"$W/born-host"; mkdir "$W/dir-host"
inside 'ls /workspace'
like "$IN_OUT" '^born-host$' "host creates a file -> inside ls lists it"
like "$IN_OUT" '^dir-host$' "host mkdir -> inside ls lists it"
rm "$W/born-host"; rmdir "$W/dir-host"
inside 'ls /workspace'
unlike "$IN_OUT" '^(born-host|dir-host)$' "host rm/rmdir -> inside ls no longer lists them"
# attributes
inside 'chmod 604 /workspace/cons2; touch -d "2010-01-01 00:00:00 UTC" /workspace/cons2'
is "$(hstat %a:%Y "$W/cons2")" 604:1262304000 "inside chmod/touch -> host stat shows the mode and mtime"
chmod 640 "$W/cons2"; touch -d '2011-01-01 00:00:00 UTC' "$W/cons2"
inside 'stat -c %a:%Y /workspace/cons2'
is "$IN_OUT" 640:1293840000 "host chmod/touch -> inside stat shows them"

# ---- ownership
mkdir "$W/own-dir"; printf 'host-made\n' >"$W/own-dir/own-file"; ln -s own-file "$W/own-dir/own-link"
is "$(stat -c %u:%g "$BK/own-dir/own-file")" "$UB:$UB" "a file created through files/ belongs to the sandbox's root on the host ($UB)"
is "$(stat -c %u:%g "$BK/own-dir")" "$UB:$UB" "so does a directory"
is "$(stat -c %u:%g "$BK/own-dir/own-link")" "$UB:$UB" "and a symlink"
is "$(hstat %U "$W/own-dir/own-file")" "$ME" "stat through files/ shows it as the mount's owner ($ME)"
like "$(timeout "$SBX_T" ls -l "$W/own-dir/own-file")" "^-[rwx-]{9}\.? 1 $ME $(id -gn) " "ls -l through files/ shows $ME $(id -gn)"
# root inside has no capabilities: chown (even to itself) and chmod work
# only on files it owns, so these show that the host-made files are its.
inside 'cd /workspace/own-dir && stat -c %u:%g own-file . && echo appended >> own-file && chmod 600 own-file &&
  stat -c %a own-file && chown 0:0 own-file && echo new > made-inside && mv own-file own-file2 && echo done'
is "$IN_OUT" $'0:0\n0:0\n600\ndone' "inside: root owns them and can write, chmod, chown, create in the dir and rename"
is "$(hcat "$W/own-dir/own-file2")" $'host-made\nappended' "host reads the change"
chown 1234:1234 "$W/own-dir/own-file2"
is "$(stat -c %u:%g "$BK/own-dir/own-file2")" "$((UB + 1234)):$((UB + 1234))" "chown 1234 through files/ is uidbase+1234 on the host"
is "$(hstat %u:%g "$W/own-dir/own-file2")" 1234:1234 "and shows as 1234 through files/"
inside 'stat -c %u:%g /workspace/own-dir/own-file2; chmod 666 /workspace/own-dir/own-file2 2>/dev/null || echo chmod-refused'
is "$IN_OUT" $'1234:1234\nchmod-refused' "inside it is uid 1234, and root (no capabilities) may not chmod it"
chown 0:0 "$W/own-dir/own-file2"
is "$(stat -c %u:%g "$BK/own-dir/own-file2")" "$UB:$UB" "chown 0:0 through files/ gives it back to the sandbox's root"
inside 'stat -c %u:%g /workspace/own-dir/own-file2; chmod 666 /workspace/own-dir/own-file2 && echo chmod-ok'
is "$IN_OUT" $'0:0\nchmod-ok' "inside, root can chmod it again"
chown "$UB:$UB" "$W/own-dir/made-inside"
is "$(stat -c %u "$BK/own-dir/made-inside")" "$UB" "chown to a host uid beyond the sandbox's range stays that uid"
inside 'rm -r /workspace/own-dir && echo removed'
is "$IN_OUT" removed "inside can remove the host-made tree"

# ---- KNOWN BUGS (sbxfs): kept apart, see the report.
# 1. st_ino is the FUSE node id, a fresh number each time the kernel
#    forgets and looks a file up again (at once, with zero timeouts): two
#    stats of one file, or two hard links, show different inode numbers.
# 2. Creating anything in files/tmp fails with EOVERFLOW: the sandbox's
#    /tmp is a tmpfs mounted in the sandbox's user namespace, and the
#    daemon creates as host root, an id that namespace cannot map.
bug() {         # bug DESC GOT WANT
        if [ -n "$SBX_SKIP_KNOWN_BUGS" ]; then
                skip "$1" "SBX_SKIP_KNOWN_BUGS"
        else
                is "$2" "$3" "$1"
        fi
}
inos() { local i; for i in 1 2 3; do for f in "$@"; do hstat %i "$f"; done; done | sort -u | tr '\n' ' '; }
bug "st_ino through files/ is stable: three stats of one file agree" "$(inos "$W/h2" | wc -w)" 1
printf 'x\n' >"$W/hl1"; ln "$W/hl1" "$W/hl2"
bug "two hard links show one st_ino (three stats of each)" "$(inos "$W/hl1" "$W/hl2" | wc -w)" 1
bug "create a file in files/tmp" "$(pyerr 'os.close(os.open(a[0], os.O_CREAT | os.O_WRONLY, 0o644))' "$F/tmp/host-made")" ok
bug "mkdir in files/tmp" "$(pyerr 'os.mkdir(a[0])' "$F/tmp/host-dir")" ok
bug "symlink in files/tmp" "$(pyerr 'os.symlink("x", a[0])' "$F/tmp/host-link")" ok
bug "fill a 1 MiB /tmp with a file created through files/: ENOSPC" \
        "$(pyerr "$FILL" "$MNT/tbox/files/tmp/new-fill" | tail -n 1)" ENOSPC
inside 'stat -c %u:%g /tmp/host-made 2>&1'
bug "the file created in files/tmp belongs to the sandbox's root" "$IN_OUT" 0:0

done_testing
