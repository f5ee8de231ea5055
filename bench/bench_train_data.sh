#!/bin/bash
# Training through the simulator (-train_loss data, issue 13): samples/s per core of data-space training on one rank,
# split into the simulator (forward + adjoint sweep of each batch, /history_data's simulator_seconds) and the rest
# (network forward/backward, optimiser: the epoch time minus the simulator's), against (a) the same network trained
# supervised alone (mse, no simulator) and (b) a standalone batched forward + adjoint sweep of a batch of the same
# size (bench_map_eval, same -obs_n, the same adjoint solver defaults). Runs are interleaved (the machine may be
# loaded); medians over the repetitions are printed with the ratio simulator-in-training / standalone sweep.
# Usage: bench/bench_train_data.sh <build dir> [samples, default 512] [repetitions, default 3] [batch, default 32]
set -euo pipefail
B=${1:-build}
N=${2:-512}
R=${3:-3}
BS=${4:-32}
E=3
export OPENBLAS_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
echo "bench_train_data.sh: $(date -u) load $(cut -d' ' -f1-3 /proc/loadavg); $N samples, batch $BS, $E epochs x $R repetitions"
mpiexec -n 1 $B/invmap simulate -n $N -seed 3 -o $W/tr.h5 -quiet
common="train -i $W/tr.h5 -train_data d -train_batch $BS -train_epochs $E -train_val_frac 0 -train_seed 1 -overwrite -quiet"
for r in $(seq 1 $R); do
  mpiexec -n 1 $B/invmap $common -train_loss data -o $W/data$r.h5
  mpiexec -n 1 $B/invmap $common -train_loss mse -o $W/mse$r.h5
  mpiexec -n 1 $B/bench/bench_map_eval -b $BS -reps 20 | grep "forward+adjoint" | sed 's/.*: \([0-9.]*\) ms.*/\1/' >> $W/sweep.txt
done
/usr/bin/python3 - $W $R $N <<'PY'
import sys, h5py, numpy as np
W, R, N = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def epochs(name):  # per epoch: wall seconds, simulator seconds
    f = h5py.File("%s/%s.h5" % (W, name), "r")
    h = f["history"][...]
    wall = N / h[:, 5]
    sim = f["history_data"][:, 3] if "history_data" in f else np.zeros_like(wall)
    return wall, sim
dw, ds, mw = [], [], []
for r in range(1, R + 1):
    w, s = epochs("data%d" % r); dw += list(w); ds += list(s)
    w, _ = epochs("mse%d" % r); mw += list(w)
dw, ds, mw = np.median(dw), np.median(ds), np.median(mw)
sweep = np.median(np.loadtxt(W + "/sweep.txt", ndmin=1))
print("data-space training: %8.1f samples/s per core (median epoch %.3f s)" % (N / dw, dw))
print("  simulator (forward+adjoint) %.3f ms/sample, rest (network, optimiser) %.3f ms/sample, simulator share %.0f%%"
      % (1e3 * ds / N, 1e3 * (dw - ds) / N, 100 * ds / dw))
print("supervised (mse) training: %8.1f samples/s per core (%.3f ms/sample)" % (N / mw, 1e3 * mw / N))
print("standalone batched forward+adjoint sweep (bench_map_eval -b): %.3f ms/member" % sweep)
print("ratio simulator-in-training / standalone sweep: %.2f (target <= 1.5)" % (1e3 * ds / N / sweep))
PY
