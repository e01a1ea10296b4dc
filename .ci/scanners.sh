#!/usr/bin/env bash
# Runs two MCP scanners from PyPI against the demo (notes-server), bounded in calls and time:
# - mcp-fuzzer (.ci/scanners/mcp-fuzzer.txt): tools mode (realistic and aggressive phases, with
#   its security audit) and protocol mode (realistic and aggressive), over streamable HTTP and
#   over stdio, with a token holding every scope; and protocol mode once more over HTTP with no
#   credentials, where every answer must be 401; and its OAuth audit (intrusive probes too)
#   against the demo's development authorization server (`serve --dev-auth`);
# - cisco-ai-mcp-scanner (.ci/scanners/cisco-ai-mcp-scanner.txt): its analyzers that need no
#   API key or LLM (YARA, schema, readiness, prompt_defense) on the tools over HTTP and stdio and
#   on the server's instructions, and its read-only protocol checks (no credentials).
# Each scanner is installed, with every dependency pinned, into a venv of its own under
# target/scanners/ (their dependencies clash with tests/python/requirements.txt's `mcp`).
#
# The HTTP demo sits behind nginx, whose access log is the record of every status answered.
# Fails on: a scanner that crashes, times out or reports a crash, exception or anomaly; any 5xx;
# a request without credentials answered other than 401; a panic in the demo's stderr; a
# `tool_failed` or `incident` audit event (the demo's internal errors); the demo dying; an input
# the demo accepted that its own schema (the manifest's) refuses; a finding that .ci/scanner-findings.toml does not record as a false positive; or one it records
# that no longer appears (see that file). The scanners reach nothing but loopback: their own
# network options are off, no API key is set, and LITELLM_LOCAL_MODEL_COST_MAP keeps litellm
# from downloading its price list.
#
# Usage: .ci/scanners.sh [WORK_DIR]  (default: a temporary directory, removed on success)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
venvs=$root/target/scanners
# The bound: calls per tool per phase, and per protocol message type per phase.
runs=${SCANNER_RUNS:-20}
runs_per_type=${SCANNER_RUNS_PER_TYPE:-10}
seed=35
scope="notes:write files:read webhooks:write"

export LITELLM_LOCAL_MODEL_COST_MAP=True
# No key for Cisco's cloud, LLM or VirusTotal analyzers, whatever the environment holds.
unset MCP_SCANNER_API_KEY MCP_SCANNER_LLM_API_KEY VIRUSTOTAL_API_KEY MCP_API_KEY

install() { # venv name, requirements file
  local venv=$venvs/$1
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$2"
}
install mcp-fuzzer .ci/scanners/mcp-fuzzer.txt
install cisco-ai-mcp-scanner .ci/scanners/cisco-ai-mcp-scanner.txt
fuzzer=$venvs/mcp-fuzzer/bin/mcp-fuzzer
cisco=$venvs/cisco-ai-mcp-scanner/bin/python
echo "mcp-fuzzer $("$fuzzer" --version | sed 's/.* v//'), cisco-ai-mcp-scanner $("$cisco" -c 'import importlib.metadata as m; print(m.version("cisco-ai-mcp-scanner"))')"

cargo build -q --locked -p mcp-secure-examples --bin notes-server
demo=$target/debug/notes-server
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx_bin" ] || { echo "nginx is not installed (apt-get install nginx; .ci/run installs it)"; exit 1; }

keep=${1:-}
if [ -n "$keep" ]; then
  mkdir -p "$keep"
  work=$(cd "$keep" && pwd)
else
  work=$(mktemp -d)
fi
pids=()
cleanup() {
  local status=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -z "$keep" ] && [ "$status" = 0 ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
mkdir -p "$work/files" "$work/home"
echo "a file the scanners may read" > "$work/files/welcome.txt"
export HOME=$work/home
NOTES_JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export NOTES_JWT_SECRET
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Starts the demo over HTTP, in memory, its audit events in a file; sets `url` and `demo_pid`.
serve() { # name, extra serve arguments...
  local name=$1
  shift
  "$demo" serve --addr 127.0.0.1:0 --db :memory: --files "$work/files" \
    --audit-log "$work/$name.audit.jsonl" "$@" >"$work/$name.out" 2>"$work/$name.err" &
  demo_pid=$!
  pids+=("$demo_pid")
  url=""
  for _ in $(seq 1 100); do
    url=$(sed -n 's/.*serving MCP at \(http[^ ]*\).*/\1/p' "$work/$name.err")
    [ -n "$url" ] && return
    sleep 0.1
  done
  cat "$work/$name.err"
  echo "the demo did not start"
  exit 1
}
# The same demo with its development authorization server (`--dev-auth`, a consent page for each
# authorization), for mcp-fuzzer's OAuth audit.
serve dev-auth --dev-auth
dev_auth_pid=$demo_pid
dev_auth_url=$url
serve http
http_pid=$demo_pid
upstream=${url#http://}
upstream=${upstream%/mcp}

# nginx in front of it, logging each answer's status and whether the request had credentials.
port=$(free_port)
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log stderr warn;
events { worker_connections 256; }
http {
    map \$http_authorization \$credentials { "" none; default bearer; }
    log_format scan '\$status \$credentials \$request_method \$uri';
    access_log $work/nginx/access.log scan;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    server {
        listen 127.0.0.1:$port;
        location / {
            proxy_pass http://$upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
EOF
"$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" -e stderr 2>"$work/nginx/error.log" &
pids+=($!)
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
endpoint="http://127.0.0.1:$port/mcp"
"$demo" manifest >"$work/manifest.json"
token=$("$demo" token --url "$url" --sub scanner --scope "$scope" --role cleared --home home/scanner)

# The demo over stdio: a new process per scanner session, its stderr kept; the wrapper passes
# the demo's exit status on (mcp-fuzzer reports a crash from it) and records it, unless the
# client ends the process group with SIGKILL, as mcp-fuzzer does when it is done.
cat >"$work/stdio-demo" <<EOF
#!/bin/sh
"$demo" stdio --db :memory: --files "$work/files" --audit-log "$work/stdio.audit.jsonl" 2>>"$work/stdio.err"
status=\$?
echo "notes-server stdio exited \$status" >>"$work/stdio.exits"
exit \$status
EOF
chmod +x "$work/stdio-demo"
NOTES_TOKEN=$("$demo" token --sub scanner --scope "$scope" --role cleared --home home/scanner)
export NOTES_TOKEN

started=$SECONDS
failed=0
# Runs one scanner run bounded in time; its exit status is recorded for check.py.
run() { # name, command...
  local name=$1
  shift
  local start=$SECONDS status=0
  timeout 300 "$@" >"$work/$name.out" 2>"$work/$name.err" || status=$?
  echo "$status" >"$work/$name.status"
  echo "  $name: exit $status, $((SECONDS - start)) s"
  [ "$status" = 0 ] || failed=1
}
# Over stdio, rmcp skips a line that is not JSON without answering (JSON-RPC's -32700 is not
# sent; its test `receive_ignores_parse_error`), and mcp-fuzzer's aggressive payloads sometimes
# hold `Infinity`, which Python writes and JSON has not: the fuzzer then waits out its timeout
# (5 s; every answer here takes milliseconds) for each, and reports nothing. Over HTTP its client
# (httpx) refuses to encode such a payload, so none is sent (rmcp would answer 415).
fuzz() { # name, transport, endpoint, mode arguments...
  local name=$1 transport=$2 target=$3
  shift 3
  run "$name" "$fuzzer" --protocol "$transport" --endpoint "$target" --seed "$seed" \
    --no-network --no-corpus --fs-root "$work/fuzzer-fs" --max-concurrency 1 --timeout 5 \
    --output-dir "$work/$name" "$@"
}

echo "== mcp-fuzzer (seed $seed, $runs runs per tool and phase, $runs_per_type per message type and phase)"
# The fuzzer's own variables: the token over HTTP, nothing else.
MCP_API_KEY=$token fuzz fuzzer-http-tools http "$endpoint" --auth-env --mode tools --phase both \
  --runs "$runs" --security-audit
MCP_API_KEY=$token fuzz fuzzer-http-protocol http "$endpoint" --auth-env --mode protocol \
  --protocol-phase realistic --runs-per-type "$runs_per_type"
MCP_API_KEY=$token fuzz fuzzer-http-protocol-aggressive http "$endpoint" --auth-env \
  --mode protocol --protocol-phase aggressive --runs-per-type "$runs_per_type"
# Without credentials: every message type, each answered 401 (checked on nginx's log).
fuzz fuzzer-http-unauthenticated http "$endpoint" --mode protocol --protocol-phase aggressive \
  --runs-per-type 5
# The OAuth audit, intrusive probes included (registering a client with an outside redirect URI,
# authorization requests for unregistered clients): it needs the fuzzer's network option off, and
# connects only to the URLs of the demo's metadata, all on loopback.
run fuzzer-dev-auth-unauthenticated "$fuzzer" --protocol http --endpoint "$dev_auth_url" \
  --seed "$seed" --no-corpus --fs-root "$work/fuzzer-fs" --timeout 5 --log-level INFO \
  --output-dir "$work/fuzzer-dev-auth-unauthenticated" --mode tools --runs 1 --auth-audit \
  --auth-audit-intrusive
fuzz fuzzer-stdio-tools stdio "$work/stdio-demo" --mode tools --phase both --runs "$runs" \
  --security-audit
fuzz fuzzer-stdio-protocol stdio "$work/stdio-demo" --mode protocol --protocol-phase realistic \
  --runs-per-type "$runs_per_type"
fuzz fuzzer-stdio-protocol-aggressive stdio "$work/stdio-demo" --mode protocol \
  --protocol-phase aggressive --runs-per-type "$runs_per_type"

echo "== cisco-ai-mcp-scanner (yara, schema, readiness, prompt_defense; protocol checks)"
run cisco-http "$cisco" .ci/scanners/cisco.py http "$endpoint" "$token"
run cisco-protocol "$cisco" .ci/scanners/cisco.py protocol "$endpoint"
SCANNER_STDERR=$work/stdio.err run cisco-stdio "$cisco" .ci/scanners/cisco.py stdio "$work/stdio-demo"
echo "scanners ran in $((SECONDS - started)) s"

for name in http dev-auth; do
  pid_var=${name/-/_}_pid
  if ! kill -0 "${!pid_var}" 2>/dev/null; then
    echo "FAIL: the $name demo died during the scans; its stderr:"
    tail -20 "$work/$name.err"
    exit 1
  fi
done
"$venvs/mcp-fuzzer/bin/python" .ci/scanners/check.py "$work" .ci/scanner-findings.toml || failed=1
[ "$failed" = 0 ] || { echo "FAIL: see above (outputs in $work)"; exit 1; }
