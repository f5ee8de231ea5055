/* Reference global minimum of a MAP problem: exhaustive grid over the prior box, then local TAO
   refinement from the best grid points (shared by test_map_multistart and bench_map). */
#pragma once
#include <invmap/map.h>

static PetscErrorCode TestMAPGlobalMin(InvMAP map, PetscInt i, PetscInt n0, PetscInt n1, PetscInt nrefine, PetscReal xbest[],
                                       PetscReal *fbest)
{
  InvPrior pr;
  const PetscInt ng = n0 * n1;
  PetscReal *th, *f, *x, *fr, *gn, *x0;
  PetscInt *idx, *st, *its, *nfev, *reason, *order;

  PetscFunctionBegin;
  PetscCall(InvMAPGetPrior(map, &pr));
  PetscCall(PetscMalloc4(2 * ng, &th, ng, &f, ng, &idx, ng, &st));
  PetscCall(PetscMalloc1(ng, &order));
  for (PetscInt a = 0; a < n0; a++)
    for (PetscInt b = 0; b < n1; b++) {
      const PetscInt k = a * n1 + b;
      th[2 * k] = pr->lo[0] + (pr->hi[0] - pr->lo[0]) * a / (n0 - 1);
      th[2 * k + 1] = pr->lo[1] + (pr->hi[1] - pr->lo[1]) * b / (n1 - 1);
      idx[k] = i;
    }
  PetscCall(InvMAPObjectiveGradient(map, ng, idx, th, f, NULL, st));
  for (PetscInt k = 0; k < ng; k++) order[k] = k;
  for (PetscInt k = 0; k < ng; k++)
    if (st[k]) f[k] = PETSC_INFINITY;
  /* partial selection sort of the nrefine best grid points that are local minima of the grid */
  {
    PetscInt m = 0;
    for (PetscInt k = 0; k < ng; k++) {
      const PetscInt a = k / n1, b = k % n1;
      PetscBool lmin = PETSC_TRUE;
      for (PetscInt da = -1; da <= 1; da++)
        for (PetscInt db = -1; db <= 1; db++) {
          const PetscInt aa = a + da, bb = b + db;
          if ((da || db) && aa >= 0 && aa < n0 && bb >= 0 && bb < n1 && f[aa * n1 + bb] < f[k]) lmin = PETSC_FALSE;
        }
      if (lmin) order[m++] = k;
    }
    for (PetscInt r = 0; r < PetscMin(nrefine, m); r++)
      for (PetscInt s = r + 1; s < m; s++)
        if (f[order[s]] < f[order[r]]) {
          const PetscInt tmp = order[r];
          order[r] = order[s];
          order[s] = tmp;
        }
    nrefine = PetscMin(nrefine, m);
  }
  PetscCall(PetscMalloc4(2 * nrefine, &x0, 2 * nrefine, &x, nrefine, &fr, nrefine, &gn));
  PetscCall(PetscMalloc3(nrefine, &its, nrefine, &nfev, nrefine, &reason));
  for (PetscInt r = 0; r < nrefine; r++) {
    x0[2 * r] = th[2 * order[r]];
    x0[2 * r + 1] = th[2 * order[r] + 1];
  }
  PetscCall(InvMAPMinimize(map, nrefine, idx, x0, x, fr, gn, its, nfev, reason));
  *fbest = PETSC_INFINITY;
  for (PetscInt r = 0; r < nrefine; r++)
    if (fr[r] < *fbest) {
      *fbest = fr[r];
      xbest[0] = x[2 * r];
      xbest[1] = x[2 * r + 1];
    }
  PetscCall(PetscFree4(x0, x, fr, gn));
  PetscCall(PetscFree3(its, nfev, reason));
  PetscCall(PetscFree4(th, f, idx, st));
  PetscCall(PetscFree(order));
  PetscFunctionReturn(0);
}
