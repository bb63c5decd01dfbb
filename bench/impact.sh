#!/usr/bin/env bash
# Benchmark of `threatpack impact`: a stride-core change applied across a generated portfolio.
# See docs/benchmarks.md ("`impact`"). Not part of the test suite.
#
#   bench/impact.sh [WORK_DIR]
#
# Generates PROJECTS projects (default 5,000) with bench/impact_models.py: each a JSON model of
# 56 elements (the online shop twice over, properties and statuses varied per project). The
# baseline is packs/stride-core as it is; the candidate a copy whose os-command-injection
# applies to every process taking untrusted input and whose cross-site-scripting is critical.
# After one warm-up, RUNS runs (default 3) of
#   threatpack impact CANDIDATE --models MODELS --baseline-pack packs/stride-core --format json
# each timed (wall clock) with its peak memory (GNU time's %M). The issue's target: under 10 s
# on 2 cores. WORK_DIR (default: a temporary directory, removed at the end) keeps the data.
#
# Build first with `cargo build --release` (BIN overrides the binary).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${BIN:-$ROOT/target/release/threatpack}"
PROJECTS="${PROJECTS:-5000}"
RUNS="${RUNS:-3}"
if [[ $# -ge 1 ]]; then
  WORK="$1"
  mkdir -p "$WORK"
else
  WORK="$(mktemp -d)"
  trap 'rm -rf "$WORK"' EXIT
fi
[[ -x "$BIN" ]] || { echo "no binary at $BIN: run cargo build --release" >&2; exit 2; }

if [[ ! -d "$WORK/models" ]]; then
  python3 "$ROOT/bench/impact_models.py" "$WORK/models" "$PROJECTS"
fi
rm -rf "$WORK/candidate"
cp -r "$ROOT/packs/stride-core" "$WORK/candidate"
sed -i 's/^condition = "self.accepts_untrusted_input && self.executes_os_commands"/condition = "self.accepts_untrusted_input"/' \
  "$WORK/candidate/attack-patterns/injection.toml"
sed -i '0,/severity = "high"/s//severity = "critical"/' "$WORK/candidate/attack-patterns/injection.toml"
sed -i 's/^version = "1.0.0"/version = "1.1.0"/' "$WORK/candidate/pack.toml"

run() {
  /usr/bin/time -f '%e %M' -o "$WORK/time" "$BIN" -q impact "$WORK/candidate" \
    --models "$WORK/models" --baseline-pack "$ROOT/packs/stride-core" --format json \
    >"$WORK/impact.json"
  read -r seconds kilobytes <"$WORK/time"
  echo "$seconds $kilobytes"
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "projects: $(ls "$WORK/models" | wc -l)"
run >/dev/null
for round in $(seq 1 "$RUNS"); do
  read -r seconds kilobytes < <(run)
  echo "run $round: ${seconds} s, peak $((kilobytes / 1024)) MiB"
done
python3 -c '
import json, sys
impact = json.load(open(sys.argv[1]))
print("totals:", json.dumps(impact["totals"]))
' "$WORK/impact.json"
