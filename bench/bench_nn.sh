#!/bin/bash
# Runs the network benchmarks on 1 and 2 ranks: (1) the seed's dense training table (docs/science.md section 5:
# 8 dense layers, input 1000, 2 outputs, dropout 0.2, widths 32, 128, 512), with the gradient reduction
# flat (one MPI_Allreduce) and per layer (MPI_Iallreduce overlapping backward) on 2 ranks; (2) the paper
# CNN's training throughput (global batch 32); (3) inference microseconds per estimate. The dense table uses
# global batches of 1000 = one step per epoch of the seed's 1000 samples (GEMMs of 500-1000 rows: 0.86 of the
# SGEMM rate at width 512 on 1 rank vs 0.70 with batches of 256, and 4x fewer reductions).
# Every run prints wall time, the median and best segment rates, GFLOP/s and the fraction of the SGEMM
# rate measured in the same run. OpenBLAS runs one thread per rank (also set here).
# Usage: bench/bench_nn.sh <build dir> [dense samples, default 1000000] [CNN samples, default 200000]
#   (fewer dense samples give the same rates: the table's 10^6-sample total is printed from the median rate)
set -euo pipefail
B=${1:-build-nn}
S=${2:-1000000}
SC=${3:-200000}
export OPENBLAS_NUM_THREADS=1
MPI="mpiexec --allow-run-as-root --oversubscribe --bind-to core"
echo "bench_nn.sh: $(date -u) load $(cut -d' ' -f1-3 /proc/loadavg)"
for w in 32 128 512; do
  for np in 1 2; do
    for red in flat layer; do
      [ $np = 1 ] && [ $red = layer ] && continue
      $MPI -n $np $B/bench/bench_nn_train -nn_preset seed_dense -width $w -nn_act relu -batch 1000 -samples $S -allreduce $red
    done
  done
done
for np in 1 2; do
  for red in flat layer; do
    [ $np = 1 ] && [ $red = layer ] && continue
    $MPI -n $np $B/bench/bench_nn_train -nn_preset paper_cnn -batch 32 -samples $SC -allreduce $red
  done
done
$MPI -n 1 $B/bench/bench_nn_infer
echo "bench_nn.sh: done $(date -u) load $(cut -d' ' -f1-3 /proc/loadavg)"
