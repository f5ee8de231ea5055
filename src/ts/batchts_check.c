/* InvBatchTSCheckGradient: the adjoint gradient of J (include/invmap/objective.h: AR(1)-whitened misfit plus the
   prior term) of a model against central finite differences of J, with the MAP solver's options (-map_ts_*,
   so also the implicit derivative path), at npts points, on the observation times t. Data: the model's own
   output at one prior draw plus invmap's AR(1) noise at the noise prior's means (src/noise); J is evaluated at
   another prior draw, so the gradient is not small. Used by `invmap model`. The adjoint gives the exact gradient of the discrete J, so the
   only error is the difference quotient's: Richardson's extrapolation of the steps h and h/2 (h = INV_GRAD_STEP prior standard deviations)
   leaves O(h^4) and rounding eps J / h, about 1e-9 relative here; INV_GRAD_TOL = 1e-5 passes a right gradient and fails a wrong derivative
   of the model (errors of order 1). */
#include <invmap/batchts.h>
#include <invmap/noise.h>

#define INV_GRAD_STEP 1e-4 /* difference step in prior standard deviations */
#define INV_GRAD_TOL  1e-5 /* relative error the adjoint gradient must stay below */
#define INV_GRAD_SEED 23   /* the points and the noise: random streams with this seed */

PetscErrorCode InvBatchTSCheckGradient(InvModel m, PetscInt nt, const PetscReal t[], PetscInt npts, PetscViewer viewer, PetscBool *ok)
{
  const PetscInt np = m->nparam, nfd = 4 * np; /* per point: theta +- h e_j, +- h/2 e_j */
  const PetscReal s[4] = {1, -1, 0.5, -0.5};
  PetscInt no = m->nobs, *st;
  PetscReal *truth, *th, *d, *f, *g, *rho, *sd, worst = 0, nrho, nsigma, nsd;
  const PetscReal **dp;
  InvBatchTS bts;
  InvPrior prior;
  InvNoise noise;
  char desc[256];

  PetscFunctionBegin;
  PetscCheck(npts > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "The gradient check needs at least one point, got %" PetscInt_FMT, npts);
  PetscCall(InvNoiseCreate(&noise)); /* the default AR(1) noise at its prior means */
  PetscCall(InvNoiseSetObservationTimes(noise, PETSC_COMM_SELF, nt, t));
  nrho = noise->rho_prior[0];
  nsigma = noise->sigma_prior[0];
  nsd = InvNoiseMarginalSD(noise->scale, nsigma, noise->obs_dt);
  PetscCall(InvPriorCreate(m, &prior));
  PetscCall(InvBatchTSCreateAdjoint(m, npts * (1 + nfd), "map_", &bts));
  PetscCall(InvBatchTSSetObservationTimes(bts, nt, t));
  PetscCall(InvBatchTSSetFromOptions(bts));
  PetscCall(PetscMalloc6(npts * np, &truth, npts * (1 + nfd) * np, &th, npts * nt * no, &d, npts * (1 + nfd), &f, npts * (1 + nfd) * np, &g,
                         npts * (1 + nfd), &st));
  PetscCall(PetscMalloc3(npts * (1 + nfd), &rho, npts * (1 + nfd), &sd, npts * (1 + nfd), &dp));
  /* the data: y(truth) (read back from a first solve with any data) plus AR(1) noise */
  for (PetscInt i = 0; i < npts; i++) {
    PetscCall(InvPriorSample(prior, INV_GRAD_SEED, 2 * i, truth + i * np));
    PetscCall(InvPriorSample(prior, INV_GRAD_SEED, 2 * i + 1, th + i * np));
    rho[i] = nrho;
    sd[i] = nsd;
    dp[i] = d + i * nt * no;
  }
  PetscCall(PetscArrayzero(d, npts * nt * no));
  PetscCall(InvBatchTSObjective(bts, prior, npts, truth, dp, rho, sd, f, NULL, st));
  {
    const PetscReal *y;
    PetscCall(InvBatchTSGetObservations(bts, &y));
    for (PetscInt i = 0; i < npts; i++) {
      PetscCheck(!st[i], PETSC_COMM_SELF, PETSC_ERR_NOT_CONVERGED, "Gradient check: the forward solve at a prior draw failed (%s)",
                 InvStatusNames[st[i]]);
      PetscCall(InvNoiseApply(noise, INV_GRAD_SEED, i, 0, nrho, nsigma, nt * no, y + i * nt * no, d + i * nt * no));
    }
  }
  /* the gradient at th, and J at the perturbed points, in one batch */
  for (PetscInt i = 0; i < npts; i++)
    for (PetscInt j = 0; j < np; j++)
      for (PetscInt q = 0; q < 4; q++) {
        const PetscInt b = npts + (i * np + j) * 4 + q;
        PetscCall(PetscArraycpy(th + b * np, th + i * np, np));
        th[b * np + j] += s[q] * INV_GRAD_STEP * prior->sd[j];
        rho[b] = nrho;
        sd[b] = nsd;
        dp[b] = d + i * nt * no;
      }
  PetscCall(InvBatchTSObjective(bts, prior, npts * (1 + nfd), th, dp, rho, sd, f, g, st));
  for (PetscInt b = 0; b < npts * (1 + nfd); b++)
    PetscCheck(!st[b], PETSC_COMM_SELF, PETSC_ERR_NOT_CONVERGED, "Gradient check: a forward solve failed (%s)", InvStatusNames[st[b]]);
  for (PetscInt i = 0; i < npts; i++) {
    PetscReal err = 0, nrm = 0;
    for (PetscInt j = 0; j < np; j++) {
      const PetscReal h = INV_GRAD_STEP * prior->sd[j], *fq = f + npts + (i * np + j) * 4;
      const PetscReal D1 = (fq[0] - fq[1]) / (2 * h), D2 = (fq[2] - fq[3]) / h, gfd = (4 * D2 - D1) / 3;
      err = PetscMax(err, PetscAbsReal(g[i * np + j] - gfd));
      nrm = PetscMax(nrm, PetscAbsReal(gfd));
    }
    worst = PetscMax(worst, err / PetscMax(nrm, PETSC_SMALL));
  }
  *ok = worst < INV_GRAD_TOL ? PETSC_TRUE : PETSC_FALSE;
  PetscCall(InvBatchTSDescribe(bts, desc, sizeof(desc)));
  PetscCall(PetscViewerASCIIPrintf(viewer,
                                   "Adjoint gradient of J against finite differences at %" PetscInt_FMT " points (%s, %" PetscInt_FMT
                                   " observation times):\n  %-30s %9.2e  %s\n",
                                   npts, desc, nt, "dJ/dtheta (TSAdjoint)", (double)worst, *ok ? "ok" : "WRONG"));
  PetscCall(PetscFree6(truth, th, d, f, g, st));
  PetscCall(PetscFree3(rho, sd, dp));
  PetscCall(InvNoiseDestroy(&noise));
  PetscCall(InvPriorDestroy(&prior));
  PetscCall(InvBatchTSDestroy(&bts));
  PetscFunctionReturn(0);
}
