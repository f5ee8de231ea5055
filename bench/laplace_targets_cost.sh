#!/bin/bash
# Cost of the Laplace-target stage (MAP with a Gauss-Newton Laplace covariance over a training set, then the
# targets attached with invmap map -map_targets_into): wall seconds per sample on 1 and 2 ranks, median of 3.
# Usage: bench/laplace_targets_cost.sh [build/invmap] [samples]   (prints one line per rank count)
set -euo pipefail
INVMAP=${1:-build/invmap}
N=${2:-512}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mpirun -n 2 "$INVMAP" simulate -n "$N" -seed 1 -o "$W/set.h5" -quiet
for np in 1 2; do
  ts=()
  for rep in 1 2 3; do
    cp "$W/set.h5" "$W/run.h5"
    t0=$(date +%s.%N)
    mpirun -n "$np" "$INVMAP" map -i "$W/run.h5" -o "$W/map.h5" -map_hessian gn -map_targets_into "$W/run.h5" -overwrite -quiet > /dev/null
    t1=$(date +%s.%N)
    ts+=("$(echo "$t1 - $t0" | bc -l)")
  done
  med=$(printf '%s\n' "${ts[@]}" | sort -g | sed -n 2p)
  printf 'ranks %d: %d samples, wall %s s (runs: %s), %.4f s per sample, %.4f core-s per sample\n' "$np" "$N" "$med" "${ts[*]}" \
    "$(echo "$med / $N" | bc -l)" "$(echo "$med * $np / $N" | bc -l)"
done
