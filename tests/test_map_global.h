/* Reference global minima of MAP problems: exhaustive grid over the prior box, then local TAO
   refinement (all problems' refinements in one lockstep batch) from the best grid local minima
   (shared by test_map_multistart and bench_map). */
#pragma once
#include <invmap/map.h>

static PetscErrorCode TestMAPGlobalMin(InvMAP map, PetscInt n, PetscInt n0, PetscInt n1, PetscInt nrefine, PetscReal xbest[],
                                       PetscReal fbest[])
{
  InvPrior pr;
  const PetscInt ng = n0 * n1;
  PetscReal *th, *f, *x, *fr, *gn, *x0;
  PetscInt *idx, *st, *its, *nfev, *reason, *order, *ridx, nr = 0;

  PetscFunctionBegin;
  PetscCall(InvMAPGetPrior(map, &pr));
  PetscCall(PetscMalloc4(2 * ng, &th, ng, &f, ng, &idx, ng, &st));
  PetscCall(PetscMalloc1(ng, &order));
  PetscCall(PetscMalloc4(2 * nrefine * n + 1, &x0, 2 * nrefine * n + 1, &x, nrefine * n + 1, &fr, nrefine * n + 1, &gn));
  PetscCall(PetscMalloc4(nrefine * n + 1, &its, nrefine * n + 1, &nfev, nrefine * n + 1, &reason, nrefine * n + 1, &ridx));
  for (PetscInt i = 0; i < n; i++) {
    PetscInt m = 0;
    for (PetscInt a = 0; a < n0; a++)
      for (PetscInt b = 0; b < n1; b++) {
        const PetscInt k = a * n1 + b;
        th[2 * k] = pr->lo[0] + (pr->hi[0] - pr->lo[0]) * a / (n0 - 1);
        th[2 * k + 1] = pr->lo[1] + (pr->hi[1] - pr->lo[1]) * b / (n1 - 1);
        idx[k] = i;
      }
    PetscCall(InvMAPObjectiveGradient(map, ng, idx, th, f, NULL, st));
    for (PetscInt k = 0; k < ng; k++)
      if (st[k]) f[k] = PETSC_INFINITY;
    for (PetscInt k = 0; k < ng; k++) { /* local minima of the grid */
      const PetscInt a = k / n1, b = k % n1;
      PetscBool lmin = PETSC_TRUE;
      for (PetscInt da = -1; da <= 1; da++)
        for (PetscInt db = -1; db <= 1; db++) {
          const PetscInt aa = a + da, bb = b + db;
          if ((da || db) && aa >= 0 && aa < n0 && bb >= 0 && bb < n1 && f[aa * n1 + bb] < f[k]) lmin = PETSC_FALSE;
        }
      if (lmin) order[m++] = k;
    }
    for (PetscInt r = 0; r < PetscMin(nrefine, m); r++) {
      for (PetscInt s = r + 1; s < m; s++)
        if (f[order[s]] < f[order[r]]) {
          const PetscInt tmp = order[r];
          order[r] = order[s];
          order[s] = tmp;
        }
      x0[2 * nr] = th[2 * order[r]];
      x0[2 * nr + 1] = th[2 * order[r] + 1];
      ridx[nr++] = i;
    }
  }
  PetscCall(InvMAPMinimize(map, nr, ridx, x0, x, fr, gn, its, nfev, reason));
  for (PetscInt i = 0; i < n; i++) fbest[i] = PETSC_INFINITY;
  for (PetscInt r = 0; r < nr; r++) {
    const PetscInt i = ridx[r];
    if (fr[r] < fbest[i]) {
      fbest[i] = fr[r];
      xbest[2 * i] = x[2 * r];
      xbest[2 * i + 1] = x[2 * r + 1];
    }
  }
  PetscCall(PetscFree4(x0, x, fr, gn));
  PetscCall(PetscFree4(its, nfev, reason, ridx));
  PetscCall(PetscFree4(th, f, idx, st));
  PetscCall(PetscFree(order));
  PetscFunctionReturn(0);
}
