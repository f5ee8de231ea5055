#!/usr/bin/env bash
# Ensemble benchmark (issues 2 and 11): us/sample/core for 10,000 samples on 1 and 2 ranks, batched design
# (the default of invmap simulate) beside one TSSolve per sample in the same process, plus the end-to-end
# `invmap simulate` rate (integration, noise and parallel HDF5 output). Medians of 3 after a warm-up.
#   bench/bench_simulate.sh [build-dir]
# With a baseline build (e.g. the previous commit built elsewhere), both builds run in the same session,
# interleaved round by round (baseline first in odd rounds, second in even ones) so that the load of a
# shared machine falls on both alike; prints the medians of both and their ratio:
#   bench/bench_simulate.sh build build-base [rounds]
set -euo pipefail
build=${1:-build}
base=${2:-}
rounds=${3:-5}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi="mpirun --oversubscribe --bind-to none"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [[ -z $base ]]; then
  for np in 1 2; do
    $mpi -n $np "$build/bench/bench_simulate" -n 10000 -n_single 1000 -reps 3 -warmup 2 -n_accuracy 256
  done
  for np in 1 2; do
    for r in 1 2 3; do
      $mpi -n $np "$build/invmap" simulate -n 10000 -seed $r -o "$tmp/e.h5" -overwrite -progress 1000 | grep "samples in"
    done
  done
  exit 0
fi

median() { sort -g | awk '{v[NR] = $1} END {if (!NR) print "-"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# one measurement: integrator (bench_simulate, batched design, 1 repetition after a 1 s warm-up) and end to end
measure() { # measure TAG BUILD NP ROUND
  local tag=$1 dir=$2 np=$3 r=$4 out
  out=$($mpi -n "$np" "$dir/bench/bench_simulate" -n 10000 -n_single 20 -reps 1 -warmup 1 -n_accuracy 256)
  echo "$out" >>"$tmp/$tag.np$np.log"
  awk '/batched/ {for (i = 1; i <= NF; i++) if ($i == "us/sample/core") print $(i - 1)}' <<<"$out" >>"$tmp/$tag.np$np.int"
  awk '/max \|u - u_ref\|/ {print $NF}' <<<"$out" >>"$tmp/$tag.np$np.err"
  awk '/steps per batch|passes per batch/ {print $3}' <<<"$out" >>"$tmp/$tag.np$np.steps"
  $mpi -n "$np" "$dir/invmap" simulate -n 10000 -seed "$r" -o "$tmp/$tag.h5" -overwrite -progress 1000 |
    awk '/samples in/ {for (i = 1; i <= NF; i++) if ($i == "us/sample/core") print $(i - 1)}' >>"$tmp/$tag.np$np.e2e"
}
for r in $(seq 1 "$rounds"); do
  for np in 1 2; do
    if ((r % 2)); then
      measure base "$base" $np "$r"
      measure new "$build" $np "$r"
    else
      measure new "$build" $np "$r"
      measure base "$base" $np "$r"
    fi
  done
done
echo "bench_simulate.sh: $rounds interleaved rounds, medians (us/sample/core; steps: per batch of 256, passes for one step per member)"
grep -h "^bench_simulate" "$tmp"/base.np1.log | head -1 | sed 's/^/  baseline: /'
grep -h "^bench_simulate" "$tmp"/new.np1.log | head -1 | sed 's/^/  new     : /'
printf '  %-5s %-9s %12s %12s %10s %10s\n' ranks build integrator end-to-end steps max-error
for np in 1 2; do
  for tag in base new; do
    printf '  %-5s %-9s %12s %12s %10s %10s\n' $np $tag "$(median <"$tmp/$tag.np$np.int")" "$(median <"$tmp/$tag.np$np.e2e")" \
      "$(median <"$tmp/$tag.np$np.steps")" "$(sort -g "$tmp/$tag.np$np.err" | tail -1)"
  done
  awk -v np=$np -v b="$(median <"$tmp/base.np$np.int")" -v n="$(median <"$tmp/new.np$np.int")" \
    -v be="$(median <"$tmp/base.np$np.e2e")" -v ne="$(median <"$tmp/new.np$np.e2e")" \
    'BEGIN {printf "  %-5s speed-up  %11.2fx %11.2fx\n", np, b / n, be / ne}'
done
