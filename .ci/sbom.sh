#!/usr/bin/env bash
# The demo's software bill of materials: CycloneDX 1.6, made from Cargo.lock by cargo-sbom
# (crates.io), written to target/sbom/notes-server.cdx.json and checked to name the crates
# the demo ships, at the versions Cargo.lock pins.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-sbom >/dev/null || cargo install cargo-sbom --version 0.10.0 --locked --quiet
mkdir -p target/sbom
out=target/sbom/notes-server.cdx.json
cargo sbom --cargo-package mcp-secure-examples --output-format cyclone_dx_json_1_6 >"$out"
python3 - "$out" <<'PY'
import json, sys, tomllib
bom = json.load(open(sys.argv[1]))
assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.6", "a CycloneDX 1.6 document"
found = {(c["name"], c["version"]) for c in bom["components"]}
locked = tomllib.load(open("Cargo.lock", "rb"))["package"]
for name in ["mcp-secure", "rmcp", "tokio", "landlock", "seccompiler", "rustls", "sqlx-sqlite", "cedar-policy"]:
    versions = {p["version"] for p in locked if p["name"] == name}
    assert any((name, v) in found for v in versions), f"{name} {versions} is not in the SBOM"
for dev_only in ["trybuild", "divan", "criterion"]:
    assert not any(n == dev_only for n, _ in found), f"{dev_only} is a test tool, not shipped"
print(f"sbom: {sys.argv[1]}: {len(found)} components")
PY
