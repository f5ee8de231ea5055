#!/usr/bin/env bash
# The SLURM jobs of jobs/ on a real one-node SLURM (munged + slurmctld + slurmd on localhost, started
# here in a scratch directory with tests/slurm/slurm.conf.in and stopped on exit, also on failure):
#  - jobs/pipeline.sh at tiny sizes: the afterok chain simulate train & test -> train -> predict ->
#    MAP (prior, and from the network) -> evaluate; every stage job completes and its outputs are checked;
#  - the chain's training job is signalled mid-run (scancel --batch --signal=USR1): it checkpoints,
#    requeues itself, resumes, and ends with bitwise the model of an uninterrupted training job, and its
#    dependents wait for it;
#  - the hyperparameter search: a job array and the summary job (afterok), ranked table;
#  - jobs/pipeline.sbatch (invmap pipeline as one job), signalled in its training stage: requeued, reruns
#    reuse the complete stages and resume the training;
#  - the training-cost benchmark job (srun --mpi=pmix launcher);
#  - a failing job cancels its dependents (no hang); a job whose output is complete is a no-op.
# Fails (does not skip) when SLURM is not installed: scripts/install-deps.sh --with-slurm installs it.
# Every wait is bounded; on failure the daemons' and the jobs' logs are printed.
# Environment (set by ctest): INVMAP, INVMAP_SRC, PYTHON; SLURM_TEST_KEEP=1 keeps the scratch directory.
set -euo pipefail
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
SRC=${INVMAP_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
: "${INVMAP:=$SRC/build/invmap}"
: "${PYTHON:=/usr/bin/python3}"
export INVMAP
BENCH=$(dirname "$INVMAP")/bench/bench_nn_train
T0=$(date +%s)
elapsed() { echo $(($(date +%s) - T0)); }
say() { echo "[$(printf '%3d' "$(elapsed)") s] $*"; }
failed=0
die() {
  echo "FAIL: $*" >&2
  failed=1
  exit 1
}
ok() { say "ok: $*"; }

# shellcheck source=tests/slurm/cluster.sh
source "$SRC/tests/slurm/cluster.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/invmap-slurm.XXXXXX")
chmod 755 "$W"
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if ((rc != 0 || failed)); then
    echo "==== the test failed after $(elapsed) s: queue, jobs and logs"
    if [[ -n $SLURM_D ]]; then
      squeue -a -o '%.6i %.24j %.10T %.20r %.8M' 2>/dev/null || true
      sinfo -R 2>/dev/null || true
    fi
    local f
    while IFS= read -r f; do
      echo "---- $f"
      tail -n 40 "$f"
    done < <(find "$W" -name '*.out' 2>/dev/null | sort)
    slurm_logs
  fi
  slurm_stop
  if [[ -n ${SLURM_TEST_KEEP:-} ]]; then echo "kept $W"; else rm -rf "$W"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ -x $INVMAP ]] || die "invmap executable $INVMAP not found"
slurm_start "$W/slurm" || die "could not start a one-node SLURM (see above); CI installs it with scripts/install-deps.sh --with-slurm"
ok "SLURM started (munged, slurmctld, slurmd on localhost, $(nproc) CPUs) in $W/slurm"
cd "$W"

# Waits for jobs are bounded only to catch a hang: queued jobs share the node's 2 CPUs, so under load a job may
# pend long before it runs (a run of the suite with three other CPU-bound jobs on the cores saw the pipeline job
# still pending after 180 s, the old limit). HANG_SECONDS is far beyond that; a wait also ends at once when its job has left
# the queue without doing what was awaited.
HANG_SECONDS=600
# job_field ID FIELD: a field of `scontrol show job` (JobState, ExitCode, Restarts, Reason, ...)
job_field() { scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }
# wait_jobs SECONDS WHAT ID...: until none of the jobs is in the queue (pending, running, requeued)
wait_jobs() {
  local limit=$1 what=$2 t
  shift 2
  local ids
  ids=$(
    IFS=,
    echo "$*"
  )
  t=$(($(date +%s) + limit))
  while [[ -n $(squeue -h -j "$ids" -o %i 2>/dev/null) ]]; do
    if (($(date +%s) > t)); then
      squeue -a -o '%.6i %.24j %.10T %.20r %.8M' 2>/dev/null || true
      die "$what: jobs still queued after $limit s"
    fi
    sleep 0.3
  done
}
# completed NAME ID: the job ended COMPLETED with exit code 0:0
completed() {
  local s e
  s=$(job_field "$2" JobState)
  e=$(job_field "$2" ExitCode)
  [[ $s == COMPLETED && $e == 0:0 ]] || die "$1 (job $2): state $s, exit code $e"
}
# h5rows FILE DATASET: the first dimension of a dataset
h5rows() { "$PYTHON" -c 'import sys, h5py; print(h5py.File(sys.argv[1], "r")[sys.argv[2]].shape[0])' "$1" "$2"; }

# ---- submit everything at once (tiny sizes), in the order the scheduler should start them
P=$W/chain
EPOCHS_SIG=200
# the chain's training job holds at its first safe point until the signal comes (-invmap_test_wait_signal prints a
# line and waits; the requeued run, with -resume, is not held), so the signal never races the training's end
REF_TRAIN_ARGS="-nn_arch dense -nn_dense 16,16 -train_data d -train_batch 32 -train_seed 5 -train_signal_check 1"
TRAIN_ARGS="$REF_TRAIN_ARGS -invmap_test_wait_signal"
export N_TRAIN=300 N_TEST=40 N_MAP=2 EPOCHS=$EPOCHS_SIG RANKS=2 TRAIN_ARGS
export SIM_ARGS="-seed 1 -quiet" SIM_TEST_ARGS="-seed 2 -quiet" PREDICT_ARGS="-predict_data d"
export MAP_ARGS="-map_starts 0 -map_screen 0 -map_hessian none -map_tao_max_it 20 -quiet"
export MAP_NN_ARGS="-map_starts 0 -map_start_mean 0 -map_hessian none -map_tao_max_it 20 -quiet" EVAL_ARGS="-quiet"
"$SRC/jobs/pipeline.sh" "$P" >"$W/chain.ids" || die "jobs/pipeline.sh failed"
id() { awk -v s="$1" '$1 == s {print $2}' "$W/chain.ids"; }
for s in sim-train sim-test train predict map-prior map-nn evaluate; do [[ -n $(id $s) ]] || die "pipeline.sh printed no id for $s"; done
ok "pipeline.sh submitted the chain: $(tr '\n' ' ' <"$W/chain.ids")"
unset TRAIN_ARGS N_TRAIN N_TEST N_MAP EPOCHS RANKS SIM_ARGS SIM_TEST_ARGS PREDICT_ARGS MAP_ARGS MAP_NN_ARGS EVAL_ARGS

# the same training, not interrupted (same ranks, options, data): the reference for the resumed one
ref=$(DATA=$P/train.h5 OUT=$W/ref.h5 EPOCHS=$EPOCHS_SIG sbatch --parsable -n 2 --output="$W/ref-%j.out" \
  --dependency="afterok:$(id sim-train)" "$SRC/jobs/train.sbatch" $REF_TRAIN_ARGS -quiet)

# hyperparameter search: two configurations, a task array of 1-rank jobs, then the summary
printf '# test grid\ndense 1 8 - 3e-3\n\ndense 2 16 - 1e-3 -nn_act relu\n' >"$W/grid.txt"
DATA=$P/train.h5 VAL=$P/test.h5 DEPEND="$(id sim-train):$(id sim-test)" EPOCHS=2 TRAIN_ARGS="-train_data d -quiet" \
  EVAL_ARGS="-eval_timeseries 0 -eval_objective 0" "$SRC/jobs/hpsearch.sh" "$W/grid.txt" "$W/hp" >"$W/hp.ids" 2>"$W/hp.err" ||
  die "jobs/hpsearch.sh failed: $(cat "$W/hp.err")"
arr=$(awk '$1 == "array" {print $2}' "$W/hp.ids")
sum=$(awk '$1 == "summary" {print $2}' "$W/hp.ids")
[[ -n $arr && -n $sum ]] || die "hpsearch.sh printed no job ids: $(cat "$W/hp.ids")"

# a stage that fails (evaluate without ESTIMATES) and a job depending on it: cancelled, not pending forever
bad=$(sbatch --parsable -n 1 --output="$W/bad-%j.out" "$SRC/jobs/evaluate.sbatch")
dep=$(OUT=$W/never.h5 sbatch --parsable -n 1 --output="$W/dep-%j.out" --dependency="afterok:$bad" "$SRC/jobs/simulate.sbatch" -n 10)

# the whole pipeline as one job (invmap pipeline), tiny experiment without MAP and report; signalled below
cat >"$W/tiny.opts" <<'EOF'
-pipeline_name slurm_test
-pipeline_sets train,test
-sim_model fhn
-sim_quiet
-set_train_n 200
-set_train_seed 1
-set_test_n 20
-set_test_seed 2
-pipeline_nets dense
-nets_nn_arch dense
-nets_nn_dense 64,64
-nets_train_epochs 200
-nets_train_data d
-nets_train_signal_check 1
-pipeline_views noisy
-pipeline_map_n 0
-pipeline_landscape_row -1
-pipeline_report 0
EOF
# its training stage holds at its first safe point until the signal comes (-invmap_test_wait_signal_stage; the
# requeued run resumes that stage with -resume and is not held)
pipe=$(sbatch --parsable -n 2 --output="$W/pipe-%j.out" "$SRC/jobs/pipeline.sbatch" "$W/tiny.opts" "$W/pipe" \
  -invmap_test_wait_signal_stage train_dense)

# the training-cost benchmark, launched with srun --mpi=pmix
bench=$(WIDTHS=32 RANK_COUNTS="1 2" SAMPLES=20000 OUT=$W/bench.md INVMAP_LAUNCHER=srun BENCH=$BENCH \
  sbatch --parsable -n 2 --output="$W/bench-%j.out" "$SRC/jobs/bench_nn.sbatch")
ok "submitted: reference training $ref, hpsearch array $arr + summary $sum, failing $bad + dependent $dep, pipeline.sbatch $pipe, bench $bench"

# ---- signal the chain's training job mid-run
tr=$(id train)
trlog=$P/logs/invmap-train-$tr.out
epochs() { local n; n=$(grep -c '^epoch' "$trlog" 2>/dev/null) || true; echo "${n:-0}"; }
t=$(($(date +%s) + HANG_SECONDS))
until grep -q "waiting for a signal" "$trlog" 2>/dev/null; do # the log alone (no scontrol in this loop)
  (($(date +%s) < t)) || die "training job $tr did not reach its first safe point within $HANG_SECONDS s (state $(job_field "$tr" JobState), reason $(job_field "$tr" Reason))"
  grep -q "exit status" "$trlog" 2>/dev/null && die "training job $tr ended before it could be signalled"
  sleep 0.05
done
scancel --batch --signal=USR1 "$tr" || die "scancel --batch --signal=USR1 $tr failed"
ok "training job $tr signalled (USR1 to the batch shell) at its first safe point"
t=$(($(date +%s) + HANG_SECONDS))
until grep -q "requeueing job $tr" "$trlog" 2>/dev/null; do
  (($(date +%s) < t)) || die "training job $tr did not checkpoint and requeue within $HANG_SECONDS s of the signal"
  grep -q "train exit status 0" "$trlog" && die "training job $tr finished without taking the signal"
  sleep 0.2
done
at=$(grep -oE "checkpoint .*cnn.h5.ckpt written at epoch [0-9]+(, batch [0-9]+)?" "$trlog") || die "no checkpoint message in $trlog"
ok "training job $tr wrote its checkpoint (${at##*written }), exited 75 and requeued itself"

# ---- signal the pipeline job in its training stage: the pipeline exits 75, the job requeues, the rerun
# reuses the complete stages and resumes the training
plog=$W/pipe-$pipe.out
t=$(($(date +%s) + HANG_SECONDS))
until grep -q "waiting for a signal" "$plog" 2>/dev/null; do
  (($(date +%s) < t)) || die "pipeline job $pipe did not reach its training stage within $HANG_SECONDS s (state $(job_field "$pipe" JobState))"
  [[ -z $(squeue -h -j "$pipe" -o %i 2>/dev/null) ]] && die "pipeline job $pipe left the queue before its training stage (state $(job_field "$pipe" JobState))"
  grep -q "== train_dense: done" "$plog" 2>/dev/null && die "pipeline job $pipe finished training without taking the signal"
  sleep 0.05
done
scancel --batch --signal=USR1 "$pipe" || die "scancel --batch --signal=USR1 $pipe failed"
ok "pipeline job $pipe signalled in its training stage"

# ---- everything ends
# shellcheck disable=SC2046
wait_jobs $((2 * HANG_SECONDS)) "the submitted jobs" $(awk '{print $2}' "$W/chain.ids") "$ref" "$arr" "$sum" "$bad" "$dep" "$pipe" "$bench"
ok "all jobs left the queue"

# the chain and its outputs
for s in sim-train sim-test train predict map-prior map-nn evaluate; do completed "chain $s" "$(id $s)"; done
ok "every job of the afterok chain COMPLETED with exit code 0"
[[ $(h5rows "$P/train.h5" /theta) == 300 && $(h5rows "$P/test.h5" /theta) == 40 ]] || die "simulate outputs have the wrong sizes"
[[ $(h5rows "$P/cnn_pred.h5" /theta_pred) == 40 ]] || die "predict output: $(h5rows "$P/cnn_pred.h5" /theta_pred) rows, expected 40"
for f in map_prior map_from_nn; do
  [[ $(h5rows "$P/$f.h5" /theta_map) == 2 ]] || die "$f.h5: expected 2 MAP estimates"
done
"$PYTHON" - "$P/eval.csv" <<'EOF' || die "eval.csv of the chain is not right"
import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1])))
labels = [r["label"] for r in rows]
assert labels == ["cnn", "map_multistart", "map_from_cnn"], labels
for r in rows:
    assert int(r["n_valid"]) == 2, r
    assert math.isfinite(float(r["median_rel_err"])), r
print("eval.csv:", ", ".join(f'{r["label"]} median rel. err {float(r["median_rel_err"]):.3g}' for r in rows))
EOF
ok "chain outputs: train/test sets, predictions, MAP estimates, evaluation table"

# the interrupted training: requeued once, resumed, same model as the uninterrupted run
completed "reference training" "$ref"
restarts=$(job_field "$tr" Restarts)
[[ $restarts == 1 ]] || die "training job $tr: Restarts=$restarts, expected 1"
grep -q "resumed" "$trlog" || die "the requeued training did not resume from its checkpoint"
# afterok across the requeue: predict started only after the (final) end of the training job
end=$(date -d "$(job_field "$tr" EndTime)" +%s)
start=$(date -d "$(job_field "$(id predict)" StartTime)" +%s)
((start >= end)) || die "predict started at $(job_field "$(id predict)" StartTime), before training ended ($(job_field "$tr" EndTime))"
[[ $(epochs) == "$EPOCHS_SIG" ]] || die "the interrupted + resumed training printed $(epochs) epochs, expected $EPOCHS_SIG"
"$PYTHON" - "$W/ref.h5" "$P/cnn.h5" <<'EOF' || die "the resumed training's model differs from the uninterrupted one"
# every dataset bitwise (weights /params, /norm/*, the history's epochs, validation losses, rates)
import sys, h5py, numpy as np
def datasets(name):
    out = {}
    with h5py.File(name, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, (o[()], o.attrs.get("columns"))) if isinstance(o, h5py.Dataset) else None)
    return out
a, b = datasets(sys.argv[1]), datasets(sys.argv[2])
assert a.keys() == b.keys(), (sorted(a), sorted(b))
assert "params" in a and a["params"][0].dtype == np.float32
for k in a:
    x, y = a[k][0], b[k][0]
    if k == "history":
        cols = a[k][1]
        cols = (cols.decode() if isinstance(cols, bytes) else cols).split(",")
        # train_loss of the interrupted epoch is summed in another order (partial sum saved in the
        # checkpoint): equal to rounding, not bitwise; the timing columns differ of course
        tl = cols.index("train_loss")
        assert np.allclose(x[:, tl], y[:, tl], rtol=1e-12, atol=0), "/history train_loss differs"
        keep = [cols.index(c) for c in ("epoch", "val_loss", "learning_rate")]
        x, y = x[:, keep], y[:, keep]
    assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes(), f"/{k} differs"
print(f"bitwise identical: {', '.join('/' + k for k in sorted(a))} ({a['params'][0].size} parameters; "
      f"{a['history'][0].shape[0]} epochs of history; train_loss to 1e-12, timings not compared)")
EOF
ok "signalled job: checkpoint -> requeue (Restarts=1) -> -resume -> bitwise the uninterrupted model; its dependents waited"

# hyperparameter search
for task in 1 2; do completed "hpsearch task $task" "${arr}_$task"; done
completed "hpsearch summary" "$sum"
"$PYTHON" - "$W/hp/summary.csv" <<'EOF' || die "hpsearch summary.csv is not a ranked table of both configurations"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert [r["rank"] for r in rows] == ["1", "2"], rows
assert sorted(r["task"] for r in rows) == ["task001", "task002"], rows
err = [float(r["median_rel_err"]) for r in rows]
assert err == sorted(err), err
t2 = [r for r in rows if r["task"] == "task002"][0]
assert (t2["arch"], t2["layers"], t2["units"], t2["lr"], t2["extra"]) == ("dense", "2", "16", "1e-3", "-nn_act;relu"), t2
assert all(float(r["val_loss"]) > 0 for r in rows)
print("ranked:", [(r["task"], r["median_rel_err"][:6]) for r in rows])
EOF
grep -q "^| 1 | task00" "$W/hp/summary.md" || die "hpsearch summary.md has no ranked table"
ok "hyperparameter search: array of 2 tasks, summary (afterok) ranked by median_rel_err"

# failing stage and its dependent
[[ $(job_field "$bad" JobState) == FAILED ]] || die "the failing job $bad ended $(job_field "$bad" JobState)"
grep -q "set ESTIMATES" "$W/bad-$bad.out" || die "the failing job did not say what is missing"
[[ $(job_field "$dep" JobState) == CANCELLED && ! -e $W/never.h5 ]] || die "the job depending on a failed one ended $(job_field "$dep" JobState) ($(job_field "$dep" Reason))"
ok "a failing stage (clear message) cancels its afterok dependents"

# pipeline.sbatch
completed "pipeline.sbatch" "$pipe"
[[ -f $W/pipe/eval_noisy.csv && -f $W/pipe/dense.h5 ]] || die "invmap pipeline job: outputs missing in $W/pipe ($(ls "$W/pipe" | tr '\n' ' '))"
[[ $(job_field "$pipe" Restarts) == 1 ]] || die "pipeline job $pipe: Restarts=$(job_field "$pipe" Restarts), expected 1"
grep -q "invmap pipeline exit status 75" "$plog" && grep -q "requeueing job $pipe" "$plog" || die "pipeline job $pipe did not exit 75 and requeue"
grep -q "train.h5 is complete.*reused" "$plog" && grep -q "train_dense: .* -resume" "$plog" ||
  die "the requeued pipeline job did not reuse its complete stages and resume the training"
ok "pipeline.sbatch: invmap pipeline as one job; USR1 -> exit 75 -> requeue -> complete stages reused, training resumed"

# benchmark
completed "bench_nn.sbatch" "$bench"
[[ $(grep -cE '^\| 32 \| 39490 \| [12] \|' "$W/bench.md") == 2 ]] || die "bench table lacks its rows: $(cat "$W/bench.md")"
ok "bench_nn.sbatch (srun --mpi=pmix): table with width 32 on 1 and 2 ranks"

# a complete output makes a stage job a no-op (as when a chain is resubmitted)
out=$(OUT=$P/train.h5 bash "$SRC/jobs/simulate.sbatch" -n 300 2>&1) && grep -q "complete: nothing to do" <<<"$out" ||
  die "simulate.sbatch on a complete output: $out"
ok "stage jobs skip complete outputs"

say "all SLURM checks passed in $(elapsed) s"
