/* InvMAPTS: batched forward + adjoint + forward-sensitivity solves of the MAP misfit (see mapts.h);
   the second-order adjoint (Hessian-vector products) is in mapts_soa.c. */
#include "maptsimpl.h"
#include <invmap/batchts.h>

static PetscErrorCode InvMAPTSRHS(TS ts, PetscReal t, Vec X, Vec F, void *ctx)
{
  InvMAPTS m = (InvMAPTS)ctx;
  const PetscScalar *x;
  PetscScalar *f;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(VecGetArrayWrite(F, &f));
  PetscCall(m->model->ops.rhs(m->model, t, m->bmax, x, m->theta, f));
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscCall(VecRestoreArrayWrite(F, &f));
  PetscFunctionReturn(0);
}

/* The block-diagonal AIJ matrices hold their values member-major and row-major, exactly the layout of
   the model's jacobian/jacobianp arrays, so they are filled in place. */
static PetscErrorCode InvMAPTSRHSJacobian(TS ts, PetscReal t, Vec X, Mat A, Mat B, void *ctx)
{
  InvMAPTS m = (InvMAPTS)ctx;
  const PetscScalar *x;
  PetscScalar *a;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(MatSeqAIJGetArrayWrite(A, &a));
  PetscCall(m->model->ops.jacobian(m->model, t, m->bmax, x, m->theta, a));
  PetscCall(MatSeqAIJRestoreArrayWrite(A, &a));
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscFunctionReturn(0);
}

static PetscErrorCode InvMAPTSRHSJacobianP(TS ts, PetscReal t, Vec X, Mat A, void *ctx)
{
  InvMAPTS m = (InvMAPTS)ctx;
  const PetscScalar *x;
  PetscScalar *a;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(MatSeqAIJGetArrayWrite(A, &a));
  PetscCall(m->model->ops.jacobianp(m->model, t, m->bmax, x, m->theta, a));
  PetscCall(MatSeqAIJRestoreArrayWrite(A, &a));
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscFunctionReturn(0);
}

/* Number of unknowns of one member in the augmented (state + sensitivity) system */
static inline PetscInt InvMAPTSAugSize(InvModel model)
{
  return model->nstate * (1 + model->nparam);
}

/* The variational equations with the state, member by member: x_b' = f(x_b), S_b' = J(x_b) S_b + Jp(x_b), where member
   b's block of Z is [x_b (ns), S_b (ns x np, row-major)]. An explicit RK step of this system at a fixed step is exactly
   the derivative of the same RK step of x' = f (internal = external differentiation for explicit RK), and every entry
   is computed from its own member's values only, in an order that does not depend on the member's slot or the batch
   size. PETSc's TSForward for RK updates the sensitivities with BLAS daxpy over the whole batch, whose rounding
   (fused multiply-add in the vector kernel, not in its tail) depends on the slot and the batch size. */
static PetscErrorCode InvMAPTSAugRHS(TS ts, PetscReal t, Vec Z, Vec F, void *ctx)
{
  InvMAPTS m = (InvMAPTS)ctx;
  const PetscInt ns = m->model->nstate, np = m->model->nparam, na = InvMAPTSAugSize(m->model);
  const PetscScalar *z;
  PetscScalar *f;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(Z, &z));
  PetscCall(VecGetArrayWrite(F, &f));
  for (PetscInt b = 0; b < m->bmax; b++) PetscCall(PetscArraycpy(m->ax + b * ns, z + b * na, ns));
  PetscCall(m->model->ops.rhs(m->model, t, m->bmax, m->ax, m->theta, m->af));
  PetscCall(m->model->ops.jacobian(m->model, t, m->bmax, m->ax, m->theta, m->aj));
  PetscCall(m->model->ops.jacobianp(m->model, t, m->bmax, m->ax, m->theta, m->ajp));
  for (PetscInt b = 0; b < m->bmax; b++) {
    const PetscScalar *Sb = z + b * na + ns, *Jb = m->aj + b * ns * ns, *Jpb = m->ajp + b * ns * np;
    PetscScalar *fb = f + b * na;
    for (PetscInt i = 0; i < ns; i++) fb[i] = m->af[b * ns + i];
    for (PetscInt i = 0; i < ns; i++)
      for (PetscInt j = 0; j < np; j++) {
        PetscScalar v = 0;
        for (PetscInt k = 0; k < ns; k++) v += Jb[i * ns + k] * Sb[k * np + j];
        fb[ns + i * np + j] = v + Jpb[i * np + j];
      }
  }
  PetscCall(VecRestoreArrayRead(Z, &z));
  PetscCall(VecRestoreArrayWrite(F, &f));
  PetscFunctionReturn(0);
}

/* Non-finite or huge stage values reject the step; with a fixed step the solve then fails cleanly. */
static PetscErrorCode InvMAPTSDomain(TS ts, PetscReal t, Vec X, PetscBool *ok)
{
  InvMAPTS m;
  const PetscScalar *x;
  PetscInt n, i;
  PetscReal s[4] = {0, 0, 0, 0}; /* four partial sums: the loop vectorises */

  PetscFunctionBegin;
  PetscCall(TSGetApplicationContext(ts, &m));
  PetscCall(VecGetLocalSize(X, &n));
  PetscCall(VecGetArrayRead(X, &x));
  for (i = 0; i + 4 <= n; i += 4)
    for (PetscInt j = 0; j < 4; j++) s[j] += x[i + j] * x[i + j];
  for (; i < n; i++) s[0] += x[i] * x[i];
  PetscCall(VecRestoreArrayRead(X, &x));
  *ok = (s[0] + s[1] + s[2] + s[3] <= 1e200) ? PETSC_TRUE : PETSC_FALSE;
  if (!*ok) m->nonfinite = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* Forward monitor: record y = H x at t_k (and, for the sensitivity solver, H S). */
static PetscErrorCode InvMAPTSMonitor(TS ts, PetscInt step, PetscReal t, Vec X, void *ctx)
{
  InvMAPTS m = (InvMAPTS)ctx;
  const PetscInt ns = m->model->nstate, no = m->model->nobs, np = m->model->nparam, nt = m->nt;
  const PetscInt stride = m->aug ? InvMAPTSAugSize(m->model) : ns; /* member b's state starts at x + b stride */
  const PetscReal *H = m->model->H;
  const PetscScalar *x;

  PetscFunctionBegin;
  if (step > 0) m->nsteps++;
  if (m->k >= nt || !InvMAPTSAtTime(t, m->times[m->k])) PetscFunctionReturn(0);
  PetscCall(VecGetArrayRead(X, &x));
  for (PetscInt b = 0; b < m->nb; b++) {
    const PetscScalar *xb = x + b * stride;
    PetscReal *yb = m->y + (b * nt + m->k) * no;
    for (PetscInt c = 0; c < no; c++) {
      PetscReal s = 0;
      for (PetscInt i = 0; i < ns; i++) s += H[c * ns + i] * xb[i];
      yb[c] = s;
    }
  }
  if (m->aug) /* H S_b from the augmented state */
    for (PetscInt b = 0; b < m->nb; b++) {
      const PetscScalar *Sb = x + b * stride + ns;
      for (PetscInt c = 0; c < no; c++)
        for (PetscInt j = 0; j < np; j++) {
          PetscReal v = 0;
          for (PetscInt i = 0; i < ns; i++) v += H[c * ns + i] * Sb[i * np + j];
          m->Sy[((b * nt + m->k) * no + c) * np + j] = v;
        }
    }
  PetscCall(VecRestoreArrayRead(X, &x));
  if (m->sens && !m->aug) {
    Mat S;
    const PetscScalar *s;
    const PetscInt ld = m->bmax * ns;
    PetscCall(TSForwardGetSensitivities(ts, NULL, &S));
    PetscCall(MatDenseGetArrayRead(S, &s)); /* column-major (bmax ns) x np: member b's rows b ns .. b ns + ns - 1 */
    for (PetscInt b = 0; b < m->nb; b++)
      for (PetscInt c = 0; c < no; c++)
        for (PetscInt j = 0; j < np; j++) {
          PetscReal v = 0;
          for (PetscInt i = 0; i < ns; i++) v += H[c * ns + i] * s[b * ns + i + j * ld];
          m->Sy[((b * nt + m->k) * no + c) * np + j] = v;
        }
    PetscCall(MatDenseRestoreArrayRead(S, &s));
  }
  if (m->soa) { /* tangent-linear observations H dx (one column: every member's own direction) */
    Mat S;
    const PetscScalar *s;
    PetscCall(TSForwardGetSensitivities(ts, NULL, &S));
    PetscCall(MatDenseGetArrayRead(S, &s));
    for (PetscInt b = 0; b < m->nb; b++)
      for (PetscInt c = 0; c < no; c++) {
        PetscReal v = 0;
        for (PetscInt i = 0; i < ns; i++) v += H[c * ns + i] * s[b * ns + i];
        m->dy[(b * nt + m->k) * no + c] = v;
      }
    PetscCall(MatDenseRestoreArrayRead(S, &s));
  }
  m->k++;
  PetscFunctionReturn(0);
}

/* v_b += H^T g_b(t_kadj) for every member b: the jump of an adjoint variable at observation time t_kadj, from
   g (nb x nt x nobs), the derivative of J with respect to the observations (or its direction derivative). */
static PetscErrorCode InvMAPTSAddObsJump(InvMAPTS m, Vec v, const PetscReal *g)
{
  const PetscInt ns = m->model->nstate, no = m->model->nobs, nt = m->nt;
  const PetscReal *H = m->model->H;
  PetscScalar *l;

  PetscFunctionBegin;
  PetscCall(VecGetArray(v, &l));
  for (PetscInt b = 0; b < m->nb; b++) {
    const PetscReal *gb = g + (b * nt + m->kadj) * no;
    for (PetscInt i = 0; i < ns; i++) {
      PetscReal s = 0;
      for (PetscInt c = 0; c < no; c++) s += H[c * ns + i] * gb[c];
      l[b * ns + i] += s;
    }
  }
  PetscCall(VecRestoreArray(v, &l));
  PetscFunctionReturn(0);
}

/* Adjoint monitor: at t_k add H^T dJ/dy_k (computed from the forward pass) to lambda; for the second-order
   adjoint also add H^T d(dJ/dy_k) = H^T (W^T W H dx)_k, the direction derivative of that jump, to lambda2. */
PetscErrorCode InvMAPTSAdjointMonitor(TS ts, PetscInt steps, PetscReal t, Vec X, PetscInt numcost, Vec *lambda, Vec *mu, void *ctx)
{
  InvMAPTS m = (InvMAPTS)ctx;

  PetscFunctionBegin;
  if (m->kadj < 0 || !InvMAPTSAtTime(t, m->times[m->kadj])) PetscFunctionReturn(0);
  PetscCall(InvMAPTSAddObsJump(m, lambda[0], m->gy));
  if (m->soa) {
    Vec *l2;
    PetscInt nc;
    PetscCall(TSGetCostHessianProducts(ts, &nc, &l2, NULL, NULL));
    PetscCall(InvMAPTSAddObsJump(m, l2[0], m->dgy));
  }
  m->kadj--;
  PetscFunctionReturn(0);
}

/* nb member blocks of rows x cols: block diagonal ((nb rows) x (nb cols)), or stacked ((nb rows) x cols: each
   member's parameters are the same columns, as for the batched forward sensitivities along e_j) */
static PetscErrorCode InvMAPTSBlockMatrix(PetscInt nb, PetscInt rows, PetscInt cols, PetscBool stacked, Mat *A)
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

PetscErrorCode InvMAPTSCreateInternal(InvModel model, PetscInt bmax, const char prefix[], PetscBool sens, PetscBool soa, InvMAPTS *mts)
{
  InvMAPTS m;
  const PetscInt ns = model->nstate, np = model->nparam;

  PetscFunctionBegin;
  PetscCheck(bmax >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Batch size must be >= 1, got %" PetscInt_FMT, bmax);
  PetscCheck(model->ops.jacobian && model->ops.jacobianp, PETSC_COMM_SELF, PETSC_ERR_SUP,
             "Model %s lacks the Jacobians (jacobian, jacobianp) that MAP estimation needs", model->type);
  PetscCall(PetscNew(&m));
  m->model = model;
  m->bmax = bmax;
  m->sens = sens;
  m->soa = soa;
  m->dt0 = 0.05;
  m->jacinjacp = PETSC_TRUE;
  if (prefix) PetscCall(PetscStrncpy(m->prefix, prefix, sizeof(m->prefix)));
  PetscCall(PetscMalloc1(bmax * np, &m->theta));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, bmax * ns, &m->X));
  PetscCall(InvMAPTSBlockMatrix(bmax, ns, ns, PETSC_FALSE, &m->J));
  PetscCall(InvMAPTSBlockMatrix(bmax, ns, np, sens, &m->Jp));
  PetscCall(TSCreate(PETSC_COMM_SELF, &m->ts));
  PetscCall(TSSetOptionsPrefix(m->ts, prefix));
  PetscCall(TSSetApplicationContext(m->ts, m));
  PetscCall(TSSetProblemType(m->ts, TS_NONLINEAR));
  PetscCall(TSSetType(m->ts, TSRK));
  PetscCall(TSRKSetType(m->ts, TSRK4));
  PetscCall(TSSetTimeStep(m->ts, m->dt0));
  PetscCall(TSSetTolerances(m->ts, 1e-6, NULL, 1e-6, NULL));
  {
    TSAdapt adapt;
    PetscCall(TSGetAdapt(m->ts, &adapt));
    PetscCall(TSAdaptSetType(adapt, TSADAPTNONE));
    PetscCall(TSAdaptSetStepLimits(adapt, 1e-10, 1e3));
  }
  PetscCall(TSSetRHSFunction(m->ts, NULL, InvMAPTSRHS, m));
  PetscCall(TSSetRHSJacobian(m->ts, m->J, m->J, InvMAPTSRHSJacobian, m));
  PetscCall(TSSetRHSJacobianP(m->ts, m->Jp, InvMAPTSRHSJacobianP, m));
  PetscCall(TSSetFunctionDomainError(m->ts, InvMAPTSDomain));
  PetscCall(TSSetExactFinalTime(m->ts, TS_EXACTFINALTIME_MATCHSTEP));
  PetscCall(TSSetMaxSteps(m->ts, 10000000));
  PetscCall(TSSetMaxStepRejections(m->ts, 20));
  PetscCall(TSSetErrorIfStepFails(m->ts, PETSC_FALSE));
  PetscCall(TSMonitorSet(m->ts, InvMAPTSMonitor, m, NULL));
  if (sens) { /* the integrator decides how (InvMAPTSSetUpSensitivitySolve) */
  } else if (soa) {
    PetscCall(InvMAPTSSetUpSOA(m));
  } else {
    TSTrajectory tj;
    PetscCall(VecDuplicate(m->X, &m->lambda));
    PetscCall(VecCreateSeq(PETSC_COMM_SELF, bmax * np, &m->mu));
    PetscCall(TSSetSaveTrajectory(m->ts));
    PetscCall(TSGetTrajectory(m->ts, &tj));
    PetscCall(TSTrajectorySetType(tj, m->ts, TSTRAJECTORYMEMORY));
    PetscCall(TSSetCostGradients(m->ts, 1, &m->lambda, &m->mu));
    PetscCall(TSAdjointMonitorSet(m->ts, InvMAPTSAdjointMonitor, m, NULL));
  }
  *mts = m;
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPTSCreate(InvModel model, PetscInt bmax, const char prefix[], InvMAPTS *mts)
{
  PetscFunctionBegin;
  PetscCall(InvMAPTSCreateInternal(model, bmax, prefix, PETSC_FALSE, PETSC_FALSE, mts));
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPTSSetObservationTimes(InvMAPTS m, PetscInt n, const PetscReal t[])
{
  const PetscInt no = m->model->nobs;

  PetscFunctionBegin;
  PetscCheck(n >= 2, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "MAP estimation needs at least 2 observation times, got %" PetscInt_FMT, n);
  PetscCheck(t[0] >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Observation times must be >= 0 (the initial time)");
  for (PetscInt k = 1; k < n; k++)
    PetscCheck(t[k] > t[k - 1], PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
               "Observation times must increase strictly (t[%" PetscInt_FMT "] = %g)", k, (double)t[k]);
  PetscCall(PetscFree(m->times));
  PetscCall(PetscFree(m->span));
  PetscCall(PetscFree(m->y));
  PetscCall(PetscFree(m->gy));
  PetscCall(PetscFree(m->Sy));
  PetscCall(PetscFree(m->work));
  PetscCall(PetscFree2(m->dy, m->dgy));
  m->nt = n;
  PetscCall(PetscMalloc1(n, &m->times));
  PetscCall(PetscArraycpy(m->times, t, n));
  m->nspan = t[0] > 0 ? n + 1 : n;
  PetscCall(PetscMalloc1(m->nspan, &m->span));
  m->span[0] = 0;
  PetscCall(PetscArraycpy(m->span + (m->nspan - n), t, n));
  PetscCall(TSSetTimeSpan(m->ts, m->nspan, m->span));
  PetscCall(PetscMalloc1(m->bmax * n * no, &m->y));
  PetscCall(PetscMalloc1(m->bmax * n * no, &m->gy));
  PetscCall(PetscMalloc1(3 * n, &m->work));
  if (m->sens) PetscCall(PetscMalloc1(m->bmax * n * no * m->model->nparam, &m->Sy));
  if (m->soa) PetscCall(PetscMalloc2(m->bmax * n * no, &m->dy, m->bmax * n * no, &m->dgy));
  if (m->child) PetscCall(InvMAPTSSetObservationTimes(m->child, n, t));
  if (m->soachild) PetscCall(InvMAPTSSetObservationTimes(m->soachild, n, t));
  PetscFunctionReturn(0);
}

/* Sensitivities with RK: the augmented system (InvMAPTSAugRHS) in place of X; with theta methods: TSForward */
static PetscErrorCode InvMAPTSSetUpSensitivitySolve(InvMAPTS m, PetscBool isrk)
{
  const PetscInt ns = m->model->nstate, np = m->model->nparam;

  PetscFunctionBegin;
  if (m->aug || m->S) PetscFunctionReturn(0);
  if (isrk) {
    m->aug = PETSC_TRUE;
    PetscCall(VecDestroy(&m->X));
    PetscCall(VecCreateSeq(PETSC_COMM_SELF, m->bmax * InvMAPTSAugSize(m->model), &m->X));
    PetscCall(PetscMalloc4(m->bmax * ns, &m->ax, m->bmax * ns, &m->af, m->bmax * ns * ns, &m->aj, m->bmax * ns * np, &m->ajp));
    PetscCall(TSSetRHSFunction(m->ts, NULL, InvMAPTSAugRHS, m));
  } else {
    PetscCall(MatCreateSeqDense(PETSC_COMM_SELF, m->bmax * ns, np, NULL, &m->S));
    PetscCall(TSForwardSetSensitivities(m->ts, np, m->S));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPTSSetFromOptions(InvMAPTS m)
{
  PetscBool isrk, istheta, set;
  TSAdapt adapt;
  TSAdaptType atype;
  char opt[128];

  PetscFunctionBegin;
  /* Members share an adaptive step: control the worst member's error. */
  PetscCall(PetscOptionsHasName(NULL, m->prefix[0] ? m->prefix : NULL, "-ts_adapt_wnormtype", &set));
  if (!set) {
    PetscCall(PetscSNPrintf(opt, sizeof(opt), "-%sts_adapt_wnormtype", m->prefix));
    PetscCall(PetscOptionsSetValue(NULL, opt, "infinity"));
  }
  PetscCall(TSSetFromOptions(m->ts));
  PetscCall(TSGetTimeStep(m->ts, &m->dt0));
  PetscCheck(m->dt0 > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-%sts_dt must be positive", m->prefix);
  PetscCall(PetscObjectTypeCompare((PetscObject)m->ts, TSRK, &isrk));
  PetscCall(PetscObjectTypeCompareAny((PetscObject)m->ts, &istheta, TSTHETA, TSCN, TSBEULER, ""));
  PetscCheck(isrk || istheta, PETSC_COMM_SELF, PETSC_ERR_SUP,
             "-%sts_type: MAP gradients need a TS with a discrete adjoint in PETSc 3.18: rk (types 1fe, 2a, 3, 3bs, 4) or theta/cn/beuler",
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
    PetscCheck(!m->sens || set, PETSC_COMM_SELF, PETSC_ERR_SUP,
               "Gauss-Newton sensitivities with RK differentiate the objective's fixed-step solution; use -%sts_adapt_type none with a "
               "step dividing the observation spacing, -%sts_type cn, or -map_hessian fd",
               m->prefix, m->prefix);
    PetscCheck(!m->soa || set, PETSC_COMM_SELF, PETSC_ERR_SUP,
               "-map_hessian soa: the PETSc 3.18 RK tangent-linear solve is wrong when the step changes; use -%sts_adapt_type none with a "
               "step dividing the observation spacing, or -map_hessian fd",
               m->prefix);
    for (PetscInt k = 0; k < m->nt && (m->sens || m->soa) && set; k++) { /* a fixed step that MATCHSTEP never shortens */
      const PetscReal r = m->times[k] / m->dt0;
      PetscCheck(
          PetscAbsReal(r - PetscFloorReal(r + 0.5)) <= 1e-8 * PetscMax(1.0, r), PETSC_COMM_SELF, PETSC_ERR_SUP,
          "%s: -%sts_dt %g does not divide observation time %g; the RK sensitivities need steps that are never shortened to hit "
          "it (PETSc 3.18's RK tangent-linear solve is wrong then): use a step that divides the observation spacing, or -map_hessian fd",
          m->sens ? "Gauss-Newton sensitivities" : "-map_hessian soa", m->prefix, (double)m->dt0, (double)m->times[k]);
    }
  }
  PetscCheck(!m->soa || isrk, PETSC_COMM_SELF, PETSC_ERR_SUP,
             "-map_hessian soa needs -%sts_type rk: the PETSc 3.18 theta/cn tangent-linear step fails with more than one parameter; use "
             "-map_hessian fd or gn",
             m->prefix);
  PetscOptionsBegin(PETSC_COMM_SELF, m->prefix[0] ? m->prefix : NULL, "MAP forward and adjoint solves", NULL);
  PetscCall(PetscOptionsBool(
      "-adjoint_jacobian_in_jacobianp",
      "RK gradient: state and parameter Jacobians as block shells filled together, bypassing SNESComputeJacobian (same values)",
      "InvMAPTSSetFromOptions", m->jacinjacp, &m->jacinjacp, NULL));
  PetscOptionsEnd();
  if (m->sens) PetscCall(InvMAPTSSetUpSensitivitySolve(m, isrk));
  if (isrk && !m->sens && !m->soa && m->jacinjacp && !m->jblk.v)
    PetscCall(InvMAPTSSetUpRKAdjoint(m));
  else if (!m->jblk.v)
    m->jacinjacp = PETSC_FALSE;
  if (m->soa) PetscCall(InvMAPTSSOATrajectory(m));
  m->setfromoptions = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPTSForward(InvMAPTS m, PetscBool *ok)
{
  PetscScalar *x;
  TSConvergedReason reason;

  PetscFunctionBegin;
  PetscCall(VecGetArrayWrite(m->X, &x));
  if (m->aug) { /* [x_b(0), S_b(0) = dx0/dtheta] of every member */
    const PetscInt ns = m->model->nstate, np = m->model->nparam, na = InvMAPTSAugSize(m->model);
    PetscCall(m->model->ops.initial(m->model, m->bmax, m->theta, m->ax));
    for (PetscInt b = 0; b < m->bmax; b++) {
      PetscScalar *zb = x + b * na;
      PetscCall(PetscArraycpy(zb, m->ax + b * ns, ns));
      if (m->model->ops.initial_jacobian)
        PetscCall(m->model->ops.initial_jacobian(m->model, 1, m->theta + b * np, zb + ns));
      else
        PetscCall(PetscArrayzero(zb + ns, ns * np));
    }
  } else
    PetscCall(m->model->ops.initial(m->model, m->bmax, m->theta, x));
  PetscCall(VecRestoreArrayWrite(m->X, &x));
  if (m->sens && !m->aug) { /* S(0) = dx0/dtheta of every member */
    PetscScalar *s;
    const PetscInt ns = m->model->nstate, np = m->model->nparam, ld = m->bmax * ns;
    PetscCall(MatDenseGetArrayWrite(m->S, &s));
    PetscCall(PetscArrayzero(s, ld * np));
    if (m->model->ops.initial_jacobian)
      for (PetscInt b = 0; b < m->bmax; b++) {
        PetscReal dx0[INV_MAX_PARAM * INV_MAX_PARAM];
        PetscCall(m->model->ops.initial_jacobian(m->model, 1, m->theta + b * np, dx0));
        for (PetscInt i = 0; i < ns; i++)
          for (PetscInt j = 0; j < np; j++) s[b * ns + i + j * ld] = dx0[i * np + j];
      }
    PetscCall(MatDenseRestoreArrayWrite(m->S, &s));
  }
  m->k = 0;
  m->nonfinite = PETSC_FALSE;
  PetscCall(TSSetTime(m->ts, 0.0));
  PetscCall(TSSetStepNumber(m->ts, 0));
  PetscCall(TSSetTimeStep(m->ts, m->dt0));
  PetscCall(TSSolve(m->ts, m->X));
  PetscCall(TSGetConvergedReason(m->ts, &reason));
  m->nforward++;
  *ok = (reason >= 0 && m->k == m->nt && !m->nonfinite) ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

/* Whitened misfit of member b and dJ/dy into gy. */
PetscErrorCode InvMAPTSMemberMisfit(InvMAPTS m, PetscInt b, const PetscReal d[], PetscReal rho, PetscReal sd, PetscReal *f)
{
  const PetscInt nt = m->nt, no = m->model->nobs;
  PetscReal *r = m->work, *w = m->work + nt, *z = m->work + 2 * nt, s = 0;
  const PetscReal *yb = m->y + b * nt * no;
  PetscReal *gb = m->gy + b * nt * no;

  PetscFunctionBegin;
  for (PetscInt c = 0; c < no; c++) {
    for (PetscInt k = 0; k < nt; k++) r[k] = d[k * no + c] - yb[k * no + c];
    InvAR1Whiten(rho, sd, nt, r, w);
    for (PetscInt k = 0; k < nt; k++) s += w[k] * w[k];
    InvAR1WhitenTranspose(rho, sd, nt, w, z);
    for (PetscInt k = 0; k < nt; k++) gb[k * no + c] = -z[k];
  }
  *f = 0.5 * s;
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPTSMisfit(InvMAPTS m, PetscInt nb, const PetscReal theta[], const PetscReal *const d[], const PetscReal rho[],
                              const PetscReal sd[], PetscReal f[], PetscReal g[], PetscInt status[])
{
  const PetscInt np = m->model->nparam, ns = m->model->nstate;
  PetscBool ok;
  TSTrajectory tj;

  PetscFunctionBegin;
  PetscCheck(!m->sens, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONGSTATE, "This InvMAPTS computes sensitivities only");
  PetscCheck(nb >= 1 && nb <= m->bmax, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Batch of %" PetscInt_FMT " exceeds %" PetscInt_FMT, nb,
             m->bmax);
  PetscCheck(m->nt > 0 && m->setfromoptions, PETSC_COMM_SELF, PETSC_ERR_ORDER,
             "Set the observation times and call InvMAPTSSetFromOptions()");
  PetscCall(PetscLogEventBegin(INV_MAPObjective, 0, 0, 0, 0));
  /* unused slots integrate a copy of the first member with zero data weight */
  for (PetscInt b = 0; b < m->bmax; b++) PetscCall(PetscArraycpy(m->theta + b * np, theta + (b < nb ? b : 0) * np, np));
  m->nb = nb;
  PetscCall(TSGetTrajectory(m->ts, &tj));
  PetscCall(InvMAPTSForward(m, &ok));
  if (!ok) {
    PetscCall(TSTrajectoryReset(tj));
    PetscCall(PetscLogEventEnd(INV_MAPObjective, 0, 0, 0, 0));
    if (nb == 1) {
      f[0] = PETSC_INFINITY;
      if (g) PetscCall(PetscArrayzero(g, np));
      status[0] = INV_MAPTS_FAILED;
    } else { /* isolate the failing members */
      for (PetscInt b = 0; b < nb; b++)
        PetscCall(InvMAPTSMisfit(m, 1, theta + b * np, &d[b], &rho[b], &sd[b], &f[b], g ? g + b * np : NULL, &status[b]));
    }
    PetscFunctionReturn(0);
  }
  for (PetscInt b = 0; b < nb; b++) {
    status[b] = INV_MAPTS_OK;
    PetscCall(InvMAPTSMemberMisfit(m, b, d[b], rho[b], sd[b], &f[b]));
  }
  if (!g) {
    PetscCall(TSTrajectoryReset(tj));
    PetscCall(PetscLogEventEnd(INV_MAPObjective, 0, 0, 0, 0));
    PetscFunctionReturn(0);
  }
  PetscCall(VecZeroEntries(m->lambda));
  PetscCall(VecZeroEntries(m->mu));
  m->kadj = m->nt - 1;
  PetscCall(TSAdjointSolve(m->ts));
  m->nadjoint++;
  /* PETSc 3.18 does not call the adjoint monitor at the initial time: add the jump at t = 0 here */
  if (m->kadj == 0 && InvMAPTSAtTime(0.0, m->times[0])) {
    Vec l[1] = {m->lambda};
    PetscCall(InvMAPTSAdjointMonitor(m->ts, 0, 0.0, m->X, 1, l, &m->mu, m));
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
  }
  PetscCall(PetscLogEventEnd(INV_MAPObjective, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPTSSetUpSensitivities(InvMAPTS m)
{
  PetscFunctionBegin;
  if (m->child) PetscFunctionReturn(0);
  PetscCall(InvMAPTSCreateInternal(m->model, PetscMin(m->bmax, 128), m->prefix, PETSC_TRUE, PETSC_FALSE, &m->child));
  PetscCall(InvMAPTSSetObservationTimes(m->child, m->nt, m->times));
  PetscCall(InvMAPTSSetFromOptions(m->child));
  PetscFunctionReturn(0);
}

/* One TSForward solve for nb <= bmax members; a failed batch is retried member by member */
static PetscErrorCode InvMAPTSSensitivityBatch(InvMAPTS m, PetscInt nb, const PetscReal theta[], PetscReal y[], PetscReal S[],
                                               PetscBool ok[])
{
  InvMAPTS c = m->child;
  const PetscInt no = m->model->nobs, np = m->model->nparam, nt = m->nt;
  PetscBool done;

  PetscFunctionBegin;
  for (PetscInt b = 0; b < c->bmax; b++) PetscCall(PetscArraycpy(c->theta + b * np, theta + (b < nb ? b : 0) * np, np));
  c->nb = nb;
  PetscCall(InvMAPTSForward(c, &done));
  m->nforward++;
  if (done) {
    PetscCall(PetscArraycpy(y, c->y, nb * nt * no));
    PetscCall(PetscArraycpy(S, c->Sy, nb * nt * no * np));
    for (PetscInt b = 0; b < nb; b++) ok[b] = PETSC_TRUE;
  } else if (nb == 1)
    ok[0] = PETSC_FALSE;
  else
    for (PetscInt b = 0; b < nb; b++)
      PetscCall(InvMAPTSSensitivityBatch(m, 1, theta + b * np, y + b * nt * no, S + b * nt * no * np, &ok[b]));
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPTSSensitivities(InvMAPTS m, PetscInt nb, const PetscReal theta[], PetscReal y[], PetscReal S[], PetscBool ok[])
{
  const PetscInt no = m->model->nobs, np = m->model->nparam, nt = m->nt;

  PetscFunctionBegin;
  PetscCall(InvMAPTSSetUpSensitivities(m));
  for (PetscInt b0 = 0; b0 < nb; b0 += m->child->bmax) {
    const PetscInt mb = PetscMin(m->child->bmax, nb - b0);
    PetscCall(InvMAPTSSensitivityBatch(m, mb, theta + b0 * np, y + b0 * nt * no, S + b0 * nt * no * np, ok + b0));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPTSGetStats(InvMAPTS m, PetscInt64 *forward, PetscInt64 *adjoint, PetscInt64 *steps)
{
  PetscFunctionBegin;
  if (forward) *forward = m->nforward;
  if (adjoint) *adjoint = m->nadjoint;
  if (steps) *steps = m->nsteps + (m->child ? m->child->nsteps : 0) + (m->soachild ? m->soachild->nsteps : 0);
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPTSDescribe(InvMAPTS m, char desc[], size_t len)
{
  PetscFunctionBegin;
  PetscCall(InvTSDescribe(m->ts, m->dt0, m->bmax, desc, len));
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPTSDestroy(InvMAPTS *mts)
{
  InvMAPTS m = *mts;

  PetscFunctionBegin;
  if (!m) PetscFunctionReturn(0);
  PetscCall(InvMAPTSDestroy(&m->child));
  PetscCall(InvMAPTSDestroy(&m->soachild));
  PetscCall(InvMAPTSDestroySOA(m));
  PetscCall(TSDestroy(&m->ts));
  PetscCall(VecDestroy(&m->X));
  PetscCall(VecDestroy(&m->lambda));
  PetscCall(VecDestroy(&m->mu));
  PetscCall(MatDestroy(&m->J));
  PetscCall(MatDestroy(&m->Jp));
  PetscCall(InvMAPTSDestroyRKAdjoint(m));
  PetscCall(MatDestroy(&m->S));
  PetscCall(PetscFree4(m->ax, m->af, m->aj, m->ajp));
  PetscCall(PetscFree(m->theta));
  PetscCall(PetscFree(m->times));
  PetscCall(PetscFree(m->span));
  PetscCall(PetscFree(m->y));
  PetscCall(PetscFree(m->gy));
  PetscCall(PetscFree(m->Sy));
  PetscCall(PetscFree(m->work));
  PetscCall(PetscFree2(m->dy, m->dgy));
  PetscCall(PetscFree(m));
  *mts = NULL;
  PetscFunctionReturn(0);
}
