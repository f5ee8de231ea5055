"""Input side of figures.py: opens and validates the HDF5 outputs of invmap (truth ensemble, evaluation,
estimate and model files) and returns plain numpy arrays and dicts, so that the drawing code never
touches h5py. Every problem with an input raises InputError with a message naming the file and what
is missing; optional content (series, landscape, training history) is reported as None."""
import os

import h5py
import numpy as np

import calib  # noqa: E402  (share/report/calib.py, beside this file)


class InputError(Exception):
    """A missing or malformed input file."""


def _open(path, what):
    if not os.path.isfile(path):
        raise InputError(f"{what} {path} does not exist")
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise InputError(f"{what} {path} is not a readable HDF5 file ({err})") from None


def _attr_str(obj, name, default=None):
    if name not in obj.attrs:
        return default
    v = obj.attrs[name]
    if isinstance(v, bytes):
        v = v.decode()
    if isinstance(v, np.ndarray):
        v = v.reshape(-1)[0]
        v = v.decode() if isinstance(v, bytes) else v
    return str(v)


def _need(f, path, what, ndim=None):
    if path not in f or not isinstance(f[path], h5py.Dataset):
        raise InputError(f"{what} {f.filename} has no dataset {path}")
    d = f[path]
    if ndim is not None and d.ndim not in np.atleast_1d(ndim):
        raise InputError(f"{what} {f.filename}: {path} has shape {d.shape}, expected {ndim} dimension(s)")
    return d


def read_truth(path):
    """The truth ensemble: parameters, times, clean and noisy series, parameter names and prior box."""
    with _open(path, "--truth") as f:
        theta = _need(f, "/theta", "--truth", 2)[...]
        names = _attr_str(f, "parameter_names")
        if names is None or len(names.split(",")) != theta.shape[1]:
            raise InputError(f"--truth {path}: attribute parameter_names is missing or does not match /theta "
                             f"({theta.shape[1]} columns): not an ensemble file of invmap simulate")
        out = {"file": path, "theta": theta, "names": names.split(","), "model": _attr_str(f, "model", "?")}
        out["t"] = _need(f, "/t", "--truth", 1)[...]
        for k in ("prior_lower", "prior_upper"):
            out[k] = np.asarray(f.attrs[k], float) if k in f.attrs else None
        out["has_d"] = "/d" in f
        out["has_u"] = "/u" in f
    return out


def truth_rows(path, name, rows):
    """Rows of one series dataset (/u or /d) of the truth file."""
    with _open(path, "--truth") as f:
        d = _need(f, name, "--truth")
        rows = [int(r) for r in rows]
        if rows and max(rows) >= d.shape[0]:
            raise InputError(f"--truth {path}: {name} has {d.shape[0]} rows, the evaluation refers to row {max(rows)}")
        out = np.stack([d[r, ...] for r in rows]) if rows else np.zeros((0, 1))
        return out.reshape(len(rows), -1)


def read_eval(path, want_labels=None):
    """The evaluation file: summary table by label and column, per-set estimates and errors, series and landscape."""
    with _open(path, "--eval") as f:
        if _attr_str(f, "kind") != "evaluation":
            raise InputError(f"--eval {path} is not an output of invmap evaluate (attribute kind is not 'evaluation')")
        labels = (_attr_str(f, "labels") or "").split(",")
        cols = (_attr_str(f, "summary_columns") or "").split(",")
        tab = _need(f, "/summary", "--eval", 2)[...]
        if tab.shape != (len(labels), len(cols)):
            raise InputError(f"--eval {path}: /summary has shape {tab.shape} but {len(labels)} labels and {len(cols)} columns")
        use = want_labels or labels
        for lb in use:
            if lb not in labels:
                raise InputError(f"--eval {path} has no estimate set labelled '{lb}' (it has {', '.join(labels)})")
        sets = []
        for lb in use:
            g = f[lb]
            s = {"label": lb, "summary": dict(zip(cols, tab[labels.index(lb)])), "file": _attr_str(g, "file", "?"),
                 "dataset": _attr_str(g, "dataset", "?")}
            s["kind"] = "NN" if s["dataset"] == "/theta_pred" else ("MAP" if s["dataset"] == "/theta_map" else "estimate")
            s["theta"] = _need(f, f"/{lb}/theta", "--eval", 2)[...]
            s["ape"] = _need(f, f"/{lb}/ape", "--eval", 2)[...]
            n = s["theta"].shape[0]
            for k in ("rel_err", "sq_bias", "cmse", "objective", "sim_status"):
                s[k] = f[f"/{lb}/{k}"][...] if f"/{lb}/{k}" in f else None
                if s[k] is not None and s[k].shape != (n,):
                    raise InputError(f"--eval {path}: /{lb}/{k} has shape {s[k].shape}, /{lb}/theta has {n} rows")
            s["series"] = f[f"/series/{lb}"][...] if f"/series/{lb}" in f else None
            if s["series"] is not None:
                if s["series"].ndim < 2 or s["series"].shape[0] != n:
                    raise InputError(f"--eval {path}: /series/{lb} has shape {s['series'].shape}, /{lb}/theta has {n} rows")
                s["series"] = s["series"].reshape(n, -1)
                r0 = int(f[f"/series/{lb}"].attrs.get("truth_rows", [0])[0])
                s["series_rows"] = np.arange(r0, r0 + s["series"].shape[0])
            sets.append(s)
        land = None
        if "/landscape" in f:
            g = f["/landscape"]
            land = {"J": _need(f, "/landscape/J", "--eval", 2)[...], "theta0": _need(f, "/landscape/theta0", "--eval", 1)[...],
                    "theta1": _need(f, "/landscape/theta1", "--eval", 1)[...], "row": int(g.attrs["row"][0]),
                    "names": (_attr_str(g, "parameter_names") or "theta0,theta1").split(","),
                    "theta_truth": np.asarray(g.attrs["theta_truth"], float), "J_truth": float(g.attrs["J_truth"][0]),
                    "pair": [int(i) for i in g.attrs.get("pair", [0, 1])],  # the parameters on the axes (older files: 0, 1)
                    "objective_data": _attr_str(g, "objective_data", "d")}
            land["zoom"] = None
            if "/landscape/zoom/J" in f:
                land["zoom"] = {k: _need(f, f"/landscape/zoom/{k}", "--eval")[...] for k in ("J", "theta0", "theta1")}
            for grid, where in ((land, "/landscape"), (land["zoom"], "/landscape/zoom")):
                if grid is not None and grid["J"].shape != (grid["theta0"].size, grid["theta1"].size):
                    raise InputError(f"--eval {path}: {where}/J has shape {grid['J'].shape}, its axes have "
                                     f"{grid['theta0'].size} and {grid['theta1'].size} points")
        out = {"file": path, "labels": labels, "columns": cols, "sets": sets, "landscape": land,
               "names": (_attr_str(f, "parameter_names") or "").split(","), "truth": _attr_str(f, "truth", "?")}
    return out


def check_truth(truth, ev):
    """The evaluation was made against this truth: same parameter names, and its stored APEs are those of its
    estimates against these true parameters."""
    if ev["names"] != truth["names"]:
        raise InputError(f"--eval {ev['file']} has parameters {ev['names']}, the truth {truth['file']} {truth['names']}")
    for s in ev["sets"]:
        n = s["theta"].shape[0]
        if n > truth["theta"].shape[0] or s["ape"].shape != s["theta"].shape:
            raise InputError(f"--eval {ev['file']}: set {s['label']} has {n} rows, the truth {truth['file']} "
                             f"{truth['theta'].shape[0]}: evaluated against another data set?")
        t = truth["theta"][:n]
        with np.errstate(divide="ignore", invalid="ignore"):
            ape = np.abs(s["theta"] - t) / np.abs(t)
        if not np.allclose(ape, s["ape"], rtol=1e-9, atol=0, equal_nan=True):
            raise InputError(f"--eval {ev['file']} was not made against --truth {truth['file']} (set {s['label']}: its errors "
                             f"differ from those of its estimates against this truth's /theta; it names {ev['truth']})")


def check_estimates(files, sets):
    """--estimates: each file exists, is HDF5 and is the file its label was evaluated from (same base name)."""
    for fn, s in zip(files, sets):
        with _open(fn, "--estimates"):
            pass
        if os.path.basename(fn) != os.path.basename(s["file"]):
            raise InputError(f"--estimates {fn}: the evaluation's set '{s['label']}' was made from {s['file']}; "
                             "give --estimates in the order of --labels")


def read_covariances(files, sets, names=None):
    """Each set's Gaussian uncertainty from the file it was evaluated from (calib.gaussian_of_file: Laplace /cov,
    a network's /cov_pred, an ensemble's /theta_std): s["cov"] (rows x P x P) and s["cov_kind"], None without.
    A file whose 'targets' (invmap predict) add others to the model's parameters `names` (joint inference: rho,
    sigma) gives the block of the model's parameters, in their order (the marginal of the Gaussian)."""
    for fn, s in zip(files, sets):
        s["cov"], s["cov_kind"] = None, None
        with _open(fn, "--estimates") as f:
            g = calib.gaussian_of_file(f, s["theta"].shape[0])
            targets = _attr_str(f, "targets")
        if g is not None:
            P = s["theta"].shape[1]
            targets = targets.split(",") if targets else []
            if names and g[1].ndim == 3 and g[1].shape[1] == len(targets) > P and all(n in targets for n in names):
                idx = [targets.index(n) for n in names]
                g = (g[0][:, idx], g[1][:, idx][:, :, idx], g[2])
            if g[1].ndim != 3 or g[1].shape[1:] != (P, P):
                raise InputError(f"--estimates {fn}: its covariances have shape {g[1].shape}, expected (rows, {P}, {P})")
            s["cov"], s["cov_kind"] = g[1], g[2]


def read_history(path):
    """A model file's training history as {column: array}, or None when the file has no /history."""
    with _open(path, "--models") as f:
        if "/history" not in f:
            return None
        h = f["/history"]
        cols = _attr_str(h, "columns")
        if h.ndim != 2 or cols is None or len(cols.split(",")) != h.shape[1]:
            raise InputError(f"--models {path}: /history must be (epochs x K) with a 'columns' attribute naming the K columns")
        data = h[...]
        out = {c.strip(): data[:, j] for j, c in enumerate(cols.split(","))}
        out["_architecture"] = _attr_str(f, "nn_architecture", "")
    for c in ("epoch", "train_loss"):
        if c not in out:
            raise InputError(f"--models {path}: /history has no column '{c}' (columns: {cols})")
    return out
