#!/bin/bash
# Streamed vs in-memory training throughput (as bench/bench_stream.sh: paper CNN, noisy series /d, 2 ranks,
# one streamed epoch of the whole set against as many samples in memory) for two builds in the same run:
# a reference invmap binary (e.g. a copy of another branch's build) and this build, streamed with the reader
# thread and with -train_stream_readahead, at one budget. Per repeat, in this order: in memory (reference),
# streamed (reference), streamed (this build, thread), streamed (this build, readahead), in memory (this
# build); every streamed run is compared with the mean of the repeat's two in-memory runs, which bracket it
# in time, and the medians over the repeats are printed (the machine may be shared and loaded). The set is
# that of bench_stream.sh (simulated once into $BENCH_STREAM_DIR if missing).
# Usage: bench/bench_stream_compare.sh <build dir> <reference invmap> [samples 200000] [repeats 5] [budget 64] [mem_samples 20000] [precision single]
set -euo pipefail
B=${1:?usage: bench/bench_stream_compare.sh <build dir> <reference invmap> [samples] [repeats] [budget] [mem_samples] [precision]}
REF=${2:?reference invmap binary}
N=${3:-200000}
R=${4:-5}
M=${5:-64}
NMEM=${6:-20000}
PREC=${7:-single}
W=${BENCH_STREAM_DIR:-${TMPDIR:-/tmp}/invmap_bench_stream}
source "$(dirname "$0")/stream_common.sh"
stream_set
EMEM=$(((N + NMEM - 1) / NMEM))
T="train -i $SET -o $W/model.h5 -overwrite -nn_preset paper_cnn -train_data d -train_epochs 1 -train_val_frac 0 -train_checkpoint_every 0"
# one run (stream_run): appends "name samples/s seconds-to-the-end-of-the-epoch peak-RSS-of-each-rank(MB)" to $W/compare.txt
rate() {
  local name=$1 bin=$2 n=$3
  shift 3
  stream_run $bin $n "$@"
  echo "$name $RATE $ELAPSED$RSS" >> $W/compare.txt
}
: > $W/compare.txt
echo "set: $N samples ($(du -mL $SET | cut -f1) MB), budget $M MB, $R repeat(s), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq $R); do
  rate mem_reference $REF $NMEM -train_stream no -train_memory_mb 1000000 -train_max_samples $NMEM -train_epochs $EMEM
  rate streamed_reference $REF $N -train_stream yes -train_memory_mb $M
  rate streamed_thread $B/invmap $N -train_stream yes -train_memory_mb $M
  rate streamed_readahead $B/invmap $N -train_stream yes -train_memory_mb $M -train_stream_readahead
  rate mem_this $B/invmap $NMEM -train_stream no -train_memory_mb 1000000 -train_max_samples $NMEM -train_epochs $EMEM
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - $W/compare.txt <<'PY'
import sys, statistics as st
runs = {}
for line in open(sys.argv[1]):
    f = line.split()
    runs.setdefault(f[0], []).append(float(f[1]))
mem = [(a + b) / 2 for a, b in zip(runs["mem_reference"], runs["mem_this"])]  # the two in-memory runs around each repeat
print(f"{'mode':20s} {'median samples/s':>16s} {'ratio of medians':>16s} {'median of ratios':>16s}  per repeat (samples/s: ratio)")
for k, v in runs.items():
    rr = [x / m for x, m in zip(v, mem)]
    each = " ".join(f"{x:.0f}:{q:.2f}" for x, q in zip(v, rr))
    print(f"{k:20s} {st.median(v):16.0f} {st.median(v) / st.median(mem):16.2f} {st.median(rr):16.2f}  {each}")
PY
echo "per run (name, samples/s, seconds to the end of the epoch, peak RSS of each rank in MB):"
cat $W/compare.txt
