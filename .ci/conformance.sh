#!/usr/bin/env bash
# Runs the official MCP conformance suite's server scenarios (every suite: active and pending)
# against examples' conformance-server, which is built with mcp-secure's macros and served
# behind its HTTP layer. Fails on any failing scenario; there is no baseline of expected failures (none is needed).
set -euo pipefail
cd "$(dirname "$0")/.."
# Node and the suite (pinned there) come from .ci/node.sh.
eval "$(.ci/node.sh)"
node=$MCP_SECURE_NODE
dir=$(dirname "$MCP_SECURE_NODE_MODULES")

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
