#!/usr/bin/env bash
# /theta, /u, /d, /noise and /status are bitwise identical for 1, 2 and 3 ranks and for different
# chunk sizes; a different batch size changes /u by less than the accuracy target. With one step per
# member (-step_control member, the default) a member's arithmetic does not depend on the other members
# or its lane (ISO C: no contraction into FMA, so vector and scalar loops round alike), so a different
# batch size gives a bitwise identical /u; with the batch's shared step (-step_control batch) the ranks
# and chunks still give identical files.
source "$(dirname "$0")/lib.sh"
common=(simulate -n 300 -seed 7 -batch 16 -quiet)
run 1 "${common[@]}" -chunk 4096 -o r1.h5
run 2 "${common[@]}" -chunk 64 -o r2.h5
run 3 "${common[@]}" -chunk 32 -o r3.h5
run 2 "${common[@]}" -chunk 100 -o r2b.h5   # rounded up to 112 = 7 batches
for f in r2.h5 r3.h5 r2b.h5; do
  for d in /theta /u /d /noise /status; do
    if h5diff -q r1.h5 "$f" "$d" "$d"; then pass "$f $d identical to 1 rank"; else fail "$f $d differs from 1 rank"; fi
  done
done
run 2 simulate -n 300 -seed 7 -batch 5 -quiet -o b5.h5
"$PYTHON" - <<'PY' || fail "batch size changed the solution by more than 2e-5"
import h5py, numpy as np
a, b = h5py.File("r1.h5")["/u"][...], h5py.File("b5.h5")["/u"][...]
d = np.abs(a - b).max()
print(f"max |u(batch 16) - u(batch 5)| = {d:.2e}")
assert (h5py.File("r1.h5")["/theta"][...] == h5py.File("b5.h5")["/theta"][...]).all()
assert d < 2e-5
PY
h5diff -q r1.h5 b5.h5 /u /u && pass "one step per member: batch 5 and 16 give identical /u" || fail "one step per member: /u depends on the batch size"
run 1 "${common[@]}" -step_control batch -chunk 4096 -o s1.h5
run 2 "${common[@]}" -step_control batch -chunk 64 -o s2.h5
for d in /u /d /status; do
  h5diff -q s1.h5 s2.h5 "$d" "$d" && pass "shared step: $d identical on 1 and 2 ranks" || fail "shared step: $d differs between 1 and 2 ranks"
done
finish
