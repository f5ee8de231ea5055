#!/bin/bash
# invmap predict: HDF5 and CSV observations, 1 and 2 ranks, ensembles (mean and spread), metrics;
# invmap train with the Fourier and dense variants.
set -euo pipefail
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
$MPIEXEC -n 2 $INVMAP simulate -n 300 -obs_n 200 -seed 11 -noise_type none -o $W/tr.h5 -quiet
$MPIEXEC -n 2 $INVMAP simulate -n 50 -obs_n 200 -seed 12 -o $W/te.h5 -quiet
$INVMAP train -help > $W/help.txt 2>&1
grep -q -- "-train_epochs" $W/help.txt || { echo "FAIL: -help does not list the options"; exit 1; }
$MPIEXEC -n 2 $INVMAP train -i $W/tr.h5 -o $W/a.h5 -train_epochs 5 -quiet
$MPIEXEC -n 2 $INVMAP train -i $W/tr.h5 -o $W/b.h5 -train_epochs 5 -train_seed 9 -train_repr both -train_prior_weight 0.01 -train_loss_weights 1,2 -quiet
$MPIEXEC -n 2 $INVMAP train -i $W/tr.h5 -o $W/c.h5 -train_epochs 5 -nn_arch dense -nn_dense 32,32 -train_repr fourier -opt_type adamw -opt_weight_decay 1e-4 -opt_lr_schedule cosine -quiet
$MPIEXEC -n 1 $INVMAP predict -model $W/a.h5 -i $W/te.h5 -predict_data u -o $W/p1.h5 -predict_csv $W/p1.csv | tee $W/log1
grep -q "Median-APE" $W/log1
# the model file's training history and the prediction file's cost records (read by invmap evaluate)
$PYTHON - $W/a.h5 $W/p1.h5 <<'PY'
import sys, h5py, numpy as np
m, p = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
h = m["history"]
cols = h.attrs["columns"]
cols = (cols.decode() if isinstance(cols, bytes) else cols).split(",")
assert cols == ["epoch", "train_loss", "val_loss", "learning_rate", "elapsed_seconds", "samples_per_second"], cols
assert h.shape == (5, 6) and h.dtype == np.float64, (h.shape, h.dtype)
H = h[...]
# losses and learning rate are positive; columns 4 and 5 (elapsed seconds, samples/s) are timings: only finite and >= 0
# (a coarse or adjusted clock may repeat a value, so no ordering is asserted)
assert (H[:, 0] == np.arange(1, 6)).all() and np.isfinite(H).all() and (H[:, 1:4] > 0).all() and (H[:, 4:] >= 0).all(), H
w = p["wall_time"][...]
s = float(np.ravel(p.attrs["solve_seconds"])[0])
assert w.shape == (50,) and w.dtype == np.float64 and (w > 0).all() and np.isfinite(w).all(), w
assert 0 < s and w.sum() <= 1.5 * s + 1e-3, (w.sum(), s)  # one rank: the samples' shares add up to the total
print("history", H.shape, "wall_time sum %.2e s, solve_seconds %.2e s" % (w.sum(), s))
PY
$MPIEXEC -n 2 $INVMAP predict -net $W/a.h5 -i $W/te.h5 -predict_data u -o $W/p2.h5
# 1 vs 2 ranks: each rank runs the float32 network on its own rows, and OpenBLAS's SGEMM may block (and round) a row
# differently with another row count: differences of a few float ulps (6e-8 relative each) through the layers; 1e-5
# relative is over 100 ulps, and the estimates (FHN parameters) are bounded away from zero, so relative is meaningful
h5diff -p 1e-5 $W/p1.h5 $W/p2.h5 /theta_pred /theta_pred
[ $(wc -l < $W/p1.csv) -eq 51 ] || { echo "FAIL: CSV rows"; exit 1; }
# CSV observations give the same estimates as HDF5
$MPIEXEC -n 1 $TESTBIN/nn_tool -mode csv -a $W/te.h5 -dataset /u -rows 50 -b $W/obs.csv
$MPIEXEC -n 2 $INVMAP predict -net $W/a.h5 -i $W/obs.csv -o $W/p3.h5
h5diff -p 1e-5 $W/p1.h5 $W/p3.h5 /theta_pred /theta_pred
# ensemble of three models (different seeds, representations and architectures)
$MPIEXEC -n 2 $INVMAP predict -net $W/a.h5,$W/b.h5,$W/c.h5 -i $W/te.h5 -o $W/pe.h5
h5ls $W/pe.h5 | grep -q theta_std || { echo "FAIL: no /theta_std"; exit 1; }
# early stopping: with -opt_lr 0 every Adam step subtracts 0 * (finite) = 0, so the weights, and hence the validation
# loss, are bitwise those of epoch 1 in every epoch; no epoch improves on it (strictly lower), so training must stop
# after exactly 1 + patience epochs, on any CPU or BLAS (a large learning rate made the loss rise on one machine and
# fall steadily on another)
$MPIEXEC -n 2 $INVMAP train -i $W/tr.h5 -o $W/es.h5 -train_epochs 200 -train_patience 3 -opt_lr 0 -train_val_frac 0.25 > $W/es.log
grep -q "(early stop)" $W/es.log || { cat $W/es.log; echo "FAIL: no early stop"; exit 1; }
[ $(grep -c "^epoch" $W/es.log) -eq 4 ] || { cat $W/es.log; echo "FAIL: early stop after $(grep -c "^epoch" $W/es.log) epochs, expected 1 + patience 3"; exit 1; }
echo "train_predict: OK"
