#!/usr/bin/env python3
"""Write the report of an invmap pipeline directory: DIR/report/report.md (and its figures).

Usage: /usr/bin/python3 share/report/report.py DIR [--no-figures]

Reads what the pipeline wrote: DIR/pipeline.tsv (how the run was made, each stage's status, seconds and
options), the evaluation tables DIR/compare.csv (networks and MAP on the MAP subset) and
DIR/eval_<view>.csv (networks on every test sample), and makes the figures with figures.py next to this
script. Where the experiment's networks follow the naming of the published experiments, it builds the
published tables with our measured numbers beside the paper's:
  cnn_<N>_<clean|noisy>   CNN sensitivity table and time-series errors (Rudi et al. 2021, docs/science.md s.5)
  dense8_w<width>         training-cost table (dense, 8 layers, 10^6 samples processed)
  joint_<N>_<time|fourier|both>   joint-inference table: R^2 of theta0, theta1, sigma, rho (jointnll_<N>_<input>:
                          the same with a covariance head, whose coverage of the four targets is tabulated)
Every number of ours comes from the files above; the published numbers are quoted from docs/science.md.
"""
import argparse
import csv
import math
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import calib  # noqa: E402
import meancov  # noqa: E402

# Published figures (docs/science.md section 5): CNN Median-APE (R^2) by N and train/test data.
PAPER_SENSITIVITY = {
    500: {"clean/clean": (0.023, 0.990), "clean/noisy": (0.169, 0.788), "noisy/noisy": (0.098, 0.921)},
    1000: {"clean/clean": (0.014, 0.995), "clean/noisy": (0.174, 0.763), "noisy/noisy": (0.096, 0.938)},
    4000: {"clean/clean": (0.014, 0.997), "clean/noisy": (0.204, 0.710), "noisy/noisy": (0.060, 0.970)},
    8000: {"clean/clean": (0.014, 0.998), "clean/noisy": (0.251, 0.617), "noisy/noisy": (0.053, 0.976)},
}
# Time series with CNN estimates (N = 8000): squared bias, C-MSE.
PAPER_TIMESERIES = {"clean/clean": (2.8e-6, 0.061), "clean/noisy": (1.8e-3, 2.001), "noisy/noisy": (1.2e-3, 0.536)}
# Training cost, dense 8 layers, 10^6 samples: parameters, CPU reference total, CS-2 total, CS-2 train only [s].
PAPER_COST = {32: (39490, 21.0, 178.6, 4.9), 128: (243970, 47.9, 177.6, 4.6), 512: (2352130, 221.6, 191.1, 5.7),
              2048: (31428610, 2576.2, 810.4, 8.9)}
# Joint inference of (theta0, theta1, sigma, rho) with the CNN, R^2 by N and input.
PAPER_JOINT = {
    (1000, "time"): (0.914, 0.812, -0.62, -0.80), (1000, "fourier"): (0.460, 0.577, 0.524, 0.603),
    (1000, "both"): (0.935, 0.856, 0.589, 0.645), (8000, "time"): (0.962, 0.933, 0.627, 0.557),
    (8000, "fourier"): (0.580, 0.797, 0.669, 0.721), (8000, "both"): (0.968, 0.942, 0.684, 0.722),
}
JOINT_TARGETS = ("theta0", "theta1", "sigma", "rho")
JOINT_INPUTS = {"time": "time series", "fourier": "Fourier", "both": "time & Fourier"}
COMBOS = [("clean/clean", "clean", "clean"), ("clean/noisy", "clean", "noisy"), ("noisy/noisy", "noisy", "noisy")]


def fail(msg):
    print(f"report.py: error: {msg}", file=sys.stderr)
    sys.exit(1)


def read_manifest(d):
    path = os.path.join(d, "pipeline.tsv")
    if not os.path.isfile(path):
        fail(f"{path} is missing: is {d} a directory written by invmap pipeline?")
    meta, stages = {}, []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts[0] == "meta" and len(parts) >= 3:
                meta[parts[1]] = parts[2]
            elif parts[0] == "stage" and len(parts) >= 7:
                stages.append(dict(name=parts[1], cmd=parts[2], status=parts[3], seconds=float(parts[4]), out=parts[5],
                                   opts=parts[6]))
    return meta, stages


def read_table(path):
    """An evaluate CSV as {label: {metric: value}} in file order (values float where they parse)."""
    if not os.path.isfile(path):
        return None
    rows = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            conv = {}
            for k, v in r.items():
                try:
                    conv[k] = float(v)
                except (TypeError, ValueError):
                    conv[k] = v
            rows[r["label"]] = conv
    return rows


def fmt(v, digits=3):
    if v is None or isinstance(v, str):
        return "-" if v in (None, "", "nan") else v
    if math.isnan(v):
        return "-"
    if v == 0:
        return "0"
    if float(v).is_integer() and abs(v) < 1e7 and digits == 3:
        return str(int(v))
    a = abs(v)
    return f"{v:.{digits}g}" if 1e-3 <= a < 1e5 else f"{v:.{digits - 1}e}"


def opt_value(opts, name):
    toks = opts.split()
    for i, t in enumerate(toks):
        if t == name and i + 1 < len(toks):
            return toks[i + 1]
    return None


def metric_rows(table):
    """Metrics of an evaluate table worth showing, in a readable order."""
    keys = list(next(iter(table.values())).keys())
    params = [k[len("median_ape_"):] for k in keys if k.startswith("median_ape_")]
    rows = [("samples evaluated", "n_valid")]
    rows += [(f"Median-APE {p}", f"median_ape_{p}") for p in params]
    rows += [("median rel. 2-norm error", "median_rel_err")]
    rows += [(f"R² {p}", f"r2_{p}") for p in params] + [("R² mean", "r2_mean")]
    rows += [("median squared bias (series)", "median_sq_bias"), ("median C-MSE (series)", "median_cmse"),
             ("median MAP objective J reached", "median_objective"), ("median J at the true parameters", "median_objective_truth"),
             ("median rel. error of the mean", "median_mean_rel_err"), ("median rel. error of the covariance", "median_cov_rel_err"),
             ("wall s per estimate", "wall_seconds_per_estimate"), ("core-s per estimate (wall x ranks)", "core_seconds_per_estimate"),
             ("objective evaluations (total)", "objective_evaluations_total")]
    return [(name, k) for name, k in rows if k in keys and any(not (isinstance(r.get(k), float) and math.isnan(r[k])) for r in table.values())]


def table_md(table, caption):
    labels = list(table.keys())
    out = [caption, "", "| metric | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for name, k in metric_rows(table):
        out.append(f"| {name} | " + " | ".join(fmt(table[l].get(k), 4 if k.startswith("r2") else 3) for l in labels) + " |")
    return out + [""]


def sensitivity_md(stages, d):
    nets = {}
    for s in stages:
        m = re.match(r"^train_cnn_(\d+)_(clean|noisy)$", s["name"])
        if m:
            nets[(int(m.group(1)), m.group(2))] = s["name"][len("train_"):]
    if not nets:
        return []
    views = {v: read_table(os.path.join(d, f"eval_{v}.csv")) for v in ("clean", "noisy")}
    out = ["## The CNN sensitivity table (docs/science.md section 5)", "",
           "Each cell: **ours** = median relative 2-norm error [Median-APE θ0 / θ1] (R² mean) on every sample of the test set; "
           "*paper* = Median-APE (R²). Train clean/noisy: the network was trained on the clean series /u or the noisy /d; "
           "test clean/noisy: it predicts from /u or /d of the test set.", "",
           "| N | " + " | ".join(f"{c}: ours | {c}: paper" for c, _, _ in COMBOS) + " |", "|---|" + "---|---|" * len(COMBOS)]
    ns = sorted({n for n, _ in nets})
    for n in ns:
        cells = []
        for combo, tr, te in COMBOS:
            net, tab = nets.get((n, tr)), views.get(te)
            if net and tab and net in tab:
                r = tab[net]
                ours = f"**{fmt(r['median_rel_err'])}** [{fmt(r.get('median_ape_theta0'))} / {fmt(r.get('median_ape_theta1'))}] ({fmt(r['r2_mean'], 4)})"
            else:
                ours = "not run"
            pap = PAPER_SENSITIVITY.get(n, {}).get(combo)
            cells += [ours, f"*{pap[0]} ({pap[1]})*" if pap else "-"]
        out.append(f"| {n} | " + " | ".join(cells) + " |")
    out.append("")
    # time-series errors at the largest N
    n = ns[-1]
    out += [f"### Time-series errors with CNN estimates (N = {n}; paper: N = 8000)", "",
            "| train/test | ours: median sq. bias | ours: median C-MSE | paper: sq. bias | paper: C-MSE |", "|---|---|---|---|---|"]
    for combo, tr, te in COMBOS:
        net, tab = nets.get((n, tr)), views.get(te)
        r = tab.get(net) if (net and tab) else None
        pap = PAPER_TIMESERIES[combo]
        out.append(f"| {combo} | {fmt(r['median_sq_bias']) if r else 'not run'} | {fmt(r['median_cmse']) if r else 'not run'} | "
                   f"*{pap[0]:g}* | *{pap[1]:g}* |")
    return out + [""]


def training_cost_md(stages, meta):
    rows = []
    for s in stages:
        m = re.match(r"^train_dense8_w(\d+)$", s["name"])
        if m and s["status"] in ("done", "reused"):
            rows.append((int(m.group(1)), s))
    if not rows:
        return []
    out = ["## Training cost (docs/science.md section 5: dense, 8 layers, input 1000, 2 outputs, dropout 0.2, 10^6 samples)", "",
           f"Ours: wall time of the whole `invmap train` stage (reading the data, training, validation, writing the model) "
           f"on {meta.get('ranks', '?')} MPI rank(s) of {meta.get('cpu', '?')}. Paper: CPU reference and Cerebras CS-2 totals.", "",
           "| units/layer | epochs x samples | ours total [s] | paper CPU total [s] | paper CS-2 total [s] | paper CS-2 train only [s] |",
           "|---|---|---|---|---|---|"]
    for w, s in sorted(rows):
        ep = opt_value(s["opts"], "-train_epochs") or "?"
        ns = opt_value(s["opts"], "-train_max_samples") or "all"
        pap = PAPER_COST.get(w)
        out.append(f"| {w} | {ep} x {ns} | **{s['seconds']:.1f}** | " + (" | ".join(f"*{x}*" for x in pap[1:]) if pap else "- | - | -") + " |")
    return out + [""]


def joint_md(stages, d):
    """The joint-inference table: R^2 per target of the networks joint_<N>_<input> (and jointnll_<N>_<input>, a
    covariance head) on every test sample (evaluate's table of the first view that evaluated them), the paper's beside
    ours; then the coverage of the covariance heads' Gaussians over the four targets."""
    nets = {}
    for s in stages:
        m = re.match(r"^train_joint(nll)?_(\d+)_(time|fourier|both)$", s["name"])
        if m:
            nets[(int(m.group(2)), m.group(3), bool(m.group(1)))] = s["name"][len("train_"):]
    if not nets:
        return []
    ev = next((s for s in stages if s["cmd"] == "evaluate" and re.match(r"^evaluate_\w+$", s["name"])
               and any(n in (opt_value(s["opts"], "-labels") or "").split(",") for n in nets.values())), None)
    tab = read_table(os.path.join(d, f"eval_{ev['name'][len('evaluate_'):]}.csv")) if ev else None
    view = ev["name"][len("evaluate_"):] if ev else "?"
    out = ["## Joint inference of (theta0, theta1, sigma, rho) (docs/science.md section 5)", "",
           f"R² per target on every sample of the test set ({view} observations); **ours** beside *paper* (the CNN of "
           "[R21]). nll: the same network with a mean + Cholesky head trained by the Gaussian negative log-likelihood "
           "(-train_loss nll); the paper has no such row.", "",
           "| N | input | " + " | ".join(f"{t}: ours | {t}: paper" for t in JOINT_TARGETS) + " |",
           "|---|---|" + "---|---|" * len(JOINT_TARGETS)]
    worse = []
    for (n, inp, nll), net in sorted(nets.items(), key=lambda kv: (kv[0][0], list(JOINT_INPUTS).index(kv[0][1]), kv[0][2])):
        r = tab.get(net) if tab else None
        pap = None if nll else PAPER_JOINT.get((n, inp))
        cells = []
        for k, t in enumerate(JOINT_TARGETS):
            v = r.get(f"r2_{t}") if r else None
            cells += [f"**{fmt(v, 3)}**" if isinstance(v, float) else "not run", f"*{pap[k]}*" if pap else "-"]
            if pap and isinstance(v, float) and round(v, 3) < pap[k]:  # at the paper's 3 decimals
                worse.append(f"N = {n}, {JOINT_INPUTS[inp]}, {t}: {fmt(v, 3)} < {pap[k]}")
        out.append(f"| {n} | {JOINT_INPUTS[inp]}{' (nll)' if nll else ''} | " + " | ".join(cells) + " |")
    out += ["", "Cells where ours is below the paper's: " + ("; ".join(worse) if worse else "none") + ".", ""]
    # coverage of the covariance heads over their targets
    files = dict(zip((opt_value(ev["opts"], "-labels") or "").split(","), (opt_value(ev["opts"], "-estimates") or "").split(","))) \
        if ev else {}
    truth = opt_value(ev["opts"], "-truth") if ev else None
    cov, names = {}, None
    for net in nets.values():
        f = files.get(net)
        if f and truth and os.path.isfile(f) and os.path.isfile(truth) and tab and net in tab:
            c = file_coverage(f, int(tab[net]["n_rows"]), truth)
            if c:
                cov[net], names = c, targets_of(f) or names
    if cov:
        md = coverage_md(cov, names)
        out += ["### Coverage of the covariance heads over the joint targets (every test sample)"] + md[1:]
    return out


# ---- the cost convention, local minima, Laplace coverage and the summary (computed from the pipeline's files) ----

def cost_per_estimate(wall, n, ranks):
    """The cost convention of invmap (docs/file-formats.md "Cost"; InvCostPerEstimate in C): a run that made n
    estimates in `wall` wall-clock seconds on `ranks` MPI ranks costs wall / n wall seconds and wall * ranks / n
    core-seconds per estimate. With n = 1 it gives a one-off run's wall seconds and core-seconds."""
    if not (n > 0 and math.isfinite(wall) and wall >= 0):
        return math.nan, math.nan
    return wall / n, (wall * ranks / n if ranks and ranks > 0 else math.nan)


# J at the true parameters is 1/2 chi-square with n_obs degrees of freedom (plus a prior term of order 1):
# its spread over noise draws is sd = sqrt(n_obs / 2). A MAP estimate at the global minimum has J <= J_truth
# (the minimiser does at least as well as the truth on the same data; typically J_truth - J ~ P/2). A fit
# whose J exceeds J_truth by more than LOCAL_MIN_SDS such standard deviations cannot be explained by the noise
# nor by the optimiser's tolerance: it is stuck in a local minimum (or failed to converge).
LOCAL_MIN_SDS = 3.0
# Median relative errors within 1% of each other are reported as a tie (the summary does not rank noise).
TIE_REL = 0.01


def h5():
    try:
        import h5py  # noqa: F401
        import numpy  # noqa: F401
    except ImportError:
        fail("the report needs numpy and h5py (Debian: python3-h5py); run it with /usr/bin/python3 or -pipeline_python")
    import h5py
    import numpy
    return h5py, numpy


def compare_stage(stages):
    return next((s for s in stages if s["name"] == "compare"), None)


def compare_files(stages):
    """{label: estimate file} of the NN-vs-MAP evaluation (its -labels and -estimates)."""
    ev = compare_stage(stages)
    if ev is None:
        return {}
    return dict(zip((opt_value(ev["opts"], "-labels") or "").split(","), (opt_value(ev["opts"], "-estimates") or "").split(",")))


def is_map(label):
    return label.startswith("map_")


def n_obs_of(truth):
    """Observations per sample of the truth file (times x observed components), as J counts them."""
    h5py, _ = h5()
    with h5py.File(truth, "r") as f:
        u = f["/u"]
        return int(u.shape[1] * (u.shape[2] if u.ndim == 3 else 1))


def local_minima(d, stages, table):
    """{MAP label: (threshold, rows stuck, rows compared)} from the evaluation's per-sample J and J at the truth."""
    ev = compare_stage(stages)
    if ev is None or not os.path.isfile(ev["out"]):
        return None, {}
    h5py, np = h5()
    nobs = n_obs_of(opt_value(ev["opts"], "-truth"))
    thr = LOCAL_MIN_SDS * math.sqrt(nobs / 2.0)
    out = {}
    with h5py.File(ev["out"], "r") as f:
        for lb in table:
            if not is_map(lb) or f"/{lb}/objective" not in f:
                continue
            J, Jt = f[f"/{lb}/objective"][...], f[f"/{lb}/objective_truth"][...]
            ok = np.isfinite(J) & np.isfinite(Jt)
            out[lb] = (thr, [int(i) for i in np.flatnonzero(ok & (J - Jt > thr))], int(ok.sum()))
    return (nobs, thr), out


def targets_of(path):
    """The targets an estimate file names (attribute 'targets' of invmap predict), or None."""
    h5py, _ = h5()
    with h5py.File(path, "r") as f:
        t = f.attrs.get("targets")
    return None if t is None else (t.decode() if isinstance(t, bytes) else str(t)).split(",")


def truth_of(truth, n, targets=None):
    """The true values of the first n samples: /theta, or with targets (an estimate file's) the columns they name,
    model parameters from /theta (by the attribute parameter_names) and rho, sigma from /noise."""
    h5py, np = h5()
    with h5py.File(truth, "r") as f:
        th = f["/theta"][:n].astype(float)
        if targets is None:
            return th
        names = f.attrs.get("parameter_names")
        names = (names.decode() if isinstance(names, bytes) else str(names)).split(",") if names is not None else \
            [f"theta{j}" for j in range(th.shape[1])]
        nz = f["/noise"][:n].astype(float) if "/noise" in f else None
    cols = []
    for t in targets:
        if t in names:
            cols.append(th[:, names.index(t)])
        elif t in ("rho", "sigma") and nz is not None:
            cols.append(nz[:, ("rho", "sigma").index(t)])  # the columns of /noise (InvNoiseParamNames)
        else:
            fail(f"{truth} holds no true values of the target '{t}'")
    return np.stack(cols, 1)


def file_coverage(path, n, truth):
    """Empirical coverage (calib.coverage) of the uncertainty an estimate file carries (calib.gaussian_of_file:
    Laplace /cov, a network's /cov_pred, an ensemble's /theta_std) on its first n rows against the truth of its
    targets (truth_of: /theta, and /noise for rho, sigma); None when the file carries no uncertainty."""
    h5py, np = h5()
    with h5py.File(path, "r") as f:
        g = calib.gaussian_of_file(f, n)
    if g is None:
        return None
    th, C, kind = g
    tr = truth_of(truth, th.shape[0], targets_of(path))
    res = calib.coverage(th, tr, C)
    res["kind"] = kind
    return res


def network_costs(stages, meta, table):
    """One-off costs of the network route per network (simulating the training set, training) from the
    manifest, and its inference cost per estimate from the evaluation table: {net: dict} (core-seconds)."""
    ranks = int(meta.get("ranks", "0") or 0)
    sim = next((s for s in stages if s["name"].startswith("simulate_train")), None)
    out = {}
    for s in stages:
        if s["cmd"] != "train" or not s["name"].startswith("train_"):
            continue
        net = s["name"][len("train_"):]
        if net not in table or sim is None:
            continue
        sw, sc = cost_per_estimate(sim["seconds"], 1, ranks)
        tw, tc = cost_per_estimate(s["seconds"], 1, ranks)
        out[net] = {"sim_wall": sw, "sim_core": sc, "train_wall": tw, "train_core": tc, "oneoff_core": sc + tc,
                    "infer_core": table[net].get("core_seconds_per_estimate", math.nan),
                    "infer_wall": table[net].get("wall_seconds_per_estimate", math.nan), "ranks": ranks}
    return out


def break_even(oneoff, infer, mapc):
    """Estimates beyond which the network route (one-off + n x infer) is cheaper than MAP (n x mapc): the
    smallest integer n with oneoff + n infer < n mapc; None when MAP is never more expensive per estimate."""
    if not all(math.isfinite(v) for v in (oneoff, infer, mapc)) or mapc <= infer:
        return None
    return math.floor(oneoff / (mapc - infer)) + 1


def cost_md(table, nets):
    """Cost per estimate (the convention), the network route's one-off costs and the break-even counts."""
    out = ["## Cost", "",
           "One convention everywhere (map, predict, evaluate, this report; docs/file-formats.md \"Cost\"): **wall s per "
           "estimate** = wall-clock time of the run that made the estimates (solve or inference only, all its ranks "
           "together) / the estimates it made; **core-s per estimate** = wall s per estimate x its MPI ranks.", "",
           "| estimator | ranks | wall s per estimate | core-s per estimate |", "|---|---|---|---|"]
    for lb, r in table.items():
        out.append(f"| {lb} | {fmt(r.get('n_ranks'))} | {fmt(r.get('wall_seconds_per_estimate'))} | "
                   f"{fmt(r.get('core_seconds_per_estimate'))} |")
    out.append("")
    if not nets:
        return out
    out += ["### One-off costs of the network route and break-even against MAP", "",
            "One-off: simulating the training set and training the network (whole stages of pipeline.tsv, wall seconds x "
            "the pipeline's ranks); the test set is needed by both routes and not counted. **Break-even**: the number of "
            "estimates beyond which the network route (simulate + train + n x inference) costs fewer core-seconds than "
            "n MAP estimates, n > one-off / (MAP core-s per estimate - inference core-s per estimate).", "",
            "| network | simulate training set [s wall / core-s] | train [s wall / core-s] | one-off [core-s] | "
            "inference [core-s per estimate] |", "|---|---|---|---|---|"]
    for net, c in nets.items():
        out.append(f"| {net} | {fmt(c['sim_wall'])} / {fmt(c['sim_core'])} | {fmt(c['train_wall'])} / {fmt(c['train_core'])} | "
                   f"{fmt(c['oneoff_core'])} | {fmt(c['infer_core'])} |")
    maps = [lb for lb in table if is_map(lb)]
    out += ["", "| network | " + " | ".join(f"break-even vs {m}" for m in maps) + " |", "|---|" + "---|" * len(maps)]
    for net, c in nets.items():
        cells = []
        for m in maps:
            if m.startswith("map_from_"):
                cells.append(f"n/a ({m} starts from {m[len('map_from_'):]}'s predictions: it pays that network's one-off costs too)")
                continue
            n = break_even(c["oneoff_core"], c["infer_core"], table[m].get("core_seconds_per_estimate", math.nan))
            cells.append(f"**{n}** estimates" if n is not None else "never (MAP is not dearer per estimate)")
        out.append(f"| {net} | " + " | ".join(cells) + " |")
    return out + [""]


def local_min_md(info, lm):
    if not lm:
        return []
    nobs, thr = info
    out = ["## MAP runs stuck in local minima", "",
           f"A MAP estimate is counted as stuck when its objective exceeds J at the true parameters by more than "
           f"{LOCAL_MIN_SDS:g} sd = {LOCAL_MIN_SDS:g} x sqrt(n_obs / 2) = **{thr:.4g}** (n_obs = {nobs}): J at the truth "
           f"is 1/2 chi-square with n_obs degrees of freedom (sd sqrt(n_obs / 2)), and the global minimum has J <= J at "
           f"the truth on the same data, so such a gap is neither noise nor optimiser tolerance.", "",
           "| MAP run | stuck | samples (rows of the test set) |", "|---|---|---|"]
    for lb, (_, rows, n) in lm.items():
        out.append(f"| {lb} | {len(rows)} of {n} | {', '.join(map(str, rows)) or '-'} |")
    return out + [""]


def coverage_md(cov, names):
    if not cov:
        return []
    out = ["## Uncertainty: empirical coverage of the credible regions", "",
           "For every estimate set that carries an uncertainty (MAP: the Laplace approximation /cov; a network with a "
           "covariance head, or an ensemble of them: its Gaussian /cov_pred; an ensemble of mean networks: its spread "
           "/theta_std as a diagonal Gaussian), the fraction of the test samples (finite estimate, positive definite "
           "covariance; MAP status ok) whose true parameters lie in the interval theta_j +- z sd_j per parameter "
           "(z = 0.674, 1, 1.645, 1.96 for 50, 68, 90, 95%), and in the joint ellipse (theta - mean)^T C^-1 "
           "(theta - mean) <= chi-square quantile with P degrees of freedom. Calibrated regions cover about their nominal "
           "level; below it they are overconfident. calibration.png draws the joint coverage at every level.", "",
           "| set | uncertainty | samples | level | " + " | ".join(names) + " | joint ellipse |",
           "|---|---|---|---|" + "---|" * (len(names) + 1)]
    for lb, c in cov.items():
        for level, per, joint in c["levels"]:
            cell = lambda k: f"{k}/{c['n']} = {k / c['n']:.3f}" if c["n"] else "-"  # noqa: E731
            out.append(f"| {lb} | {c['kind']} | {c['n']} | {100 * level:.0f}% | " + " | ".join(cell(k) for k in per) + f" | {cell(joint)} |")
    return out + [""]


def posterior_md(path):
    """'Distance of each Gaussian from the exact grid posterior' from an evaluation file of invmap evaluate
    -eval_posterior_n (its /posterior and /<label>/posterior_w2, posterior_kl): median and max over the samples of
    the 2-Wasserstein distance and KL(grid posterior || Gaussian) per estimate set; [] when the file has none."""
    if not path or not os.path.isfile(path):
        return []
    h5py, np = h5()
    with h5py.File(path, "r") as f:
        if "/posterior" not in f:
            return []
        P = f["/posterior"]
        grid, coarse, passes = (int(v) for v in P.attrs["grid_coarse_passes"])
        edge, peak, nfail = P["edge_mass"][...], P["peak_mass"][...], P["n_failed"][...]
        K = edge.shape[0]
        fin = lambda v: v[np.isfinite(v)]  # noqa: E731
        out = ["## Distance of each Gaussian from the exact grid posterior", "",
               f"For the first {K} samples, the posterior exp(-J) (J the MAP objective: the negative log posterior up to a "
               f"constant) by quadrature on a {grid} x {grid} grid, after a {coarse} x {coarse} grid over the prior's support "
               f"and up to {passes} zoom passes along the posterior's principal axes (mean +- {float(P.attrs['width'][0]):g} sd; "
               f"invmap evaluate -eval_posterior_n). "
               f"W2: the 2-Wasserstein distance between each set's Gaussian and the grid posterior's moment-matched Gaussian "
               f"(in parameter units); KL(grid posterior || Gaussian) by the same quadrature (0: the Gaussian is exact; "
               f"large: skewed, curved or multimodal posteriors, or a misplaced Gaussian). Grid checks: largest posterior "
               f"mass on a zoomed frame's edge {fmt(np.max(fin(edge)) if fin(edge).size else float('nan'))} (a frame that cut the "
               f"posterior shows here), largest single-point mass {fmt(np.max(fin(peak)) if fin(peak).size else float('nan'))} "
               f"(near 1: not resolved), failed grid points {int(np.nansum(nfail))}.", "",
               "| set | Gaussian | samples | W2 median | W2 max | KL median | KL max | KL > 0.1 | worst sample (KL) |",
               "|---|---|---|---|---|---|---|---|---|"]
        labels = (f.attrs["labels"].decode() if isinstance(f.attrs["labels"], bytes) else str(f.attrs["labels"])).split(",")
        for lb in labels:
            if f"/{lb}/posterior_kl" not in f:
                continue
            w, k = f[f"/{lb}/posterior_w2"][...], f[f"/{lb}/posterior_kl"][...]
            kind = f[lb].attrs.get("posterior_gaussian", "?")
            kind = kind.decode() if isinstance(kind, bytes) else str(kind)
            ok = np.isfinite(w) & np.isfinite(k)
            if not ok.any():
                out.append(f"| {lb} | {kind} | 0 | - | - | - | - | - | - |")
                continue
            worst = int(np.flatnonzero(ok)[np.argmax(k[ok])])
            out.append(f"| {lb} | {kind} | {int(ok.sum())} | {fmt(np.median(w[ok]))} | {fmt(np.max(w[ok]))} | {fmt(np.median(k[ok]))} | "
                       f"{fmt(np.max(k[ok]))} | {int((k[ok] > 0.1).sum())} | {worst} ({fmt(k[worst])}) |")
    return out + [""]


def findings_md(table, nets, lm, cov):
    """The short summary at the top of the report, computed from the numbers."""
    if not table:
        return []
    err = {lb: r.get("median_rel_err", math.nan) for lb, r in table.items()}
    ranked = sorted((v, lb) for lb, v in err.items() if isinstance(v, float) and math.isfinite(v))
    if not ranked:
        return []
    best_v, best = ranked[0]
    kind = lambda lb: "MAP" if is_map(lb) else "network"  # noqa: E731
    tied = [lb for v, lb in ranked[1:] if v <= best_v * (1 + TIE_REL)]
    rest = [(v, lb) for v, lb in ranked[1:] if lb not in tied]
    other = [(v, lb) for v, lb in ranked if kind(lb) != kind(best)]
    c = table[best]
    lines = [f"- **Most accurate: {best}** ({kind(best)}), median relative error {fmt(best_v)}"
             + (f" (tied within {100 * TIE_REL:g}% with {', '.join(tied)})" if tied else "")
             + (f", {rest[0][0] / best_v:.3g}x lower than the next, {rest[0][1]} ({fmt(rest[0][0])})" if rest and best_v > 0 else "")
             + (f", and {other[0][0] / best_v:.3g}x lower than the best {kind(other[0][1])}, {other[0][1]} ({fmt(other[0][0])})"
                if other and rest and other[0][1] != rest[0][1] and best_v > 0 else "")
             + f"; it costs {fmt(c.get('wall_seconds_per_estimate'))} wall s ({fmt(c.get('core_seconds_per_estimate'))} core-s) per estimate."]
    if other:
        o = table[other[0][1]]
        ratio = c.get("core_seconds_per_estimate", math.nan) / o.get("core_seconds_per_estimate", math.nan)
        lines.append(f"- Best {kind(other[0][1])}: {other[0][1]}, median relative error {fmt(other[0][0])} at "
                     f"{fmt(o.get('wall_seconds_per_estimate'))} wall s ({fmt(o.get('core_seconds_per_estimate'))} core-s) per estimate"
                     + (f"; {best} costs {ratio:.3g}x as much per estimate." if math.isfinite(ratio) else "."))
    for net, cn in nets.items():
        be = [(m, break_even(cn["oneoff_core"], cn["infer_core"], table[m].get("core_seconds_per_estimate", math.nan)))
              for m in table if is_map(m) and not m.startswith("map_from_")]
        if be:
            lines.append(f"- Network route {net} (one-off {fmt(cn['oneoff_core'])} core-s): cheaper than "
                         + ", ".join(f"{m} beyond {n} estimates" if n is not None else f"{m} never" for m, n in be) + ".")
    for lb, (_, rows, n) in lm.items():
        lines.append(f"- {lb}: {len(rows)} of {n} MAP fits stuck in a local minimum.")
    for lb, cv in cov.items():
        if cv["n"]:
            (l1, _, j1), (l2, _, j2) = cv["levels"][0], cv["levels"][-1]
            lines.append(f"- {lb}: {cv['kind']} ellipses cover the truth in {j1 / cv['n']:.2f} (nominal {l1:.2f}) and "
                         f"{j2 / cv['n']:.2f} (nominal {l2:.2f}) of {cv['n']} samples.")
    return ["## Summary (computed from the numbers below)", ""] + lines + [""]


def option_lines(opts):
    """One option (with its value) per line; values may start with '-' (negative numbers)."""
    lines = []
    for t in opts.split():
        if re.match(r"^-[A-Za-z]", t) or not lines:
            lines.append(t)
        else:
            lines[-1] += " " + t
    return lines


def run_figures(d, stages, outdir):
    """Runs figures.py on the NN-vs-MAP evaluation (or the first evaluation); returns the figures.md text."""
    ev = next((s for s in stages if s["name"] == "compare"), None) or next((s for s in stages if s["cmd"] == "evaluate"), None)
    if ev is None:
        return ["No evaluation stage ran, so there are no figures.", ""]
    models = [s["out"] for s in stages if s["cmd"] == "train" and os.path.isfile(s["out"])]
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "figures.py")
    if not os.path.isfile(script):
        fail(f"{script} is missing")
    args = [sys.executable, script, "--truth", opt_value(ev["opts"], "-truth"), "--estimates", opt_value(ev["opts"], "-estimates"),
            "--labels", opt_value(ev["opts"], "-labels"), "--eval", ev["out"], "--out", outdir]
    if models:
        args += ["--models", ",".join(models)]
    print("report.py: " + " ".join(args), flush=True)
    rc = subprocess.run(args).returncode
    if rc != 0:
        return None
    md = os.path.join(outdir, "figures.md")
    return open(md).read().splitlines() + [""] if os.path.isfile(md) else ["figures.py wrote no figures.md", ""]


# ---- Training through the simulator (docs/science.md section 7, share/experiments/through_simulator.opts) ----
# The estimators compared per problem, by their labels in the comparison evaluations (net: the network trained
# with -train_loss data; sup: a network whose predictions start a MAP run, from_<sup>):
THRU_ROWS = [("(a)", "{net}", "the network trained through the simulator alone"),
             ("(b)", "map_from_{net}", "(a) followed by TAO"),
             ("(c)", "map_mean", "TAO from the prior mean"),
             ("(d)", "map_from_{sup}", "TAO from the supervised network's prediction"),
             ("(e)", "map_multistart", "multistart MAP")]
# Two estimates whose J differ by at most this fraction of J reached the same minimum (TAO's tolerance): measured on
# through_simulator.opts, the TAO runs' J either agree within 1e-4 relative or differ by more than 1e-2.
THRU_TIE_REL = 1e-3


def thru_sets(stages):
    """The comparison stages (compare, compare.<set>) with their truth files, estimate files and row count."""
    out = []
    for s in stages:
        if s["cmd"] != "evaluate" or not re.match(r"^compare(\.\w+)?$", s["name"]) or not os.path.isfile(s["out"]):
            continue
        files = dict(zip((opt_value(s["opts"], "-labels") or "").split(","), (opt_value(s["opts"], "-estimates") or "").split(",")))
        out.append(dict(stage=s, truth=opt_value(s["opts"], "-truth"), files=files, n=int(opt_value(s["opts"], "-eval_n") or 0)))
    return out


def thru_data_epochs(model):
    """Epochs of a model file's data phase: rows of /history_data with a finite mean J (each one forward + adjoint
    solve per training problem); None without /history_data."""
    h5py, np = h5()
    with h5py.File(model, "r") as f:
        if "/history_data" not in f:
            return None
        h = f["/history_data"][...]
        cols = f["/history_data"].attrs["columns"]
    cols = (cols.decode() if isinstance(cols, bytes) else str(cols)).split(",")
    return int(np.isfinite(h[:, cols.index("mean_J")]).sum())


def thru_stats(J, Jc):
    """(problems compared, problems where J < Jc beyond the tie tolerance, ties, median J / Jc) over the problems
    where both are finite."""
    _, np = h5()
    ok = np.isfinite(J) & np.isfinite(Jc)
    if not ok.any():
        return 0, 0, 0, math.nan
    tie = np.abs(J[ok] - Jc[ok]) <= THRU_TIE_REL * np.abs(Jc[ok])
    return int(ok.sum()), int(((J[ok] < Jc[ok]) & ~tie).sum()), int(tie.sum()), float(np.median(J[ok] / Jc[ok]))


def through_simulator_data(stages):
    """Per network trained through the simulator and per comparison set: the per-problem J of each estimator of
    THRU_ROWS present, J at the truth, and the budgets. [] when the experiment's outputs are absent."""
    h5py, np = h5()
    trains = [s for s in stages if s["cmd"] == "train" and s["name"].startswith("train_") and os.path.isfile(s["out"])]
    data_nets = [s for s in trains if opt_value(s["opts"], "-train_loss") == "data"]
    sets = thru_sets(stages)
    res = []
    for tn in data_nets:
        net = tn["name"][len("train_"):]
        epochs = thru_data_epochs(tn["out"])
        trainfile = opt_value(tn["opts"], "-i")
        for cs in sets:
            sup = next((lb[len("map_from_"):] for lb in cs["files"] if lb.startswith("map_from_") and lb != f"map_from_{net}"
                        and lb[len("map_from_"):] not in [t["name"][len("train_"):] for t in data_nets]), None)
            if net not in cs["files"] or "map_mean" not in cs["files"]:
                continue
            training = os.path.abspath(cs["truth"]) == os.path.abspath(trainfile)
            rows, Jt = [], None
            with h5py.File(cs["stage"]["out"], "r") as f:
                for tag, fmt_, what in THRU_ROWS:
                    lb = fmt_.format(net=net, sup=sup)
                    if f"/{lb}/objective" not in f:
                        continue
                    J = f[f"/{lb}/objective"][...].astype(float).ravel()[:cs["n"]]
                    if Jt is None:
                        Jt = f[f"/{lb}/objective_truth"][...].astype(float).ravel()[:cs["n"]]
                    fev, screen = None, None
                    if lb.startswith("map_") and os.path.isfile(cs["files"][lb]):
                        with h5py.File(cs["files"][lb], "r") as m:
                            fev = m["/function_evaluations"][...].astype(float).ravel()[:cs["n"]]
                        st = next((s for s in stages if s["out"] == cs["files"][lb]), None)
                        if lb == "map_multistart":
                            screen = opt_value(st["opts"], "-map_screen") if st else None
                    rows.append(dict(tag=tag, label=lb, what=what, J=J, fev=fev, screen=screen))
            res.append(dict(net=net, sup=sup, set=cs["stage"]["name"], training=training, n=cs["n"],
                            epochs=epochs, rows=rows, Jt=Jt))
    return res


def thru_budget(r, row):
    """The simulator budget of one estimator per problem, in words (forward + adjoint solves)."""
    _, np = h5()
    if row["fev"] is None:  # the network alone
        if r["epochs"] is None:
            return "-"
        if r["training"]:
            return f"{r['epochs']} (one per data-phase epoch)"
        return f"0 new (training paid {r['epochs']} per training problem)"
    fin = row["fev"][row["fev"] >= 0]
    txt = f"median {fmt(float(np.median(fin)))}, max {fmt(float(fin.max()))}" if fin.size else "-"
    if row["label"] == f"map_from_{r['net']}" and r["epochs"] is not None and r["training"]:
        txt = f"(a)'s {r['epochs']} + TAO's {txt}"
    if row["label"] == "map_multistart":
        txt += f" + {row['screen'] or 'the'} forward-only screening solves (-map_screen)"
    return txt


def through_simulator_md(stages, outdir, figures):
    """The report's section on training through the simulator: the table per set, the equal-budget note, the
    verdict on [HT24]'s claim, and (with figures) the scatter plot of J (a) vs J (c)."""
    data = through_simulator_data(stages)
    if not data:
        return []
    _, np = h5()
    md = ["## Training through the simulator (docs/science.md section 7)", "",
          "Per problem, the final MAP objective J (invmap evaluate's, the same definition for every estimator) of "
          "(a) the network trained through the simulator, (b) TAO from (a)'s prediction, (c) TAO from the prior mean, "
          "(d) TAO from the supervised network's prediction, (e) multistart MAP. \"beats (c)\": J < J of (c) on that "
          "problem by more than 0.1% of J (smaller differences: the same minimum, \"same J\"). Budget: simulator solves (forward + adjoint) per problem; TAO's are its function evaluations "
          "(/function_evaluations of the map file, all starts).", ""]
    panels = []
    for r in data:
        c = next(x for x in r["rows"] if x["label"] == "map_mean")
        kind = "training problems" if r["training"] else "held-out problems"
        md += [f"### {r['net']}: the first {r['n']} {kind} ({r['set']})", "",
               "| estimator | label | median J | beats (c) | same J as (c) | median J / J(c) | budget per problem |",
               "|---|---|---|---|---|---|---|"]
        for x in r["rows"]:
            n, k, t, ratio = thru_stats(x["J"], c["J"])
            beats = "-" if x is c else f"{k} of {n} ({100.0 * k / n:.0f}%)" if n else "-"
            md.append(f"| {x['tag']} {x['what']} | {x['label']} | {fmt(float(np.nanmedian(x['J'])))} | {beats} | "
                      f"{'-' if x is c else t} | {'-' if x is c else fmt(ratio, 4)} | {thru_budget(r, x)} |")
        md.append(f"| J at the true parameters | | {fmt(float(np.nanmedian(r['Jt'])))} | | | | |")
        a = r["rows"][0]
        n, k, _, _ = thru_stats(a["J"], c["J"])
        if r["training"] and r["epochs"] is not None and c["fev"] is not None:
            over = int((c["fev"] > r["epochs"]).sum())
            md += ["", f"Equal budgets: (a) spent {r['epochs']} forward + adjoint solves on each training problem; (c) spent a median "
                       f"of {fmt(float(np.median(c['fev'])))}, more than {r['epochs']} on {over} of {c['fev'].size} problems"
                   + (", so (c) capped at (a)'s budget is (c) itself: the comparison is at equal or smaller budget for TAO."
                      if over == 0 else "; those problems would stop earlier under (a)'s budget.")]
        if r["training"] and n:
            holds = k > n / 2
            md += ["", f"**[HT24]'s claim (the network beats BFGS from the same start on most of its own training problems) "
                       f"{'holds' if holds else 'does not hold'} here**: (a) beats (c) on {k} of {n} training problems "
                       f"({100.0 * k / n:.0f}%)."]
        md.append("")
        panels.append((f"{r['net']}, {kind}", a["J"], c["J"]))
    if figures and panels:
        import figures as figs  # noqa: E402 (matplotlib only when drawing)
        name = figs.fig_through_simulator(panels, outdir, THRU_TIE_REL)
        md += [f"![J per problem: the network trained through the simulator (a) against TAO from the prior mean (c); "
               f"points above the diagonal are problems the network alone solved better]({name})", ""]
    return md


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", help="pipeline directory (holds pipeline.tsv)")
    ap.add_argument("--no-figures", action="store_true", help="tables only")
    a = ap.parse_args()
    d = a.dir
    meta, stages = read_manifest(d)
    outdir = os.path.join(d, "report")
    os.makedirs(outdir, exist_ok=True)

    md = [f"# invmap report: experiment `{meta.get('experiment', '?')}`", "",
          f"- command: `{meta.get('command', '?')}` on {meta.get('ranks', '?')} MPI rank(s), started {meta.get('started', '?')}",
          f"- machine: {meta.get('host', '?')}, {meta.get('cpu', '?')}",
          f"- versions: invmap {meta.get('invmap', '?')}; {meta.get('petsc', '?').strip()}; {meta.get('mpi', '?')}; HDF5 {meta.get('hdf5', '?')}; "
          f"{meta.get('openblas', '?')}; {meta.get('fftw', '?')}",
          f"- outputs: `{os.path.abspath(d)}`; how each was made: `pipeline.tsv`", ""]
    cmp_tab = read_table(os.path.join(d, "compare.csv"))
    nets, lm_info, lm, cov = {}, None, {}, {}
    if cmp_tab:
        nets = network_costs(stages, meta, cmp_tab)
        lm_info, lm = local_minima(d, stages, cmp_tab)
        files = compare_files(stages)
        truth = opt_value(next(s for s in stages if s["name"] == "compare")["opts"], "-truth")
        for lb in cmp_tab:
            if lb in files and os.path.isfile(files[lb]) and os.path.isfile(truth):
                c = file_coverage(files[lb], int(cmp_tab[lb]["n_rows"]), truth)
                if c:
                    cov[lb] = c
        md += findings_md(cmp_tab, nets, lm, cov)
    if cmp_tab:
        ev = next(s for s in stages if s["name"] == "compare")
        n = opt_value(ev["opts"], "-eval_n")
        data = "clean series /u" if opt_value(ev["opts"], "-eval_objective_data") == "u" else "noisy series /d"
        md += table_md(cmp_tab, f"## Networks and MAP on the first {n} test samples ({data})\n\n"
                                f"MAP objective J: AR(1)-whitened misfit + prior term (docs/science.md section 6); cost per estimate as in the "
                                f"Cost section (wall s of the predict or map run, all MAP starts, / the estimates it made; core-s = wall s x "
                                f"ranks); map_from_<net> excludes the network's own cost.")
    for s in stages:
        m = re.match(r"^evaluate_(\w+)$", s["name"])
        tab = read_table(os.path.join(d, f"eval_{m.group(1)}.csv")) if m else None
        if tab:
            md += table_md(tab, f"## Networks on every test sample ({m.group(1)} observations)")
    if cmp_tab:
        names = [k[len("median_ape_"):] for k in next(iter(cmp_tab.values())) if k.startswith("median_ape_")]
        md += cost_md(cmp_tab, nets) + local_min_md(lm_info, lm) + coverage_md(cov, names)
        md += posterior_md((compare_stage(stages) or {}).get("out"))
    md += through_simulator_md(stages, outdir, not a.no_figures)
    md += sensitivity_md(stages, d)
    md += meancov.meancov_md(stages, d)
    md += training_cost_md(stages, meta)
    md += joint_md(stages, d)

    md += ["## Stages", "", "| stage | status | seconds | command |", "|---|---|---|---|"]
    total = 0.0
    for s in stages:
        if s["cmd"] == "report":
            continue
        total += s["seconds"] if s["status"] in ("done", "reused") else 0
        md.append(f"| {s['name']} | {s['status']} | {s['seconds']:.1f} | `invmap {s['cmd']} {s['opts']}` |")
    md += [f"| total | | {total:.1f} | ('reused': made by an earlier run of the same pipeline, with its time then) |", ""]

    figs_ok = True
    if not a.no_figures:
        figs = run_figures(d, stages, outdir)
        if figs is None:
            figs_ok = False
            figs = ["**figures.py failed; see its messages in the pipeline's output.**", ""]
        md += ["## Figures", ""] + figs
    md += ["## Experiment options", "", "```"] + option_lines(meta.get("options", "")) + ["```", "",
           f"Default experiment merged under these options: `{meta.get('default_experiment', '-')}`.", ""]

    path = os.path.join(outdir, "report.md")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(md))
    os.replace(path + ".tmp", path)
    print(f"report.py: wrote {path}")
    if not figs_ok:
        fail("figures.py failed")


if __name__ == "__main__":
    main()
