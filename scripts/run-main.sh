#!/usr/bin/env bash
# The main job, end to end on a fresh machine: install missing dependencies, build, then run the default
# FitzHugh-Nagumo experiment: simulate a noisy training set and a test set, train the paper's CNN on
# noisy data (fresh AR(1) noise every epoch), predict the test set, and compute MAP estimates (TSAdjoint
# + TAO) for a subset of it, from prior multistart and from the network's predictions, and compare all
# estimates on that subset (invmap evaluate: Median-APE, R^2, series errors, MAP objective, cost).
# Usage: scripts/run-main.sh [outdir]   (env: RANKS, default 2; N_TRAIN, N_TEST, N_MAP, EPOCHS)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
out=${1:-out/default}
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
np=${RANKS:-2}
run() { echo "+ mpirun -n $np build/invmap $*"; mpirun --oversubscribe --bind-to none -n "$np" build/invmap "$@"; }
skip() { [[ -f "$1" ]] && echo "= $1 exists, skipping"; }

skip "$out/train.h5" || run simulate -options_file share/simulate/fhn_train.opts -n "${N_TRAIN:-4000}" -o "$out/train.h5"
skip "$out/test.h5" || run simulate -options_file share/simulate/fhn_test.opts -n "${N_TEST:-500}" -o "$out/test.h5"
skip "$out/cnn.h5" || run train -i "$out/train.h5" -o "$out/cnn.h5" -nn_preset paper_cnn -noise_fresh \
  -train_epochs "${EPOCHS:-60}" -train_batch 32 -opt_lr 2e-3 -opt_lr_schedule cosine -train_val_frac 0.1 -train_seed 123
skip "$out/cnn_pred.h5" || run predict -model "$out/cnn.h5" -i "$out/test.h5" -predict_data d -o "$out/cnn_pred.h5"
skip "$out/map_prior.h5" || run map -i "$out/test.h5" -n "${N_MAP:-32}" -o "$out/map_prior.h5"
skip "$out/map_from_nn.h5" || run map -i "$out/test.h5" -n "${N_MAP:-32}" -map_init "$out/cnn_pred.h5" -map_starts 0 -map_start_mean 0 -o "$out/map_from_nn.h5"
skip "$out/eval.h5" || run evaluate -truth "$out/test.h5" -estimates "$out/cnn_pred.h5,$out/map_prior.h5,$out/map_from_nn.h5" \
  -labels cnn,map_multistart,map_from_cnn -o "$out/eval.h5" -csv "$out/eval.csv"
echo "main job done: outputs in $out (comparison table: $out/eval.csv)"
