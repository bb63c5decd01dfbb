#!/usr/bin/env bash
# The whole loop on embedded defaults, nothing to set up by hand:
#   check, test, build and sign the shipped packs (the MITRE catalogs first, then stride-core,
#   which cites them in `[catalogs]`, then example-org, which depends on stride-core) → start a
#   registry on loopback (SQLite and a blob directory in a temporary directory) → publish → lock
#   and fetch as a consuming project (examples/online-shop/threatpack.toml) → apply to the
#   project's model → the same from a program embedding the library (examples/consuming_tool.rs).
# Everything it writes goes to a temporary directory, removed at the end (KEEP=1 keeps it).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== build threatpack, threatpack-registry and examples/consuming_tool (release; a first build takes about 5 minutes on 2 cores)"
cargo build --release --locked --workspace --bins --example consuming_tool
bin="${CARGO_TARGET_DIR:-$PWD/target}/release"
work="$(mktemp -d)"
registry_pid=""
cleanup() {
    if [ -n "$registry_pid" ]; then kill "$registry_pid" 2>/dev/null || true; fi
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
export THREATPACK_CONFIG_DIR="$work/config" THREATPACK_CACHE_DIR="$work/cache"
step() { printf '\n== %s\n' "$*"; }

# In publishing order: a pack after what it cites or depends on.
packs="packs/mitre-capec packs/mitre-attack-enterprise packs/stride-core packs/example-org"

step "check and test the shipped packs"
for pack in $packs; do
    "$bin/threatpack" check "$pack" --deny warnings
    # The imported catalogs have no pack tests: they are MITRE's data, not rules of ours.
    if [ -d "$pack/tests" ]; then "$bin/threatpack" test "$pack"; fi
done

step "build and sign them (a throwaway publisher key)"
"$bin/threatpack" key generate --unencrypted --out "$work/publisher" >/dev/null
for pack in $packs; do
    "$bin/threatpack" build "$pack" --sign "$work/publisher.key" --out "$work/dist"
done

step "start a registry on loopback"
"$bin/threatpack-registry" --data "$work/registry" --listen 127.0.0.1:0 >"$work/registry.out" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do
    grep -q '^listening on' "$work/registry.out" 2>/dev/null && break
    sleep 0.1
done
url="$(sed -n 's/^listening on //p' "$work/registry.out")"
admin="$(cat "$work/registry/admin-token" 2>/dev/null || true)" # first start: never printed
[ -n "$url" ] && [ -n "$admin" ] || { cat "$work/registry.out"; exit 1; }
export THREATPACK_REGISTRY="$url" THREATPACK_TOKEN="$admin"
echo "registry at $url"

step "create the namespaces, register the publisher key, publish"
for namespace in mitre threatpack acme; do
    "$bin/threatpack" namespace create "$namespace" --owner "security@$namespace.example" >/dev/null
    "$bin/threatpack" key add "$namespace" "$work/publisher.pub" >/dev/null
done
"$bin/threatpack" publish "$work/dist/mitre_capec-3.9.0-all.tar.gz"
"$bin/threatpack" publish "$work/dist/mitre_attack-enterprise-18.1.0-all.tar.gz"
"$bin/threatpack" publish "$work/dist/threatpack_stride-core-1.0.0-all.tar.gz"
"$bin/threatpack" publish "$work/dist/acme_appsec-policy-1.0.0-all.tar.gz"
"$bin/threatpack" info acme/appsec-policy

step "lock and fetch as a consuming project"
cp -r examples/online-shop "$work/project"
unset THREATPACK_TOKEN # consumers read without a token
"$bin/threatpack" lock "$work/project"
cat "$work/project/threatpack.lock"
# stride-core cites the catalogs without depending on them: the project locks no catalog.
if grep -q '^name = "mitre/' "$work/project/threatpack.lock"; then echo "a catalog was locked" >&2; exit 1; fi
"$bin/threatpack" fetch "$work/project"
"$bin/threatpack" fetch "$work/project" --locked --offline # the second time from the cache alone

step "apply the locked packs to the project's model"
(cd "$work/project" && "$bin/threatpack" apply --locked)

step "the same from a program: examples/consuming_tool.rs on the locked, fetched project"
"$bin/examples/consuming_tool" "$work/project" >"$work/threats.txt"
head -n 12 "$work/threats.txt"
echo "... $(grep -c '^T-' "$work/threats.txt") threat instances in all"
