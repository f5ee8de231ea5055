#!/usr/bin/env bash
# Submit a hyperparameter search as a SLURM job array (one task per line of the grid: train, predict
# and evaluate on a validation set) and a summarising job (afterok on the whole array) that writes
# the configurations ranked by a metric. Prints the two job ids ("array ID", "summary ID").
#
# Usage: DATA=train.h5 VAL=val.h5 jobs/hpsearch.sh [grid] [outdir]
#   grid     default share/hpsearch/grid.txt (columns: arch layers units filters lr [train options])
#   outdir   default out/hpsearch: OUTDIR/taskNNN/{config.txt,model.h5,pred.h5,eval.csv},
#            OUTDIR/summary.csv and OUTDIR/summary.md (ranked), OUTDIR/logs/
# Environment:
#   DATA          training set (an invmap simulate file; required)
#   VAL           set the networks are compared on (required): simulate one apart from the final test
#                 set (another seed), so that choosing the best does not fit the test set
#   EPOCHS        training epochs (default 100)
#   TRAIN_ARGS    invmap train options common to all tasks (default below)
#   PREDICT_ARGS  invmap predict options (default -predict_data d)
#   EVAL_ARGS     invmap evaluate options (default: none; -eval_timeseries 0 skips the re-simulation)
#   RANK_BY       summary column to rank by: median_rel_err (default), val_loss, r2_mean or a
#                 median_ape_<parameter> (r2_* rank high first, the others low first)
#   RANKS         ranks per task (default 1), MAX_PARALLEL (tasks running at once; default all)
#   DEPEND        job ids (colon-separated) the array waits for (afterok), e.g. the simulate jobs of DATA/VAL
#   SBATCH_ARGS   extra sbatch options for every job; and those of jobs/lib.sh
# Training tasks checkpoint before their time limit and requeue themselves like jobs/train.sbatch;
# submitting again skips the tasks that are complete.
set -euo pipefail
JOBS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$JOBS")
GRID=$(realpath "${1:-$ROOT/share/hpsearch/grid.txt}")
out=${2:-out/hpsearch}
: "${DATA:?set DATA to the training set}" "${VAL:?set VAL to the validation set the networks are compared on}"
[[ -f $GRID ]] || { echo "hpsearch.sh: grid $GRID not found" >&2; exit 2; }
n=$(grep -cvE '^[[:space:]]*(#|$)' "$GRID" || true)
((n > 0)) || { echo "hpsearch.sh: $GRID has no configurations" >&2; exit 2; }
mkdir -p "$out/logs"
HP_DIR=$(cd "$out" && pwd)
DATA=$(realpath "$DATA")
VAL=$(realpath "$VAL")
EPOCHS=${EPOCHS:-100}
TRAIN_ARGS=${TRAIN_ARGS:--train_data d -noise_fresh -train_batch 32 -opt_lr_schedule cosine -train_val_frac 0.1 -train_seed 123}
PREDICT_ARGS=${PREDICT_ARGS:--predict_data d}
EVAL_ARGS=${EVAL_ARGS:-}
RANK_BY=${RANK_BY:-median_rel_err}
export GRID HP_DIR DATA VAL EPOCHS TRAIN_ARGS PREDICT_ARGS EVAL_ARGS RANK_BY INVMAP_JOBS=$JOBS
unset OUT MODEL
array=$n
[[ -n ${MAX_PARALLEL:-} ]] && array+="%$MAX_PARALLEL"
# shellcheck disable=SC2086
arr=$(sbatch --parsable ${SBATCH_ARGS:-} --array="1-$array" --ntasks="${RANKS:-1}" --output="$HP_DIR/logs/%x-%A_%a.out" \
  ${DEPEND:+--dependency=afterok:$DEPEND} "$JOBS/hpsearch_task.sbatch")
arr=${arr%%;*}
# shellcheck disable=SC2086
sum=$(sbatch --parsable ${SBATCH_ARGS:-} --dependency="afterok:$arr" --output="$HP_DIR/logs/%x-%j.out" \
  "$JOBS/hpsearch_summary.sbatch")
sum=${sum%%;*}
printf 'array %s\nsummary %s\n' "$arr" "$sum" | tee "$HP_DIR/jobs.txt"
echo "hpsearch.sh: $n configurations; ranked table: $HP_DIR/summary.md (squeue -j $arr,$sum)" >&2
