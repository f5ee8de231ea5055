#!/bin/bash
# Streamed vs in-memory training throughput of invmap train (paper CNN, noisy series /d, 2 ranks), in the
# same run: one epoch in memory on the first <mem_samples> samples, then one epoch streamed from the whole
# set (-train_stream yes) for each budget; samples/s of the epoch line (reading, features and training),
# median of <repeats>. The load average is printed: the machine may be shared.
# Usage: bench/bench_stream.sh <build dir> [samples 100000] [repeats 3] [budgets "64 256 1024 2048"] [mem_samples 20000]
set -euo pipefail
B=${1:?usage: bench/bench_stream.sh <build dir> [samples] [repeats] [budgets] [mem_samples]}
N=${2:-100000}
R=${3:-3}
BUDGETS=${4:-64 256 1024 2048}
NMEM=${5:-20000}
W=${TMPDIR:-/tmp}/invmap_bench_stream
mkdir -p $W
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPI="mpiexec -n 2"
SET=$W/set_$N.h5
[ -f $SET ] || $MPI $B/invmap simulate -n $N -seed 1 -noise_type ar1 -o $SET -quiet
T="train -i $SET -o $W/model.h5 -overwrite -nn_preset paper_cnn -train_data d -train_epochs 1 -train_val_frac 0"
rate() { $MPI $B/invmap $T "$@" | awk '/^epoch/ {for (i = 2; i <= NF; i++) if ($i == "samples/s") print $(i - 1)}'; }
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
echo "set: $N samples ($(du -m $SET | cut -f1) MB), $R repeat(s), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-28s %12s %s\n" "mode" "samples/s" "(each repeat)"
runs=""
for r in $(seq $R); do runs="$runs $(rate -train_stream no -train_memory_mb 1000000 -train_max_samples $NMEM)"; done
printf "%-28s %12s (%s)\n" "in memory ($NMEM samples)" "$(echo $runs | tr ' ' '\n' | median)" "$runs"
for m in $BUDGETS; do
  runs=""
  for r in $(seq $R); do runs="$runs $(rate -train_stream yes -train_memory_mb $m)"; done
  printf "%-28s %12s (%s)\n" "streamed, $m MB" "$(echo $runs | tr ' ' '\n' | median)" "$runs"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
