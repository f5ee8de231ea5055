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
/* an estimate's Gaussian seeds the first zoom when J at its mean is below the first grid's minimum by more than this
   (its density e times the best grid point's or more: that grid missed the posterior's peak) */
#define INV_EVAL_POST_SEED_DJ     1.0
#define INV_EVAL_POST_SETTLED_COS 0.999 /* and its axes turned by less than 2.6 degrees */

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

/* trapezoidal factor of point i of an n-point axis (the cell area |det step| multiplies it) */
static inline PetscReal InvEvalTrapFactor(PetscInt i, PetscInt n)
{
  return (i == 0 || i == n - 1) ? 0.5 : 1.0;
}

/* point (i0, i1) of a frame */
static inline void InvEvalFramePoint(const InvEvalGrid *G, PetscInt i0, PetscInt i1, PetscReal x[2])
{
  x[0] = G->origin[0] + i0 * G->step[0] + i1 * G->step[2];
  x[1] = G->origin[1] + i0 * G->step[1] + i1 * G->step[3];
}

/* the unnormalised quadrature weight of point (i0, i1): trapezoid x cell area x exp(-(J - Jmin)); 0 where the
   re-simulation failed or outside the prior's support (the truncated prior's density is 0 there) */
static inline PetscReal InvEvalFrameWeight(InvEval e, const InvEvalGrid *G, PetscInt n, PetscInt i0, PetscInt i1, PetscReal Jmin,
                                           PetscReal x[2])
{
  const PetscReal J = G->J[i0 * n + i1], area = PetscAbsReal(G->step[0] * G->step[3] - G->step[1] * G->step[2]);

  InvEvalFramePoint(G, i0, i1, x);
  if (PetscIsInfOrNanReal(J) || x[0] < e->prior->lo[0] || x[0] > e->prior->hi[0] || x[1] < e->prior->lo[1] || x[1] > e->prior->hi[1])
    return 0;
  return InvEvalTrapFactor(i0, n) * InvEvalTrapFactor(i1, n) * area * PetscExpReal(-(J - Jmin));
}

/* The normalised grid posterior: Jmin, log Z (Z = the sum of the weights), mean, covariance (row-major 2 x 2), the
   mass on the frame's edge points (a box that cut the posterior; 0 on the first grid, whose edges are the prior's
   bounds) and the largest single-point mass. All NaN when no point carries mass. */
static void InvEvalGridMoments(InvEval e, const InvEvalGrid *G, PetscInt n, PetscBool first, PetscReal *Jmin, PetscReal *logZ,
                               PetscReal mean[2], PetscReal cov[4], PetscReal *edge, PetscReal *peak)
{
  PetscReal jm = PETSC_MAX_REAL, Z = 0, s0 = 0, s1 = 0, s00 = 0, s01 = 0, s11 = 0, ed = 0, pk = 0, x[2];
  PetscBool any = PETSC_FALSE;

  for (PetscInt64 k = 0; k < (PetscInt64)n * n; k++)
    if (!PetscIsInfOrNanReal(G->J[k])) jm = PetscMin(jm, G->J[k]), any = PETSC_TRUE;
  *Jmin = *logZ = *edge = *peak = NAN;
  mean[0] = mean[1] = cov[0] = cov[1] = cov[2] = cov[3] = NAN;
  if (!any) return;
  for (PetscInt i0 = 0; i0 < n; i0++)
    for (PetscInt i1 = 0; i1 < n; i1++) {
      const PetscReal w = InvEvalFrameWeight(e, G, n, i0, i1, jm, x);
      Z += w;
      s0 += w * x[0];
      s1 += w * x[1];
      if (!first && (i0 == 0 || i0 == n - 1 || i1 == 0 || i1 == n - 1)) ed += w;
      pk = PetscMax(pk, w);
    }
  if (!(Z > 0)) return;
  mean[0] = s0 / Z;
  mean[1] = s1 / Z;
  for (PetscInt i0 = 0; i0 < n; i0++)
    for (PetscInt i1 = 0; i1 < n; i1++) {
      const PetscReal w = InvEvalFrameWeight(e, G, n, i0, i1, jm, x), dx = x[0] - mean[0], dy = x[1] - mean[1];
      s00 += w * dx * dx;
      s01 += w * dx * dy;
      s11 += w * dy * dy;
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
static PetscReal InvEvalGridKL(InvEval e, const InvEvalGrid *G, PetscInt n, PetscReal Jmin, PetscReal logZ, const PetscReal m[2],
                               const PetscReal C[4])
{
  PetscReal det, iC[4], lognorm, kl = 0, x[2];

  if (!InvEvalSPD2(C) || PetscIsInfOrNanReal(m[0] + m[1] + logZ)) return NAN;
  det = C[0] * C[3] - C[1] * C[2];
  iC[0] = C[3] / det;
  iC[1] = -C[1] / det;
  iC[2] = -C[2] / det;
  iC[3] = C[0] / det;
  lognorm = PetscLogReal(INV_POST_TWO_PI) + 0.5 * PetscLogReal(det);
  for (PetscInt i0 = 0; i0 < n; i0++)
    for (PetscInt i1 = 0; i1 < n; i1++) {
      const PetscReal w = InvEvalFrameWeight(e, G, n, i0, i1, Jmin, x), dx = x[0] - m[0], dy = x[1] - m[1];
      PetscReal p, logp, logq;
      if (w == 0) continue;       /* p log p -> 0 */
      p = w / PetscExpReal(logZ); /* this point's share of the mass */
      logp = -(G->J[i0 * n + i1] - Jmin) - logZ;
      logq = -0.5 * (dx * (iC[0] * dx + iC[1] * dy) + dy * (iC[2] * dx + iC[3] * dy)) - lognorm;
      kl += p * (logp - logq);
    }
  return kl;
}

/* The next frame: centred on the mean, along the covariance's eigenvectors v_k, half-width width * max(sqrt(lambda_k),
   the current cell's extent along v_k) (an unresolved direction cannot shrink below the current spacing). settled: the
   next frame's directions within INV_EVAL_POST_SETTLED_COS of the current ones and its half-widths within
   [INV_EVAL_POST_SETTLED_LO, INV_EVAL_POST_SETTLED_HI] of theirs. */
static void InvEvalNextFrame(const InvEvalGrid *G, PetscInt n, PetscInt nnext, PetscReal width, const PetscReal m[2], const PetscReal C[4],
                             InvEvalGrid *N, PetscBool *settled)
{
  const PetscReal tr = C[0] + C[3], det = C[0] * C[3] - C[1] * C[2], disc = PetscSqrtReal(PetscMax(0.25 * tr * tr - det, 0));
  const PetscReal lam[2] = {0.5 * tr + disc, PetscMax(0.5 * tr - disc, 0)};
  const PetscReal phi = 0.5 * PetscAtan2Real(2 * C[1], C[0] - C[3]); /* the angle of the first (larger) eigenvector */
  const PetscReal v[4] = {PetscCosReal(phi), PetscSinReal(phi), -PetscSinReal(phi), PetscCosReal(phi)}; /* v[2k], v[2k+1]: eigenvector k */

  *settled = PETSC_TRUE;
  for (PetscInt k = 0; k < 2; k++) {
    const PetscReal ext = 0.5 * (PetscAbsReal(G->step[0] * v[2 * k] + G->step[1] * v[2 * k + 1]) +
                                 PetscAbsReal(G->step[2] * v[2 * k] + G->step[3] * v[2 * k + 1]));
    const PetscReal hw = width * PetscMax(PetscSqrtReal(lam[k]), ext),
                    cur = 0.5 * (n - 1) * PetscSqrtReal(PetscSqr(G->step[2 * k]) + PetscSqr(G->step[2 * k + 1]));
    const PetscReal cosang =
        cur > 0 ? PetscAbsReal(G->step[2 * k] * v[2 * k] + G->step[2 * k + 1] * v[2 * k + 1]) / (2 * cur / (n - 1)) : 0;
    if (!(cosang >= INV_EVAL_POST_SETTLED_COS && hw >= INV_EVAL_POST_SETTLED_LO * cur && hw <= INV_EVAL_POST_SETTLED_HI * cur))
      *settled = PETSC_FALSE;
    N->step[2 * k] = 2 * hw / (nnext - 1) * v[2 * k];
    N->step[2 * k + 1] = 2 * hw / (nnext - 1) * v[2 * k + 1];
  }
  N->affine = PETSC_TRUE;
  N->origin[0] = m[0] - 0.5 * (nnext - 1) * (N->step[0] + N->step[2]);
  N->origin[1] = m[1] - 0.5 * (nnext - 1) * (N->step[1] + N->step[3]);
}

/* J of the row at each estimate set's Gaussian mean (NaN where none or failed): a narrow posterior can fall between
   the first grid's points, and a Gaussian whose mean beats that grid's minimum seeds the first zoom (every rank
   computes all, the same values) */
static PetscErrorCode InvEvalSeedObjectives(InvEval e, PetscInt row, const PetscReal d[], PetscReal *const gm[], PetscReal Js[])
{
  const PetscInt per = e->nt * e->no, P = e->P;
  PetscReal *th, *y, *work;
  PetscInt *st, *idx, nb = 0;

  PetscFunctionBegin;
  PetscCall(PetscMalloc5(P * e->batch, &th, per * e->batch, &y, 3 * e->nt, &work, e->batch, &st, e->batch, &idx));
  for (PetscInt k = 0; k <= e->nest; k++) {
    if (k < e->nest) {
      Js[k] = NAN;
      if (!e->est[k].pw2 || PetscIsInfOrNanReal(gm[k][2 * row] + gm[k][2 * row + 1])) continue;
      PetscCall(PetscArraycpy(th + P * nb, gm[k] + 2 * row, P));
      idx[nb++] = k;
    }
    if (nb == e->batch || (k == e->nest && nb > 0)) {
      PetscCall(InvForwardSolve(e->bts, e->mrk, nb, th, y, st));
      for (PetscInt b = 0; b < nb; b++)
        Js[idx[b]] = st[b] ? NAN : InvEvalObjective(e, d, y + b * per, e->noise + 2 * row, th + P * b, work);
      nb = 0;
    }
  }
  PetscCall(PetscFree5(th, y, work, st, idx));
  PetscFunctionReturn(0);
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
  PetscCall(PetscMalloc7(2 * K, &Q->mean, 4 * K, &Q->cov, INV_EVAL_POST_FRAME * K, &Q->frame, K, &Q->edge, K, &Q->peak, K, &Q->nfail, K,
                         &Q->used));
  PetscCall(PetscMalloc1(K, &Q->seeded));
  for (PetscInt k = 0; k < e->nest; k++) {
    InvEvalEstimate *s = &e->est[k];
    PetscBool has = PETSC_FALSE;
    PetscCall(PetscMalloc2(2 * K, &gm[k], 4 * K, &gC[k]));
    PetscCall(InvEvalReadGaussian(e, s, K, gm[k], gC[k], &has));
    if (has) PetscCall(PetscMalloc2(K, &s->pw2, K, &s->pkl));
  }
  for (PetscInt row = 0; row < K; row++) {
    const PetscReal *nz = e->noise + 2 * row, *dr = d + row * per;
    PetscBool ok = (PetscBool)(!e->status[row] && InvNoiseParametersValid(nz[0], nz[1])), settled;
    PetscReal Jmin = NAN, logZ = NAN, *m = Q->mean + 2 * row, *C = Q->cov + 4 * row, *fr = Q->frame + INV_EVAL_POST_FRAME * row;
    PetscInt n = (Q->passes > 0) ? Q->coarse : Q->grid; /* points per axis of the current grid */
    InvEvalGrid G, Nx;

    PetscCall(PetscMemzero(&G, sizeof(G)));
    PetscCall(PetscMemzero(&Nx, sizeof(Nx)));
    for (PetscInt k = 0; k < per; k++) ok = (PetscBool)(ok && !PetscIsInfOrNanReal(dr[k]));
    /* the first grid: the prior's support */
    G.affine = PETSC_TRUE;
    G.origin[0] = e->prior->lo[0];
    G.origin[1] = e->prior->lo[1];
    G.step[0] = (e->prior->hi[0] - e->prior->lo[0]) / (n - 1);
    G.step[3] = (e->prior->hi[1] - e->prior->lo[1]) / (n - 1);
    G.box[1] = G.box[3] = 1; /* the axes are unused on frames */
    m[0] = m[1] = C[0] = C[1] = C[2] = C[3] = Q->edge[row] = Q->peak[row] = Q->nfail[row] = Q->used[row] = NAN;
    Q->seeded[row] = -1;
    for (PetscInt j = 0; j < INV_EVAL_POST_FRAME; j++) fr[j] = NAN;
    if (!ok) nskip++;
    for (PetscInt pass = 0; ok && pass <= Q->passes; pass++) {
      PetscCall(InvEvalGridObjective(e, row, n, pair, dr, &G));
      InvEvalGridMoments(e, &G, n, (PetscBool)(pass == 0), &Jmin, &logZ, m, C, &Q->edge[row], &Q->peak[row]);
      Q->nfail[row] = (PetscReal)G.nfail;
      Q->used[row] = (PetscReal)pass;
      fr[0] = G.origin[0], fr[1] = G.origin[1], fr[2] = G.step[0], fr[3] = G.step[1], fr[4] = G.step[2], fr[5] = G.step[3], fr[6] = n;
      if (pass == Q->passes || PetscIsInfOrNanReal(logZ)) break;
      InvEvalNextFrame(&G, n, Q->grid, Q->width, m, C, &Nx, &settled);
      if (pass == 0 && e->nest > 0) { /* the first zoom: an estimate's Gaussian when its mean beats the first grid's minimum */
        PetscReal Js[INV_EVAL_MAX], best = Jmin - INV_EVAL_POST_SEED_DJ;
        PetscInt kb = -1;
        PetscCall(InvEvalSeedObjectives(e, row, dr, gm, Js));
        for (PetscInt k = 0; k < e->nest; k++)
          if (Js[k] < best && InvEvalSPD2(gC[k] + 4 * row)) best = Js[k], kb = k;
        if (kb >= 0) {
          InvEvalGrid Z0; /* no current grid: no spacing floor */
          PetscCall(PetscMemzero(&Z0, sizeof(Z0)));
          InvEvalNextFrame(&Z0, n, Q->grid, Q->width, gm[kb] + 2 * row, gC[kb] + 4 * row, &Nx, &settled);
          Q->seeded[row] = (PetscReal)kb;
        }
      }
      if (pass > 0 && settled) break; /* the next frame would be this one, give or take the settled range */
      PetscCall(PetscFree(G.J));
      PetscCall(PetscFree(G.axis[0]));
      PetscCall(PetscFree(G.axis[1]));
      G.affine = PETSC_TRUE;
      for (PetscInt j = 0; j < 2; j++) G.origin[j] = Nx.origin[j];
      for (PetscInt j = 0; j < 4; j++) G.step[j] = Nx.step[j];
      n = Q->grid;
    }
    for (PetscInt k = 0; k < e->nest; k++) {
      InvEvalEstimate *s = &e->est[k];
      if (!s->pw2) continue;
      s->pw2[row] = ok ? InvEvalGaussianW2(gm[k] + 2 * row, gC[k] + 4 * row, m, C) : NAN;
      s->pkl[row] = ok ? InvEvalGridKL(e, &G, n, Jmin, logZ, gm[k] + 2 * row, gC[k] + 4 * row) : NAN;
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
  hsize_t d1[1] = {K}, d2[2] = {K, 2}, d3[3] = {K, 2, 2}, d4[2] = {K, INV_EVAL_POST_FRAME};
  PetscInt64 ints[3] = {Q->grid, Q->coarse, Q->passes};
  char path[128], names[2 * INV_MAX_NAME + 2];
  hid_t g;

  PetscFunctionBegin;
  if (!Q->mean) PetscFunctionReturn(0);
  PetscCall(InvH5WriteSmall(file, "/posterior/mean", H5T_NATIVE_DOUBLE, 2, d2, Q->mean));
  PetscCall(InvH5WriteSmall(file, "/posterior/cov", H5T_NATIVE_DOUBLE, 3, d3, Q->cov));
  PetscCall(InvH5WriteSmall(file, "/posterior/frame", H5T_NATIVE_DOUBLE, 2, d4, Q->frame));
  PetscCall(InvH5WriteSmall(file, "/posterior/edge_mass", H5T_NATIVE_DOUBLE, 1, d1, Q->edge));
  PetscCall(InvH5WriteSmall(file, "/posterior/peak_mass", H5T_NATIVE_DOUBLE, 1, d1, Q->peak));
  PetscCall(InvH5WriteSmall(file, "/posterior/n_failed", H5T_NATIVE_DOUBLE, 1, d1, Q->nfail));
  PetscCall(InvH5WriteSmall(file, "/posterior/passes", H5T_NATIVE_DOUBLE, 1, d1, Q->used));
  PetscCall(InvH5WriteSmall(file, "/posterior/seeded_by", H5T_NATIVE_DOUBLE, 1, d1, Q->seeded));
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
  PetscCall(PetscFree7(Q->mean, Q->cov, Q->frame, Q->edge, Q->peak, Q->nfail, Q->used));
  PetscCall(PetscFree(Q->seeded));
  for (PetscInt k = 0; k < INV_EVAL_MAX; k++) PetscCall(PetscFree2(e->est[k].pw2, e->est[k].pkl));
  PetscFunctionReturn(0);
}
