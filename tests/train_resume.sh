#!/bin/bash
# invmap train: a run interrupted (as by SIGUSR1) in the middle of an epoch writes a checkpoint and
# exits 75 without writing the model; -resume then ends with bitwise the same weights as an
# uninterrupted run. Periodic checkpoints are written atomically.
set -euo pipefail
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
$MPIEXEC -n 2 $INVMAP simulate -n 200 -obs_n 200 -seed 6 -noise_type ar1 -o $W/tr.h5 -quiet
common="train -i $W/tr.h5 -train_epochs 4 -train_batch 16 -train_seed 3 -noise_fresh -nn_dropout 0.1 -train_val_frac 0.2 -train_patience 50"
$MPIEXEC -n 2 $INVMAP $common -o $W/full.h5 -quiet
set +e
$MPIEXEC -n 2 $INVMAP $common -o $W/part.h5 -train_interrupt_after 13 -train_checkpoint_every 0
rc=$?
set -e
[ $rc -eq 75 ] || { echo "FAIL: interrupted run exited $rc, expected 75"; exit 1; }
[ -f $W/part.h5.ckpt ] || { echo "FAIL: no checkpoint"; exit 1; }
[ ! -f $W/part.h5 ] || { echo "FAIL: model written by an interrupted run"; exit 1; }
[ ! -f $W/part.h5.ckpt.partial ] || { echo "FAIL: partial checkpoint left"; exit 1; }
$MPIEXEC -n 2 $INVMAP $common -o $W/part.h5 -resume
$MPIEXEC -n 1 $TESTBIN/nn_tool -mode compare -a $W/full.h5 -b $W/part.h5 -tol 0
# the training history survives the interruption: the same epochs, losses and learning rates as the uninterrupted run,
# bitwise: the checkpoint keeps every rank's partial sum of the epoch's loss and -resume on the same rank count continues
# each one (src/train/checkpoint.c), so the sums are added in the uninterrupted order. Columns 4 and 5 (elapsed seconds,
# samples/s) are timings and are never compared.
$PYTHON - $W/full.h5 $W/part.h5 <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(f, "r")["history"][...] for f in sys.argv[1:3])
assert a.shape == b.shape == (4, 6), (a.shape, b.shape)
assert np.array_equal(a[:, :4], b[:, :4]), (a, b)
PY
# periodic checkpoints (every 2 epochs): resume from the epoch-2 checkpoint of a finished run
$MPIEXEC -n 2 $INVMAP $common -o $W/per.h5 -train_checkpoint_every 2 -quiet
$MPIEXEC -n 2 $INVMAP $common -o $W/per.h5 -resume -quiet
$MPIEXEC -n 1 $TESTBIN/nn_tool -mode compare -a $W/full.h5 -b $W/per.h5 -tol 0
# a real SIGUSR1 (forwarded by mpiexec) on a run that cannot finish first (10^6 epochs): checkpoint, exit 75; -resume
# picks it up. The signal goes only once the first epoch line is printed: every rank has installed its handler by then
# (before its first collective step), so no fixed sleep races with a slow start.
$MPIEXEC -n 2 $INVMAP train -i $W/tr.h5 -o $W/sig.h5 -train_epochs 1000000 -train_batch 16 -train_signal_check 5 > $W/sig.log 2>&1 &
pid=$!
for _ in $(seq 1 6000); do grep -q "^epoch" $W/sig.log 2>/dev/null && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
grep -q "^epoch" $W/sig.log || { cat $W/sig.log; echo "FAIL: the long run printed no epoch"; exit 1; }
kill -USR1 $pid
set +e
wait $pid
rc=$?
set -e
tail -3 $W/sig.log
[ $rc -eq 75 ] || { echo "FAIL: run signalled with SIGUSR1 exited $rc, expected 75"; exit 1; }
[ -f $W/sig.h5.ckpt ] || { echo "FAIL: no checkpoint after SIGUSR1"; exit 1; }
set +e
$MPIEXEC -n 2 $INVMAP train -i $W/tr.h5 -o $W/sig.h5 -train_epochs 1000000 -train_batch 16 -resume -train_interrupt_after 3 > $W/sig2.log 2>&1
rc=$?
set -e
grep -q "resumed" $W/sig2.log && [ $rc -eq 75 ] || { cat $W/sig2.log; echo "FAIL: resume after SIGUSR1"; exit 1; }
echo "train_resume: OK"
