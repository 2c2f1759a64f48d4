#!/usr/bin/env bash
# Run every benchmark in full size, one after another, saving each table under benchmarks/results/.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONWARNINGS=ignore DAGSTER_HOME=
for bench in bench_mastering bench_blobs bench_runner bench_regenerate bench_cli bench_gc bench_gc_s3 bench_history bench_planner bench_dagster bench_dvc; do
  echo "== $bench"
  python "benchmarks/$bench.py" "$@" 2>/dev/null | tee "benchmarks/results/$bench.txt"
done
echo "== crash_loop"
python benchmarks/crash_loop.py --iterations 1000 2>/dev/null | tee benchmarks/results/crash_loop.txt
