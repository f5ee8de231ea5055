#!/usr/bin/env bash
# invmap pipeline with Laplace targets (share/experiments/meancov.opts): the plan (MAP with a covariance over the whole
# training set attached to a copy of it, the test set's Laplace references, moment-trained networks reading the copy
# with the series of their targets), bad plans refused, and a tiny run to the report's mean-and-covariance table with
# its calibration, the training set as simulated (its targets went to the copy), a rerun reusing every stage.
source "$(dirname "$0")/lib.sh"
EXP="$(dirname "$0")/../share/experiments/meancov.opts"

# the target stage is resumable: interrupted after 4 samples per rank (exit 75, the set untouched), resumed with -resume, the
# set gets the targets of an uninterrupted run (bitwise: map's resume is)
run 2 simulate -n 30 -obs_n 200 -seed 5 -o s.h5 -quiet
cp s.h5 s_orig.h5 && cp s.h5 u.h5
rc=0; run 2 map -i s.h5 -o m.h5 -map_screen 16 -map_starts 2 -map_batch 2 -map_targets_into s.h5 -map_interrupt_after 4 -quiet > int.log 2>&1 || rc=$?
[[ $rc -eq 75 && -e m.h5.partial ]] && cmp -s s.h5 s_orig.h5 && pass "interrupted target stage: exit 75, set untouched" \
  || fail "interrupted target stage (rc $rc)"
run 2 map -i s.h5 -o m.h5 -map_screen 16 -map_starts 2 -map_batch 2 -map_targets_into s.h5 -resume -quiet > res.log 2>&1 || fail "resumed target stage"
run 2 map -i u.h5 -o mu.h5 -map_screen 16 -map_starts 2 -map_batch 2 -map_targets_into u.h5 -quiet > /dev/null 2>&1 || fail "uninterrupted target stage"
"$PYTHON" -c "
import h5py, numpy as np
a, b = h5py.File('s.h5', 'r'), h5py.File('u.h5', 'r')
assert all(np.array_equal(a[k][...], b[k][...]) for k in ('theta_map', 'cov', 'map_status', 'u', 'd', 'theta'))
" && pass "resumed targets == uninterrupted targets" || fail "resumed targets differ"

run 1 pipeline -options_file "$EXP" -pipeline_dir P -pipeline_dry_run > plan.log 2>&1 || { cat plan.log; fail "dry run"; }
for want in "laplace_train_clean .*map -i P/train.h5 -map_clean -map_hessian gn -o P/laplace_train_clean.h5 -map_targets_into P/train_laplace_clean.h5" \
            "laplace_train_noisy .*map -i P/train.h5 -map_hessian gn -o P/laplace_train_noisy.h5 -map_targets_into P/train_laplace_noisy.h5" \
            "laplace_test_clean .*map -i P/test.h5 -map_clean -map_hessian gn -o P/laplace_test_clean.h5" \
            "laplace_test_noisy .*map -i P/test.h5 -map_hessian gn -o P/laplace_test_noisy.h5" \
            "train_meancov_clean .*train -i P/train_laplace_clean.h5 -train_data u .*-train_loss moment" \
            "train_meancov_noisy .*train -i P/train_laplace_noisy.h5 -train_data d .*-train_loss moment"; do
  grep -qE -- "$want" plan.log && pass "plan: ${want%% *}" || { fail "plan lacks /$want/"; cat plan.log >&2; }
done
[[ ! -e P ]] && pass "dry run wrote nothing" || fail "dry run wrote P"
expect_error "laplace net unknown" "pipeline_laplace_clean: no network 'gru'" "" -- 1 pipeline -options_file "$EXP" -pipeline_dir E \
  -pipeline_laplace_clean gru -pipeline_dry_run
expect_error "laplace net twice" "in both -pipeline_laplace_clean and -pipeline_laplace_noisy" "" -- 1 pipeline -options_file "$EXP" \
  -pipeline_dir E -pipeline_laplace_clean meancov_clean,meancov_noisy -pipeline_dry_run

# tiny run: 60 training samples of 200 observations, 2 epochs, 10 test samples
tiny=(-options_file "$EXP" -sim_obs_n 200 -set_train_n 60 -set_test_n 10 -nets_nn_preset paper_dense -nets_train_epochs 2 -pipeline_figures 0)
if run 2 pipeline -pipeline_dir T "${tiny[@]}" > T.log 2>&1; then pass "tiny run"; else fail "tiny run failed:"; tail -20 T.log >&2; fi
grep -q "^## Mean and covariance against Laplace targets" T/report/report.md && pass "report: mean/covariance table" || fail "report lacks the table"
for c in "clean/clean" "clean/noisy" "noisy/noisy"; do
  grep -qE "^\| $c \| meancov_(clean|noisy) \| [0-9]+ \| \*\*[0-9.]+\*\* \|" T/report/report.md && pass "table row $c" || fail "table row $c"
done
grep -q "^### Calibration of the networks' covariances" T/report/report.md && pass "report: calibration" || fail "report lacks calibration"
"$PYTHON" - <<'PY' && pass "targets in the copies, training set as simulated" || fail "targets files"
import h5py
t = h5py.File("T/train.h5", "r")
assert "theta_map" not in t and "cov" not in t
for v, s in (("clean", "/u"), ("noisy", "/d")):
    c = h5py.File("T/train_laplace_%s.h5" % v, "r")
    assert c["cov"].shape == (60, 2, 2) and c.attrs["laplace_series"].startswith(s)
    assert (c["u"][...] == t["u"][...]).all()
PY
run 2 pipeline -pipeline_dir T "${tiny[@]}" > T2.log 2>&1 || fail "rerun"
n_re=$(awk -F'\t' '$1 == "stage" && $4 == "reused"' T/pipeline.tsv | wc -l)
n_all=$(awk -F'\t' '$1 == "stage" && $3 != "report"' T/pipeline.tsv | wc -l)
[[ $n_re -eq $n_all ]] && pass "rerun reuses all $n_all stages" || fail "rerun reused $n_re of $n_all stages"
finish
