/* The MAP objective J (include/invmap/objective.h) and its adjoint gradient, evaluated in batches on the
   smallest adjoint-capable InvBatchTS level that holds them (levels: -map_batch, /4, /16, ... down to 1). With the
   fixed-step lean RK adjoint the step grid is learned once, before the first batch, by the one-member level (a
   TSSolve of 64 members cost 4x one of a member) and shared with the others. */
#include "mapimpl.h"

PetscErrorCode InvMAPSetUpSolvers(InvMAP map)
{
  PetscInt b = map->batch;

  PetscFunctionBegin;
  if (map->nlevels) PetscFunctionReturn(0);
  PetscCheck(map->nt >= 2, PETSC_COMM_SELF, PETSC_ERR_ORDER, "InvMAP: no observation times (give problems first)");
  while (map->nlevels < INV_MAP_MAXLEVELS) {
    map->level_size[map->nlevels] = b;
    PetscCall(InvBatchTSCreateAdjoint(map->model, b, "map_", &map->mts[map->nlevels]));
    PetscCall(InvBatchTSSetObservationTimes(map->mts[map->nlevels], map->nt, map->t));
    PetscCall(InvBatchTSSetFromOptions(map->mts[map->nlevels]));
    map->nlevels++;
    if (map->htype == INV_MAP_HESSIAN_GN && map->nlevels == 1) PetscCall(InvBatchTSSetUpSensitivities(map->mts[0])); /* fail early */
    if (map->htype == INV_MAP_HESSIAN_SOA && map->nlevels == 1) PetscCall(InvMAPSetUpSecondOrder(map));
    if (b == 1) break;
    b = PetscMax(1, b / 4);
  }
  PetscCall(PetscMalloc6(map->batch, &map->dptr, map->batch, &map->rhob, map->batch, &map->sigb, map->batch * map->model->nparam, &map->thb,
                         map->batch, &map->fb, map->batch * map->model->nparam, &map->gb));
  PetscCall(PetscMalloc1(map->batch, &map->stb));
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPObjectiveGradient(InvMAP map, PetscInt nb, const PetscInt idx[], const PetscReal theta[], PetscReal f[], PetscReal g[],
                                       PetscInt status[])
{
  const PetscInt np = map->model->nparam, per = map->nt * map->model->nobs;
  const InvPrior pr = map->prior;

  PetscFunctionBegin;
  PetscCall(InvMAPSetUpSolvers(map));
  if (!map->grid_tried && nb > 0) { /* the fixed step grid, learned once on the one-member level and shared with all */
    PetscBool learned;
    map->grid_tried = PETSC_TRUE;
    PetscCall(InvBatchTSLearnStepGrid(map->mts[map->nlevels - 1], theta, &learned));
    for (PetscInt j = 0; j < map->nlevels - 1 && learned; j++) PetscCall(InvBatchTSShareStepGrid(map->mts[map->nlevels - 1], map->mts[j]));
  }
  for (PetscInt c0 = 0; c0 < nb; c0 += map->batch) {
    const PetscInt m = PetscMin(map->batch, nb - c0);
    PetscInt l = 0;
    while (l + 1 < map->nlevels && map->level_size[l + 1] >= m) l++;
    for (PetscInt b = 0; b < m; b++) {
      const PetscInt i = idx[c0 + b];
      PetscCheck(i >= 0 && i < map->n, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
                 "Problem %" PetscInt_FMT " out of range [0, %" PetscInt_FMT ")", i, map->n);
      map->dptr[b] = map->d + i * per;
      map->rhob[b] = map->noise[2 * i];
      map->sigb[b] = InvMAPNoiseSD(map, i);
    }
    PetscCall(InvBatchTSObjective(map->mts[l], pr, m, theta + c0 * np, map->dptr, map->rhob, map->sigb, f + c0, g ? g + c0 * np : NULL,
                                  status + c0));
    for (PetscInt j = 0; j < map->nlevels; j++) PetscCall(InvBatchTSShareStepGrid(map->mts[l], map->mts[j])); /* one learning solve */
    if (g)
      map->evals += m;
    else
      map->evals_fwd += m;
    if (map->task_evals)
      for (PetscInt b = 0; b < m; b++) map->task_evals[idx[c0 + b]]++;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPModelOutput(InvMAP map, const PetscReal theta[], PetscReal y[], PetscBool *ok)
{
  PetscReal *S;

  PetscFunctionBegin;
  PetscCall(InvMAPSetUpSolvers(map));
  PetscCall(PetscMalloc1(map->nt * map->model->nobs * map->model->nparam, &S));
  PetscCall(InvBatchTSSensitivities(map->mts[0], 1, theta, y, S, ok));
  PetscCall(PetscFree(S));
  PetscFunctionReturn(0);
}
