#!/usr/bin/env bash
# Escape suite, files/: symlinks planted by a sandbox must never lead a host
# process reading through $MNT/<box>/files/ to host data or to another
# sandbox's files.  A unique secret lives in host files under /tmp; every
# read the host makes through files/ is checked for it.  Cases: absolute
# links to a host file and dir, relative ../../.. links, links into another
# sandbox (by mount path, state path and /proc), /proc links, and links
# swapped in a loop by a process inside while the host reads (bounded to a
# few seconds).
#
# The last section ("KNOWN BUGS") holds escapes that work today, kept apart
# so that they can be decided on; SBX_SKIP_KNOWN_BUGS=1 reports them as
# skipped instead.
. "$(dirname "$0")/lib.sh"

sec_start
MNT=$SBX_MNT
sec_box esc || bail_out "cannot create esc"
sec_box other || bail_out "cannot create other"
F=$MNT/esc/files
W=$F/workspace
: "${FILES_RACE_S:=3}"          # how long the swap race runs

TOKEN=sbx-files-secret-$$-$RANDOM$RANDOM
SECRET=$(mktemp /tmp/sbx-files-secret.XXXXXX) || bail_out "mktemp"
SECDIR=$(mktemp -d /tmp/sbx-files-secdir.XXXXXX) || bail_out "mktemp -d"
trap '_f_rc=$?; rm -rf "$SECRET" "$SECDIR"; sec_cleanup; (exit $_f_rc); sbx_cleanup' EXIT
HOSTONLY=hostonly-$RANDOM$RANDOM # a name only the host's secret dir holds
printf '%s\n' "$TOKEN" >"$SECRET"
printf '%s\n' "$TOKEN" >"$SECDIR/f"
printf '%s\n' "$TOKEN" >"$SECDIR/$HOSTONLY"
chmod 644 "$SECRET" "$SECDIR/f" "$SECDIR/$HOSTONLY"
chmod 755 "$SECDIR"
TOKEN2=sbx-other-secret-$RANDOM$RANDOM
sec_run other "echo $TOKEN2 > /workspace/secret2; echo ok"
[ "$SEC_OUT" = ok ] || bail_out "cannot plant other's secret: $SEC_STATUS $SEC_ERR"

# How deep files/workspace is on the host: this many ".." from it reach /.
DEPTH=$(printf '%s' "$W" | tr -cd / | wc -c)
UP=$(printf '../%.0s' $(seq 1 $((DEPTH + 4))))  # more than enough to reach /

ALL=$SBX_TMP/all-reads          # everything the host read through files/
: >"$ALL"
# hread PATH: what a host reader gets through PATH: the content, or
# "ERR <message>" (without the path, which holds no data); also appended to
# $ALL.  hls DIR: the same for a listing.
hread() {
        local out err
        if ! out=$(timeout "$SBX_T" cat -- "$1" 2>"$SBX_TMP/hread.err"); then
                err=$(head -n 1 "$SBX_TMP/hread.err")
                out="ERR ${err##*: }"
        fi
        printf '%s\n' "$out" >>"$ALL"
        printf '%s\n' "$out"
}
hls() {
        local out err
        if ! out=$(timeout "$SBX_T" ls -A -- "$1" 2>"$SBX_TMP/hread.err"); then
                err=$(head -n 1 "$SBX_TMP/hread.err")
                out="ERR ${err##*: }"
        fi
        printf '%s\n' "$out" >>"$ALL"
        printf '%s\n' "$out"
}
# no_leak DESC OUT: one assertion that OUT holds neither secret nor the
# host-only name.
no_leak() {
        if [[ $2 == *"$TOKEN"* || $2 == *"$TOKEN2"* || $2 == *"$HOSTONLY"* ]]; then
                fail "$1"
                diag "  host data read through files/: ${2:0:500}"
                return 1
        fi
        pass "$1"
}

# ---- 1. absolute links to a host file and a host dir
sec_run esc "ln -s $SECRET /workspace/abs && ln -s $SECDIR /workspace/absdir && ln -s / /workspace/root &&
  mkdir -p /workspace/a/b/c && ln -s $SECRET /workspace/a/b/c/abs-deep && echo planted"
is "$SEC_OUT" planted "esc plants absolute links to $SECRET, $SECDIR and /"
is "$(timeout "$SBX_T" readlink "$W/abs")" "$F$SECRET" "readlink through files/ rewrites the absolute target into files/"
is "$(timeout "$SBX_T" readlink "$W/absdir")" "$F$SECDIR" "the same for a link to a directory"
is "$(timeout "$SBX_T" readlink "$W/root")" "$F/" "a link to / reads as files/"
out=$(hread "$W/abs"; hread "$W/absdir/f"; hread "$W/absdir/$HOSTONLY"; hread "$W/root$SECRET"; hread "$W/a/b/c/abs-deep"
      hls "$W/absdir/"; timeout "$SBX_T" readlink -f "$W/abs")
no_leak "absolute links: cat, ls and readlink -f through them read no host data" "$out"
is "$(hread "$W/abs")" "ERR No such file or directory" "cat through the link: ENOENT (the sandbox has no such file)"
sec_run esc "echo decoy-inside > $SECRET && echo ok"
is "$(hread "$W/abs")" decoy-inside "with a file at that path inside the sandbox, the link reads the sandbox's file"
is "$(hread "$W/a/b/c/abs-deep")" decoy-inside "so does the deeper one"
is "$(hread "$W/root$SECRET")" decoy-inside "and files/workspace/root/<path> is the sandbox's <path>"
ln -s "$SECRET" "$W/abs-host-made"
is "$(hread "$W/abs-host-made")" decoy-inside "an absolute link made by the host through files/ resolves inside too"
out=$(timeout 30 tar -chf - -C "$W" abs absdir a 2>/dev/null | tar -xOf - 2>/dev/null
      timeout 30 grep -R -s "$TOKEN" "$W/abs" "$W/absdir" "$W/a"
      timeout 30 find -L "$W/absdir" "$W/a" -type f -exec cat {} + 2>/dev/null
      timeout "$SBX_T" "$SBX_PYTHON" -c 'import os, sys; print(os.path.realpath(sys.argv[1])); print(open(sys.argv[1]).read())' "$W/abs" 2>&1)
printf '%s\n' "$out" >>"$ALL"
no_leak "tools that follow links (tar -h, grep -R, find -L, python realpath/open) read no host data" "$out"

# ---- 2. relative links that climb out
sec_run esc "ln -s ${UP}${SECRET#/} /workspace/rel && ln -s ${UP}${SECDIR#/} /workspace/a/b/reldir &&
  ln -s ./..//../${UP}.${SECRET} /workspace/a/rel-odd && ln -s ../../../tmp /workspace/a/b/tmp-up &&
  ln -s $(printf '../%.0s' $(seq 1 "$DEPTH"))${SECRET#/} /workspace/rel-exact && echo planted"
is "$SEC_OUT" planted "esc plants relative links climbing $((DEPTH + 4)) levels (and exactly $DEPTH)"
is "$(timeout "$SBX_T" readlink "$W/rel")" "$F$SECRET" "readlink rewrites a climbing relative link into files/"
r=$(timeout "$SBX_T" readlink "$W/a/b/tmp-up")
ok "$( [ "$r" = ../../../tmp ] || [ "$r" = "$F/tmp" ]; echo $?)" \
        "../../../tmp from workspace/a/b stays inside: as written or as files/tmp ($r)"
out=$(hread "$W/rel"; hread "$W/rel-exact"; hread "$W/a/b/reldir/f"; hread "$W/a/b/reldir/$HOSTONLY"; hread "$W/a/rel-odd"
      hread "$W/a/b/tmp-up/${SECRET##*/}"; hls "$W/a/b/reldir/")
no_leak "relative ../../.. links: reads through them get no host data" "$out"
is "$(hread "$W/rel")" decoy-inside "the climbing link lands on the sandbox's own file"
is "$(hread "$W/a/b/tmp-up/${SECRET##*/}")" decoy-inside "so does ../../../tmp/<name>"

# ---- 3. links into another sandbox
other_init=$(cat "$SBX_STATE/other/init.pid" 2>/dev/null)
sec_run esc "ln -s $MNT/other/files/workspace/secret2 /workspace/o-mnt && ln -s $SBX_STATE/other/workspace/secret2 /workspace/o-state &&
  ln -s ../../../other/files/workspace/secret2 /workspace/o-rel && ln -s /proc/${other_init:-1}/root/workspace/secret2 /workspace/o-proc &&
  ln -s $MNT/other/files/workspace /workspace/o-dir && echo planted"
is "$SEC_OUT" planted "esc plants links to other's workspace (mount path, state path, relative, /proc)"
is "$(hread "$MNT/other/files/workspace/secret2")" "$TOKEN2" "control: other's secret is readable through other's own files/"
out=$(hread "$W/o-mnt"; hread "$W/o-state"; hread "$W/o-rel"; hread "$W/o-proc"; hread "$W/o-dir/secret2"
      hls "$W/o-dir/")
no_leak "links to another sandbox's files read nothing of it" "$out"
is "$(timeout "$SBX_T" readlink "$W/o-rel")" "$F/other/files/workspace/secret2" "the relative one is rewritten into esc's files/"
R='import errno, os, sys
for op in (os.link, os.rename):
    try:
        op(sys.argv[1], sys.argv[2]); print("ok")
    except OSError as e:
        print(errno.errorcode[e.errno])'
is "$(timeout "$SBX_T" "$SBX_PYTHON" -c "$R" "$MNT/other/files/workspace/secret2" "$W/stolen" | tr '\n' ' ')" "EXDEV EXDEV " \
        "hard link and rename from other's files/ into esc's: EXDEV"
sec_run esc "cat /workspace/stolen 2>&1; ls /workspace"
no_leak "nothing of other's reached esc's workspace" "$SEC_OUT"

# ---- 4. /proc, /dev and /sys: hidden, also through links
sec_run esc "ln -s /proc/self/root /workspace/p-self && ln -s /proc/1/root /workspace/p-1 && ln -s ../../proc/1/root /workspace/p-rel &&
  ln -s /proc/1/cwd /workspace/p-cwd && ln -s /dev/sda /workspace/dev-disk && echo planted"
is "$SEC_OUT" planted "esc plants links into /proc and /dev"
out=$(hread "$W/p-self$SECRET"; hread "$W/p-1$SECRET"; hread "$W/p-rel$SECRET"; hread "$W/p-cwd/secret2"; hread "$W/dev-disk"
      hls "$W/p-1/")
no_leak "links into /proc read no host data" "$out"
is "$(printf '%s\n' "$out" | sort -u)" "ERR No such file or directory" "they all end in ENOENT (files/proc is not there)"
for p in p-self p-1 p-rel dev-disk; do
        ok "$( ! timeout "$SBX_T" test -e "$W/$p"; echo $?)" "files/workspace/$p leads nowhere"
done

# ---- 5. links swapped in a loop by a process inside while the host reads
sec_run esc "mkdir -p /workspace/race/sw /workspace/race/d2 && echo inside-content > /workspace/race/sw/f &&
  echo inside-file > /workspace/race/swf && ln -s $SECDIR /workspace/race/l-abs &&
  ln -s ${UP}${SECDIR#/} /workspace/race/l-rel && ln -s $SECRET /workspace/race/lf-abs &&
  ln -s ${UP}${SECRET#/} /workspace/race/lf-rel && echo ready"
is "$SEC_OUT" ready "the race's links and files are in place"
SWAP='import ctypes, os, time
l = ctypes.CDLL(None, use_errno=True)
def xchg(a, b):
    if l.renameat2(-100, a.encode(), -100, b.encode(), 2) != 0:
        raise OSError(ctypes.get_errno(), "renameat2 " + a)
os.chdir("/workspace/race")
open("started", "w").close()
end = time.time() + DUR
n = 0
while time.time() < end:
    for alt in ("l-abs", "l-rel"):
        xchg("sw", alt); xchg("sw", alt)     # sw: a directory, a link, a directory again
    for alt in ("lf-abs", "lf-rel"):
        xchg("swf", alt); xchg("swf", alt)
    # and a non-atomic swap: the directory renamed away, a link put in place
    os.rename("sw", "sw.away"); os.symlink("'"$SECDIR"'", "sw"); os.unlink("sw"); os.rename("sw.away", "sw")
    n += 1
open("done", "w").close()
print("swaps", n)'
n=$(sbx_exec esc "$(printf '#!/usr/bin/python3\nDUR = %s\n%s\n' "$FILES_RACE_S" "$SWAP")")
wait_for "$SBX_T" test -e "$W/race/started"
ok "$?" "the swapping process runs inside"
READ='import os, sys, time
w, tok, hostonly, limit = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
end = time.time() + limit
reads = inside = leaks = 0
while time.time() < end and not os.path.exists(w + "/done"):
    for p in ("sw/f", "swf", "sw/" + hostonly):
        try:
            with open(w + "/" + p) as fh:
                data = fh.read()
        except OSError:
            data = ""
        reads += 1
        inside += data.startswith("inside")
        leaks += tok in data
    try:
        names = os.listdir(w + "/sw")
    except OSError:
        names = []
    leaks += hostonly in names
print("reads", reads, "inside", inside, "leaks", leaks)'
race=$(timeout $((FILES_RACE_S + 30)) "$SBX_PYTHON" -c "$READ" "$W/race" "$TOKEN" "$HOSTONLY" $((FILES_RACE_S + 10)))
printf '%s\n' "$race" >>"$ALL"
is "$(sbx_wait esc "$n" 30)" "exited 0" "the swapping process ends on its own"
swaps=$(timeout "$SBX_T" cat "$MNT/esc/execs/$n/stdout")
note "race: $swaps; host $race"
like "$swaps" '^swaps [1-9]' "it swapped the links ($swaps)"
like "$race" '^reads [1-9][0-9]* inside [1-9]' "the host read through the swapping paths meanwhile ($race)"
like "$race" ' leaks 0$' "the host never read the secret or listed the host's dir during the race"

# ---- all reads together
ok "$( ! grep -q -e "$TOKEN" -e "$HOSTONLY" "$ALL"; echo $?)" "no read through files/ in this test ever gave host data"
is "$(cat "$SECRET")" "$TOKEN" "the host secret file is unchanged"
sec_host_fine "the files/ escape cases"

# ---- KNOWN BUGS (sbxfs): escapes that work today, see the report.
bug_noleak() {          # bug_noleak DESC OUT
        if [ -n "$SBX_SKIP_KNOWN_BUGS" ]; then
                skip "$1" "SBX_SKIP_KNOWN_BUGS"
        else
                no_leak "$1" "$2"
        fi
}
# a. readlink decides "stays inside" lexically, but the kernel resolves
#    physically: in s/../../x, s may be a link that climbs (itself judged
#    inside), and the ".." after it then climb above files/.
# The link's dir is DEPTH deep below files/, s climbs exactly to files/
# (judged inside), and phys adds DEPTH-1 ".." after s (lexically still
# inside), which from files/ on the host reach /.
KD=k$(printf '/%s' $(seq 1 $((DEPTH - 2))))      # workspace/$KD: DEPTH components
sec_run esc "mkdir -p /workspace/$KD && cd /workspace/$KD && ln -s $(printf '../%.0s' $(seq 1 "$DEPTH")) s &&
  ln -s s/$(printf '../%.0s' $(seq 1 $((DEPTH - 1))))${SECRET#/} phys && echo planted"
is "$SEC_OUT" planted "esc plants s -> ../ x$DEPTH (up to its root) and phys -> s/ + ../ x$((DEPTH - 1)) + ${SECRET}"
bug_noleak "a relative link through a climbing link (s/../..) reads no host data" \
        "$(hread "$W/$KD/phys"; timeout "$SBX_T" readlink "$W/$KD/phys")"
# b. a finode keeps the path it was first looked up by; after a process
#    inside moves a directory the host holds (a shell's cwd, an editor's
#    or inotify's watch) nearer the root, links in it are judged at the old
#    depth and returned raw.
DEEP=m/1/2/3/4/5/6/7/8/9/10/11/12
sec_run esc "mkdir -p /workspace/$DEEP && echo ok"
sbx_bg sh -c 'cd "$1" && exec sleep 60' sh "$W/$DEEP"
HOLD=$SBX_BG
wait_for "$SBX_T" eval "[ \"\$(readlink /proc/$HOLD/cwd 2>/dev/null)\" = '$W/$DEEP' ]"
ok "$?" "a host process holds files/workspace/$DEEP as its cwd"
sec_run esc "mv /workspace/$DEEP /workspace/moved && ln -s $(printf '../%.0s' $(seq 1 14))${SECRET#/} /workspace/moved/evil && echo planted"
is "$SEC_OUT" planted "esc moves that directory to /workspace/moved and plants moved/evil -> ../ x14 + ${SECRET}"
bug_noleak "a link in a directory moved inside while the host holds it reads no host data" \
        "$(hread "$W/moved/evil"; timeout "$SBX_T" readlink "$W/moved/evil")"
kill -TERM "$HOLD" 2>/dev/null
wait "$HOLD" 2>/dev/null

done_testing
