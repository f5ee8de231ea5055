#!/usr/bin/env bash
# Options (usability issue): an option nothing reads is refused with the nearest known option, in every
# command and in a pipeline stage at plan time (before any stage runs); PETSc's own options pass;
# -invmap_allow_unused only warns. Help shows invmap's options first. predict's -net (and the deprecated
# -model), a CSV column that names no parameter, a bad number naming its option, a foreign CSV in the
# pipeline directory refused before anything runs.
source "$(dirname "$0")/lib.sh"
run 1 simulate -n 40 -obs_n 100 -seed 3 -o tr.h5 -quiet -log_view :log.txt
[[ -s log.txt ]] && pass "PETSc's -log_view still works" || fail "-log_view wrote nothing"
run 1 train -i tr.h5 -o net.h5 -train_epochs 1 -quiet

expect_error "simulate typo" "Unknown option -sedd .*did you mean -seed\?" out.h5 -- 1 simulate -n 50 -sedd 3 -o out.h5
expect_error "train typo" "Unknown option -train_epoch .*did you mean -train_epochs\?" out.h5 -- 1 train -i tr.h5 -o out.h5 -train_epoch 2
expect_error "predict typo" "Unknown option -predict_bach .*did you mean -predict_batch\?" out.h5 -- 1 predict -net net.h5 -i tr.h5 -o out.h5 -predict_bach 3
expect_error "map TAO typo" "Unknown option -map_tao_typ .*did you mean -map_tao_type\?" out.h5 -- 1 map -i tr.h5 -n 1 -o out.h5 -map_tao_typ lmvm
expect_error "evaluate typo" "Unknown option -eval_nn .*did you mean -eval_n\?" out.h5 -- 1 evaluate -truth tr.h5 -estimates tr.h5 -o out.h5 -eval_nn 3
expect_error "bad integer names its option" "option -n: .*abc" out.h5 -- 1 simulate -n abc -o out.h5

rc=0
run 1 simulate -n 4 -obs_n 100 -o allow.h5 -sedd 3 -invmap_allow_unused >allow.log 2>&1 || rc=$?
[[ $rc -eq 0 ]] && grep -q "warning: option -sedd is not used" allow.log && pass "-invmap_allow_unused warns" || fail "-invmap_allow_unused (rc $rc)"

expect_error "pipeline stage typo" "Unknown option -net_cnn_train_epoch for stage train_cnn.*did you mean -net_cnn_train_epochs\?" "" -- 1 pipeline -pipeline_dir P -net_cnn_train_epoch 5 -pipeline_dry_run
expect_error "pipeline typo" "Unknown option -pipeline_net .*did you mean -pipeline_nets\?" "" -- 1 pipeline -pipeline_dir P -pipeline_net cnn -pipeline_dry_run
expect_error "pipeline unknown prefix" "Unknown option -netz_cnn_train_epochs .*selects no stage" "" -- 1 pipeline -pipeline_dir P -netz_cnn_train_epochs 5 -pipeline_dry_run
[[ ! -e P ]] && pass "nothing made by the refused plans" || fail "refused plans made P"

mkdir F && echo "foreign" > F/compare.csv
expect_error "foreign CSV before any stage" "F/compare.csv exists but .*nothing was run.*-pipeline_dir" "" -- 1 pipeline -pipeline_dir F -set_train_n 20 -set_test_n 10
[[ "$(ls F)" == "compare.csv" ]] && pass "no stage output created" || fail "F holds $(ls F | tr '\n' ' ')"

"$INVMAP" simulate -help >help.txt 2>&1 || true
head -30 help.txt | grep -q -- "-seed" && head -30 help.txt | grep -q -- "-prior_sd .*0.3,0.4" && pass "help: invmap's options first, full defaults" || fail "help's first 30 lines"
grep -q "PETSc Team" help.txt && fail "help shows PETSc's boilerplate without -help_petsc" || pass "no PETSc boilerplate"
rc=0
"$INVMAP" -help >help0.txt 2>&1 || rc=$?
[[ $rc -eq 0 ]] && head -15 help0.txt | grep -q "simulate" && pass "invmap -help lists the commands first" || fail "invmap -help (rc $rc)"

run 1 predict -net net.h5 -i tr.h5 -o p1.h5 -quiet >p1.log 2>&1 && ! grep -q deprecated p1.log && pass "predict -net" || fail "predict -net"
run 1 predict -model net.h5 -i tr.h5 -o p2.h5 -quiet >p2.log 2>&1 && grep -q "model is deprecated .*use -net" p2.log && pass "predict -model warns" || fail "predict -model"

printf 'theta0,theta1,theta2\n0.4,0.4,1\n' > extra.csv
run 1 simulate -theta_file extra.csv -obs_n 100 -o extra.h5 -quiet >extra.log 2>&1 && grep -q "column 'theta2' is no parameter" extra.log && pass "CSV extra column warns" || fail "CSV extra column"
finish
