/* InvBatchTS, gradient role: the adjoint solvers' set-up (MAP defaults, Jacobians, option checks for the adjoint,
   sensitivities and second order), and the objective with its first-order adjoint gradient of the discrete
   misfit at the observation times (the forward monitor stores dJ/dy, the adjoint monitor adds H^T dJ/dy to lambda).
   A failed batch is redone member by member. */
#include "batchtsimpl.h"

/* The defaults of the adjoint roles (MAP's): RK4 at a fixed step dividing typical observation spacings */
#define INV_BATCHTS_ADJOINT_DT         0.05
#define INV_BATCHTS_ADJOINT_TOL        1e-6  /* rtol = atol, used when -map_ts_adapt_type turns adaptivity on */
#define INV_BATCHTS_ADJOINT_DTMIN      1e-10 /* step limits of an adaptive choice */
#define INV_BATCHTS_ADJOINT_DTMAX      1e3
#define INV_BATCHTS_ADJOINT_MAXSTEPS   10000000 /* no step budget in effect: a fixed step decides the count */
#define INV_BATCHTS_ADJOINT_REJECTIONS 20

/* The block-diagonal AIJ matrices hold their values member-major and row-major, exactly the layout of
   the model's jacobian/jacobianp arrays, so they are filled in place. */
/* Fills A in place with a model derivative array (jacobian or jacobianp) at the batch state X. */
static PetscErrorCode FillFromModel(InvBatchTS m, PetscReal t, Vec X, Mat A,
                                    PetscErrorCode (*fill)(InvModel, PetscReal, PetscInt, const PetscScalar *, const PetscReal *,
                                                           PetscScalar *))
{
  const PetscScalar *x;
  PetscScalar *a;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(MatSeqAIJGetArrayWrite(A, &a));
  PetscCall(fill(m->model, t, m->bmax, x, m->theta, a));
  PetscCall(MatSeqAIJRestoreArrayWrite(A, &a));
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscFunctionReturn(0);
}

static PetscErrorCode InvBatchTSRHSJacobian(TS ts, PetscReal t, Vec X, Mat A, Mat B, void *ctx)
{
  InvBatchTS m = (InvBatchTS)ctx;

  PetscFunctionBegin;
  PetscCall(FillFromModel(m, t, X, A, m->model->ops.jacobian));
  PetscFunctionReturn(0);
}

static PetscErrorCode InvBatchTSRHSJacobianP(TS ts, PetscReal t, Vec X, Mat A, void *ctx)
{
  InvBatchTS m = (InvBatchTS)ctx;

  PetscFunctionBegin;
  PetscCall(FillFromModel(m, t, X, A, m->model->ops.jacobianp));
  PetscFunctionReturn(0);
}

/* l_b += H^T g_b(t_kadj) for every member b (l: nb x nstate): the jump of an adjoint variable at observation time t_kadj,
   from g (nb x nt x nobs), the derivative of J with respect to the observations (or its direction derivative). */
void InvBatchTSObsJump(InvBatchTS m, PetscScalar *l, const PetscReal *g)
{
  const PetscInt ns = m->model->nstate, no = m->model->nobs, nt = m->ntimes;
  const PetscReal *H = m->model->H;

  for (PetscInt b = 0; b < m->nb; b++) {
    const PetscReal *gb = g + (b * nt + m->kadj) * no;
    for (PetscInt i = 0; i < ns; i++) {
      PetscReal s = 0;
      for (PetscInt c = 0; c < no; c++) s += H[c * ns + i] * gb[c];
      l[b * ns + i] += s;
    }
  }
}

static PetscErrorCode InvBatchTSAddObsJump(InvBatchTS m, Vec v, const PetscReal *g)
{
  PetscScalar *l;

  PetscFunctionBegin;
  PetscCall(VecGetArray(v, &l));
  InvBatchTSObsJump(m, l, g);
  PetscCall(VecRestoreArray(v, &l));
  PetscFunctionReturn(0);
}

/* Adjoint monitor: at t_k add H^T dJ/dy_k (computed from the forward pass) to lambda; for the second-order
   adjoint also add H^T d(dJ/dy_k) = H^T (W^T W H dx)_k, the direction derivative of that jump, to lambda2. */
PetscErrorCode InvBatchTSAdjointMonitor(TS ts, PetscInt steps, PetscReal t, Vec X, PetscInt numcost, Vec *lambda, Vec *mu, void *ctx)
{
  InvBatchTS m = (InvBatchTS)ctx;

  PetscFunctionBegin;
  if (m->kadj < 0 || !InvBatchTSAtTime(t, m->times[m->kadj])) PetscFunctionReturn(0);
  PetscCall(InvBatchTSAddObsJump(m, lambda[0], m->gy));
  if (m->role == INV_BATCHTS_SECOND_ORDER) {
    Vec *l2;
    PetscInt nc;
    PetscCall(TSGetCostHessianProducts(ts, &nc, &l2, NULL, NULL));
    PetscCall(InvBatchTSAddObsJump(m, l2[0], m->dgy));
  }
  m->kadj--;
  PetscFunctionReturn(0);
}

/* nb member blocks of rows x cols: block diagonal ((nb rows) x (nb cols)), or stacked ((nb rows) x cols: each
   member's parameters are the same columns, as for the batched forward sensitivities along e_j) */
static PetscErrorCode InvBatchTSBlockMatrix(PetscInt nb, PetscInt rows, PetscInt cols, PetscBool stacked, Mat *A)
{
  PetscInt idx[INV_MAX_PARAM];
  PetscScalar zero[INV_MAX_PARAM] = {0};

  PetscFunctionBegin;
  PetscCall(MatCreateSeqAIJ(PETSC_COMM_SELF, nb * rows, stacked ? cols : nb * cols, cols, NULL, A));
  for (PetscInt b = 0; b < nb; b++)
    for (PetscInt i = 0; i < rows; i++) {
      const PetscInt r = b * rows + i;
      for (PetscInt j = 0; j < cols; j++) idx[j] = stacked ? j : b * cols + j;
      PetscCall(MatSetValues(*A, 1, &r, cols, idx, zero, INSERT_VALUES));
    }
  PetscCall(MatAssemblyBegin(*A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatSetOption(*A, MAT_NEW_NONZERO_LOCATION_ERR, PETSC_TRUE));
  PetscFunctionReturn(0);
}

PetscErrorCode InvBatchTSCreateRole(InvModel model, PetscInt bmax, const char prefix[], InvBatchTSRole role, InvBatchTS *mts)
{
  InvBatchTS m;
  const PetscInt ns = model->nstate, np = model->nparam;

  PetscFunctionBegin;
  PetscCheck(bmax >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Batch size must be >= 1, got %" PetscInt_FMT, bmax);
  PetscCheck(model->ops.jacobian && model->ops.jacobianp, PETSC_COMM_SELF, PETSC_ERR_SUP,
             "Model %s lacks the Jacobians (jacobian, jacobianp) that MAP estimation needs", model->type);
  PetscCall(PetscNew(&m));
  m->model = model;
  m->bmax = bmax;
  m->role = role;
  m->dt0 = INV_BATCHTS_ADJOINT_DT;
  m->jacinjacp = PETSC_TRUE;
  if (prefix) PetscCall(PetscStrncpy(m->prefix, prefix, sizeof(m->prefix)));
  PetscCall(PetscMalloc1(bmax * np, &m->theta));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, bmax * ns, &m->X));
  PetscCall(InvBatchTSBlockMatrix(bmax, ns, ns, PETSC_FALSE, &m->J));
  PetscCall(InvBatchTSBlockMatrix(bmax, ns, np, role == INV_BATCHTS_SENSITIVITY, &m->Jp));
  PetscCall(TSCreate(PETSC_COMM_SELF, &m->ts));
  PetscCall(TSSetOptionsPrefix(m->ts, prefix));
  PetscCall(TSSetApplicationContext(m->ts, m));
  PetscCall(TSSetProblemType(m->ts, TS_NONLINEAR));
  if (model->stiff) { /* implicit default of a stiff model: Crank-Nicolson (A-stable, second order) at the same fixed step */
    PetscCall(TSSetType(m->ts, TSCN));
  } else {
    PetscCall(TSSetType(m->ts, TSRK));
    PetscCall(TSRKSetType(m->ts, TSRK4));
  }
  PetscCall(TSSetTimeStep(m->ts, m->dt0));
  PetscCall(TSSetTolerances(m->ts, INV_BATCHTS_ADJOINT_TOL, NULL, INV_BATCHTS_ADJOINT_TOL, NULL));
  {
    TSAdapt adapt;
    PetscCall(TSGetAdapt(m->ts, &adapt));
    PetscCall(TSAdaptSetType(adapt, TSADAPTNONE));
    PetscCall(TSAdaptSetStepLimits(adapt, INV_BATCHTS_ADJOINT_DTMIN, INV_BATCHTS_ADJOINT_DTMAX));
  }
  PetscCall(TSSetRHSFunction(m->ts, NULL, InvBatchTSRHS, m));
  PetscCall(TSSetRHSJacobian(m->ts, m->J, m->J, InvBatchTSRHSJacobian, m));
  PetscCall(TSSetRHSJacobianP(m->ts, m->Jp, InvBatchTSRHSJacobianP, m));
  PetscCall(TSSetFunctionDomainError(m->ts, InvBatchTSDomain));
  PetscCall(TSSetExactFinalTime(m->ts, TS_EXACTFINALTIME_MATCHSTEP));
  PetscCall(TSSetMaxSteps(m->ts, INV_BATCHTS_ADJOINT_MAXSTEPS));
  PetscCall(TSSetMaxStepRejections(m->ts, INV_BATCHTS_ADJOINT_REJECTIONS));
  PetscCall(TSSetErrorIfStepFails(m->ts, PETSC_FALSE));
  PetscCall(TSMonitorSet(m->ts, InvBatchTSMonitor, m, NULL));
  PetscCall(InvBatchTSSetSolverDefaults(m->ts));
  if (role == INV_BATCHTS_SENSITIVITY) { /* the integrator decides how (InvBatchTSSetUpSensitivitySolve) */
  } else if (role == INV_BATCHTS_SECOND_ORDER) {
    PetscCall(InvBatchTSSetUpSOA(m));
  } else {
    TSTrajectory tj;
    PetscCall(VecDuplicate(m->X, &m->lambda));
    PetscCall(VecCreateSeq(PETSC_COMM_SELF, bmax * np, &m->mu));
    PetscCall(TSSetSaveTrajectory(m->ts));
    PetscCall(TSGetTrajectory(m->ts, &tj));
    PetscCall(TSTrajectorySetType(tj, m->ts, TSTRAJECTORYMEMORY));
    PetscCall(TSSetCostGradients(m->ts, 1, &m->lambda, &m->mu));
    PetscCall(TSAdjointMonitorSet(m->ts, InvBatchTSAdjointMonitor, m, NULL));
  }
  *mts = m;
  PetscFunctionReturn(0);
}

PetscErrorCode InvBatchTSCreateAdjoint(InvModel model, PetscInt bmax, const char prefix[], InvBatchTS *bts)
{
  PetscFunctionBegin;
  PetscCall(InvBatchTSCreateRole(model, bmax, prefix, INV_BATCHTS_GRADIENT, bts));
  PetscFunctionReturn(0);
}

/* The time span of the adjoint roles and their per-member buffers (InvBatchTSSetObservationTimes has set the times) */
PetscErrorCode InvBatchTSSetTimesAdjoint(InvBatchTS m)
{
  const PetscInt n = m->ntimes, no = m->model->nobs, np = m->model->nparam;

  PetscFunctionBegin;
  PetscCall(PetscFree(m->gy));
  PetscCall(PetscFree(m->gth));
  PetscCall(PetscFree(m->Sy));
  PetscCall(PetscFree(m->work));
  PetscCall(PetscFree2(m->dy, m->dgy));
  PetscCall(TSSetTimeSpan(m->ts, m->nspan, m->span));
  m->rkgrid = PETSC_FALSE;
  PetscCall(PetscMalloc1(m->bmax * n * no, &m->gy));
  PetscCall(PetscMalloc1(m->bmax * np, &m->gth));
  PetscCall(PetscMalloc1(3 * n, &m->work));
  if (m->role == INV_BATCHTS_SENSITIVITY) PetscCall(PetscMalloc1(m->bmax * n * no * np, &m->Sy));
  if (m->role == INV_BATCHTS_SECOND_ORDER) PetscCall(PetscMalloc2(m->bmax * n * no, &m->dy, m->bmax * n * no, &m->dgy));
  if (m->child) PetscCall(InvBatchTSSetObservationTimes(m->child, n, m->times));
  if (m->soachild) PetscCall(InvBatchTSSetObservationTimes(m->soachild, n, m->times));
  PetscFunctionReturn(0);
}

/* After the common part of InvBatchTSSetFromOptions: the options and checks of the adjoint roles */
PetscErrorCode InvBatchTSSetFromOptionsAdjoint(InvBatchTS m)
{
  const PetscBool sens = m->role == INV_BATCHTS_SENSITIVITY ? PETSC_TRUE : PETSC_FALSE;
  const PetscBool soa = m->role == INV_BATCHTS_SECOND_ORDER ? PETSC_TRUE : PETSC_FALSE;
  PetscBool isrk, istheta, set;
  TSAdapt adapt;
  TSAdaptType atype;

  PetscFunctionBegin;
  PetscCall(TSSetFromOptions(m->ts));
  m->rkgrid = PETSC_FALSE;
  PetscCall(InvBatchTSSetUpImplicit(m)); /* implicit types: the block-diagonal BAIJ Jacobian */
  PetscCall(TSGetTimeStep(m->ts, &m->dt0));
  PetscCheck(m->dt0 > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-%sts_dt must be positive", m->prefix);
  PetscCall(PetscObjectTypeCompare((PetscObject)m->ts, TSRK, &isrk));
  PetscCall(PetscObjectTypeCompareAny((PetscObject)m->ts, &istheta, TSTHETA, TSCN, TSBEULER, ""));
  PetscCheck(
      isrk || istheta, PETSC_COMM_SELF, PETSC_ERR_SUP,
      "-%sts_type: MAP gradients, sensitivities and Hessian products need a TS with a discrete adjoint in PETSc 3.18 (bdf, arkimex and "
      "the others have none: docs/petsc-notes.md section 2); use rk (types 1fe, 2a, 3, 3bs, 4) or theta/cn/beuler (stiff models: cn)",
      m->prefix);
  if (isrk) {
    TSRKType rk;
    PetscBool bad;
    PetscCall(TSRKGetType(m->ts, &rk));
    PetscCall(PetscStrInList(rk, "5f,5dp,5bs,6vr,7vr,8vr", ',', &bad));
    PetscCheck(!bad, PETSC_COMM_SELF, PETSC_ERR_SUP,
               "-%sts_rk_type %s: the PETSc 3.18 adjoint of RK tableaus with a zero b weight returns wrong gradients; use 4, 3bs, 3 or 2a "
               "(or -%sts_type cn)",
               m->prefix, rk, m->prefix);
    PetscCall(TSGetAdapt(m->ts, &adapt));
    PetscCall(TSAdaptGetType(adapt, &atype));
    PetscCall(PetscStrcmp(atype, TSADAPTNONE, &set));
    PetscCheck(!sens || set, PETSC_COMM_SELF, PETSC_ERR_SUP,
               "Gauss-Newton sensitivities with RK differentiate the objective's fixed-step solution; use -%sts_adapt_type none with a "
               "step dividing the observation spacing, -%sts_type cn, or -map_hessian fd",
               m->prefix, m->prefix);
    PetscCheck(!soa || set, PETSC_COMM_SELF, PETSC_ERR_SUP,
               "-map_hessian soa: the PETSc 3.18 RK tangent-linear solve is wrong when the step changes; use -%sts_adapt_type none with a "
               "step dividing the observation spacing, or -map_hessian fd",
               m->prefix);
    for (PetscInt k = 0; k < m->ntimes && (sens || soa) && set; k++) { /* a fixed step that MATCHSTEP never shortens */
      const PetscReal r = m->times[k] / m->dt0;
      PetscCheck(
          PetscAbsReal(r - PetscFloorReal(r + 0.5)) <= 1e-8 * PetscMax(1.0, r), PETSC_COMM_SELF, PETSC_ERR_SUP,
          "%s: -%sts_dt %g does not divide observation time %g; the RK sensitivities need steps that are never shortened to hit "
          "it (PETSc 3.18's RK tangent-linear solve is wrong then): use a step that divides the observation spacing, or -map_hessian fd",
          sens ? "Gauss-Newton sensitivities" : "-map_hessian soa", m->prefix, (double)m->dt0, (double)m->times[k]);
    }
  }
  if (soa && istheta) {
    PetscBool endpoint;
    PetscCall(TSThetaGetEndpoint(m->ts, &endpoint));
    PetscCheck(
        endpoint, PETSC_COMM_SELF, PETSC_ERR_SUP,
        "-map_hessian soa with -%sts_type beuler/theta: PETSc 3.18's second-order adjoint of the one-stage (midpoint) theta form "
        "returns wrong Hessian products (docs/petsc-notes.md section 2); use -%sts_type cn (or -%sts_theta_endpoint), or -map_hessian fd",
        m->prefix, m->prefix, m->prefix);
  }
  PetscOptionsBegin(PETSC_COMM_SELF, m->prefix[0] ? m->prefix : NULL, "MAP forward and adjoint solves", NULL);
  PetscCall(PetscOptionsBool(
      "-adjoint_jacobian_in_jacobianp",
      "RK gradient: state and parameter Jacobians as block shells filled together, bypassing SNESComputeJacobian (same values)",
      "InvBatchTSSetFromOptions", m->jacinjacp, &m->jacinjacp, NULL));
  PetscOptionsEnd();
  if (sens) PetscCall(InvBatchTSSetUpSensitivitySolve(m, isrk));
  if (isrk && !sens && !soa && m->jacinjacp && !m->jblk.v)
    PetscCall(InvBatchTSSetUpRKAdjoint(m));
  else if (!m->jblk.v)
    m->jacinjacp = PETSC_FALSE;
  if (soa) PetscCall(InvBatchTSSOATrajectory(m));
  if (soa && istheta && !m->Jdir) PetscCall(InvBatchTSSetUpSOATheta(m));
  m->from_options = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode InvBatchTSObjective(InvBatchTS m, InvPrior prior, PetscInt nb, const PetscReal theta[], const PetscReal *const d[],
                                   const PetscReal rho[], const PetscReal sd[], PetscReal f[], PetscReal g[], PetscInt status[])
{
  const PetscInt np = m->model->nparam, ns = m->model->nstate;
  PetscBool ok;
  TSConvergedReason reason;
  TSTrajectory tj;

  PetscFunctionBegin;
  PetscCheck(m->role == INV_BATCHTS_GRADIENT, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONGSTATE,
             "InvBatchTSObjective() needs a solver from InvBatchTSCreateAdjoint()");
  PetscCheck(nb >= 1 && nb <= m->bmax, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Batch of %" PetscInt_FMT " exceeds %" PetscInt_FMT, nb,
             m->bmax);
  PetscCheck(m->ntimes > 0 && m->from_options, PETSC_COMM_SELF, PETSC_ERR_ORDER,
             "Set the observation times and call InvBatchTSSetFromOptions()");
  PetscCall(PetscLogEventBegin(INV_MAPObjective, 0, 0, 0, 0));
  /* unused slots integrate a copy of the first member with zero data weight */
  PetscCall(InvBatchTSLoad(m, nb, theta));
  PetscCall(TSGetTrajectory(m->ts, &tj)); /* none with the lean RK adjoint: it records the stages itself */
  m->rksteps = 0;
  PetscCall(InvBatchTSRun(m, &ok, &reason));
  if (!ok) {
    if (tj) PetscCall(TSTrajectoryReset(tj));
    PetscCall(PetscLogEventEnd(INV_MAPObjective, 0, 0, 0, 0));
    if (nb == 1) {
      f[0] = PETSC_INFINITY;
      if (g) PetscCall(PetscArrayzero(g, np));
      status[0] = InvBatchTSFailure(m, reason);
    } else { /* isolate the failing members: the batch again, member by member (slots padded with its copies) */
      m->fallbacks++;
      for (PetscInt b = 0; b < nb; b++)
        PetscCall(InvBatchTSObjective(m, prior, 1, theta + b * np, &d[b], &rho[b], &sd[b], &f[b], g ? g + b * np : NULL, &status[b]));
    }
    PetscFunctionReturn(0);
  }
  for (PetscInt b = 0; b < nb; b++) status[b] = INV_STATUS_OK;
  PetscCall(InvBatchTSRKLearnGrid(m));
  InvObjectiveFromOutputs(prior, nb, m->ntimes, m->model->nobs, theta, d, m->ybuf, rho, sd, m->work, f, g ? m->gy : NULL, m->gth);
  if (!g) {
    if (tj) PetscCall(TSTrajectoryReset(tj));
    PetscCall(PetscLogEventEnd(INV_MAPObjective, 0, 0, 0, 0));
    PetscFunctionReturn(0);
  }
  PetscCall(VecZeroEntries(m->lambda));
  PetscCall(VecZeroEntries(m->mu));
  m->kadj = m->ntimes - 1;
  if (m->jblk.v) /* the lean RK adjoint (batchts_rkadjoint.c) */
    PetscCall(InvBatchTSRKAdjointSolve(m));
  else
    PetscCall(TSAdjointSolve(m->ts));
  m->adjoints++;
  /* PETSc 3.18 does not call the adjoint monitor at the initial time: add the jump at t = 0 here */
  if (m->kadj == 0 && InvBatchTSAtTime(0.0, m->times[0])) {
    Vec l[1] = {m->lambda};
    PetscCall(InvBatchTSAdjointMonitor(m->ts, 0, 0.0, m->X, 1, l, &m->mu, m));
  }
  PetscCheck(m->kadj == -1, PETSC_COMM_SELF, PETSC_ERR_PLIB, "Adjoint sweep missed %" PetscInt_FMT " observation times", m->kadj + 1);
  {
    const PetscScalar *mu, *l;
    PetscCall(VecGetArrayRead(m->mu, &mu));
    for (PetscInt i = 0; i < nb * np; i++) g[i] = mu[i];
    PetscCall(VecRestoreArrayRead(m->mu, &mu));
    if (m->model->ops.initial_jacobian) { /* x0 depends on theta: add dx0/dtheta^T lambda(0) */
      PetscReal dx0[INV_MAX_PARAM * INV_MAX_PARAM];
      PetscCall(VecGetArrayRead(m->lambda, &l));
      for (PetscInt b = 0; b < nb; b++) {
        PetscCall(m->model->ops.initial_jacobian(m->model, 1, theta + b * np, dx0));
        for (PetscInt j = 0; j < np; j++)
          for (PetscInt i = 0; i < ns; i++) g[b * np + j] += dx0[i * np + j] * l[b * ns + i];
      }
      PetscCall(VecRestoreArrayRead(m->lambda, &l));
    }
    if (prior) /* the prior's explicit gradient, added last */
      for (PetscInt i = 0; i < nb * np; i++) g[i] += m->gth[i];
  }
  PetscCall(PetscLogEventEnd(INV_MAPObjective, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

/* The adjoint roles' objects (InvBatchTSDestroy frees the rest) */
PetscErrorCode InvBatchTSDestroyAdjoint(InvBatchTS m)
{
  PetscFunctionBegin;
  PetscCall(InvBatchTSDestroy(&m->child));
  PetscCall(InvBatchTSDestroy(&m->soachild));
  PetscCall(InvBatchTSDestroySOA(m));
  PetscCall(VecDestroy(&m->lambda));
  PetscCall(VecDestroy(&m->mu));
  PetscCall(MatDestroy(&m->J));
  PetscCall(PetscFree(m->jwork));
  PetscCall(MatDestroy(&m->Jp));
  PetscCall(InvBatchTSDestroyRKAdjoint(m));
  PetscCall(MatDestroy(&m->S));
  PetscCall(PetscFree4(m->ax, m->af, m->aj, m->ajp));
  PetscCall(PetscFree(m->gy));
  PetscCall(PetscFree(m->gth));
  PetscCall(PetscFree(m->Sy));
  PetscCall(PetscFree(m->work));
  PetscCall(PetscFree2(m->dy, m->dgy));
  PetscFunctionReturn(0);
}
