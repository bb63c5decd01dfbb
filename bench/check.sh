#!/usr/bin/env bash
# Benchmark of `threatpack check` on a large synthetic pack: median wall time and peak RSS.
# See docs/benchmarks.md. Not part of the test suite.
#
#   bench/check.sh [PACK_DIR] [-- GENERATOR_ARGS...]
#
# PACK_DIR: where the pack is generated (it must be new or empty); when it already holds a
# `pack.toml` it is checked as it is. Without PACK_DIR the pack goes to a temporary directory
# that is removed at the end. GENERATOR_ARGS go to examples/generate_synthetic_pack.rs (e.g.
# `-- --attack-patterns 20000 --no-conditions`); the default is 10,000 attack patterns, 10,000
# mitigations and 30,000 links.
#
# Environment: RUNS (default 10) timed runs after one warm-up run; CHECK_ARGS extra arguments
# for `threatpack check` (default `--deny warnings`, so a pack with a warning fails the run;
# `CHECK_ARGS=` for none).
set -euo pipefail

RUNS="${RUNS:-10}"
CHECK_ARGS="${CHECK_ARGS---deny warnings}"  # set but empty: no extra arguments
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

PACK_DIR=""
if [[ $# -gt 0 && "$1" != "--" ]]; then
    PACK_DIR="$1"
    shift
fi
if [[ $# -gt 0 && "$1" == "--" ]]; then
    shift
fi
GENERATOR_ARGS=("$@")

# GNU time measures the peak resident set size (%M); the bash builtin `time` cannot. (hyperfine
# is not used: it reports no peak memory, and one loop measures both in the same runs.)
GNU_TIME=/usr/bin/time
if ! "$GNU_TIME" --version 2>&1 | grep -q 'GNU'; then
    echo "error: GNU time is needed at $GNU_TIME to measure peak memory." >&2
    echo "       Debian/Ubuntu: sudo apt-get install -y time    Fedora: sudo dnf install time" >&2
    exit 2
fi

echo "== building (release)"
(cd "$REPO" && cargo build --release --quiet --bin threatpack --example generate_synthetic_pack)
TARGET_DIR="$(cd "$REPO" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null || echo "$REPO/target")"
THREATPACK="$TARGET_DIR/release/threatpack"
GENERATOR="$TARGET_DIR/release/examples/generate_synthetic_pack"

LOG="$(mktemp "${TMPDIR:-/tmp}/threatpack-bench-log.XXXXXX")"
TIMES="$(mktemp "${TMPDIR:-/tmp}/threatpack-bench-times.XXXXXX")"
TEMPORARY_PACK=""
cleanup() {
    rm -f "$LOG" "$TIMES"
    if [[ -n "$TEMPORARY_PACK" ]]; then rm -rf "$TEMPORARY_PACK"; fi
}
trap cleanup EXIT
if [[ -z "$PACK_DIR" ]]; then
    PACK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/threatpack-bench.XXXXXX")"
    TEMPORARY_PACK="$PACK_DIR"
fi
if [[ -f "$PACK_DIR/pack.toml" ]]; then
    echo "== using the existing pack in $PACK_DIR"
else
    echo "== generating the pack in $PACK_DIR"
    "$GENERATOR" "$PACK_DIR" "${GENERATOR_ARGS[@]}"
fi
echo "   $(find "$PACK_DIR" -name '*.toml' | wc -l) files, $(du -sh "$PACK_DIR" | cut -f1)"

# One run: prints "WALL_SECONDS USER_SECONDS SYSTEM_SECONDS PEAK_RSS_KB"; fails if check fails.
# Wall time is taken with nanosecond clocks around the process (GNU time's %e has 10 ms steps).
run_once() {
    local start end status
    start=$(date +%s%N)
    # shellcheck disable=SC2086 # CHECK_ARGS is a list of words on purpose.
    if "$GNU_TIME" -o "$TIMES" -f '%U %S %M' "$THREATPACK" check $CHECK_ARGS "$PACK_DIR" >/dev/null 2>"$LOG"; then
        status=0
    else
        status=$?
    fi
    end=$(date +%s%N)
    if [[ $status -ne 0 ]]; then
        echo "error: \`threatpack check\` exited with $status:" >&2
        tail -n 20 "$LOG" >&2
        exit 1
    fi
    echo "$(awk -v ns=$((end - start)) 'BEGIN { printf "%.3f", ns / 1e9 }') $(tail -n 1 "$TIMES")"
}

# On a shared machine the spread between runs comes from other work: CPU used by other
# processes (a build, tests, other containers on the same kernel) and CPU the hypervisor gives
# to other guests ("steal"). Both are reported from /proc/stat so a noisy run can be told apart.
# Prints: TOTAL_TICKS STEAL_TICKS BUSY_TICKS (busy = user + nice + system + irq + softirq).
cpu_counters() { awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $9, $2 + $3 + $4 + $7 + $8 }' /proc/stat; }

echo "== threatpack check $CHECK_ARGS (1 warm-up run, $RUNS timed runs)"
run_once >/dev/null
tail -n 1 "$LOG" | sed 's/^/   /'
read -r TOTAL_BEFORE STEAL_BEFORE BUSY_BEFORE <<<"$(cpu_counters)"
RESULTS=()
for run in $(seq 1 "$RUNS"); do
    result="$(run_once)"
    RESULTS+=("$result")
    read -r wall user system rss <<<"$result"
    printf '   run %2d: %s s wall, %s s user, %s s system, %.1f MB peak RSS\n' "$run" "$wall" "$user" "$system" "$(awk -v kb="$rss" 'BEGIN { print kb / 1024 }')"
done

printf '%s\n' "${RESULTS[@]}" | sort -n -k1,1 | awk '
    { wall[NR] = $1; usr += $2; sys += $3; if ($4 > rss) rss = $4 }
    END {
        median = (NR % 2) ? wall[(NR + 1) / 2] : (wall[NR / 2] + wall[NR / 2 + 1]) / 2
        printf "== median %.3f s (min %.3f s, max %.3f s) over %d runs; mean user %.3f s, system %.3f s\n", median, wall[1], wall[NR], NR, usr / NR, sys / NR
        printf "== peak RSS %.1f MB (largest over the runs)\n", rss / 1024
    }'
read -r TOTAL_AFTER STEAL_AFTER BUSY_AFTER <<<"$(cpu_counters)"
OWN_CPU="$(printf '%s\n' "${RESULTS[@]}" | awk '{ cpu += $2 + $3 } END { print cpu }')"
awk -v t=$((TOTAL_AFTER - TOTAL_BEFORE)) -v s=$((STEAL_AFTER - STEAL_BEFORE)) -v b=$((BUSY_AFTER - BUSY_BEFORE)) \
    -v hz="$(getconf CLK_TCK)" -v own="$OWN_CPU" -v cpus="$(nproc)" 'BEGIN {
        other = b / hz - own; if (other < 0) other = 0
        printf "   during the timed runs: other processes used %.2f CPU on average, steal %.0f %%", (t ? other / (t / hz / cpus) : 0), (t ? 100 * s / t : 0)
        printf " (a quiet machine shows about 0.00 and 0 %%)\n"
    }'
echo "   threatpack $(cd "$REPO" && git describe --always --dirty 2>/dev/null || echo '(not a git checkout)')"
echo "   machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
