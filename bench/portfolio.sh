#!/usr/bin/env bash
# Benchmark of the registry's portfolio at the scale of issue 16: PROJECTS projects (default
# 5,000) with WEEKS weekly reports each (default 52: 260,000 reports). See docs/benchmarks.md
# ("Portfolio"). Not part of the test suite.
#
#   bench/portfolio.sh [WORK_DIR]
#
# 1. The template: `threatpack apply --format json` of examples/online-shop (28 elements, 78
#    threat instances); the generator repeats its threats REPEAT times (default 2: 156 instances,
#    the threats of a model of about 50 elements) and pushes the model with each report.
# 2. registry/examples/portfolio_gen.rs fills WORK_DIR/data as pushes would (parsing, numbers,
#    compression, one store transaction each), received one week apart, and prints the time of
#    each report's store transaction and of its preparation.
# 3. The registry serves WORK_DIR/data; after one warm-up each, RUNS requests (default 20) of:
#      push       POST a report (gzip) for an existing project: the whole push, over HTTP;
#      portfolio  GET /api/v1/portfolio (5,000 projects, the 10 riskiest, 12 weeks of trend);
#      trend      GET one project's trend over 52 weeks;
#      page       GET /portfolio, the web page (signed in at /login with the same token);
#      project    GET /portfolio/projects/team001/service00001, a project's web page;
#    timed by curl (`time_total`), median and max.
# 4. The store's size on disk (`du`), and the database's alone.
#
# Needs: a release build (`cargo build --release -p threatpack-registry --examples --bins` and
# `cargo build --release --bin threatpack`, done here), curl, python3. Environment: PROJECTS,
# WEEKS, REPEAT, RUNS, PORT (default 18790), PROFILE (default release; `debug` checks that the
# script works, its times are no figures). WORK_DIR defaults to a temporary directory removed
# at the end (the data is about 1 GB at full size).
set -euo pipefail
cd "$(dirname "$0")/.."
PROJECTS=${PROJECTS:-5000}
WEEKS=${WEEKS:-52}
REPEAT=${REPEAT:-2}
RUNS=${RUNS:-20}
PORT=${PORT:-18790}
WORK=${1:-}
if [ -z "$WORK" ]; then
    WORK=$(mktemp -d)
    trap 'kill "${SERVER:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
else
    mkdir -p "$WORK"
    trap 'kill "${SERVER:-}" 2>/dev/null || true' EXIT
fi
TARGET=${CARGO_TARGET_DIR:-target}
PROFILE=${PROFILE:-release}
FLAGS=(--locked)
[ "$PROFILE" = release ] && FLAGS+=(--release)
cargo build "${FLAGS[@]}" -p threatpack-registry --example portfolio_gen --bin threatpack-registry
cargo build "${FLAGS[@]}" --bin threatpack
BIN="$TARGET/$PROFILE"

MODEL=examples/online-shop/model.toml
"$BIN/threatpack" apply --model "$MODEL" --pack packs/example-org --format json --out "$WORK/report.json"
if [ ! -e "$WORK/data/registry.sqlite3" ]; then
    "$BIN/threatpack-registry" --data "$WORK/data" --listen 127.0.0.1:0 >/dev/null 2>&1 &
    SERVER=$!
    sleep 2; kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
    echo "generating $PROJECTS projects x $WEEKS weeks..."
    "$BIN/examples/portfolio_gen" "$WORK/data" "$WORK/report.json" "$MODEL" \
        "$PROJECTS" "$WEEKS" "$REPEAT"
fi

TOKEN=$("$BIN/threatpack-registry" token create --data "$WORK/data" --scopes admin --expires 1d 2>&1 \
    | grep -o 'tpr_[0-9a-f]*' | head -1)
"$BIN/threatpack-registry" --data "$WORK/data" --listen "127.0.0.1:$PORT" --write-rate 100000 \
    >/dev/null 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/api/v1/health" >/dev/null && break; sleep 0.2; done

python3 - "$WORK/report.json" "$MODEL" > "$WORK/push.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
report["threats"] = report["threats"] * 2
print(json.dumps({"report": report, "model": {"file": "model.toml", "text": open(sys.argv[2]).read()}}))
PY
gzip -kf "$WORK/push.json"

timed() {  # NAME METHOD URL [curl args...]: RUNS timings after a warm-up, median and max in ms
    local name=$1; shift
    local times=()
    curl -s -o /dev/null -H "authorization: Bearer $TOKEN" "$@"
    for _ in $(seq "$RUNS"); do
        times+=("$(curl -s -o /dev/null -w '%{time_total}' -H "authorization: Bearer $TOKEN" "$@")")
    done
    printf '%s\n' "${times[@]}" | sort -n | awk -v name="$name" '{t[NR]=$1*1000} END {printf "%-10s median %7.1f ms  max %7.1f ms  (%d runs)\n", name, t[int((NR+1)/2)], t[NR], NR}'
}
API="http://127.0.0.1:$PORT/api/v1"
timed push -X POST -H 'content-type: application/json' -H 'content-encoding: gzip' \
    --data-binary "@$WORK/push.json.gz" "$API/projects/team000/service00000/reports"
timed portfolio "$API/portfolio?top=10&weeks=12"
timed trend "$API/projects/team001/service00001/trend?weeks=52"
# The web pages (docs/web.md), signed in with the same token: the portfolio page (its first 100
# projects listed) and one project's page (trend, history, the diagram's text alternative).
SITE="http://127.0.0.1:$PORT"
SESSION=$(curl -s -o /dev/null -D - -H "origin: $SITE" --data-urlencode "token=$TOKEN" "$SITE/login" \
    | tr -d '\r' | sed -n 's/^set-cookie: \(tp_session=[0-9a-f]*\).*/\1/Ip')
timed page "$SITE/portfolio" -b "$SESSION"
timed project "$SITE/portfolio/projects/team001/service00001" -b "$SESSION"
echo "store on disk: $(du -sh "$WORK/data" | cut -f1) ($(du -sh "$WORK/data/registry.sqlite3" | cut -f1) database)"
