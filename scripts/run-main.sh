#!/usr/bin/env bash
# The main job, end to end on a fresh machine: install missing dependencies, build, then run the default
# experiment with `invmap pipeline` (share/experiments/default.opts): simulate a noisy FitzHugh-Nagumo
# training set and a test set, train the paper's CNN and dense networks, predict the test set, compute
# MAP estimates (TSAdjoint + TAO) for a subset from the prior mean, from prior multistart and from the
# CNN's predictions, evaluate everything and write the report (report.md with tables and figures).
# A rerun reuses every stage that is complete; after a crash or a signal it continues where it stopped.
# Usage: scripts/run-main.sh [outdir] [more pipeline options]   (env: RANKS, default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
out=${1:-out/default}
shift || true
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun --oversubscribe -n "${RANKS:-2}" build/invmap pipeline -pipeline_dir "$out" "$@"
echo "main job done: report in $out/report/report.md"
