#!/usr/bin/env bash
# Benchmark of the registry's web face (docs/web.md): the server time of each page of a pack of
# PATTERNS attack patterns (default 1,000). See docs/benchmarks.md ("Web pages"). Not part of
# the test suite.
#
#   bench/web.sh
#
# 1. Builds threatpack, threatpack-registry and examples/generate_synthetic_pack (PROFILE,
#    default release; `PROFILE=debug PATTERNS=50 RUNS=3` checks that the script works, its times
#    are no figures).
# 2. Generates `bench/synthetic` with PATTERNS attack patterns, as many mitigations and three
#    links per attack pattern, and builds and signs it as 1.0.0 and, with one attack pattern
#    renamed, 1.0.1 (so that the changelog and the diff have something to show).
# 3. Starts the registry on a fresh data directory with `--log-format json`, publishes both.
# 4. For each page — home, search, pack, version (whole, and filtered by tier), one entity, one
#    attack pattern, one mitigation, the changelog, the diff — one warm-up request, then RUNS
#    requests (default 20) with curl, one at a time. The server time is the request log's
#    `duration_ms` of each (from the request's arrival to its answer, the body rendered; the
#    transfer over loopback not included); curl's `time_total` is printed beside it.
# It prints a markdown table: page, HTML bytes, median and max server time, median curl time.
# The warm-up reads the bundle into the web face's cache (a few bundles stay in memory): the
# timed requests are the pages of a pack being browsed. The first read of the bundle is
# printed apart.
#
# Needs: curl, python3. Environment: PATTERNS, RUNS, PROFILE, REGISTRY_BIN (another
# threatpack-registry binary). Everything is written to a temporary directory removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
PATTERNS=${PATTERNS:-1000}
RUNS=${RUNS:-20}
PROFILE=${PROFILE:-release}
for tool in curl python3; do
    command -v "$tool" >/dev/null || { echo "error: \`$tool\` is needed" >&2; exit 2; }
done

FLAGS=(--locked --quiet)
[ "$PROFILE" = release ] && FLAGS+=(--release)
echo "== building ($PROFILE)"
cargo build "${FLAGS[@]}" --bin threatpack --example generate_synthetic_pack
cargo build "${FLAGS[@]}" -p threatpack-registry --bin threatpack-registry
TARGET=${CARGO_TARGET_DIR:-target}
THREATPACK="$TARGET/$PROFILE/threatpack"
GENERATOR="$TARGET/$PROFILE/examples/generate_synthetic_pack"
REGISTRY="${REGISTRY_BIN:-$TARGET/$PROFILE/threatpack-registry}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/threatpack-bench-web.XXXXXX")"
REGISTRY_PID=""
cleanup() {
    # Only the process this script started, by its id.
    if [[ -n "$REGISTRY_PID" ]]; then
        kill "$REGISTRY_PID" 2>/dev/null || true
        wait "$REGISTRY_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() {
    echo "error: $*" >&2
    exit 1
}

echo "== generating a pack of $PATTERNS attack patterns"
"$GENERATOR" "$WORK/pack" --attack-patterns "$PATTERNS" --mitigations "$PATTERNS" \
    --links $((PATTERNS * 3)) --tests 2 >/dev/null
"$THREATPACK" key generate --unencrypted --out "$WORK/bench" >/dev/null 2>&1
set_version() {
    sed -i "0,/^version = .*/s//version = \"$1\"/" "$WORK/pack/pack.toml"
}
build_signed() {
    set_version "$1"
    "$THREATPACK" build "$WORK/pack" --sign "$WORK/bench.key" --out "$WORK/dist" >/dev/null 2>"$WORK/build.err" ||
        fail "threatpack build: $(cat "$WORK/build.err")"
}
build_signed 1.0.0
# 1.0.1: one attack pattern's name changed (a patch).
first_file="$(find "$WORK/pack/attack-patterns" -name '*.toml' | sort | head -n 1)"
sed -i '0,/^name = "The /s//name = "Renamed: the /' "$first_file"
build_signed 1.0.1

echo "== starting the registry"
THREATPACK_REGISTRY_WRITE_RATE=1000000 "$REGISTRY" --data "$WORK/data" --listen 127.0.0.1:0 \
    --log-format json >"$WORK/registry.out" 2>"$WORK/registry.log" &
REGISTRY_PID=$!
for _ in $(seq 1 100); do
    grep -q '^listening on' "$WORK/registry.out" && break
    kill -0 "$REGISTRY_PID" 2>/dev/null || fail "the registry exited: $(cat "$WORK/registry.log")"
    sleep 0.1
done
URL="$(sed -n 's/^listening on //p' "$WORK/registry.out")"
ADMIN="$(cat "$WORK/data/admin-token")"
[[ -n "$URL" ]] || fail "no address in the registry's output"
PUBLIC_KEY="$(grep -v '^untrusted comment:' "$WORK/bench.pub" | head -n 1)"
api() {
    local status
    status="$(curl -sS -o "$WORK/response" -w '%{http_code}' "$@" -H "Authorization: Bearer $ADMIN")"
    [[ "$status" == 2* ]] || fail "$*: $status: $(cat "$WORK/response")"
}
api -X POST "$URL/api/v1/namespaces" -H 'Content-Type: application/json' -d '{"name":"bench","owners":["bench"]}'
api -X POST "$URL/api/v1/namespaces/bench/keys" -H 'Content-Type: application/json' -d "{\"public_key\":\"$PUBLIC_KEY\"}"
for version in 1.0.0 1.0.1; do
    bundle="$WORK/dist/bench_synthetic-$version-all.tar.gz"
    api -X PUT "$URL/api/v1/packs/bench/synthetic/$version" -H 'Expect:' \
        -H "X-Threatpack-Signature: $(base64 -w0 "$bundle.minisig")" --data-binary "@$bundle"
done
BUNDLE_BYTES="$(stat -c %s "$WORK/dist/bench_synthetic-1.0.1-all.tar.gz")"

VERSION_PAGE=/packs/bench/synthetic/1.0.1
curl -sS -f -o "$WORK/version.html" -w '%{time_total}\n' "$URL$VERSION_PAGE" >"$WORK/first-read"
# One item of each kind, from the links of the version page.
# (awk reads to the end: `head` would close the pipe early, which pipefail counts as a failure.)
item() { grep -o "href=\"$VERSION_PAGE/$1/[^\"]*\"" "$WORK/version.html" | awk -F'"' 'NR == 1 { print $2 }'; }
ENTITY="$(item entities)"
PATTERN="$(item attack-patterns)"
MITIGATION="$(item mitigations)"
[[ -n "$ENTITY" && -n "$PATTERN" && -n "$MITIGATION" ]] || fail "no item links on $VERSION_PAGE"

PAGES=(
    "home|/"
    "search|/search?q=synthetic"
    "pack|/packs/bench/synthetic"
    "version|$VERSION_PAGE"
    "version, tier top|$VERSION_PAGE?tier=top"
    "entity|$ENTITY"
    "attack pattern|$PATTERN"
    "mitigation|$MITIGATION"
    "changelog|$VERSION_PAGE/changelog"
    "diff|/packs/bench/synthetic/diff/1.0.0...1.0.1"
)

echo "== $RUNS requests per page ($PATTERNS attack patterns, bundle $BUNDLE_BYTES bytes; first read of the bundle and render of the version page: $(awk '{ printf "%.1f ms", $1 * 1000 }' "$WORK/first-read"))"
echo
echo "| page | HTML bytes | server median | server max | curl median |"
echo "|---|---:|---:|---:|---:|"
for entry in "${PAGES[@]}"; do
    name="${entry%%|*}"
    path="${entry#*|}"
    status="$(curl -sS -o "$WORK/page.html" -w '%{http_code}' "$URL$path")"
    [[ "$status" == 200 ]] || fail "$path: $status"
    bytes="$(stat -c %s "$WORK/page.html")"
    before="$(wc -l <"$WORK/registry.log")"
    : >"$WORK/curl-times"
    for _ in $(seq 1 "$RUNS"); do
        curl -sS -o /dev/null -w '%{time_total}\n' "$URL$path" >>"$WORK/curl-times"
    done
    sleep 0.2 # the log lines of the last requests
    tail -n +"$((before + 1))" "$WORK/registry.log" | python3 -c '
import json, statistics, sys
runs = int(sys.argv[1])
name, path, size = sys.argv[2], sys.argv[3], sys.argv[4]
durations = []
for line in sys.stdin:
    try:
        record = json.loads(line)
    except ValueError:
        continue
    fields = record.get("fields", record)
    if "duration_ms" in fields and fields.get("status") == 200:
        durations.append(float(fields["duration_ms"]))
if len(durations) != runs:
    sys.exit(f"error: {len(durations)} request log lines for {path}, expected {runs}")
curl = [float(line) * 1000 for line in open(sys.argv[5]) if line.strip()]
print(f"| {name} | {size} | {statistics.median(durations):.2f} ms | {max(durations):.2f} ms | {statistics.median(curl):.2f} ms |")
' "$RUNS" "$name" "$path" "$bytes" "$WORK/curl-times"
done
