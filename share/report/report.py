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
Every number of ours comes from the files above; the published numbers are quoted from docs/science.md.
"""
import argparse
import csv
import math
import os
import re
import subprocess
import sys

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
             ("seconds per estimate", "seconds_per_estimate"), ("objective evaluations (total)", "objective_evaluations_total")]
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


def cost_md(stages, meta):
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
    if cmp_tab:
        ev = next(s for s in stages if s["name"] == "compare")
        n = opt_value(ev["opts"], "-eval_n")
        data = "clean series /u" if opt_value(ev["opts"], "-eval_objective_data") == "u" else "noisy series /d"
        md += table_md(cmp_tab, f"## Networks and MAP on the first {n} test samples ({data})\n\n"
                                f"MAP objective J: AR(1)-whitened misfit + prior term (docs/science.md section 6); seconds per estimate: "
                                f"wall time of the predict or map run (all its ranks together, all MAP starts) divided by the estimates it made; "
                                f"map_from_<net> excludes the network's own cost, and network training time is in the Stages table.")
    for s in stages:
        m = re.match(r"^evaluate_(\w+)$", s["name"])
        tab = read_table(os.path.join(d, f"eval_{m.group(1)}.csv")) if m else None
        if tab:
            md += table_md(tab, f"## Networks on every test sample ({m.group(1)} observations)")
    md += sensitivity_md(stages, d)
    md += cost_md(stages, meta)

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
