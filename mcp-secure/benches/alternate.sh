#!/usr/bin/env bash
# Wall-clock ratios of divan benches, from many runs of the bench binary, each variant
# against a baseline of the same run. On a shared machine a single run's medians move by 5 %
# or more between runs, and divan runs a group's variants in a fixed order, which favours
# some: runs here alternate the order (`--sort name`, then `--sortr name`), every ratio is
# taken within one run (variant median / baseline median), and what is reported is the median
# of those ratios over the runs, with their lowest and highest.
#
#   bash mcp-secure/benches/alternate.sh BENCH RUNS BASELINE[,BASELINE...] [DIVAN ARGS...]
#
#   bash mcp-secure/benches/alternate.sh tool_call 10 plain in_process
#   bash mcp-secure/benches/alternate.sh tool_call 10 plain,plain_behind_hand_written_auth http
#   bash mcp-secure/benches/alternate.sh guard 10 hand_written_checks --skip parts
#
# The divan arguments select the benches (a filter, `--skip`); SAMPLES (default 300) sets
# `--sample-count`. A variant's name is its last path segment.
set -euo pipefail
cd "$(dirname "$0")/../.."
if (($# < 3)); then
  sed -n '2,16p' "$0" >&2
  exit 2
fi
bench=$1 runs=$2 baselines=${3//,/ }
shift 3
binary=$(cargo bench -q -p mcp-secure --bench "$bench" --no-run --message-format=json |
  sed -n 's/.*"kind":\["bench"\].*"executable":"\([^"]*\)".*/\1/p') ||
  { echo "cargo could not build bench \`$bench\`" >&2; exit 1; }
[[ -x $binary ]] || { echo "no executable for bench \`$bench\`" >&2; exit 1; }

# One line per variant and run: `run variant median-in-ns`.
medians() {
  local order
  for run in $(seq "$runs"); do
    order=$([[ $((run % 2)) == 1 ]] && echo --sort || echo --sortr)
    "$binary" --bench "$@" --sample-count "${SAMPLES:-300}" "$order" name --color never 2>/dev/null |
      awk -v run="$run" '
        function ns(value, unit) {
          return value * (unit == "ns" ? 1 : unit == "µs" ? 1e3 : unit == "ms" ? 1e6 : 1e9)
        }
        # "[│  ]├─ name  fastest unit │ slowest unit │ median unit │ mean unit │ samples │ iters"
        {
          line = $0
          gsub(/^(│| )+/, "", line)
          n = split(line, f, " ")
          if (n >= 10 && f[1] ~ /^(├─|╰─)$/ && f[3] ~ /^[0-9.]+$/) print run, f[2], ns(f[9], f[10])
        }'
  done
}

medians "$@" | awk -v baselines="$baselines" -v runs="$runs" '
  ($1, $2) in median {
    printf "two benches are named %s: select one group with a filter\n", $2 > "/dev/stderr"
    failed = 1; exit 3
  }
  { median[$1, $2] = $3; if (!($2 in seen)) { seen[$2] = 1; names[++n] = $2 } }
  function sort(a, k,   i, j, t) {
    for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
      t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
    }
  }
  function mid(a, k) { return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
  END {
    if (failed) exit 3
    nb = split(baselines, base, " ")
    for (b = 1; b <= nb; b++) if (!(base[b] in seen)) {
      printf "no bench named %s ran\n", base[b] > "/dev/stderr"; exit 3
    }
    printf "%d runs, median of each variant'"'"'s per-run median, and of its ratios to the baseline in the same run\n\n", runs
    for (b = 1; b <= nb; b++) {
      printf "| variant | median | / %s (median of runs) | lowest | highest |\n|---|---|---|---|---|\n", base[b]
      for (i = 1; i <= n; i++) {
        name = names[i]; k = 0; m = 0
        for (r = 1; r <= runs; r++) {
          if ((r, name) in median && (r, base[b]) in median) {
            ratio[++k] = median[r, name] / median[r, base[b]]
            time[k] = median[r, name]
          }
        }
        if (k == 0) continue
        sort(ratio, k); sort(time, k)
        t = mid(time, k)
        printf "| %s | %s | %.3f | %.3f | %.3f |\n", name,
          t < 1e3 ? sprintf("%.1f ns", t) : sprintf("%.2f µs", t / 1e3), mid(ratio, k), ratio[1], ratio[k]
      }
      print ""
    }
  }'
