#!/bin/bash
# Streamed vs in-memory training throughput of invmap train (paper CNN, noisy series /d, 2 ranks), in the
# same run: in memory on the first <mem_samples> samples for as many epochs as make one epoch of the whole
# set, then one epoch streamed from the whole set (-train_stream yes) for each budget, so that every run
# lasts about as long and meets the same load; samples/s over the run's epochs (reading, features, training),
# median of <repeats> (and the median of each repeat's ratio to the in-memory run just before it), with each run's epoch seconds and peak RSS per rank; the repeats of all modes interleave (in memory, then each budget, then again), so
# that a change in the machine's load hits every mode alike. The load average is printed: the machine may
# be shared. The set is simulated once (resumable) with -series_precision <precision> into
# $BENCH_STREAM_DIR (default $TMPDIR/invmap_bench_stream); extra train options in $BENCH_STREAM_OPTS.
# Usage: bench/bench_stream.sh <build dir> [samples 100000] [repeats 3] [budgets "64 256 1024 2048"] [mem_samples 20000] [precision double]
set -euo pipefail
B=${1:?usage: bench/bench_stream.sh <build dir> [samples] [repeats] [budgets] [mem_samples] [precision]}
N=${2:-100000}
R=${3:-3}
BUDGETS=${4:-64 256 1024 2048}
NMEM=${5:-20000}
PREC=${6:-double}
W=${BENCH_STREAM_DIR:-${TMPDIR:-/tmp}/invmap_bench_stream}
source "$(dirname "$0")/stream_common.sh"
stream_set
EMEM=$(((N + NMEM - 1) / NMEM)) # in-memory epochs: as many samples as one streamed epoch, so both runs last about as long
T="train -i $SET -o $W/model.h5 -overwrite -nn_preset paper_cnn -train_data d -train_epochs 1 -train_val_frac 0 -train_checkpoint_every 0 ${BENCH_STREAM_OPTS:-}"
# one run of <samples> training samples per epoch (stream_run): prints samples/s; appends "options samples/s
# seconds max-RSS-of-each-rank(MB) wall" to $W/runs.txt
rate() {
  local n=$1
  shift
  stream_run $B/invmap $n "$@"
  echo "$* $RATE $ELAPSED $RSS wall $WALL" >> $W/runs.txt
  echo $RATE
}
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
: > $W/runs.txt
echo "set: $N samples ($(du -mL $SET | cut -f1) MB), $R repeat(s), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-28s %12s %8s %s\n" "mode" "samples/s" "ratio" "(each repeat)"
declare -A runs
for r in $(seq $R); do
  runs[mem]="${runs[mem]:-} $(rate $NMEM -train_stream no -train_memory_mb 1000000 -train_max_samples $NMEM -train_epochs $EMEM)"
  for m in $BUDGETS; do runs[$m]="${runs[$m]:-} $(rate $N -train_stream yes -train_memory_mb $m)"; done
done
mem=$(echo ${runs[mem]} | tr ' ' '\n' | median)
printf "%-28s %12s %8s (%s)\n" "in memory ($NMEM x $EMEM)" "$mem" "1" "${runs[mem]}"
for m in $BUDGETS; do
  med=$(echo ${runs[$m]} | tr ' ' '\n' | median)
  # the ratio of each repeat to the in-memory run just before it (adjacent in time, so under similar load)
  pair=$(paste -d' ' <(echo ${runs[mem]} | tr ' ' '\n') <(echo ${runs[$m]} | tr ' ' '\n') | awk '{print $2 / $1}' | median)
  printf "%-28s %12s %8.2f (%s); median of the per-repeat ratios %.2f\n" "streamed, $m MB" "$med" "$(echo "$med / $mem" | bc -l)" "${runs[$m]}" "$pair"
done
echo "per run (options, samples/s, seconds to the end of the epoch, peak RSS of each rank in MB, wall seconds of the command):"
cat $W/runs.txt
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
