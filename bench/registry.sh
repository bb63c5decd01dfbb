#!/usr/bin/env bash
# Benchmark of the registry server: index GETs under load with wrk, next to nginx serving the
# same JSON bytes as a static file in the same run, and the time to publish a 1 MB bundle. See
# docs/benchmarks.md ("Registry"). Not part of the test suite.
#
#   bench/registry.sh
#
# From nothing, on loopback:
#   1. builds the release binaries (`cargo build --release --workspace`, and the generator
#      example);
#   2. starts `threatpack-registry --data TMP --listen 127.0.0.1:0` on a fresh data directory and
#      reads its address from stdout and the first admin token from DATA/admin-token;
#   3. creates the namespaces `threatpack` and `bench` and registers a throwaway publisher key
#      (`threatpack key generate --unencrypted`) in both;
#   4. builds and signs VERSIONS versions (default 200: 1.0.0, 1.0.1, ...) of a copy of
#      packs/stride-core (`threatpack build DIR --sign KEY`) and publishes them with curl
#      (`PUT /api/v1/packs/threatpack/stride-core/VERSION`, signature in X-Threatpack-Signature);
#   5. fetches the index (`GET /api/v1/packs/threatpack/stride-core`) once into a file and starts
#      nginx (as the current user, a configuration written here, access log off) serving that
#      file at the same path with the same content type; checks both answer the same bytes;
#   6. after one short warm-up run of each, RUNS rounds (default 7). Each round runs, for each
#      connection count in CONNECTIONS (default "32 256"),
#        wrk -t THREADS -c CONNECTIONS -d DURATION --latency URL
#      once against nginx and once against the registry, alternating which goes first from one
#      round to the next, so that a slow spell of the shared machine hits both alike. wrk, the
#      server and everything else share the machine's cores (2 here);
#   7. publishes a ~1 MB bundle (a synthetic pack from examples/generate_synthetic_pack.rs,
#      SYNTHETIC_ARGS, one new version per run) PUBLISH_RUNS times (default 9, after one warm-up)
#      with curl and as many times with `threatpack publish`, interleaved.
# It prints every run, then the medians as markdown tables: requests per second, p50 and p99
# latency as wrk reports them, the CPU time per request of the server (all its processes or
# threads, from /proc) and of wrk, the registry / nginx ratio of the medians (and the median and
# range of the per-round ratios), and the publish times. wrk's non-2xx responses and socket
# errors are counted; any makes the script fail. It also prints how much CPU other processes used
# during the rounds and the hypervisor steal, as the other scripts do.
#
# Every publish uses the first admin token (a `publish` token costs the same lookup). Publishing
# with curl sends no `Expect: 100-continue`, as `threatpack publish` does not.
#
# Needs: wrk, nginx, curl, python3 (a free port for nginx)
# (Debian/Ubuntu: sudo apt-get install -y wrk nginx curl). Where an init system runs, the Debian
# nginx package also starts a system nginx on port 80; the script neither uses nor stops it.
# Environment: RUNS (7), DURATION (seconds, 10), CONNECTIONS ("32 256"), THREADS (2), VERSIONS
# (200), PUBLISH_RUNS (9), SYNTHETIC_ARGS (generator arguments for the ~1 MB bundle),
# REGISTRY_BIN (another threatpack-registry binary to measure, e.g. an older build), NGINX
# (path to nginx, default: `nginx` on PATH or /usr/sbin/nginx).
set -euo pipefail
shopt -s inherit_errexit

RUNS="${RUNS:-7}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32 256}"
THREADS="${THREADS:-2}"
VERSIONS="${VERSIONS:-200}"
PUBLISH_RUNS="${PUBLISH_RUNS:-9}"
SYNTHETIC_ARGS="${SYNTHETIC_ARGS:---attack-patterns 1300 --mitigations 1300 --links 3900 --tests 2}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

NGINX="${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}"
for tool in wrk "$NGINX" curl python3 base64; do
    if ! command -v "$tool" >/dev/null; then
        echo "error: \`$tool\` is needed. Debian/Ubuntu: sudo apt-get install -y wrk nginx curl python3" >&2
        exit 2
    fi
done

echo "== building (release)"
(cd "$REPO" && cargo build --release --quiet --workspace && cargo build --release --quiet --example generate_synthetic_pack)
TARGET_DIR="$(cd "$REPO" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null || echo "$REPO/target")"
THREATPACK="$TARGET_DIR/release/threatpack"
REGISTRY="${REGISTRY_BIN:-$TARGET_DIR/release/threatpack-registry}"
GENERATOR="$TARGET_DIR/release/examples/generate_synthetic_pack"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/threatpack-bench-registry.XXXXXX")"
REGISTRY_PID=""
NGINX_PID=""
cleanup() {
    # Only the processes this script started, by their id.
    if [[ -n "$NGINX_PID" ]]; then
        kill -TERM "$NGINX_PID" 2>/dev/null || true
        wait "$NGINX_PID" 2>/dev/null || true
    fi
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

# ---------------------------------------------------------------------------------------------
# The registry

echo "== starting the registry"
# The setup publishes 200 versions in seconds: far over the default write rate (120 a minute).
# The request log goes to a file, as it would in production.
THREATPACK_REGISTRY_WRITE_RATE=1000000 \
    "$REGISTRY" --data "$WORK/data" --listen 127.0.0.1:0 >"$WORK/registry.out" 2>"$WORK/registry.err" &
REGISTRY_PID=$!
for _ in $(seq 1 100); do
    grep -q '^listening on' "$WORK/registry.out" && break
    kill -0 "$REGISTRY_PID" 2>/dev/null || fail "the registry exited: $(cat "$WORK/registry.err")"
    sleep 0.1
done
URL="$(sed -n 's/^listening on //p' "$WORK/registry.out")"
ADMIN="$(cat "$WORK/data/admin-token" 2>/dev/null || true)" # first start: never printed
[[ -n "$URL" && -n "$ADMIN" ]] || fail "no address or admin token in the registry's output: $(cat "$WORK/registry.out")"
echo "   $URL (pid $REGISTRY_PID, $(awk '/^Threads:/ { print $2 }' "/proc/$REGISTRY_PID/status") threads)"

# api METHOD PATH EXPECTED_STATUS [CURL_ARGS...]: one request with the admin token; fails
# unless the status is EXPECTED_STATUS. The body is left in $WORK/response.
api() {
    local method="$1" path="$2" expected="$3" status
    shift 3
    status="$(curl -sS -o "$WORK/response" -w '%{http_code}' -X "$method" "$URL/api/v1$path" \
        -H "Authorization: Bearer $ADMIN" "$@")"
    [[ "$status" == "$expected" ]] || fail "$method $path: $status, expected $expected: $(cat "$WORK/response")"
}

"$THREATPACK" key generate --unencrypted --out "$WORK/bench" >/dev/null 2>&1
KEY="$WORK/bench.key"
PUBLIC_KEY="$(grep -v '^untrusted comment:' "$WORK/bench.pub" | head -n 1)"
for namespace in threatpack bench; do
    api POST /namespaces 201 -H 'Content-Type: application/json' \
        -d "{\"name\":\"$namespace\",\"owners\":[\"bench\"]}"
    api POST "/namespaces/$namespace/keys" 201 -H 'Content-Type: application/json' \
        -d "{\"public_key\":\"$PUBLIC_KEY\"}"
done

# set_version PACK_DIR VERSION: rewrites the first `version = ` line of pack.toml ([pack]'s).
set_version() {
    sed -i "0,/^version = .*/s//version = \"$2\"/" "$1/pack.toml"
    grep -q "^version = \"$2\"\$" "$1/pack.toml" || fail "cannot set the version in $1/pack.toml"
}

# build_signed PACK_DIR FILE_PREFIX VERSION: builds and signs that version into $WORK/dist and
# prints the bundle's path.
build_signed() {
    set_version "$1" "$3"
    "$THREATPACK" build "$1" --sign "$KEY" --out "$WORK/dist" >/dev/null 2>"$WORK/build.err" ||
        fail "threatpack build $1: $(cat "$WORK/build.err")"
    local bundle="$WORK/dist/$2-$3-all.tar.gz"
    [[ -f "$bundle" && -f "$bundle.minisig" ]] || fail "no $bundle after the build"
    echo "$bundle"
}

# publish_curl BUNDLE PACK VERSION: PUT with curl; prints curl's time_total in seconds. Fails
# unless the registry answers 201 Created.
publish_curl() {
    local result
    result="$(curl -sS -o "$WORK/response" -w '%{http_code} %{time_total}' -X PUT \
        "$URL/api/v1/packs/$2/$3" -H "Authorization: Bearer $ADMIN" -H 'Expect:' \
        -H 'Content-Type: application/gzip' \
        -H "X-Threatpack-Signature: $(base64 -w0 "$1.minisig")" --data-binary "@$1")"
    [[ "${result%% *}" == 201 ]] || fail "publish $2@$3: ${result%% *}: $(cat "$WORK/response")"
    echo "${result#* }"
}

# publish_client BUNDLE: `threatpack publish`; prints the wall time in seconds.
publish_client() {
    local start end
    start=$(date +%s%N)
    THREATPACK_TOKEN="$ADMIN" THREATPACK_CONFIG_DIR="$WORK/config" \
        "$THREATPACK" publish "$1" --registry "$URL" >/dev/null 2>"$WORK/publish.err" ||
        fail "threatpack publish $1: $(cat "$WORK/publish.err")"
    end=$(date +%s%N)
    awk -v ns=$((end - start)) 'BEGIN { printf "%.4f\n", ns / 1e9 }'
}

median() { awk 'NF' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
minimum() { awk 'NF' | sort -g | head -n 1; }
maximum() { awk 'NF' | sort -g | tail -n 1; }
milliseconds() { awk -v s="$1" 'BEGIN { printf "%.0f ms", s * 1000 }'; }

echo "== building and publishing $VERSIONS versions of a copy of packs/stride-core"
cp -r "$REPO/packs/stride-core" "$WORK/stride-core"
SMALL_TIMES=""
for index in $(seq 0 $((VERSIONS - 1))); do
    bundle="$(build_signed "$WORK/stride-core" threatpack_stride-core "1.0.$index")"
    SMALL_TIMES+="$(publish_curl "$bundle" threatpack/stride-core "1.0.$index")"$'\n'
    SMALL_BYTES="$(stat -c %s "$bundle")"
    rm -f "$bundle" "$bundle.minisig"
done
echo "   $VERSIONS bundles of $SMALL_BYTES bytes; publish with curl: median $(milliseconds "$(median <<<"$SMALL_TIMES")")," \
    "$(milliseconds "$(minimum <<<"$SMALL_TIMES")")–$(milliseconds "$(maximum <<<"$SMALL_TIMES")")"

# ---------------------------------------------------------------------------------------------
# The index, and nginx serving the same bytes

INDEX_PATH=/api/v1/packs/threatpack/stride-core
mkdir -p "$WORK/www" "$WORK/nginx"
curl -sS -f -D "$WORK/index.headers" -o "$WORK/www/index.json" "$URL$INDEX_PATH"
INDEX_BYTES="$(stat -c %s "$WORK/www/index.json")"
INDEX_VERSIONS="$(grep -o '"version":"' "$WORK/www/index.json" | wc -l)"
[[ "$INDEX_VERSIONS" == "$VERSIONS" ]] || fail "the index lists $INDEX_VERSIONS versions, not $VERSIONS"
echo "== the index: $INDEX_BYTES bytes, $INDEX_VERSIONS versions"

NGINX_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
NGINX_URL="http://127.0.0.1:$NGINX_PORT"
# A static-file server at its usual best: sendfile, the open file cached, no access log, and
# keep-alive connections never closed by a request count (nginx closes after 1,000 by default;
# the registry never does).
cat >"$WORK/nginx/nginx.conf" <<EOF
user $(id -un) $(id -gn);
worker_processes auto;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events {
    worker_connections 4096;
}
http {
    access_log off;
    client_body_temp_path $WORK/nginx/client_body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    open_file_cache max=16;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location = $INDEX_PATH {
            alias $WORK/www/index.json;
            default_type application/json;
            add_header Cache-Control no-cache;
        }
    }
}
EOF
echo "== starting nginx ($("$NGINX" -v 2>&1 | sed 's/^nginx version: //')) on $NGINX_URL"
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" &
NGINX_PID=$!
for _ in $(seq 1 100); do
    curl -sf -o /dev/null "$NGINX_URL$INDEX_PATH" && break
    kill -0 "$NGINX_PID" 2>/dev/null || fail "nginx exited: $(cat "$WORK/nginx/error.log")"
    sleep 0.1
done
curl -sS -f -D "$WORK/nginx.headers" -o "$WORK/nginx.json" "$NGINX_URL$INDEX_PATH"
cmp -s "$WORK/nginx.json" "$WORK/www/index.json" || fail "nginx serves other bytes than the registry"
curl -sS -f -o "$WORK/again.json" "$URL$INDEX_PATH"
cmp -s "$WORK/again.json" "$WORK/www/index.json" || fail "the registry's index changed between two GETs"
grep -qi '^content-type: application/json' "$WORK/nginx.headers" || fail "nginx does not answer application/json"
echo "   registry headers: $(grep -i -v '^HTTP\|^\s*$' "$WORK/index.headers" | tr -d '\r' | cut -d: -f1 | tr '\n' ' ')"
echo "   nginx headers:    $(grep -i -v '^HTTP\|^\s*$' "$WORK/nginx.headers" | tr -d '\r' | cut -d: -f1 | tr '\n' ' ')"

# ---------------------------------------------------------------------------------------------
# wrk

HZ="$(getconf CLK_TCK)"
# CPU ticks (user + system) of these processes, all their threads.
process_ticks() {
    local pid total=0
    for pid in "$@"; do
        total=$((total + $(sed 's/^.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')))
    done
    echo "$total"
}
# CPU ticks of the finished children of the script's shell (wrk): cutime + cstime. ($$, not
# $BASHPID: this runs in a command substitution's subshell.)
children_ticks() { sed 's/^.*) //' "/proc/$$/stat" | awk '{ print $14 + $15 }'; }
# Total, steal and busy ticks of the machine, from /proc/stat (as in bench/check.sh).
cpu_counters() { awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $9, $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
server_pids() {
    case "$1" in
        registry) echo "$REGISTRY_PID" ;;
        nginx) echo "$NGINX_PID" $(ps -o pid= --ppid "$NGINX_PID") ;;
    esac
}
server_url() {
    case "$1" in
        registry) echo "$URL$INDEX_PATH" ;;
        nginx) echo "$NGINX_URL$INDEX_PATH" ;;
    esac
}

# measure SERVER CONNECTIONS SECONDS: one wrk run. Sets RESULT to "REQUESTS_PER_SECOND P50_MS
# P99_MS SERVER_CPU_MICROSECONDS_PER_REQUEST WRK_CPU_MICROSECONDS_PER_REQUEST" and adds the server's and wrk's CPU ticks to
# OWN_TICKS. Fails on non-2xx responses or socket errors.
OWN_TICKS=0
measure() {
    local server="$1" connections="$2" seconds="$3" pids server_before server_after wrk_before wrk_after
    read -r -a pids <<<"$(server_pids "$server")"
    server_before="$(process_ticks "${pids[@]}")"
    wrk_before="$(children_ticks)"
    wrk -t"$THREADS" -c"$connections" -d"${seconds}s" --latency "$(server_url "$server")" >"$WORK/wrk.out"
    wrk_after="$(children_ticks)"
    server_after="$(process_ticks "${pids[@]}")"
    OWN_TICKS=$((OWN_TICKS + server_after - server_before + wrk_after - wrk_before))
    RESULT="$(awk -v cpu=$((server_after - server_before)) -v wrk_cpu=$((wrk_after - wrk_before)) -v hz="$HZ" '
        function ms(value) {
            if (value ~ /us$/) return value / 1000
            if (value ~ /ms$/) return value + 0
            if (value ~ /m$/) return value * 60000
            if (value ~ /s$/) return value * 1000
            return value + 0
        }
        / requests in / { requests = $1 }
        /^Requests\/sec:/ { rps = $2 }
        /^ +50%/ { p50 = ms($2) }
        /^ +99%/ { p99 = ms($2) }
        /Non-2xx or 3xx responses:/ { errors += $NF }
        /Socket errors:/ { gsub(/,/, ""); errors += $4 + $6 + $8 + $10 }
        END {
            if (errors > 0 || requests == 0) { print "errors", errors; exit }
            printf "%.0f %.3f %.3f %.1f %.1f\n", rps, p50, p99, cpu / hz / requests * 1e6, wrk_cpu / hz / requests * 1e6
        }' "$WORK/wrk.out")"
    if [[ "$RESULT" == errors* ]]; then
        cat "$WORK/wrk.out" >&2
        fail "wrk against $server: ${RESULT#errors } errors"
    fi
}

print_run() {
    local rps p50 p99 cpu wrk_cpu
    read -r rps p50 p99 cpu wrk_cpu <<<"$4"
    printf '   %-8s c=%-4s run %2s: %7s req/s, p50 %6.2f ms, p99 %6.2f ms, CPU per request: server %5.1f µs, wrk %5.1f µs\n' \
        "$1" "$2" "$3" "$rps" "$p50" "$p99" "$cpu" "$wrk_cpu"
}

echo "== warm-up: 3 s of each"
for connections in $CONNECTIONS; do
    for server in nginx registry; do
        measure "$server" "$connections" 3
        print_run "$server" "$connections" 0 "$RESULT"
    done
done

echo "== $RUNS rounds of ${DURATION} s runs (wrk -t$THREADS --latency)"
declare -A RESULTS=()
declare -A RATIOS=()
read -r TOTAL_BEFORE STEAL_BEFORE BUSY_BEFORE <<<"$(cpu_counters)"
OWN_TICKS=0
for run in $(seq 1 "$RUNS"); do
    for connections in $CONNECTIONS; do
        order=(nginx registry)
        if ((run % 2 == 0)); then order=(registry nginx); fi
        declare -A round=()
        for server in "${order[@]}"; do
            measure "$server" "$connections" "$DURATION"
            RESULTS[$server-$connections]+="$RESULT"$'\n'
            round[$server]="${RESULT%% *}"
            print_run "$server" "$connections" "$run" "$RESULT"
        done
        RATIOS[$connections]+="$(awk -v r="${round[registry]}" -v n="${round[nginx]}" 'BEGIN { print r / n }')"$'\n'
        unset round
    done
done
read -r TOTAL_AFTER STEAL_AFTER BUSY_AFTER <<<"$(cpu_counters)"
OTHER_CPU="$(awk -v t=$((TOTAL_AFTER - TOTAL_BEFORE)) -v b=$((BUSY_AFTER - BUSY_BEFORE)) -v own="$OWN_TICKS" \
    -v cpus="$(nproc)" 'BEGIN { other = b - own; if (other < 0) other = 0; printf "%.2f", (t ? other / (t / cpus) : 0) }')"
STEAL="$(awk -v t=$((TOTAL_AFTER - TOTAL_BEFORE)) -v s=$((STEAL_AFTER - STEAL_BEFORE)) 'BEGIN { printf "%.0f", (t ? 100 * s / t : 0) }')"
echo "   during the rounds: other processes used about $OTHER_CPU CPU on average, steal $STEAL %"

# The index must not have changed under load.
curl -sS -f -o "$WORK/again.json" "$URL$INDEX_PATH"
cmp -s "$WORK/again.json" "$WORK/www/index.json" || fail "the registry's index changed during the runs"

# ---------------------------------------------------------------------------------------------
# Publishing a ~1 MB bundle

echo "== publishing a ~1 MB bundle: generating and building $((2 * PUBLISH_RUNS + 2)) versions of a synthetic pack ($SYNTHETIC_ARGS)"
read -r -a generator_args <<<"$SYNTHETIC_ARGS"
"$GENERATOR" "$WORK/synthetic" "${generator_args[@]}" >/dev/null
BUNDLES=()
for index in $(seq 0 $((2 * PUBLISH_RUNS + 1))); do
    BUNDLES+=("$(build_signed "$WORK/synthetic" bench_synthetic "1.0.$index")")
done
LARGE_BYTES="$(stat -c %s "${BUNDLES[0]}")"
echo "   bundles of $LARGE_BYTES bytes ($(awk -v b="$LARGE_BYTES" 'BEGIN { printf "%.2f MB", b / 1e6 }'))"
CURL_TIMES=""
CLIENT_TIMES=""
for run in $(seq 0 "$PUBLISH_RUNS"); do
    curl_time="$(publish_curl "${BUNDLES[$((2 * run))]}" bench/synthetic "1.0.$((2 * run))")"
    client_time="$(publish_client "${BUNDLES[$((2 * run + 1))]}")"
    printf '   run %2s: curl PUT %s, threatpack publish %s\n' "$run" "$(milliseconds "$curl_time")" "$(milliseconds "$client_time")"
    if ((run > 0)); then
        CURL_TIMES+="$curl_time"$'\n'
        CLIENT_TIMES+="$client_time"$'\n'
    fi
done

# ---------------------------------------------------------------------------------------------
# Tables

summary_field() { awk -v n="$2" '{ print $n }' <<<"$1" | median; }
thousands() { awk -v n="$1" 'BEGIN { n = sprintf("%.0f", n); while (n ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", n); print n }'; }
decimals() { awk -v n="$1" 'BEGIN { printf "%.2f", n }'; }
percent() { awk -v r="$1" 'BEGIN { printf "%.0f %%", r * 100 }'; }

echo
echo "Median of $RUNS rounds of ${DURATION} s (wrk -t$THREADS --latency, keep-alive), index of $VERSIONS versions ($INDEX_BYTES bytes):"
echo
echo "| connections | server | requests/s | p50 | p99 | CPU per request: server, wrk | registry / nginx: of the medians (per round: median, range) | goal: ≥ 70 %, p99 < 10 ms |"
echo "|---|---|---|---|---|---|---|---|"
for connections in $CONNECTIONS; do
    nginx_rps="$(summary_field "${RESULTS[nginx-$connections]}" 1)"
    registry_rps="$(summary_field "${RESULTS[registry-$connections]}" 1)"
    registry_p99="$(summary_field "${RESULTS[registry-$connections]}" 3)"
    ratio="$(awk -v r="$registry_rps" -v n="$nginx_rps" 'BEGIN { print r / n }')"
    verdict="$(awk -v r="$ratio" -v p="$registry_p99" 'BEGIN {
        printf "%s, %s", (r >= 0.7 ? "**met**" : "**not met**"), (p < 10 ? "**met**" : "**not met**") }')"
    for server in nginx registry; do
        lines="${RESULTS[$server-$connections]}"
        row="| $connections | $server | $(thousands "$(summary_field "$lines" 1)")"
        row+=" | $(decimals "$(summary_field "$lines" 2)") ms | $(decimals "$(summary_field "$lines" 3)") ms | $(summary_field "$lines" 4) µs, $(summary_field "$lines" 5) µs"
        if [[ "$server" == registry ]]; then
            row+=" | **$(percent "$ratio")** ($(percent "$(median <<<"${RATIOS[$connections]}")"), $(percent "$(minimum <<<"${RATIOS[$connections]}")")–$(percent "$(maximum <<<"${RATIOS[$connections]}")")) | $verdict |"
        else
            row+=" | | |"
        fi
        echo "$row"
    done
done
echo
echo "Publishing a $(awk -v b="$LARGE_BYTES" 'BEGIN { printf "%.2f MB", b / 1e6 }') bundle ($LARGE_BYTES bytes), median of $PUBLISH_RUNS (fastest–slowest):"
echo
echo "| how | time |"
echo "|---|---|"
echo "| curl PUT (upload, checks, blob and metadata written with fsync) | **$(milliseconds "$(median <<<"$CURL_TIMES")")** ($(milliseconds "$(minimum <<<"$CURL_TIMES")")–$(milliseconds "$(maximum <<<"$CURL_TIMES")")) |"
echo "| \`threatpack publish\` (process, keys GET, local verification, PUT) | **$(milliseconds "$(median <<<"$CLIENT_TIMES")")** ($(milliseconds "$(minimum <<<"$CLIENT_TIMES")")–$(milliseconds "$(maximum <<<"$CLIENT_TIMES")")) |"
echo "| curl PUT of a $SMALL_BYTES-byte stride-core bundle ($VERSIONS publishes above) | $(milliseconds "$(median <<<"$SMALL_TIMES")") ($(milliseconds "$(minimum <<<"$SMALL_TIMES")")–$(milliseconds "$(maximum <<<"$SMALL_TIMES")")) |"
echo
echo "threatpack-registry $(cd "$REPO" && git describe --always --dirty 2>/dev/null || echo '?'); $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'); $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2 || true)"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r)"
