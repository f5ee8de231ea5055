/* MAP objective gradient by TSAdjoint vs central finite differences (Richardson-extrapolated) at random
   prior points, for the default RK4 fixed step and for Crank-Nicolson; also batch independence, that
   the RK adjoint's state Jacobian filled by the JacobianP callback (default) equals PETSc's own path, and
   that the lean RK adjoint's own forward pass over the learned step grid gives bitwise TSSolve's result. */
#include "test_map_common.h"
#include <invmap/rng.h>

static PetscErrorCode CheckGradients(const char *label, PetscReal tol)
{
  InvMAP map;
  InvPrior prior;
  PetscReal *t, *theta, *d, *noise, worst = 0;
  const PetscInt n = 4, nt = 400, npts = 3;

  PetscFunctionBegin;
  PetscCall(TestMAPCreate(PETSC_COMM_SELF, n, nt, 11, &map, &t, &theta, &d, &noise));
  PetscCall(InvMAPGetPrior(map, &prior));
  noise[2] = 0.0; /* one problem with white noise, one with strong correlation */
  noise[4] = 0.92;
  PetscCall(InvMAPSetProblems(map, n, nt, t, d, noise, NULL, 0));
  for (PetscInt i = 0; i < n; i++) {
    PetscInt idx[8], st[8];
    PetscReal th[16], f[8], g[16], gfd[2], gb[2 * 4 * 3], fb[4 * 3], thb[2 * 4 * 3];
    PetscInt idxb[12], stb[12];
    for (PetscInt p = 0; p < npts; p++) {
      PetscReal x[2], err = 0, nrm = 0;
      PetscCall(InvPriorSample(prior, 1000 + i, p, x));
      /* f(x + s h e_j) for s = +-1, +-1/2 */
      for (PetscInt j = 0; j < 2; j++) {
        const PetscReal h = 1e-4 * prior->sd[j], s[4] = {1, -1, 0.5, -0.5};
        for (PetscInt q = 0; q < 4; q++) {
          th[2 * q] = x[0];
          th[2 * q + 1] = x[1];
          th[2 * q + j] += s[q] * h;
          idx[q] = i;
        }
        PetscCall(InvMAPObjectiveGradient(map, 4, idx, th, f, NULL, st));
        for (PetscInt q = 0; q < 4; q++) PetscCheck(!st[q], PETSC_COMM_SELF, PETSC_ERR_PLIB, "forward solve failed");
        {
          const PetscReal D1 = (f[0] - f[1]) / (2 * h), D2 = (f[2] - f[3]) / h;
          gfd[j] = (4 * D2 - D1) / 3;
        }
      }
      idx[0] = i;
      th[0] = x[0];
      th[1] = x[1];
      PetscCall(InvMAPObjectiveGradient(map, 1, idx, th, f, g, st));
      for (PetscInt j = 0; j < 2; j++) {
        err += PetscSqr(g[j] - gfd[j]);
        nrm += PetscSqr(gfd[j]);
      }
      err = PetscSqrtReal(err / nrm);
      worst = PetscMax(worst, err);
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s problem %d point %d: J %.6e adjoint (%.10e, %.10e) fd (%.10e, %.10e) rel err %.2e\n",
                            label, (int)i, (int)p, (double)f[0], (double)g[0], (double)g[1], (double)gfd[0], (double)gfd[1], (double)err));
      PetscCheck(err <= tol, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: adjoint gradient differs from finite differences: rel err %g > %g",
                 label, (double)err, (double)tol);
      /* the same point inside a batch of other problems and points gives the same gradient */
      for (PetscInt q = 0; q < 12; q++) {
        idxb[q] = q % n;
        PetscCall(InvPriorSample(prior, 77, q, thb + 2 * q));
      }
      idxb[5] = i;
      thb[10] = x[0];
      thb[11] = x[1];
      PetscCall(InvMAPObjectiveGradient(map, 12, idxb, thb, fb, gb, stb));
      PetscCheck(PetscAbsReal(fb[5] - f[0]) <= 1e-12 * PetscAbsReal(f[0]) &&
                     PetscAbsReal(gb[10] - g[0]) <= 1e-9 * PetscAbsReal(g[0]) + 1e-9,
                 PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: batched evaluation differs from the single one", label);
    }
  }
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s: worst relative error %.2e\n", label, (double)worst));
  PetscCall(TestMAPFreeProblems(&t, &theta, &d, &noise));
  PetscCall(InvMAPDestroy(&map));
  PetscFunctionReturn(0);
}

/* objective and gradient of 12 prior draws over 4 problems, with -map_adjoint_jacobian_in_jacobianp jp; again: the same
   evaluation repeated on the same solver (with the lean RK adjoint the first runs TSSolve and learns the step grid, the
   second runs over that grid without TSSolve: documented to give the same numbers bitwise, batchts_rkadjoint.c) */
static PetscErrorCode BatchGradients(const char *jp, PetscBool again, PetscReal f[12], PetscReal g[24])
{
  InvMAP map;
  InvPrior prior;
  PetscReal *t, *theta, *d, *noise, th[24];
  PetscInt idx[12], st[12];
  const PetscInt n = 4, nt = 400;

  PetscFunctionBegin;
  PetscCall(PetscOptionsSetValue(NULL, "-map_adjoint_jacobian_in_jacobianp", jp));
  PetscCall(TestMAPCreate(PETSC_COMM_SELF, n, nt, 11, &map, &t, &theta, &d, &noise));
  PetscCall(InvMAPGetPrior(map, &prior));
  PetscCall(InvMAPSetProblems(map, n, nt, t, d, noise, NULL, 0));
  for (PetscInt q = 0; q < 12; q++) {
    idx[q] = q % n;
    PetscCall(InvPriorSample(prior, 91, q, th + 2 * q));
  }
  PetscCall(InvMAPObjectiveGradient(map, 12, idx, th, f, g, st));
  for (PetscInt q = 0; q < 12; q++) PetscCheck(!st[q], PETSC_COMM_SELF, PETSC_ERR_PLIB, "forward solve failed");
  if (again) {
    PetscReal f2[12], g2[24];
    PetscCall(InvMAPObjectiveGradient(map, 12, idx, th, f2, g2, st));
    for (PetscInt q = 0; q < 12; q++)
      PetscCheck(f2[q] == f[q] && g2[2 * q] == g[2 * q] && g2[2 * q + 1] == g[2 * q + 1], PETSC_COMM_SELF, PETSC_ERR_PLIB,
                 "repeated evaluation %d differs: the forward pass over the learned step grid is not TSSolve's bitwise", (int)q);
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "RK adjoint: repeated evaluation (own forward pass over the step grid) bitwise equal\n"));
  }
  PetscCall(TestMAPFreeProblems(&t, &theta, &d, &noise));
  PetscCall(InvMAPDestroy(&map));
  PetscCall(PetscOptionsClearValue(NULL, "-map_adjoint_jacobian_in_jacobianp"));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckJacobianPaths(void)
{
  PetscReal f0[12], g0[24], f1[12], g1[24], worst = 0;

  PetscFunctionBegin;
  PetscCall(BatchGradients("0", PETSC_FALSE, f0, g0));
  PetscCall(BatchGradients("1", PETSC_TRUE, f1, g1));
  for (PetscInt q = 0; q < 12; q++) {
    PetscCheck(f0[q] == f1[q], PETSC_COMM_SELF, PETSC_ERR_PLIB, "objective %d differs between the Jacobian paths", (int)q);
    for (PetscInt j = 0; j < 2; j++)
      worst = PetscMax(worst, PetscAbsReal(g0[2 * q + j] - g1[2 * q + j]) / (PetscAbsReal(g0[2 * q + j]) + 1e-300));
  }
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "RK adjoint: Jacobian from the JacobianP callback vs SNESComputeJacobian: worst rel diff %.2e\n",
                        (double)worst));
  PetscCheck(worst <= 1e-13, PETSC_COMM_SELF, PETSC_ERR_PLIB, "the two Jacobian paths of the RK adjoint differ: %g", (double)worst);
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(InvInitializePackage());
  PetscCall(CheckGradients("rk4 dt=0.05", 1e-6));
  PetscCall(CheckJacobianPaths());
  /* a step that does not divide the observation spacing: MATCHSTEP shortens the steps before observation times (the
     MEMORY-trajectory build of main crashed here); the Hessian off, as Gauss-Newton refuses such a step with RK */
  PetscCall(PetscOptionsSetValue(NULL, "-map_ts_dt", "0.07"));
  PetscCall(PetscOptionsSetValue(NULL, "-map_hessian", "none"));
  PetscCall(CheckJacobianPaths());
  PetscCall(PetscOptionsClearValue(NULL, "-map_hessian"));
  PetscCall(PetscOptionsSetValue(NULL, "-map_ts_type", "cn"));
  PetscCall(PetscOptionsSetValue(NULL, "-map_ts_dt", "0.02"));
  PetscCall(PetscOptionsSetValue(NULL, "-map_snes_rtol", "1e-12"));
  PetscCall(PetscOptionsSetValue(NULL, "-map_snes_atol", "1e-13"));
  PetscCall(CheckGradients("cn dt=0.02", 1e-6));
  PetscCall(PetscFinalize());
  return 0;
}
