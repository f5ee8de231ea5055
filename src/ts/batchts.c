/* InvBatchTS: the batched TS object (create, observation times, options, describe, destroy), the callbacks every
   role shares (right-hand side, domain check, observation monitor, the solve from the initial state), and the
   forward role: observation output with failures isolated member by member (see batchts.h, batchtsimpl.h). */
#include "batchtsimpl.h"

const char *const InvStatusNames[] = {"ok", "nonfinite", "diverged", "maxsteps", "badparam"};

PetscErrorCode InvBatchTSRHS(TS ts, PetscReal t, Vec X, Vec F, void *ctx)
{
  InvBatchTS b = (InvBatchTS)ctx;
  const PetscScalar *x;
  PetscScalar *f;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(VecGetArrayWrite(F, &f));
  PetscCall(b->model->ops.rhs(b->model, t, b->bmax, x, b->theta, f));
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscCall(VecRestoreArrayWrite(F, &f));
  PetscFunctionReturn(0);
}

/* The domain check's sum of squares (a SIMD reduction) against its bound (InvBatchTSStateOK, batchtsimpl.h) */
PetscBool InvBatchTSStateSumOK(PetscInt n, const PetscScalar *x)
{
  PetscReal s = 0;

#pragma omp simd reduction(+ : s)
  for (PetscInt i = 0; i < n; i++) s += x[i] * x[i]; /* NaN and Inf propagate; huge values overflow to Inf */
  return (s <= INV_BATCHTS_STATE_MAX) ? PETSC_TRUE : PETSC_FALSE;
}

/* Reject stages whose state is not finite: the step is retried with a smaller step, and a member
   whose state truly blows up ends the solve with a diverged reason instead of propagating NaN. */
PetscErrorCode InvBatchTSDomain(TS ts, PetscReal t, Vec X, PetscBool *ok)
{
  InvBatchTS b;
  const PetscScalar *x;
  PetscInt n;

  PetscFunctionBegin;
  PetscCall(TSGetApplicationContext(ts, &b));
  PetscCall(VecGetLocalSize(X, &n));
  PetscCall(VecGetArrayRead(X, &x));
  *ok = InvBatchTSStateOK(n, x);
  PetscCall(VecRestoreArrayRead(X, &x));
  if (!*ok) b->nonfinite = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* Observation record: y = H x of the solve's members at t_k (and, in the sensitivity and second-order roles, the
   sensitivities or tangent-linear observations, batchts_sens.c); counts the steps. x: the batch state after step. */
PetscErrorCode InvBatchTSObserve(InvBatchTS b, PetscInt step, PetscReal t, const PetscScalar *x)
{
  const PetscInt ns = b->model->nstate, no = b->model->nobs, nt = b->ntimes;
  const PetscInt stride = b->aug ? ns * (1 + b->model->nparam) : ns; /* member m's state starts at x + m stride */
  const PetscReal *H = b->model->H;

  PetscFunctionBegin;
  b->steps += step > 0 ? 1 : 0;
  if (b->k >= nt || !InvBatchTSAtTime(t, b->times[b->k])) PetscFunctionReturn(0);
  for (PetscInt m = 0; m < b->nb; m++) {
    const PetscScalar *xm = x + m * stride;
    PetscReal *ym = b->ybuf + (m * nt + b->k) * no;
    for (PetscInt c = 0; c < no; c++) {
      PetscReal s = 0;
      for (PetscInt i = 0; i < ns; i++) s += H[c * ns + i] * xm[i];
      ym[c] = s;
    }
  }
  if (b->role == INV_BATCHTS_SENSITIVITY || b->role == INV_BATCHTS_SECOND_ORDER) PetscCall(InvBatchTSRecordSensitivities(b, x));
  b->k++;
  PetscFunctionReturn(0);
}

/* Observation monitor of the TS (InvBatchTSObserve) */
PetscErrorCode InvBatchTSMonitor(TS ts, PetscInt step, PetscReal t, Vec X, void *ctx)
{
  InvBatchTS b = (InvBatchTS)ctx;
  const PetscScalar *x;

  PetscFunctionBegin;
  if (b->k >= b->ntimes || !InvBatchTSAtTime(t, b->times[b->k])) { /* most steps: only the count */
    b->steps += step > 0 ? 1 : 0;
    PetscFunctionReturn(0);
  }
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(InvBatchTSObserve(b, step, t, x));
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscFunctionReturn(0);
}

/* (Re)build the TS from the stored settings. A TS stopped by a failure keeps internal state (time-span
   counter, rejection counts) that would spoil the next solve, so a failed solve rebuilds it. */
static PetscErrorCode InvBatchTSBuild(InvBatchTS b)
{
  TSAdapt adapt;

  PetscFunctionBegin;
  PetscCall(TSDestroy(&b->ts));
  PetscCall(TSCreate(PETSC_COMM_SELF, &b->ts));
  PetscCall(TSSetOptionsPrefix(b->ts, b->prefix[0] ? b->prefix : NULL));
  PetscCall(TSSetApplicationContext(b->ts, b));
  PetscCall(TSSetProblemType(b->ts, TS_NONLINEAR));
  if (b->model->stiff) { /* implicit default of a stiff model: adaptive BDF (order 2) */
    PetscCall(TSSetType(b->ts, TSBDF));
  } else {
    PetscCall(TSSetType(b->ts, TSRK));
    PetscCall(TSRKSetType(b->ts, TSRK6VR));
  }
  PetscCall(TSSetTolerances(b->ts, 1e-6, NULL, 1e-6, NULL));
  PetscCall(TSSetRHSFunction(b->ts, NULL, InvBatchTSRHS, b));
  PetscCall(TSSetFunctionDomainError(b->ts, InvBatchTSDomain));
  PetscCall(TSSetExactFinalTime(b->ts, TS_EXACTFINALTIME_MATCHSTEP));
  PetscCall(TSSetMaxStepRejections(b->ts, 50));
  PetscCall(TSSetErrorIfStepFails(b->ts, PETSC_FALSE));
  PetscCall(TSMonitorSet(b->ts, InvBatchTSMonitor, b, NULL));
  PetscCall(TSGetAdapt(b->ts, &adapt));
  PetscCall(TSAdaptSetStepLimits(adapt, 1e-12, 1e3));
  if (b->ntimes > 0) {
    /* Step budget: a member that needs more than ~100 steps per observation interval has collapsed. */
    PetscCall(TSSetMaxSteps(b->ts, 100 * b->nspan + 1000));
    if (b->nspan >= 2)
      PetscCall(TSSetTimeSpan(b->ts, b->nspan, b->span));
    else
      PetscCall(TSSetMaxTime(b->ts, 0));
  }
  if (b->model->ops.jacobian) PetscCall(InvBatchTSSetSolverDefaults(b->ts));
  PetscCall(TSSetMaxSNESFailures(b->ts, -1)); /* implicit types: a failed Newton solve retries a smaller step (adaptive) */
  if (b->from_options) PetscCall(TSSetFromOptions(b->ts));
  PetscCall(InvBatchTSSetUpImplicit(b)); /* implicit types: the block-diagonal Jacobian */
  PetscFunctionReturn(0);
}

PetscErrorCode InvBatchTSCreate(InvModel model, PetscInt bmax, const char prefix[], InvBatchTS *bts)
{
  InvBatchTS b;

  PetscFunctionBegin;
  PetscCheck(bmax >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Batch size must be >= 1, got %" PetscInt_FMT, bmax);
  PetscCall(PetscNew(&b));
  b->model = model;
  b->bmax = bmax;
  b->dt0 = 1e-3;
  if (prefix) PetscCall(PetscStrncpy(b->prefix, prefix, sizeof(b->prefix)));
  PetscCall(PetscMalloc1(bmax * model->nparam, &b->theta));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, bmax * model->nstate, &b->X));
  PetscCall(InvBatchTSBuild(b));
  *bts = b;
  PetscFunctionReturn(0);
}

PetscErrorCode InvBatchTSSetObservationTimes(InvBatchTS b, PetscInt n, const PetscReal t[])
{
  PetscFunctionBegin;
  PetscCheck(n >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Need at least one observation time");
  PetscCheck(b->role == INV_BATCHTS_FORWARD || n >= 2, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "MAP estimation (adjoint solves) needs at least 2 observation times, got %" PetscInt_FMT, n);
  PetscCheck(t[0] >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Observation times must be >= 0 (the initial time)");
  for (PetscInt k = 1; k < n; k++)
    PetscCheck(t[k] > t[k - 1], PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
               "Observation times must increase strictly (t[%" PetscInt_FMT "] = %g)", k, (double)t[k]);
  PetscCall(PetscFree(b->times));
  PetscCall(PetscFree(b->span));
  PetscCall(PetscFree(b->ybuf));
  b->ntimes = n;
  PetscCall(PetscMalloc1(n, &b->times));
  PetscCall(PetscArraycpy(b->times, t, n));
  b->nspan = t[0] > 0 ? n + 1 : n;
  PetscCall(PetscMalloc1(PetscMax(b->nspan, 2), &b->span));
  b->span[0] = 0;
  PetscCall(PetscArraycpy(b->span + (b->nspan - n), t, n));
  PetscCall(PetscMalloc1(b->bmax * n * b->model->nobs, &b->ybuf));
  if (b->role != INV_BATCHTS_FORWARD) {
    PetscCall(InvBatchTSSetTimesAdjoint(b));
    PetscFunctionReturn(0);
  }
  PetscCall(InvBatchTSBuild(b));
  if (b->single) PetscCall(InvBatchTSSetObservationTimes(b->single, n, t));
  PetscFunctionReturn(0);
}

PetscErrorCode InvBatchTSSetFromOptions(InvBatchTS b)
{
  PetscBool set;
  char opt[128];

  PetscFunctionBegin;
  /* Members share the step: control the error of the worst member, not the average. */
  PetscCall(PetscOptionsHasName(NULL, b->prefix[0] ? b->prefix : NULL, "-ts_adapt_wnormtype", &set));
  if (!set) {
    PetscCall(PetscSNPrintf(opt, sizeof(opt), "-%sts_adapt_wnormtype", b->prefix));
    PetscCall(PetscOptionsSetValue(NULL, opt, "infinity"));
  }
  if (b->role != INV_BATCHTS_FORWARD) {
    PetscCall(InvBatchTSSetFromOptionsAdjoint(b));
    PetscFunctionReturn(0);
  }
  b->from_options = PETSC_TRUE;
  PetscCall(InvBatchTSBuild(b));
  PetscCall(TSGetTimeStep(b->ts, &b->dt0));
  {
    PetscReal atol, rtol;
    PetscCall(TSGetTolerances(b->ts, &atol, NULL, &rtol, NULL));
    PetscCheck(atol > 0 && atol < 1 && rtol > 0 && rtol < 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
               "Tolerances out of range: -%sts_atol %g and -%sts_rtol %g must lie in (0, 1)", b->prefix, (double)atol, b->prefix,
               (double)rtol);
    PetscCheck(b->dt0 > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-%sts_dt must be positive", b->prefix);
  }
  PetscFunctionReturn(0);
}

/* The adjoint roles' members: nb parameter vectors, the unused slots padded with copies of the first (they take
   part in no output) */
PetscErrorCode InvBatchTSLoad(InvBatchTS b, PetscInt nb, const PetscReal theta[])
{
  const PetscInt np = b->model->nparam;

  PetscFunctionBegin;
  for (PetscInt m = 0; m < b->bmax; m++) PetscCall(PetscArraycpy(b->theta + m * np, theta + (m < nb ? m : 0) * np, np));
  b->nb = nb;
  PetscFunctionReturn(0);
}

/* One solve of the members in b->theta from their initial state (and initial sensitivities in those roles).
   ok: every observation time reached; the adjoint roles also refuse a solve that met a non-finite stage. */
PetscErrorCode InvBatchTSRun(InvBatchTS b, PetscBool *ok, TSConvergedReason *reason)
{
  PetscScalar *x;

  PetscFunctionBegin;
  PetscCall(VecGetArrayWrite(b->X, &x));
  if (b->role == INV_BATCHTS_SENSITIVITY)
    PetscCall(InvBatchTSInitialSensitivities(b, x));
  else
    PetscCall(b->model->ops.initial(b->model, b->bmax, b->theta, x));
  PetscCall(VecRestoreArrayWrite(b->X, &x));
  b->k = 0;
  b->nonfinite = PETSC_FALSE;
  PetscCall(TSSetTime(b->ts, 0.0));
  PetscCall(TSSetStepNumber(b->ts, 0));
  PetscCall(TSSetTimeStep(b->ts, b->dt0));
  if (b->nspan < 2) { /* a single observation at t = 0 */
    PetscCall(InvBatchTSMonitor(b->ts, 0, 0.0, b->X, b));
    *reason = TS_CONVERGED_TIME;
  } else if (b->rkgrid) { /* the lean RK adjoint's own forward pass over the learned step grid (batchts_rkadjoint.c) */
    PetscCall(InvBatchTSRKForward(b, reason));
  } else {
    PetscCall(TSSolve(b->ts, b->X));
    PetscCall(TSGetConvergedReason(b->ts, reason));
  }
  b->solves++;
  *ok = (*reason >= 0 && b->k == b->ntimes && (b->role == INV_BATCHTS_FORWARD || !b->nonfinite)) ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

/* The status of a member whose solve failed */
InvStatus InvBatchTSFailure(InvBatchTS b, TSConvergedReason reason)
{
  return b->nonfinite ? INV_STATUS_NONFINITE : (reason >= 0 ? INV_STATUS_MAXSTEPS : INV_STATUS_DIVERGED);
}

PetscErrorCode InvBatchTSSolve(InvBatchTS b, PetscInt nb, const PetscReal theta[], PetscReal y[], PetscInt status[])
{
  const PetscInt np = b->model->nparam, per = b->ntimes * b->model->nobs;
  PetscInt good = -1;
  PetscBool ok = PETSC_FALSE;
  TSConvergedReason reason = TS_CONVERGED_ITERATING;

  PetscFunctionBegin;
  PetscCheck(nb >= 1 && nb <= b->bmax, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "Batch of %" PetscInt_FMT " members exceeds the solver's %" PetscInt_FMT, nb, b->bmax);
  PetscCheck(b->ntimes > 0, PETSC_COMM_SELF, PETSC_ERR_ORDER, "Call InvBatchTSSetObservationTimes() first");
  PetscCheck(b->role == INV_BATCHTS_FORWARD, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONGSTATE,
             "InvBatchTSSolve() needs a solver from InvBatchTSCreate(); this one computes adjoints (InvBatchTSObjective())");
  PetscCall(PetscLogEventBegin(INV_SimulateBatch, 0, 0, 0, 0));
  /* Members with non-finite parameters are not integrated; their slot holds a copy of a good member. */
  for (PetscInt m = 0; m < nb; m++) {
    const PetscBool finite = InvBatchTSThetaFinite(np, theta + m * np);
    status[m] = finite ? INV_STATUS_OK : INV_STATUS_BADPARAM;
    if (finite && good < 0) good = m;
  }
  if (good < 0) {
    for (PetscInt i = 0; i < nb * per; i++) y[i] = NAN;
    PetscCall(PetscLogEventEnd(INV_SimulateBatch, 0, 0, 0, 0));
    PetscFunctionReturn(0);
  }
  for (PetscInt m = 0; m < b->bmax; m++) {
    const PetscInt src = (m < nb && status[m] == INV_STATUS_OK) ? m : (m < nb ? good : nb - 1);
    const PetscInt use = status[src] == INV_STATUS_OK ? src : good;
    PetscCall(PetscArraycpy(b->theta + m * np, theta + use * np, np));
  }
  b->nb = nb;
  PetscCall(InvBatchTSRun(b, &ok, &reason));
  if (!ok) PetscCall(InvBatchTSBuild(b));
  if (ok) {
    PetscCall(PetscArraycpy(y, b->ybuf, nb * per));
  } else if (b->bmax == 1) {
    status[0] = InvBatchTSFailure(b, reason);
  } else { /* isolate the failing members */
    b->fallbacks++;
    if (!b->single) {
      PetscCall(InvBatchTSCreate(b->model, 1, b->prefix, &b->single));
      PetscCall(InvBatchTSSetObservationTimes(b->single, b->ntimes, b->times));
      b->single->from_options = b->from_options;
      PetscCall(InvBatchTSBuild(b->single));
      b->single->dt0 = b->dt0;
    }
    for (PetscInt m = 0; m < nb; m++) {
      if (status[m] != INV_STATUS_OK) continue;
      PetscCall(InvBatchTSSolve(b->single, 1, theta + m * np, y + m * per, &status[m]));
    }
    b->steps += b->single->steps;
    b->single->steps = 0;
  }
  for (PetscInt m = 0; m < nb; m++)
    if (status[m] != INV_STATUS_OK)
      for (PetscInt i = 0; i < per; i++) y[m * per + i] = NAN;
  PetscCall(PetscLogEventEnd(INV_SimulateBatch, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode InvBatchTSGetStats(InvBatchTS b, PetscInt64 *steps, PetscInt64 *solves, PetscInt64 *fallbacks)
{
  PetscFunctionBegin;
  if (steps) *steps = b->steps + (b->child ? b->child->steps : 0) + (b->soachild ? b->soachild->steps : 0);
  if (solves) *solves = b->solves;
  if (fallbacks) *fallbacks = b->fallbacks;
  PetscFunctionReturn(0);
}

PetscErrorCode InvBatchTSGetAdjointCount(InvBatchTS b, PetscInt64 *adjoints)
{
  PetscFunctionBegin;
  *adjoints = b->adjoints + (b->soachild ? b->soachild->adjoints : 0);
  PetscFunctionReturn(0);
}

PetscErrorCode InvBatchTSGetObservations(InvBatchTS b, const PetscReal **y)
{
  PetscFunctionBegin;
  *y = b->ybuf;
  PetscFunctionReturn(0);
}

PetscErrorCode InvBatchTSGetTS(InvBatchTS b, TS *ts)
{
  PetscFunctionBegin;
  *ts = b->ts;
  PetscFunctionReturn(0);
}

/* One line describing a TS (stored with outputs); dt > 0 is printed (fixed-step integrators). */
PetscErrorCode InvTSDescribe(TS ts, PetscReal dt, PetscInt batch, char desc[], size_t len)
{
  TSType type;
  TSRKType rk = NULL;
  PetscReal atol, rtol;
  TSAdapt adapt;
  TSAdaptType atype;
  PetscBool isrk;
  char dts[64] = "";

  PetscFunctionBegin;
  PetscCall(TSGetType(ts, &type));
  PetscCall(PetscObjectTypeCompare((PetscObject)ts, TSRK, &isrk));
  if (isrk) PetscCall(TSRKGetType(ts, &rk));
  PetscCall(TSGetTolerances(ts, &atol, NULL, &rtol, NULL));
  PetscCall(TSGetAdapt(ts, &adapt));
  PetscCall(TSAdaptGetType(adapt, &atype));
  if (dt > 0) PetscCall(PetscSNPrintf(dts, sizeof(dts), " dt=%g", (double)dt));
  PetscCall(PetscSNPrintf(desc, len, "ts_type=%s%s%s adapt=%s%s rtol=%g atol=%g batch=%" PetscInt_FMT, type, rk ? " rk_type=" : "",
                          rk ? rk : "", atype, dts, (double)rtol, (double)atol, batch));
  PetscFunctionReturn(0);
}

PetscErrorCode InvBatchTSDescribe(InvBatchTS b, char desc[], size_t len)
{
  PetscFunctionBegin;
  /* the adjoint roles integrate with a fixed step by default: their description names it */
  PetscCall(InvTSDescribe(b->ts, b->role == INV_BATCHTS_FORWARD ? 0 : b->dt0, b->bmax, desc, len));
  PetscFunctionReturn(0);
}

PetscErrorCode InvBatchTSDestroy(InvBatchTS *bts)
{
  InvBatchTS b = *bts;

  PetscFunctionBegin;
  if (!b) PetscFunctionReturn(0);
  PetscCall(InvBatchTSDestroy(&b->single));
  PetscCall(InvBatchTSDestroyAdjoint(b));
  PetscCall(TSDestroy(&b->ts));
  PetscCall(VecDestroy(&b->X));
  PetscCall(PetscFree(b->theta));
  PetscCall(PetscFree(b->times));
  PetscCall(PetscFree(b->span));
  PetscCall(PetscFree(b->ybuf));
  PetscCall(PetscFree(b));
  *bts = NULL;
  PetscFunctionReturn(0);
}
