#!/usr/bin/env bash
# The stiff test model end to end through the CLI: simulate (implicit default: adaptive BDF) and map (derivative
# default: Crank-Nicolson, second-order Hessian) on 2 ranks, and the integrator combinations PETSc 3.18 cannot
# differentiate refused with a message (non-zero exit, no output left behind).
source "$(dirname "$0")/lib.sh"
run 2 simulate -model vdp_stiff -n 6 -obs_n 30 -obs_dt 0.2 -o sim.h5 -quiet || fail "simulate vdp_stiff"
"$PYTHON" - <<'PY' || fail "simulate vdp_stiff: outputs"
import h5py, numpy as np
f = h5py.File("sim.h5", "r")
assert (f["status"][:] == 0).all(), f["status"][:]
u = f["u"][:]
assert u.shape == (6, 30) and np.isfinite(u).all() and np.abs(u).max() < 2.1, u
PY
[[ -e sim.h5 ]] && pass "simulate vdp_stiff on 2 ranks"
run 2 map -i sim.h5 -n 2 -map_starts 1 -map_hessian soa -o map.h5 -quiet || fail "map vdp_stiff (cn, soa)"
"$PYTHON" -c "import h5py, numpy as np; f = h5py.File('map.h5', 'r'); assert np.isfinite(f['theta_map'][:]).all()" \
  && pass "map vdp_stiff on 2 ranks (cn, second-order Hessian)" || fail "map vdp_stiff: estimates"
E=(map -i sim.h5 -n 1 -quiet -o bad.h5)
expect_error "map with bdf" "bdf, arkimex and the others have none.*petsc-notes.md" bad.h5 -- 1 "${E[@]}" -map_ts_type bdf
expect_error "map with arkimex" "discrete adjoint in PETSc 3.18" bad.h5 -- 1 "${E[@]}" -map_ts_type arkimex
expect_error "soa with beuler" "one-stage \(midpoint\) theta form" bad.h5 -- 1 "${E[@]}" -map_ts_type beuler -map_hessian soa
expect_error "rk gauss-newton adaptive" "Gauss-Newton sensitivities with RK" bad.h5 -- 1 "${E[@]}" -map_ts_type rk -map_ts_adapt_type basic
expect_error "rk adjoint zero-weight tableau" "zero b weight" bad.h5 -- 1 "${E[@]}" -map_ts_type rk -map_ts_rk_type 5dp
finish
