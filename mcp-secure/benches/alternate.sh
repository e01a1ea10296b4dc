#!/usr/bin/env bash
# Wall-clock ratios of divan benches, from many runs of the bench binary, each variant against
# a baseline of the same run. On a shared machine a single run's medians move by 5 % or more
# between runs, and divan runs a group's variants in a fixed order, which favours some: runs
# here alternate the order (`--sort name`, then `--sortr name`), every ratio is taken within
# one run (variant median / baseline median), and what is reported is the median of those
# ratios over the runs, with their lowest and highest.
#
#   bash mcp-secure/benches/alternate.sh BENCH RUNS BASELINE[,BASELINE...] [DIVAN ARGS...]
#
# A bench is named by its path under the binary's root, `/`-separated (`in_process/plain`,
# `ours/10000/t=2`). A BASELINE is such a path (every bench that ran, against it), or `A=B`:
# each bench with a path segment `A`, against the bench whose path has `B` there instead
# (`ours=governor_keyed`: `ours/10000/t=2` against `governor_keyed/10000/t=2`). The divan
# arguments select the benches (a filter, `--skip`); SAMPLES (default 300) sets
# `--sample-count`.
#
#   bash mcp-secure/benches/alternate.sh tool_call 20 in_process/plain in_process
#   bash mcp-secure/benches/alternate.sh guard 10 hand_written_checks --skip parts
#   bash mcp-secure/benches/alternate.sh validation 10 mcp_secure=garde,mcp_secure=validator
#   bash mcp-secure/benches/alternate.sh limiter 10 ours=governor_keyed
set -euo pipefail
cd "$(dirname "$0")/../.."
if (($# < 3)); then
  sed -n '2,21p' "$0" >&2
  exit 2
fi
bench=$1 runs=$2 baselines=${3//,/ }
shift 3
binary=$(cargo bench -q -p mcp-secure --bench "$bench" --no-run --message-format=json |
  sed -n 's/.*"kind":\["bench"\].*"executable":"\([^"]*\)".*/\1/p') ||
  { echo "cargo could not build bench \`$bench\`" >&2; exit 1; }
[[ -x $binary ]] || { echo "no executable for bench \`$bench\`" >&2; exit 1; }

# One line per bench and run: `run path median-in-ns`.
medians() {
  local order
  for run in $(seq "$runs"); do
    order=$([[ $((run % 2)) == 1 ]] && echo --sort || echo --sortr)
    # Divan's "Timer precision" line goes; anything else on stderr (a panic) is shown.
    "$binary" --bench "$@" --sample-count "${SAMPLES:-300}" "$order" name --color never \
      2> >(grep -v '^Timer precision' >&2) |
      awk -v run="$run" '
        function ns(value, unit) {
          return value * (unit == "ns" ? 1 : unit == "µs" ? 1e3 : unit == "ms" ? 1e6 : 1e9)
        }
        # "│  ├─ name  fastest unit │ slowest unit │ median unit │ mean unit │ samples │ iters":
        # one "│  " or "   " per level above the bench, then its name, then (for a bench that
        # ran, not a group) its figures.
        {
          line = $0
          depth = 0
          while (sub(/^(│  |   )/, "", line)) depth++
          n = split(line, f, " ")
          if (f[1] !~ /^(├─|╰─)$/) next
          path[depth] = f[2]
          name = path[0]
          for (i = 1; i <= depth; i++) name = name "/" path[i]
          if (n >= 10 && f[3] ~ /^[0-9.]+$/) print run, name, ns(f[9], f[10])
        }'
  done
}

medians "$@" | awk -v baselines="$baselines" -v runs="$runs" '
  { median[$1, $2] = $3; if (!($2 in seen)) { seen[$2] = 1; names[++n] = $2 } }
  function sort(a, k,   i, j, t) {
    for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
      t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
    }
  }
  function mid(a, k) { return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
  function time(t) { return t < 1e3 ? sprintf("%.1f ns", t) : sprintf("%.2f µs", t / 1e3) }
  # A table row: the bench `ours` against the bench `base`, over the runs in which both ran;
  # "" if there were none.
  function row(ours, base,   k, r, ratio, a, b) {
    k = 0
    for (r = 1; r <= runs; r++) if ((r, ours) in median && (r, base) in median) {
      k++
      ratio[k] = median[r, ours] / median[r, base]
      a[k] = median[r, ours]
      b[k] = median[r, base]
    }
    if (k == 0) return ""
    sort(ratio, k); sort(a, k); sort(b, k)
    return sprintf("| %s | %s | %s | %.3f | %.3f | %.3f |\n", ours, time(mid(a, k)),
      time(mid(b, k)), mid(ratio, k), ratio[1], ratio[k])
  }
  # `path` with its segment `from` replaced by `to`; "" if it has no such segment.
  function swap(path, from, to,   k, seg, i, out) {
    k = split(path, seg, "/")
    for (i = 1; i <= k; i++) if (seg[i] == from) {
      seg[i] = to
      out = seg[1]
      for (i = 2; i <= k; i++) out = out "/" seg[i]
      return out
    }
    return ""
  }
  END {
    if (n == 0) { print "no bench ran" > "/dev/stderr"; exit 3 }
    printf "%d runs; times: the median over the runs of each run'"'"'s median; ratio: the median over the runs of the ratio within each run, with the lowest and the highest\n\n", runs
    nb = split(baselines, base, " ")
    for (b = 1; b <= nb; b++) {
      rows = ""
      if (split(base[b], pair, "=") == 2) {
        header = sprintf("| %s against %s | time | %s | ratio | lowest | highest |", pair[1], pair[2], pair[2])
        for (i = 1; i <= n; i++) if ((other = swap(names[i], pair[1], pair[2])) != "")
          rows = rows row(names[i], other)
      } else {
        header = sprintf("| against %s | time | %s | ratio | lowest | highest |", base[b], base[b])
        for (i = 1; i <= n; i++) rows = rows row(names[i], base[b])
      }
      if (rows == "") { printf "nothing to compare with %s\n", base[b] > "/dev/stderr"; exit 3 }
      printf "%s\n|---|---|---|---|---|---|\n%s\n", header, rows
    }
  }'
