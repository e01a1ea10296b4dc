#!/usr/bin/env bash
# Runs the official MCP conformance suite (`@modelcontextprotocol/conformance`):
# - 0.1.16, every server scenario (active and pending), against examples' conformance-server;
# - 0.2.0-alpha.12, exactly what spec 2026-07-28 requires (`--requirements 2026-07-28`), against
#   the same server; it fails on a scored scenario only (extensions and pending scenarios are
#   reported, not scored);
# - 0.2.0-alpha.12's `authorization` scenarios against the demo's development authorization
#   server (`notes-server serve --dev-auth`) and its OAuth proxy (`--upstream-issuer`, in front
#   of oauth2-mock-server), with the browser step done by tests/node/browse.mjs.
# conformance-server is built with mcp-secure's macros and served behind its HTTP layer. Fails on
# any failing scenario; there is no baseline of expected failures.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# Node and the suites (pinned there) come from .ci/node.sh.
eval "$(.ci/node.sh)"
node=$MCP_SECURE_NODE
modules=$MCP_SECURE_NODE_MODULES
suite_0_1="$modules/@modelcontextprotocol/conformance/dist/index.js"
suite_0_2="$modules/conformance-2026/dist/index.js"

cargo build -q --locked -p mcp-secure-examples --bin conformance-server --bin notes-server
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

# Waits for a server's log to say where it serves; prints the URL.
served_at() {
  local log=$1 url=""
  for _ in $(seq 1 100); do
    url=$(sed -n 's/.*serving MCP at \(http[^ ]*\).*/\1/p' "$log")
    [ -n "$url" ] && { echo "$url"; return; }
    sleep 0.1
  done
  echo "the server did not start:" >&2
  cat "$log" >&2
  return 1
}
quiet() { grep -v '^Running client scenario\|^=== Running scenario\|^$' || true; }

target/debug/conformance-server 127.0.0.1:0 2>"$work/conformance.log" &
pids+=($!)
url=$(served_at "$work/conformance.log")

echo "== conformance 0.1.16, every server scenario"
"$node" "$suite_0_1" server --url "$url" --suite all > "$work/0.1.out" \
  || { quiet < "$work/0.1.out"; exit 1; }
quiet < "$work/0.1.out"

echo "== conformance 0.2.0-alpha.12, --requirements 2026-07-28"
"$node" "$suite_0_2" server --url "$url" --requirements 2026-07-28 > "$work/0.2.out" \
  || { quiet < "$work/0.2.out"; exit 1; }
sed -n '/=== SUMMARY ===/,$p' "$work/0.2.out"

# The suite's `authorization` scenarios against an authorization server of the demo's: its
# client registered there, the browser step played by tests/node/browse.mjs (redirects followed,
# a consent page approved), up to the suite's callback server.
authorization() { # name, then the notes-server arguments
  local name=$1
  shift
  echo "== conformance 0.2.0-alpha.12, authorization, against notes-server $name"
  mkdir -p "$work/$name"
  (cd "$work/$name" && exec "$root/target/debug/notes-server" serve --addr 127.0.0.1:0 \
    --sandbox off "$@") >"$work/$name.log" 2>&1 &
  pids+=($!)
  local mcp issuer port client authorize="" suite
  mcp=$(served_at "$work/$name.log")
  issuer=${mcp%/mcp}
  # A free port for the suite's callback server, registered as the client's redirect URI.
  port=$("$node" -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  client=$(curl -sf "$issuer/register" -H 'Content-Type: application/json' \
    -d "{\"redirect_uris\":[\"http://127.0.0.1:$port/callback\"],\"token_endpoint_auth_method\":\"none\",\"client_name\":\"conformance\"}" \
    | "$node" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).client_id))')
  "$node" "$suite_0_2" authorization --url "$issuer" --client-id "$client" --resource "$mcp" \
    -p "$port" > "$work/$name.authz" 2>&1 &
  suite=$!
  pids+=("$suite")
  # The suite prints the authorization URL for a person to open.
  for _ in $(seq 1 300); do
    authorize=$(grep -o "$issuer/authorize?[^ ]*" "$work/$name.authz" | head -1 || true)
    [ -n "$authorize" ] && break
    sleep 0.1
  done
  [ -n "$authorize" ] || { cat "$work/$name.authz"; echo "the suite asked for no authorization"; exit 1; }
  # Its callback server starts after it prints the URL.
  for _ in $(seq 1 50); do
    grep -q "Callback server started" "$work/$name.authz" && break
    sleep 0.1
  done
  "$node" tests/node/browse.mjs "$authorize" "http://127.0.0.1:$port/callback"
  if ! wait "$suite"; then
    quiet < "$work/$name.authz"
    exit 1
  fi
  sed -n '/=== SUMMARY ===/,$p' "$work/$name.authz"
}

authorization dev-auth --dev-auth --dev-auth-user conformance

# The OAuth proxy in front of oauth2-mock-server (tests/node/idp.mjs), as its client mcp-proxy.
NODE_MODULES=$modules "$node" tests/node/idp.mjs > "$work/idp.out" < /dev/null &
pids+=($!)
for _ in $(seq 1 100); do
  grep -q '^issuer ' "$work/idp.out" && break
  sleep 0.1
done
idp=$(sed -n 's/^issuer //p' "$work/idp.out")
[ -n "$idp" ] || { echo "oauth2-mock-server did not start"; exit 1; }
printf 'proxy-secret' > "$work/upstream-secret"
chmod 600 "$work/upstream-secret"
authorization oauth-proxy --upstream-issuer "$idp" --upstream-client-id mcp-proxy \
  --upstream-client-secret-file "$work/upstream-secret" --fetch-allow 127.0.0.1
