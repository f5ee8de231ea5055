/* Multistart MAP (default starts) reaches the global minimum found by an exhaustive grid search plus
   local refinement, on a handful of noisy FHN problems (AR(1) noise, sampled parameters). */
#include "test_map_common.h"
#include "test_map_global.h"

int main(int argc, char **argv)
{
  InvMAP map;
  PetscReal *t, *theta, *d, *noise;
  const PetscReal *xm, *fm, *cov;
  const PetscInt *nbest, *status;
  PetscInt n = 5, nt = 500, nl, nfail = 0;
  PetscReal *xg, *fg;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(InvInitializePackage());
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-test_n", &n, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-test_nt", &nt, NULL));
  PetscCall(TestMAPCreate(PETSC_COMM_SELF, n, nt, 21, &map, &t, &theta, &d, &noise));
  PetscCall(InvMAPSetProblems(map, n, nt, t, d, noise, NULL, 0));
  PetscCall(InvMAPSolve(map));
  PetscCall(InvMAPGetResults(map, &nl, &xm, &fm, &cov, &nbest, &status));
  PetscCall(PetscMalloc2(2 * n, &xg, n, &fg));
  PetscCall(TestMAPGlobalMin(map, n, 61, 81, 12, xg, fg));
  for (PetscInt i = 0; i < n; i++) {
    PetscBool ok;
    ok = (status[i] == INV_MAP_OK && fm[i] <= fg[i] + 1e-6 * (1 + PetscAbsReal(fg[i]))) ? PETSC_TRUE : PETSC_FALSE;
    if (!ok) nfail++;
    PetscCall(
        PetscPrintf(PETSC_COMM_SELF,
                    "problem %d: true (%.4f, %.4f) | multistart MAP (%.6f, %.6f) J %.6f, %d starts at best, sd (%.2e, %.2e) | grid+refine "
                    "(%.6f, %.6f) J %.6f %s\n",
                    (int)i, (double)theta[2 * i], (double)theta[2 * i + 1], (double)xm[2 * i], (double)xm[2 * i + 1], (double)fm[i],
                    (int)nbest[i], (double)PetscSqrtReal(cov[4 * i]), (double)PetscSqrtReal(cov[4 * i + 3]), (double)xg[2 * i],
                    (double)xg[2 * i + 1], (double)fg[i], ok ? "ok" : "MISSED"));
  }
  PetscCheck(!nfail, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "multistart MAP missed the global minimum on %" PetscInt_FMT " of %" PetscInt_FMT " problems", nfail, n);
  PetscCall(PetscFree2(xg, fg));
  PetscCall(TestMAPFreeProblems(&t, &theta, &d, &noise));
  PetscCall(InvMAPDestroy(&map));
  PetscCall(PetscFinalize());
  return 0;
}
