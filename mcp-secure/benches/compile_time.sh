#!/usr/bin/env bash
# Compile time of 50 `#[mcp_tool]` tools against 50 plain rmcp `#[tool]` tools.
#
#   bash mcp-secure/benches/compile_time.sh [RUNS]      (default 5 runs each)
#   MCP_COMPILE_INSTRUCTIONS=1 bash mcp-secure/benches/compile_time.sh    (also rustc's
#       instructions checking each crate, counted by callgrind: repeatable to 0.01 % where the
#       wall time is not; about 40 s a crate)
#
# Generates two crates under target/compile-bench/ (each: 50 tools taking a bounded string and
# a bounded integer; mcp-secure's with a scope and a rate, plain rmcp's with a parameter struct
# per tool), builds their dependencies once, then times `cargo check` of each crate alone from
# clean (`cargo clean -p`), alternating, and prints the medians and their ratio.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-5}
dir="$root/target/compile-bench"
mkdir -p "$dir/secure50/src" "$dir/plain50/src"
rmcp_version=$(sed -n 's/^rmcp = { version = "\([^"]*\)".*/\1/p' "$root/Cargo.toml")

cat > "$dir/Cargo.toml" <<EOF
[workspace]
members = ["secure50", "plain50"]
resolver = "3"

[workspace.dependencies]
mcp-secure = { path = "$root/mcp-secure" }
rmcp = { version = "$rmcp_version", default-features = false, features = ["server", "macros"] }
serde = { version = "1", features = ["derive"] }
schemars = "1"
EOF
for crate in secure50 plain50; do
  cat > "$dir/$crate/Cargo.toml" <<EOF
[package]
name = "$crate"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
mcp-secure.workspace = true
rmcp.workspace = true
serde.workspace = true
schemars.workspace = true
EOF
done

{
  echo 'use mcp_secure::prelude::*;'
  echo 'use rmcp::{ServerHandler, handler::server::router::tool::ToolRouter, tool_handler};'
  echo 'mcp_secure::scopes! { "notes:read", "notes:write" => implies ["notes:read"] }'
  echo '#[derive(Clone)] pub struct Server { tool_router: ToolRouter<Self> }'
  echo '#[mcp_tools] impl Server {'
  for i in $(seq 1 50); do
    cat <<EOF
    /// Tool $i.
    #[mcp_tool(scope = "notes:write", rate = "10/s")]
    async fn tool_$i(&self, #[mcp(length(min = 1, max = 200))] title: String, #[mcp(range(min = 1, max = 100))] limit: u32) -> String { format!("{title} {limit}") }
EOF
  done
  echo '}'
  echo '#[tool_handler(router = self.tool_router)] impl ServerHandler for Server {}'
  echo 'pub fn server() -> Server { Server { tool_router: Server::tool_router() } }'
} > "$dir/secure50/src/lib.rs"

{
  echo 'use rmcp::{ServerHandler, handler::server::{router::tool::ToolRouter, wrapper::Parameters}, tool, tool_handler, tool_router};'
  echo 'use serde::Deserialize;'
  echo 'use schemars::JsonSchema;'
  for i in $(seq 1 50); do
    echo "#[derive(Deserialize, JsonSchema)] pub struct Args$i { title: String, limit: u32 }"
  done
  echo '#[derive(Clone)] pub struct Server { tool_router: ToolRouter<Self> }'
  echo '#[tool_router] impl Server {'
  for i in $(seq 1 50); do
    cat <<EOF
    #[tool(description = "Tool $i.")]
    async fn tool_$i(&self, Parameters(a): Parameters<Args$i>) -> String { format!("{} {}", a.title, a.limit) }
EOF
  done
  echo '}'
  echo '#[tool_handler(router = self.tool_router)] impl ServerHandler for Server {}'
  echo 'pub fn server() -> Server { Server { tool_router: Server::tool_router() } }'
} > "$dir/plain50/src/lib.rs"

cp "$root/Cargo.lock" "$dir/Cargo.lock"
cd "$dir"
export CARGO_TARGET_DIR="$dir/target" CARGO_INCREMENTAL=0
cargo check --offline -q -p secure50 -p plain50   # dependencies, once

time_check() {
  cargo clean --offline -q -p "$1"
  local start end
  start=$(date +%s.%N)
  cargo check --offline -q -p "$1"
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

secure=(); plain=()
for _ in $(seq 1 "$runs"); do
  secure+=("$(time_check secure50)")
  plain+=("$(time_check plain50)")
done
s=$(printf '%s\n' "${secure[@]}" | median)
p=$(printf '%s\n' "${plain[@]}" | median)
echo "runs: $runs each (alternating); secure50: ${secure[*]}; plain50: ${plain[*]}"
printf 'median cargo check: mcp-secure 50 tools %.2f s, plain rmcp 50 tools %.2f s, ratio %.2f\n' "$s" "$p" "$(echo "$s / $p" | bc -l)"

if [[ -n ${MCP_COMPILE_INSTRUCTIONS:-} ]]; then
  rustc_instructions() { # crate -> instructions of the rustc command `cargo check -v` runs for it
    local cmd
    cargo clean --offline -q -p "$1"
    cmd=$(cargo check --offline -v -p "$1" 2>&1 |
      sed -n "s/^ *Running \`\(.*--crate-name $1 .*\)\`\$/\1/p" | tail -1)
    eval "valgrind --tool=callgrind --callgrind-out-file=/dev/null $cmd" 2>&1 |
      sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
  }
  si=$(rustc_instructions secure50)
  pi=$(rustc_instructions plain50)
  printf 'rustc instructions checking the crate: mcp-secure 50 tools %s, plain rmcp 50 tools %s, ratio %.3f\n' \
    "$si" "$pi" "$(echo "$si / $pi" | bc -l)"
fi
