/* Full Hessian of the MAP objective from second-order adjoints (-map_hessian soa, PETSc TSAdjointSetForward +
   TSSetCostHessianProducts with tangent-linear jumps at the interior observation times):
   (1) at random prior points with noisy data it matches a Richardson-extrapolated central difference of
       the adjoint gradient to 1e-6 (relative Frobenius). The Richardson estimate is the less accurate side:
       its error is O(h^4) (one point here: 2.3e-2, 2.5e-4, 3.1e-6, 2.5e-8, 3.3e-10 at h = 1e-3, 3e-4, 1e-4,
       3e-5, 1e-5 prior sd, converging to the soa value), so h = 1e-5 sd (-test_fd_h) where roundoff is
       still far below the tolerance;
   (2) at zero residual (data = the objective's own simulation at theta, AR(1) whitening) it equals the
       Gauss-Newton Hessian from TSForward sensitivities to 1e-9 (measured <= 1e-12: both differentiate the
       same discrete RK4 solution exactly);
   (3) batched over samples it equals the one-sample result to 1e-12 (soa: PETSc's BLAS updates round differently
       with the sweep size); Gauss-Newton is bitwise the one-sample result, and bitwise the same with -map_batch 1
       (sensitivity solves of one member) as with the default 128 per solve, as docs/design.md promises.
   Run on every rank with its own problems (each rank's BASIC trajectory lives in its own directory). */
#include "test_map_common.h"

int main(int argc, char **argv)
{
  InvMAP map, map0;
  InvPrior prior;
  PetscReal *t, *theta, *d, *noise, *y, *x, *Hb, Hs[4], Hg[4], Hr[4], worst_fd = 0, worst_gn = 0;
  PetscInt n = 3, nt = 1000, npt = 2, *idx;
  PetscMPIInt rank;
  PetscBool ok;
  PetscReal tol_fd = 1e-6, tol_gn = 1e-9, hrel = 1e-5;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(InvInitializePackage());
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-test_n", &n, NULL));
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-test_tol_fd", &tol_fd, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-test_nt", &nt, NULL));
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-test_fd_h", &hrel, NULL));
  PetscCall(TestMAPCreate(PETSC_COMM_WORLD, n, nt, 31 + rank, &map0, &t, &theta, &d, &noise));
  PetscCall(InvMAPGetPrior(map0, &prior));
  noise[2] = 0.0; /* white noise for one problem */
  PetscCall(InvMAPSetProblems(map0, n, nt, t, d, noise, NULL, rank * n));
  PetscCall(PetscMalloc4(n * npt * 2, &x, n * npt, &idx, n * npt * 4, &Hb, n * nt, &y));
  /* (1) noisy data, random prior points: soa vs Richardson FD of the adjoint gradient */
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt p = 0; p < npt; p++) {
      const PetscInt q = i * npt + p;
      PetscReal e;
      PetscCall(InvPriorSample(prior, 500 + rank, q, x + 2 * q));
      idx[q] = i;
      PetscCall(InvMAPComputeHessian(map0, i, x + 2 * q, INV_MAP_HESSIAN_SOA, Hs));
      PetscCall(HessianRichardson(map0, prior, i, x + 2 * q, hrel, Hr));
      e = RelDiff(4, Hs, Hr);
      worst_fd = PetscMax(worst_fd, e);
      PetscCall(
          PetscPrintf(PETSC_COMM_SELF,
                      "[%d] noisy, problem %d at (%.4f, %.4f): soa [%.10e %.10e; %.10e %.10e] richardson [%.10e %.10e; %.10e %.10e] rel "
                      "diff %.2e\n",
                      rank, (int)i, (double)x[2 * q], (double)x[2 * q + 1], (double)Hs[0], (double)Hs[1], (double)Hs[2], (double)Hs[3],
                      (double)Hr[0], (double)Hr[1], (double)Hr[2], (double)Hr[3], (double)e));
      PetscCheck(e <= tol_fd, PETSC_COMM_SELF, PETSC_ERR_PLIB, "soa Hessian differs from finite differences: %g > %g", (double)e,
                 (double)tol_fd);
      if (p == 0) PetscCall(PetscArraycpy(Hb + 4 * q, Hs, 4));
    }
  /* (3) all points in one batched call: same as one at a time */
  {
    PetscReal *Hall;
    PetscCall(PetscMalloc1(4 * n * npt, &Hall));
    PetscCall(InvMAPComputeHessians(map0, n * npt, idx, x, INV_MAP_HESSIAN_SOA, Hall));
    for (PetscInt i = 0; i < n; i++) {
      const PetscReal e = RelDiff(4, Hall + 4 * i * npt, Hb + 4 * i * npt);
      PetscCheck(e <= 1e-12, PETSC_COMM_SELF, PETSC_ERR_PLIB, "batched soa Hessian differs from the single one: %g", (double)e);
    }
    /* Gauss-Newton (one batched sensitivity solve for all points): bitwise the one-sample result, and bitwise the result
       of an InvMAP whose sensitivity solves hold one member (-map_batch 1) */
    {
      InvMAP map1;
      PetscCall(InvMAPCreate(PETSC_COMM_WORLD, &map1));
      PetscCall(PetscOptionsSetValue(NULL, "-map_batch", "1"));
      PetscCall(InvMAPSetFromOptions(map1));
      PetscCall(PetscOptionsClearValue(NULL, "-map_batch"));
      PetscCall(InvMAPSetProblems(map1, n, nt, t, d, noise, NULL, rank * n));
      PetscCall(InvMAPComputeHessians(map0, n * npt, idx, x, INV_MAP_HESSIAN_GN, Hall));
      for (PetscInt k = 0; k < n * npt; k++) {
        PetscReal Hg1[4];
        PetscCall(InvMAPComputeHessian(map0, idx[k], x + 2 * k, INV_MAP_HESSIAN_GN, Hg));
        PetscCall(InvMAPComputeHessian(map1, idx[k], x + 2 * k, INV_MAP_HESSIAN_GN, Hg1));
        for (PetscInt l = 0; l < 4; l++) {
          PetscCheck(Hall[4 * k + l] == Hg[l], PETSC_COMM_SELF, PETSC_ERR_PLIB,
                     "batched GN Hessian differs from the single one: %.17g vs %.17g", (double)Hall[4 * k + l], (double)Hg[l]);
          PetscCheck(Hg1[l] == Hg[l], PETSC_COMM_SELF, PETSC_ERR_PLIB, "GN Hessian with -map_batch 1 differs: %.17g vs %.17g",
                     (double)Hg1[l], (double)Hg[l]);
        }
      }
      PetscCall(InvMAPDestroy(&map1));
    }
    { /* a member whose forward solve blows up (theta1 = 1e4: stiff for the explicit step) fails the batch; the
         others are redone one by one and equal the batched results, the failed one is NaN */
      PetscReal xb[2 * 3], Hb3[4 * 3];
      PetscInt ib[3] = {idx[0], idx[1], idx[2]};
      PetscCall(PetscArraycpy(xb, x, 2 * 3));
      xb[3] = 1e4;
      PetscCall(InvMAPComputeHessians(map0, 3, ib, xb, INV_MAP_HESSIAN_GN, Hb3));
      PetscCheck(PetscIsNanReal(Hb3[4]), PETSC_COMM_SELF, PETSC_ERR_PLIB, "GN Hessian of a diverging member is not NaN: %g",
                 (double)Hb3[4]);
      for (PetscInt l = 0; l < 4; l++)
        PetscCheck(Hb3[l] == Hall[l] && Hb3[8 + l] == Hall[8 + l], PETSC_COMM_SELF, PETSC_ERR_PLIB,
                   "GN Hessians of the members beside a diverging one changed");
    }
    PetscCall(PetscFree(Hall));
  }
  /* (2) zero residual: the objective's own simulation at theta as data (the prior term adds the same constant
         Sigma_pr^-1 to both Hessians; the printed J is that prior term) */
  for (PetscInt i = 0; i < n; i++) {
    PetscCall(InvMAPModelOutput(map0, theta + 2 * i, y + i * nt, &ok));
    PetscCheck(ok, PETSC_COMM_SELF, PETSC_ERR_PLIB, "forward solve failed");
  }
  PetscCall(InvMAPCreate(PETSC_COMM_WORLD, &map));
  PetscCall(InvMAPSetFromOptions(map));
  PetscCall(InvMAPSetProblems(map, n, nt, t, y, noise, NULL, rank * n));
  for (PetscInt i = 0; i < n; i++) {
    PetscReal e, f, g[2];
    PetscInt st;
    PetscCall(InvMAPObjectiveGradient(map, 1, &i, theta + 2 * i, &f, g, &st));
    PetscCall(InvMAPComputeHessian(map, i, theta + 2 * i, INV_MAP_HESSIAN_SOA, Hs));
    PetscCall(InvMAPComputeHessian(map, i, theta + 2 * i, INV_MAP_HESSIAN_GN, Hg));
    e = RelDiff(4, Hs, Hg);
    worst_gn = PetscMax(worst_gn, e);
    PetscCall(PetscPrintf(
        PETSC_COMM_SELF, "[%d] zero residual (misfit %.1e), problem %d: soa [%.12e %.12e; %.12e] gn [%.12e %.12e; %.12e] rel diff %.2e\n",
        rank, (double)(f), (int)i, (double)Hs[0], (double)Hs[1], (double)Hs[3], (double)Hg[0], (double)Hg[1], (double)Hg[3], (double)e));
    PetscCheck(e <= tol_gn, PETSC_COMM_SELF, PETSC_ERR_PLIB, "soa and Gauss-Newton Hessians differ at zero residual: %g > %g", (double)e,
               (double)tol_gn);
  }
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "[%d] worst rel diff soa vs richardson fd %.2e, soa vs gn at zero residual %.2e\n", rank,
                        (double)worst_fd, (double)worst_gn));
  PetscCall(PetscFree4(x, idx, Hb, y));
  PetscCall(TestMAPFreeProblems(&t, &theta, &d, &noise));
  PetscCall(InvMAPDestroy(&map));
  PetscCall(InvMAPDestroy(&map0));
  PetscCall(PetscFinalize());
  return 0;
}
