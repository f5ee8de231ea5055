#!/usr/bin/env bash
# Valgrind memcheck of the invmap commands (simulate, train with a dense and a CNN network, predict, map,
# evaluate, model), each on 2 MPI ranks at tiny sizes. Passes only with zero memcheck errors in every rank:
# invalid reads/writes, uses of uninitialised values, bad frees, and definite leaks (the leaks invmap
# could cause; "possibly" and "still reachable" blocks are the libraries' caches kept until exit).
# tests/valgrind.supp suppresses only the libraries' own known leaks and false positives, each commented.
#
# Usage: tests/valgrind_commands.sh INVMAP [WORKDIR]
#   INVMAP   an invmap built WITHOUT -march=native (cmake -DINVMAP_NATIVE=OFF): valgrind cannot decode
#            AVX-512 and stops with SIGILL on it. RelWithDebInfo gives line numbers in reports.
#   WORKDIR  where outputs and logs go (default: a temporary directory, removed unless a check failed)
# About 1.5 CPU-minutes (2-3 minutes on 2 idle cores; 8 minutes measured on a machine loaded 8-fold).
set -uo pipefail
INVMAP=${1:?usage: tests/valgrind_commands.sh INVMAP [WORKDIR]}
SRC=$(cd "$(dirname "$0")/.." && pwd)
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)"; exit 1; }
[[ -x $INVMAP ]] || { echo "no executable $INVMAP"; exit 1; }
INVMAP=$(cd "$(dirname "$INVMAP")" && pwd)/$(basename "$INVMAP")
if [[ $# -ge 2 ]]; then W=$2; mkdir -p "$W"; keep=1; else W=$(mktemp -d "${TMPDIR:-/tmp}/invmap-valgrind.XXXXXX"); keep=0; fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# Keep Open MPI's plugins loaded until exit, so that reports name their functions instead of "???" (the
# suppressions match on those names).
export OMPI_MCA_mca_base_component_disable_dlclose=1 PMIX_MCA_mca_base_component_disable_dlclose=1
# hwloc's x86 CPUID backend does not work under valgrind (it says so and disables itself); skip it quietly.
export HWLOC_COMPONENTS=-x86
VG_ERROR=97 # exit status of a rank with memcheck errors
VG=(valgrind --tool=memcheck --error-exitcode=$VG_ERROR --leak-check=full --show-leak-kinds=definite
  --errors-for-leak-kinds=definite --track-origins=yes --num-callers=40 --gen-suppressions=all
  --suppressions="$SRC/tests/valgrind.supp")
MPIRUN=(mpiexec --allow-run-as-root -n 2) # Open MPI's default binding, as users run
failures=0
cd "$W" || exit 1

# vg NAME ARGS...: run `invmap ARGS...` on 2 ranks under memcheck; logs in NAME.<pid>.vg
vg() {
  local name=$1 rc=0 log bad=""
  shift
  "${MPIRUN[@]}" "${VG[@]}" --log-file="$W/$name.%p.vg" "$INVMAP" "$@" >"$W/$name.out" 2>&1 || rc=$?
  local logs=("$W/$name".*.vg)
  [[ -e ${logs[0]} ]] || bad=" (no valgrind log)"
  for log in "${logs[@]}"; do
    [[ -e $log ]] || continue
    grep -q "ERROR SUMMARY: 0 errors" "$log" || bad+=" $log"
  done
  if [[ $rc -ne 0 || -n $bad ]]; then
    echo "FAIL: $name (exit $rc):"
    tail -n 20 "$W/$name.out"
    for log in $bad; do [[ -e $log ]] && { echo "==== $log"; cat "$log"; }; done
    grep -qs "unhandled instruction bytes" "$W/$name".*.vg &&
      echo "valgrind cannot decode an instruction of $INVMAP: build it with -DINVMAP_NATIVE=OFF"
    failures=$((failures + 1))
  else
    echo "ok: $name (2 ranks, 0 errors; suppressed per rank:$(grep -h "ERROR SUMMARY" "$W/$name".*.vg | grep -o "suppressed: [0-9]*" | sed 's/suppressed://' | tr -d '\n'))"
  fi
}

# One ensemble serves as training and test data (what is measured here is memory, not accuracy): AR(1)
# noise, both network kinds (dense; the paper's CNN), an ensemble prediction, MAP with the default
# Gauss-Newton covariance, every metric of evaluate; a float32 set streamed with the reader thread (prefetch).
OBS=100
vg simulate simulate -n 24 -obs_n $OBS -seed 1 -o data.h5 -quiet
vg train_dense train -i data.h5 -o dense.h5 -nn_arch dense -nn_dense 8,8 -train_data d -train_epochs 2 -train_batch 8 -quiet
vg train_cnn train -i data.h5 -o cnn.h5 -nn_preset paper_cnn -train_epochs 1 -train_batch 8 -quiet
vg simulate_f32 simulate -n 24 -obs_n $OBS -seed 1 -series_precision single -o data32.h5 -quiet
vg train_stream train -i data32.h5 -o stream.h5 -nn_arch dense -nn_dense 8,8 -train_data d -train_epochs 2 -train_batch 8 -train_stream yes -train_memory_mb 0.02 -quiet
vg predict predict -net dense.h5,cnn.h5 -i data.h5 -predict_data d -o pred.h5 -quiet
vg map map -i data.h5 -n 2 -map_screen 4 -map_starts 1 -o map.h5 -quiet
vg evaluate evaluate -truth data.h5 -estimates pred.h5,map.h5 -labels nn,map -eval_common_rows 0 -o eval.h5 -quiet
# the derivative and adjoint-gradient checks of a model (fhn3 provides every Hessian product)
vg model model -model fhn3 -model_check_points 2 -model_check_gradient_points 1 -obs_n 20
# the grid posterior (small grids): the Laplace Gaussian and the ensemble's spread against it
vg evaluate_posterior evaluate -truth data.h5 -estimates pred.h5,map.h5 -labels nn,map -eval_posterior_n 2 -eval_posterior_grid 9 \
  -eval_posterior_coarse 9 -eval_posterior_passes 2 -eval_timeseries 0 -o post.h5 -quiet
# joint inference: rho and sigma among the targets, evaluated against the truth's /noise
vg train_joint train -i data.h5 -o joint.h5 -nn_arch dense -nn_dense 8,8 -train_data d -train_targets theta0,theta1,sigma,rho -train_epochs 2 -train_batch 8 -quiet
vg predict_joint predict -net joint.h5 -i data.h5 -predict_data d -o pred_joint.h5 -quiet
vg evaluate_joint evaluate -truth data.h5 -estimates pred_joint.h5,pred.h5 -labels joint,nn -o eval_joint.h5 -quiet

if ((failures)); then
  echo "$failures command(s) with memcheck errors; logs in $W"
  exit 1
fi
((keep)) || rm -rf "$W"
echo "valgrind: every command clean"
