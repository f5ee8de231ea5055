"""The mean-and-covariance table of docs/science.md section 5 for report.py (experiment meancov): networks
trained by moment matching on Laplace targets (pipeline stages laplace_train_<view>) against the Laplace
approximations of the test set (stages laplace_test_<view>), beside the paper's numbers, with the calibration
of the networks' covariances against the true parameters."""
import os
import re

import calib

# Median relative errors of the mean and of the covariance (docs/science.md sections 4 and 5).
PAPER_MEANCOV = {"clean/clean": (0.032, 0.124), "clean/noisy": (0.215, 0.229), "noisy/noisy": (0.093, 0.161)}
MEANCOV_COMBOS = [("clean/clean", "clean", "clean"), ("clean/noisy", "clean", "noisy"), ("noisy/noisy", "noisy", "noisy")]


def fmt3(v):
    return "-" if v is None else f"{v:.3f}"


def meancov_errors(pred, ref):
    """Median over the test samples with a Laplace reference (MAP status 0) of ||m - theta_map||_2 / ||theta_map||_2
    and ||S - C||_F / ||C||_F (docs/science.md section 4), and the samples used."""
    import h5py
    import numpy as np
    with h5py.File(ref, "r") as f:
        mu, C, ok = f["/theta_map"][...], f["/cov"][...], f["/status"][...] == 0
    with h5py.File(pred, "r") as f:
        if "/cov_pred" not in f:
            return None
        m, S = f["/theta_pred"][...][: len(mu)], f["/cov_pred"][...][: len(mu)]
    ok &= np.isfinite(C).all((1, 2)) & np.isfinite(S).all((1, 2))
    em = np.linalg.norm(m[ok] - mu[ok], axis=1) / np.linalg.norm(mu[ok], axis=1)
    ec = np.linalg.norm(S[ok] - C[ok], axis=(1, 2)) / np.linalg.norm(C[ok], axis=(1, 2))
    return float(np.median(em)), float(np.median(ec)), int(ok.sum())


def meancov_md(stages, d):
    byname = {s["name"]: s for s in stages}
    refs = {m.group(1): s["out"] for s in stages for m in [re.match(r"^laplace_test_(clean|noisy)$", s["name"])] if m}
    nets = {}  # training view -> network
    for s in stages:
        m = re.match(r"^train_(\w+)$", s["name"])
        v = re.search(r"-i \S+_laplace_(clean|noisy)\.h5", s["opts"]) if m else None
        if v:
            nets.setdefault(v.group(1), m.group(1))
    if not refs or not nets:
        return []
    out = ["## Mean and covariance against Laplace targets (docs/science.md section 5)", "",
           "Networks with the mean + Cholesky head trained by moment matching on Laplace targets (MAP point and Gauss-Newton "
           "Laplace covariance of every training sample, stage laplace_train_<view>), compared with the Laplace approximation "
           "of every test sample (stage laplace_test_<view>; samples whose MAP failed are left out): median over the test set "
           "of ||m - theta_map||_2 / ||theta_map||_2 (mean) and ||S - C||_F / ||C||_F (covariance).", "",
           "| train / test | network | samples | mean: ours | mean: paper | covariance: ours | covariance: paper |",
           "|---|---|---|---|---|---|---|"]
    cal = {}
    for combo, tr, te in MEANCOV_COMBOS:
        net = nets.get(tr)
        st = byname.get(f"predict_{net}_{te}") if net else None
        e = meancov_errors(st["out"], refs[te]) if st and te in refs and os.path.isfile(st["out"]) else None
        pap = PAPER_MEANCOV[combo]
        if e:
            out.append(f"| {combo} | {net} | {e[2]} | **{fmt3(e[0])}** | *{pap[0]}* | **{fmt3(e[1])}** | *{pap[1]}* |")
            truth = os.path.join(d, "test.h5")
            c = None
            import h5py
            with h5py.File(st["out"], "r") as f:
                g = calib.gaussian_of_file(f, f["/theta_pred"].shape[0])
            if g is not None and os.path.isfile(truth):
                with h5py.File(truth, "r") as f:
                    c = calib.coverage(g[0], f["/theta"][: g[0].shape[0]].astype(float), g[1])
            if c:
                cal[f"{combo} ({net})"] = c
        else:
            out.append(f"| {combo} | {net or '-'} | - | not run | *{pap[0]}* | not run | *{pap[1]}* |")
    out.append("")
    if cal:
        P = next(iter(cal.values()))["P"]
        out += ["### Calibration of the networks' covariances (true parameters of the test set)", "",
                "Fraction of the test samples whose true parameters lie in theta_j +- z sd_j of the predicted Gaussian, and in its "
                "joint ellipse (as in the coverage table of report.py). Moment matching fits the Laplace covariance, so the "
                "coverage is that of the Laplace approximation where the fit is good.", "",
                "| train / test | samples | level | " + " | ".join(f"theta{j}" for j in range(P)) + " | joint ellipse |",
                "|---|---|---|" + "---|" * (P + 1)]
        for lb, c in cal.items():
            for level, per, joint in c["levels"]:
                cell = lambda k: f"{k / c['n']:.3f}" if c["n"] else "-"  # noqa: E731
                out.append(f"| {lb} | {c['n']} | {100 * level:.0f}% | " + " | ".join(cell(k) for k in per) + f" | {cell(joint)} |")
        out.append("")
    return out
