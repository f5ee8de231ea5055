#!/usr/bin/env bash
# A run stopped by SIGTERM (one process) or SIGUSR1 (forwarded by mpirun, as SLURM sends it) saves its
# chunks, exits with status 75 leaving only <output>.partial, and -resume finishes it with a result
# bitwise identical to an uninterrupted run. A resume with different settings is refused.
source "$(dirname "$0")/lib.sh"
opts=(-n 6000 -seed 3 -batch 32 -chunk 64 -progress 0)
run 2 simulate "${opts[@]}" -quiet -o ref.h5

# The runs to be signalled get -invmap_test_wait_signal: their first safe point (after the first chunk) prints a line
# and waits for the signal, so the signal always finds work left and a handler installed (no race with the load).
interrupt() { # interrupt SIGNAL OUT launcher...
  local sig=$1 out=$2; shift 2
  "$@" simulate "${opts[@]}" -o "$out" -invmap_test_wait_signal >"$out.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 6000); do grep -q "waiting for a signal" "$out.log" 2>/dev/null && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -"$sig" "$pid"
  local rc=0; wait "$pid" || rc=$?
  echo "$rc"
}
rc=$(interrupt TERM a.h5 "$INVMAP")
if [[ $rc -eq 75 && -f a.h5.partial && ! -e a.h5 ]]; then pass "SIGTERM: exit 75, only a.h5.partial left"; else fail "SIGTERM: exit $rc"; cat a.h5.log; fi
grep -q "rerun with -resume" a.h5.log && pass "SIGTERM: message tells how to resume" || fail "no resume hint"
rc=$(interrupt USR1 b.h5 $MPIEXEC -n 2 "$INVMAP")
if [[ $rc -ne 0 && -f b.h5.partial && ! -e b.h5 ]]; then pass "SIGUSR1 via mpirun: exit $rc, only b.h5.partial left"; else fail "SIGUSR1: exit $rc"; cat b.h5.log; fi

expect_error "resume with other settings" "settings differ" "" -- 1 simulate -n 6000 -seed 4 -batch 32 -chunk 64 -resume -o a.h5 -quiet
[[ -f a.h5.partial ]] && pass "refused resume kept the partial file" || fail "refused resume lost the partial file"
run 1 simulate "${opts[@]}" -resume -o a.h5 -quiet
run 3 simulate "${opts[@]}" -resume -o b.h5 -quiet
for f in a.h5 b.h5; do
  [[ -f $f && ! -e $f.partial ]] || fail "$f not completed"
  for d in /theta /u /d /noise /status; do
    h5diff -q ref.h5 $f $d $d && pass "$f $d identical after resume" || fail "$f $d differs after resume"
  done
done
out=$(run 1 simulate "${opts[@]}" -resume -o a.h5 -quiet 2>&1) && grep -q "already complete" <<<"$out" && pass "resume of a complete file is a no-op" || fail "resume of complete file: $out"
finish
