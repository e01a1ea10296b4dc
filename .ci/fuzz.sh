#!/usr/bin/env bash
# Builds the fuzz targets (fuzz/, libFuzzer with AddressSanitizer) and runs each for SECONDS
# (default 60), starting from the committed seed corpus; fails on the first crash, whose input
# is left in fuzz/artifacts/<target>/. cargo-fuzz needs nightly flags (-Zsanitizer):
# RUSTC_BOOTSTRAP=1 lets the stable toolchain take them.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-60}
export RUSTC_BOOTSTRAP=1
target_dir=../target/fuzz
cargo fuzz build -O --target-dir "$target_dir"
for target in validate grammars jwt templates output; do
  # New inputs go to a scratch directory; the committed seeds stay as they are.
  work="$target_dir/corpus/$target"
  mkdir -p "$work"
  log="$target_dir/$target.log"
  if ! cargo fuzz run -O --target-dir "$target_dir" "$target" "$work" "corpus/$target" -- \
      -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 >"$log" 2>&1; then
    tail -60 "$log"
    echo "fuzz target $target failed; the input is in fuzz/artifacts/$target/" >&2
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  echo "fuzz $target: $runs executions in ${seconds}s, no crash"
done
