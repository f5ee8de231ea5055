#!/usr/bin/env bash
# invmap pipeline at tiny sizes on 2 ranks: a full run (every output, manifest, report with figures), a
# rerun that reuses everything, an option change that reruns exactly the stages depending on it (also the
# training set's -series_precision, whose float32 file is checked), SIGUSR1
# during the run (exit 75) and a resumed run whose predictions equal an uninterrupted run's bit for bit, a signal
# while the report's Python runs,
# and bad plans / foreign files (clear error, nothing replaced); the plan of -pipeline_map_sets (MAP on the training set).
source "$(dirname "$0")/lib.sh"

# tiny experiment: 2 data sets, 2 networks, 3 MAP runs on 2 samples
tiny=(-set_train_n 1000 -set_test_n 40 -net_cnn_train_epochs 8 -net_dense_train_epochs 3
  -pipeline_map_n 2 -maps_map_screen 16 -maps_map_starts 1)
pipe() { local dir=$1; shift; run 2 pipeline -pipeline_dir "$dir" "${tiny[@]}" "$@"; }
status_of() { awk -F'\t' -v s="$2" '$1 == "stage" && $2 == s {print $4}' "$1/pipeline.tsv"; }
h5eq() { # h5eq FILE1 FILE2 DATASET: bitwise equal arrays
  "$PYTHON" -c "import h5py,numpy as np,sys; a=h5py.File(sys.argv[1])[sys.argv[3]][()]; b=h5py.File(sys.argv[2])[sys.argv[3]][()]; sys.exit(0 if a.shape==b.shape and np.array_equal(a,b) else 1)" "$@"
}

# 1. full run
SECONDS=0
if pipe A >A.log 2>&1; then pass "full run (${SECONDS} s)"; else fail "full run failed:"; tail -20 A.log >&2; fi
for f in train.h5 test.h5 cnn.h5 dense.h5 pred_cnn_noisy.h5 pred_dense_noisy.h5 map_mean.h5 map_multistart.h5 map_from_cnn.h5 \
  eval_noisy.h5 eval_noisy.csv compare.h5 compare.csv pipeline.tsv report/report.md; do
  [[ -s A/$f ]] || fail "full run: A/$f missing"
done
n_done=$(awk -F'\t' '$1 == "stage" && $4 == "done"' A/pipeline.tsv | wc -l)
grep -E "^== .*done in" A.log | sed "s/^/    /"
[[ $n_done -eq 12 ]] && pass "manifest: 12 stages done" || fail "manifest: $n_done of 12 stages done"
grep -q '^## Networks and MAP on the first 2 test samples' A/report/report.md && pass "report has the NN-vs-MAP table" || fail "report lacks the NN-vs-MAP table"
grep -q '| map_from_cnn |' A/report/report.md && pass "report lists the stages" || fail "report lacks the stage table"
npng=$(ls A/report/*.png 2>/dev/null | wc -l)
[[ $npng -ge 4 ]] && pass "report: $npng figures" || fail "report: $npng figures (expected >= 4)"
grep -q '\.png' A/report/report.md && pass "report.md shows the figures" || fail "report.md links no figure"

# 2. rerun: everything reused, outputs untouched
sum_before=$(md5sum A/*.h5 | md5sum)
pipe A >A2.log 2>&1 || fail "rerun failed"
n_reused=$(awk -F'\t' '$1 == "stage" && $4 == "reused"' A/pipeline.tsv | wc -l)
[[ $n_reused -eq 11 ]] && pass "rerun reuses all 11 command stages" || fail "rerun reused $n_reused of 11 stages"
[[ "$(md5sum A/*.h5 | md5sum)" == "$sum_before" ]] && pass "rerun left the outputs untouched" || fail "rerun changed outputs"

# 3. changing one network's options reruns that network and what depends on it, nothing else
pipe A -net_dense_train_epochs 4 >A3.log 2>&1 || fail "rerun with a changed option failed"
for s in train_dense predict_dense_noisy evaluate_noisy compare; do [[ $(status_of A $s) == done ]] || fail "option change: $s is $(status_of A $s), not rerun"; done
for s in simulate_train simulate_test train_cnn predict_cnn_noisy map_mean map_multistart map_from_cnn; do
  [[ $(status_of A $s) == reused ]] || fail "option change: $s is $(status_of A $s), not reused"
done
pass "option change reran train_dense and its dependants only"

# 3b. the data sets' stored precision is a simulate option (-sim_series_precision, -set_<set>_series_precision):
# float32 series in the training set only; the change reruns simulate_train and what depends on it (the
# manifest records the stage's options), and the test set and the MAP runs on it are reused
pipe A -net_dense_train_epochs 4 -set_train_series_precision single >A4.log 2>&1 || fail "rerun with -set_train_series_precision single failed"
for s in simulate_train train_cnn train_dense predict_cnn_noisy predict_dense_noisy map_from_cnn evaluate_noisy compare; do
  [[ $(status_of A $s) == done ]] || fail "precision change: $s is $(status_of A $s), not rerun"
done
for s in simulate_test map_mean map_multistart; do [[ $(status_of A $s) == reused ]] || fail "precision change: $s is $(status_of A $s), not reused"; done
"$PYTHON" - A <<'PY' && pass "-set_train_series_precision single: float32 train.h5 (attribute single), float64 test.h5; dependants rerun" || fail "the pipeline's training set has not the requested precision"
import sys, h5py, numpy as np
tr, te = (h5py.File(f"{sys.argv[1]}/{n}.h5", "r") for n in ("train", "test"))
attr = lambda f: f.attrs["series_precision"].decode() if isinstance(f.attrs["series_precision"], bytes) else str(f.attrs["series_precision"])
assert tr["u"].dtype == np.float32 and tr["d"].dtype == np.float32 and attr(tr) == "single", (tr["u"].dtype, attr(tr))
assert te["u"].dtype == np.float64 and attr(te) == "double", (te["u"].dtype, attr(te))
PY

# 4. SIGUSR1 during the run: exit 75, then the same command resumes; predictions equal an uninterrupted run
# -invmap_test_wait_signal_stage train_cnn makes that stage's first safe point print a line and wait for a real
# signal, so the signal always finds train_cnn with work left and its handler installed, whatever the load (no sleep
# racing the stages). The directory is an absolute path unique to this test ($WORK is mktemp'd), so the signal
# reaches this test's mpirun only, never another test run's on the same machine.
pipe C >C.log 2>&1 || fail "reference run failed"
( rc=0; pipe "$WORK/B" -invmap_test_wait_signal_stage train_cnn >B.log 2>&1 || rc=$?; echo $rc >B.rc ) &
bgpid=$!
for _ in $(seq 6000); do grep -q 'waiting for a signal' B.log 2>/dev/null && break; kill -0 $bgpid 2>/dev/null || break; sleep 0.1; done
pkill -USR1 -f "mpirun.*-pipeline_dir $WORK/B( |$)" || pkill -USR1 -f "mpiexec.*-pipeline_dir $WORK/B( |$)" || fail "no pipeline to signal"
wait
rc=$(cat B.rc)
stage=$(awk -F'\t' '$1 == "stage" && $4 == "interrupted" {print $2}' B/pipeline.tsv)
if [[ $rc -eq 75 && $stage == train_cnn ]]; then pass "signalled run exited 75 (interrupted stage: $stage)"; else fail "signalled run exited $rc, interrupted stage '$stage' (expected 75, train_cnn)"; tail B.log >&2; fi
pipe "$WORK/B" >B2.log 2>&1 || { fail "resumed run failed"; tail B2.log >&2; }
[[ -n "$stage" ]] && { grep -q -- "-resume" B2.log && pass "the interrupted stage $stage was resumed (-resume)" || fail "no -resume in the resumed run"; }
for f in pred_cnn_noisy.h5:/theta_pred pred_dense_noisy.h5:/theta_pred map_from_cnn.h5:/theta_map; do
  h5eq "B/${f%%:*}" "C/${f%%:*}" "${f#*:}" && pass "resumed == uninterrupted: ${f%%:*}" || fail "resumed run differs from the uninterrupted one: ${f%%:*}"
done

# 4b. a process killed (SIGKILL, node failure) in a stage whose command has no -resume (predict, evaluate): the
# manifest still says "running" and a .partial is left. The rerun runs those stages again (no -resume, which their
# commands would refuse) and the outputs equal the uninterrupted run's.
cp C/pred_cnn_noisy.h5 C/eval_noisy.h5 "$WORK/"
for s in predict_cnn_noisy evaluate_noisy; do
  awk -F'\t' -v OFS='\t' -v s=$s '$1 == "stage" && $2 == s {$4 = "running"} {print}' C/pipeline.tsv >C/pipeline.tsv.new && mv C/pipeline.tsv.new C/pipeline.tsv
done
rm C/pred_cnn_noisy.h5 C/eval_noisy.h5
echo "half-written" >C/pred_cnn_noisy.h5.partial
echo "half-written" >C/eval_noisy.h5.partial
if pipe C >C2.log 2>&1; then pass "rerun after a killed predict/evaluate stage completes"; else fail "rerun after a killed predict/evaluate stage failed"; tail C2.log >&2; fi
grep -E '^== (predict|evaluate)_.*: invmap .*-resume' C2.log && fail "-resume passed to a command without it"
h5eq C/pred_cnn_noisy.h5 pred_cnn_noisy.h5 /theta_pred && pass "rerun predict == uninterrupted" || fail "rerun predict differs"
h5eq C/eval_noisy.h5 eval_noisy.h5 /cnn/ape && pass "rerun evaluate == uninterrupted" || fail "rerun evaluate differs"
[[ ! -e C/pred_cnn_noisy.h5.partial && ! -e C/eval_noisy.h5.partial ]] && pass "no .partial left" || fail ".partial left behind"

# 4c. a signal while the report's Python runs (rank 0 waits for it): fake interpreters signal their parent, the rank,
# before they run. A report that completes completes the run (exit 0, said); one that fails after the signal (Ctrl-C
# reaches the script as well) is "interrupted" (exit 75) and the rerun writes it. Before the fix the wait failed
# with EINTR and the run ended with "Cannot run python" (exit 1).
printf '#!/bin/sh\nkill -USR1 $PPID\nexec %s "$@"\n' "$PYTHON" >py_ok && chmod +x py_ok
printf '#!/bin/sh\nkill -USR1 $PPID\nexit 1\n' >py_killed && chmod +x py_killed
rc=0; pipe C -pipeline_python "$WORK/py_ok" >C3.log 2>&1 || rc=$?
[[ $rc -eq 0 && -s C/report/report.md ]] && grep -q "every stage is complete" C3.log && [[ $(status_of C report) == done ]] &&
  pass "signal during the report: the report completes, exit 0" || { fail "signal during the report: exit $rc"; tail C3.log >&2; }
rc=0; pipe C -pipeline_python "$WORK/py_killed" >C4.log 2>&1 || rc=$?
[[ $rc -eq 75 && $(status_of C report) == interrupted ]] && grep -q "report was interrupted" C4.log &&
  pass "report script ended after a signal: exit 75, stage interrupted" || { fail "report ended by a signal: exit $rc"; tail C4.log >&2; }
pipe C >C5.log 2>&1 && [[ $(status_of C report) == done ]] && pass "rerun writes the interrupted report" || fail "rerun after the interrupted report failed"
expect_error "unknown test stage" "no stage 'train_gru'" "" -- 1 pipeline -pipeline_dir E -invmap_test_wait_signal_stage train_gru -pipeline_dry_run

# 5. bad plans and foreign files
expect_error "unknown view" "unknown view 'dirty'" "" -- 1 pipeline -pipeline_dir E -pipeline_views dirty
expect_error "from_<net> without the net" "no network 'gru'" "" -- 1 pipeline -pipeline_dir E -pipeline_map_runs from_gru
expect_error "upper-case name" "lower-case" "" -- 1 pipeline -pipeline_dir E -pipeline_nets CNN
expect_error "ambiguous names" "ambiguous option prefixes" "" -- 1 pipeline -pipeline_dir E -pipeline_nets cnn,cnn_big
expect_error "negative map_n" "pipeline_map_n must be >= 0" "" -- 1 pipeline -pipeline_dir E -pipeline_map_n -1
expect_error "unknown MAP set" "Data set 'val' of -pipeline_map_sets is not in -pipeline_sets" "" -- 1 pipeline -pipeline_dir E -pipeline_map_sets test,val
# MAP runs and their comparison on the training set too (-pipeline_map_sets): the plan's stages read the right files
if run 1 pipeline -pipeline_dir E -pipeline_map_sets train,test -pipeline_map_runs mean,from_cnn -pipeline_dry_run >M.log 2>&1 &&
  grep -qE '^  predict_cnn_noisy\.train +invmap predict -net E/cnn\.h5 -i E/train\.h5 .*-o E/pred_cnn_noisy\.train\.h5$' M.log &&
  grep -qE '^  map_mean\.train +invmap map -i E/train\.h5 -n 32 .*-o E/map_mean\.train\.h5$' M.log &&
  grep -qE '^  map_from_cnn\.train +invmap map -i E/train\.h5 -n 32 -map_init E/pred_cnn_noisy\.train\.h5 .*-o E/map_from_cnn\.train\.h5$' M.log &&
  grep -qE '^  compare\.train +invmap evaluate -truth E/train\.h5 -estimates E/pred_cnn_noisy\.train\.h5,E/pred_dense_noisy\.train\.h5,E/map_mean\.train\.h5,E/map_from_cnn\.train\.h5 -labels cnn,dense,map_mean,map_from_cnn -eval_n 32 .*-o E/compare\.train\.h5 -csv E/compare\.train\.csv$' M.log &&
  grep -qE '^  map_from_cnn +invmap map -i E/test\.h5 .*-map_init E/pred_cnn_noisy\.h5 ' M.log &&
  grep -qE '^  compare +invmap evaluate -truth E/test\.h5 .*-eval_save_series' M.log && ! grep -q 'compare\.train .*-eval_save_series' M.log; then
  pass "-pipeline_map_sets train,test: MAP runs, predictions and comparison on the training set (suffix .train), the test set's unchanged"
else fail "-pipeline_map_sets plan"; cat M.log; fi
# the experiment of docs/science.md section 7 plans (every stage option known; the data-space solver's -train_sim_ts_* is an
# option of the network trained with -train_loss data only)
if run 1 pipeline -options_file "$INVMAP_SRC/share/experiments/through_simulator.opts" -pipeline_dir E -pipeline_dry_run \
  -net_thru_train_sim_ts_max_steps 100000 >X.log 2>&1 && grep -q "(20 stages)" X.log && grep -qE '^  compare\.train +invmap evaluate' X.log &&
  grep -qE '^  map_from_thru\.train +invmap map -i E/train\.h5 -n 64 ' X.log; then
  pass "share/experiments/through_simulator.opts plans 20 stages, the MAP runs on 64 training problems among them"
else fail "through_simulator.opts plan"; cat X.log; fi
expect_error "-train_sim_ts_* of a supervised network" "Unknown option -net_sup_train_sim_ts_max_steps for stage train_sup" "" -- 1 pipeline \
  -options_file "$INVMAP_SRC/share/experiments/through_simulator.opts" -pipeline_dir E -pipeline_dry_run -net_sup_train_sim_ts_max_steps 10
mkdir -p F && echo "precious" >F/train.h5
expect_error "foreign file" "F/train.h5 exists but this pipeline's manifest" "" -- 2 pipeline -pipeline_dir F "${tiny[@]}"
[[ "$(cat F/train.h5)" == precious ]] && pass "foreign file left untouched" || fail "foreign file was replaced"
expect_error "missing share" "default experiment .* is missing" "" -- 1 pipeline -pipeline_dir E -pipeline_share /nonexistent
finish
