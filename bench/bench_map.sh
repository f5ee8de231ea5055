#!/bin/bash
# Benchmark of invmap map (issue 4), not a test: wall time per MAP estimate single-start and multistart
# on 1 and 2 ranks, forward+adjoint solves per estimate, and the rate of reaching the global minimum
# (grid search + local refinement reference). Usage: bench/bench_map.sh [build dir] [N] [N for the check]
set -euo pipefail
B=${1:-build}
N=${2:-512}
NC=${3:-200}
MPI="mpiexec --allow-run-as-root --oversubscribe --bind-to none"
echo "# $(date -u)  $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# timing (covariance off, -map_hessian none), FHN, 1000 observations, AR(1) noise"
$MPI -n 1 $B/bench/bench_map -bench_n $N -map_hessian none
$MPI -n 2 $B/bench/bench_map -bench_n $N -map_hessian none
echo "# with the Gauss-Newton covariance"
$MPI -n 2 $B/bench/bench_map -bench_n $N -bench_single 0
echo "# global-minimum success rate (reference: 61 x 81 grid + refinement of the 12 best grid minima)"
$MPI -n 2 $B/bench/bench_map -bench_n $NC -map_hessian none -bench_check
echo "# one batched forward+adjoint evaluation per member, by batch size"
for b in 1 16 64 256; do $B/bench/bench_map_eval -b $b -reps 3 > /tmp/bench_map_eval.$$ && head -2 /tmp/bench_map_eval.$$; done
rm -f /tmp/bench_map_eval.$$
