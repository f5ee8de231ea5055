#!/usr/bin/env bash
# Sweep of the ensemble integrator's settings (RK tableau, tolerance, batch size): us/sample/core and
# max error vs a tight reference, to choose the defaults of invmap simulate. Usage: bench/sweep_integrator.sh [build]
set -euo pipefail
B=${1:-build}/bench/bench_simulate
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
printf "%-5s %-6s %-6s %12s %10s\n" rk tol batch us/sample max_err
for rk in 5dp 6vr 7vr 8vr; do for tol in 1e-5 1e-6 1e-7; do for b in 128 512; do
  out=$($B -n 4096 -n_single 1 -reps 3 -warmup 1 -batch $b -ts_rk_type $rk -ts_rtol $tol -ts_atol $tol -n_accuracy 128)
  us=$(grep -oP 'batched.*?\K[0-9.]+(?= us/sample)' <<<"$out"); err=$(grep -oP 'samples: \K[0-9.e+-]+' <<<"$out")
  printf "%-5s %-6s %-6s %12s %10s\n" $rk $tol $b "$us" "$err"
done; done; done
