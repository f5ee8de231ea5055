# invmap evaluate (issue 5): metric values against an independent numpy computation (tests/evaluate_check.py)
# on perturbed estimates whose series invmap simulate computes, estimates with NaN rows, estimates = truth,
# MAP on a subset (cost, objective, mean/covariance errors); 1 vs 2 ranks identical; bad input.
source "$INVMAP_SRC/tests/lib.sh"
N=60
NT=400
dump() { h5dump -d "$2" -b LE -o "$3" "$1" >/dev/null; }
attr() { h5dump -a "$2" "$1" | sed -n 's/^ *(0): //p' | tr -d ' '; }

run 2 simulate -n $N -seed 3 -obs_n $NT -o test.h5 -quiet
for ds in theta u d noise t; do dump test.h5 /$ds $ds.bin; done
[[ $(h5dump -a /noise_scale test.h5 | grep -c '"dt"') -eq 1 ]] && pass "truth file: noise_scale dt" || fail "truth file lacks noise_scale dt"
# perturbed estimates (and a copy with NaN rows) from the true parameters
$PYTHON - <<'PY'
import numpy as np
th = np.fromfile("theta.bin", "<f8").reshape(-1, 2)
rng = np.random.default_rng(5)
est = th * (1 + 0.08 * rng.standard_normal(th.shape))
with open("est.csv", "w") as f:
    f.write("theta0,theta1\n")
    for r in est: f.write("%.17g,%.17g\n" % tuple(r))
nan = est.copy(); nan[3, 0] = np.nan; nan[7, :] = np.nan; nan[11, 1] = np.inf
nan.astype("<f8").tofile("nan_theta.bin")
PY
cat > nan.cfg <<CFG
PATH theta_pred
INPUT-CLASS FP
INPUT-SIZE 64
INPUT-BYTE-ORDER LE
RANK 2
DIMENSION-SIZES $N 2
OUTPUT-CLASS FP
OUTPUT-SIZE 64
OUTPUT-ARCHITECTURE IEEE
OUTPUT-BYTE-ORDER LE
CFG
h5import nan_theta.bin -c nan.cfg -o nanest.h5
run 2 simulate -theta_file est.csv -obs_n $NT -o est.h5 -quiet
dump est.h5 /theta est_theta.bin
dump est.h5 /u est_u.bin
NM=4
run 1 map -i test.h5 -n $NM -o map.h5 -quiet
for ds in function_evaluations:map_fev objective:map_obj theta_map:map_theta; do dump map.h5 /${ds%%:*} ${ds##*:}.bin; done

EV=(evaluate -truth test.h5 -estimates est.h5,nanest.h5,test.h5,map.h5 -labels pert,withnan,exact,map -cov_reference map.h5
  -eval_common_rows 0)
t0=$(date +%s.%N)
run 1 "${EV[@]}" -o e1.h5 -csv e1.csv >out1.txt
t1=$(date +%s.%N)
run 2 "${EV[@]}" -o e2.h5 -csv e2.csv >out2.txt
t2=$(date +%s.%N)
cat out2.txt
echo "evaluate: 1 rank $(echo "$t1 - $t0" | bc) s, 2 ranks $(echo "$t2 - $t1" | bc) s"

if $PYTHON "$INVMAP_SRC/tests/evaluate_check.py" $N $NT "$(attr test.h5 /prior_mean)" "$(attr test.h5 /prior_sd)" e1.csv $NM \
  "$(attr map.h5 /solve_seconds)" "$(attr map.h5 /n_ranks)"; then
  pass "metrics agree with the numpy computation"
else fail "metrics differ from the numpy computation"; fi

# 1 vs 2 ranks: identical summary and per-sample datasets
cmp -s e1.csv e2.csv && pass "CSV summary identical on 1 and 2 ranks" || fail "CSV summary differs between 1 and 2 ranks"
same=1
for g in pert withnan exact map; do
  for ds in theta ape rel_err sq_bias cmse objective objective_truth mean_rel_err sim_status; do
    dump e1.h5 /$g/$ds a.bin; dump e2.h5 /$g/$ds b.bin
    cmp -s a.bin b.bin || { same=0; echo "  /$g/$ds differs"; }
  done
done
dump e1.h5 /summary a.bin; dump e2.h5 /summary b.bin; cmp -s a.bin b.bin || same=0
((same)) && pass "per-sample datasets and /summary bitwise identical on 1 and 2 ranks" || fail "1 vs 2 ranks differ"

# batches of 16 samples: 4 batches split over the ranks (rank 1 simulates too), still identical
run 1 evaluate -truth test.h5 -estimates est.h5,nanest.h5 -eval_batch 16 -eval_objective 1 -o b1.h5 -quiet
run 2 evaluate -truth test.h5 -estimates est.h5,nanest.h5 -eval_batch 16 -o b2.h5 -quiet
same=1
for p in /summary /est/sq_bias /est/cmse /est/objective /nanest/sq_bias /nanest/objective /nanest/sim_status; do
  dump b1.h5 $p a.bin; dump b2.h5 $p b.bin
  cmp -s a.bin b.bin || { same=0; echo "  $p differs"; }
done
((same)) && pass "-eval_batch 16: work split over 2 ranks, results bitwise identical to 1 rank" || fail "-eval_batch 16: 1 vs 2 ranks differ"

# what the table and the file say
grep -q "withnan: 3 estimate(s) with NaN/Inf, excluded" out1.txt && pass "NaN estimates counted and reported" || fail "NaN report missing"
grep -q "map: evaluated on the first $NM of $N samples" out1.txt && pass "subset evaluation stated" || fail "subset message missing"
h5dump -a /definitions e1.h5 | grep -q "sq_bias = (mean(s - u))^2" && pass "definitions attribute" || fail "definitions attribute"
# the help goes to a file first: grep -q closing a pipe early would end invmap with SIGPIPE (a race under pipefail)
run 1 evaluate -help > help.txt 2>&1 || fail "evaluate -help failed"
grep -q "cmse = mean" help.txt && pass "-help states the definitions" || fail "-help lacks the definitions"
run 2 evaluate -truth test.h5 -estimates est.h5,map.h5 -o e3.h5 -quiet -eval_timeseries 0
if h5dump -d /est/ape e3.h5 | grep -q "( $NM, 2 )" && ! h5dump -d /est/sq_bias e3.h5 >/dev/null 2>&1; then
  pass "default: estimates evaluated on the $NM rows common to all; -eval_timeseries 0 skips the series"
else fail "common rows / -eval_timeseries 0"; fi

# objective of a MAP fit to the clean series: -eval_objective_data u with the sigma the fit used
run 1 map -i test.h5 -n 2 -map_clean -noise_sigma 0.1 -noise_rho 0 -o mapc.h5 -quiet
run 2 evaluate -truth test.h5 -estimates mapc.h5 -eval_objective_data u -noise_sigma 0.1 -noise_rho 0 -o c.h5 -csv c.csv -quiet
dump mapc.h5 /objective mapc_obj.bin
if $PYTHON - <<'PY'; then pass "-eval_objective_data u: J at the clean-data MAP matches the optimiser's"; else fail "-eval_objective_data u"; fi
import numpy as np
h = open("c.csv").read().split("\n")
r = dict(zip(h[0].split(","), h[1].split(",")))
want = np.median(np.fromfile("mapc_obj.bin", "<f8")[:2])
print("evaluate", r["median_objective"], "map", want)
raise SystemExit(0 if np.isclose(float(r["median_objective"]), want, rtol=1e-3) else 1)
PY

# an estimate whose re-simulation fails: counted, reported, excluded from the series medians
$PYTHON -c "import numpy as np; np.array([[0.5, 0.6], [1e8, -1e8], [0.4, 0.7]]).astype('<f8').tofile('fail.bin')"
sed "s/DIMENSION-SIZES $N 2/DIMENSION-SIZES 3 2/" nan.cfg >fail.cfg
h5import fail.bin -c fail.cfg -o failest.h5
run 2 evaluate -truth test.h5 -estimates failest.h5 -o f.h5 >outf.txt
if grep -q "failest: 1 re-simulation(s) failed" outf.txt && grep -Eq "^n_sim_failed +1$" outf.txt &&
  h5dump -d /failest/sim_status f.h5 | grep -Eq "\(0\): 0, [1-3], 0"; then
  pass "failed re-simulation counted and flagged in sim_status"
else fail "failed re-simulation"; cat outf.txt; fi

# bad input: clear errors, non-zero exit, nothing written or overwritten
run 2 simulate -n 10 -seed 4 -obs_n $NT -o small.h5 -quiet
expect_error "missing truth" "Truth file nope.h5 \\(-truth\\) does not exist" bad.h5 -- 2 evaluate -truth nope.h5 -estimates est.h5 -o bad.h5
expect_error "missing estimate file" "Estimate file nope.h5 \\(-estimates\\) does not exist" bad.h5 -- 2 evaluate -truth test.h5 -estimates est.h5,nope.h5 -o bad.h5
expect_error "missing reference" "Reference file nope.h5" bad.h5 -- 2 evaluate -truth test.h5 -estimates est.h5 -cov_reference nope.h5 -o bad.h5
expect_error "mismatched P" "column.*2 parameters" bad.h5 -- 2 evaluate -truth test.h5 -estimates est.h5 -eval_dataset u -o bad.h5
expect_error "more rows than the truth" "rows but the truth" bad.h5 -- 2 evaluate -truth small.h5 -estimates est.h5 -o bad.h5
expect_error "labels count" "-labels has 1 names for 2" bad.h5 -- 2 evaluate -truth test.h5 -estimates est.h5,map.h5 -labels a -o bad.h5
expect_error "duplicate labels" "labelled 'a'" bad.h5 -- 2 evaluate -truth test.h5 -estimates est.h5,map.h5 -labels a,a -o bad.h5
expect_error "no output" "give -o" "" -- 2 evaluate -truth test.h5 -estimates est.h5
expect_error "truth not an ensemble" "no 'model' attribute" bad.h5 -- 2 evaluate -truth nanest.h5 -estimates nanest.h5 -o bad.h5
expect_error "bad -eval_objective_data" "use d or u" bad.h5 -- 1 evaluate -truth test.h5 -estimates est.h5 -eval_objective_data x -o bad.h5
run 1 map -i small.h5 -n 2 -o smallmap.h5 -quiet
expect_error "estimates of another data set" "belong to another data set" bad.h5 -- 2 evaluate -truth test.h5 -estimates smallmap.h5 -o bad.h5
sum=$(md5sum e1.h5)
expect_error "existing output" "exists; pass -overwrite" "" -- 2 evaluate -truth test.h5 -estimates est.h5 -o e1.h5
[[ "$(md5sum e1.h5)" == "$sum" && ! -e e1.h5.partial ]] && pass "existing output untouched" || fail "existing output changed"
finish
