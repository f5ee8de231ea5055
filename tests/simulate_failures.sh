#!/usr/bin/env bash
# A sample whose solve fails (here theta1 = -60: v grows like exp(20 t) and the step size collapses) is
# flagged in /status with NaN series and counted in the summary; it never aborts the ensemble.
source "$(dirname "$0")/lib.sh"
printf 'theta0,theta1\n0.4,0.4\n0.5,-60\n0.9,1.0\n0.1,0.2\n' > mixed.csv
out=$(run 2 simulate -theta_file mixed.csv -batch 2 -o mixed.h5 2>&1) || { fail "ensemble aborted"; echo "$out"; }
grep -q "1 of 4 samples failed (first: sample 1)" <<<"$out" && pass "summary reports the failure" || { fail "summary"; echo "$out"; }
"$PYTHON" - <<'PY' && pass "status and NaN series" || fail "status flags"
import h5py, numpy as np
f = h5py.File("mixed.h5")
s, u = f["/status"][...], f["/u"][...]
print("status", s.tolist(), "n_failed", f.attrs["n_failed"])
assert s[1] != 0 and (s[[0, 2, 3]] == 0).all()
assert np.isnan(u[1]).all() and np.isfinite(u[[0, 2, 3]]).all()
assert f.attrs["n_failed"][0] == 1
PY
finish
