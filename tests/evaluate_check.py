# Independent numpy computation of invmap evaluate's metrics (tests/evaluate_cli.sh): reads raw
# little-endian dumps made by h5dump -b and the summary CSV of invmap evaluate, prints mismatches.
import sys
import numpy as np

def load(name, shape=None, dtype="<f8"):
    a = np.fromfile(name, dtype=dtype)
    return a.reshape(shape) if shape else a

def csv_rows(path):
    lines = open(path).read().strip().split("\n")
    head = lines[0].split(",")
    rows = {}
    for ln in lines[1:]:
        f = ln.split(",")
        rows[f[0]] = {h: (float(v) if i > 1 else v) for i, (h, v) in enumerate(zip(head, f))}
    return rows

def whiten(r, rho, sigma):
    w = np.empty_like(r)
    w[0] = r[0] / sigma
    w[1:] = (r[1:] - rho * r[:-1]) / (sigma * np.sqrt(1 - rho * rho))
    return w

fails = 0
def check(what, got, want, rtol=1e-9, atol=1e-14):
    global fails
    ok = np.isclose(got, want, rtol=rtol, atol=atol)
    print(("ok  " if ok else "FAIL") + f" {what}: evaluate {got!r}, numpy {want!r}")
    if not ok:
        fails += 1

N, nt = int(sys.argv[1]), int(sys.argv[2])
pm = np.array([float(x) for x in sys.argv[3].split(",")])
ps = np.array([float(x) for x in sys.argv[4].split(",")])
rows = csv_rows(sys.argv[5])
theta = load("theta.bin", (N, 2))
u = load("u.bin", (N, nt))
d = load("d.bin", (N, nt))
noise = load("noise.bin", (N, 2))
# the noise's standard deviation is sigma / Delta_t (the truth file's convention noise_scale = dt, which
# tests/evaluate_cli.sh checks): whiten with s, not sigma
t = load("t.bin", (nt,))
s_noise = noise.copy()
s_noise[:, 1] /= (t[-1] - t[0]) / (nt - 1)
names = ["theta0", "theta1"]

def param_metrics(label, est):
    r = rows[label]
    ok = np.all(np.isfinite(est), axis=1)
    check(f"{label} n_nan_estimates", r["n_nan_estimates"], float(np.sum(~ok)))
    e, t = est[ok], theta[ok]
    for j, nm in enumerate(names):
        check(f"{label} median_ape_{nm}", r[f"median_ape_{nm}"], np.median(np.abs(e[:, j] - t[:, j]) / np.abs(t[:, j])))
        r2 = 1 - np.sum((e[:, j] - t[:, j]) ** 2) / np.sum((t[:, j] - t[:, j].mean()) ** 2)
        check(f"{label} r2_{nm}", r[f"r2_{nm}"], r2)
    check(f"{label} median_rel_err", r["median_rel_err"], np.median(np.linalg.norm(e - t, axis=1) / np.linalg.norm(t, axis=1)))
    return ok

# perturbed estimates: their series from invmap simulate -theta_file (same batches: identical integration)
est = load("est_theta.bin", (N, 2))
param_metrics("pert", est)
s = load("est_u.bin", (N, nt))
sb = (s.mean(1) - u.mean(1)) ** 2
cm = (((s - s.mean(1, keepdims=True)) - (u - u.mean(1, keepdims=True))) ** 2).mean(1)
check("pert median_sq_bias", rows["pert"]["median_sq_bias"], np.median(sb), rtol=1e-7)
check("pert median_cmse", rows["pert"]["median_cmse"], np.median(cm), rtol=1e-7)
def J(y, th):
    return np.array([0.5 * np.sum(whiten(d[i] - y[i], *s_noise[i]) ** 2) + 0.5 * np.sum(((th[i] - pm) / ps) ** 2) for i in range(len(th))])
check("pert median_objective", rows["pert"]["median_objective"], np.median(J(s, est)), rtol=1e-7)
check("pert median_objective_truth", rows["pert"]["median_objective_truth"], np.median(J(u, theta)), rtol=1e-9)

# the same estimates with NaN rows
nanest = load("nan_theta.bin", (N, 2))
param_metrics("withnan", nanest)
check("withnan n_valid", rows["withnan"]["n_valid"], float(np.sum(np.all(np.isfinite(nanest), axis=1))))

# estimates = truth
r = rows["exact"]
for k in ["median_ape_theta0", "median_ape_theta1", "median_rel_err", "median_sq_bias", "median_cmse"]:
    check(f"exact {k}", r[k], 0.0, atol=0)
for k in ["r2_theta0", "r2_theta1", "r2_mean"]:
    check(f"exact {k}", r[k], 1.0, atol=0)
check("exact objective = objective at truth", r["median_objective"], r["median_objective_truth"], rtol=0, atol=0)

# MAP on a subset: reference of itself, cost from its file, objective close to the optimiser's
nm = int(sys.argv[6])
r = rows["map"]
check("map n_rows", r["n_rows"], float(nm))
check("map median_mean_rel_err (self reference)", r["median_mean_rel_err"], 0.0, atol=0)
check("map median_cov_rel_err (self reference)", r["median_cov_rel_err"], 0.0, atol=0)
# the cost convention (docs/file-formats.md "Cost"): the map run made nm estimates in solve_seconds on n_ranks ranks
solve, nranks = float(sys.argv[7]), float(sys.argv[8])
check("map n_ranks (the map run's)", r["n_ranks"], nranks, atol=0)
# solve_seconds comes from h5dump, which prints attributes to 6 significant digits: relative tolerance 1e-5
check("map run_wall_seconds = its solve_seconds", r["run_wall_seconds"], solve, rtol=1e-5)
check("map wall_seconds_per_estimate", r["wall_seconds_per_estimate"], solve / nm, rtol=1e-5)
check("map core_seconds_per_estimate = wall x ranks", r["core_seconds_per_estimate"], r["wall_seconds_per_estimate"] * nranks)
check("map objective_evaluations_total", r["objective_evaluations_total"], float(np.sum(load("map_fev.bin", dtype="<i4")[:nm])))
check("map median_objective vs the optimiser's /objective", r["median_objective"], np.median(load("map_obj.bin")[:nm]), rtol=1e-3)
mt = load("map_theta.bin", (nm, 2))
check("pert median_mean_rel_err vs MAP", rows["pert"]["median_mean_rel_err"],
      np.median(np.linalg.norm(est[:nm] - mt, axis=1) / np.linalg.norm(mt, axis=1)))
sys.exit(1 if fails else 0)
