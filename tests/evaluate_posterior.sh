# invmap evaluate -eval_posterior_n (issue 12, exact posteriors) on the linear-Gaussian test model lingauss, whose
# outputs are linear in (a, b): with the Gaussian prior and AR(1) noise its posterior is exactly Gaussian and
# invmap map's Gauss-Newton Laplace approximation is exact. Checks: lingauss's derivatives; the grid posterior's
# mean and covariance equal the Laplace ones and a closed-form posterior computed here with numpy; W2 and KL of
# the Laplace Gaussian are ~0; a wrong Gaussian (covariance doubled) and an ensemble-spread Gaussian have the
# closed-form Gaussian W2 and KL; a coarser grid and 1 vs 2 ranks agree; bad input is refused.
source "$INVMAP_SRC/tests/lib.sh"
N=8
NT=200
h5() { $PYTHON - "$@"; }

run 1 model -model lingauss -obs_n 50 >model.log 2>&1 && (($(grep -c ' ok$' model.log) == 3)) &&
  pass "invmap model -model lingauss: jacobian, jacobianp and the adjoint gradient agree with finite differences" ||
  { cat model.log; fail "invmap model -model lingauss"; }

run 2 simulate -model lingauss -n $N -seed 5 -obs_n $NT -o test.h5 -quiet
run 2 map -i test.h5 -o map.h5 -map_hessian gn -quiet
# a wrong Gaussian (the Laplace covariance doubled) and a predict-like file with an ensemble spread (/theta_std =
# the Laplace standard deviations: a diagonal covariance that drops the correlation)
h5 <<'PY'
import h5py, numpy as np
m = h5py.File("map.h5")
with h5py.File("wrong.h5", "w") as w:
    w["theta_map"], w["cov"], w["status"] = m["theta_map"][...], 2 * m["cov"][...], m["status"][...]
with h5py.File("spread.h5", "w") as w:
    w["theta_pred"] = m["theta_map"][...]
    w["theta_std"] = np.sqrt(np.diagonal(m["cov"][...], axis1=1, axis2=2))
PY
EV=(evaluate -truth test.h5 -estimates map.h5,wrong.h5,spread.h5 -labels laplace,wrong,spread -eval_posterior_n $N -eval_timeseries 0)
run 2 "${EV[@]}" -o post.h5 >post.log || { cat post.log; fail "evaluate -eval_posterior_n"; }
run 1 "${EV[@]}" -o post1.h5 -quiet
run 2 "${EV[@]}" -eval_posterior_grid 41 -o post41.h5 -quiet
# a first grid of 5 x 5 points (spacing 1.25, 25 posterior sd) misses the posterior's peak: an estimate's Gaussian seeds the zoom
run 2 "${EV[@]}" -eval_posterior_coarse 5 -o post5.h5 -quiet
grep -q "grid posterior of the first $N samples" post.log && pass "evaluate prints the grid posterior's table" || fail "no table"

if h5 <<'PY'; then pass "grid posterior = Laplace = closed form; W2, KL of the Laplace Gaussian ~0; wrong/spread Gaussians' W2, KL = closed form"; else fail "grid posterior on lingauss"; fi
import h5py, numpy as np
f, m, t = h5py.File("post.h5"), h5py.File("map.h5"), h5py.File("test.h5")
ok = True
def check(cond, what):
    global ok
    print(("ok: " if cond else "FAIL: ") + what)
    ok &= bool(cond)
N = 8
gm, gC = f["posterior/mean"][...], f["posterior/cov"][...]
lm, lC = m["theta_map"][:N], m["cov"][:N]
check(np.all(m["status"][:N] == 0), "every MAP converged")
# closed form: y = A theta with A = [sin t, 1 - cos t] (x' = a cos t + b sin t, x(0) = 0); J = 1/2 |W (d - A theta)|^2
# + 1/2 sum ((theta - mu) / sd)^2 with the AR(1) whitening W of docs/science.md section 6 and s = sigma / Delta_t
tt, d, noise = t["t"][...], t["d"][:N], t["noise"][:N]
assert t.attrs["noise_scale"] == "dt"
dt = float(t.attrs["noise_obs_dt"][0])
A = np.stack([np.sin(tt), 1 - np.cos(tt)], 1)
mu, sd = t.attrs["prior_mean"], t.attrs["prior_sd"]
cm, cC = np.zeros((N, 2)), np.zeros((N, 2, 2))
for i in range(N):
    rho, s = noise[i, 0], noise[i, 1] / dt
    W = np.eye(len(tt)) / (s * np.sqrt(1 - rho ** 2))
    W[0, 0] = 1 / s
    W[np.arange(1, len(tt)), np.arange(len(tt) - 1)] = -rho / (s * np.sqrt(1 - rho ** 2))
    WA = W @ A
    H = WA.T @ WA + np.diag(1 / sd ** 2)
    cC[i] = np.linalg.inv(H)
    cm[i] = cC[i] @ (WA.T @ (W @ d[i]) + mu / sd ** 2)
psd = np.sqrt(np.diagonal(cC, axis1=1, axis2=2))
# Tolerances. The quadrature itself is near exact here: the trapezoid rule (along the principal axes) with spacing h = 12 sd / 80
# errs by ~exp(-2 pi^2 sd^2 / h^2) (< 1e-300), the box cuts the mass beyond +- 6 sd (edge_mass ~2e-9, checked below),
# changing the covariance by ~1e-7 relative. What remains are the forward solves (RK 6vr at rtol 3e-7 on outputs of
# size ~1, against noise of standard deviation ~0.35: ~1e-6 sd in the mean) and TAO's convergence of the MAP point
# (its default gradient tolerance: observed ~1e-8 sd). Bounds: means within 1e-3 posterior sd, covariances within
# 1e-4 relative (Frobenius), the Laplace Gaussian's W2 below 1e-3 of the posterior's size sqrt(tr C) and its KL
# (~ the squared mean error in sd / 2 + the squared covariance error / 4) below 1e-5.
def merr(a, b): return np.max(np.abs(a - b) / psd)
def cerr(a, b): return np.max(np.linalg.norm(a - b, axis=(1, 2)) / np.linalg.norm(b, axis=(1, 2)))
check(merr(gm, cm) < 1e-3, f"grid mean = closed form: max |diff| / sd = {merr(gm, cm):.2e}")
check(merr(lm, cm) < 1e-3, f"Laplace mean = closed form: {merr(lm, cm):.2e}")
check(cerr(gC, cC) < 1e-4, f"grid covariance = closed form: max rel. diff {cerr(gC, cC):.2e}")
check(cerr(lC, cC) < 1e-4, f"Laplace covariance = closed form: {cerr(lC, cC):.2e}")
size = np.sqrt(np.trace(cC, axis1=1, axis2=2))
w2, kl = f["laplace/posterior_w2"][...], f["laplace/posterior_kl"][...]
check(np.all(w2 / size < 1e-3), f"W2(Laplace, grid) / sqrt(tr C) <= {np.max(w2 / size):.2e}")
check(np.all(np.abs(kl) < 1e-5), f"KL(grid || Laplace) max |.| = {np.max(np.abs(kl)):.2e}")
edge, peak = f["posterior/edge_mass"][...], f["posterior/peak_mass"][...]
check(np.all(edge < 1e-7) and np.all(peak < 1e-2), f"box does not cut the posterior (edge mass <= {edge.max():.1e}), grid resolves it "
      f"(largest point mass {peak.max():.1e})")
check(np.all(f["posterior/n_failed"][...] == 0), "no failed grid points")
# closed-form Gaussian W2 and KL against the grid's moments
def w2g(m1, C1, m2, C2):
    r = np.linalg.cholesky(C2)  # any square root B of C2 gives the same trace of (B^T C1 B)^1/2
    ev = np.linalg.eigvalsh(r.T @ C1 @ r)
    return np.sqrt(max(np.sum((m1 - m2) ** 2) + np.trace(C1 + C2) - 2 * np.sum(np.sqrt(ev)), 0))
def klg(mp, Cp, mq, Cq):
    iq = np.linalg.inv(Cq)
    return 0.5 * (np.trace(iq @ Cp) - 2 + (mq - mp) @ iq @ (mq - mp) + np.log(np.linalg.det(Cq) / np.linalg.det(Cp)))
sp = h5py.File("spread.h5")["theta_std"][...]
for lab, qm, qC in [("wrong", lm, 2 * lC), ("spread", lm, np.einsum("ij,jk->ijk", sp ** 2, np.eye(2)))]:
    ew = np.array([w2g(qm[i], qC[i], gm[i], gC[i]) for i in range(N)])
    ek = np.array([klg(gm[i], gC[i], qm[i], qC[i]) for i in range(N)])
    gw, gk = f[lab + "/posterior_w2"][...], f[lab + "/posterior_kl"][...]
    # the KL by quadrature differs from the Gaussian formula by the grid's non-Gaussianity (here the quadrature's
    # ~1e-7) times log q's range over the posterior (~10): 1e-5 relative
    check(np.allclose(gw, ew, rtol=1e-6) and np.allclose(gk, ek, rtol=1e-5), f"{lab}: W2 {gw[:2]} = {ew[:2]}, KL {gk[:2]} = {ek[:2]}")
    check(f[lab].attrs["posterior_gaussian"] == ("Laplace" if lab == "wrong" else "ensemble spread"), f"{lab}: kind recorded")
check(np.allclose(f["wrong/posterior_kl"][...], 0.5 * (np.log(4) - 1), rtol=1e-4), "doubled covariance: KL = (ln 4 - 1) / 2")
# 1 vs 2 ranks: the same grid batches, bitwise the same; 41 vs 81 points: the same within the tolerances above
g1, g41 = h5py.File("post1.h5"), h5py.File("post41.h5")
for p in ["posterior/mean", "posterior/cov", "posterior/frame", "posterior/passes", "laplace/posterior_w2", "wrong/posterior_kl"]:
    check(np.array_equal(f[p][...], g1[p][...]), p + ": 1 and 2 ranks identical")
check(merr(g41["posterior/mean"][...], gm) < 1e-3 and cerr(g41["posterior/cov"][...], gC) < 1e-4 and
      np.allclose(g41["wrong/posterior_kl"][...], f["wrong/posterior_kl"][...], rtol=1e-4), "41 x 41 grids agree with 81 x 81")
check(list(f["posterior"].attrs["grid_coarse_passes"]) == [81, 41, 8], "grid sizes recorded")
g5 = h5py.File("post5.h5")
seed = g5["posterior/seeded_by"][...]
check(np.any(seed >= 0) and np.all(np.isin(seed, [-1, 0])), f"5 x 5 first grid: zoom seeded by the Laplace Gaussian (set 0) on {int(np.sum(seed >= 0))} "
      f"of {N} samples")
check(merr(g5["posterior/mean"][...], cm) < 1e-3 and cerr(g5["posterior/cov"][...], cC) < 1e-4, "seeded posterior = closed form")
raise SystemExit(0 if ok else 1)
PY

# the report's table (share/report/report.py, posterior_md) from this evaluation file
INVMAP_SHARE="$INVMAP_SRC/share/report" h5 <<'PY' && pass "report.py posterior_md: one row per Gaussian" || fail "report.py posterior_md"
import os, sys
sys.path.insert(0, os.environ["INVMAP_SHARE"])
import report
md = report.posterior_md("post.h5")
print("\n".join(md))
rows = [l for l in md if l.startswith("| laplace |") or l.startswith("| wrong |") or l.startswith("| spread |")]
ok = md[0] == "## Distance of each Gaussian from the exact grid posterior" and len(rows) == 3
ok &= "| wrong | Laplace | 8 |" in rows[1] and "| 0.193 | 0.193 | 8 |" in rows[1] and report.posterior_md("test.h5") == []
raise SystemExit(0 if ok else 1)
PY

# refusals
run 1 simulate -model fhn3 -n 2 -obs_n 20 -o fhn3.h5 -quiet
expect_error "grid size" "eval_posterior_grid must be between 5 and 4096" bad.h5 -- 1 "${EV[@]}" -eval_posterior_grid 3 -o bad.h5
expect_error "coarse size" "eval_posterior_coarse must be between" bad.h5 -- 1 "${EV[@]}" -eval_posterior_coarse 5000 -o bad.h5
expect_error "passes" "eval_posterior_passes must be between 0" bad.h5 -- 1 "${EV[@]}" -eval_posterior_passes 11 -o bad.h5
expect_error "width" "eval_posterior_width must be positive" bad.h5 -- 1 "${EV[@]}" -eval_posterior_width 0 -o bad.h5
expect_error "negative n" "eval_posterior_n must be >= 0" bad.h5 -- 1 "${EV[@]}" -eval_posterior_n -1 -o bad.h5
expect_error "n > samples" "eval_posterior_n 9: the truth test.h5 has 8 samples" bad.h5 -- 1 "${EV[@]}" -eval_posterior_n 9 -o bad.h5
expect_error "without the objective" "drop -eval_objective 0" bad.h5 -- 1 "${EV[@]}" -eval_objective 0 -o bad.h5
expect_error "reserved label" "reserved name" bad.h5 -- 1 evaluate -truth test.h5 -estimates map.h5 -labels posterior -eval_posterior_n 2 -o bad.h5
expect_error "three parameters" "two-dimensional.*fhn3 has 3 parameters" bad.h5 -- 1 evaluate -truth fhn3.h5 -estimates fhn3.h5 \
  -eval_posterior_n 2 -eval_timeseries 0 -o bad.h5
finish
