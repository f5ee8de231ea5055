#!/usr/bin/python3
"""Figures of the invmap report (issue 5), drawn from the HDF5 outputs with Debian's matplotlib (Agg).

Run with /usr/bin/python3 (it has matplotlib, h5py and numpy):

  figures.py --truth test.h5 --eval eval.h5 --out DIR [--labels cnn,map,...] [--estimates cnn_pred.h5,map.h5,...]
             [--models cnn.h5,dense.h5]

writes into DIR
  scatter.png          estimated vs true parameters, one panel per parameter, every estimate set overlaid,
                       R^2 and Median-APE from eval.h5's /summary in the legend
  series_<label>.png   data, clean truth and the series re-simulated at the estimate for the best, typical
                       (median) and worst sample of each set by series MSE (needs invmap evaluate -eval_save_series)
  training.png         train and validation loss per epoch of each model file with /history (log scale)
  comparison.png       Median-APE per parameter and wall s per estimate of each set (log scales)
  landscape.png        log10 of the MAP objective of one sample over the prior box and over the zoom box around the
                       truth, with the truth and each set's estimate marked (needs invmap evaluate -eval_landscape)
  calibration.png      nominal vs empirical coverage of the credible ellipses of every set that carries an
                       uncertainty (Laplace, network Gaussian, ensemble spread; needs --estimates)
  corner.png           every pair of parameters: below the diagonal one sample's truth, estimates and their Gaussian
                       68%/95% ellipses (Laplace /cov of invmap map, /cov_pred of a network with a covariance head),
                       on the diagonal their marginal densities, above it the errors (estimate - truth) of every
                       evaluated sample (needs --estimates for the covariances)
  figures.md           a markdown fragment: one ![caption](file.png) per written figure
and prints one line per written file. Optional inputs that are absent (series, landscape, /history) skip their
figure with a printed note; a missing or malformed input file is an error (exit status 2).
--labels selects and orders the estimate sets of eval.h5 (default: all); --estimates, if given, are the files
those sets were evaluated from (checked against eval.h5).
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import patheffects  # noqa: E402
from matplotlib.patches import ConnectionPatch, Ellipse, Rectangle  # noqa: E402
from matplotlib.ticker import LogFormatterSciNotation, MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import calib  # noqa: E402
import figdata  # noqa: E402

MARKERS = {"NN": ["o", "s", "^", "v"], "MAP": ["x", "+", "1", "2"], "estimate": ["D", "*", "p", "h"]}
DPI = 120
FILLED = "osv^Dph*"
# landscape markers: sizes in points, shrinking from set to set so that coincident estimates stay visible
MARKER_MAX, MARKER_STEP, MARKER_MIN = 22, 4, 8
# a zoom box narrower than this fraction of the full box gets a larger circle around it on the full panel
ZOOM_MIN_FRAC = 0.12
UNIT = [""]  # units of the parameters: " (dimensionless)" for FitzHugh-Nagumo, unknown for other models


def style(sets):
    """A colour and a marker per estimate set, the same in every figure (markers by kind: NN o s ^, MAP x +)."""
    count = {}
    for i, s in enumerate(sets):
        k = count.get(s["kind"], 0)
        count[s["kind"]] = k + 1
        s["color"] = plt.get_cmap("tab10")(i % 10)
        s["marker"] = MARKERS[s["kind"]][k % 4]


def fmt(v, spec=".3g"):
    return "n/a" if v is None or not np.isfinite(v) else format(v, spec)


def save(fig, out, name, written):
    path = os.path.join(out, name)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    print(f"figures: wrote {path}")
    written.append(name)


def fig_scatter(truth, ev, out, written, captions):
    names, sets = ev["names"], ev["sets"]
    P = len(names)
    fig, axes = plt.subplots(1, P, figsize=(6 * P, 5.6), squeeze=False)
    for j, ax in enumerate(axes[0]):
        lo, hi = np.inf, -np.inf
        for s in sets:
            n = s["theta"].shape[0]
            x, y = truth["theta"][:n, j], s["theta"][:, j]
            ok = np.isfinite(x) & np.isfinite(y)
            sm = s["summary"]
            lab = (f"{s['label']} ({s['kind']}, n={ok.sum()})\nR$^2$ = {fmt(sm.get('r2_' + names[j]), '.3f')}, "
                   f"Median-APE = {fmt(sm.get('median_ape_' + names[j]))}")
            nn = s["kind"] == "NN"
            if s["marker"] in FILLED:
                ax.scatter(x[ok], y[ok], s=20, marker=s["marker"], label=lab, alpha=0.5 if nn and n > 100 else 0.85, linewidths=1.0,
                           facecolors="none", edgecolors=s["color"], zorder=3 if nn else 4)
            else:
                ax.scatter(x[ok], y[ok], s=45, marker=s["marker"], label=lab, alpha=0.9, linewidths=1.6, c=[s["color"]],
                           zorder=3 if nn else 4)
            if ok.any():
                lo, hi = min(lo, x[ok].min(), y[ok].min()), max(hi, x[ok].max(), y[ok].max())
        if np.isfinite(lo):
            pad = 0.04 * (hi - lo)
            ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.3", lw=1, ls="--", label="identity", zorder=2)
            ax.set_xlim(lo - pad, hi + pad)
            ax.set_ylim(lo - pad, hi + pad)
        ax.set_aspect("equal")
        ax.grid(alpha=0.3)
        ax.set_xlabel(f"true {names[j]}{UNIT[0]}")
        ax.set_ylabel(f"estimated {names[j]}{UNIT[0]}")
        ax.set_title(f"{names[j]}: estimate vs truth")
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
    fig.suptitle(f"Estimated vs true parameters on the test set ({os.path.basename(truth['file'])})")
    fig.tight_layout()
    save(fig, out, "scatter.png", written)
    best = min(sets, key=lambda s: np.nan_to_num(s["summary"].get("median_rel_err", np.nan), nan=np.inf))
    captions["scatter.png"] = (f"Estimated against true parameters for each estimate set, one panel per parameter, with the "
                               f"identity line; R^2 and Median-APE (from the evaluation) in the legends, the lowest median "
                               f"relative error being {best['label']}'s ({fmt(best['summary'].get('median_rel_err'))}).")


def pick_cases(s):
    """Rows of the best, typical (median) and worst series MSE (sq_bias + C-MSE) among the valid ones."""
    mse = s["sq_bias"] + s["cmse"]
    rows = np.flatnonzero(np.isfinite(mse))
    if rows.size == 0:
        return []
    order = rows[np.argsort(mse[rows], kind="stable")]
    return [("best", order[0]), ("typical (median)", order[(order.size - 1) // 2]), ("worst", order[-1])]


def fig_series(truth, ev, out, written, captions):
    ylab = "observed v (dimensionless)" if truth["model"] == "fhn" else "observed component"
    for s in ev["sets"]:
        if s["series"] is None or s["sq_bias"] is None:
            print(f"figures: note: {ev['file']} has no /series/{s['label']} (invmap evaluate -eval_save_series): "
                  f"series_{s['label']}.png skipped")
            continue
        cases = pick_cases(s)
        if not cases:
            print(f"figures: note: set {s['label']} has no valid re-simulated series: series_{s['label']}.png skipped")
            continue
        rows = [s["series_rows"][r] for _, r in cases]
        u = figdata.truth_rows(truth["file"], "/u", rows)
        d = figdata.truth_rows(truth["file"], "/d", rows) if truth["has_d"] else None
        t = truth["t"]
        if s["series"].shape[1] % t.size or u.shape[1] != s["series"].shape[1]:
            raise figdata.InputError(f"--eval {ev['file']}: /series/{s['label']} has {s['series'].shape[1]} values per row, the "
                                     f"truth {truth['file']} {u.shape[1]} ({t.size} times)")
        fig, axes = plt.subplots(len(cases), 1, figsize=(12, 2.9 * len(cases)), sharex=True, squeeze=False)
        for k, ((case, r), ax) in enumerate(zip(cases, axes[:, 0])):
            sim = s["series"][r]
            nobs = sim.size // t.size
            if d is not None:
                ax.plot(t, d[k].reshape(t.size, -1)[:, 0], color="0.65", lw=0.6, label="data d (noisy)")
            ax.plot(t, u[k].reshape(t.size, -1)[:, 0], color="k", lw=1.2, label="truth u (clean)")
            ax.plot(t, sim.reshape(t.size, nobs)[:, 0], color=s["color"], lw=1.2, ls="--", label=f"simulated at {s['label']} estimate")
            th, est = truth["theta"][rows[k]], s["theta"][r]
            ax.set_title(f"{case}: sample {rows[k]}, series MSE {fmt(s['sq_bias'][r] + s['cmse'][r])}; true "
                         f"({', '.join(fmt(v, '.4f') for v in th)}), estimate ({', '.join(fmt(v, '.4f') for v in est)})", fontsize=9.5)
            ax.set_ylabel(ylab)
            ax.grid(alpha=0.3)
        axes[-1, 0].set_xlabel("time t (model time units)")
        axes[-1, 0].set_xlim(t[0], t[-1])
        fig.suptitle(f"Data vs series simulated at the {s['label']} estimates ({s['kind']}): best, typical and worst of "
                     f"{np.isfinite(s['sq_bias'] + s['cmse']).sum()} samples by series MSE")
        fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=9, frameon=False)
        fig.tight_layout(rect=(0, 0.035, 1, 1))
        name = f"series_{s['label']}.png"
        save(fig, out, name, written)
        mse = [s["sq_bias"][r] + s["cmse"][r] for _, r in cases]
        captions[name] = (f"Noisy data, clean truth and the series re-simulated at the {s['label']} estimate for its best, "
                          f"typical (median) and worst test sample by series MSE ({fmt(mse[0])}, {fmt(mse[1])} and {fmt(mse[2])}).")


def fig_training(models, out, written, captions):
    hist = []
    for fn in models:
        h = figdata.read_history(fn)
        if h is None:
            print(f"figures: note: {fn} has no /history (a model file of an older invmap train): left out of training.png")
            continue
        hist.append((fn, h))
    if not hist:
        if models:
            print("figures: note: no model file has /history: training.png skipped")
        return
    ncol = min(len(hist), 4)  # at most 4 panels per row: many networks wrap into rows
    nrow = (len(hist) + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(6 * ncol, 4.6 * nrow), squeeze=False)
    for ax in axes.flat[len(hist):]:
        ax.set_visible(False)
    summary = []
    for (fn, h), ax in zip(hist, axes.flat):
        ep = h["epoch"]
        ax.semilogy(ep, h["train_loss"], color="C0", lw=1.5, label="training loss")
        val = h.get("val_loss")
        if val is not None and np.isfinite(val).any():
            ax.semilogy(ep, val, color="C1", lw=1.5, ls="--", label="validation loss")
            b = int(np.nanargmin(val))
            ax.plot(ep[b], val[b], "o", color="C1", ms=7, mfc="none", label=f"best validation {val[b]:.3g} (epoch {ep[b]:.0f})")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_minor_formatter(LogFormatterSciNotation(labelOnlyBase=False, minor_thresholds=(2, 0.5)))
        ax.tick_params(axis="y", which="minor", labelsize=7)
        ax.set_ylabel("loss (MSE of standardised targets, log scale)")
        ax.grid(alpha=0.3, which="both")
        secs = h.get("elapsed_seconds")
        rate = h.get("samples_per_second")
        extra = f", {secs[-1]:.3g} s" if secs is not None else ""
        extra += f", {np.nanmedian(rate):.0f} samples/s" if rate is not None else ""
        ax.set_title(f"{os.path.basename(fn)}: {ep.size} epochs{extra}", fontsize=10)
        if "learning_rate" in h:
            ax2 = ax.twinx()
            ax2.plot(ep, h["learning_rate"], color="0.5", lw=0.8, ls=":", label="learning rate")
            ax2.set_ylabel("learning rate", color="0.4")
            ax2.tick_params(axis="y", colors="0.4")
            ax2.set_ylim(bottom=0)
            ax2.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
            lines = ax.get_legend_handles_labels()
            l2 = ax2.get_legend_handles_labels()
            ax.legend(lines[0] + l2[0], lines[1] + l2[1], fontsize=8, loc="upper right")
        else:
            ax.legend(fontsize=8, loc="upper right")
        summary.append(f"{os.path.basename(fn)} {h['train_loss'][-1]:.3g}/{fmt(val[-1] if val is not None else None)}")
    fig.suptitle("Training curves")
    fig.tight_layout()
    save(fig, out, "training.png", written)
    captions["training.png"] = ("Training and validation loss per epoch (log scale) with the learning rate of each network; "
                                f"final training/validation losses: {', '.join(summary)}.")


def fig_comparison(ev, out, written, captions):
    sets, names = ev["sets"], ev["names"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [1.5, 1]})
    groups = [f"Median-APE {n}" for n in names] + ["median rel. error"]
    keys = [f"median_ape_{n}" for n in names] + ["median_rel_err"]
    w = 0.8 / len(sets)
    top, bottom = 0, np.inf
    for i, s in enumerate(sets):
        v = np.array([s["summary"].get(k, np.nan) for k in keys], float)
        good = np.isfinite(v) & (v > 0)
        x = np.arange(len(keys)) + (i - (len(sets) - 1) / 2) * w
        a1.bar(x, np.where(good, v, np.nan), w, color=s["color"],
               label=f"{s['label']} ({s['kind']}, n={s['summary'].get('n_valid', np.nan):.0f})")
        for xi, vi, g in zip(x, v, good):
            if g:
                a1.text(xi, vi * 1.08, fmt(vi, ".2g"), ha="center", va="bottom", fontsize=7, rotation=90 if len(sets) > 3 else 0)
        top, bottom = max(top, np.max(v[good], initial=0)), min(bottom, np.min(v[good], initial=np.inf))
    a1.set_yscale("log")
    if top > 0:
        a1.set_ylim(bottom / 4, top * (12 if len(sets) > 3 else 6))
    a1.set_xticks(np.arange(len(keys)))
    a1.set_xticklabels(groups)
    a1.set_ylabel("error (relative, log scale)")
    a1.set_title("Accuracy")
    a1.grid(alpha=0.3, axis="y", which="both")
    a1.legend(fontsize=8, loc="upper center", ncol=len(sets) if len(sets) <= 3 else 2)
    cost = [s["summary"].get("wall_seconds_per_estimate", np.nan) for s in sets]  # the cost convention (docs/file-formats.md)
    x = np.arange(len(sets))
    cost = np.array(cost, float)
    finite = np.isfinite(cost) & (cost > 0)
    a2.bar(x[finite], cost[finite], 0.6, color=[s["color"] for s, f in zip(sets, finite) if f])
    ymin = cost[finite].min() / 3 if finite.any() else 1e-3
    for xi, c, f in zip(x, cost, finite):
        if f:
            a2.text(xi, c * 1.1, fmt(c, ".3g") + " s", ha="center", va="bottom", fontsize=8)
        else:
            a2.text(xi, ymin, "not recorded", ha="center", va="bottom", fontsize=8, color="0.4", style="italic")
    a2.set_yscale("log")
    a2.set_xlim(-0.5, len(sets) - 0.5)
    if finite.any():
        a2.set_ylim(ymin / 2, cost[finite].max() * 8)
    a2.set_xticks(x)
    a2.set_xticklabels([s["label"] for s in sets], rotation=15)
    a2.set_ylabel("wall s per estimate (log scale)")
    a2.set_title("Time to make one estimate (wall-clock)")
    a2.grid(alpha=0.3, axis="y", which="both")
    fig.suptitle("NN vs MAP: error and cost per estimate set")
    fig.tight_layout()
    save(fig, out, "comparison.png", written)
    parts = [f"{s['label']} {fmt(s['summary'].get('median_rel_err'))} in {fmt(c)} wall s ({fmt(s['summary'].get('core_seconds_per_estimate'))} core-s)"
             for s, c in zip(sets, cost)]
    captions["comparison.png"] = ("Median-APE per parameter and median relative error (left) and wall s per estimate (right: "
                                  "wall-clock time of the run that made the estimates / their number; log scales) of each estimate "
                                  f"set; median relative error and cost per estimate: {'; '.join(parts)}.")


def landscape_panel(fig, ax, grid, L, sets, title, mark_min):
    """log10 J filled contours of one grid with the truth, each set's estimate and the grid minimum marked."""
    J = grid["J"]
    lj = np.log10(np.where(np.isfinite(J) & (J > 0), J, np.nan))
    lo, hi = np.nanmin(lj), np.nanmax(lj)
    levels = MaxNLocator(nbins=24).tick_values(lo, hi if hi > lo + 1e-9 else lo + 1)
    cs = ax.contourf(grid["theta0"], grid["theta1"], lj.T, levels=levels, cmap="viridis")
    ax.contour(grid["theta0"], grid["theta1"], lj.T, levels=levels[::3], colors="w", linewidths=0.4, alpha=0.5)
    fig.colorbar(cs, ax=ax).set_label(r"$\log_{10} J(\theta)$")
    r, tt = L["row"], L["theta_truth"]
    ax.plot(tt[0], tt[1], "*", ms=20, mfc="w", mec="k", mew=1.2, ls="none", label=f"truth (J = {L['J_truth']:.4g})", zorder=5)
    halo = [patheffects.withStroke(linewidth=3, foreground="w", alpha=0.7)]  # visible on dark and light contours
    for k, s in enumerate(sets):
        if r >= s["theta"].shape[0]:
            continue
        e = s["theta"][r][L["pair"]]  # the estimate's values of the two parameters on the axes
        j = s["objective"][r] if s["objective"] is not None else np.nan
        filled = s["marker"] in FILLED
        # later sets smaller and on top: estimates at the same point stay visible as nested markers
        ms = max(MARKER_MIN, MARKER_MAX - MARKER_STEP * k)
        ax.plot(e[0], e[1], s["marker"], ms=ms, mfc="none" if filled else s["color"], mec=s["color"], mew=2, ls="none",
                label=f"{s['label']} ({s['kind']}, J = {fmt(j, '.4g')})", zorder=6 + k, path_effects=None if filled else halo)
    if mark_min and np.isfinite(J).any():
        i0, i1 = np.unravel_index(np.nanargmin(J), J.shape)
        ax.plot(grid["theta0"][i0], grid["theta1"][i1], "s", ms=6, mfc="none", mec="k", mew=1.2, ls="none",
                label=f"grid minimum (J = {J[i0, i1]:.4g})", zorder=30,
                path_effects=[patheffects.withStroke(linewidth=3, foreground="w")])
    ax.set_xlim(grid["theta0"][0], grid["theta0"][-1])  # estimates outside the grid are clipped (they show on the full grid)
    ax.set_ylim(grid["theta1"][0], grid["theta1"][-1])
    ax.set_xlabel(f"{L['names'][0]}{UNIT[0]}")
    ax.set_ylabel(f"{L['names'][1]}{UNIT[0]}")
    ax.set_title(title, fontsize=10)


def fig_landscape(truth, ev, out, written, captions):
    L = ev["landscape"]
    if L is None:
        print(f"figures: note: {ev['file']} has no /landscape (invmap evaluate -eval_landscape <row>): landscape.png skipped")
        return
    Z = L["zoom"]
    n = L["J"].shape[0]
    if not (np.isfinite(L["J"]) & (L["J"] > 0)).any():
        print(f"figures: note: /landscape/J of {ev['file']} has no finite positive value (every re-simulation failed): "
              "landscape.png skipped")
        return
    if Z is not None and not (np.isfinite(Z["J"]) & (Z["J"] > 0)).any():
        Z = None
    fig, axes = plt.subplots(1, 2 if Z is not None else 1, figsize=(15, 6.4) if Z is not None else (8, 6.4), squeeze=False)
    box = (L["theta0"][0], L["theta0"][-1], L["theta1"][0], L["theta1"][-1])
    i, j = L["pair"]
    prior = truth["prior_lower"] is not None and truth["prior_upper"] is not None and np.allclose(
        box, [truth["prior_lower"][i], truth["prior_upper"][i], truth["prior_lower"][j], truth["prior_upper"][j]])
    landscape_panel(fig, axes[0, 0], L, L, ev["sets"], f"{'prior box' if prior else 'box'}, {n} x {L['J'].shape[1]} grid", Z is None)
    if Z is not None:
        z0, z1 = Z["theta0"], Z["theta1"]
        a0 = axes[0, 0]
        a0.add_patch(Rectangle((z0[0], z1[0]), z0[-1] - z0[0], z1[-1] - z1[0], fill=False, ec="r", lw=2, ls="-", zorder=40))
        # a zoom box of a few per cent of the prior box is hard to find: a larger circle around it, and lines from it
        # to the zoom panel, lead the eye
        w0, w1 = box[1] - box[0], box[3] - box[2]
        if (z0[-1] - z0[0]) < ZOOM_MIN_FRAC * w0 or (z1[-1] - z1[0]) < ZOOM_MIN_FRAC * w1:
            a0.add_patch(Ellipse((0.5 * (z0[0] + z0[-1]), 0.5 * (z1[0] + z1[-1])), ZOOM_MIN_FRAC * w0 + (z0[-1] - z0[0]),
                                 ZOOM_MIN_FRAC * w1 + (z1[-1] - z1[0]), fill=False, ec="r", lw=1.5, ls="--", zorder=40))
        for ya, yb in ((z1[-1], 1), (z1[0], 0)):
            fig.add_artist(ConnectionPatch(xyA=(z0[-1], ya), coordsA=a0.transData, xyB=(0, yb), coordsB=axes[0, 1].transAxes,
                                           color="r", lw=1, ls="--", zorder=40))
        landscape_panel(fig, axes[0, 1], Z, L, ev["sets"], f"zoom (red box on the left), {Z['J'].shape[0]} x {Z['J'].shape[1]} grid", True)
    fig.legend(*axes[0, -1].get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=9, frameon=False)
    data = "noisy data d" if L["objective_data"] == "d" else "clean series u"
    others = [n for n in ev["names"] if n not in L["names"]]
    fixed = f"; {', '.join(others)} at the true value{'s' if len(others) > 1 else ''}" if others else ""
    fig.suptitle(f"MAP objective J (AR(1)-whitened misfit to the {data} + prior term) of test sample {L['row']}{fixed}")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    save(fig, out, "landscape.png", written)
    near = [s["label"] for s in ev["sets"] if L["row"] < s["theta"].shape[0]]
    captions["landscape.png"] = (f"log10 of the MAP objective J of test sample {L['row']} over the prior box"
                                 f"{' and zoomed around the truth and the estimates' if Z is not None else ''}, with the truth "
                                 f"(J = {L['J_truth']:.4g}) and the estimates of {', '.join(near) or 'no set'} marked.")


# Gaussian credible regions drawn in corner.png: probability -> radius in standard deviations of a 2-D Gaussian
# (sqrt of the chi-square quantile with 2 degrees of freedom: -2 ln(1 - p))
CREDIBLE = (0.68, 0.95)


def ellipse(ax, mean, cov2, prob, color, ls):
    """The credible ellipse of probability prob of a 2-D Gaussian (mean, cov2) on ax."""
    w, v = np.linalg.eigh(cov2)
    if not np.all(np.isfinite(w)) or w.min() <= 0:
        return
    r = np.sqrt(-2 * np.log(1 - prob))
    ang = np.degrees(np.arctan2(v[1, 1], v[0, 1]))
    ax.add_patch(Ellipse(mean, 2 * r * np.sqrt(w[1]), 2 * r * np.sqrt(w[0]), angle=ang, fill=False, ec=color, ls=ls, lw=1.3))


def fig_corner(truth, ev, out, written, captions):
    names, sets = ev["names"], ev["sets"]
    P = len(names)
    L = ev["landscape"]
    row = L["row"] if L is not None else 0
    here = [s for s in sets if row < s["theta"].shape[0]]
    if P < 2 or not here:
        print(f"figures: note: corner.png needs 2 or more parameters and a set with row {row}: skipped")
        return
    t = truth["theta"][row]
    fig, axes = plt.subplots(P, P, figsize=(3.2 * P + 1, 3.2 * P), squeeze=False)
    for i in range(P):
        for j in range(P):
            ax = axes[i, j]
            if i == j:  # marginal densities of the sets with a covariance, lines at the estimates and the truth
                for s in here:
                    e = s["theta"][row, i]
                    if s.get("cov") is not None and row < s["cov"].shape[0] and s["cov"][row, i, i] > 0:
                        sd = np.sqrt(s["cov"][row, i, i])
                        x = np.linspace(e - 4 * sd, e + 4 * sd, 200)
                        ax.plot(x, np.exp(-0.5 * ((x - e) / sd) ** 2) / (sd * np.sqrt(2 * np.pi)), color=s["color"], lw=1.3)
                    ax.axvline(e, color=s["color"], lw=1, ls="--")
                ax.axvline(t[i], color="k", lw=1.5)
                ax.set_yticks([])
                ax.set_title(names[i], fontsize=10)
            elif i > j:  # one sample: truth, estimates, credible ellipses
                ax.plot(t[j], t[i], "*", ms=14, mfc="w", mec="k", mew=1.2, zorder=5)
                for s in here:
                    e = s["theta"][row]
                    ax.plot(e[j], e[i], s["marker"], ms=8, mfc="none" if s["marker"] in FILLED else s["color"], mec=s["color"], mew=1.6)
                    if s.get("cov") is not None and row < s["cov"].shape[0]:
                        c2 = s["cov"][row][np.ix_([j, i], [j, i])]
                        for prob, ls in zip(CREDIBLE, ("-", ":")):
                            ellipse(ax, (e[j], e[i]), c2, prob, s["color"], ls)
                ax.autoscale_view()
            else:  # every evaluated sample: errors of parameter j (x) and i (y)
                for s in sets:
                    n = s["theta"].shape[0]
                    err = s["theta"] - truth["theta"][:n]
                    ok = np.isfinite(err).all(axis=1)
                    ax.scatter(err[ok, j], err[ok, i], s=10, marker=s["marker"], c=[s["color"]], alpha=0.6, linewidths=0.8)
                ax.axhline(0, color="0.6", lw=0.6)
                ax.axvline(0, color="0.6", lw=0.6)
                ax.set_title(f"errors: {names[j]} vs {names[i]}", fontsize=8)
            if i == P - 1 and i != j:
                ax.set_xlabel(names[j])
            if j == 0 and i != j:
                ax.set_ylabel(names[i])
    handles = [plt.Line2D([], [], marker="*", ms=12, mfc="w", mec="k", ls="none", label="truth")]
    for s in sets:
        cov = f", {s['cov_kind']} 68% (solid) / 95% (dotted)" if s.get("cov") is not None else ""
        handles.append(plt.Line2D([], [], marker=s["marker"], color=s["color"], ls="none", mfc="none" if s["marker"] in FILLED else s["color"],
                                  label=f"{s['label']} ({s['kind']}{cov})"))
    fig.legend(handles=handles, loc="lower center", ncol=min(4, len(handles)), fontsize=9, frameon=False)
    fig.suptitle(f"Test sample {row}: estimates and Gaussian credible regions (below the diagonal, marginals on it); "
                 f"errors of every evaluated sample (above)", fontsize=11)
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    save(fig, out, "corner.png", written)
    withcov = [s["label"] for s in sets if s.get("cov") is not None]
    captions["corner.png"] = (f"Every pair of parameters. Below the diagonal, test sample {row}: the truth (star), each set's "
                              f"estimate and, for {', '.join(withcov) or 'no set'}, the 68% and 95% credible ellipses of its "
                              "Gaussian; on the diagonal the marginal densities; above it the errors (estimate - truth) of "
                              "every evaluated sample.")


# nominal levels at which calibration.png evaluates the coverage
CALIBRATION_LEVELS = np.linspace(0.02, 0.98, 49)


def fig_calibration(truth, ev, out, written, captions):
    sets = [s for s in ev["sets"] if s.get("cov") is not None]
    if not sets:
        print("figures: note: no estimate set carries a covariance (--estimates with /cov, /cov_pred or /theta_std): calibration.png skipped")
        return
    P = len(ev["names"])
    q = np.array([calib.chi2_quantile(p, P) for p in CALIBRATION_LEVELS])
    fig, ax = plt.subplots(figsize=(6.4, 6))
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="calibrated")
    for s in sets:
        n = s["theta"].shape[0]
        c = calib.coverage(s["theta"], truth["theta"][:n], s["cov"][:n], levels=())
        if not c["n"]:
            continue
        emp = [(c["maha"] <= qq).mean() for qq in q]
        ax.plot(CALIBRATION_LEVELS, emp, "-", marker=s["marker"], ms=4, markevery=6, color=s["color"],
                label=f"{s['label']} ({s['cov_kind']}, n={c['n']})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("nominal probability of the credible ellipse")
    ax.set_ylabel("fraction of test samples whose truth it contains")
    ax.set_title(f"Calibration of the Gaussian uncertainties ({P} parameters, joint ellipses)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    save(fig, out, "calibration.png", written)
    captions["calibration.png"] = ("Nominal against empirical coverage of the joint credible ellipses (chi-square quantile with P "
                                   "degrees of freedom) of every estimate set with an uncertainty: on the diagonal a set is "
                                   "calibrated, below it overconfident, above it underconfident.")


def write_markdown(out, written, captions):
    path = os.path.join(out, "figures.md")
    with open(path, "w") as f:
        f.write("<!-- written by share/report/figures.py -->\n")
        for name in written:
            f.write(f"![{captions[name]}]({name})\n\n**Figure {written.index(name) + 1}.** {captions[name]}\n\n")
    print(f"figures: wrote {path}")


def fig_through_simulator(panels, out, tie_rel=0.0, name="through_simulator.png"):
    """Training through the simulator (docs/science.md section 7): per-problem MAP objective J of the network
    trained through the simulator (x) against TAO from the prior mean (y), one panel per problem set, log-log with
    the diagonal: points above it are problems where the network alone reached a lower J. panels: a list of
    (title, J_network, J_tao) with equal-length arrays; J within tie_rel x J_tao of each other count as equal (the same
    minimum); returns the written file's name."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.8), squeeze=False)
    for ax, (title, ja, jc) in zip(axes[0], panels):
        ja, jc = np.asarray(ja, float), np.asarray(jc, float)
        ok = np.isfinite(ja) & np.isfinite(jc) & (ja > 0) & (jc > 0)
        below = ok & (ja < jc) & (np.abs(ja - jc) > tie_rel * np.abs(jc))
        ax.scatter(ja[ok & ~below], jc[ok & ~below], s=14, c="tab:red", label=f"TAO lower or equal ({int((ok & ~below).sum())})")
        ax.scatter(ja[below], jc[below], s=14, c="tab:blue", label=f"network lower ({int(below.sum())})")
        if ok.any():
            lo, hi = min(ja[ok].min(), jc[ok].min()) / 1.2, max(ja[ok].max(), jc[ok].max()) * 1.2
            ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="equal J")
            ax.set_xlim(lo, hi)
            ax.set_ylim(lo, hi)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("J of the network trained through the simulator (a)")
        ax.set_ylabel("J of TAO from the prior mean (c)")
        ax.set_title(f"{title}: {int(ok.sum())} problems")
        ax.legend(fontsize=8)
    written = []
    save(fig, out, name, written)
    return written[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("--truth", required=True, help="ensemble file of invmap simulate with the true /theta, /t, /u, /d")
    ap.add_argument("--eval", required=True, help="output of invmap evaluate (best with -eval_save_series and -eval_landscape)")
    ap.add_argument("--out", required=True, help="directory for the PNGs and figures.md (created)")
    ap.add_argument("--labels", default="", help="comma-separated estimate sets of eval.h5 to draw, in order (default: all)")
    ap.add_argument("--estimates", default="", help="comma-separated files the --labels sets were evaluated from (checked)")
    ap.add_argument("--models", default="", help="comma-separated model files of invmap train (training curves from /history)")
    a = ap.parse_args()
    split = lambda s: [x for x in s.split(",") if x]  # noqa: E731
    labels, estimates, models = split(a.labels), split(a.estimates), split(a.models)
    try:
        if estimates and len(estimates) != len(labels):
            raise figdata.InputError(f"--estimates has {len(estimates)} files but --labels {len(labels)} names (give both, same order)")
        truth = figdata.read_truth(a.truth)
        ev = figdata.read_eval(a.eval, labels or None)
        figdata.check_truth(truth, ev)
        if estimates:
            figdata.check_estimates(estimates, ev["sets"])
            figdata.read_covariances(estimates, ev["sets"], truth["names"])
        for fn in models:
            if not os.path.isfile(fn):
                raise figdata.InputError(f"--models {fn} does not exist")
        os.makedirs(a.out, exist_ok=True)
        style(ev["sets"])
        UNIT[0] = " (dimensionless)" if truth["model"] == "fhn" else ""
        written, captions = [], {}
        fig_scatter(truth, ev, a.out, written, captions)
        fig_series(truth, ev, a.out, written, captions)
        fig_training(models, a.out, written, captions)
        fig_comparison(ev, a.out, written, captions)
        fig_landscape(truth, ev, a.out, written, captions)
        fig_corner(truth, ev, a.out, written, captions)
        fig_calibration(truth, ev, a.out, written, captions)
        write_markdown(a.out, written, captions)
    except figdata.InputError as err:
        print(f"figures.py: error: {err}", file=sys.stderr)
        return 2
    except (KeyError, ValueError, IndexError, OSError) as err:  # content the checks above did not foresee
        print(f"figures.py: error: malformed input ({type(err).__name__}: {err})", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
