#!/usr/bin/env bash
# Redis limiter decisions/s against redis-benchmark's trivial EVALSHA, same server, same run.
# Needs redis-server and redis-benchmark (Debian: redis-server, redis-tools).
set -euo pipefail
cd "$(dirname "$0")/../.."
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
server=$!
trap 'kill $server' EXIT
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done
clients=${CLIENTS:-50}
sha=$(redis-cli -p "$port" SCRIPT LOAD "return 0")
baseline=$(redis-benchmark -p "$port" -c "$clients" -n 200000 -q EVALSHA "$sha" 0 | tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1)
ours=$(REDIS_URL="redis://127.0.0.1:$port" CLIENTS="$clients" cargo bench -q -p mcp-secure --features redis --bench redis_limiter | grep -o '[0-9]* decisions/s' | cut -d' ' -f1)
echo "redis-benchmark EVALSHA (return 0), $clients clients: $baseline req/s"
echo "RedisLimiter decisions, $clients tasks:               $ours decisions/s"
python3 -c "print(f'ratio ours/baseline: {$ours/$baseline:.2f}')"
