#!/bin/bash
# invmap map end to end: results identical on 1 and 2 ranks, parameters recovered, refinement from a
# previous output (-map_init) with the full Hessian (fd and soa agree), -help lists the TAO/TS options, clear errors.
set -uo pipefail
W=$(mktemp -d)
trap 'umount "$W/tiny" 2> /dev/null; rm -rf "$W"' EXIT
fail=0
$MPIEXEC -n 2 $INVMAP simulate -n 16 -obs_n 250 -seed 4 -o $W/obs.h5 -quiet || exit 1
$MPIEXEC -n 1 $INVMAP map -i $W/obs.h5 -o $W/m1.h5 -map_starts 4 || exit 1
$MPIEXEC -n 2 $INVMAP map -i $W/obs.h5 -o $W/m2.h5 -map_starts 4 -quiet || exit 1
for d in /theta_map /objective /cov /n_starts_at_best /status /iterations; do
  if ! h5diff $W/m1.h5 $W/m2.h5 $d $d > $W/diff 2>&1; then
    echo "FAIL: $d differs between 1 and 2 ranks"
    cat $W/diff
    fail=1
  fi
done
# every sample fitted; MAP within 0.05 of the truth for all but at most 2 of 32 parameters
if h5dump -d /status $W/m1.h5 | grep -E "^ *\([0-9]+\):" | sed 's/([0-9]*)://' | grep -Eq "[1-9]"; then
  echo "FAIL: some samples not fitted"
  h5dump -d /status $W/m1.h5
  fail=1
fi
ndiff=$(h5diff -d 0.05 $W/m1.h5 $W/m1.h5 /theta_map /theta | grep -Eo "^[0-9]+ differences" | awk '{print $1}')
ndiff=${ndiff:-0}
echo "parameters further than 0.05 from the truth: $ndiff of 32"
if [ "$ndiff" -gt 2 ]; then
  echo "FAIL: too many parameters far from the truth"
  fail=1
fi
# refine from the previous MAP points with the full Hessian: same objective
$MPIEXEC -n 2 $INVMAP map -i $W/obs.h5 -o $W/m3.h5 -map_init $W/m1.h5 -map_starts 0 -map_start_mean 0 -map_hessian fd -quiet || exit 1
if ! h5diff -p 1e-8 $W/m1.h5 $W/m3.h5 /objective /objective > $W/diff 2>&1; then
  echo "FAIL: refinement from the MAP point changed the objective"
  cat $W/diff
  fail=1
fi
if ! h5diff -p 0.05 $W/m1.h5 $W/m3.h5 /cov /cov > $W/diff 2>&1; then
  echo "note: GN and full-Hessian covariances differ by more than 5% somewhere (expected with noisy data):"
  head -5 $W/diff
fi
h5dump -a /hessian_type $W/m3.h5 | grep -q "central differences of adjoint gradients" || { echo "FAIL: hessian_type attribute"; fail=1; }
# full Hessian from second-order adjoints: same covariance as central differences of adjoint gradients
# the trajectory files go to a directory of this test's own (the default /dev/shm is shared with other runs)
mkdir -p $W/soa
$MPIEXEC -n 2 $INVMAP map -i $W/obs.h5 -o $W/m5.h5 -map_init $W/m1.h5 -map_starts 0 -map_start_mean 0 -map_hessian soa \
  -map_soa_tmpdir $W/soa -quiet || exit 1
if ! h5diff -p 1e-4 $W/m3.h5 $W/m5.h5 /cov /cov > $W/diff 2>&1; then
  echo "FAIL: soa and fd covariances differ by more than 1e-4 (relative)"
  cat $W/diff
  fail=1
fi
h5dump -a /hessian_type $W/m5.h5 | grep -q "second-order adjoints" || { echo "FAIL: soa hessian_type attribute"; fail=1; }
[ -z "$(ls -A $W/soa)" ] || { echo "FAIL: soa trajectory directories left behind: $(ls -A $W/soa)"; fail=1; }
for a in model parameter_names model_constants prior_mean kind integrator; do
  h5dump -A -a /$a $W/m1.h5 > /dev/null 2>&1 || { echo "FAIL: attribute $a missing"; fail=1; }
done
$MPIEXEC -n 1 $INVMAP map -help > $W/help 2>&1
for o in -map_tao_type -map_tao_gatol -map_ts_type -map_ts_dt -map_starts -map_hessian -map_init -noise_rho -map_soa_tmpdir; do
  grep -q -- "$o" $W/help || { echo "FAIL: -help does not list $o"; fail=1; }
done
# bad rows in the input file (NaN/Inf series, sigma <= 0, |rho| >= 1, a failed simulation) are flagged, none lost
/usr/bin/python3 - "$W/obs.h5" "$W/bad.h5" << 'EOF2' || exit 1
import shutil, sys, h5py, numpy as np
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "r+") as f:
    d, nz, st = f["d"][...], f["noise"][...], f["status"][...]
    d[3, 10] = np.nan; d[4, 0] = np.inf; nz[5, 1] = -0.1; nz[6, 0] = 1.0; st[7] = 2
    f["d"][...], f["noise"][...], f["status"][...] = d, nz, st
EOF2
$MPIEXEC -n 2 $INVMAP map -i $W/bad.h5 -o $W/bad_map.h5 -map_starts 0 -quiet > $W/log 2>&1 || { echo "FAIL: map on bad rows"; cat $W/log; fail=1; }
/usr/bin/python3 - "$W/bad_map.h5" << 'EOF2' || { echo "FAIL: bad rows not flagged as expected"; fail=1; }
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    st, th, J = f["status"][...], f["theta_map"][...], f["objective"][...]
expect = np.zeros(16, int); expect[[3, 4, 7]] = 1; expect[[5, 6]] = 2
print("status of the bad-row file:", st.tolist())
assert st.shape == (16,) and (st == expect).all()
assert np.isnan(th[st != 0]).all() and np.isfinite(J[st == 0]).all()
EOF2
grep -q "3 series are unusable" $W/log && grep -q "2 samples have invalid AR(1) noise" $W/log || { echo "FAIL: bad-row warnings"; cat $W/log; fail=1; }
# -map_init of the wrong shape
/usr/bin/python3 -c "import h5py, numpy as np; h5py.File('$W/init.h5', 'w')['theta_init'] = np.zeros((3, 2))" || exit 1
# errors
expect_error() {
  local pattern="$1"
  shift
  "$@" > $W/log 2>&1
  local rc=$?
  if [ $rc -eq 0 ] || ! grep -Eq "$pattern" $W/log; then
    echo "FAIL (rc $rc, expected /$pattern/): $*"
    cat $W/log
    fail=1
  fi
}
expect_error "exists; pass -overwrite" $MPIEXEC -n 2 $INVMAP map -i $W/obs.h5 -o $W/m1.h5 -quiet
expect_error "does not exist" $MPIEXEC -n 2 $INVMAP map -i $W/none.h5 -o $W/m4.h5 -quiet
expect_error "Give the observed series with -i" $MPIEXEC -n 1 $INVMAP map -o $W/m4.h5 -quiet
expect_error "zero b weight" $MPIEXEC -n 1 $INVMAP map -i $W/obs.h5 -o $W/m4.h5 -map_ts_rk_type 5dp -quiet
expect_error "one-stage \\(midpoint\\) theta form" $MPIEXEC -n 1 $INVMAP map -i $W/obs.h5 -o $W/m4.h5 -map_ts_type beuler -map_hessian soa -quiet
expect_error "ts_dt 0.03 does not divide observation time" $MPIEXEC -n 1 $INVMAP map -i $W/obs.h5 -o $W/m4.h5 -map_ts_dt 0.03 -map_hessian soa -quiet
expect_error "ts_dt 0.03 does not divide observation time" $MPIEXEC -n 1 $INVMAP map -i $W/obs.h5 -o $W/m4.h5 -map_ts_dt 0.03 -quiet
expect_error "has none of /theta_init" $MPIEXEC -n 1 $INVMAP map -i $W/obs.h5 -o $W/m4.h5 -map_init $W/obs.h5 -quiet
expect_error "theta_init has shape \(3, 2\); need \(N >= 16, 2\)" $MPIEXEC -n 2 $INVMAP map -i $W/obs.h5 -o $W/m4.h5 -map_init $W/init.h5 -quiet
[ -e $W/m4.h5 ] && { echo "FAIL: output written despite errors"; fail=1; }
# an error in the middle of the second-order sweep (its scratch file system full): a clear error, and
# neither trajectory files nor an output left behind
mkdir -p $W/tiny
if mount -t tmpfs -o size=64k tmpfs $W/tiny 2> /dev/null; then
  expect_error "invmap map: error" $MPIEXEC -n 1 $INVMAP map -i $W/obs.h5 -o $W/m6.h5 -map_init $W/m1.h5 -map_starts 0 \
    -map_start_mean 0 -map_hessian soa -map_soa_tmpdir $W/tiny -quiet
  head -3 $W/log
  left=$(ls -A $W/tiny)
  umount $W/tiny
  [ -z "$left" ] || { echo "FAIL: a failed soa sweep left $left in its scratch directory"; fail=1; }
  [ -e $W/m6.h5 ] && { echo "FAIL: output written despite the failed sweep"; fail=1; }
else
  echo "note: no tmpfs can be mounted here (not root, or a container without CAP_SYS_ADMIN): the full-scratch case is skipped"
fi
exit $fail
