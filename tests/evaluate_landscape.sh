# invmap evaluate's stores for the report's figures (issue 5): -eval_save_series (the re-simulated series,
# bitwise equal to invmap simulate's series at the same parameters) and -eval_landscape (the objective J on a
# grid: identical on 1 and 2 ranks, J at the truth and at a grid point equal to evaluate's objective there,
# grid minimum at the truth on a clean sample); bad input.
source "$INVMAP_SRC/tests/lib.sh"
N=40
NT=300
h5() { $PYTHON - "$@"; }

run 2 simulate -n $N -seed 11 -obs_n $NT -o test.h5 -quiet
# estimates: the truth perturbed by 5 %, simulated so that their clean series are known
h5 <<'PY'
import h5py, numpy as np
th = h5py.File("test.h5")["theta"][...]
est = th * (1 + 0.05 * np.random.default_rng(2).standard_normal(th.shape))
np.savetxt("est.csv", est, delimiter=",", header="theta0,theta1", comments="", fmt="%.17g")
PY
run 2 simulate -theta_file est.csv -obs_n $NT -noise_type none -batch 16 -o est.h5 -quiet

# 1 vs 2 ranks: batches of 16 rows / grid points split over the ranks, arrays bitwise identical
EV=(evaluate -truth test.h5 -estimates est.h5,test.h5 -labels pert,exact -eval_batch 16 -eval_save_series -eval_landscape 2
  -eval_landscape_n 21 -quiet)
run 1 "${EV[@]}" -o e1.h5
run 2 "${EV[@]}" -o e2.h5
if h5 <<'PY'; then pass "series and landscape bitwise identical on 1 and 2 ranks; series = simulate's at the same parameters"; else fail "1 vs 2 ranks / series content"; fi
import h5py, numpy as np
a, b = h5py.File("e1.h5"), h5py.File("e2.h5")
ok = True
for p in ["series/pert", "series/exact", "landscape/J", "landscape/theta0", "landscape/theta1", "landscape/zoom/J",
          "landscape/zoom/theta0", "landscape/zoom/theta1"]:
    same = a[p].shape == b[p].shape and np.array_equal(a[p][...], b[p][...], equal_nan=True)
    print(p, a[p].shape, a[p].dtype, "identical" if same else "DIFFERENT")
    ok &= same
ok &= a["series/pert"].dtype == np.float32 and a["series/pert"].shape == (40, 300)
ok &= list(a["series/pert"].attrs["truth_rows"]) == [0, 40]
# -batch 16 in simulate and -eval_batch 16 here: the same batches, so the same float32 series
u = h5py.File("est.h5")["u"][...].astype(np.float32)
d = np.abs(a["series/pert"][...] - u).max()
print("max |series - simulate's u| =", d)
ok &= d == 0
L = a["landscape"]
ok &= L["J"].shape == (21, 21) and L.attrs["parameter_names"] == "theta0,theta1" and int(L.attrs["row"][0]) == 2
ok &= np.isclose(L["theta0"][0], -0.2) and np.isclose(L["theta0"][-1], 1.0) and np.isclose(L["theta1"][-1], 1.2)
# the zoom box holds the truth and both estimates of row 2, inside the prior box
pts = np.array([L.attrs["theta_truth"], a["pert/theta"][2], a["exact/theta"][2]])
zb = L["zoom"].attrs["box"]
print("zoom box", zb, "points", pts.tolist())
ok &= L["zoom/J"].shape == (21, 21) and np.all(pts[:, 0] > zb[0]) and np.all(pts[:, 0] < zb[1]) and np.all(pts[:, 1] > zb[2])
ok &= np.all(pts[:, 1] < zb[3]) and zb[0] >= -0.2 and zb[3] <= 1.2 and zb[1] - zb[0] < 0.6
raise SystemExit(0 if ok else 1)
PY

# J at the truth and at a grid point = evaluate's objective there (one member per TS: -eval_batch 1)
h5 <<'PY'
import numpy as np
g = [0.2 + (0.6 - 0.2) * 3 / 10, 0.3 + (0.8 - 0.3) * 7 / 10]  # the grid point (3, 7) as evaluate computes it
np.savetxt("grid.csv", np.tile(g, (40, 1)), delimiter=",", header="theta0,theta1", comments="", fmt="%.17g")
PY
run 2 simulate -theta_file grid.csv -obs_n $NT -noise_type none -o gridest.h5 -quiet
run 2 evaluate -truth test.h5 -estimates test.h5,gridest.h5 -labels exact,grid -eval_batch 1 -eval_landscape 2 -eval_landscape_n 11 \
  -eval_landscape_box 0.2,0.6,0.3,0.8 -eval_landscape_zoom 0 -o j.h5 -quiet
if h5 <<'PY'; then pass "J_truth and J[3, 7] equal evaluate's objective at the same parameters (bitwise)"; else fail "landscape J vs evaluate's objective"; fi
import h5py, numpy as np
f = h5py.File("j.h5")
L = f["landscape"]
jt, je, jtu = L.attrs["J_truth"][0], f["exact/objective"][2], f["exact/objective_truth"][2]
jg, jge = L["J"][3, 7], f["grid/objective"][2]
print("J_truth", jt, "evaluate objective at the truth", je, "objective_truth (from /u)", jtu)
print("J[3, 7] at", L["theta0"][3], L["theta1"][7], "=", jg, "evaluate objective there", jge)
ok = jt == je and jg == jge and np.isclose(jt, jtu, rtol=1e-4) and "zoom" not in L
ok &= np.isclose(L["theta0"][3], 0.32) and np.isclose(L["theta1"][7], 0.65)
raise SystemExit(0 if ok else 1)
PY

# clean sample (the objective fits the clean /u): the grid minimum is the grid point nearest the truth
run 2 evaluate -truth test.h5 -estimates est.h5 -eval_objective_data u -noise_rho 0 -noise_sigma 0.05 -eval_landscape 2 \
  -eval_landscape_n 41 -eval_timeseries 0 -o clean.h5 -quiet
if h5 <<'PY'; then pass "clean sample: landscape minimum at the grid point nearest the truth (and within a spacing of it on the zoom grid)"; else fail "clean landscape minimum"; fi
import h5py, numpy as np
L = h5py.File("clean.h5")["landscape"]
J, a0, a1 = L["J"][...], L["theta0"][...], L["theta1"][...]
i0, i1 = np.unravel_index(np.nanargmin(J), J.shape)
t = L.attrs["theta_truth"]
h0, h1 = a0[1] - a0[0], a1[1] - a1[0]
print("truth", t, "grid argmin", a0[i0], a1[i1], "J", J[i0, i1], "J_truth", L.attrs["J_truth"][0], "attr", L.attrs["grid_argmin"])
ok = abs(a0[i0] - t[0]) <= 0.5 * h0 + 1e-12 and abs(a1[i1] - t[1]) <= 0.5 * h1 + 1e-12
ok &= np.allclose(L.attrs["grid_argmin"], [a0[i0], a1[i1], J[i0, i1]]) and L.attrs["J_truth"][0] < J[i0, i1]
Z = L["zoom"]
z0, z1 = Z["theta0"][...], Z["theta1"][...]
k0, k1 = np.unravel_index(np.nanargmin(Z["J"][...]), Z["J"].shape)
print("zoom grid argmin", z0[k0], z1[k1], "spacing", z0[1] - z0[0], z1[1] - z1[0])
ok &= abs(z0[k0] - t[0]) <= z0[1] - z0[0] and abs(z1[k1] - t[1]) <= z1[1] - z1[0] and (z0[1] - z0[0]) < h0 / 5
raise SystemExit(0 if ok else 1)
PY

# bad input: clear errors, nothing written
expect_error "landscape row out of range" "-eval_landscape 40: the truth test.h5 has 40 samples" bad.h5 -- 2 evaluate -truth test.h5 -estimates est.h5 -eval_landscape 40 -o bad.h5
expect_error "landscape negative row" "give a row >= 0" bad.h5 -- 1 evaluate -truth test.h5 -estimates est.h5 -eval_landscape -3 -o bad.h5
expect_error "landscape grid size" "-eval_landscape_n must be between 2" bad.h5 -- 1 evaluate -truth test.h5 -estimates est.h5 -eval_landscape 0 -eval_landscape_n 1 -o bad.h5
expect_error "landscape box values" "needs 4 values" bad.h5 -- 1 evaluate -truth test.h5 -estimates est.h5 -eval_landscape 0 -eval_landscape_box 0,1,2 -o bad.h5
expect_error "landscape empty box" "need lower < upper for theta1" bad.h5 -- 2 evaluate -truth test.h5 -estimates est.h5 -eval_landscape 0 -eval_landscape_box 0,1,2,2 -o bad.h5
expect_error "landscape without objective" "drop -eval_objective 0" bad.h5 -- 1 evaluate -truth test.h5 -estimates est.h5 -eval_landscape 0 -eval_objective 0 -o bad.h5
expect_error "landscape without data" "needs the objective's data: est.h5 has no /d" bad.h5 -- 2 evaluate -truth est.h5 -estimates est.h5 -eval_landscape 0 -o bad.h5
expect_error "series without re-simulation" "drop -eval_timeseries 0" bad.h5 -- 1 evaluate -truth test.h5 -estimates est.h5 -eval_save_series -eval_timeseries 0 -o bad.h5
expect_error "reserved label" "reserved name" bad.h5 -- 1 evaluate -truth test.h5 -estimates est.h5 -labels series -o bad.h5
# the help goes to a file first: grep -q closing a pipe early would end invmap with SIGPIPE (a race under pipefail)
run 1 evaluate -help > help.txt 2>&1 || fail "evaluate -help failed"
grep -q -- "-eval_landscape_box" help.txt && pass "-help lists the landscape options" || fail "-help lacks -eval_landscape_box"
finish
