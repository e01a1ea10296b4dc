#!/usr/bin/env bash
# Instructions per operation, counted by callgrind (repeatable on a noisy machine, unlike
# time): each variant makes one operation outside the count (lazy set-up), then N operations
# inside `common::counted`, the only function whose instructions callgrind collects
# (`--toggle-collect`), so set-up and tear-down are not counted; instructions / N is the cost
# of one operation; the median of three runs is reported (of five over HTTP, whose counts move
# by ±0.3 % between runs of the same binary). A variant measured for one row is not measured
# again for the next: the HTTP rows share one measurement of the plain server.
#
#   bash mcp-secure/benches/instructions.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
# The executables as cargo reports them (the newest file by name could be a stale build of
# another dependency set).
executables=$(cargo bench -q -p mcp-secure --features sqlite --bench tool_call --bench guard \
  --bench validation --bench sql --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"kind":\["bench"\].*"name":"\([a-z_]*\)".*"executable":"\([^"]*\)".*/\1 \2/p')
bin() { awk -v name="$1" '$1 == name { print $2 }' <<<"$executables"; }

count() { # binary variant calls -> instructions inside `counted`
  MCP_BENCH_RUN="$2:$3" valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    --collect-atstart=no --toggle-collect='*common*counted*' "$1" 2>&1 \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
runs=3
per_op() { # binary variant N -> median over $runs runs of instructions per operation
  for _ in $(seq "$runs"); do echo $(( $(count "$1" "$2" "$3") / $3 )); done | median
}
# sqlx runs SQLite on a worker thread of its own, which `--toggle-collect` does not follow: for
# the `sql!` rows, every thread's instructions are counted, once with 0 and once with N
# operations after the same set-up, and the difference divided by N is one operation.
count_all() { # binary variant calls -> instructions of the whole run, every thread
  MCP_BENCH_RUN="$2:$3" valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" 2>&1 \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
per_op_all() { # binary variant N -> median over $runs runs of instructions per operation
  for _ in $(seq "$runs"); do
    echo $(( ($(count_all "$1" "$2" "$3") - $(count_all "$1" "$2" 0)) / $3 ))
  done | median
}
declare -A measured
measure() { # how binary variant N -> $result: instructions per operation, measured once
  local key="$2 $3 $4 $runs"
  [[ -n ${measured[$key]:-} ]] || measured[$key]=$("$@")
  result=${measured[$key]}
}
row() { # label binary ours baseline N [per_op_all]
  local a b how=${6:-per_op}
  measure "$how" "$2" "$3" "$5"
  a=$result
  measure "$how" "$2" "$4" "$5"
  b=$result
  printf '| %s | %s | %s | %s | %.3f |\n' "$1" "$3: $a" "$4: $b" "$5" "$(echo "$a / $b" | bc -l)"
}
echo "| benchmark | ours (instructions/op) | baseline (instructions/op) | ops | ratio |"
echo "|---|---|---|---|---|"
row "tool call, in process" "$(bin tool_call)" in_process_guarded in_process_plain 2000
runs=5
row "tool call, HTTP" "$(bin tool_call)" http_guarded http_plain 500
row "tool call, HTTP, plain tool behind AuthLayer" "$(bin tool_call)" http_plain_behind_auth_layer http_plain 500
row "tool call, HTTP, guarded tool, caller authenticated upstream" "$(bin tool_call)" http_guarded_authenticated_upstream http_plain 500
row "tool call, HTTP, guarded vs plain, caller authenticated upstream for both" "$(bin tool_call)" http_guarded_authenticated_upstream http_plain_authenticated_upstream 500
row "tool call, HTTP, guarded behind AuthLayer vs plain behind hand-written auth" "$(bin tool_call)" http_guarded http_plain_behind_hand_written_auth 500
row "AuthLayer vs hand-written auth, plain tool behind each" "$(bin tool_call)" http_plain_behind_auth_layer http_plain_behind_hand_written_auth 500
runs=3
row "guard alone" "$(bin guard)" guard hand_written 20000
row "guard alone vs hand-written as an async fn" "$(bin guard)" guard hand_written_async 20000
row "guard alone vs hand-written naming the field" "$(bin guard)" guard hand_written_naming_field 20000
row "validation, valid, vs garde" "$(bin validation)" mcp_secure_valid garde_valid 20000
row "validation, valid, vs validator" "$(bin validation)" mcp_secure_valid validator_valid 20000
row "validation, invalid, vs garde" "$(bin validation)" mcp_secure_invalid garde_invalid 20000
row "validation, invalid, vs validator" "$(bin validation)" mcp_secure_invalid validator_invalid 20000
row "sql! select (10 rows)" "$(bin sql)" select_macro select_sqlx 2000 per_op_all
row "sql! insert" "$(bin sql)" insert_macro insert_sqlx 2000 per_op_all
# One Cedar policy against none, guarded calls in process: `tool_call` built with feature
# `policy` (which both sides share, serde_json's `preserve_order` with it), so built last.
policy_bench=$(cargo bench -q -p mcp-secure --features policy --bench tool_call --no-run \
  --message-format=json 2>/dev/null |
  sed -n 's/.*"kind":\["bench"\].*"executable":"\([^"]*\)".*/\1/p')
measured=()  # another build of the same bench: nothing measured above applies
row "tool call in process, one policy vs none" "$policy_bench" in_process_one_policy in_process_guarded 2000
# A DPoP-checked call against a bearer call (both ES256 JWTs of one issuer key, stateless
# 2026-07-28 requests behind the `AuthLayer`): `dpop`, built with `testing` for its proofs.
dpop_bench=$(cargo bench -q -p mcp-secure --features testing --bench dpop --no-run \
  --message-format=json 2>/dev/null |
  sed -n 's/.*"kind":\["bench"\].*"executable":"\([^"]*\)".*/\1/p')
measured=()
runs=5
row "tool call, HTTP, DPoP (ES256 proof) vs bearer" "$dpop_bench" dpop bearer 200
row "tool call, HTTP, DPoP (Ed25519 proof) vs bearer" "$dpop_bench" dpop_eddsa bearer 200
