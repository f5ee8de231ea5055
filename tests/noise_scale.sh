#!/usr/bin/env bash
# The noise convention end to end (docs/science.md section 2): simulate draws AR(1) noise of standard deviation
# sigma / Delta_t and records noise_scale = dt and Delta_t in the file; evaluate's objective at the truth is a
# chi-square (misfit averages n_obs / 2); map records the convention it used; -noise_scale unit draws sigma; a file
# written before the convention was recorded (no attribute) is read as drawn then (s = sigma), with a note, and an
# explicit -noise_scale contradicting a file is refused; irregular observation times are refused for dt.
source "$INVMAP_SRC/tests/lib.sh"
N=200
NT=500
run 2 simulate -n $N -seed 3 -obs_n $NT -o dt.h5 -quiet
run 2 simulate -n $N -seed 3 -obs_n $NT -noise_scale unit -o unit.h5 -quiet
run 2 simulate -n $N -seed 3 -obs_n $NT -noise_scale unit -o old.h5 -quiet
$PYTHON - <<'PY'
import h5py
with h5py.File("old.h5", "r+") as f:  # as written before the attribute existed
    del f.attrs["noise_scale"]; del f.attrs["noise_obs_dt"]
PY
for f in dt unit old; do
  run 2 evaluate -truth $f.h5 -estimates $f.h5 -labels truth -eval_n $N -o ev_$f.h5 -quiet >ev_$f.log
done
grep -q "read as drawn then, with standard deviation sigma" ev_old.log && pass "old file: evaluate says how it reads the noise" ||
  fail "old file: no note from evaluate: $(cat ev_old.log)"
! grep -q "read as drawn then" ev_dt.log && pass "current file: no note" || fail "note printed for a current file"

$PYTHON - "$N" "$NT" <<'PY' || fail "noise statistics or chi-square (see above)"
import sys, h5py, numpy as np
N, NT = int(sys.argv[1]), int(sys.argv[2])
ok = True
def check(cond, msg):
    global ok
    print(("ok: " if cond else "FAIL: ") + msg); ok &= bool(cond)
for name, scale in (("dt", "dt"), ("unit", "unit"), ("old", None)):
    with h5py.File(name + ".h5") as f:
        a = f.attrs
        s_attr = a["noise_scale"] if "noise_scale" in a else None
        if isinstance(s_attr, bytes): s_attr = s_attr.decode()
        check(s_attr == scale, f"{name}: noise_scale attribute {s_attr!r}, expected {scale!r}")
        t = f["t"][...]; dt = t[1] - t[0]
        if scale == "dt":
            check(abs(a["noise_obs_dt"][0] - 0.2) < 1e-12, f"{name}: noise_obs_dt {a['noise_obs_dt'][0]} = 0.2")
        eta = f["d"][...] - f["u"][...]
        rho, sigma = f["noise"][:, 0], f["noise"][:, 1]
        mean, sd = a["prior_mean"], a["prior_sd"]
        prior = 0.5 * (((f["theta"][...] - mean) / sd) ** 2).sum(axis=1)
    s = sigma / dt if scale == "dt" else sigma
    # Each sample's variance estimate over NT correlated values has relative standard error
    # sqrt(2 (1 + rho^2) / ((1 - rho^2) NT)) ~ 0.095 at rho = 0.8; pooled over N samples ~ 0.0068. Five of them:
    ratio = np.mean(np.mean(eta ** 2, axis=1) / s ** 2)
    check(abs(ratio - 1) < 0.034, f"{name}: mean over samples of var(d - u) / s^2 = {ratio:.4f} (s = {'sigma/Delta_t' if scale == 'dt' else 'sigma'})")
    with h5py.File("ev_" + name + ".h5") as f:
        J = f["truth/objective_truth"][...]
    misfit = J - prior
    # misfit = chi2_NT / 2 per sample: mean NT/2, sd sqrt(NT/2); the mean over N samples has standard error
    # sqrt(NT / 2 / N) = 1.1. Five of them:
    tol = 5 * np.sqrt(NT / 2 / N)
    check(abs(misfit.mean() - NT / 2) < tol, f"{name}: evaluate's misfit at the truth averages {misfit.mean():.2f}, n_obs/2 = {NT/2} +- {tol:.2f}")
sys.exit(0 if ok else 1)
PY

# map: the convention goes into its output; a contradicting -noise_scale is refused
run 1 map -i dt.h5 -n 2 -map_hessian none -o map_dt.h5 -quiet
[[ $(h5dump -a /noise_scale map_dt.h5 | grep -c '"dt"') -eq 1 ]] && pass "map output records noise_scale dt" || fail "map output lacks noise_scale"
expect_error "map: -noise_scale dt on an old (s = sigma) file" "holds noise of the convention -noise_scale unit" map_x.h5 -- \
  1 map -i old.h5 -n 2 -noise_scale dt -o map_x.h5 -quiet
expect_error "evaluate: -noise_scale unit on a dt file" "holds noise of the convention -noise_scale dt" ev_x.h5 -- \
  1 evaluate -truth dt.h5 -estimates dt.h5 -noise_scale unit -o ev_x.h5 -quiet
expect_error "unknown -noise_scale" "noise_scale" x.h5 -- 1 simulate -n 4 -noise_scale sd -o x.h5 -quiet
finish
