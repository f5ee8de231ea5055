#!/bin/bash
# Laplace targets and moment matching: invmap map -map_targets_into attaches /theta_map, /cov and /map_status to a
# training set (a copy renamed over it: the series untouched, nothing half-written, idempotent on -resume, other
# targets kept without -overwrite); invmap train -train_loss moment reads them, standardised like the parameters
# (C_z = D^-1 C D^-1), and learns covariances much closer to the test set's Laplace covariances than an untrained
# covariance head; an interrupted moment run resumes bitwise; clear refusals for missing or misshapen targets.
set -euo pipefail
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
$MPIEXEC -n 2 $INVMAP simulate -n 300 -obs_n 200 -seed 21 -o $W/tr.h5 -quiet
$MPIEXEC -n 2 $INVMAP simulate -n 100 -obs_n 200 -seed 23 -o $W/te.h5 -quiet
cp $W/tr.h5 $W/tr_orig.h5
# refused before any solve: a partial MAP run (-n) and an existing other file without -overwrite
cp $W/tr.h5 $W/other.h5
for bad in "-n 10:drop -n" "-map_targets_into $W/other.h5:exists and is not the input"; do
  opts=${bad%%:*}; msg=${bad#*:}
  [[ $opts == -n* ]] && opts="$opts -map_targets_into $W/tr.h5"
  if $MPIEXEC -n 1 $INVMAP map -i $W/tr.h5 -o $W/bad_map.h5 -quiet $opts > $W/bad.log 2>&1; then
    echo "FAIL: map $opts was accepted"; exit 1
  fi
  grep -q -- "$msg" $W/bad.log || { cat $W/bad.log; echo "FAIL: map $opts: no message '$msg'"; exit 1; }
  [ ! -e $W/bad_map.h5 ] || { echo "FAIL: map $opts wrote its output"; exit 1; }
done
$MPIEXEC -n 2 $INVMAP map -i $W/tr.h5 -o $W/tr_map.h5 -map_hessian gn -map_targets_into $W/tr.h5 -quiet
$MPIEXEC -n 2 $INVMAP map -i $W/te.h5 -o $W/te_map.h5 -map_hessian gn -quiet
# -resume of a finished run with the targets already attached leaves the set as it is
$MPIEXEC -n 2 $INVMAP map -i $W/tr.h5 -o $W/tr_map.h5 -map_hessian gn -map_targets_into $W/tr.h5 -resume -quiet > $W/again.log
grep -q "already has these Laplace targets" $W/again.log || { cat $W/again.log; echo "FAIL: no idempotent resume"; exit 1; }
# targets from another MAP run are not replaced without -overwrite
if $MPIEXEC -n 1 $INVMAP map -i $W/tr.h5 -o $W/tr_map2.h5 -map_hessian gn -map_starts 1 -map_targets_into $W/tr.h5 -quiet > $W/ow.log 2>&1; then
  echo "FAIL: other Laplace targets replaced without -overwrite"; exit 1
fi
grep -q "already has Laplace targets" $W/ow.log || { cat $W/ow.log; echo "FAIL: no message for other targets"; exit 1; }
ls $W | grep -q "targets.partial" && { echo "FAIL: a .targets.partial was left behind"; exit 1; }
$PYTHON - $W <<'PY'
import sys, h5py, numpy as np
W = sys.argv[1]
s, o, m = h5py.File(W + "/tr.h5", "r"), h5py.File(W + "/tr_orig.h5", "r"), h5py.File(W + "/tr_map.h5", "r")
for k in o:  # everything the set had is still there, bitwise
    assert (s[k][...] == o[k][...]).all(), k
for k in ("theta_map", "cov"):  # the targets are the MAP file's, bitwise (copied doubles)
    assert (s[k][...] == m[k][...]).all(), k
assert (s["map_status"][...] == m["status"][...]).all()
a = lambda f, k: f.attrs[k].decode() if isinstance(f.attrs[k], bytes) else str(f.attrs[k])
assert a(s, "laplace_hessian_type").startswith("gauss-newton"), a(s, "laplace_hessian_type")
assert a(s, "laplace_series").startswith("/d"), a(s, "laplace_series")
print("targets attached:", s["cov"].shape, "failed MAP:", int((s["map_status"][...] != 0).sum()))
PY
# moment matching against a covariance head whose covariance is not trained (the mse term alone)
$MPIEXEC -n 2 $INVMAP train -i $W/tr.h5 -o $W/mo.h5 -train_epochs 40 -train_loss moment -train_data d -quiet
$MPIEXEC -n 2 $INVMAP train -i $W/tr.h5 -o $W/un.h5 -train_epochs 40 -train_loss mix -train_loss_mix 1,0,0 -train_data d -quiet
$MPIEXEC -n 2 $INVMAP train -i $W/tr.h5 -o $W/mx.h5 -train_epochs 40 -train_loss mix -train_loss_mix 0,1,1 -train_data d -quiet
for n in mo un mx; do $MPIEXEC -n 2 $INVMAP predict -net $W/$n.h5 -i $W/te.h5 -o $W/p_$n.h5 -predict_data d -quiet; done
$PYTHON - $W <<'PY'
import sys, h5py, numpy as np
W = sys.argv[1]
t = h5py.File(W + "/te_map.h5", "r")
ok = t["status"][...] == 0
C, mu = t["cov"][...][ok], t["theta_map"][...][ok]
def err(name):
    p = h5py.File(W + "/p_%s.h5" % name, "r")
    Ch, mh = p["cov_pred"][...][ok], p["theta_pred"][...][ok]
    ec = np.linalg.norm(Ch - C, axis=(1, 2)) / np.linalg.norm(C, axis=(1, 2))
    em = np.linalg.norm(mh - mu, axis=1) / np.linalg.norm(mu, axis=1)
    return np.median(em), np.median(ec)
e = {n: err(n) for n in ("mo", "un", "mx")}
for n, (em, ec) in e.items():
    print("%s: median rel. error of the mean %.3f, of the covariance %.3f" % (n, em, ec))
# An untrained covariance (softplus of near-zero outputs: about half the targets' prior variance) is off by far
# more than 100% of the Laplace covariance (measured 72x), which is 1e-6 to 1e-2 of the standardised prior variance;
# 40 epochs of moment matching on 270 samples bring it to the Laplace covariance's own size (measured 0.94 with
# moment, 3.2 with nll + moment; the meancov experiment's 1800 samples and 300 epochs go further). A factor 3 below
# the untrained error is far from both; the arithmetic is deterministic, so only a change of the code moves them.
assert e["mo"][1] < e["un"][1] / 3, e
assert e["mx"][1] < e["un"][1] / 3, e
PY
# checkpoint/resume: an interrupted moment run resumed gives bitwise the weights of an uninterrupted one
$MPIEXEC -n 2 $INVMAP train -i $W/tr.h5 -o $W/r1.h5 -train_epochs 4 -train_loss moment -train_data d -quiet
set +e
$MPIEXEC -n 2 $INVMAP train -i $W/tr.h5 -o $W/r2.h5 -train_epochs 4 -train_loss moment -train_interrupt_after 20 -train_data d -quiet
rc=$?
set -e
[ $rc -eq 75 ] || { echo "FAIL: interrupted run exited $rc, expected 75"; exit 1; }
$MPIEXEC -n 2 $INVMAP train -i $W/tr.h5 -o $W/r2.h5 -train_epochs 4 -train_loss moment -train_data d -resume -quiet
$MPIEXEC -n 1 $TESTBIN/nn_tool -mode compare -a $W/r1.h5 -b $W/r2.h5 -tol 0
# refusals: no targets, misshapen targets, targets of the other series, a noise target, streaming
$PYTHON - $W <<'PY'
import sys, h5py, shutil
W = sys.argv[1]
shutil.copy(W + "/tr.h5", W + "/shape.h5")
with h5py.File(W + "/shape.h5", "a") as f:
    c = f["cov"][...]
    del f["cov"]
    f["cov"] = c[:, :1, :]
PY
for bad in "tr_orig.h5::has no /cov" "shape.h5::must be (300 x 2 x 2)" "tr.h5:-train_data u:were computed from /d" \
           "tr.h5:-train_targets theta0,sigma:not for rho or sigma" "tr.h5:-train_stream yes:in memory only"; do
  IFS=: read -r file opts msg <<< "$bad"
  if $MPIEXEC -n 1 $INVMAP train -i $W/$file -o $W/bad.h5 -train_epochs 1 -train_loss moment -train_data d $opts > $W/bad.log 2>&1; then
    echo "FAIL: moment training on $file $opts was accepted"; exit 1
  fi
  grep -q -- "$msg" $W/bad.log || { cat $W/bad.log; echo "FAIL: $file $opts: no message '$msg'"; exit 1; }
done
echo "train_moment: OK"
