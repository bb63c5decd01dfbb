#!/usr/bin/env bash
# Benchmark of `threatpack import`: median wall, user and system time and peak RSS of importing
# each input given, with the release build. See docs/benchmarks.md. Not part of the test suite.
#
#   bench/import.sh FORMAT:FILE [FORMAT:FILE...]
#   bench/import.sh attack:enterprise-attack.json capec:stix-capec.json capec:capec_v3.9.xml
#   bench/import.sh tmt:AzureTemplate.v4.tb7
#
# The inputs are MITRE's own files (github.com/mitre/cti, capec.mitre.org) and Threat Modeling
# Tool templates (github.com/AzureArchitecture/threat-model-templates); they are not in the
# repository. With EXPORT=1, each imported pack is also exported back (`threatpack export tmt`)
# and timed the same way. Environment: RUNS (default 5) timed runs after one warm-up run.
set -euo pipefail

RUNS="${RUNS:-5}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GNU_TIME=/usr/bin/time
if ! "$GNU_TIME" --version 2>&1 | grep -q 'GNU'; then
    echo "error: GNU time is needed at $GNU_TIME to measure peak memory (apt-get install time)." >&2
    exit 2
fi
if [[ $# -eq 0 ]]; then
    echo "usage: bench/import.sh FORMAT:FILE [FORMAT:FILE...]" >&2
    exit 2
fi

cargo build --locked --release --manifest-path "$REPO/Cargo.toml" --bin threatpack >&2
BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/threatpack"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

printf '%-12s %-45s %9s %9s %9s %10s\n' format input wall_s user_s sys_s peak_MB
for spec in "$@"; do
    format="${spec%%:*}"
    input="${spec#*:}"
    "$BIN" import "$format" "$input" --out "$WORK/warm" --force 2>/dev/null
    : > "$WORK/times"
    for _ in $(seq "$RUNS"); do
        "$GNU_TIME" -f '%e %U %S %M' -o "$WORK/time" \
            "$BIN" import "$format" "$input" --out "$WORK/pack" --force 2>/dev/null
        cat "$WORK/time" >> "$WORK/times"
    done
    wall=$(awk '{ print $1 }' "$WORK/times" | median)
    user=$(awk '{ print $2 }' "$WORK/times" | median)
    sys=$(awk '{ print $3 }' "$WORK/times" | median)
    peak=$(awk '{ print $4 }' "$WORK/times" | sort -n | tail -1)
    printf '%-12s %-45s %9s %9s %9s %10.1f\n' "$format" "$(basename "$input")" "$wall" "$user" "$sys" "$(echo "$peak / 1024" | bc -l)"
    if [[ "${EXPORT:-0}" == 1 && "$format" == tmt ]]; then
        : > "$WORK/times"
        for _ in $(seq "$RUNS"); do
            "$GNU_TIME" -f '%e %U %S %M' -o "$WORK/time" \
                "$BIN" export tmt "$WORK/pack" --out "$WORK/export.tb7" 2>/dev/null
            cat "$WORK/time" >> "$WORK/times"
        done
        wall=$(awk '{ print $1 }' "$WORK/times" | median)
        user=$(awk '{ print $2 }' "$WORK/times" | median)
        sys=$(awk '{ print $3 }' "$WORK/times" | median)
        peak=$(awk '{ print $4 }' "$WORK/times" | sort -n | tail -1)
        printf '%-12s %-45s %9s %9s %9s %10.1f\n' "export" "$(basename "$input")" "$wall" "$user" "$sys" "$(echo "$peak / 1024" | bc -l)"
    fi
done
