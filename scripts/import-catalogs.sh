#!/usr/bin/env bash
# Regenerates the shipped catalog packs from MITRE's data, byte for byte:
#   packs/mitre-capec             CAPEC 3.9      (stix-capec.json, STIX 2.1, github.com/mitre/cti)
#   packs/mitre-attack-enterprise ATT&CK 18.1    (enterprise-attack.json, STIX 2.0, github.com/mitre/cti)
# Usage: scripts/import-catalogs.sh DATA_DIR, where DATA_DIR holds capec/stix-capec-3.9.json and
# attack/enterprise-attack-18.1-stix20.json (their sha256 are checked below). The data is not in
# the repository (45 MB); CI needs none of it: the packs are committed, and checked like any pack.
# Same input, same mapping, same threatpack: same bytes (docs/interop.md).
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:?usage: scripts/import-catalogs.sh DATA_DIR (holding capec/ and attack/)}"

capec="$data/capec/stix-capec-3.9.json"
attack="$data/attack/enterprise-attack-18.1-stix20.json"
check_digest() {
    local actual
    actual="$(sha256sum "$1" | cut -d' ' -f1)"
    [ "$actual" = "$2" ] || { echo "$1: sha256 $actual, expected $2: not the release these packs were made from" >&2; exit 2; }
}
check_digest "$capec" 0630f57798ff0c5f4825d16519be542e4512c0fa1d70d76be70bada3a00b3def
check_digest "$attack" 4eea5f56a6a5bcfc2d4fc32e851c8c88aeb4b1923614e4c488dafcf16f10a960

threatpack() { cargo run --locked --quiet --bin threatpack -- "$@"; }
threatpack import capec "$capec" --out packs/mitre-capec --force
# The STIX 2.0 bundle names no release (it has no x-mitre-collection): the version is given.
threatpack import attack "$attack" --out packs/mitre-attack-enterprise --version 18.1.0 --force
threatpack check packs/mitre-capec --deny warnings
threatpack check packs/mitre-attack-enterprise --deny warnings
