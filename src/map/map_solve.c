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

/* Best start, start counts and Laplace covariance of the problems whose tasks [0, ntask) (ns per problem,
   consecutive; those that never started have nfev < 0) one InvMAPMinimize pass handed out, and their
   share of the pass's wall time; they become done. */
static PetscErrorCode InvMAPFinishProblems(InvMAP map, PetscInt ns, PetscInt ntask, const PetscInt idx[], const PetscReal x[],
                                           const PetscReal f[], const PetscReal gn[], const PetscInt its[], const PetscInt nfev[],
                                           const PetscInt reason[], PetscLogDouble seconds)
{
  const PetscInt np = map->model->nparam, nprob = ntask / ns;
  PetscInt nh = 0, *hidx;
  PetscReal *hth, *H;
  PetscInt64 tot = 0;

  PetscFunctionBegin;
  for (PetscInt q = 0; q < nprob; q++) {
    const PetscInt t = q * ns, i = idx[t];
    PetscInt best = -1, nok = 0, nb = 0, fev = 0;
    for (PetscInt s = t; s < t + ns; s++) {
      PetscCheck(nfev[s] >= 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "a sample's starts were handed out in part");
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
    tot += map->task_evals[i];
  }
  if (map->htype != INV_MAP_HESSIAN_NONE) { /* Hessians of the samples fitted now, batched */
    PetscCall(PetscMalloc3(PetscMax(nprob, 1), &hidx, PetscMax(nprob, 1) * np, &hth, PetscMax(nprob, 1) * np * np, &H));
    for (PetscInt q = 0; q < nprob; q++) {
      const PetscInt i = idx[q * ns];
      if (map->status[i] != INV_MAP_OK) continue;
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
  for (PetscInt q = 0; q < nprob; q++) {
    const PetscInt i = idx[q * ns];
    map->wall[i] = tot ? seconds * map->task_evals[i] / (PetscReal)tot : 0;
  }
  PetscFunctionReturn(0);
}

/* Solve every local problem not done yet in passes: a pass ends when every problem is solved, a signal
   arrived, or -map_checkpoint_seconds have passed (then the finished samples are saved to <output>.partial
   and the next pass starts). The start points are chosen once, and per-sample results do not depend on
   how problems are grouped into batches or passes, so the passes do not change the results. */
PetscErrorCode InvMAPSolve(InvMAP map)
{
  const PetscInt np = map->model->nparam;
  const PetscInt ns = map->nstarts + (map->start_mean ? 1 : 0) + (map->init ? 1 : 0);
  PetscInt ntask = 0, *idx, *its, *nfev, *reason, t0 = 0;
  PetscReal *x0, *x, *f, *gn;
  PetscLogDouble tpass, t1;
  PetscInt64 counts[5] = {0, 0, 0, 0, 0}, nleft = 0;
  PetscBool stop = PETSC_FALSE;

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
  PetscCall(PetscMalloc4(PetscMax(map->n * ns, 1), &idx, PetscMax(map->n * ns, 1), &its, PetscMax(map->n * ns, 1), &nfev,
                         PetscMax(map->n * ns, 1), &reason));
  PetscCall(PetscMalloc4(PetscMax(map->n * ns, 1) * np, &x0, PetscMax(map->n * ns, 1) * np, &x, PetscMax(map->n * ns, 1), &f,
                         PetscMax(map->n * ns, 1), &gn));
  map->ntodo = 0;
  for (PetscInt i = 0; i < map->n; i++) {
    if (map->done[i]) continue; /* restored by -resume */
    for (PetscInt j = 0; j < np; j++) map->theta_map[i * np + j] = NAN;
    for (PetscInt k = 0; k < np * np; k++) map->cov[i * np * np + k] = NAN;
    map->obj[i] = map->gnorm[i] = NAN;
    map->its[i] = map->nfev[i] = map->nbest[i] = map->nstart_ok[i] = 0;
    map->reason[i] = 0;
    map->wall[i] = 0;
    if (InvMAPTodo(map, i))
      map->ntodo++;
    else
      map->done[i] = PETSC_TRUE; /* bad data or noise parameters: nothing to solve */
  }
  PetscCall(InvMAPStartPoints(map, ns, &ntask, idx, x0));
  /* the checkpoint exists from the start (as simulate's partial file does): a run killed at any point can be resumed */
  if (map->ckpt_seconds > 0) PetscCall(InvMAPSaveCheckpoint(map));
  tpass = map->t0;
  for (;;) {
    PetscInt64 left;
    map->deadline = map->ckpt_seconds > 0 ? tpass + map->ckpt_seconds : 0;
    map->interruptible = PETSC_TRUE;
    PetscCall(InvMAPMinimize(map, ntask - t0, idx + t0, x0 + t0 * np, x + t0 * np, f + t0, gn + t0, its + t0, nfev + t0, reason + t0));
    map->interruptible = PETSC_FALSE;
    PetscCall(PetscTime(&t1));
    PetscCall(InvMAPFinishProblems(map, ns, map->tasks_started, idx + t0, x + t0 * np, f + t0, gn + t0, its + t0, nfev + t0, reason + t0,
                                   t1 - tpass));
    t0 += map->tasks_started;
    left = (ntask - t0) / ns;
    PetscCallMPI(MPI_Allreduce(&left, &nleft, 1, MPIU_INT64, MPI_SUM, map->comm));
    PetscCall(InvInterruptPending(map->comm, &stop));
    if (!nleft || stop) break;
    PetscCall(InvMAPSaveCheckpoint(map)); /* periodic: bounds the work a SIGKILL loses */
    PetscCall(PetscTime(&tpass));
  }
  PetscCall(PetscTime(&t1));
  map->seconds = t1 - map->t0;
  for (PetscInt i = 0; i < map->n; i++)
    if (map->done[i]) counts[map->status[i]]++;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, counts, 5, MPIU_INT64, MPI_SUM, map->comm));
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
  PetscCall(PetscLogEventEnd(INV_MAPSolve, 0, 0, 0, 0));
  map->solved = PETSC_TRUE;
  PetscFunctionReturn(0);
}
