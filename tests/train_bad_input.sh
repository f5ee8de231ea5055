#!/bin/bash
# invmap train/predict on bad input: a clear error naming the problem, non-zero exit, and an existing
# output file left untouched.
set -uo pipefail
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail=0
$MPIEXEC -n 2 $INVMAP simulate -n 64 -obs_n 200 -seed 1 -noise_type none -o $W/tr.h5 -quiet || exit 1
$MPIEXEC -n 2 $INVMAP simulate -n 16 -obs_n 100 -seed 2 -o $W/short.h5 -quiet || exit 1
cp $W/tr.h5 $W/nan.h5
$MPIEXEC -n 1 $TESTBIN/nn_tool -mode poke -a $W/nan.h5 -dataset /u -row 37 -col 5 -value nan || exit 1
$MPIEXEC -n 2 $INVMAP train -i $W/tr.h5 -o $W/m.h5 -train_epochs 2 -nn_dense 16 -quiet || exit 1
$MPIEXEC -n 1 $TESTBIN/nn_tool -mode csv -a $W/short.h5 -dataset /u -rows 4 -b $W/short.csv || exit 1
$MPIEXEC -n 1 $TESTBIN/nn_tool -mode csv -a $W/nan.h5 -dataset /u -rows 40 -b $W/nan.csv || exit 1
echo "keep me" > $W/out.h5
# a model whose stored architecture is another one than its parameters' (wider dense layer), a model for
# series of 100 values, a training set without /theta, and NaN in /theta
cp $W/m.h5 $W/otherarch.h5
$PYTHON - $W/otherarch.h5 <<'PY' || exit 1
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r+")
d = f.attrs["nn_dense"].copy(); d[0] = 64
f.attrs["nn_dense"] = d
PY
$MPIEXEC -n 2 $INVMAP train -i $W/short.h5 -o $W/m100.h5 -train_epochs 1 -nn_dense 16 -quiet || exit 1
cp $W/tr.h5 $W/notheta.h5
$PYTHON -c "import h5py, sys; del h5py.File(sys.argv[1], 'r+')['theta']" $W/notheta.h5 || exit 1
cp $W/tr.h5 $W/nantheta.h5
$MPIEXEC -n 1 $TESTBIN/nn_tool -mode poke -a $W/nantheta.h5 -dataset /theta -row 11 -col 1 -value inf || exit 1

# expect_error "<regex the message must match>" command...
expect_error() {
  local pattern="$1"
  shift
  "$@" > $W/log 2>&1
  local rc=$?
  if [ $rc -eq 0 ]; then
    echo "FAIL (exit 0): $*"
    fail=1
  elif ! grep -Eq "$pattern" $W/log; then
    echo "FAIL (message does not match '$pattern'): $*"
    cat $W/log
    fail=1
  else
    echo "ok: $(grep -E "$pattern" $W/log | head -1)"
  fi
  if [ "$(cat $W/out.h5)" != "keep me" ]; then
    echo "FAIL: existing output overwritten by: $*"
    fail=1
    echo "keep me" > $W/out.h5
  fi
}
# without -overwrite an existing output is refused before anything runs
expect_error "out.h5 exists: give -overwrite" $MPIEXEC -n 2 $INVMAP train -quiet -o $W/out.h5 -i $W/tr.h5
expect_error "out.h5 exists: give -overwrite" $MPIEXEC -n 2 $INVMAP predict -o $W/out.h5 -net $W/m.h5 -i $W/tr.h5
# with -overwrite allowed, bad input must still leave the existing output untouched
T="$MPIEXEC -n 2 $INVMAP train -quiet -overwrite -o $W/out.h5"
P="$MPIEXEC -n 2 $INVMAP predict -overwrite -o $W/out.h5"
# nonsense options
expect_error "train_epochs -3 must be positive" $T -i $W/tr.h5 -train_epochs -3
expect_error "train_batch 0 must be positive" $T -i $W/tr.h5 -train_batch 0
expect_error "train_val_frac 2.? must be in" $T -i $W/tr.h5 -train_val_frac 2
expect_error "Unknown network preset 'huge'" $T -i $W/tr.h5 -nn_preset huge
expect_error "nn_kernel needs 1 or 3 values" $T -i $W/tr.h5 -nn_kernel 3,3
expect_error "nn_dropout 1.5 must be in" $T -i $W/tr.h5 -nn_dropout 1.5
expect_error "nn_act|Unknown|unknown" $T -i $W/tr.h5 -nn_act bogus
expect_error "does not fit the signal" $T -i $W/tr.h5 -nn_conv 8,8,8,8,8 -nn_kernel 3 -nn_stride 4 -nn_pool 0
expect_error "unknown target 'theta7'" $T -i $W/tr.h5 -train_targets theta0,theta7
expect_error "No training set" $T
expect_error "Cannot write the model file" $MPIEXEC -n 2 $INVMAP train -quiet -i $W/tr.h5 -o $W/no/such/dir/m.h5
expect_error "opt_lr -1.? must be positive" $T -i $W/tr.h5 -opt_lr -1
# missing dataset, missing file, NaN
expect_error "Dataset /d is missing" $T -i $W/tr.h5 -train_data d
expect_error "does not exist" $T -i $W/nothere.h5
expect_error "Non-finite value .* row 37" $T -i $W/nan.h5
# checkpoint of another architecture
$MPIEXEC -n 2 $INVMAP train -i $W/tr.h5 -o $W/ck.h5 -train_epochs 1 -nn_dense 16 -quiet -train_interrupt_after 1 > /dev/null 2>&1
expect_error "another architecture" $T -i $W/tr.h5 -train_checkpoint $W/ck.h5.ckpt -resume -nn_dense 32
# streaming options and the memory budget
expect_error "train_memory_mb -1.? must be positive" $T -i $W/tr.h5 -train_memory_mb -1
expect_error "train_stream_chunk -5 .*>= 0" $T -i $W/tr.h5 -train_stream_chunk -5
expect_error "train_stream|maybe" $T -i $W/tr.h5 -train_stream maybe
expect_error "too small to stream" $T -i $W/tr.h5 -train_stream yes -train_memory_mb 0.001
expect_error "Non-finite value .* row 37" $T -i $W/nan.h5 -train_stream yes -train_memory_mb 0.2
# missing /theta, non-finite parameters
expect_error "Dataset /theta .* is missing" $T -i $W/notheta.h5
expect_error "Non-finite value .* /theta .* row 11" $T -i $W/nantheta.h5
expect_error "Non-finite value .* /theta .* row 11" $T -i $W/nantheta.h5 -train_stream yes -train_memory_mb 0.2
# predict: a model of another architecture than its parameters, models for other series, ensembles that do not fit
expect_error "another architecture" $P -net $W/otherarch.h5 -i $W/tr.h5
expect_error "series of length 200, but the model .* expects 100" $P -net $W/m100.h5 -i $W/tr.h5
expect_error "Ensemble members differ" $P -net $W/m.h5,$W/m100.h5 -i $W/tr.h5
expect_error "predict_batch 0 must be positive" $P -net $W/m.h5 -i $W/tr.h5 -predict_batch 0
expect_error "predict_data x: use d or u" $P -net $W/m.h5 -i $W/tr.h5 -predict_data x
# predict: model file that is not a model, series of the wrong length (HDF5 and CSV), NaN, missing dataset
expect_error "not an invmap model file" $P -net $W/tr.h5 -i $W/tr.h5
expect_error "series of length 100, but the model .* expects 200" $P -net $W/m.h5 -i $W/short.h5
expect_error "series of length 100, but the model .* expects 200" $P -net $W/m.h5 -i $W/short.csv
expect_error "Non-finite value .* series 37" $P -net $W/m.h5 -i $W/nan.h5
expect_error "NaN|nan|numeric|finite" $P -net $W/m.h5 -i $W/nan.csv
expect_error "Dataset /d is missing" $P -net $W/m.h5 -i $W/tr.h5 -predict_data d
expect_error "No network" $P -i $W/tr.h5
expect_error "does not exist" $P -net $W/nothere.h5 -i $W/tr.h5
exit $fail
