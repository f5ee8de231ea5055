/* Many TAO solves in lockstep. Every start runs its own TAO (prefix map_) inside a ucontext coroutine;
   when its objective callback needs J and the gradient it yields to a scheduler, which evaluates all
   waiting starts with one batched forward + adjoint solve and resumes them. Each start keeps TAO's own
   line search, quasi-Newton matrix and convergence test. With the default fixed-step integrator the
   members of a batch do not interact, so results do not depend on the batching or the rank count.
   When the run is interruptible (InvMAPSolve) and a signal has arrived, or the periodic checkpoint is due
   (map->deadline), no new sample is handed out: the starts in flight and the remaining starts of their
   samples finish; tasks never started get nfev = -1 and map->tasks_started counts the others. */
#include "mapimpl.h"
#include <ucontext.h>

#define INV_MAP_STACK (512 * 1024)

typedef enum { W_IDLE, W_RUNNING, W_WAITING, W_DONE } InvMAPWorkerState;

typedef struct _InvMAPSched InvMAPSched;

typedef struct {
  ucontext_t uc;
  char *stack;
  PetscBool started;
  InvMAPSched *sched;
  Tao tao;
  Vec x, xl, xu;
  InvMAPWorkerState state;
  PetscInt task;
  PetscReal theta[INV_MAX_PARAM], f, g[INV_MAX_PARAM];
  PetscInt st, nfev;
  PetscBool cached;
  PetscReal x0[INV_MAX_PARAM];
  PetscReal fbest, xbest[INV_MAX_PARAM], gbest[INV_MAX_PARAM];
  PetscErrorCode ierr;
} InvMAPWorker;

struct _InvMAPSched {
  ucontext_t uc;
  InvMAP map;
  const PetscInt *idx;
  const PetscReal *x0;
  PetscReal *x, *f, *gnorm;
  PetscInt *its, *nfev, *reason;
};

static InvMAPWorker *inv_map_starting;

/* TAO with the defaults of invmap map; -map_tao_* options override them at TaoSetFromOptions */
PetscErrorCode InvMAPCreateTao(Tao *tao)
{
  PetscFunctionBegin;
  PetscCall(TaoCreate(PETSC_COMM_SELF, tao));
  PetscCall(TaoSetOptionsPrefix(*tao, "map_"));
  PetscCall(TaoSetType(*tao, TAOBQNLS));
  PetscCall(TaoSetTolerances(*tao, 1e-2, 0.0, 0.0));
  PetscCall(TaoSetMaximumIterations(*tao, 200));
  PetscCall(TaoSetMaximumFunctionEvaluations(*tao, 120)); /* caps the lockstep tail: 3x faster, 197 vs 198/200 global minima */
  PetscFunctionReturn(0);
} /* hands a worker to its coroutine on first entry */

/* Give control to the scheduler until it has evaluated this worker's point. */
static PetscErrorCode InvMAPWorkerYield(InvMAPWorker *w)
{
  const PetscInt np = w->sched->map->model->nparam;

  PetscFunctionBegin;
  w->state = W_WAITING;
  PetscCheck(swapcontext(&w->uc, &w->sched->uc) == 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "swapcontext failed");
  w->nfev++;
  if (w->st) {
    if (w->nfev == 1)
      w->sched->map->fail_start++;
    else
      w->sched->map->fail_later++;
  }
  if (!w->st && w->f < w->fbest) {
    w->fbest = w->f;
    PetscCall(PetscArraycpy(w->xbest, w->theta, np));
    PetscCall(PetscArraycpy(w->gbest, w->g, np));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode InvMAPWorkerObjGrad(Tao tao, Vec X, PetscReal *f, Vec G, void *ctx)
{
  InvMAPWorker *w = (InvMAPWorker *)ctx;
  const PetscInt np = w->sched->map->model->nparam;
  const PetscScalar *x;
  PetscScalar *g;
  PetscBool same = PETSC_TRUE;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(X, &x));
  for (PetscInt j = 0; j < np; j++) {
    if (x[j] != w->x0[j]) same = PETSC_FALSE;
    w->theta[j] = x[j];
  }
  PetscCall(VecRestoreArrayRead(X, &x));
  if (!(w->cached && same)) PetscCall(InvMAPWorkerYield(w));
  w->cached = PETSC_FALSE;
  *f = w->f;
  PetscCall(VecGetArrayWrite(G, &g));
  for (PetscInt j = 0; j < np; j++) g[j] = w->g[j];
  PetscCall(VecRestoreArrayWrite(G, &g));
  PetscFunctionReturn(0);
}

/* Norm of the gradient projected on the bounds (zero components that push out of the box). */
static PetscReal InvMAPProjectedNorm(InvPrior pr, const PetscReal x[], const PetscReal g[])
{
  PetscReal s = 0;

  for (PetscInt j = 0; j < pr->n; j++) {
    PetscReal gj = g[j];
    if ((x[j] <= pr->lo[j] && gj > 0) || (x[j] >= pr->hi[j] && gj < 0)) gj = 0;
    s += gj * gj;
  }
  return PetscSqrtReal(s);
}

/* A fresh TAO for each task: a TAO that solved another start keeps state (its quasi-Newton and line-search
   history) that changes the next solve, so reusing it would make a start's result depend on which tasks its
   worker ran before, i.e. on the batching, the rank count and the passes between checkpoints. */
static PetscErrorCode InvMAPWorkerNewTao(InvMAPWorker *w)
{
  PetscFunctionBegin;
  PetscCall(TaoDestroy(&w->tao));
  PetscCall(InvMAPCreateTao(&w->tao));
  PetscCall(TaoSetSolution(w->tao, w->x));
  PetscCall(TaoSetVariableBounds(w->tao, w->xl, w->xu));
  PetscCall(TaoSetObjectiveAndGradient(w->tao, NULL, InvMAPWorkerObjGrad, w));
  PetscCall(TaoSetFromOptions(w->tao));
  PetscFunctionReturn(0);
}

static PetscErrorCode InvMAPWorkerRunTask(InvMAPWorker *w)
{
  InvMAPSched *s = w->sched;
  InvMAP map = s->map;
  const PetscInt np = map->model->nparam, t = w->task;
  PetscScalar *x;
  PetscReal f, gnorm;
  PetscInt its;
  TaoConvergedReason reason;

  PetscFunctionBegin;
  for (PetscInt j = 0; j < np; j++) {
    const PetscReal v = s->x0[t * np + j];
    w->x0[j] = PetscMin(PetscMax(v, map->prior->lo[j]), map->prior->hi[j]);
    w->theta[j] = w->x0[j];
  }
  w->nfev = 0;
  w->fbest = PETSC_INFINITY;
  PetscCall(InvMAPWorkerNewTao(w));
  PetscCall(InvMAPWorkerYield(w)); /* the initial point: TAO cannot start from a failed solve */
  if (w->st) {
    PetscCall(PetscArraycpy(s->x + t * np, w->x0, np));
    s->f[t] = PETSC_INFINITY;
    s->gnorm[t] = PETSC_INFINITY;
    s->its[t] = 0;
    s->nfev[t] = w->nfev;
    s->reason[t] = -100;
    PetscFunctionReturn(0);
  }
  w->cached = PETSC_TRUE;
  PetscCall(VecGetArrayWrite(w->x, &x));
  for (PetscInt j = 0; j < np; j++) x[j] = w->x0[j];
  PetscCall(VecRestoreArrayWrite(w->x, &x));
  PetscCall(TaoSetSolution(w->tao, w->x));
  PetscCall(TaoSolve(w->tao));
  PetscCall(TaoGetSolutionStatus(w->tao, &its, &f, &gnorm, NULL, NULL, &reason));
  PetscCall(VecGetArrayRead(w->x, (const PetscScalar **)&x));
  if (PetscIsInfOrNanReal(f) || f > w->fbest) { /* TAO ended on a failed or worse trial point: keep the best one seen */
    PetscCall(PetscArraycpy(s->x + t * np, w->xbest, np));
    f = w->fbest;
    gnorm = InvMAPProjectedNorm(map->prior, w->xbest, w->gbest);
  } else
    PetscCall(PetscArraycpy(s->x + t * np, x, np));
  PetscCall(VecRestoreArrayRead(w->x, (const PetscScalar **)&x));
  s->f[t] = f;
  s->gnorm[t] = gnorm;
  s->its[t] = its;
  s->nfev[t] = w->nfev;
  s->reason[t] = (PetscInt)reason;
  PetscFunctionReturn(0);
}

static void InvMAPWorkerMain(void)
{
  InvMAPWorker *w = inv_map_starting;

  for (;;) {
    w->ierr = InvMAPWorkerRunTask(w);
    w->state = W_DONE;
    (void)swapcontext(&w->uc, &w->sched->uc);
  }
}

static PetscErrorCode InvMAPWorkerCreate(InvMAPSched *s, InvMAPWorker *w)
{
  InvMAP map = s->map;
  const PetscInt np = map->model->nparam;

  PetscFunctionBegin;
  w->sched = s;
  w->state = W_IDLE;
  PetscCall(PetscMalloc1(INV_MAP_STACK, &w->stack));
  PetscCheck(getcontext(&w->uc) == 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "getcontext failed");
  w->uc.uc_stack.ss_sp = w->stack;
  w->uc.uc_stack.ss_size = INV_MAP_STACK;
  w->uc.uc_link = &s->uc;
  makecontext(&w->uc, InvMAPWorkerMain, 0);
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, np, &w->x));
  PetscCall(VecDuplicate(w->x, &w->xl));
  PetscCall(VecDuplicate(w->x, &w->xu));
  for (PetscInt j = 0; j < np; j++) {
    PetscCall(VecSetValue(w->xl, j, map->prior->lo[j], INSERT_VALUES));
    PetscCall(VecSetValue(w->xu, j, map->prior->hi[j], INSERT_VALUES));
  }
  PetscCall(VecAssemblyBegin(w->xl));
  PetscCall(VecAssemblyEnd(w->xl));
  PetscCall(VecAssemblyBegin(w->xu));
  PetscCall(VecAssemblyEnd(w->xu));
  PetscFunctionReturn(0);
}

static PetscErrorCode InvMAPWorkerDestroy(InvMAPWorker *w)
{
  PetscFunctionBegin;
  PetscCall(TaoDestroy(&w->tao));
  PetscCall(VecDestroy(&w->x));
  PetscCall(VecDestroy(&w->xl));
  PetscCall(VecDestroy(&w->xu));
  PetscCall(PetscFree(w->stack));
  PetscFunctionReturn(0);
}

static PetscErrorCode InvMAPWorkerResume(InvMAPSched *s, InvMAPWorker *w)
{
  PetscFunctionBegin;
  w->state = W_RUNNING;
  if (!w->started) {
    w->started = PETSC_TRUE;
    inv_map_starting = w;
  }
  PetscCheck(swapcontext(&s->uc, &w->uc) == 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "swapcontext failed");
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPMinimize(InvMAP map, PetscInt nb, const PetscInt idx[], const PetscReal x0[], PetscReal x[], PetscReal f[],
                              PetscReal gnorm[], PetscInt its[], PetscInt nfev[], PetscInt reason[])
{
  const PetscInt np = map->model->nparam, nw = PetscMin(map->batch, nb);
  InvMAPSched s;
  InvMAPWorker *w;
  PetscInt next = 0, *wait, *pidx, *first, *left;
  PetscBool stopped = PETSC_FALSE;
  PetscErrorCode err = 0;

  PetscFunctionBegin;
  map->tasks_started = 0;
  if (nb <= 0) PetscFunctionReturn(0);
  PetscCall(InvMAPSetUpSolvers(map));
  PetscCall(PetscMemzero(&s, sizeof(s)));
  s.map = map;
  s.idx = idx;
  s.x0 = x0;
  s.x = x;
  s.f = f;
  s.gnorm = gnorm;
  s.its = its;
  s.nfev = nfev;
  s.reason = reason;
  PetscCall(PetscCalloc1(nw, &w));
  PetscCall(PetscMalloc2(nw, &wait, nw, &pidx));
  PetscCall(PetscMalloc2(nb, &first, nb, &left)); /* the tasks of a problem are consecutive: first task, tasks left */
  for (PetscInt t = 0; t < nb; t++) {
    first[t] = (t > 0 && idx[t] == idx[t - 1]) ? first[t - 1] : t;
    left[t] = 0;
    left[first[t]]++;
  }
  for (PetscInt k = 0; k < nw; k++) PetscCall(InvMAPWorkerCreate(&s, &w[k]));
  for (;;) {
    PetscInt nwait = 0;
    /* hand out tasks until every worker waits for an evaluation or nothing is left */
    for (PetscInt k = 0; k < nw && !err; k++) {
      while (w[k].state != W_WAITING) {
        if (w[k].state == W_DONE) {
          if (w[k].ierr) {
            err = w[k].ierr;
            break;
          }
          w[k].state = W_IDLE;
          if (--left[first[w[k].task]] == 0 && map->interruptible) PetscCall(InvMAPProblemFinished(map));
        }
        if (next < nb && next == first[next] && map->interruptible && map->nfinished > 0) PetscCall(InvInterruptTestHold());
        if (next < nb && next == first[next] && map->interruptible) {
          if (InvInterruptSignal()) stopped = PETSC_TRUE;
          if (map->deadline > 0 && next > 0) { /* checkpoint due (at least one sample per pass, so every pass progresses) */
            PetscLogDouble now;
            PetscCall(PetscTime(&now));
            if (now >= map->deadline) stopped = PETSC_TRUE;
          }
        }
        if (next >= nb || stopped) break;
        w[k].task = next++;
        PetscCall(InvMAPWorkerResume(&s, &w[k]));
      }
    }
    if (err) break;
    for (PetscInt k = 0; k < nw; k++)
      if (w[k].state == W_WAITING) {
        PetscCall(PetscArraycpy(map->thb + nwait * np, w[k].theta, np));
        pidx[nwait] = idx[w[k].task];
        wait[nwait++] = k;
      }
    if (!nwait) break;
    PetscCall(InvMAPObjectiveGradient(map, nwait, pidx, map->thb, map->fb, map->gb, map->stb));
    for (PetscInt q = 0; q < nwait; q++) {
      InvMAPWorker *wk = &w[wait[q]];
      wk->f = map->fb[q];
      wk->st = map->stb[q];
      PetscCall(PetscArraycpy(wk->g, map->gb + q * np, np));
      PetscCall(InvMAPWorkerResume(&s, wk));
    }
  }
  map->tasks_started = next;
  for (PetscInt t = next; t < nb; t++) { /* never started (interrupted) */
    for (PetscInt j = 0; j < np; j++) x[t * np + j] = NAN;
    f[t] = gnorm[t] = NAN;
    its[t] = 0;
    nfev[t] = -1;
    reason[t] = 0;
  }
  for (PetscInt k = 0; k < nw; k++) PetscCall(InvMAPWorkerDestroy(&w[k]));
  PetscCall(PetscFree(w));
  PetscCall(PetscFree2(wait, pidx));
  PetscCall(PetscFree2(first, left));
  PetscCheck(!err, PETSC_COMM_SELF, err, "A MAP start failed (see the error above)");
  PetscFunctionReturn(0);
}
