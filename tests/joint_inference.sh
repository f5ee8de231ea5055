# Joint inference of (theta0, theta1, sigma, rho) (issue 12): share/experiments/joint.opts, shrunk to tiny sizes,
# runs end to end (time, Fourier and both inputs, covariance heads); invmap evaluate's Median-APE and R^2 of all
# four targets (noise targets against the truth's /noise) agree with numpy on the prediction files; a file naming
# its targets in another order is evaluated the same; the report's joint table and its coverage of the covariance
# heads agree with an independent recomputation; bad input: a model parameter missing, noise targets without /noise.
source "$INVMAP_SRC/tests/lib.sh"

# the experiment at tiny sizes (later options in the file win)
{
  cat "$INVMAP_SRC/share/experiments/joint.opts"
  printf '%s\n' "-set_train_n 240" "-set_test_n 40" "-sim_obs_n 200" "-nets_train_epochs 2" "-pipeline_dir out" \
    "-pipeline_share $INVMAP_SRC/share"
} >joint.opts
rc=0
run 2 pipeline -options_file joint.opts >log 2>&1 || rc=$?
if [[ $rc -eq 0 ]]; then pass "the joint experiment ran (8 networks, 3 inputs)"; else
  fail "invmap pipeline exited $rc:"
  tail -25 log >&2
fi

# evaluate against numpy; the same predictions with the targets in another order
if $PYTHON - <<'PY'; then pass "evaluate: Median-APE and R^2 of theta0, theta1, sigma, rho as numpy computes them"; else fail "evaluate metrics"; fi
import csv, h5py, numpy as np
tab = {r["label"]: r for r in csv.DictReader(open("out/eval_noisy.csv"))}
with h5py.File("out/test.h5", "r") as f:
    truth = {"theta0": f["theta"][:, 0], "theta1": f["theta"][:, 1], "rho": f["noise"][:, 0], "sigma": f["noise"][:, 1]}
assert len(tab) == 8, sorted(tab)
for lb, r in tab.items():
    with h5py.File(r["file"], "r") as f:
        tg = f.attrs["targets"]
        tg = (tg.decode() if isinstance(tg, bytes) else str(tg)).split(",")
        est = f["theta_pred"][...]
    assert tg == ["theta0", "theta1", "sigma", "rho"], tg
    for k, t in enumerate(tg):
        y, x = truth[t], est[:, k]
        r2 = 1 - ((x - y) ** 2).sum() / ((y - y.mean()) ** 2).sum()
        ape = np.median(np.abs(x - y) / np.abs(y))
        # the same formulas summed in another order (numpy's pairwise sums): agreement to rounding, 1e-9 relative
        for name, ref in (("r2_" + t, r2), ("median_ape_" + t, ape)):
            got = float(r[name])
            assert abs(got - ref) <= 1e-9 * max(1.0, abs(ref)), (lb, name, got, ref)
    # rel_err and r2_mean: the model parameters only
    r2m = np.mean([1 - ((est[:, k] - truth[t]) ** 2).sum() / ((truth[t] - truth[t].mean()) ** 2).sum() for k, t in enumerate(tg[:2])])
    assert abs(float(r["r2_mean"]) - r2m) <= 1e-9, (lb, r["r2_mean"], r2m)
# another order of the same columns
with h5py.File("out/pred_joint_1000_both_noisy.h5", "r") as f, h5py.File("perm.h5", "w") as g:
    g["theta_pred"] = f["theta_pred"][...][:, [2, 1, 3, 0]]
    for k, v in f.attrs.items():
        g.attrs[k] = v
    g.attrs["targets"] = "sigma,theta1,rho,theta0"
# a file without theta1, and a truth without /noise
with h5py.File("out/pred_joint_1000_both_noisy.h5", "r") as f, h5py.File("no_theta1.h5", "w") as g:
    g["theta_pred"] = f["theta_pred"][...][:, [0, 2, 3]]
    g.attrs["targets"] = "theta0,sigma,rho"
with h5py.File("out/test.h5", "r") as f, h5py.File("nonoise.h5", "w") as g:
    for k in ("theta", "t", "u"):
        f.copy(k, g)
    for k, v in f.attrs.items():
        g.attrs[k] = v
PY
run 2 evaluate -truth out/test.h5 -estimates out/pred_joint_1000_both_noisy.h5,perm.h5 -labels a,b -eval_timeseries 0 -o perm_eval.h5 \
  -csv perm.csv -quiet
# the same numbers computed in the same order whatever the column order: identical
if [[ $(sed -n 2p perm.csv | cut -d, -f3-) == "$(sed -n 3p perm.csv | cut -d, -f3-)" ]]; then
  pass "targets in another order (sigma,theta1,rho,theta0): the same summary"
else fail "column order changes the summary"; cat perm.csv; fi
expect_error "an estimate without theta1" "does not estimate parameter theta1" bad.h5 -- 1 evaluate -truth out/test.h5 \
  -estimates no_theta1.h5 -eval_timeseries 0 -o bad.h5
expect_error "noise targets, truth without /noise" "has no /noise" bad.h5 -- 1 evaluate -truth nonoise.h5 \
  -estimates out/pred_joint_1000_both_noisy.h5 -eval_timeseries 0 -o bad.h5

# the report: the joint table (ours = R^2 recomputed here) and the coverage of the covariance heads
if $PYTHON - <<'PY'; then pass "report: joint table and coverage as recomputed from the files"; else fail "report joint table"; fi
import h5py, numpy as np, re
md = open("out/report/report.md").read()
sec = md.split("## Joint inference of (theta0, theta1, sigma, rho)")[1]
with h5py.File("out/test.h5", "r") as f:
    y = np.concatenate([f["theta"][...], f["noise"][...][:, [1, 0]]], 1)  # theta0, theta1, sigma, rho
inputs = {"time series": "time", "Fourier": "fourier", "time & Fourier": "both"}
rows = 0
for line in sec.splitlines():
    m = re.match(r"^\| (\d+) \| ([^|]+?)( \(nll\))? \| (.*) \|$", line)
    if not m:
        continue
    net = f"joint{'nll' if m.group(3) else ''}_{m.group(1)}_{inputs[m.group(2)]}"
    with h5py.File(f"out/pred_{net}_noisy.h5", "r") as f:
        x = f["theta_pred"][...]
    cells = m.group(4).split(" | ")
    for k in range(4):
        ref = 1 - ((x[:, k] - y[:, k]) ** 2).sum() / ((y[:, k] - y[:, k].mean()) ** 2).sum()
        got = float(cells[2 * k].strip("*"))
        # the report prints 3 significant digits: within half a unit of the third (0.5%, 0.6% allowed)
        assert abs(got - ref) <= 6e-3 * abs(ref) + 1e-12, (net, k, got, ref)
    rows += 1
assert rows == 8, rows
# coverage: the 95% joint ellipse with the chi-square quantile of 4 degrees of freedom, 9.487729 (tables)
cov = sec.split("### Coverage of the covariance heads over the joint targets")[1]
assert "| theta0 | theta1 | sigma | rho |" in cov, cov[:600]
for n in ("1000", "8000"):
    net = f"jointnll_{n}_both"
    with h5py.File(f"out/pred_{net}_noisy.h5", "r") as f:
        x, C = f["theta_pred"][...], f["cov_pred"][...]
    r = y - x
    maha = np.einsum("ij,ij->i", r, np.linalg.solve(C, r[:, :, None])[:, :, 0])
    k = int((maha <= 9.487729).sum())
    line = next(l for l in cov.splitlines() if l.startswith(f"| {net} |") and "| 95% |" in l)
    assert line.rstrip(" |").split("| ")[-1].startswith(f"{k}/{len(y)} "), (line, k)
PY
finish
