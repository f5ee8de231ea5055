#!/usr/bin/env python3
"""Fault-injection checks on invmap's HDF5 files.

  check.py intact FILE...        every file opens and every dataset reads in full (a truncated or half-written
                                 file fails here); exit 1 naming the bad files
  check.py compare REF OUT       OUT equals the uninterrupted run's REF: every dataset of REF exists in OUT with the
                                 same shape and bitwise the same values (NaN == NaN), except the timing data below
"""
import sys

import h5py
import numpy as np

# Timing data differ between any two runs: a prediction's or MAP estimate's /wall_time, and the training history's
# wall-clock columns (named by the dataset's `columns` attribute).
TIMING_DATASETS = {"/wall_time"}
TIMING_COLUMNS = {"elapsed_seconds", "samples_per_second"}
# /cov of invmap map: the Gauss-Newton Hessians are computed in batches (128 samples per TSForward solve) and
# differ from batch composition to batch composition in the last bits (observed relative differences 1e-16, also
# between uninterrupted runs on 1 and 2 ranks; a defect of the batched sensitivities, not of resuming). A resumed
# run forms other batches, so /cov is compared to this relative tolerance; everything else bitwise.
COV_RTOL = 1e-12


def datasets(f):
    out = {}
    f.visititems(lambda name, obj: out.__setitem__("/" + name, obj) if isinstance(obj, h5py.Dataset) else None)
    return out


def intact(files):
    bad = []
    for name in files:
        try:
            with h5py.File(name, "r") as f:
                for d in datasets(f).values():
                    d[()]
                for k in f.attrs:
                    f.attrs[k]
        except Exception as e:  # noqa: BLE001 (any failure to read is the finding)
            bad.append(f"{name}: {e}")
    for b in bad:
        print("corrupt:", b)
    return not bad


def same(a, b, rtol=0.0):
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind in "fc":
        if rtol:
            return bool(np.all((np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= rtol * np.abs(a))))
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


def compare(ref, out):
    ok = True
    with h5py.File(ref, "r") as fr, h5py.File(out, "r") as fo:
        dr, do = datasets(fr), datasets(fo)
        for name, d in dr.items():
            if name in TIMING_DATASETS:
                continue
            if name not in do:
                print(f"{out}: {name} missing")
                ok = False
                continue
            a, b = d[()], do[name][()]
            cols = d.attrs.get("columns")
            if cols is not None and a.ndim == 2 and a.shape == b.shape:
                names = (cols.decode() if isinstance(cols, bytes) else str(cols)).replace(",", " ").split()
                keep = [j for j, c in enumerate(names) if c not in TIMING_COLUMNS and j < a.shape[1]]
                a, b = a[:, keep], b[:, keep]
            if not same(a, b, COV_RTOL if name == "/cov" else 0.0):
                print(f"{out}: {name} differs from {ref}")
                ok = False
    return ok


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "intact":
        sys.exit(0 if intact(sys.argv[2:]) else 1)
    if len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(0 if compare(sys.argv[2], sys.argv[3]) else 1)
    print(__doc__)
    sys.exit(2)
