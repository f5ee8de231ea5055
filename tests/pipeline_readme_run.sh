#!/usr/bin/env bash
# invmap pipeline run the way the README runs it: `mpirun -n 2 invmap pipeline`, no argument after the
# command (the experiment comes from the share directory's default.opts, here the real default experiment
# shrunk to tiny sizes, found through INVMAP_SHARE), and Open MPI's default process binding. Regression
# test of the heap overflow in InvPipelineDescribeRun (PetscGetVersion wrote its ~45 characters into the
# heap string of the command line, 17 bytes for "invmap pipeline"; glibc aborted in PetscFinalize with
# "corrupted size vs. prev_size", or earlier): exit status 0, no message of glibc's allocator, ASan or
# UBSan, every output and the report, and the run's description in the manifest intact.
source "$(dirname "$0")/lib.sh"

case " $MPIEXEC " in
*" --bind-to "*) fail "MPIEXEC ($MPIEXEC) sets a binding: this test needs Open MPI's default, as users run" ;;
esac

# the share directory: the default experiment at tiny sizes (later options in the file win), the real report scripts
mkdir -p share/experiments run
ln -s "$INVMAP_SRC/share/report" share/report
{
  cat "$INVMAP_SRC/share/experiments/default.opts"
  printf '%s\n' "-set_train_n 200" "-set_test_n 20" "-net_cnn_train_epochs 1" "-net_dense_train_epochs 1" "-pipeline_map_n 2" \
    "-maps_map_screen 16" "-maps_map_starts 1" "-compare_eval_landscape_n 21"
} >share/experiments/default.opts

cd run
rc=0
SECONDS=0
INVMAP_SHARE="$WORK/share" $MPIEXEC -n 2 "$INVMAP" pipeline >log 2>&1 || rc=$?
if [[ $rc -eq 0 ]]; then pass "mpirun -n 2 invmap pipeline exited 0 (${SECONDS} s)"; else
  fail "mpirun -n 2 invmap pipeline exited $rc:"
  tail -25 log >&2
fi
grep -E "^== .*(done in|report\.md)" log | sed "s/^/    /" || true
# glibc's allocator checks, ASan/UBSan reports, Open MPI's report of a rank killed by a signal
pattern='corrupted|double free|free\(\): |malloc\(\): |munmap_chunk|realloc\(\): |AddressSanitizer|LeakSanitizer|runtime error:|Signal: |signal [0-9]+ \(|Aborted'
if grep -qE "$pattern" log; then
  fail "memory error reported:"
  grep -E -m5 "$pattern" log | sed 's/^/    /' >&2
else pass "no allocator, sanitizer or signal message"; fi

m=out/default/pipeline.tsv
field() { [[ -f $m ]] && awk -F'\t' -v k="$1" -v v="$2" -v c="$3" '$1 == k && $c == v' "$m" || true; } # lines of kind k with column c == v
n_done=$(field stage done 4 | wc -l)
[[ $n_done -eq 12 ]] && pass "manifest: 12 stages done" || fail "manifest: $n_done of 12 stages done"
[[ -s out/default/report/report.md ]] && pass "report written" || fail "out/default/report/report.md missing"
cmdline=$(field meta command 2 | cut -f3)
[[ "$cmdline" == "invmap pipeline" ]] && pass "manifest records the command '$cmdline'" || fail "manifest command is '$cmdline', not 'invmap pipeline'"
petsc=$(field meta petsc 2 | cut -f3)
[[ "$petsc" == Petsc* ]] && pass "manifest records PETSc: $petsc" || fail "manifest PETSc version is '$petsc'"
finish
