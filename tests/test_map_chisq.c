/* The MAP objective at the true parameters is a chi-square: with AR(1) noise of standard deviation
   sigma / Delta_t, the whitened residual W (d - y(theta_true)) is n_obs independent N(0, 1) values, so the
   misfit J - prior term averages n_obs / 2 over samples. Checked for the default convention, and for data drawn
   with -noise_scale unit and read as such. A misread scale (5x off at Delta_t = 0.2) moves the mean 25x. */
#include "test_map_common.h"

static PetscErrorCode CheckChiSquare(const char *label, const char *scale)
{
  InvMAP map;
  InvPrior prior;
  PetscReal *t, *theta, *d, *noise, *f, mean = 0;
  PetscInt *idx, *st;
  const PetscInt n = 64, nt = 500;
  /* misfit = chi2_nt / 2: mean nt/2, standard deviation sqrt(nt/2); the mean over n samples has standard error
     sqrt(nt/2/n) = 1.98 here. Five standard errors: */
  const PetscReal tol = 5 * PetscSqrtReal(0.5 * nt / n);

  PetscFunctionBegin;
  if (scale) PetscCall(PetscOptionsSetValue(NULL, "-noise_scale", scale));
  PetscCall(TestMAPCreate(PETSC_COMM_SELF, n, nt, 21, &map, &t, &theta, &d, &noise));
  PetscCall(InvMAPGetPrior(map, &prior));
  PetscCall(InvMAPSetProblems(map, n, nt, t, d, noise, NULL, 0));
  PetscCall(PetscMalloc3(n, &f, n, &idx, n, &st));
  for (PetscInt i = 0; i < n; i++) idx[i] = i;
  PetscCall(InvMAPObjectiveGradient(map, n, idx, theta, f, NULL, st));
  for (PetscInt i = 0; i < n; i++) {
    PetscReal pr = 0;
    PetscCheck(!st[i], PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: forward solve failed at the truth of sample %d", label, (int)i);
    for (PetscInt j = 0; j < prior->n; j++) pr += 0.5 * PetscSqr((theta[2 * i + j] - prior->mean[j]) / prior->sd[j]);
    mean += (f[i] - pr) / n;
  }
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s: mean misfit at the truth %.2f over %d samples, expected n_obs/2 = %.1f +- %.2f\n", label,
                        (double)mean, (int)n, 0.5 * nt, (double)tol));
  PetscCheck(PetscAbsReal(mean - 0.5 * nt) <= tol, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "%s: mean misfit at the truth %g, expected n_obs/2 = %g within %g", label, (double)mean, 0.5 * nt, (double)tol);
  PetscCall(PetscFree3(f, idx, st));
  PetscCall(TestMAPFreeProblems(&t, &theta, &d, &noise));
  PetscCall(InvMAPDestroy(&map));
  if (scale) PetscCall(PetscOptionsClearValue(NULL, "-noise_scale"));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(CheckChiSquare("default (sigma / Delta_t)", NULL));
  PetscCall(CheckChiSquare("-noise_scale unit", "unit"));
  PetscCall(PetscFinalize());
  return 0;
}
