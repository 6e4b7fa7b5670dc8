# tests/lib/tap.sh: a tiny TAP producer for bash test scripts (run by prove).
#
#   source tests/lib/tap.sh
#
#   plan N                   announce N tests (or call done_testing at the end)
#   ok STATUS DESC           pass when STATUS (an exit code) is 0:  test -f x; ok $? "x exists"
#   pass DESC / fail DESC    unconditional
#   check DESC CMD...        run CMD; pass when it exits 0 (its output is shown as diag on failure)
#   is GOT WANT DESC         string equality
#   isnt GOT UNWANTED DESC   string inequality
#   like GOT ERE DESC        GOT matches the extended regex ERE (grep -E, any line)
#   unlike GOT ERE DESC      GOT does not match ERE
#   diag MSG...              a "# MSG" line on stderr (prove shows it)
#   note MSG...              a "# MSG" line on stdout
#   skip DESC REASON         an "ok N - DESC # SKIP REASON"
#   skip_all REASON          "1..0 # SKIP REASON" and exit 0 (before any test)
#   bail_out REASON          "Bail out!" and exit 255
#   done_testing             print the plan if none was given; exit status = number of failures
#
# Every assertion returns 0 on pass and 1 on failure, so `is ... || diag ...` works.
# TAP_FAILED and TAP_COUNT hold the running totals.

TAP_COUNT=0
TAP_FAILED=0
TAP_PLANNED=

plan() {
        TAP_PLANNED=$1
        echo "1..$1"
}

_tap_result() {         # _tap_result 0|1 DESC [DIRECTIVE]
        TAP_COUNT=$((TAP_COUNT + 1))
        local desc=${2//#/\\#}
        desc=${desc//$'\n'/ }
        if [ "$1" -eq 0 ]; then
                echo "ok $TAP_COUNT - $desc${3:+ # $3}"
                return 0
        fi
        TAP_FAILED=$((TAP_FAILED + 1))
        echo "not ok $TAP_COUNT - $desc"
        local caller_info
        caller_info=$(caller 1)
        diag "  Failed test '$2' at ${caller_info##* }:${caller_info%% *}"
        return 1
}

diag() {
        local line
        printf '%s\n' "$*" | while IFS= read -r line; do
                printf '# %s\n' "$line"
        done >&2
}

note() {
        local line
        printf '%s\n' "$*" | while IFS= read -r line; do
                printf '# %s\n' "$line"
        done
}

ok() {
        local st=$1
        shift
        _tap_result "$([ "$st" -eq 0 ] 2>/dev/null && echo 0 || echo 1)" "$*"
}

pass() { _tap_result 0 "$*"; }
fail() { _tap_result 1 "$*"; }

check() {
        local desc=$1 out st
        shift
        out=$("$@" 2>&1)
        st=$?
        if _tap_result "$st" "$desc"; then
                return 0
        fi
        diag "    command: $*" "    exit status: $st" "    output: ${out:0:2000}"
        return 1
}

is() {
        if [ "$1" == "$2" ]; then
                _tap_result 0 "$3"
                return 0
        fi
        _tap_result 1 "$3"
        diag "         got: '${1:0:2000}'" "    expected: '${2:0:2000}'"
        return 1
}

isnt() {
        if [ "$1" != "$2" ]; then
                _tap_result 0 "$3"
                return 0
        fi
        _tap_result 1 "$3"
        diag "         got: '${1:0:2000}'" "    expected anything else"
        return 1
}

like() {
        if printf '%s\n' "$1" | grep -Eq -- "$2"; then
                _tap_result 0 "$3"
                return 0
        fi
        _tap_result 1 "$3"
        diag "                  '${1:0:2000}'" "    doesn't match '$2'"
        return 1
}

unlike() {
        if ! printf '%s\n' "$1" | grep -Eq -- "$2"; then
                _tap_result 0 "$3"
                return 0
        fi
        _tap_result 1 "$3"
        diag "                  '${1:0:2000}'" "          matches '$2'"
        return 1
}

skip() {
        _tap_result 0 "$1" "SKIP ${2:-}"
}

skip_all() {
        echo "1..0 # SKIP $*"
        exit 0
}

bail_out() {
        echo "Bail out! $*"
        exit 255
}

done_testing() {
        if [ -z "$TAP_PLANNED" ]; then
                echo "1..$TAP_COUNT"
        elif [ "$TAP_PLANNED" -ne "$TAP_COUNT" ]; then
                diag "Looks like you planned $TAP_PLANNED tests but ran $TAP_COUNT."
                [ "$TAP_FAILED" -eq 0 ] && TAP_FAILED=255
        fi
        [ "$TAP_FAILED" -gt 0 ] && diag "Looks like you failed $TAP_FAILED test(s) of $TAP_COUNT."
        [ "$TAP_FAILED" -gt 254 ] && TAP_FAILED=254
        exit "$TAP_FAILED"
}
