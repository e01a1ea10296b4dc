#!/usr/bin/env bash
# Instructions per operation, counted by callgrind (repeatable on a noisy machine, unlike
# time): each variant runs once with 0 and once with N operations after the same set-up, and
# the difference divided by N is the cost of one operation.
#
#   bash mcp-secure/benches/instructions.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo bench -q -p mcp-secure --bench tool_call --bench guard --bench sql --no-run 2>/dev/null
bin() { ls -t target/release/deps/"$1"-* | grep -v '\.d$' | head -1; }

count() { # binary variant calls -> total instructions
  MCP_BENCH_RUN="$2:$3" valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" 2>&1 \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
per_op() { # binary variant N
  local zero many
  zero=$(count "$1" "$2" 0)
  many=$(count "$1" "$2" "$3")
  echo $(( (many - zero) / $3 ))
}
row() { # label binary ours baseline N
  local a b
  a=$(per_op "$2" "$3" "$5")
  b=$(per_op "$2" "$4" "$5")
  printf '| %s | %s | %s | %s | %.3f |\n' "$1" "$3: $a" "$4: $b" "$5" "$(echo "$a / $b" | bc -l)"
}
echo "| benchmark | ours (instructions/op) | baseline (instructions/op) | ops | ratio |"
echo "|---|---|---|---|---|"
row "tool call, in process" "$(bin tool_call)" in_process_guarded in_process_plain 2000
row "tool call, HTTP" "$(bin tool_call)" http_guarded http_plain 500
row "tool call, HTTP, plain tool behind AuthLayer" "$(bin tool_call)" http_plain_behind_auth_layer http_plain 500
row "guard alone" "$(bin guard)" guard hand_written 20000
row "sql! select (10 rows)" "$(bin sql)" select_macro select_sqlx 2000
row "sql! insert" "$(bin sql)" insert_macro insert_sqlx 2000
