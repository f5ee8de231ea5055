#!/usr/bin/env bash
# External validation of the forward model: simulate the authors' 2000 parameter sets
# (tests/data/fhn_dnn_spike_rates.csv, see tests/data/README.md) and count upward crossings of u = 1.5 at the observation times;
# the spike rate (count * 1000 / 199.8; NaN for fewer than 2 spikes) must match theirs for >= 98%.
source "$(dirname "$0")/lib.sh"
csv="$INVMAP_SRC/tests/data/fhn_dnn_spike_rates.csv"
[[ -f "$csv" ]] || { echo "missing $csv"; exit 1; }
run 2 simulate -theta_file "$csv" -noise_type none -o spikes.h5 -quiet
"$PYTHON" - "$csv" spikes.h5 <<'PY'
import sys, csv, math
import h5py, numpy as np
rows = list(csv.DictReader(open(sys.argv[1])))
with h5py.File(sys.argv[2], "r") as f:
    u, theta, status = f["/u"][...], f["/theta"][...], f["/status"][...]
assert u.shape == (len(rows), 1000), u.shape
assert (status == 0).all(), "failed solves"
match = 0
for i, r in enumerate(rows):
    assert abs(theta[i, 0] - float(r["theta0"])) < 1e-12 and abs(theta[i, 1] - float(r["theta1"])) < 1e-12
    n = int(np.sum((u[i, :-1] < 1.5) & (u[i, 1:] >= 1.5)))
    ours = n * 1000 / 199.8 if n >= 2 else float("nan")
    theirs = float(r["spike_rate"]) if r["spike_rate"] not in ("", "nan", "NaN") else float("nan")
    if (math.isnan(ours) and math.isnan(theirs)) or abs(ours - theirs) < 1e-3 * max(1, abs(theirs)):
        match += 1
frac = match / len(rows)
print(f"spike rates reproduced for {match}/{len(rows)} samples ({100*frac:.2f}%)")
sys.exit(0 if frac >= 0.98 else 1)
PY
