#!/bin/bash
# Run libFuzzer targets for a bounded time each and print one line of
# figures per target (docs/RELIABILITY.md, "Fuzzing").
#
#   tests/fuzz/run.sh SECONDS TARGET...        (from the build directory)
#
# Environment: srcdir (source tree, default: this script's ../..),
# VG_CORPUS_DIR (libvirt domain XMLs, optional seeds), FUZZ_JOBS (targets
# run at the same time, default 2), FUZZ_ARGS (extra libFuzzer flags).
# Each target keeps its growing corpus in tests/fuzz/work/TARGET (seeded
# from tests/fuzz/corpus/ and the test data) and writes crashes to
# tests/fuzz/artifacts/TARGET/.  Exit status 1 when any target found
# something.
set -u
secs=${1:?seconds}; shift
srcdir=${srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
jobs=${FUZZ_JOBS:-2}
corpus=${VG_CORPUS_DIR:-}

seeds_for() {
    local t=$1 d=$srcdir/tests/data
    echo "$srcdir/tests/fuzz/corpus/${t#fuzz-}"
    case $t in
    fuzz-domain)
        echo "$d/domains" "$d/domains/hostile"
        [ -n "$corpus" ] && [ -d "$corpus/libvirt-9.0.0-qemuxml2argv" ] &&
            echo "$corpus/libvirt-9.0.0-qemuxml2argv" ;;
    fuzz-config) echo "$d/conf" ;;
    fuzz-mountinfo) echo "$d/mountinfo" "$d/mountinfo/malformed" ;;
    fuzz-explain) [ -d "$d/explain" ] && echo "$d/explain" ;;
    esac
}

run_one() {
    local t=$1 bin=tests/fuzz/$1 work=tests/fuzz/work/$1 art=tests/fuzz/artifacts/$1/
    local dict=$srcdir/tests/fuzz/${t#fuzz-}.dict extra=()
    mkdir -p "$work" "$art"
    # Inputs that once crashed (tests/fuzz/regressions/TARGET/): each must
    # now pass, whatever the fuzzing below finds.
    local reg=$srcdir/tests/fuzz/regressions/$t
    if [ -d "$reg" ] && ls "$reg"/* >/dev/null 2>&1; then
        if ! "$bin" "$reg"/* >"tests/fuzz/$t.regressions.log" 2>&1; then
            echo "regressions" >"tests/fuzz/$t.rc"
            return
        fi
    fi
    [ -f "$dict" ] && extra+=(-dict="$dict")
    # fuzz-rulesfile writes the rules files it renders; they are compiled
    # whole with the real apparmor_parser after the run (below).
    if [ "$t" = fuzz-rulesfile ]; then
        rm -rf "$work.out" && mkdir -p "$work.out"
        export VG_FUZZ_RULES_OUT=$PWD/$work.out
    fi
    [ "$t" = fuzz-domain ] && extra+=(-max_len=16384)
    # shellcheck disable=SC2046,SC2086
    "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$art" "${extra[@]}" ${FUZZ_ARGS:-} \
        "$work" $(seeds_for "$t") >"tests/fuzz/$t.log" 2>&1
    local rc=$?
    if [ "$t" = fuzz-rulesfile ] && [ "$rc" = 0 ]; then
        # Every rendered file, compiled whole in batches: its rules and DFA
        # must be exactly its literals (tests/apparmor/aa-rules-check.py).
        local n
        n=$(find "$work.out" -name '*.rules' | wc -l)
        echo "whole-file check of $n rendered rules files" >>"tests/fuzz/$t.log"
        if ! find "$work.out" -name '*.rules' -print0 | xargs -0 -r python3 \
                "$srcdir/tests/apparmor/aa-rules-check.py" --parser "${APPARMOR_PARSER:-/sbin/apparmor_parser}" \
                >>"tests/fuzz/$t.log" 2>&1; then
            echo "rules" >"tests/fuzz/$t.rc"
            return
        fi
        [ "$n" -gt 0 ] || { echo "rules-none" >"tests/fuzz/$t.rc"; return; }
    fi
    echo $rc >"tests/fuzz/$t.rc"
}

for t in "$@"; do
    [ -x "tests/fuzz/$t" ] || { echo "run.sh: tests/fuzz/$t is not built" >&2; exit 2; }
done
running=0
for t in "$@"; do
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait

fail=0
printf '%-16s %10s %8s %7s %6s %8s  %s\n' target executions exec/s corpus cov rss_mb result
for t in "$@"; do
    log=tests/fuzz/$t.log rc=$(cat "tests/fuzz/$t.rc")
    [ -f "$log" ] || : >"$log"
    stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
    if [ "$rc" = 0 ]; then res=ok
    elif [ "$rc" = rules ]; then res="FOUND: a rendered rules file compiles to more than its literals, see $log (FAIL lines)"; fail=1
    elif [ "$rc" = rules-none ]; then res="FAILED: no rules file was rendered to check"; fail=1
    elif [ "$rc" = regressions ]; then res="REGRESSION: an input of tests/fuzz/regressions/$t/ fails, see tests/fuzz/$t.regressions.log"; fail=1
    else res="FOUND (status $rc), see $log and tests/fuzz/artifacts/$t/"; fail=1; fi
    printf '%-16s %10s %8s %7s %6s %8s  %s\n' "$t" "$(stat number_of_executed_units)" \
        "$(stat average_exec_per_sec)" "${corp:-?}" "${cov:-?}" "$(stat peak_rss_mb)" "$res"
done
if [ $fail != 0 ]; then
    for t in "$@"; do
        case $(cat "tests/fuzz/$t.rc") in
        0) ;;
        rules|rules-none) echo "---- $t"; grep -E '^FAIL|checked whole' "tests/fuzz/$t.log" | head -n 20 ;;
        regressions) echo "---- $t"; grep -E 'Running:|SUMMARY|runtime error' "tests/fuzz/$t.regressions.log" | head -n 20 ;;
        *) echo "---- $t"; grep -A25 -E '^==[0-9]+==|runtime error|deadly signal' "tests/fuzz/$t.log" | head -n 40 ;;
        esac
    done
fi
exit $fail
