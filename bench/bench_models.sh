#!/usr/bin/env bash
# Forward-ensemble throughput and accuracy per model (issue 14), and the implicit against the explicit path on
# Hodgkin-Huxley at matched accuracy.
#   bench/bench_models.sh [build-dir] [samples] [repeats]
# For each built-in model: `invmap simulate` of N prior samples (default 512) on 1 rank with the model's default
# integrator, R repeats (default 3) after a warm-up run, the median of invmap's own us/sample/core; and the maximum
# error of the observed series against RK 8vr at tolerance 1e-11 (the reference run is not timed).
# Then hh with BDF (the implicit path, one member per batch) at tightening tolerances until its error is at most the
# explicit default's, with its cost. Prints a markdown table. Timings on a shared machine: compare ratios within
# one run.
set -euo pipefail
build=${1:-build}
N=${2:-512}
R=${3:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
inv=$build/invmap
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
PY=/usr/bin/python3

# usps N ARGS...: median us/sample/core of R timed runs after one warm-up
usps() {
  local n=$1 v=() r
  shift
  mpiexec -n 1 "$inv" simulate -n "$n" -seed 1 -o "$tmp/w.h5" -overwrite "$@" >/dev/null
  for ((r = 0; r < R; r++)); do
    v+=("$(mpiexec -n 1 "$inv" simulate -n "$n" -seed 1 -o "$tmp/s.h5" -overwrite "$@" | sed -n 's/.* \([0-9.]*\) us\/sample\/core.*/\1/p')")
  done
  printf '%s\n' "${v[@]}" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}
# err REF: max |u - u_ref| of the last run (s.h5) over the samples both solved, and how many of the last run failed
err() {
  $PY -c "
import h5py, numpy as np
a = h5py.File('$tmp/s.h5')['u'][:]; b = h5py.File('$1')['u'][:a.shape[0]]
ok = np.isfinite(a).all(1) & np.isfinite(b).all(1)
print(('%.3g' % np.abs(a[ok] - b[ok]).max() if ok.any() else 'n/a') + ('' if ok.all() else ' (%d of %d failed)' % ((~ok).sum(), ok.size)))"
}

echo "| model | integrator (default) | us/sample/core (median of $R, N = $N) | max error vs RK 8vr at 1e-11 (vdp_stiff: BDF4 at 1e-10) |"
echo "|---|---|---|---|"
for m in fhn fhn3 hh hh4 vdp_stiff; do
  n=$N
  [[ $m == vdp_stiff ]] && n=$((N / 16)) # implicit and slow: fewer samples
  refts=(-ts_type rk -ts_rk_type 8vr -ts_rtol 1e-11 -ts_atol 1e-11)
  [[ $m == vdp_stiff ]] && refts=(-ts_type bdf -ts_bdf_order 4 -ts_rtol 1e-10 -ts_atol 1e-10 -batch 1) # too stiff for RK
  mpiexec -n 1 "$inv" simulate -model $m -n $n -seed 1 -o "$tmp/ref_$m.h5" "${refts[@]}" -quiet 2>/dev/null ||
    { echo "| $m | reference failed | | |"; continue; }
  desc=$(mpiexec -n 1 "$inv" simulate -model $m -n 1 -o "$tmp/d.h5" -overwrite | sed -n 's/.*integrator: //p')
  t=$(usps $n -model $m)
  echo "| $m | $desc | $t | $(err "$tmp/ref_$m.h5") |"
done

echo
echo "Hodgkin-Huxley (hh), $((N / 8)) samples: the implicit path (BDF, -batch 1: each member its own steps) against the explicit default"
echo
echo "| integrator | us/sample/core | max error |"
echo "|---|---|---|"
n=$((N / 8))
t=$(usps $n -model hh)
e0=$(err "$tmp/ref_hh.h5")
echo "| per-member RK 6vr at 3e-7 (default) | $t | $e0 |"
for tol in 1e-6 1e-8 1e-10; do
  t=$(usps $n -model hh -ts_type bdf -ts_rtol $tol -ts_atol $tol -batch 1)
  e=$(err "$tmp/ref_hh.h5")
  echo "| BDF at $tol | $t | $e |"
  [[ $e =~ ^[0-9.e+-]+$ ]] && $PY -c "import sys; sys.exit(0 if $e <= $e0 else 1)" && break
done
