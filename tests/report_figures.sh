# The report's figures (issue 5): tiny inputs made with invmap (simulate, train, predict, map, evaluate with
# -eval_save_series and -eval_landscape), then share/report/figures.py: every PNG exists and is a real image
# with content, figures.md lists exactly the written PNGs, one printed line per file, a model without
# /history is a note and not a crash; bad input: missing or malformed files exit non-zero with a clear message.
source "$INVMAP_SRC/tests/lib.sh"
FIG="$INVMAP_SRC/share/report/figures.py"
NT=200

run 2 simulate -n 240 -seed 1 -obs_n $NT -o train.h5 -quiet
run 2 simulate -n 24 -seed 2 -obs_n $NT -o test.h5 -quiet
run 2 train -i train.h5 -o dense.h5 -nn_arch dense -nn_dense 16,16 -train_data d -train_epochs 4 -train_batch 16 -quiet
run 2 predict -net dense.h5 -i test.h5 -predict_data d -o pred.h5 -quiet
run 2 map -i test.h5 -n 4 -map_screen 16 -map_starts 1 -o map.h5 -quiet
run 2 evaluate -truth test.h5 -estimates pred.h5,map.h5 -labels nn,map -eval_common_rows 0 -eval_save_series \
  -eval_landscape 1 -eval_landscape_n 21 -o eval.h5 -quiet
# a second model file with a training history (the one of invmap train when it records /history, else made
# here), next to one without
$PYTHON - <<'PY'
import shutil, h5py, numpy as np
shutil.copy("dense.h5", "hist.h5")
with h5py.File("hist.h5", "a") as f:
    if "history" not in f:
        e = np.arange(1, 11.0)
        tr = 0.5 * np.exp(-e / 3) + 0.05
        h = f.create_dataset("history", data=np.stack([e, tr, 1.2 * tr, 1e-3 * (1 + np.cos(np.pi * e / 10)), 2 * e, 500 + 0 * e], 1))
        h.attrs["columns"] = "epoch,train_loss,val_loss,learning_rate,elapsed_seconds,samples_per_second"
    else:
        print("hist.h5: invmap train's own /history")
with h5py.File("nohist.h5", "w") as f:
    f["params"] = np.zeros(3, "f4")
PY

if $PYTHON "$FIG" --truth test.h5 --eval eval.h5 --labels nn,map --estimates pred.h5,map.h5 --models hist.h5,nohist.h5 \
  --out figs >fig.out 2>fig.err; then
  pass "figures.py ran"
else fail "figures.py failed:"; cat fig.out fig.err; fi
cat fig.out
grep -q "nohist.h5 has no /history" fig.out && pass "model without /history: a note, not a crash" || fail "no note for nohist.h5"
if $PYTHON - <<'PY'; then pass "every figure is a non-empty image, printed once and listed in figures.md"; else fail "figure check"; fi
import os, re
import matplotlib
matplotlib.use("Agg")
import matplotlib.image as mpimg
want = ["scatter.png", "series_nn.png", "series_map.png", "training.png", "comparison.png", "landscape.png", "corner.png", "calibration.png"]
ok = True
md = open("figs/figures.md").read()
listed = re.findall(r"!\[([^\]]+)\]\(([^)]+)\)", md)
printed = [ln.split("wrote ")[1].strip() for ln in open("fig.out") if "wrote" in ln]
for name in want:
    p = os.path.join("figs", name)
    if not os.path.isfile(p):
        print("missing", p); ok = False; continue
    img = mpimg.imread(p)
    std = float(img[..., :3].std())
    good = img.ndim == 3 and img.shape[0] > 300 and img.shape[1] > 300 and std > 0.02
    print(f"{name}: {img.shape[1]} x {img.shape[0]} px, pixel std {std:.3f}", "ok" if good else "BAD")
    ok &= good
    ok &= printed.count(p) == 1
print("figures.md lists", [f for _, f in listed])
ok &= sorted(f for _, f in listed) == sorted(want) and all(len(c.split()) > 8 for c, _ in listed)
ok &= printed.count("figs/figures.md") == 1 and len(printed) == len(want) + 1
# corner.png draws the Laplace ellipses of map.h5's /cov (the network file has no covariance)
corner = [c for c, f in listed if f == "corner.png"]
ok &= bool(corner) and "for map, the 68% and 95% credible ellipses" in corner[0]
raise SystemExit(0 if ok else 1)
PY

# without the optional stores: the figures that need them are skipped with a note
run 2 evaluate -truth test.h5 -estimates pred.h5 -o plain.h5 -quiet
$PYTHON "$FIG" --truth test.h5 --eval plain.h5 --out plain >plain.out 2>&1 || fail "figures.py without series/landscape failed"
if grep -q "has no /series/pred" plain.out && grep -q "has no /landscape" plain.out && [[ -s plain/scatter.png && -s plain/comparison.png && -s plain/corner.png && ! -e plain/landscape.png ]] &&
  [[ $(grep -c '\.png)' plain/figures.md) == 3 ]] && grep -q "for no set, the 68%" plain/figures.md; then
  pass "no -eval_save_series / -eval_landscape / --estimates: scatter, comparison and corner (without ellipses), notes for the rest"
else fail "optional stores"; cat plain.out; fi

# report.py on a hand-made pipeline directory of these outputs: the summary, the Cost section with the
# break-even count, the MAP local-minimum count and the Laplace coverage table, each checked against an
# independent recomputation from the evaluation, map and manifest files
mkdir -p R
run 2 evaluate -truth test.h5 -estimates pred.h5,map.h5 -labels dense,map_one -eval_n 4 -o R/compare.h5 -csv R/compare.csv -quiet
{
  printf 'meta\texperiment\ttiny\nmeta\tranks\t2\n'
  printf 'stage\tsimulate_train\tsimulate\tdone\t2.500\t%s/train.h5\t-n 240\n' "$PWD"
  printf 'stage\ttrain_dense\ttrain\tdone\t7.250\t%s/dense.h5\t-i train.h5\n' "$PWD"
  printf 'stage\tcompare\tevaluate\tdone\t1.000\t%s/R/compare.h5\t-truth %s/test.h5 -estimates %s/pred.h5,%s/map.h5 -labels dense,map_one -eval_n 4 -o %s/R/compare.h5\n' \
    "$PWD" "$PWD" "$PWD" "$PWD" "$PWD"
} >R/pipeline.tsv
if $PYTHON "$INVMAP_SRC/share/report/report.py" R --no-figures >rep.out 2>&1; then pass "report.py on the tiny pipeline directory"
else fail "report.py failed"; cat rep.out; fi
if $PYTHON - <<'PY'; then pass "report.md: summary, cost convention, break-even, local minima and coverage agree with a recomputation"; else fail "report.md content"; cat R/report/report.md; fi
import csv, math, re
import h5py, numpy as np
md = open("R/report/report.md").read()
tab = {r["label"]: r for r in csv.DictReader(open("R/compare.csv"))}
ok = True
def check(what, cond):
    global ok
    print(("ok   " if cond else "FAIL ") + what)
    ok &= bool(cond)
# the cost convention in the evaluation: wall = solve_seconds / rows of the file, core = wall x n_ranks
for lb, fn in (("dense", "pred.h5"), ("map_one", "map.h5")):
    with h5py.File(fn) as f:
        wall = float(f.attrs["solve_seconds"][0]) / f["/theta_pred" if lb == "dense" else "/theta_map"].shape[0]
        nr = int(f.attrs["n_ranks"][0])
    r = tab[lb]
    check(f"{lb}: n_ranks {r['n_ranks']} = {nr}", float(r["n_ranks"]) == nr)
    check(f"{lb}: wall s per estimate {r['wall_seconds_per_estimate']} = {wall}", math.isclose(float(r["wall_seconds_per_estimate"]), wall, rel_tol=1e-12))
    check(f"{lb}: core-s = wall x ranks", math.isclose(float(r["core_seconds_per_estimate"]), wall * nr, rel_tol=1e-12))
# summary: the most accurate set by median relative error
best = min(tab, key=lambda lb: float(tab[lb]["median_rel_err"]))
check(f"summary names the most accurate set {best}", re.search(rf"Most accurate: {best}\*\*", md) and "## Summary (computed" in md)
# break-even: one-off (simulate_train + train_dense seconds x 2 ranks) / (MAP core-s - dense core-s), rounded up past it
oneoff = (2.5 + 7.25) * 2
m, i = float(tab["map_one"]["core_seconds_per_estimate"]), float(tab["dense"]["core_seconds_per_estimate"])
want = math.floor(oneoff / (m - i)) + 1
got = re.search(r"^\| dense \| \*\*(\d+)\*\* estimates \|", md, re.M)
check(f"break-even {got.group(1) if got else None} = {want}", got and int(got.group(1)) == want)
# local minima: J - J_truth > 3 sqrt(n_obs / 2)
with h5py.File("test.h5") as f:
    nobs = int(np.prod(f["/u"].shape[1:]))
with h5py.File("R/compare.h5") as f:
    J, Jt = f["/map_one/objective"][...], f["/map_one/objective_truth"][...]
fin = np.isfinite(J) & np.isfinite(Jt)
stuck = np.flatnonzero(fin & (J - Jt > 3 * math.sqrt(nobs / 2)))
got = re.search(r"^\| map_one \| (\d+) of (\d+) \| ([^|]*)\|", md, re.M)
check(f"local minima {got.groups() if got else None} = {len(stuck)} of {fin.sum()} {list(stuck)}",
      got and int(got.group(1)) == len(stuck) and int(got.group(2)) == fin.sum() and
      [int(x) for x in re.findall(r"\d+", got.group(3))] == list(stuck))
# Laplace coverage from map.h5's /cov, /theta_map, /theta (first 4 rows, status ok); 2-D ellipse: chi2_2 quantile -2 ln(1 - p)
with h5py.File("map.h5") as f:
    th, tr, C, st = f["/theta_map"][:4], f["/theta"][:4], f["/cov"][:4], f["/status"][:4]
good = st == 0
r, C = (tr - th)[good], C[good]
maha = np.array([x @ np.linalg.solve(c, x) for x, c in zip(r, C)])
for lev, z in (("68%", 1.0), ("95%", 1.959964)):
    p = 0.6827 if lev == "68%" else 0.95
    want = [int((np.abs(r[:, j]) <= z * np.sqrt(C[:, j, j])).sum()) for j in range(2)] + [int((maha <= -2 * math.log(1 - p)).sum())]
    row = re.search(rf"^\| map_one \| Laplace \| (\d+) \| {lev} \| (.*)\|$", md, re.M)
    cells = re.findall(r"(\d+)/(\d+) = ([\d.]+)", row.group(2)) if row else []
    got = [int(k) for k, _, _ in cells]
    fr = [float(x) for _, _, x in cells]
    check(f"coverage {lev}: {got} = {want} of {good.sum()}, fractions {fr} in [0, 1]",
          got == want and all(0 <= x <= 1 and abs(x - k / good.sum()) < 5e-4 for x, k in zip(fr, got)) and int(row.group(1)) == good.sum())
raise SystemExit(0 if ok else 1)
PY

# The section on training through the simulator (issue 13, share/experiments/through_simulator.opts) on a hand-made
# pipeline directory: a network trained with -train_loss data (2 supervised + 2 data-space epochs), TAO from the prior
# mean and from the network's prediction on the first 4 training problems (compare.train) and TAO from the mean on 4
# held-out ones (compare); the table's counts, medians, ratios and budgets against a recomputation, and the scatter plot.
mkdir -p T
run 2 train -i train.h5 -o thru.h5 -nn_arch dense -nn_dense 16,16 -train_data d -train_loss data -train_data_start_epoch 2 \
  -train_epochs 4 -train_batch 16 -train_val_frac 0 -quiet
run 2 predict -net thru.h5 -i train.h5 -predict_data d -o T/pthru_tr.h5 -quiet
run 2 predict -net thru.h5 -i test.h5 -predict_data d -o T/pthru_te.h5 -quiet
run 2 map -i train.h5 -n 4 -map_starts 0 -map_start_mean 1 -o T/mean_tr.h5 -quiet
run 2 map -i train.h5 -n 4 -map_init T/pthru_tr.h5 -map_starts 0 -map_start_mean 0 -o T/fromthru_tr.h5 -quiet
run 2 map -i test.h5 -n 4 -map_starts 0 -map_start_mean 1 -o T/mean_te.h5 -quiet
ctr="-truth $PWD/train.h5 -estimates $PWD/T/pthru_tr.h5,$PWD/T/mean_tr.h5,$PWD/T/fromthru_tr.h5 -labels thru,map_mean,map_from_thru -eval_n 4"
cte="-truth $PWD/test.h5 -estimates $PWD/T/pthru_te.h5,$PWD/T/mean_te.h5 -labels thru,map_mean -eval_n 4"
run 2 evaluate $ctr -o T/compare.train.h5 -quiet
run 2 evaluate $cte -o T/compare.h5 -quiet
{
  printf 'meta\texperiment\tthru\nmeta\tranks\t2\n'
  printf 'stage\ttrain_thru\ttrain\tdone\t1.0\t%s/thru.h5\t-i %s/train.h5 -train_loss data -o %s/thru.h5\n' "$PWD" "$PWD" "$PWD"
  printf 'stage\tcompare.train\tevaluate\tdone\t1.0\t%s/T/compare.train.h5\t%s -o %s/T/compare.train.h5\n' "$PWD" "$ctr" "$PWD"
  printf 'stage\tcompare\tevaluate\tdone\t1.0\t%s/T/compare.h5\t%s -o %s/T/compare.h5\n' "$PWD" "$cte" "$PWD"
} >T/pipeline.tsv
if $PYTHON "$INVMAP_SRC/share/report/report.py" T >trep.out 2>&1; then pass "report.py on the through-the-simulator directory"
else fail "report.py failed (through the simulator)"; cat trep.out; fi
if $PYTHON - <<'PY'; then pass "through the simulator: table (beats, medians, ratios, budgets) agrees with a recomputation; scatter plot drawn"; else fail "through-the-simulator section"; cat T/report/report.md; fi
import re
import h5py, numpy as np
import matplotlib
matplotlib.use("Agg")
import matplotlib.image as mpimg
md = open("T/report/report.md").read()
ok = True
def check(what, cond):
    global ok
    print(("ok   " if cond else "FAIL ") + what)
    ok &= bool(cond)
with h5py.File("thru.h5") as f:
    E = int(np.isfinite(f["/history_data"][:, 1]).sum())
check(f"data-phase epochs {E} = 4 - 2", E == 2)
for sec, ev, rows in (("training problems (compare.train)", "T/compare.train.h5", (("thru", None), ("map_from_thru", "T/fromthru_tr.h5"))),
                      ("held-out problems (compare)", "T/compare.h5", (("thru", None),))):
    part = md.split(f"### thru: the first 4 {sec}")
    check(f"section for {sec}", len(part) == 2)
    if len(part) != 2:
        continue
    part = part[1].split("###")[0]
    with h5py.File(ev) as f:
        Jc = f["/map_mean/objective"][:4].astype(float)
        for lb, mapf in rows:
            J = f[f"/{lb}/objective"][:4].astype(float)
            good = np.isfinite(J) & np.isfinite(Jc)
            J, Jg = J[good], Jc[good]
            tie = np.abs(J - Jg) <= 1e-3 * np.abs(Jg)  # the report's tie: same minimum within 0.1% of J
            k, t, n, ratio = int(((J < Jg) & ~tie).sum()), int(tie.sum()), int(good.sum()), float(np.median(J / Jg))
            row = re.search(rf"^\| \([ab]\) [^|]*\| {lb} \| ([^|]+) \| (\d+) of (\d+) \(\d+%\) \| (\d+) \| ([^|]+) \| ([^|]+) \|$", part, re.M)
            # medians and ratios are printed with 3 and 4 significant digits: within 5e-3 relative
            check(f"{sec} {lb}: row {row.groups() if row else None} vs beats {k} of {n}, ties {t}, median J {np.median(J):.4g}, ratio {ratio:.4g}",
                  row and (int(row.group(2)), int(row.group(3)), int(row.group(4))) == (k, n, t) and
                  abs(float(row.group(1)) / np.median(J) - 1) < 5e-3 and abs(float(row.group(5)) / ratio - 1) < 5e-3)
            if row and mapf is None:
                want = f"{E} (one per data-phase epoch)" if "train" in ev else f"0 new (training paid {E} per training problem)"
                check(f"{sec} {lb}: budget '{row.group(6).strip()}' = '{want}'", row.group(6).strip() == want)
            elif row:
                with h5py.File(mapf) as m:
                    fev = m["/function_evaluations"][:4]
                check(f"{sec} {lb}: budget '{row.group(6).strip()}' names median {np.median(fev):g} evaluations",
                      f"median {np.median(fev):g}," in row.group(6))
        c = re.search(r"^\| \(c\) [^|]*\| map_mean \| ([^|]+) \|", part, re.M)
        check(f"{sec} (c) median J", c and abs(float(c.group(1)) / np.median(Jc) - 1) < 5e-3)
verdict = re.search(r"\*\*\[HT24\]'s claim .* (holds|does not hold) here\*\*: \(a\) beats \(c\) on (\d+) of (\d+) training problems", md)
with h5py.File("T/compare.train.h5") as f:
    Ja, Jc = f["/thru/objective"][:4], f["/map_mean/objective"][:4]
kk = int(((Ja < Jc) & (np.abs(Ja - Jc) > 1e-3 * np.abs(Jc))).sum())
check(f"verdict {verdict.groups() if verdict else None}: {kk} of 4", verdict and int(verdict.group(2)) == kk and
      verdict.group(1) == ("holds" if kk > 2 else "does not hold"))
img = mpimg.imread("T/report/through_simulator.png")
check(f"through_simulator.png {img.shape}, pixel std {float(img[..., :3].std()):.3f}", img.shape[0] > 300 and float(img[..., :3].std()) > 0.02)
check("report.md shows the scatter plot", "(through_simulator.png)" in md)
raise SystemExit(0 if ok else 1)
PY

# bad input: non-zero exit, one clear line
bad() {
  local name=$1 pattern=$2; shift 2
  local rc=0
  $PYTHON "$FIG" "$@" --out badfigs >bad.out 2>bad.err || rc=$?
  if [[ $rc -ne 0 ]] && grep -qE -- "$pattern" bad.err && ! grep -q Traceback bad.err; then pass "$name (exit $rc): $(head -1 bad.err)"
  else fail "$name: exit $rc"; cat bad.out bad.err; fi
}
echo "not hdf5" >junk.h5
bad "missing truth" "--truth nope.h5 does not exist" --truth nope.h5 --eval eval.h5
bad "missing eval" "--eval nope.h5 does not exist" --truth test.h5 --eval nope.h5
bad "eval not HDF5" "junk.h5 is not a readable HDF5 file" --truth test.h5 --eval junk.h5
bad "eval not an evaluation" "not an output of invmap evaluate" --truth test.h5 --eval pred.h5
bad "truth not an ensemble" "has no dataset /theta" --truth pred.h5 --eval eval.h5
bad "another truth" "was not made against --truth train.h5" --truth train.h5 --eval eval.h5
bad "unknown label" "no estimate set labelled 'cnn'" --truth test.h5 --eval eval.h5 --labels cnn
bad "estimates of another set" "was made from pred.h5" --truth test.h5 --eval eval.h5 --labels nn --estimates map.h5
bad "missing model" "--models nope.h5 does not exist" --truth test.h5 --eval eval.h5 --models nope.h5
$PYTHON - <<'PY'
import shutil, h5py
with h5py.File("badhist.h5", "w") as f:
    f["history"] = [[1.0, 2.0]]
shutil.copy("eval.h5", "badeval.h5")
with h5py.File("badeval.h5", "a") as f:
    s = f["series/nn"][:5]
    del f["series/nn"]
    f["series/nn"] = s
PY
bad "malformed /series" "/series/nn has shape \\(5, 200\\)" --truth test.h5 --eval badeval.h5
bad "malformed /history" "badhist.h5: /history must be" --truth test.h5 --eval eval.h5 --models badhist.h5
finish
