#!/usr/bin/env bash
# simulate -series_precision single: /u and /d are float32 datasets (everything else double), chunked by
# rows, recorded in the series_precision attribute and the resume signature; they hold exactly the double
# run's values rounded to float32 (same integration, rounding at write), for any rank count. Every reader
# works on them: train (in memory and streamed, also with -noise_fresh, whose clean series stay float32)
# gives the same network as on the double file (see the tolerances below), predict, map and evaluate run.
source "$(dirname "$0")/lib.sh"
sim=(simulate -n 300 -obs_n 100 -seed 21 -noise_type ar1 -batch 32 -chunk 64 -quiet)
run 2 "${sim[@]}" -o dd.h5
run 2 "${sim[@]}" -o ss.h5 -series_precision single
run 1 "${sim[@]}" -o s1.h5 -series_precision single

$PYTHON - <<'PY' && pass "single: float32 /u, /d equal to the double run's rounded to float32; chunked rows; attribute" || fail "single-precision file"
import h5py, numpy as np
dd, ss, s1 = (h5py.File(n, "r") for n in ("dd.h5", "ss.h5", "s1.h5"))
for k in ("u", "d"):
    assert ss[k].dtype == np.float32 and dd[k].dtype == np.float64, (k, ss[k].dtype, dd[k].dtype)
    # exact: both runs integrate identically in double; the single run rounds each value to nearest at write
    assert np.array_equal(ss[k][()], dd[k][()].astype(np.float32)), k
    assert np.array_equal(ss[k][()], s1[k][()]), k  # 1 and 2 ranks write the same values
    assert ss[k].chunks is not None and ss[k].chunks[1:] == ss[k].shape[1:], ss[k].chunks
for k in ("theta", "noise", "t"):
    assert ss[k].dtype == np.float64 and np.array_equal(ss[k][()], dd[k][()]), k
def attr(f, a):
    v = f.attrs[a]
    return v.decode() if isinstance(v, bytes) else str(v)
assert attr(ss, "series_precision") == "single" and attr(dd, "series_precision") == "double"
assert "series=single" in attr(ss, "resume_signature") and "series=" not in attr(dd, "resume_signature")
PY

# a run to be resumed in another precision is refused (the signature is checked before anything else is read)
cp dd.h5 x.h5.partial
expect_error "resume in another precision" "settings differ" "" -- 1 "${sim[@]}" -o x.h5 -series_precision single -resume
rm -f x.h5.partial

# Training reads float32 into double exactly. With the time representation the features are the series
# rounded to float32 (features.c), so the double and the single file give bitwise the same network, in memory
# and streamed (-tol 0: guaranteed). With the Fourier representation the FFT runs on the double series, so
# the inputs differ by float32 rounding (relative 6e-8); those differences pass through training as the
# float32 summation-order differences of 1 vs 2 ranks do, so the tolerance is the one of train_ranks.sh
# (1e-4 of max |w|); measured: 1.0e-7 (in memory, streamed), 5e-7 (2 ranks, prefetched). On the noisy series
# (-train_data d) this setting measured 1.4e-4: the larger inputs' rounding is amplified by training, so the
# Fourier comparison stays on the clean series.
tr=(train -train_epochs 3 -train_batch 16 -train_seed 4 -train_val_frac 0.2 -quiet)
# Streamed both with synchronous HDF5 reads (-train_stream_prefetch no) and with the reader thread's direct
# float32 reads (tp, fp: 2 ranks, a budget that holds a prefetched segment).
stream=(-train_stream yes -train_memory_mb 0.05 -train_stream_chunk 32 -train_stream_prefetch no)
pref=(-train_stream yes -train_memory_mb 0.08 -train_stream_chunk 32 -train_stream_window 2)
four=(-train_repr fourier -nn_arch dense -nn_dense 16)
for f in dd ss; do
  run 1 "${tr[@]}" -i $f.h5 -o tm_$f.h5 -train_stream no
  run 1 "${tr[@]}" -i $f.h5 -o ts_$f.h5 "${stream[@]}"
  run 1 "${tr[@]}" -i $f.h5 -o fm_$f.h5 -train_stream no "${four[@]}"
  run 1 "${tr[@]}" -i $f.h5 -o fs_$f.h5 "${stream[@]}" "${four[@]}"
  run 2 "${tr[@]/-quiet/}" -i $f.h5 -o tp_$f.h5 "${pref[@]}" -train_data d > tp_$f.log
  run 2 "${tr[@]}" -i $f.h5 -o fp_$f.h5 "${pref[@]}" "${four[@]}"
done
grep -q "float32 series, the next batches read by a reader thread" tp_ss.log && grep -q "float64 series, the next batches read by a reader thread" tp_dd.log &&
  pass "streamed reads prefetched by the reader thread, float32 from the single-precision file" || fail "no prefetch: $(grep streaming tp_ss.log)"
for n in tm ts tp; do
  $MPIEXEC -n 1 $TESTBIN/nn_tool -mode compare -a ${n}_dd.h5 -b ${n}_ss.h5 -tol 0 && pass "train $n: bitwise equal" || fail "train $n differs"
done
# the series are held in float32 as read: a prefetched segment's raw rows take 4 bytes per value, so the
# same budget holds more resident batches (budget arithmetic, stream.c)
nd=$(sed -n 's/.* \([0-9]*\) batches resident.*/\1/p' tp_dd.log)
ns=$(sed -n 's/.* \([0-9]*\) batches resident.*/\1/p' tp_ss.log)
[[ -n "$nd" && -n "$ns" && $ns -gt $nd ]] && pass "float32 raw rows: $ns batches resident vs $nd from the double file" || fail "resident batches: single $ns, double $nd"
for n in fm fs fp; do
  $MPIEXEC -n 1 $TESTBIN/nn_tool -mode compare -a ${n}_dd.h5 -b ${n}_ss.h5 -tol 1e-4 && pass "train $n: within 1e-4" || fail "train $n differs"
done

# -noise_fresh keeps the clean series in the file's precision (float32 rows from the single file, converted
# per batch where the noise is added). The noisy series are built in double from the clean series, which
# differ by float32 rounding (relative <= 6e-8), and then rounded to float32 as features, so about one input
# in four differs by one float32 ulp: as with the Fourier inputs above, training carries these as it carries
# the summation-order differences of 1 vs 2 ranks, so the tolerance is that of train_ranks.sh (1e-4 of
# max |w|); measured 2.8e-7 (in memory), 6.5e-7 (streamed), 6.9e-7 (2 ranks, prefetched).
for f in dd ss; do
  run 1 "${tr[@]}" -i $f.h5 -o nm_$f.h5 -train_stream no -noise_fresh
  run 1 "${tr[@]/-quiet/}" -i $f.h5 -o ns_$f.h5 "${stream[@]}" -noise_fresh > ns_$f.log
  run 2 "${tr[@]/-quiet/}" -i $f.h5 -o np_$f.h5 "${pref[@]}" -noise_fresh > np_$f.log
done
for n in nm ns np; do
  $MPIEXEC -n 1 $TESTBIN/nn_tool -mode compare -a ${n}_dd.h5 -b ${n}_ss.h5 -tol 1e-4 && pass "train -noise_fresh $n: within 1e-4" || fail "train -noise_fresh $n differs"
done
# the smaller rows: the resident batches of a synchronous (ns) and a prefetched (np) segment grow in the same
# budget (the synchronous one holds only the training rows, so this is the clean series' float32 rows alone);
# in memory the peak of the data buffers (reported in the model file) shrinks
for n in ns np; do
  nd=$(sed -n 's/.* \([0-9]*\) batches resident.*/\1/p' ${n}_dd.log)
  ns=$(sed -n 's/.* \([0-9]*\) batches resident.*/\1/p' ${n}_ss.log)
  [[ -n "$nd" && -n "$ns" && $ns -gt $nd ]] && pass "-noise_fresh $n: $ns batches resident vs $nd from the double file" || fail "-noise_fresh $n resident batches: single $ns, double $nd"
done
$PYTHON - <<'PY' && pass "-noise_fresh in memory: smaller peak of the data buffers from the single file" || fail "-noise_fresh in-memory peak"
import h5py
pd, ps = (int(h5py.File(f"nm_{f}.h5", "r").attrs["train_data_peak_bytes"][0]) for f in ("dd", "ss"))
print(f"-noise_fresh in memory: peak data buffers {ps} bytes (single) vs {pd} (double)")
# the clean training series (8 -> 4 bytes per value) dominate the rows: well under 3/4 of the double file's
assert ps < 0.75 * pd, (ps, pd)
PY

# the other readers: predict gives bitwise the predictions on the double file (same ranks; the network's
# input is the series rounded to float32 either way); map and evaluate run
run 2 predict -net tm_dd.h5 -i dd.h5 -o p_dd.h5 -quiet
run 2 predict -net tm_dd.h5 -i ss.h5 -o p_ss.h5 -quiet
run 2 map -i ss.h5 -n 4 -o map_ss.h5 -quiet
run 2 evaluate -truth ss.h5 -estimates map_ss.h5,p_ss.h5 -labels map,nn -o ev.h5 -quiet
$PYTHON - <<'PY' && pass "predict, map, evaluate on the single-precision file" || fail "readers of the single-precision file"
import h5py, numpy as np
a, b = (h5py.File(n, "r")["theta_pred"][()] for n in ("p_dd.h5", "p_ss.h5"))
assert np.array_equal(a, b)
m = h5py.File("map_ss.h5", "r")
assert m["theta_map"].shape == (4, 2) and np.all(np.isfinite(m["theta_map"][()]))
assert "summary" in h5py.File("ev.h5", "r")
PY
finish
