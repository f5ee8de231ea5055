/* Hessians of the MAP objective: at zero residual the Gauss-Newton Hessian (forward sensitivities)
   equals the full Hessian (central differences of adjoint gradients), and both match an independent
   Richardson-extrapolated finite difference of the gradient; with noisy data the full Hessian still
   matches it; the covariance inverts H. */
#include "test_map_common.h"

int main(int argc, char **argv)
{
  InvMAP map, map0;
  InvPrior prior;
  PetscReal *t, *theta, *d, *noise, *y, Hgn[4], Hfd[4], Hr[4], C[4];
  const PetscInt n = 3, nt = 300;
  PetscBool ok, spd;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(InvInitializePackage());
  PetscCall(TestMAPCreate(PETSC_COMM_SELF, n, nt, 5, &map0, &t, &theta, &d, &noise));
  PetscCall(InvMAPGetPrior(map0, &prior));
  PetscCall(InvMAPSetProblems(map0, n, nt, t, d, noise, NULL, 0));
  /* zero-residual data: the objective's own discretisation at the true parameters */
  PetscCall(PetscMalloc1(n * nt, &y));
  for (PetscInt i = 0; i < n; i++) {
    PetscCall(InvMAPModelOutput(map0, theta + 2 * i, y + i * nt, &ok));
    PetscCheck(ok, PETSC_COMM_SELF, PETSC_ERR_PLIB, "forward solve failed");
  }
  PetscCall(InvMAPCreate(PETSC_COMM_SELF, &map));
  PetscCall(InvMAPSetFromOptions(map));
  PetscCall(InvMAPSetProblems(map, n, nt, t, y, noise, NULL, 0));
  for (PetscInt i = 0; i < n; i++) {
    const PetscReal *x = theta + 2 * i;
    PetscReal egf, egr, efr, f, g[2];
    PetscInt st;
    PetscCall(InvMAPObjectiveGradient(map, 1, &i, x, &f, g, &st));
    PetscCall(InvMAPComputeHessian(map, i, x, INV_MAP_HESSIAN_GN, Hgn));
    PetscCall(InvMAPComputeHessian(map, i, x, INV_MAP_HESSIAN_FD, Hfd));
    PetscCall(HessianRichardson(map, prior, i, x, 1e-4, Hr));
    egf = RelDiff(4, Hgn, Hfd);
    egr = RelDiff(4, Hgn, Hr);
    efr = RelDiff(4, Hfd, Hr);
    PetscCall(PetscPrintf(PETSC_COMM_SELF,
                          "zero residual, problem %d (misfit %.2e): GN [%.8e %.8e; %.8e %.8e]\n  full(fd) [%.8e %.8e; %.8e %.8e]\n  "
                          "rel diff GN-full %.2e, GN-richardson %.2e, full-richardson %.2e\n",
                          (int)i, (double)f, (double)Hgn[0], (double)Hgn[1], (double)Hgn[2], (double)Hgn[3], (double)Hfd[0], (double)Hfd[1],
                          (double)Hfd[2], (double)Hfd[3], (double)egf, (double)egr, (double)efr));
    PetscCheck(egf < 1e-6 && egr < 1e-6 && efr < 1e-6, PETSC_COMM_SELF, PETSC_ERR_PLIB, "Hessians disagree at zero residual");
    PetscCall(InvMAPSymInverse(2, Hgn, C, &spd));
    PetscCheck(spd, PETSC_COMM_SELF, PETSC_ERR_PLIB, "GN Hessian not SPD");
    for (PetscInt r = 0; r < 2; r++)
      for (PetscInt c = 0; c < 2; c++) {
        const PetscReal v = Hgn[2 * r] * C[c] + Hgn[2 * r + 1] * C[2 + c];
        PetscCheck(PetscAbsReal(v - (r == c)) < 1e-10, PETSC_COMM_SELF, PETSC_ERR_PLIB, "H C != I");
      }
  }
  /* noisy data: the full Hessian still matches the Richardson FD; GN differs by the residual term */
  for (PetscInt i = 0; i < n; i++) {
    const PetscReal *x = theta + 2 * i;
    PetscReal efr, egf;
    PetscCall(InvMAPComputeHessian(map0, i, x, INV_MAP_HESSIAN_GN, Hgn));
    PetscCall(InvMAPComputeHessian(map0, i, x, INV_MAP_HESSIAN_FD, Hfd));
    PetscCall(HessianRichardson(map0, prior, i, x, 1e-4, Hr));
    efr = RelDiff(4, Hfd, Hr);
    egf = RelDiff(4, Hgn, Hfd);
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "noisy data, problem %d: rel diff full-richardson %.2e, GN-full %.2e\n", (int)i, (double)efr,
                          (double)egf));
    PetscCheck(efr < 1e-6, PETSC_COMM_SELF, PETSC_ERR_PLIB, "full Hessian disagrees with finite differences");
  }
  PetscCall(PetscFree(y));
  PetscCall(TestMAPFreeProblems(&t, &theta, &d, &noise));
  PetscCall(InvMAPDestroy(&map));
  PetscCall(InvMAPDestroy(&map0));
  PetscCall(PetscFinalize());
  return 0;
}
