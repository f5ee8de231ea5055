#!/bin/bash
# Runs the network benchmarks (science.md section 5 table, paper CNN throughput, inference) on 1 and 2
# ranks. Usage: bench/bench_nn.sh <build dir> [samples for the dense table, default 1000000]
set -euo pipefail
B=${1:-build-nn}
S=${2:-1000000}
MPI="mpiexec --allow-run-as-root --oversubscribe --bind-to core"
for w in 32 128 512; do
  for np in 1 2; do
    $MPI -n $np $B/bench/bench_nn_train -nn_preset seed_dense -width $w -nn_act relu -batch 256 -samples $S
  done
done
for np in 1 2; do
  for red in flat layer; do
    $MPI -n $np $B/bench/bench_nn_train -nn_preset paper_cnn -batch 32 -samples 200000 -allreduce $red
  done
done
$MPI -n 1 $B/bench/bench_nn_infer
