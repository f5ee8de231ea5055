#!/bin/bash
# Does an HDF5 compression filter pay for streamed training? Copies the first <rows> rows of a training set
# (every dataset and attribute) twice with h5py, series chunked by 256 rows as invmap simulate writes them:
# plain, and with shuffle + deflate (zlib, in every Debian HDF5) at <level>; prints both file sizes, then
# streamed training samples/s on each (paper CNN, -train_data d, 2 ranks, one epoch, median of <repeats>,
# runs interleaved). The filtered file is read synchronously through HDF5 (the reader thread's direct reads
# need unfiltered rows), so the plain file is also run with -train_stream_prefetch no for a like-for-like
# comparison.
# Usage: bench/bench_stream_filter.sh <build dir> <training set> [rows 100000] [budget MB 64] [repeats 3] [level 1]
set -euo pipefail
B=${1:?usage: bench/bench_stream_filter.sh <build dir> <training set> [rows] [budget MB] [repeats] [level]}
SRC=${2:?training set}
N=${3:-100000}
M=${4:-64}
R=${5:-3}
L=${6:-1}
W=${BENCH_STREAM_DIR:-${TMPDIR:-/tmp}/invmap_bench_stream}
mkdir -p $W
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
/usr/bin/python3 - "$SRC" "$N" "$L" "$W/plain.h5" "$W/deflate.h5" <<'PY'
import sys, h5py
src, n, level, plain, packed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
CHUNK_ROWS = 256  # as invmap simulate chunks /u and /d
with h5py.File(src, "r") as f:
    for out, filt in ((plain, {}), (packed, {"compression": "gzip", "compression_opts": level, "shuffle": True})):
        with h5py.File(out, "w") as g:
            for k, v in f.attrs.items():
                g.attrs[k] = v
            for name, d in f.items():
                rows = isinstance(d, h5py.Dataset) and d.ndim >= 1 and d.shape[0] == f["theta"].shape[0]
                data = d[:n] if rows else d[()]
                kw = {}
                if rows and name in ("u", "d"):
                    kw = dict(chunks=(min(CHUNK_ROWS, n),) + d.shape[1:], **filt)
                h = g.create_dataset(name, data=data, **kw)
                for k, v in d.attrs.items():
                    h.attrs[k] = v
PY
echo "rows $N: plain $(du -m $W/plain.h5 | cut -f1) MB, shuffle+deflate level $L $(du -m $W/deflate.h5 | cut -f1) MB"
T="train -o $W/fmodel.h5 -overwrite -nn_preset paper_cnn -train_data d -train_epochs 1 -train_val_frac 0 -train_stream yes -train_memory_mb $M"
rate() { mpiexec -n 2 $B/invmap $T "$@" | awk '/^epoch/ {for (i = 2; i <= NF; i++) if ($i == "samples/s") print $(i - 1)}'; }
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
a="" b="" c=""
for r in $(seq $R); do
  a="$a $(rate -i $W/plain.h5)"
  b="$b $(rate -i $W/plain.h5 -train_stream_prefetch no)"
  c="$c $(rate -i $W/deflate.h5)"
done
printf "%-40s %10s (%s)\n" "plain, prefetched" "$(echo $a | tr ' ' '\n' | median)" "$a"
printf "%-40s %10s (%s)\n" "plain, synchronous HDF5 reads" "$(echo $b | tr ' ' '\n' | median)" "$b"
printf "%-40s %10s (%s)\n" "shuffle+deflate $L, synchronous" "$(echo $c | tr ' ' '\n' | median)" "$c"
rm -f $W/plain.h5 $W/deflate.h5 $W/fmodel.h5
