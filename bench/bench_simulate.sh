#!/usr/bin/env bash
# Ensemble benchmark (issue 2): us/sample/core for 10,000 samples on 1 and 2 ranks, batched design
# (the default of invmap simulate) beside one TSSolve per sample in the same process, plus the
# end-to-end `invmap simulate` rate (integration, noise and parallel HDF5 output). Medians of 3 after
# a warm-up. Usage: bench/bench_simulate.sh [build-dir]
set -euo pipefail
build=${1:-build}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi="mpirun --oversubscribe --bind-to none"
for np in 1 2; do
  $mpi -n $np "$build/bench/bench_simulate" -n 10000 -n_single 1000 -reps 3 -warmup 2 -n_accuracy 256
done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for np in 1 2; do
  for r in 1 2 3; do
    $mpi -n $np "$build/invmap" simulate -n 10000 -seed $r -o "$tmp/e.h5" -overwrite -progress 1000 | grep "samples in"
  done
done
