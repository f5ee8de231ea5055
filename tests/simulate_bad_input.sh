#!/usr/bin/env bash
# Bad input to `invmap simulate`: each case exits non-zero with a message naming the problem and leaves
# no output file (nor a .partial) behind; an existing output is never clobbered without -overwrite.
source "$(dirname "$0")/lib.sh"
printf 'theta0,theta1\n0.4,0.4\n0.5,0.3\n' > good.csv
printf 'theta0,foo\n0.4,0.4\n' > wrongheader.csv
printf 'theta0,theta1\n0.4,abc\n' > nonnumeric.csv
printf 'theta0,theta1\n0.4,0.4\n0.5\n' > ragged.csv
printf 'theta0,theta1\n0.4,nan\n' > nan.csv
: > empty.csv
printf 'theta0,theta1\n' > headeronly.csv
printf '0.4,0.4\n0.5,0.3\n' > noheader.csv
"$PYTHON" -c "import h5py, numpy as np; f=h5py.File('nodset.h5','w'); f['x']=np.zeros(3)"
"$PYTHON" -c "import h5py, numpy as np; f=h5py.File('shape.h5','w'); f['theta']=np.zeros((4,3))"
"$PYTHON" -c "import h5py, numpy as np; f=h5py.File('nanh5.h5','w'); f['theta']=np.array([[0.4,np.nan]])"

E=(simulate -quiet -o out.h5)
expect_error "missing theta file" "does not exist" out.h5 -- 1 "${E[@]}" -theta_file nope.csv
expect_error "directory as theta file" "does not exist" out.h5 -- 1 "${E[@]}" -theta_file .
expect_error "wrong CSV header" "lacks a column for parameter theta1" out.h5 -- 2 "${E[@]}" -theta_file wrongheader.csv
expect_error "non-numeric CSV cell" "line 2 column 2.*'abc' is not a number" out.h5 -- 2 "${E[@]}" -theta_file nonnumeric.csv
expect_error "ragged CSV row" "line 3: 1 columns, expected 2" out.h5 -- 1 "${E[@]}" -theta_file ragged.csv
expect_error "NaN in CSV" "not finite" out.h5 -- 1 "${E[@]}" -theta_file nan.csv
expect_error "empty CSV" "is empty" out.h5 -- 1 "${E[@]}" -theta_file empty.csv
expect_error "CSV without rows" "no data rows" out.h5 -- 1 "${E[@]}" -theta_file headeronly.csv
expect_error "CSV without header" "expected a header" out.h5 -- 1 "${E[@]}" -theta_file noheader.csv
expect_error "HDF5 without /theta" "/theta is missing" out.h5 -- 2 "${E[@]}" -theta_file nodset.h5
expect_error "HDF5 /theta wrong shape" "has shape \(4, 3\)" out.h5 -- 2 "${E[@]}" -theta_file shape.h5
expect_error "HDF5 /theta with NaN" "not finite" out.h5 -- 1 "${E[@]}" -theta_file nanh5.h5
expect_error "zero samples" "-n must be a positive" out.h5 -- 1 "${E[@]}" -n 0
expect_error "negative samples" "-n must be a positive" out.h5 -- 2 "${E[@]}" -n -5
expect_error "non-integer samples" "n" out.h5 -- 1 "${E[@]}" -n ten
expect_error "rtol zero" "Tolerances out of range" out.h5 -- 1 "${E[@]}" -n 4 -ts_rtol 0
expect_error "atol above one" "Tolerances out of range" out.h5 -- 1 "${E[@]}" -n 4 -ts_atol 2
expect_error "unknown model" "Unknown model 'vanderpol'; available models: fhn" out.h5 -- 2 "${E[@]}" -model vanderpol
expect_error "zero batch" "-batch must be" out.h5 -- 1 "${E[@]}" -n 4 -batch 0
expect_error "negative prior sd" "-prior_sd" out.h5 -- 1 "${E[@]}" -n 4 -prior_sd -1,0.4
expect_error "prior list too short" "needs 2 comma-separated values" out.h5 -- 1 "${E[@]}" -n 4 -prior_mean 0.4
expect_error "non-stationary rho" "\|rho\| < 1" out.h5 -- 1 "${E[@]}" -n 4 -noise_rho 1.5
expect_error "zero sigma" "sigma > 0" out.h5 -- 1 "${E[@]}" -n 4 -noise_sigma 0
expect_error "unknown noise type" "noise_type" out.h5 -- 1 "${E[@]}" -n 4 -noise_type pink
expect_error "unwritable output directory" "Cannot create HDF5 file" "" -- 2 simulate -quiet -n 4 -o /nonexistent/dir/out.h5
expect_error "unknown command" "unknown command" "" -- 1 simulat

# An existing output survives a run without -overwrite, and a bad run with -overwrite.
echo "precious" > keep.h5
expect_error "existing output" "exists; pass -overwrite" "" -- 1 simulate -quiet -n 4 -o keep.h5
expect_error "bad run with -overwrite" "-n must be a positive" "" -- 1 simulate -quiet -n 0 -o keep.h5 -overwrite
[[ "$(cat keep.h5)" == "precious" ]] && pass "existing output untouched" || fail "existing output was modified"
run 1 simulate -quiet -n 4 -o keep.h5 -overwrite && h5dump -H keep.h5 >/dev/null && pass "-overwrite replaces it with a complete file" || fail "-overwrite"

# -help lists the options with their defaults and does not run.
run 1 simulate -help > help.txt 2>&1 || true
for o in -n -seed -theta_file -batch -chunk -resume -ts_rtol -ts_rk_type -noise_type -noise_rho_prior -prior_mean -model_gamma -obs_n; do
  grep -q -- "$o" help.txt && pass "-help lists $o" || fail "-help lacks $o"
done
[[ ! -e ensemble.h5 ]] && pass "-help did not run" || fail "-help ran a simulation"
finish
