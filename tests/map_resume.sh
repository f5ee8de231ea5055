#!/usr/bin/env bash
# invmap map interrupted and resumed: a run stopped by the test option -map_interrupt_after (deterministic),
# by SIGUSR1 through mpirun after its first progress line, or by SIGTERM (one process) finishes the samples
# in flight, exits with status 75 leaving only <output>.partial, and -resume (any rank count or batch) finishes it
# with every dataset but /wall_time identical to an uninterrupted run: exact comparisons, because docs/design.md guarantees
# bitwise independence of the rank count and -map_batch for the default -map_hessian gn with RK (each member's
# sensitivities and Hessian use only its own values; /wall_time is a timing and never compared). A resume with other settings and a
# plain rerun over the partial file are refused; resuming a complete file is a no-op.
source "$(dirname "$0")/lib.sh"
opts=(-i obs.h5 -map_starts 2 -map_batch 2)
run 2 simulate -n 24 -obs_n 250 -seed 4 -o obs.h5 -quiet
run 2 map "${opts[@]}" -o ref.h5 -quiet

same_as_ref() { # same_as_ref FILE LABEL
  local ok=1
  for d in /theta_map /objective /cov /gradient_norm /iterations /function_evaluations /converged_reason /n_starts_at_best /n_starts_ok \
    /status /noise /theta /t; do
    h5diff -q ref.h5 "$1" $d $d || { fail "$2: $d differs from the uninterrupted run"; ok=0; }
  done
  ((ok)) && pass "$2: every dataset identical to the uninterrupted run"
}
status_of() { local rc=0; "$@" >"$WORK/log" 2>&1 || rc=$?; echo "$rc"; }

# deterministic: the test option raises the interrupt after 3 samples per rank
rc=$(status_of run 2 map "${opts[@]}" -o a.h5 -map_interrupt_after 3 -map_progress 0)
if [[ $rc -eq 75 && -f a.h5.partial && ! -e a.h5 ]]; then pass "interrupt after 3 samples: exit 75, only a.h5.partial"; else fail "interrupt: exit $rc"; cat "$WORK/log"; fi
grep -q "rerun with -resume" "$WORK/log" && pass "message tells how to resume" || fail "no resume hint"
ndone=$(h5dump -d /done a.h5.partial | grep -Eo "\b1\b" | wc -l)
((ndone > 0 && ndone < 24)) && pass "checkpoint holds $ndone of 24 samples" || fail "checkpoint holds $ndone samples"
expect_error "resume with other settings" "settings differ" "" -- 2 map -i obs.h5 -map_starts 3 -map_batch 2 -o a.h5 -resume -quiet
expect_error "rerun over an interrupted run" "holds an interrupted run" "" -- 1 map "${opts[@]}" -o a.h5 -quiet
[[ -f a.h5.partial ]] && pass "refused runs kept the partial file" || fail "refused runs lost the partial file"
run 1 map -i obs.h5 -map_starts 2 -map_batch 8 -o a.h5 -resume -quiet
[[ -f a.h5 && ! -e a.h5.partial ]] && pass "resume on 1 rank (another -map_batch) completed a.h5" || fail "a.h5 not completed"
same_as_ref a.h5 "interrupt + resume (2 ranks, batch 2 -> 1 rank, batch 8)"
out=$(run 1 map "${opts[@]}" -o a.h5 -resume -quiet 2>&1) && grep -q "already complete" <<<"$out" && pass "resume of a complete file is a no-op" || fail "resume of complete file: $out"

# real signals: SIGUSR1 through mpirun; SIGTERM to one process. -invmap_test_wait_signal makes each rank, after its
# first finished sample, print a line and wait for the signal: it always finds samples left and the handler installed.
interrupt() { # interrupt SIGNAL OUT launcher...
  local sig=$1 out=$2; shift 2
  "$@" map "${opts[@]}" -o "$out" -map_progress 0 -invmap_test_wait_signal >"$out.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 6000); do grep -q "waiting for a signal" "$out.log" 2>/dev/null && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -"$sig" "$pid"
  local rc=0; wait "$pid" || rc=$?
  echo "$rc"
}
rc=$(interrupt USR1 b.h5 $MPIEXEC -n 2 "$INVMAP")
if [[ $rc -ne 0 && -f b.h5.partial && ! -e b.h5 ]]; then pass "SIGUSR1 via mpirun: exit $rc, only b.h5.partial"; else fail "SIGUSR1: exit $rc"; cat b.h5.log; fi
rc=$(interrupt TERM c.h5 "$INVMAP")
if [[ $rc -eq 75 && -f c.h5.partial && ! -e c.h5 ]]; then pass "SIGTERM: exit 75, only c.h5.partial"; else fail "SIGTERM: exit $rc"; cat c.h5.log; fi
run 2 map "${opts[@]}" -o b.h5 -resume -quiet
run 2 map "${opts[@]}" -o c.h5 -resume -quiet
same_as_ref b.h5 "SIGUSR1 + resume"
same_as_ref c.h5 "SIGTERM + resume"
finish
