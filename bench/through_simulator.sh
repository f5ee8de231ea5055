#!/bin/bash
# The experiment of docs/science.md section 7 ([HT24], issue 13) on the network's own training problems: N noisy FHN
# problems; a supervised network (mse) and the same network fine-tuned through the simulator (-train_loss data,
# pre-trained K epochs, then E epochs of data-space loss with per-problem clipping); on the first M problems the final
# MAP objective J (invmap evaluate's, one definition for all) of
#   (a) the network trained through the simulator alone,
#   (b) the supervised network alone,
#   (c) TAO (invmap map) from the prior mean,
#   (d) TAO from the supervised network's prediction (-map_init),
#   (e) TAO from (a)'s prediction (the network followed by local refinement);
# prints the fraction of problems where (a) beats (c) and (d), and the median ratios J_a / J_c, J_a / J_d.
# The full experiment (also held-out problems, multistart, budgets, the report's table and plot) is the pipeline's
# share/experiments/through_simulator.opts; this script is its quick stand-alone form.
# Usage: bench/through_simulator.sh <build dir> [N, default 256] [M, default 64] [K, default 30] [E, default 30] [ranks, default 2]
set -euo pipefail
B=${1:-build}
N=${2:-256}
M=${3:-64}
K=${4:-30}
E=${5:-30}
NP=${6:-2}
export OPENBLAS_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
MPI="mpiexec --oversubscribe -n $NP"
echo "through_simulator.sh: $(date -u); N $N, M $M, pre-training $K + data $E epochs, $NP ranks"
$MPI $B/invmap simulate -n $N -seed 41 -o $W/tr.h5 -quiet
common="train -i $W/tr.h5 -train_data d -train_batch 32 -train_seed 1 -train_val_frac 0 -quiet"
$MPI $B/invmap $common -train_loss mse -train_epochs $K -o $W/sup.h5
$MPI $B/invmap $common -train_loss data -train_data_start_epoch $K -train_epochs $((K + E)) -train_data_grad_clip 10 -o $W/thru.h5
$MPI $B/invmap predict -net $W/sup.h5 -i $W/tr.h5 -o $W/pred_sup.h5 -quiet
$MPI $B/invmap predict -net $W/thru.h5 -i $W/tr.h5 -o $W/pred_thru.h5 -quiet
$MPI $B/invmap map -i $W/tr.h5 -n $M -map_starts 0 -map_start_mean 1 -o $W/map_mean.h5 -quiet
$MPI $B/invmap map -i $W/tr.h5 -n $M -map_init $W/pred_sup.h5 -map_starts 0 -map_start_mean 0 -o $W/map_sup.h5 -quiet
$MPI $B/invmap map -i $W/tr.h5 -n $M -map_init $W/pred_thru.h5 -map_starts 0 -map_start_mean 0 -o $W/map_thru.h5 -quiet
$MPI $B/invmap evaluate -truth $W/tr.h5 -eval_n $M -estimates $W/pred_thru.h5,$W/pred_sup.h5,$W/map_mean.h5,$W/map_sup.h5,$W/map_thru.h5 \
  -labels thru,sup,map_mean,map_sup,map_thru -o $W/eval.h5 -quiet
/usr/bin/python3 - $W $M <<'PY'
import sys, h5py, numpy as np
W, M = sys.argv[1], int(sys.argv[2])
f = h5py.File(W + "/eval.h5", "r")
J = {k: f[k]["objective"][...].ravel()[:M] for k in ("thru", "sup", "map_mean", "map_sup", "map_thru")}
Jt = f["thru"]["objective_truth"][...].ravel()[:M]
for k in ("map_mean", "map_sup", "map_thru"):
    e = h5py.File("%s/%s.h5" % (W, k), "r")
    print("%-9s function evaluations per problem (gradients: forward + adjoint): median %.0f"
          % (k, np.median(e["function_evaluations"][...].ravel()[:M])))
for k, v in J.items():
    print("%-9s median J %10.3f  mean J %10.3f  failed/NaN %d" % (k, np.nanmedian(v), np.nanmean(v), int(np.sum(~np.isfinite(v)))))
print("%-9s median J %10.3f" % ("truth", np.nanmedian(Jt)))
a = J["thru"]
for k in ("map_mean", "map_sup", "sup", "map_thru"):
    ok = np.isfinite(a) & np.isfinite(J[k])
    print("(a) thru vs %-8s: beats on %.0f%% of %d problems, median J_a / J_%s = %.4f"
          % (k, 100 * np.mean(a[ok] < J[k][ok]), ok.sum(), k, np.median(a[ok] / J[k][ok])))
PY
