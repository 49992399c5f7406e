#!/usr/bin/env bash
# One run of every benchmark issue 20 asks for, ending with one table: benchmark, median,
# range, work per operation (signature checks, fetches) and the ratio to its verifies where
# the issue sets a target. Run it on a quiet machine:
#
#   bash benches/run-all.sh            # builds first (not timed), then ~8 minutes of runs
#
# Medians are criterion's median estimate, ranges its 95 % confidence interval of that
# median; the monitor row is CPU time per client (every thread of the process); the scale
# rows count leaves per second on 2 worker threads, and bytes. Each bench's full output is
# kept in target/oidfed-bench/<bench>.log. OIDFED_BENCH_AWS_LC=0 skips the aws-lc build of
# `resolve`.
set -euo pipefail
cd "$(dirname "$0")/.."

out=target/oidfed-bench
mkdir -p "$out"
table="$PWD/$out/table.tsv"
: >"$table"
export OIDFED_BENCH_TABLE="$table"
unset OIDFED_BENCH_QUICK OIDFED_BENCH_VARIANT

echo "== building the benches (not part of the timed run)"
cargo bench --no-run --quiet --features postgres
cargo bench --no-run --quiet --features crypto-floor --bench crypto_floor
if [ "${OIDFED_BENCH_AWS_LC:-1}" != 0 ]; then
  cargo bench --no-run --quiet --features aws-lc --bench resolve
fi

echo "== machine: $(nproc) cores online, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(openssl version 2>/dev/null || echo 'openssl ?'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
started=$(date +%s)
run() {
  local name=$1
  shift
  local t0
  t0=$(date +%s)
  echo "== $name (started at load average $(cut -d' ' -f1 /proc/loadavg))"
  cargo bench --quiet "$@" >"$out/$name.log" 2>&1 || {
    cat "$out/$name.log"
    exit 1
  }
  # The closing block of each bench (criterion's own lines are in the log).
  grep -vE 'time: +\[|thrpt: +\[|change: +\[|^Benchmarking|^Gnuplot|^Found|^ +[0-9]+ \(|(mild|severe)$|^Warning|^ *(Performance|No change|Change within)|^$' \
    "$out/$name.log" || true
  echo "   ($(($(date +%s) - t0)) s)"
}
run crypto_floor --features crypto-floor --bench crypto_floor
run resolve --features postgres --bench resolve
run request_path --features postgres --bench request_path
run policy --features postgres --bench policy
run registry --features postgres --bench registry
run monitor --features postgres --bench monitor
run scale --features postgres --bench scale
if [ "${OIDFED_BENCH_AWS_LC:-1}" != 0 ]; then
  OIDFED_BENCH_VARIANT=aws-lc run resolve-aws-lc --features aws-lc --bench resolve
fi

echo
echo "== one run, $(($(date +%s) - started)) s, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
{
  printf 'bench\twhat\tmedian\trange [95 %% CI]\twork per op\tratio / target\tload\n'
  cat "$table"
} | column -t -s $'\t'
