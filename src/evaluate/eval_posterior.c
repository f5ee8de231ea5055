/* InvEval grid posterior (-eval_posterior_n K): for each of the first K samples of the truth, the exact posterior
   p(theta) = exp(-J(theta)) / Z of a two-parameter model (J the MAP objective: AR(1)-whitened misfit plus the
   Gaussian prior term, the negative log posterior up to a constant; the prior's truncation makes its support the
   posterior's domain) by trapezoidal quadrature on grids: a first grid (-eval_posterior_coarse points per axis)
   over the prior's support, then up to -eval_posterior_passes grids (-eval_posterior_grid points) over the box
   mean +- width max(sd, previous spacing) of the previous grid's posterior, clipped to the support, until the box
   settles (INV_EVAL_POST_SETTLED_*). From the final
   grid: the posterior's mean and covariance, and for each estimate file carrying a Gaussian (the Gaussian of
   share/report/calib.py's gaussian_of_file) the 2-Wasserstein distance between it and the moment-matched Gaussian
   of the grid posterior, and KL(grid posterior || Gaussian) by the same quadrature. Grid points are J evaluations
   of the landscape's batched forward solve (InvEvalGridObjective: batches over the ranks, rank-count independent). */
#include "evalimpl.h"
#include <invmap/h5io.h>
#include <stdint.h>

#define INV_POST_TWO_PI 6.283185307179586476925286766559
/* zooming stops when the next box's width per axis would be between these fractions of the current grid's (the grid
   then spans at most twice the box the posterior asks for: at least (G - 1) / (4 width) points per standard deviation) */
#define INV_EVAL_POST_SETTLED_LO 0.5
#define INV_EVAL_POST_SETTLED_HI 1.25

/* rows [0, nr) of dataset ds (rows of w values) into v; an error when the shape does not fit */
static PetscErrorCode InvEvalReadRowsChecked(InvEval e, hid_t file, const char fname[], const char ds[], PetscInt w, PetscInt64 nr,
                                             PetscReal v[])
{
  PetscInt r;
  hsize_t dims[3], cols = 1;

  PetscFunctionBegin;
  PetscCall(InvH5GetDims(file, ds, &r, dims));
  for (PetscInt k = 1; k < r; k++) cols *= dims[k];
  PetscCheck(r >= 2 && cols == (hsize_t)w && dims[0] >= (hsize_t)nr, e->comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s: %s must have at least %lld rows of %d values for the grid posterior", fname, ds, (long long)nr, (int)w);
  PetscCall(InvH5ReadRows(file, ds, H5T_NATIVE_DOUBLE, 0, (hsize_t)nr, v));
  PetscFunctionReturn(0);
}

/* The Gaussian of an estimate file, as share/report/calib.py's gaussian_of_file: invmap map's /theta_map with the
   Laplace /cov (rows with /status != 0: NaN); invmap predict's /theta_pred with /cov_pred (a covariance head), else
   with the ensemble spread /theta_std as a diagonal covariance. m (K x 2) and C (K x 4) get the first K rows (NaN
   beyond the set's evaluated rows); has = PETSC_FALSE when the file carries no Gaussian. */
static PetscErrorCode InvEvalReadGaussian(InvEval e, InvEvalEstimate *s, PetscInt K, PetscReal m[], PetscReal C[], PetscBool *has)
{
  const PetscInt64 nr = PetscMin((PetscInt64)K, s->n);
  PetscBool hm, hc, hp, hcp, hs, hst;
  hid_t file;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < 2 * K; i++) m[i] = NAN;
  for (PetscInt i = 0; i < 4 * K; i++) C[i] = NAN;
  PetscCall(InvH5Open(e->comm, s->file, PETSC_FALSE, &file));
  PetscCall(InvH5HasDataset(file, "/theta_map", &hm));
  PetscCall(InvH5HasDataset(file, "/cov", &hc));
  PetscCall(InvH5HasDataset(file, "/theta_pred", &hp));
  PetscCall(InvH5HasDataset(file, "/cov_pred", &hcp));
  PetscCall(InvH5HasDataset(file, "/theta_std", &hs));
  *has = PETSC_TRUE;
  if (hm && hc) {
    PetscCall(PetscStrncpy(s->gkind, "Laplace", sizeof(s->gkind)));
    PetscCall(InvEvalReadRowsChecked(e, file, s->file, "/theta_map", 2, nr, m));
    PetscCall(InvEvalReadRowsChecked(e, file, s->file, "/cov", 4, nr, C));
    PetscCall(InvH5HasDataset(file, "/status", &hst));
    if (hst && nr > 0) {
      int32_t *st;
      PetscCall(PetscMalloc1(nr, &st));
      PetscCall(InvH5ReadRows(file, "/status", H5T_NATIVE_INT32, 0, (hsize_t)nr, st));
      for (PetscInt64 i = 0; i < nr; i++)
        if (st[i]) m[2 * i] = m[2 * i + 1] = C[4 * i] = C[4 * i + 1] = C[4 * i + 2] = C[4 * i + 3] = NAN;
      PetscCall(PetscFree(st));
    }
  } else if (hp && hcp) {
    PetscCall(PetscStrncpy(s->gkind, "network Gaussian", sizeof(s->gkind)));
    PetscCall(InvEvalReadRowsChecked(e, file, s->file, "/theta_pred", 2, nr, m));
    PetscCall(InvEvalReadRowsChecked(e, file, s->file, "/cov_pred", 4, nr, C));
  } else if (hp && hs) {
    PetscReal *sd;
    PetscCall(PetscStrncpy(s->gkind, "ensemble spread", sizeof(s->gkind)));
    PetscCall(InvEvalReadRowsChecked(e, file, s->file, "/theta_pred", 2, nr, m));
    PetscCall(PetscMalloc1(2 * PetscMax(nr, 1), &sd));
    PetscCall(InvEvalReadRowsChecked(e, file, s->file, "/theta_std", 2, nr, sd));
    for (PetscInt64 i = 0; i < nr; i++) {
      C[4 * i] = sd[2 * i] * sd[2 * i];
      C[4 * i + 1] = C[4 * i + 2] = 0;
      C[4 * i + 3] = sd[2 * i + 1] * sd[2 * i + 1];
    }
    PetscCall(PetscFree(sd));
  } else
    *has = PETSC_FALSE;
  PetscCall(InvH5Close(&file));
  PetscFunctionReturn(0);
}

/* trapezoidal weight of point i of an n-point axis with spacing h */
static inline PetscReal InvEvalTrapWeight(PetscInt i, PetscInt n, PetscReal h)
{
  return (i == 0 || i == n - 1) ? 0.5 * h : h;
}

/* The normalised grid posterior: Jmin, log Z (Z = sum of w exp(-(J - Jmin)) over the grid, trapezoid weights w),
   mean, covariance (row-major 2 x 2), the mass on the box's sides that are not the prior's bounds (onbound) and the
   largest single-point mass. Failed points (J = NaN) carry no mass. All NaN when no point is finite. */
static void InvEvalGridMoments(const InvEvalGrid *G, PetscInt n, const PetscBool onbound[4], PetscReal *Jmin, PetscReal *logZ,
                               PetscReal mean[2], PetscReal cov[4], PetscReal *edge, PetscReal *peak)
{
  const PetscReal h0 = (G->box[1] - G->box[0]) / (n - 1), h1 = (G->box[3] - G->box[2]) / (n - 1);
  PetscReal jm = PETSC_MAX_REAL, Z = 0, s0 = 0, s1 = 0, s00 = 0, s01 = 0, s11 = 0, ed = 0, pk = 0;
  PetscBool any = PETSC_FALSE;

  for (PetscInt64 k = 0; k < (PetscInt64)n * n; k++)
    if (!PetscIsInfOrNanReal(G->J[k])) jm = PetscMin(jm, G->J[k]), any = PETSC_TRUE;
  *Jmin = *logZ = *edge = *peak = NAN;
  mean[0] = mean[1] = cov[0] = cov[1] = cov[2] = cov[3] = NAN;
  if (!any) return;
  for (PetscInt i0 = 0; i0 < n; i0++)
    for (PetscInt i1 = 0; i1 < n; i1++) {
      const PetscReal J = G->J[i0 * n + i1], x = G->axis[0][i0], y = G->axis[1][i1];
      const PetscReal w =
          PetscIsInfOrNanReal(J) ? 0 : InvEvalTrapWeight(i0, n, h0) * InvEvalTrapWeight(i1, n, h1) * PetscExpReal(-(J - jm));
      const PetscBool side =
          (PetscBool)((i0 == 0 && !onbound[0]) || (i0 == n - 1 && !onbound[1]) || (i1 == 0 && !onbound[2]) || (i1 == n - 1 && !onbound[3]));
      Z += w;
      s0 += w * x;
      s1 += w * y;
      if (side) ed += w;
      pk = PetscMax(pk, w);
    }
  mean[0] = s0 / Z;
  mean[1] = s1 / Z;
  for (PetscInt i0 = 0; i0 < n; i0++)
    for (PetscInt i1 = 0; i1 < n; i1++) {
      const PetscReal J = G->J[i0 * n + i1], x = G->axis[0][i0] - mean[0], y = G->axis[1][i1] - mean[1];
      const PetscReal w =
          PetscIsInfOrNanReal(J) ? 0 : InvEvalTrapWeight(i0, n, h0) * InvEvalTrapWeight(i1, n, h1) * PetscExpReal(-(J - jm));
      s00 += w * x * x;
      s01 += w * x * y;
      s11 += w * y * y;
    }
  cov[0] = s00 / Z;
  cov[1] = cov[2] = s01 / Z;
  cov[3] = s11 / Z;
  *Jmin = jm;
  *logZ = PetscLogReal(Z);
  *edge = ed / Z;
  *peak = pk / Z;
}

/* a 2 x 2 symmetric matrix is positive definite (and finite) */
static PetscBool InvEvalSPD2(const PetscReal C[4])
{
  const PetscReal det = C[0] * C[3] - C[1] * C[2];
  return (PetscBool)(C[0] > 0 && C[3] > 0 && det > 0 && PetscIsNormalReal(det));
}

/* 2-Wasserstein distance of N(m1, C1) and N(m2, C2), 2 x 2: W2^2 = |m1 - m2|^2 + tr C1 + tr C2 - 2 tr (C2^1/2 C1
   C2^1/2)^1/2, where the last trace is sqrt(tr(C1 C2) + 2 sqrt(det C1 det C2)) (the square roots of the two
   eigenvalues of C1 C2 add up to it). NaN unless both covariances are positive definite. */
static PetscReal InvEvalGaussianW2(const PetscReal m1[2], const PetscReal C1[4], const PetscReal m2[2], const PetscReal C2[4])
{
  PetscReal tr12, d1, d2, w2;

  if (!InvEvalSPD2(C1) || !InvEvalSPD2(C2) || PetscIsInfOrNanReal(m1[0] + m1[1] + m2[0] + m2[1])) return NAN;
  tr12 = C1[0] * C2[0] + C1[1] * C2[2] + C1[2] * C2[1] + C1[3] * C2[3];
  d1 = C1[0] * C1[3] - C1[1] * C1[2];
  d2 = C2[0] * C2[3] - C2[1] * C2[2];
  w2 = PetscSqr(m1[0] - m2[0]) + PetscSqr(m1[1] - m2[1]) + C1[0] + C1[3] + C2[0] + C2[3] -
       2 * PetscSqrtReal(PetscMax(tr12 + 2 * PetscSqrtReal(d1 * d2), 0));
  return PetscSqrtReal(PetscMax(w2, 0)); /* rounding can make an exact 0 slightly negative */
}

/* KL(p || N(m, C)) = sum_grid w p (log p - log q) with p the normalised grid posterior (the quadrature of the moments) */
static PetscReal InvEvalGridKL(const InvEvalGrid *G, PetscInt n, PetscReal Jmin, PetscReal logZ, const PetscReal m[2], const PetscReal C[4])
{
  const PetscReal h0 = (G->box[1] - G->box[0]) / (n - 1), h1 = (G->box[3] - G->box[2]) / (n - 1);
  PetscReal det, iC[4], lognorm, kl = 0;

  if (!InvEvalSPD2(C) || PetscIsInfOrNanReal(m[0] + m[1] + logZ)) return NAN;
  det = C[0] * C[3] - C[1] * C[2];
  iC[0] = C[3] / det;
  iC[1] = -C[1] / det;
  iC[2] = -C[2] / det;
  iC[3] = C[0] / det;
  lognorm = PetscLogReal(INV_POST_TWO_PI) + 0.5 * PetscLogReal(det);
  for (PetscInt i0 = 0; i0 < n; i0++)
    for (PetscInt i1 = 0; i1 < n; i1++) {
      const PetscReal J = G->J[i0 * n + i1], x = G->axis[0][i0] - m[0], y = G->axis[1][i1] - m[1];
      PetscReal logp, logq, p;
      if (PetscIsInfOrNanReal(J)) continue;
      logp = -(J - Jmin) - logZ;
      p = PetscExpReal(logp);
      if (p == 0) continue; /* p log p -> 0 */
      logq = -0.5 * (x * (iC[0] * x + iC[1] * y) + y * (iC[2] * x + iC[3] * y)) - lognorm;
      kl += InvEvalTrapWeight(i0, n, h0) * InvEvalTrapWeight(i1, n, h1) * p * (logp - logq);
    }
  return kl;
}

PetscErrorCode InvEvalComputePosterior(InvEval e)
{
  InvEvalPosterior *Q = &e->post;
  const PetscInt K = Q->n, per = e->nt * e->no, pair[2] = {0, 1};
  PetscReal *d, *gm[INV_EVAL_MAX] = {NULL}, *gC[INV_EVAL_MAX] = {NULL};
  PetscInt nskip = 0;
  PetscLogDouble t0, t1;
  hid_t file;

  PetscFunctionBegin;
  PetscCall(PetscTime(&t0));
  PetscCheck(e->P == 2, e->comm, PETSC_ERR_SUP,
             "-eval_posterior_n: the grid posterior is two-dimensional, but model %s has %d parameters (a slice through the truth "
             "would not be the marginal posterior); use a two-parameter model",
             e->model->type, (int)e->P);
  PetscCheck(K <= e->N, e->comm, PETSC_ERR_ARG_OUTOFRANGE, "-eval_posterior_n %d: the truth %s has %lld samples", (int)K, e->truth,
             (long long)e->N);
  PetscCheck(e->hasd && e->noise, e->comm, PETSC_ERR_FILE_UNEXPECTED,
             "-eval_posterior_n needs the objective's data: %s has no /%s with /noise (give -noise_rho and -noise_sigma, or "
             "-eval_objective_data u)",
             e->truth, e->objdata);
  PetscCall(InvEvalSetupTS(e));
  PetscCall(PetscMalloc1(K * per, &d));
  PetscCall(InvH5Open(e->comm, e->truth, PETSC_FALSE, &file));
  PetscCall(InvH5ReadRows(file, e->objdata[0] == 'd' ? "/d" : "/u", H5T_NATIVE_DOUBLE, 0, (hsize_t)K, d));
  PetscCall(InvH5Close(&file));
  PetscCall(PetscMalloc7(2 * K, &Q->mean, 4 * K, &Q->cov, 4 * K, &Q->box, K, &Q->edge, K, &Q->peak, K, &Q->nfail, K, &Q->used));
  for (PetscInt k = 0; k < e->nest; k++) {
    InvEvalEstimate *s = &e->est[k];
    PetscBool has = PETSC_FALSE;
    PetscCall(PetscMalloc2(2 * K, &gm[k], 4 * K, &gC[k]));
    PetscCall(InvEvalReadGaussian(e, s, K, gm[k], gC[k], &has));
    if (has) PetscCall(PetscMalloc2(K, &s->pw2, K, &s->pkl));
  }
  for (PetscInt row = 0; row < K; row++) {
    const PetscReal *nz = e->noise + 2 * row, *dr = d + row * per;
    PetscBool ok = (PetscBool)(!e->status[row] && InvNoiseParametersValid(nz[0], nz[1]));
    PetscReal Jmin = NAN, logZ = NAN, *m = Q->mean + 2 * row, *C = Q->cov + 4 * row;
    PetscBool onbound[4] = {PETSC_TRUE, PETSC_TRUE, PETSC_TRUE, PETSC_TRUE};
    PetscInt nfinal = 0; /* points per axis of the final grid */
    PetscReal nbox[4], ratio;
    PetscBool nbound[4], settled;
    InvEvalGrid G;

    PetscCall(PetscMemzero(&G, sizeof(G)));
    for (PetscInt k = 0; k < per; k++) ok = (PetscBool)(ok && !PetscIsInfOrNanReal(dr[k]));
    for (PetscInt j = 0; j < 2; j++) G.box[2 * j] = e->prior->lo[j], G.box[2 * j + 1] = e->prior->hi[j];
    m[0] = m[1] = C[0] = C[1] = C[2] = C[3] = Q->edge[row] = Q->peak[row] = Q->nfail[row] = Q->used[row] = NAN;
    for (PetscInt j = 0; j < 4; j++) Q->box[4 * row + j] = NAN;
    if (!ok) nskip++;
    for (PetscInt pass = 0; ok && pass <= Q->passes; pass++) {
      const PetscInt n = (pass == 0 && Q->passes > 0) ? Q->coarse : Q->grid;
      nfinal = n;
      PetscCall(InvEvalGridObjective(e, row, n, pair, dr, &G));
      InvEvalGridMoments(&G, n, onbound, &Jmin, &logZ, m, C, &Q->edge[row], &Q->peak[row]);
      Q->nfail[row] = (PetscReal)G.nfail;
      for (PetscInt j = 0; j < 4; j++) Q->box[4 * row + j] = G.box[j];
      Q->used[row] = (PetscReal)pass;
      if (pass == Q->passes || PetscIsInfOrNanReal(logZ)) break;
      settled = PETSC_TRUE;
      for (PetscInt j = 0; j < 2; j++) { /* the next box: mean +- width max(sd, this spacing), clipped to the support */
        const PetscReal h = (G.box[2 * j + 1] - G.box[2 * j]) / (n - 1), hw = Q->width * PetscMax(PetscSqrtReal(C[3 * j]), h);
        nbound[2 * j] = (PetscBool)(m[j] - hw <= e->prior->lo[j]);
        nbound[2 * j + 1] = (PetscBool)(m[j] + hw >= e->prior->hi[j]);
        nbox[2 * j] = nbound[2 * j] ? e->prior->lo[j] : m[j] - hw;
        nbox[2 * j + 1] = nbound[2 * j + 1] ? e->prior->hi[j] : m[j] + hw;
        ratio = (nbox[2 * j + 1] - nbox[2 * j]) / (G.box[2 * j + 1] - G.box[2 * j]);
        if (!(ratio >= INV_EVAL_POST_SETTLED_LO && ratio <= INV_EVAL_POST_SETTLED_HI)) settled = PETSC_FALSE;
      }
      if (pass > 0 && settled) break; /* this grid already has the next one's extent within the settled range */
      for (PetscInt j = 0; j < 4; j++) G.box[j] = nbox[j], onbound[j] = nbound[j];
      PetscCall(PetscFree(G.J));
      PetscCall(PetscFree(G.axis[0]));
      PetscCall(PetscFree(G.axis[1]));
    }
    for (PetscInt k = 0; k < e->nest; k++) {
      InvEvalEstimate *s = &e->est[k];
      if (!s->pw2) continue;
      s->pw2[row] = ok ? InvEvalGaussianW2(gm[k] + 2 * row, gC[k] + 4 * row, m, C) : NAN;
      s->pkl[row] = ok ? InvEvalGridKL(&G, nfinal, Jmin, logZ, gm[k] + 2 * row, gC[k] + 4 * row) : NAN;
    }
    PetscCall(PetscFree(G.J));
    PetscCall(PetscFree(G.axis[0]));
    PetscCall(PetscFree(G.axis[1]));
  }
  for (PetscInt k = 0; k < e->nest; k++) PetscCall(PetscFree2(gm[k], gC[k]));
  PetscCall(PetscFree(d));
  PetscCall(PetscTime(&t1));
  Q->seconds = (PetscReal)(t1 - t0);
  if (!e->quiet) {
    PetscCall(PetscPrintf(e->comm,
                          "evaluate: grid posterior of the first %d samples (%d skipped: failed sample or invalid noise) on %d x %d grids "
                          "after at most %d zoom pass(es) in %.2f s\n",
                          (int)K, (int)nskip, (int)Q->grid, (int)Q->grid, (int)Q->passes, (double)Q->seconds));
    for (PetscInt k = 0; k < e->nest; k++) {
      InvEvalEstimate *s = &e->est[k];
      PetscReal mw, mk, xw = NAN, xk = NAN;
      if (!s->pw2) {
        PetscCall(PetscPrintf(e->comm, "  %-20s no Gaussian (no /cov, /cov_pred or /theta_std)\n", s->label));
        continue;
      }
      PetscCall(InvEvalMedian(K, s->pw2, &mw));
      PetscCall(InvEvalMedian(K, s->pkl, &mk));
      for (PetscInt i = 0; i < K; i++) {
        if (!PetscIsInfOrNanReal(s->pw2[i])) xw = PetscIsInfOrNanReal(xw) ? s->pw2[i] : PetscMax(xw, s->pw2[i]);
        if (!PetscIsInfOrNanReal(s->pkl[i])) xk = PetscIsInfOrNanReal(xk) ? s->pkl[i] : PetscMax(xk, s->pkl[i]);
      }
      PetscCall(PetscPrintf(e->comm, "  %-20s %-16s W2 median %.3g max %.3g, KL median %.3g max %.3g\n", s->label, s->gkind, (double)mw,
                            (double)xw, (double)mk, (double)xk));
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvEvalWritePosterior(InvEval e, hid_t file)
{
  InvEvalPosterior *Q = &e->post;
  const hsize_t K = (hsize_t)Q->n;
  hsize_t d1[1] = {K}, d2[2] = {K, 2}, d3[3] = {K, 2, 2}, d4[2] = {K, 4};
  PetscInt64 ints[3] = {Q->grid, Q->coarse, Q->passes};
  char path[128], names[2 * INV_MAX_NAME + 2];
  hid_t g;

  PetscFunctionBegin;
  if (!Q->mean) PetscFunctionReturn(0);
  PetscCall(InvH5WriteSmall(file, "/posterior/mean", H5T_NATIVE_DOUBLE, 2, d2, Q->mean));
  PetscCall(InvH5WriteSmall(file, "/posterior/cov", H5T_NATIVE_DOUBLE, 3, d3, Q->cov));
  PetscCall(InvH5WriteSmall(file, "/posterior/box", H5T_NATIVE_DOUBLE, 2, d4, Q->box));
  PetscCall(InvH5WriteSmall(file, "/posterior/edge_mass", H5T_NATIVE_DOUBLE, 1, d1, Q->edge));
  PetscCall(InvH5WriteSmall(file, "/posterior/peak_mass", H5T_NATIVE_DOUBLE, 1, d1, Q->peak));
  PetscCall(InvH5WriteSmall(file, "/posterior/n_failed", H5T_NATIVE_DOUBLE, 1, d1, Q->nfail));
  PetscCall(InvH5WriteSmall(file, "/posterior/passes", H5T_NATIVE_DOUBLE, 1, d1, Q->used));
  PetscCallHDF5Return(g, H5Gopen2(file, "/posterior", H5P_DEFAULT));
  PetscCall(InvH5WriteAttrInts(g, "grid_coarse_passes", 3, ints));
  PetscCall(InvH5WriteAttrReals(g, "width", 1, &Q->width));
  PetscCall(InvH5WriteAttrReals(g, "seconds", 1, &Q->seconds));
  PetscCall(PetscSNPrintf(names, sizeof(names), "%s,%s", e->model->param_names[0], e->model->param_names[1]));
  PetscCall(InvH5WriteAttrString(g, "parameter_names", names));
  PetscCall(InvH5WriteAttrString(g, "objective_data", e->objdata));
  PetscCall(InvH5WriteAttrString(g, "definitions", INV_EVAL_POSTERIOR));
  PetscCallHDF5(H5Gclose(g));
  for (PetscInt k = 0; k < e->nest; k++) {
    InvEvalEstimate *s = &e->est[k];
    if (!s->pw2) continue;
    PetscCall(PetscSNPrintf(path, sizeof(path), "/%s/posterior_w2", s->label));
    PetscCall(InvH5WriteSmall(file, path, H5T_NATIVE_DOUBLE, 1, d1, s->pw2));
    PetscCall(PetscSNPrintf(path, sizeof(path), "/%s/posterior_kl", s->label));
    PetscCall(InvH5WriteSmall(file, path, H5T_NATIVE_DOUBLE, 1, d1, s->pkl));
    PetscCall(PetscSNPrintf(path, sizeof(path), "/%s", s->label));
    PetscCallHDF5Return(g, H5Gopen2(file, path, H5P_DEFAULT));
    PetscCall(InvH5WriteAttrString(g, "posterior_gaussian", s->gkind));
    PetscCallHDF5(H5Gclose(g));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvEvalDestroyPosterior(InvEval e)
{
  InvEvalPosterior *Q = &e->post;

  PetscFunctionBegin;
  PetscCall(PetscFree7(Q->mean, Q->cov, Q->box, Q->edge, Q->peak, Q->nfail, Q->used));
  for (PetscInt k = 0; k < INV_EVAL_MAX; k++) PetscCall(PetscFree2(e->est[k].pw2, e->est[k].pkl));
  PetscFunctionReturn(0);
}
