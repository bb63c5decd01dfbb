#!/usr/bin/env bash
# Benchmark of `threatpack apply` against OWASP pytm on an equivalent model and rule set. See
# docs/benchmarks.md ("`apply`"). Not part of the test suite.
#
#   bench/apply.sh [WORK_DIR]
#
# Inputs come from bench/pytm_equivalent.py: pytm's own threat library (113 threats) translated
# into a threatpack pack and replicated to THREATS rules for both tools, and one generated system
# written for both: as a threatpack model (model.json, and the same as model.toml) and as a pytm
# model (pytm/model.py reading pytm/model.json). threatpack's docs recommend JSON for large
# generated models (docs/system-model.md); the TOML model is measured too. Two sizes are generated into WORK_DIR (new, or reused when already there;
# default: a temporary directory removed at the end):
#   full/   COMPONENTS components and FLOWS flows (default 10,000 and 20,000): the target size;
#   small/  PYTM_COMPONENTS and PYTM_FLOWS (default 1,000 and 2,000): a size at which pytm runs in
#           15 to 25 s, so that it can run in every round.
#
# Before timing anything, the script checks that both tools find the same findings (threat and
# element, one by one) on the small model: `threatpack apply --format json`, from model.json and
# from model.toml, against `model.py --findings` (tm.check() + tm.resolve()), and against a
# third, independent evaluation of the translated pack in Python. It stops if they differ.
#
# Then, after one warm-up run of each, RUNS rounds (default 5) that run each of these once
# (interleaved, so that a slow spell of the shared machine hits all of them alike):
#   summary        `threatpack apply --pack PACK --model full/model.json` (summary on stdout);
#   summary-toml   the same from full/model.toml;
#   json           `--format json --out FILE` (the whole report, to a file), from model.json;
#   bundle         the summary again, from the built bundle (`--bundle`) instead of the pack
#                  directory: no checking or compiling of the pack;
#   summary-small  `threatpack apply` on the small model.json (summary);
#   json-small     the same, JSON to a file;
#   pytm-small     `python3 model.py --summary` on the small model: interpreter start, importing
#                  pytm, building the model's objects, tm.check() (pytm's defaults pass over the
#                  flows), tm.resolve() (every element x threat pair), and printing the number of
#                  findings per threat. The script also records the time of tm.resolve() alone,
#                  which model.py prints with --timings.
# Wall time is taken around each process with a nanosecond clock; peak memory is GNU time's %M.
#
# After the rounds, PYTM_FULL_RUNS runs (default 1) of pytm at the full size (3 to 4 minutes and
# 4.8 GB each). With PYTM_FULL_RUNS=0 the full-size ratio is extrapolated from pytm's per-pair cost
# at the small size, and the script says so. PYTM_JSON_RUNS runs (default 0) of pytm's own CLI
# writing its JSON report (`model.py --json FILE`, tm.process()) at the small size, about 40 s
# each, for comparison with `apply --format json`.
#
# Per-pair cost: wall time divided by elements x threats, where elements are the components,
# flows and boundaries of the model (pytm visits all of them: every element is tested against
# every threat; boundaries and actors match none).
#
# Needs: GNU time at /usr/bin/time, python3 with pytm 1.4.0 (pip install pytm==1.4.0).
# Environment: RUNS, COMPONENTS, FLOWS, THREATS, PYTM_COMPONENTS, PYTM_FLOWS, PYTM_FULL_RUNS,
# PYTM_JSON_RUNS, PYTHON (default python3); PYTM_DATA, the directory of pytm's threats.json and
# licence (default ../shared/data/pytm); THREATS_FILE, a threat library in pytm's format to use
# instead of pytm's own, translated the same way (e.g. 1,000 distinct conditions from
# `python3 ../shared/bench/gen_synth_threats.py 1000 FILE`); its inputs go to full-NAME/ and
# small-NAME/ (NAME: the file's name without .json).
set -euo pipefail
shopt -s inherit_errexit

RUNS="${RUNS:-5}"
COMPONENTS="${COMPONENTS:-10000}"
FLOWS="${FLOWS:-20000}"
THREATS="${THREATS:-1000}"
PYTM_COMPONENTS="${PYTM_COMPONENTS:-1000}"
PYTM_FLOWS="${PYTM_FLOWS:-2000}"
PYTM_FULL_RUNS="${PYTM_FULL_RUNS:-1}"
PYTM_JSON_RUNS="${PYTM_JSON_RUNS:-0}"
PYTHON="${PYTHON:-python3}"
THREATS_FILE="${THREATS_FILE:-}"
LIBRARY="pytm's threat library"
GENERATE_OPTIONS=()
SUFFIX=""
if [[ -n "${PYTM_DATA:-}" ]]; then GENERATE_OPTIONS+=(--pytm-data "$PYTM_DATA"); fi
if [[ -n "$THREATS_FILE" ]]; then
    GENERATE_OPTIONS+=(--threats-file "$THREATS_FILE")
    SUFFIX="-$(basename "$THREATS_FILE" .json)"
    LIBRARY="$THREATS_FILE"
fi
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GENERATOR="$REPO/bench/pytm_equivalent.py"

WORK_DIR="${1:-}"

# GNU time measures the peak resident set size (%M); the bash builtin `time` cannot.
GNU_TIME=/usr/bin/time
if ! "$GNU_TIME" --version 2>&1 | grep -q 'GNU'; then
    echo "error: GNU time is needed at $GNU_TIME to measure peak memory." >&2
    echo "       Debian/Ubuntu: sudo apt-get install -y time    Fedora: sudo dnf install time" >&2
    exit 2
fi
PYTM_VERSION="$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("pytm"))' 2>/dev/null || true)"
if [[ "$PYTM_VERSION" != "1.4.0" ]]; then
    echo "error: pytm 1.4.0 is needed (found: ${PYTM_VERSION:-none}): $PYTHON -m pip install pytm==1.4.0" >&2
    exit 2
fi

echo "== building (release)"
(cd "$REPO" && cargo build --release --quiet --bin threatpack)
TARGET_DIR="$(cd "$REPO" && cargo metadata --format-version 1 --no-deps | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null || echo "$REPO/target")"
THREATPACK="$TARGET_DIR/release/threatpack"
THREATPACK_VERSION="$(cd "$REPO" && git describe --always --dirty 2>/dev/null || echo '(not a git checkout)')"

TEMPORARY_WORK=""
if [[ -z "$WORK_DIR" ]]; then
    WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/threatpack-bench-apply.XXXXXX")"
    TEMPORARY_WORK="$WORK_DIR"
fi
SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/threatpack-bench-apply-scratch.XXXXXX")"
LOG="$SCRATCH/log"
TIMES="$SCRATCH/times"
cleanup() {
    rm -rf "$SCRATCH"
    if [[ -n "$TEMPORARY_WORK" ]]; then rm -rf "$TEMPORARY_WORK"; fi
}
trap cleanup EXIT

# generate NAME COMPONENTS FLOWS: the pack, the threatpack model and the pytm model, unless
# WORK_DIR/NAME already holds them.
generate() {
    local dir="$WORK_DIR/$1"
    if [[ -f "$dir/model.json" && -f "$dir/model.toml" && -f "$dir/pytm/model.py" && -f "$dir/stats.json" ]]; then
        echo "== using the existing inputs in $dir"
    else
        echo "== generating $dir"
        "$PYTHON" "$GENERATOR" generate "$dir" --components "$2" --flows "$3" --threats "$THREATS" "${GENERATE_OPTIONS[@]}" | sed 's/^/   /'
    fi
}
generate "full$SUFFIX" "$COMPONENTS" "$FLOWS"
generate "small$SUFFIX" "$PYTM_COMPONENTS" "$PYTM_FLOWS"
FULL="$WORK_DIR/full$SUFFIX"
SMALL="$WORK_DIR/small$SUFFIX"

# stat DIR KEY: from DIR/stats.json (written by the generator): elements, threats, pairs
# (elements x threats) and matching_pairs (pairs whose element class the threat targets: the
# conditions actually evaluated).
stats_field() { "$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1/stats.json" "$2"; }
FULL_PAIRS="$(stats_field "$FULL" pairs)"
SMALL_PAIRS="$(stats_field "$SMALL" pairs)"
echo "   full: $(stats_field "$FULL" elements) elements x $(stats_field "$FULL" threats) threats = $FULL_PAIRS pairs ($(stats_field "$FULL" matching_pairs) with a matching class)"
echo "   small: $(stats_field "$SMALL" elements) elements x $(stats_field "$SMALL" threats) threats = $SMALL_PAIRS pairs ($(stats_field "$SMALL" matching_pairs) with a matching class)"
echo "   full: model.json $(du -h "$FULL/model.json" | cut -f1), model.toml $(du -h "$FULL/model.toml" | cut -f1), pack $(du -sh "$FULL/pack" | cut -f1)"

# pytm's own library passes with no diagnostic at all. A THREATS_FILE library may hold
# conditions that threatpack proves constant (gen_synth_threats.py writes a few such as
# `x and not x`): warnings, printed, that pytm does not look for.
if [[ -z "$THREATS_FILE" ]]; then
    echo "== threatpack check --deny warnings (the generated pack)"
    "$THREATPACK" check --deny warnings "$FULL/pack" 2>&1 | sed 's/^/   /'
else
    echo "== threatpack check (the generated pack)"
    "$THREATPACK" check "$FULL/pack" >"$SCRATCH/check" 2>&1
    { grep -E '^(warning|error)' "$SCRATCH/check" || true; } | sort | uniq -c | sed 's/^/   /'
fi
"$THREATPACK" build "$FULL/pack" --out "$SCRATCH/dist" >/dev/null 2>&1
BUNDLE="$(find "$SCRATCH/dist" -name '*.tar.gz' | head -n 1)"

echo "== same findings on the small model? (threatpack apply --format json vs pytm tm.resolve())"
(cd "$SMALL/pytm" && "$PYTHON" model.py --findings "$SCRATCH/small-pytm.tsv")
for model in model.json model.toml; do
    "$THREATPACK" apply --pack "$SMALL/pack" --model "$SMALL/$model" --format json --out "$SCRATCH/small.json"
    if ! "$PYTHON" "$GENERATOR" compare "$SMALL" --pytm "$SCRATCH/small-pytm.tsv" --threatpack "$SCRATCH/small.json" >"$SCRATCH/compare" 2>&1; then
        cat "$SCRATCH/compare" >&2
        echo "error: threatpack (from $model) and pytm disagree on the small model; the comparison would not be fair" >&2
        exit 1
    fi
    echo "   threatpack from $model:"
    grep -E '^(findings|pytm vs)' "$SCRATCH/compare" | sed 's/^/     /'
done
SMALL_FINDINGS="$(awk '/^findings:/ { print $3 }' "$SCRATCH/compare" | tr -d ,)"
rm -f "$SCRATCH/small.json" "$SCRATCH/small-pytm.tsv"

# One run of "$@": prints "WALL_SECONDS USER_SECONDS SYSTEM_SECONDS PEAK_RSS_KB"; fails if the
# command fails. Wall time is taken with nanosecond clocks around the process (GNU time's %e has
# 10 ms steps). The command's standard error is kept in LOG.
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

# pytm DIR ARGS...: one run of the pytm model of DIR; prints run_once's fields and the seconds of
# tm.resolve() (or of tm.process() for --json) that model.py reports with --timings.
pytm() {
    local dir="$1" result
    shift
    result="$(cd "$dir/pytm" && run_once "$PYTHON" model.py --timings "$@")"
    echo "$result $(sed -n 's/^tm\.\(resolve\|process\)(): \([0-9.]*\) s$/\2/p' "$LOG")"
}

# run_label LABEL: one run of that command.
run_label() {
    case "$1" in
        summary) run_once "$THREATPACK" apply --pack "$FULL/pack" --model "$FULL/model.json" ;;
        summary-toml) run_once "$THREATPACK" apply --pack "$FULL/pack" --model "$FULL/model.toml" ;;
        json) run_once "$THREATPACK" apply --pack "$FULL/pack" --model "$FULL/model.json" --format json --out "$SCRATCH/full.json" ;;
        bundle) run_once "$THREATPACK" apply --bundle "$BUNDLE" --model "$FULL/model.json" ;;
        summary-small) run_once "$THREATPACK" apply --pack "$SMALL/pack" --model "$SMALL/model.json" ;;
        json-small) run_once "$THREATPACK" apply --pack "$SMALL/pack" --model "$SMALL/model.json" --format json --out "$SCRATCH/small.json" ;;
        pytm-small) pytm "$SMALL" --summary ;;
        pytm-full) pytm "$FULL" --summary ;;
        pytm-json-small) pytm "$SMALL" --json "$SCRATCH/pytm-small.json" ;;
    esac
}
LABELS=(summary summary-toml json bundle summary-small json-small pytm-small)

# CPU used by other processes and hypervisor steal, from /proc/stat (as in bench/check.sh).
# Prints: TOTAL_TICKS STEAL_TICKS BUSY_TICKS.
cpu_counters() { awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $9, $2 + $3 + $4 + $7 + $8 }' /proc/stat; }

# summarise: reads result lines, prints "MEDIAN MIN MAX PEAK_RSS_KB MEAN_USER MEAN_SYSTEM
# MEDIAN_INNER" (MEDIAN_INNER: the median of the fifth field, pytm's own phase time, or 0).
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
summarise() {
    local lines inner
    lines="$(cat)"
    inner="$(awk '{ print ($5 == "" ? 0 : $5) }' <<<"$lines" | median)"
    sort -n -k1,1 <<<"$lines" | awk -v inner="$inner" '
        { wall[NR] = $1; usr += $2; sys += $3; if ($4 > rss) rss = $4 }
        END {
            median = (NR % 2) ? wall[(NR + 1) / 2] : (wall[NR / 2] + wall[NR / 2 + 1]) / 2
            printf "%.4f %.4f %.4f %d %.3f %.3f %.4f\n", median, wall[1], wall[NR], rss, usr / NR, sys / NR, inner
        }'
}

print_run() {
    local label="$1" run="$2" wall user system rss inner
    read -r wall user system rss inner <<<"$3"
    printf '   %-15s run %2s: %s s wall, %s s user, %s s system, %.1f MB peak RSS%s\n' "$label" "$run" "$wall" "$user" "$system" \
        "$(awk -v kb="$rss" 'BEGIN { print kb / 1024 }')" "${inner:+, pytm phase $inner s}"
}

declare -A SUMMARY
echo "== warm-up: one run of each"
for label in "${LABELS[@]}"; do print_run "$label" 0 "$(run_label "$label")"; done
echo "== $RUNS rounds"
declare -A RESULTS=()
read -r TOTAL_BEFORE STEAL_BEFORE BUSY_BEFORE <<<"$(cpu_counters)"
OWN_CPU=0
for run in $(seq 1 "$RUNS"); do
    for label in "${LABELS[@]}"; do
        result="$(run_label "$label")"
        RESULTS[$label]+="$result"$'\n'
        print_run "$label" "$run" "$result"
        OWN_CPU="$(awk -v own="$OWN_CPU" -v r="$result" 'BEGIN { split(r, f, " "); print own + f[2] + f[3] }')"
    done
done
read -r TOTAL_AFTER STEAL_AFTER BUSY_AFTER <<<"$(cpu_counters)"
awk -v t=$((TOTAL_AFTER - TOTAL_BEFORE)) -v s=$((STEAL_AFTER - STEAL_BEFORE)) -v b=$((BUSY_AFTER - BUSY_BEFORE)) \
    -v hz="$(getconf CLK_TCK)" -v own="$OWN_CPU" -v cpus="$(nproc)" 'BEGIN {
        other = b / hz - own; if (other < 0) other = 0
        printf "   during the rounds: other processes used about %.2f CPU on average, steal %.0f %%\n", (t ? other / (t / hz / cpus) : 0), (t ? 100 * s / t : 0)
    }'
for label in "${LABELS[@]}"; do
    SUMMARY[$label]="$(printf '%s' "${RESULTS[$label]}" | summarise)"
done
FULL_JSON_BYTES="$(stat -c %s "$SCRATCH/full.json")"
SMALL_JSON_BYTES="$(stat -c %s "$SCRATCH/small.json")"
rm -f "$SCRATCH/full.json" "$SCRATCH/small.json"

for extra in pytm-full pytm-json-small; do
    count="$PYTM_FULL_RUNS"
    [[ "$extra" == pytm-json-small ]] && count="$PYTM_JSON_RUNS"
    [[ "$count" -gt 0 ]] || continue
    echo "== $extra: $count run(s)"
    lines=""
    for run in $(seq 1 "$count"); do
        result="$(run_label "$extra")"
        lines+="$result"$'\n'
        print_run "$extra" "$run" "$result"
    done
    SUMMARY[$extra]="$(printf '%s' "$lines" | summarise)"
    if [[ "$extra" == pytm-json-small ]]; then
        PYTM_JSON_BYTES="$(stat -c %s "$SCRATCH/pytm-small.json")"
        rm -f "$SCRATCH/pytm-small.json"
    fi
done

seconds() { awk -v s="$1" 'BEGIN { if (s < 1) printf "%.0f ms", s * 1000; else printf "%.2f s", s }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.0f MB", k / 1024 }'; }
bytes() { awk -v b="$1" 'BEGIN { printf "%.0f MB", b / 1e6 }'; }
per_pair() { awk -v s="$1" -v p="$2" 'BEGIN { ns = s / p * 1e9; if (ns < 1000) printf "%.1f ns", ns; else printf "%.2f µs", ns / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f×", a / b }'; }
range() { read -r med min max rss _ <<<"$1"; echo "**$(seconds "$med")** ($(seconds "$min")–$(seconds "$max"))"; }
field() { awk -v n="$2" '{ print $n }' <<<"$1"; }

echo
echo "Median of $RUNS rounds (fastest–slowest); peak RSS is the largest over the rounds."
echo
echo "threatpack apply at the full size ($COMPONENTS components, $FLOWS flows, $(stats_field "$FULL" threats) attack patterns from $LIBRARY: $FULL_PAIRS element × attack pattern pairs, $(stats_field "$FULL" matching_pairs) with a matching class):"
echo
echo "| command | wall time | peak RSS | output | per pair |"
echo "|---|---|---|---|---|"
echo "| \`apply --pack --model model.json\` (summary) | $(range "${SUMMARY[summary]}") | $(mb "$(field "${SUMMARY[summary]}" 4)") | stdout | $(per_pair "$(field "${SUMMARY[summary]}" 1)" "$FULL_PAIRS") |"
echo "| \`apply --pack --model model.toml\` (summary) | $(range "${SUMMARY[summary-toml]}") | $(mb "$(field "${SUMMARY[summary-toml]}" 4)") | stdout | $(per_pair "$(field "${SUMMARY[summary-toml]}" 1)" "$FULL_PAIRS") |"
echo "| \`apply --bundle --model model.json\` (summary) | $(range "${SUMMARY[bundle]}") | $(mb "$(field "${SUMMARY[bundle]}" 4)") | stdout | $(per_pair "$(field "${SUMMARY[bundle]}" 1)" "$FULL_PAIRS") |"
echo "| \`apply --pack --model model.json --format json --out FILE\` | $(range "${SUMMARY[json]}") | $(mb "$(field "${SUMMARY[json]}" 4)") | $(bytes "$FULL_JSON_BYTES") | $(per_pair "$(field "${SUMMARY[json]}" 1)" "$FULL_PAIRS") |"
echo
echo "Both tools on the small model ($PYTM_COMPONENTS components, $PYTM_FLOWS flows: $SMALL_PAIRS pairs, $SMALL_FINDINGS findings, identical in both):"
echo
echo "| command | wall time | peak RSS | per pair | pytm / threatpack |"
echo "|---|---|---|---|---|"
TP_SMALL="$(field "${SUMMARY[summary-small]}" 1)"
PYTM_SMALL="$(field "${SUMMARY[pytm-small]}" 1)"
PYTM_RESOLVE="$(field "${SUMMARY[pytm-small]}" 7)"
echo "| threatpack \`apply\` (summary) | $(range "${SUMMARY[summary-small]}") | $(mb "$(field "${SUMMARY[summary-small]}" 4)") | $(per_pair "$TP_SMALL" "$SMALL_PAIRS") | |"
echo "| threatpack \`apply --format json --out FILE\` | $(range "${SUMMARY[json-small]}") | $(mb "$(field "${SUMMARY[json-small]}" 4)") | $(per_pair "$(field "${SUMMARY[json-small]}" 1)" "$SMALL_PAIRS") | |"
echo "| pytm \`model.py --summary\` (whole process) | $(range "${SUMMARY[pytm-small]}") | $(mb "$(field "${SUMMARY[pytm-small]}" 4)") | $(per_pair "$PYTM_SMALL" "$SMALL_PAIRS") | $(ratio "$PYTM_SMALL" "$TP_SMALL") |"
echo "| pytm \`tm.resolve()\` alone | **$(seconds "$PYTM_RESOLVE")** | | $(per_pair "$PYTM_RESOLVE" "$SMALL_PAIRS") | $(ratio "$PYTM_RESOLVE" "$TP_SMALL") |"
if [[ -n "${SUMMARY[pytm-json-small]:-}" ]]; then
    echo "| pytm \`model.py --json FILE\` (tm.process()) | $(range "${SUMMARY[pytm-json-small]}") | $(mb "$(field "${SUMMARY[pytm-json-small]}" 4)") | $(per_pair "$(field "${SUMMARY[pytm-json-small]}" 1)" "$SMALL_PAIRS") | $(ratio "$(field "${SUMMARY[pytm-json-small]}" 1)" "$(field "${SUMMARY[json-small]}" 1)") vs json ($(bytes "$PYTM_JSON_BYTES") against $(bytes "$SMALL_JSON_BYTES")) |"
fi
echo
TP_FULL="$(field "${SUMMARY[summary]}" 1)"
if [[ -n "${SUMMARY[pytm-full]:-}" ]]; then
    PYTM_FULL="$(field "${SUMMARY[pytm-full]}" 1)"
    echo "Full size, measured: pytm \`model.py --summary\` $(seconds "$PYTM_FULL") and $(mb "$(field "${SUMMARY[pytm-full]}" 4)") (tm.resolve() $(seconds "$(field "${SUMMARY[pytm-full]}" 7)"), $(per_pair "$PYTM_FULL" "$FULL_PAIRS") per pair), threatpack \`apply\` $(seconds "$TP_FULL") and $(mb "$(field "${SUMMARY[summary]}" 4)"): **pytm / threatpack = $(ratio "$PYTM_FULL" "$TP_FULL")**."
else
    PYTM_FULL="$(awk -v s="$PYTM_SMALL" -v a="$SMALL_PAIRS" -v b="$FULL_PAIRS" 'BEGIN { print s / a * b }')"
    echo "Full size, pytm EXTRAPOLATED from its per-pair cost at the small size (PYTM_FULL_RUNS=0): about $(seconds "$PYTM_FULL"); threatpack \`apply\` $(seconds "$TP_FULL"): pytm / threatpack ≈ $(ratio "$PYTM_FULL" "$TP_FULL")."
fi
echo
echo "threatpack $THREATPACK_VERSION (when built); pytm $PYTM_VERSION on $("$PYTHON" --version 2>&1)"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r)"
