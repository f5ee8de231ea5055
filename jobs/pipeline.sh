#!/usr/bin/env bash
# Submit the main job (what scripts/run-main.sh runs in one go) as a chain of SLURM jobs joined by
# --dependency=afterok, and print their ids:
#
#   simulate train set --+--> train --> predict --> map from the network --+--> evaluate
#   simulate test set ---+------------------------> map, prior multistart --+
#
# Usage: jobs/pipeline.sh [outdir]     (default out/slurm; run from anywhere, submit on the login node)
# The stages and settings of the default experiment (share/experiments/default.opts) for its CNN; the
# dense network and the prior-mean MAP run are left out (jobs/pipeline.sbatch runs all of it + report).
# Environment:
#   N_TRAIN (4000), N_TEST (500), N_MAP (32), EPOCHS (60), RANKS (2: ranks of the MPI stages)
#   SIM_ARGS, SIM_TEST_ARGS, TRAIN_ARGS, PREDICT_ARGS, MAP_ARGS, MAP_NN_ARGS, EVAL_ARGS: invmap options
#     of each stage (replace the defaults below; word-split)
#   SBATCH_ARGS   extra sbatch options for every job (--partition, --account, --time, ...)
#   and those of jobs/lib.sh (INVMAP, INVMAP_LAUNCHER, ...), passed on to the jobs.
# A job whose outputs exist exits at once, so submitting again after a failure continues where the
# chain stopped. If a job fails, its dependents are cancelled (DependencyNeverSatisfied; clusters
# without kill_invalid_depend leave them pending: scancel them). Logs: OUTDIR/logs/<job name>-<id>.out.
# The job ids are printed as "stage id" lines and written to OUTDIR/jobs.txt.
set -euo pipefail
JOBS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$JOBS")
out=${1:-out/slurm}
mkdir -p "$out/logs"
out=$(cd "$out" && pwd)

N_TRAIN=${N_TRAIN:-4000}
N_TEST=${N_TEST:-500}
N_MAP=${N_MAP:-32}
EPOCHS=${EPOCHS:-60}
RANKS=${RANKS:-2}
SIM_ARGS=${SIM_ARGS:--options_file $ROOT/share/simulate/fhn_train.opts}
SIM_TEST_ARGS=${SIM_TEST_ARGS:--options_file $ROOT/share/simulate/fhn_test.opts}
TRAIN_ARGS=${TRAIN_ARGS:--nn_preset paper_cnn -noise_fresh -train_batch 32 -opt_lr 2e-3 -opt_lr_schedule cosine -train_val_frac 0.1 -train_seed 123}
PREDICT_ARGS=${PREDICT_ARGS:--predict_data d}
MAP_ARGS=${MAP_ARGS:-}
MAP_NN_ARGS=${MAP_NN_ARGS:--map_starts 0 -map_start_mean 0}
EVAL_ARGS=${EVAL_ARGS:-}
export INVMAP_JOBS=$JOBS
# the stage scripts read these: start every job from a clean set
unset OUT N SEED DATA MODEL INIT TRUTH ESTIMATES LABELS CSV
epochs=$EPOCHS
unset EPOCHS

: >"$out/jobs.txt"
# submit NAME [sbatch options] SCRIPT [args]: prints the job id (environment: VAR=value before the call)
submit() {
  local name=$1 id
  shift
  # shellcheck disable=SC2086
  id=$(sbatch --parsable --job-name="invmap-$name" --output="$out/logs/%x-%j.out" ${SBATCH_ARGS:-} "$@") || {
    echo "pipeline.sh: sbatch failed for $name" >&2
    exit 1
  }
  id=${id%%;*}
  echo "$name $id" >>"$out/jobs.txt"
  echo "$id"
}

# shellcheck disable=SC2086
{
  sim_train=$(OUT=$out/train.h5 N=$N_TRAIN submit sim-train --ntasks="$RANKS" "$JOBS/simulate.sbatch" $SIM_ARGS)
  sim_test=$(OUT=$out/test.h5 N=$N_TEST submit sim-test --ntasks="$RANKS" "$JOBS/simulate.sbatch" $SIM_TEST_ARGS)
  train=$(DATA=$out/train.h5 OUT=$out/cnn.h5 EPOCHS=$epochs submit train --ntasks="$RANKS" \
    --dependency="afterok:$sim_train" "$JOBS/train.sbatch" $TRAIN_ARGS)
  predict=$(MODEL=$out/cnn.h5 DATA=$out/test.h5 OUT=$out/cnn_pred.h5 submit predict \
    --dependency="afterok:$train:$sim_test" "$JOBS/predict.sbatch" $PREDICT_ARGS)
  map_prior=$(DATA=$out/test.h5 OUT=$out/map_prior.h5 N=$N_MAP submit map-prior --ntasks="$RANKS" \
    --dependency="afterok:$sim_test" "$JOBS/map.sbatch" $MAP_ARGS)
  map_nn=$(DATA=$out/test.h5 OUT=$out/map_from_nn.h5 N=$N_MAP INIT=$out/cnn_pred.h5 submit map-nn --ntasks="$RANKS" \
    --dependency="afterok:$predict" "$JOBS/map.sbatch" $MAP_NN_ARGS)
  evaluate=$(TRUTH=$out/test.h5 ESTIMATES=$out/cnn_pred.h5,$out/map_prior.h5,$out/map_from_nn.h5 \
    LABELS=cnn,map_multistart,map_from_cnn OUT=$out/eval.h5 CSV=$out/eval.csv submit evaluate --ntasks="$RANKS" \
    --dependency="afterok:$map_prior:$map_nn" "$JOBS/evaluate.sbatch" $EVAL_ARGS)
}
cat "$out/jobs.txt"
echo "pipeline.sh: 7 jobs submitted; the comparison table will be $out/eval.csv (squeue -j $evaluate)" >&2
