/* InvMAPSolve: multistart MAP estimation of every local problem (starts: the given initial guess, the
   prior mean, and -map_starts prior draws keyed by (seed, sample, start)), choice of the best start,
   the number of starts that reached it, and the Laplace covariance at the MAP point. */
#include "mapimpl.h"
#include <invmap/rng.h>

/* a start failed: its objective is the failure value PETSC_INFINITY (finite, so TAO's line searches can use it) */
static inline PetscBool InvMAPFailed(PetscReal f)
{
  return (PetscIsInfOrNanReal(f) || f >= PETSC_INFINITY) ? PETSC_TRUE : PETSC_FALSE;
}

/* Local problem i still has to be solved (usable data, not restored from a checkpoint by -resume) */
static inline PetscBool InvMAPTodo(InvMAP map, PetscInt i)
{
  return (map->status[i] == INV_MAP_OK && !map->done[i]) ? PETSC_TRUE : PETSC_FALSE;
}

/* Prior draw c of local problem i */
static void InvMAPDraw(InvMAP map, PetscInt i, PetscInt c, PetscReal x[])
{
  const InvPrior pr = map->prior;
  InvRng r;

  InvRngInit(&r, map->seed, INV_RNG_MULTISTART, map->first + i, c);
  for (PetscInt j = 0; j < pr->n; j++) x[j] = InvRngTruncNormal(&r, pr->mean[j], pr->sd[j], pr->lo[j], pr->hi[j]);
}

/* Start points of every problem (ns per problem, consecutive): the initial guess, the prior mean, and
   -map_starts prior draws; with screening, the draws are the best -map_screen candidates by objective
   value that lie at least 2% of the box apart from each other (forward solves only, batched). */
static PetscErrorCode InvMAPStartPoints(InvMAP map, PetscInt ns, PetscInt *ntask, PetscInt idx[], PetscReal x0[])
{
  const PetscInt np = map->model->nparam, M = map->nscreen, K = map->nstarts;
  const InvPrior pr = map->prior;
  const PetscBool screen = (K > 0 && M > K) ? PETSC_TRUE : PETSC_FALSE;
  PetscReal *cand = NULL, *fc = NULL;
  PetscInt *cidx = NULL, *st = NULL, nok = 0, nt = 0;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < map->n; i++)
    if (InvMAPTodo(map, i)) nok++;
  if (screen && nok) {
    PetscInt q = 0;
    PetscCall(PetscMalloc4(nok * M * np, &cand, nok * M, &fc, nok * M, &cidx, nok * M, &st));
    for (PetscInt i = 0; i < map->n; i++) {
      if (!InvMAPTodo(map, i)) continue;
      for (PetscInt c = 0; c < M; c++, q++) {
        InvMAPDraw(map, i, c, cand + q * np);
        cidx[q] = i;
      }
    }
    PetscCall(InvMAPObjectiveGradient(map, q, cidx, cand, fc, NULL, st));
  }
  for (PetscInt i = 0, q0 = 0; i < map->n; i++) {
    PetscInt s = 0;
    if (!InvMAPTodo(map, i)) continue;
    if (map->init) PetscCall(PetscArraycpy(x0 + (nt + s++) * np, map->init + i * np, np));
    if (map->start_mean) PetscCall(PetscArraycpy(x0 + (nt + s++) * np, pr->mean, np));
    if (!screen) {
      for (PetscInt c = 0; c < K; c++) InvMAPDraw(map, i, c, x0 + (nt + s++) * np);
    } else {
      PetscInt *order, chosen = 0;
      PetscBool *used;
      PetscCall(PetscMalloc2(M, &order, M, &used));
      for (PetscInt c = 0; c < M; c++) {
        order[c] = c;
        used[c] = PETSC_FALSE;
      }
      for (PetscInt a = 1; a < M; a++) /* insertion sort by objective */
        for (PetscInt b = a; b > 0 && fc[q0 + order[b]] < fc[q0 + order[b - 1]]; b--) {
          const PetscInt tmp = order[b];
          order[b] = order[b - 1];
          order[b - 1] = tmp;
        }
      for (PetscInt pass = 0; pass < 2 && chosen < K; pass++)
        for (PetscInt a = 0; a < M && chosen < K; a++) {
          const PetscReal *xa = cand + (q0 + order[a]) * np;
          PetscBool far = PETSC_TRUE;
          if (used[a]) continue;
          for (PetscInt b = 0; b < chosen && pass == 0; b++) {
            const PetscReal *xb = x0 + (nt + s - chosen + b) * np;
            PetscReal dmax = 0;
            for (PetscInt j = 0; j < np; j++) dmax = PetscMax(dmax, PetscAbsReal(xa[j] - xb[j]) / (pr->hi[j] - pr->lo[j]));
            if (dmax < 0.02) far = PETSC_FALSE;
          }
          if (!far) continue;
          used[a] = PETSC_TRUE;
          PetscCall(PetscArraycpy(x0 + (nt + s) * np, xa, np));
          s++;
          chosen++;
        }
      PetscCall(PetscFree2(order, used));
      q0 += M;
    }
    PetscCheck(s == ns, PETSC_COMM_SELF, PETSC_ERR_PLIB, "start count");
    for (PetscInt k = 0; k < ns; k++) idx[nt + k] = i;
    nt += ns;
  }
  *ntask = nt;
  if (cand) PetscCall(PetscFree4(cand, fc, cidx, st));
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPAllocResults(InvMAP map)
{
  const PetscInt n = PetscMax(map->n, 1), np = map->model->nparam;

  PetscFunctionBegin;
  if (map->theta_map) PetscFunctionReturn(0);
  PetscCall(PetscMalloc5(n * np, &map->theta_map, n, &map->obj, n, &map->gnorm, n * np * np, &map->cov, n, &map->wall));
  PetscCall(PetscMalloc5(n, &map->its, n, &map->nfev, n, &map->reason, n, &map->nbest, n, &map->nstart_ok));
  PetscCall(PetscCalloc1(n, &map->task_evals));
  PetscCall(PetscCalloc1(n, &map->done));
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPSolve(InvMAP map)
{
  const PetscInt np = map->model->nparam;
  const PetscInt ns = map->nstarts + (map->start_mean ? 1 : 0) + (map->init ? 1 : 0);
  PetscInt ntask = 0, *idx, *its, *nfev, *reason, *todo;
  PetscReal *x0, *x, *f, *gn;
  PetscLogDouble t1;
  PetscInt64 tot = 0, counts[5] = {0, 0, 0, 0, 0}, nleft = 0;
  PetscBool stop;

  PetscFunctionBegin;
  PetscCall(InvMAPSetUp(map));
  if (map->complete_already) {
    map->solved = PETSC_TRUE;
    PetscFunctionReturn(0);
  }
  PetscCheck(ns >= 1, map->comm, PETSC_ERR_ARG_WRONG, "No starts: use -map_starts > 0, -map_start_mean or -map_init");
  PetscCall(InvMAPSetUpSolvers(map));
  PetscCall(InvMAPAllocResults(map));
  PetscCall(PetscLogEventBegin(INV_MAPSolve, 0, 0, 0, 0));
  PetscCall(PetscTime(&map->t0));
  map->tprint = map->t0;
  map->nfinished = 0;
  map->interruptible = PETSC_TRUE;
  PetscCall(PetscMalloc4(PetscMax(map->n * ns, 1), &idx, PetscMax(map->n * ns, 1), &its, PetscMax(map->n * ns, 1), &nfev,
                         PetscMax(map->n * ns, 1), &reason));
  PetscCall(PetscMalloc4(PetscMax(map->n * ns, 1) * np, &x0, PetscMax(map->n * ns, 1) * np, &x, PetscMax(map->n * ns, 1), &f,
                         PetscMax(map->n * ns, 1), &gn));
  PetscCall(PetscMalloc1(PetscMax(map->n, 1), &todo));
  map->ntodo = 0;
  for (PetscInt i = 0; i < map->n; i++) {
    todo[i] = InvMAPTodo(map, i);
    map->ntodo += todo[i];
  }
  PetscCall(InvMAPStartPoints(map, ns, &ntask, idx, x0));
  PetscCall(InvMAPMinimize(map, ntask, idx, x0, x, f, gn, its, nfev, reason));
  map->interruptible = PETSC_FALSE;
  /* best start per problem; tasks of a problem are consecutive */
  for (PetscInt i = 0, t = 0; i < map->n; i++) {
    PetscInt best = -1, nok = 0, nb = 0, fev = 0;
    PetscBool started = PETSC_TRUE;
    if (map->done[i]) continue; /* restored by -resume */
    for (PetscInt j = 0; j < np; j++) map->theta_map[i * np + j] = NAN;
    for (PetscInt k = 0; k < np * np; k++) map->cov[i * np * np + k] = NAN;
    map->obj[i] = map->gnorm[i] = NAN;
    map->its[i] = map->nfev[i] = map->nbest[i] = map->nstart_ok[i] = 0;
    map->reason[i] = 0;
    if (!todo[i]) { /* bad data or noise parameters: nothing to solve */
      map->done[i] = PETSC_TRUE;
      continue;
    }
    for (PetscInt s = t; s < t + ns; s++)
      if (nfev[s] < 0) started = PETSC_FALSE; /* interrupted before this problem */
    if (!started) {
      todo[i] = 0;
      t += ns;
      continue;
    }
    for (PetscInt s = t; s < t + ns; s++) {
      fev += nfev[s];
      if (InvMAPFailed(f[s])) continue;
      nok++;
      if (best < 0 || f[s] < f[best]) best = s;
    }
    if (best >= 0)
      for (PetscInt s = t; s < t + ns; s++) {
        PetscReal dx = 0;
        if (InvMAPFailed(f[s]) || f[s] - f[best] > map->same_tol * (1 + PetscAbsReal(f[best]))) continue;
        for (PetscInt j = 0; j < np; j++) dx = PetscMax(dx, PetscAbsReal(x[s * np + j] - x[best * np + j]) / map->prior->sd[j]);
        if (dx <= 1e-3) nb++;
      }
    map->nfev[i] = fev;
    map->nstart_ok[i] = nok;
    map->nbest[i] = nb;
    if (best < 0)
      map->status[i] = INV_MAP_FAILED;
    else {
      PetscCall(PetscArraycpy(map->theta_map + i * np, x + best * np, np));
      map->obj[i] = f[best];
      map->gnorm[i] = gn[best];
      map->its[i] = its[best];
      map->reason[i] = reason[best];
    }
    map->done[i] = PETSC_TRUE;
    t += ns;
  }
  if (map->htype != INV_MAP_HESSIAN_NONE) { /* Hessians of the samples fitted now, batched */
    PetscInt nh = 0, *hidx;
    PetscReal *hth, *H;
    PetscCall(PetscMalloc3(PetscMax(map->n, 1), &hidx, PetscMax(map->n, 1) * np, &hth, PetscMax(map->n, 1) * np * np, &H));
    for (PetscInt i = 0; i < map->n; i++)
      if (todo[i] && map->status[i] == INV_MAP_OK) {
        hidx[nh] = i;
        PetscCall(PetscArraycpy(hth + nh * np, map->theta_map + i * np, np));
        nh++;
      }
    PetscCall(InvMAPComputeHessians(map, nh, hidx, hth, map->htype, H));
    for (PetscInt q = 0; q < nh; q++) {
      PetscBool spd;
      PetscCall(InvMAPSymInverse(np, H + q * np * np, map->cov + hidx[q] * np * np, &spd));
      if (!spd) map->status[hidx[q]] = INV_MAP_BAD_COV;
    }
    PetscCall(PetscFree3(hidx, hth, H));
  }
  PetscCall(PetscTime(&t1));
  map->seconds = t1 - map->t0;
  for (PetscInt i = 0; i < map->n; i++)
    if (todo[i]) tot += map->task_evals[i];
  for (PetscInt i = 0; i < map->n; i++)
    if (todo[i])
      map->wall[i] = tot ? map->seconds * map->task_evals[i] / (PetscReal)tot : 0;
    else if (!map->done[i] || map->status[i] == INV_MAP_BAD_DATA || map->status[i] == INV_MAP_BAD_NOISE)
      map->wall[i] = 0;
  for (PetscInt i = 0; i < map->n; i++) {
    if (map->done[i])
      counts[map->status[i]]++;
    else
      nleft++;
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, counts, 5, MPIU_INT64, MPI_SUM, map->comm));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &nleft, 1, MPIU_INT64, MPI_SUM, map->comm));
  PetscCall(InvInterruptPending(map->comm, &stop));
  map->interrupted = (stop && nleft > 0) ? PETSC_TRUE : PETSC_FALSE;
  if (counts[INV_MAP_FAILED])
    PetscCall(PetscPrintf(map->comm,
                          "map: warning: %" PetscInt64_FMT " samples failed at every start (forward solve failure); flagged as failed\n",
                          counts[INV_MAP_FAILED]));
  if (counts[INV_MAP_BAD_COV])
    PetscCall(PetscPrintf(map->comm,
                          "map: warning: %" PetscInt64_FMT " samples have a Hessian that is not positive definite at the MAP point; "
                          "their /cov is NaN (status bad_cov)\n",
                          counts[INV_MAP_BAD_COV]));
  PetscCall(PetscFree4(idx, its, nfev, reason));
  PetscCall(PetscFree4(x0, x, f, gn));
  PetscCall(PetscFree(todo));
  PetscCall(PetscLogEventEnd(INV_MAPSolve, 0, 0, 0, 0));
  map->solved = PETSC_TRUE;
  PetscFunctionReturn(0);
}
