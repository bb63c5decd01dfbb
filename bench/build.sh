#!/usr/bin/env bash
# Benchmark of `threatpack build --sign` against the physical floor: the time standard tools
# take to archive, compress, hash and sign the same bytes. See docs/benchmarks.md ("`build
# --sign`"). Not part of the test suite.
#
#   bench/build.sh [SYNTH_DIR] [-- GENERATOR_ARGS...]
#
# Three packs: packs/stride-core, packs/example-org (which depends on stride-core) and a
# synthetic pack from examples/generate_synthetic_pack.rs (default: 10,000 attack patterns,
# 10,000 mitigations, 30,000 links). SYNTH_DIR is where the synthetic pack is generated (new or
# empty), or reused when it already holds a `pack.toml`; without it the pack goes to a
# temporary directory that is removed at the end. GENERATOR_ARGS go to the generator.
#
# For each pack, after one warm-up run of each, RUNS rounds (default 7) that run each of these
# once (interleaved, so that a slow spell of a shared machine hits all of them alike):
#   build    `threatpack build PACK --sign KEY --out OUT`: median wall time and peak RSS;
#   gzip     the floor over the same output bytes. The bundle that build wrote is extracted
#            (manifest.json, kb.json, source/..., legal/...), then
#              tar -cf - -C DIR --no-recursion -T LIST | gzip -6 -n > x.tar.gz &&
#              sha256sum x.tar.gz && minisign -S -s KEY -m x.tar.gz -t "... sha256=DIGEST"
#            LIST holds the bundle's entries in the bundle's order (`tar -tzf`), so the archive
#            has the same entries in the same order as the bundle (this replaces `--sort=name`,
#            which would also add directory entries the bundle does not have). The trusted
#            comment binds the digest, as build's does;
#   zstd     the same with `zstd -3` instead of `gzip -6`;
#   check    `threatpack check PACK` (the checking that build starts with);
#   nosign   `threatpack build PACK --out OUT` without `--sign`.
# It prints the compressed sizes and ratios, the ratio build / gzip floor, and markdown tables.
#
# The key is a throwaway unencrypted key (`threatpack key generate --unencrypted`); the
# `minisign` tool signs with the same key file. An encrypted key adds minisign's scrypt key
# derivation to every signing run; that is a fixed cost per run, not measured here.
#
# Both build and the floor write their output under a temporary directory on the same
# filesystem. Note: build fsyncs the bundle and the signature (write_atomically); the floor's
# shell redirections do not.
#
# Needs: GNU time at /usr/bin/time, tar, gzip, zstd, sha256sum, minisign
# (Debian/Ubuntu: sudo apt-get install -y time zstd minisign).
# Environment: RUNS (default 7).
set -euo pipefail
shopt -s inherit_errexit

RUNS="${RUNS:-7}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

SYNTH_DIR=""
if [[ $# -gt 0 && "$1" != "--" ]]; then
    SYNTH_DIR="$1"
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
for tool in tar gzip zstd sha256sum minisign; do
    if ! command -v "$tool" >/dev/null; then
        echo "error: \`$tool\` is needed for the floor. Debian/Ubuntu: sudo apt-get install -y $tool" >&2
        exit 2
    fi
done

echo "== building (release)"
(cd "$REPO" && cargo build --release --quiet --bin threatpack --example generate_synthetic_pack)
TARGET_DIR="$(cd "$REPO" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null || echo "$REPO/target")"
THREATPACK="$TARGET_DIR/release/threatpack"
GENERATOR="$TARGET_DIR/release/examples/generate_synthetic_pack"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/threatpack-bench-build.XXXXXX")"
LOG="$WORK/log"
TIMES="$WORK/times"
TEMPORARY_PACK=""
cleanup() {
    rm -rf "$WORK"
    if [[ -n "$TEMPORARY_PACK" ]]; then rm -rf "$TEMPORARY_PACK"; fi
}
trap cleanup EXIT
if [[ -z "$SYNTH_DIR" ]]; then
    SYNTH_DIR="$(mktemp -d "${TMPDIR:-/tmp}/threatpack-bench.XXXXXX")"
    TEMPORARY_PACK="$SYNTH_DIR"
fi
if [[ -f "$SYNTH_DIR/pack.toml" ]]; then
    echo "== using the existing synthetic pack in $SYNTH_DIR"
else
    echo "== generating the synthetic pack in $SYNTH_DIR"
    "$GENERATOR" "$SYNTH_DIR" "${GENERATOR_ARGS[@]}"
fi

KEY="$WORK/bench.key"
"$THREATPACK" key generate --unencrypted --out "$WORK/bench" >/dev/null 2>&1

# The floors, as scripts for `bash -c` (so that GNU time measures the whole pipeline; its %M is
# then the largest process of the pipeline). Arguments: DIR LIST OUT KEY.
TAR='tar -cf - -C "$1" --no-recursion --format=ustar --owner=0 --group=0 --numeric-owner --mtime=@0 --mode=0644 -T "$2"'
SIGN='digest=$(sha256sum "$3" | cut -d" " -f1) && minisign -S -s "$4" -m "$3" -t "threatpack-bundle sha256=$digest" </dev/null >/dev/null'
FLOOR_GZIP="set -o pipefail; $TAR | gzip -6 -n > \"\$3\" && $SIGN"
FLOOR_ZSTD="set -o pipefail; $TAR | zstd -3 -q -c > \"\$3\" && $SIGN"

# One run of "$@": prints "WALL_SECONDS USER_SECONDS SYSTEM_SECONDS PEAK_RSS_KB"; fails if the
# command fails. Wall time is taken with nanosecond clocks around the process (GNU time's %e has
# 10 ms steps).
run_once() {
    local start end status
    start=$(date +%s%N)
    if "$GNU_TIME" -o "$TIMES" -f '%U %S %M' "$@" >/dev/null 2>"$LOG"; then
        status=0
    else
        status=$?
    fi
    end=$(date +%s%N)
    if [[ $status -ne 0 ]]; then
        echo "error: \`$*\` exited with $status:" >&2
        tail -n 20 "$LOG" >&2
        exit 1
    fi
    echo "$(awk -v ns=$((end - start)) 'BEGIN { printf "%.4f", ns / 1e9 }') $(tail -n 1 "$TIMES")"
}

# CPU used by other processes and hypervisor steal, from /proc/stat (as in bench/check.sh).
# Prints: TOTAL_TICKS STEAL_TICKS BUSY_TICKS.
cpu_counters() { awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $9, $2 + $3 + $4 + $7 + $8 }' /proc/stat; }

# run_label LABEL: one run of that command on the current pack (PACK, NAME, OUT, DIR, LIST).
run_label() {
    case "$1" in
        build) run_once "$THREATPACK" build "$PACK" --sign "$KEY" --out "$OUT" ;;
        gzip) run_once bash -c "$FLOOR_GZIP" floor "$DIR" "$LIST" "$WORK/x.tar.gz" "$KEY" ;;
        zstd) run_once bash -c "$FLOOR_ZSTD" floor "$DIR" "$LIST" "$WORK/x.tar.zst" "$KEY" ;;
        check) run_once "$THREATPACK" check "$PACK" ;;
        nosign) run_once "$THREATPACK" build "$PACK" --out "$WORK/nosign-$NAME" ;;
    esac
}
LABELS=(build gzip zstd check nosign)

# measure_all: one warm-up run of each command, then RUNS rounds that run each command once, so
# that a slow spell of the shared machine hits every command alike. Prints one line per run and
# fills SUMMARY[LABEL] with "MEDIAN MIN MAX PEAK_RSS_KB MEAN_USER MEAN_SYSTEM".
declare -A SUMMARY
measure_all() {
    local -A results=()
    local label result wall user system rss run
    for label in "${LABELS[@]}"; do run_label "$label" >/dev/null; done
    for run in $(seq 1 "$RUNS"); do
        for label in "${LABELS[@]}"; do
            result="$(run_label "$label")"
            results[$label]+="$result"$'\n'
            read -r wall user system rss <<<"$result"
            printf '   %-7s run %2d: %s s wall, %s s user, %s s system, %.1f MB peak RSS\n' \
                "$label" "$run" "$wall" "$user" "$system" "$(awk -v kb="$rss" 'BEGIN { print kb / 1024 }')"
        done
    done
    for label in "${LABELS[@]}"; do
        SUMMARY[$label]="$(printf '%s' "${results[$label]}" | sort -n -k1,1 | awk '
            { wall[NR] = $1; usr += $2; sys += $3; if ($4 > rss) rss = $4 }
            END {
                median = (NR % 2) ? wall[(NR + 1) / 2] : (wall[NR / 2] + wall[NR / 2 + 1]) / 2
                printf "%.4f %.4f %.4f %d %.3f %.3f\n", median, wall[1], wall[NR], rss, usr / NR, sys / NR
            }')"
    done
}

seconds() { awk -v s="$1" 'BEGIN { if (s < 1) printf "%.0f ms", s * 1000; else printf "%.2f s", s }'; }
megabytes() { awk -v b="$1" 'BEGIN { if (b < 1e6) printf "%.1f kB", b / 1e3; else printf "%.2f MB", b / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

TABLE_TIME=()
TABLE_SIZE=()
TABLE_PHASES=()
bench_pack() {
    local name="$1" pack="$2" out="$WORK/out-$1" dir="$WORK/extracted-$1" list="$WORK/list-$1"
    NAME="$name" PACK="$pack" OUT="$out" DIR="$dir" LIST="$list"
    local bundle files tar_bytes bundle_bytes gzip_bytes zstd_bytes
    local total_before steal_before busy_before total_after steal_after busy_after
    local build floor_gzip floor_zstd check nosign
    echo "== $name: $pack"
    rm -rf "$out" "$dir"
    mkdir -p "$dir"
    "$THREATPACK" build "$pack" --sign "$KEY" --out "$out" 2>&1 | sed 's/^/   /'
    bundle="$(find "$out" -name '*.tar.gz' | head -n 1)"
    tar -tzf "$bundle" >"$list"
    tar -xzf "$bundle" -C "$dir"
    files="$(wc -l <"$list")"
    tar_bytes="$(gzip -dc "$bundle" | wc -c)"
    bundle_bytes="$(stat -c %s "$bundle")"

    read -r total_before steal_before busy_before <<<"$(cpu_counters)"
    measure_all
    build="${SUMMARY[build]}" floor_gzip="${SUMMARY[gzip]}" floor_zstd="${SUMMARY[zstd]}"
    check="${SUMMARY[check]}" nosign="${SUMMARY[nosign]}"
    read -r total_after steal_after busy_after <<<"$(cpu_counters)"
    local own_cpu # the warm-up runs are counted at the mean of the timed runs
    own_cpu="$(printf '%s\n' "$build" "$floor_gzip" "$floor_zstd" "$check" "$nosign" | awk -v runs="$RUNS" '{ cpu += ($5 + $6) * (runs + 1) } END { print cpu }')"
    awk -v t=$((total_after - total_before)) -v s=$((steal_after - steal_before)) -v b=$((busy_after - busy_before)) \
        -v hz="$(getconf CLK_TCK)" -v own="$own_cpu" -v cpus="$(nproc)" 'BEGIN {
            other = b / hz - own; if (other < 0) other = 0
            printf "   during the runs: other processes used about %.2f CPU on average, steal %.0f %%\n", (t ? other / (t / hz / cpus) : 0), (t ? 100 * s / t : 0)
        }'

    # Same entries in the same order as the bundle?
    if ! diff <(tar -tzf "$WORK/x.tar.gz") "$list" >/dev/null; then
        echo "error: the gzip floor's archive does not hold the bundle's entries" >&2
        exit 1
    fi
    gzip_bytes="$(stat -c %s "$WORK/x.tar.gz")"
    zstd_bytes="$(stat -c %s "$WORK/x.tar.zst")"

    local b_med b_min b_max b_rss g_med g_min g_max g_rss z_med z_min z_max z_rss c_med c_rss n_med n_rss
    read -r b_med b_min b_max b_rss _ _ <<<"$build"
    read -r g_med g_min g_max g_rss _ _ <<<"$floor_gzip"
    read -r z_med z_min z_max z_rss _ _ <<<"$floor_zstd"
    read -r c_med _ _ c_rss _ _ <<<"$check"
    read -r n_med _ _ n_rss _ _ <<<"$nosign"
    printf '   build --sign median %s (%s–%s), peak RSS %.1f MB\n' "$(seconds "$b_med")" "$(seconds "$b_min")" "$(seconds "$b_max")" "$(awk -v k="$b_rss" 'BEGIN { print k / 1024 }')"
    printf '   gzip floor   median %s (%s–%s); zstd floor median %s (%s–%s)\n' "$(seconds "$g_med")" "$(seconds "$g_min")" "$(seconds "$g_max")" "$(seconds "$z_med")" "$(seconds "$z_min")" "$(seconds "$z_max")"
    printf '   build / gzip floor = %s\n' "$(ratio "$b_med" "$g_med")"

    local mb='BEGIN { printf "%.1f MB", k / 1024 }'
    TABLE_TIME+=("| $name | $files | $(megabytes "$tar_bytes") | **$(seconds "$b_med")** ($(seconds "$b_min")–$(seconds "$b_max")) | $(awk -v k="$b_rss" "$mb") | $(seconds "$g_med") | $(awk -v k="$g_rss" "$mb") | $(seconds "$z_med") | $(awk -v k="$z_rss" "$mb") | **$(ratio "$b_med" "$g_med")** | $(ratio "$b_med" "$z_med") |")
    TABLE_SIZE+=("| $name | $(megabytes "$tar_bytes") | $(megabytes "$bundle_bytes") | $(ratio "$tar_bytes" "$bundle_bytes") | $(megabytes "$gzip_bytes") | $(ratio "$tar_bytes" "$gzip_bytes") | $(megabytes "$zstd_bytes") | $(ratio "$tar_bytes" "$zstd_bytes") |")
    TABLE_PHASES+=("| $name | $(seconds "$c_med") | $(awk -v k="$c_rss" "$mb") | $(seconds "$n_med") | $(awk -v k="$n_rss" "$mb") | $(seconds "$b_med") | $(awk -v c="$c_med" -v b="$b_med" 'BEGIN { printf "%.0f %%", 100 * c / b }') | $(seconds "$(awk -v n="$n_med" -v c="$c_med" 'BEGIN { print n - c }')") | $(seconds "$(awk -v b="$b_med" -v n="$n_med" 'BEGIN { print b - n }')") |")
}

bench_pack stride-core "$REPO/packs/stride-core"
bench_pack example-org "$REPO/packs/example-org"
bench_pack synthetic "$SYNTH_DIR"

echo
echo "Median of $RUNS runs each (after one warm-up run); peak RSS is the largest over the runs."
echo
echo "| pack | files | tar size | build --sign | peak RSS | gzip floor | peak RSS | zstd floor | peak RSS | build / gzip floor | build / zstd floor |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${TABLE_TIME[@]}"
echo
echo "| pack | tar (uncompressed) | bundle (build) | ratio | gzip -6 | ratio | zstd -3 | ratio |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${TABLE_SIZE[@]}"
echo
echo "| pack | check | peak RSS | build | peak RSS | build --sign | check / build --sign | build − check | --sign adds |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${TABLE_PHASES[@]}"
echo
echo "threatpack $(cd "$REPO" && git describe --always --dirty 2>/dev/null || echo '(not a git checkout)'); $(zstd --version | sed 's/^\*\*\* //; s/ \*\*\*$//; s/,.*//'), gzip $(gzip --version | head -n 1 | awk '{ print $2 }'), $(tar --version | head -n 1), minisign $(minisign -v 2>&1 | awk '{ print $2 }')"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r)"
