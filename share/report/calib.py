"""Calibration of Gaussian uncertainty, defined once for report.py (tables) and figures.py (calibration.png):
the chi-square quantile, the Gaussian of each kind of estimate file, and the empirical coverage of its
credible intervals and ellipses on samples with known truth."""
import math

# Nominal levels of the coverage table: (probability, z) with z the two-sided standard-normal quantile, so that
# theta_j +- z sd_j is the per-parameter interval; the joint ellipse uses the chi-square quantile with P degrees
# of freedom at the same probability.
COVERAGE_LEVELS = ((0.5, 0.674490), (0.6827, 1.0), (0.9, 1.644854), (0.95, 1.959964))


def chi2_quantile(p, k):
    """Quantile of the chi-square distribution with k degrees of freedom (bisection on the regularised lower
    incomplete gamma function P(k/2, x/2), by its power series; scipy is not needed)."""
    def cdf(x):
        a, z = k / 2.0, x / 2.0
        if z <= 0:
            return 0.0
        term = total = 1.0 / a
        for i in range(1, 2000):
            term *= z / (a + i)
            total += term
            if term < 1e-17 * total:
                break
        return min(1.0, total * math.exp(-z + a * math.log(z) - math.lgamma(a)))
    lo, hi = 0.0, max(10.0, 10.0 * k)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if cdf(mid) < p else (lo, mid)
    return 0.5 * (lo + hi)


def gaussian_of_file(f, n):
    """(mean, cov, kind) of the first n rows of an estimate file, or None when it carries no uncertainty:
    invmap map: /theta_map and the Laplace /cov (rows with /status != 0 get NaN); invmap predict: /theta_pred
    and /cov_pred (a covariance head, or an ensemble of them, moment-matched), else an ensemble's spread
    /theta_std as a diagonal covariance."""
    import numpy as np
    if "/theta_map" in f and "/cov" in f:
        th, C = f["/theta_map"][:n].astype(float), f["/cov"][:n].astype(float)
        if "/status" in f:
            bad = f["/status"][:n] != 0
            th[bad], C[bad] = np.nan, np.nan
        return th, C, "Laplace"
    if "/theta_pred" in f and "/cov_pred" in f:
        return f["/theta_pred"][:n].astype(float), f["/cov_pred"][:n].astype(float), "network Gaussian"
    if "/theta_pred" in f and "/theta_std" in f:
        sd = f["/theta_std"][:n].astype(float)
        return f["/theta_pred"][:n].astype(float), np.einsum("ij,jk->ijk", sd ** 2, np.eye(sd.shape[1])), "ensemble spread"
    return None


def coverage(theta, truth, C, levels=COVERAGE_LEVELS):
    """Empirical coverage on the rows with a finite mean, truth and positive definite covariance:
    {"n": rows used, "P": P, "levels": [(p, [count per parameter in theta_j +- z sd_j], count in the ellipse
    r^T C^-1 r <= chi2_P(p))]}, and the rows' Mahalanobis distances r^T C^-1 r under "maha"."""
    import numpy as np
    P = theta.shape[1]
    diag = np.stack([C[:, j, j] for j in range(P)], 1)
    ok = np.isfinite(theta).all(1) & np.isfinite(truth).all(1) & np.isfinite(C).all((1, 2)) & (diag > 0).all(1)
    if ok.any():
        ok[ok] = np.all(np.linalg.eigvalsh(C[ok]) > 0, axis=1)
    r, C, diag = (truth - theta)[ok], C[ok], diag[ok]
    m = np.einsum("ij,ij->i", r, np.linalg.solve(C, r[:, :, None])[:, :, 0]) if ok.any() else np.zeros(0)
    res = {"n": int(ok.sum()), "P": P, "levels": [], "maha": m}
    for level, z in levels:
        per = [int((np.abs(r[:, j]) <= z * np.sqrt(diag[:, j])).sum()) for j in range(P)]
        res["levels"].append((level, per, int((m <= chi2_quantile(level, P)).sum())))
    return res
