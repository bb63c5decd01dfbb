#!/usr/bin/env bash
# Benchmark of `threatpack fetch` for a project that locks 50 packs, cold (empty cache: 50
# indexes are not needed — the lockfile answers — but 50 bundles and 50 signatures are
# downloaded, each verified: sha256, bundle reader, signature) and warm (everything in the
# cache, each bundle verified again). See docs/benchmarks.md ("registry"). Not part of the
# test suite.
#
#   bench/fetch.sh
#
# It builds the release binaries, starts `threatpack-registry` on loopback with a temporary
# data directory, publishes 50 packs made by `threatpack new bench/pNN` (each signed), writes a
# project depending on all 50, locks it once, then runs RUNS rounds (default 7) of: cold fetch
# (cache emptied first) and warm fetch. Prints the median and min/max wall time of each, and
# the peak RSS (GNU time).
#
# Needs: curl, GNU time at /usr/bin/time. Environment: RUNS (default 7), PACKS (default 50).
set -euo pipefail
shopt -s inherit_errexit

RUNS="${RUNS:-7}"
PACKS="${PACKS:-50}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
cargo build --release --quiet --workspace --bins
BIN="${CARGO_TARGET_DIR:-$REPO/target}/release"
WORK="$(mktemp -d)"
REGISTRY_PID=""
cleanup() {
    if [ -n "$REGISTRY_PID" ]; then kill "$REGISTRY_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
export THREATPACK_CONFIG_DIR="$WORK/config" THREATPACK_CACHE_DIR="$WORK/cache"

"$BIN/threatpack-registry" --data "$WORK/registry" --listen 127.0.0.1:0 >"$WORK/registry.out" 2>&1 &
REGISTRY_PID=$!
for _ in $(seq 100); do
    grep -q '^listening on' "$WORK/registry.out" 2>/dev/null && break
    sleep 0.1
done
URL="$(sed -n 's/^listening on //p' "$WORK/registry.out")"
ADMIN="$(cat "$WORK/registry/admin-token")" # first start: never printed
export THREATPACK_REGISTRY="$URL" THREATPACK_TOKEN="$ADMIN"

"$BIN/threatpack" key generate --unencrypted --out "$WORK/publisher" >/dev/null
curl -sf -X POST "$URL/api/v1/namespaces" -H "Authorization: Bearer $ADMIN" \
    -H 'Content-Type: application/json' -d '{"name":"bench","owners":["bench@example.org"]}' >/dev/null
"$BIN/threatpack" key add bench "$WORK/publisher.pub" >/dev/null

mkdir -p "$WORK/project"
{
    printf '[project]\nname = "fifty"\n\n[dependencies]\n'
} >"$WORK/project/threatpack.toml"
for i in $(seq -w 1 "$PACKS"); do
    "$BIN/threatpack" new "bench/p$i" "$WORK/packs/p$i" >/dev/null 2>&1
    "$BIN/threatpack" build "$WORK/packs/p$i" --sign "$WORK/publisher.key" --out "$WORK/dist" 2>/dev/null
    "$BIN/threatpack" publish "$WORK/dist/bench_p$i-0.1.0-all.tar.gz" >/dev/null
    printf '"bench/p%s" = "^0.1"\n' "$i" >>"$WORK/project/threatpack.toml"
done
unset THREATPACK_TOKEN
"$BIN/threatpack" lock "$WORK/project" >/dev/null 2>&1
size="$(du -sb "$WORK/dist" | cut -f1)"
echo "registry $URL; $PACKS packs published, $((size / 1024)) KiB of bundles and signatures"

measure() { # prints "SECONDS MAX_RSS_KB" (GNU time's %e has 10 ms steps: the clock is read apart)
    local start end
    start="$(date +%s%N)"
    /usr/bin/time -f '%M' -o "$WORK/time" "$BIN/threatpack" fetch "$WORK/project" --locked >/dev/null 2>"$WORK/fetch.err" ||
        { cat "$WORK/fetch.err"; exit 1; }
    end="$(date +%s%N)"
    echo "$(awk -v ns="$((end - start))" 'BEGIN { printf "%.4f", ns / 1e9 }') $(cat "$WORK/time")"
}
cold=() warm=() cold_rss=() warm_rss=()
for _ in $(seq "$RUNS"); do
    rm -rf "$THREATPACK_CACHE_DIR"
    read -r seconds rss < <(measure)
    grep -q "$PACKS downloaded" "$WORK/fetch.err" || { cat "$WORK/fetch.err"; exit 1; }
    cold+=("$seconds") cold_rss+=("$rss")
    read -r seconds rss < <(measure)
    grep -q "0 downloaded" "$WORK/fetch.err" || { cat "$WORK/fetch.err"; exit 1; }
    warm+=("$seconds") warm_rss+=("$rss")
done
summary() { # NAME VALUES... → median, min, max
    local name="$1"
    shift
    printf '%s\n' "$@" | sort -g | awk -v name="$name" '{ v[NR] = $1 } END {
        printf "%-6s median %.1f ms (min %.1f, max %.1f) over %d runs\n", name, 1000 * v[int((NR + 1) / 2)], 1000 * v[1], 1000 * v[NR], NR }'
}
summary cold "${cold[@]}"
summary warm "${warm[@]}"
printf 'peak RSS: cold %s MB, warm %s MB (largest run)\n' \
    "$(printf '%s\n' "${cold_rss[@]}" | sort -n | tail -1 | awk '{ printf "%.0f", $1 / 1024 }')" \
    "$(printf '%s\n' "${warm_rss[@]}" | sort -n | tail -1 | awk '{ printf "%.0f", $1 / 1024 }')"
