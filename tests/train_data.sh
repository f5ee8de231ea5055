#!/bin/bash
# invmap train -train_loss data (training through the simulator, src/train/loss_data.c): the gradient with respect to
# the network's outputs against finite differences of J through the standardisation; supervised pre-training then
# data-space fine-tuning on 2 ranks lowers the mean MAP objective J over the training problems; failed forward solves
# are counted with a finite loss, never NaN; -resume of an interrupted data-loss run is bitwise the uninterrupted
# run; 1 vs 2 ranks agree to summation order; supervised pre-training epochs are bitwise -train_loss mse; refusals.
set -euo pipefail
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
$MPIEXEC -n 2 $INVMAP simulate -n 160 -obs_n 100 -seed 21 -o $W/tr.h5 -quiet
base="train -i $W/tr.h5 -train_data d -train_loss data -train_batch 16 -train_seed 5 -train_val_frac 0.1"

# 1. gradient: central differences in float32 outputs with step 1e-3 (the represented step); J is smooth in theta and
# its adjoint gradient is the exact gradient of the discrete (fixed-step RK4) objective, so the difference is the
# O(h^2) truncation plus the float32 rounding of the gradient (~1e-7 relative): measured 4e-6 of the largest entry.
$MPIEXEC -n 2 $INVMAP $base -o $W/g.h5 -train_epochs 1 -train_data_check_gradient 4 -quiet > $W/g.log
cat $W/g.log
err=$(sed -n 's/.*max |gradient| = \([0-9.e+-]*\).*/\1/p' $W/g.log)
$PYTHON -c "import sys; e = float('$err'); sys.exit(0 if e < 1e-4 else 1)" || { echo "FAIL: data-loss gradient error $err"; exit 1; }

# 2. pre-train 4 epochs (mse), fine-tune 12 epochs through the simulator (per-problem gradients clipped to norm 10): the
# mean J over the training problems of the last epoch is below that of the first fine-tuning epoch (an average over
# that epoch's batches, from the pre-trained network on: if anything below the pre-trained network's J)
$MPIEXEC -n 2 $INVMAP $base -o $W/ft.h5 -train_epochs 16 -train_data_start_epoch 4 -train_data_grad_clip 10 > $W/ft.log
grep "^epoch" $W/ft.log
$PYTHON - $W/ft.h5 <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
h, hd = f["history"][...], f["history_data"][...]
assert hd.shape == (16, 4), hd.shape
assert np.isnan(hd[:4, 1]).all(), hd[:4]          # supervised epochs: no J
assert (hd[:, 2] == 0).all(), hd[:, 2]            # no failed solve
J = hd[4:, 1]
print("mean J per fine-tuning epoch:", J)
assert np.isfinite(J).all() and np.isfinite(h[:, 1]).all()
# measured 114 -> 82 (0.72; without clipping 113 -> 90, not monotone); the bound 0.85 leaves room for other
# platforms' rounding while a network that does not learn from J (ratio ~1) fails it
assert J[-1] < 0.85 * J[0], ("fine-tuning through the simulator did not lower J", J)
loss = f.attrs["loss"]
assert (loss.decode() if isinstance(loss, bytes) else loss) == "data"
PY

# 2b. the supervised epochs before -train_data_start_epoch are bitwise -train_loss mse (the same calls, weight 1)
$MPIEXEC -n 2 $INVMAP $base -o $W/pre.h5 -train_epochs 2 -train_data_start_epoch 2 -quiet
$MPIEXEC -n 2 $INVMAP ${base/-train_loss data/-train_loss mse} -o $W/mse.h5 -train_epochs 2 -train_keep_best 0 -quiet
$MPIEXEC -n 1 $TESTBIN/nn_tool -mode compare -a $W/pre.h5 -b $W/mse.h5 -tol 0

# 2c. 1 vs 2 ranks: a member's J and gradient do not depend on its batch (fixed-step RK4), so the ranks change only
# the float32 summation order of the gradients, as for supervised losses (tests/train_ranks.sh: the same 1e-4 of
# max |w|, there 100x the measured value; measured here 3e-7)
$MPIEXEC -n 1 $INVMAP $base -o $W/r1.h5 -train_epochs 3 -train_data_start_epoch 1 -quiet
$MPIEXEC -n 2 $INVMAP $base -o $W/r2.h5 -train_epochs 3 -train_data_start_epoch 1 -quiet
$MPIEXEC -n 1 $TESTBIN/nn_tool -mode compare -a $W/r1.h5 -b $W/r2.h5 -tol 1e-4

# 3. failed forward solves (a step budget of 3 fixed RK4 steps cannot reach the last observation): every data-phase
# sample is counted as failed, the loss is the finite constant, no NaN
$MPIEXEC -n 2 $INVMAP $base -o $W/fail.h5 -train_epochs 3 -train_data_start_epoch 1 -train_sim_ts_max_steps 3 > $W/fail.log
grep "^epoch" $W/fail.log
if grep -qi nan <(grep "^epoch" $W/fail.log | sed 's/val [^ ]*//'); then echo "FAIL: NaN in a training line"; exit 1; fi
$PYTHON - $W/fail.h5 <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
h, hd = f["history"][...], f["history_data"][...]
assert (hd[1:, 2] == 144).all(), hd        # 144 training samples, every one failed
assert (hd[1:, 1] == 1e6).all(), hd        # INV_DATA_LOSS_FAILED
assert np.isfinite(h[:, 1]).all() and np.isfinite(f["params"][...]).all()
PY

# 4. resume: interrupted in the data phase (batch 22 of 9 per epoch: epoch 3, after 2 supervised epochs), then -resume:
# bitwise the weights and the J history of the uninterrupted run (the simulator time, column 3, is a timing)
common="$base -train_epochs 4 -train_data_start_epoch 2 -train_data_ramp 2 -train_loss_data_supervised 0.5"
$MPIEXEC -n 2 $INVMAP $common -o $W/full.h5 -quiet
set +e
$MPIEXEC -n 2 $INVMAP $common -o $W/part.h5 -train_interrupt_after 22 -train_checkpoint_every 0 -quiet
rc=$?
set -e
[ $rc -eq 75 ] || { echo "FAIL: interrupted run exited $rc, expected 75"; exit 1; }
$MPIEXEC -n 2 $INVMAP $common -o $W/part.h5 -resume -quiet
$MPIEXEC -n 1 $TESTBIN/nn_tool -mode compare -a $W/full.h5 -b $W/part.h5 -tol 0
$PYTHON - $W/full.h5 $W/part.h5 <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(f, "r") for f in sys.argv[1:3])
assert np.array_equal(a["history"][:, :4], b["history"][:, :4], equal_nan=True)
assert np.array_equal(a["history_data"][:, :3], b["history_data"][:, :3], equal_nan=True)
PY

# 5. refusals
refuse() { # expected message, then the command
  local msg=$1
  shift
  if $MPIEXEC -n 2 $INVMAP "$@" > $W/r.log 2>&1; then echo "FAIL: accepted: $*"; exit 1; fi
  grep -q -- "$msg" $W/r.log || { echo "FAIL: no '$msg' in:"; cat $W/r.log; exit 1; }
}
refuse "does not stream yet" $base -o $W/r.h5 -train_epochs 1 -train_stream yes
# in memory (-train_stream no) but over the budget: the problems (here 0.2 MB on each rank) do not fit 0.1 MB
refuse "keeps every training problem on every rank: .* MB over the -train_memory_mb 0.1 budget" $base -o $W/r.h5 -train_epochs 1 \
  -train_stream no -train_memory_mb 0.1
refuse "cannot be combined with -noise_fresh" train -i $W/tr.h5 -train_loss data -noise_fresh -o $W/r.h5 -train_epochs 1
refuse "must estimate all 2 parameters" $base -o $W/r.h5 -train_epochs 1 -train_targets theta0
refuse "use the same -train_loss_data_weight" $common -train_loss_data_weight 2 -o $W/part.h5 -resume -overwrite
refuse "must be non-negative integers" $base -o $W/r.h5 -train_data_start_epoch 1.5
refuse "checks the unclipped gradient" $base -o $W/r.h5 -train_epochs 1 -train_data_check_gradient 2 -train_data_grad_clip 1
echo PASS
