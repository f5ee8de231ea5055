/* InvBatchTS, sensitivity role: the observation sensitivities dy/dtheta of nb members for Gauss-Newton Hessians (RK:
   the variational equations integrated with the state, member by member, bitwise independent of the batch; theta
   methods: TSForward), and the recording of sensitivities and tangent-linear observations at the observation times
   (this role and the second-order one). A failed batch is redone member by member. */
#include "batchtsimpl.h"

/* Number of unknowns of one member in the augmented (state + sensitivity) system */
static inline PetscInt InvBatchTSAugSize(InvModel model)
{
  return model->nstate * (1 + model->nparam);
}

/* The variational equations with the state, member by member: x_b' = f(x_b), S_b' = J(x_b) S_b + Jp(x_b), where member
   b's block of Z is [x_b (ns), S_b (ns x np, row-major)]. An explicit RK step of this system at a fixed step is exactly
   the derivative of the same RK step of x' = f (internal = external differentiation for explicit RK), and every entry
   is computed from its own member's values only, in an order that does not depend on the member's slot or the batch
   size. PETSc's TSForward for RK updates the sensitivities with BLAS daxpy over the whole batch, whose rounding
   (fused multiply-add in the vector kernel, not in its tail) depends on the slot and the batch size. */
static PetscErrorCode InvBatchTSAugRHS(TS ts, PetscReal t, Vec Z, Vec F, void *ctx)
{
  InvBatchTS m = (InvBatchTS)ctx;
  const PetscInt ns = m->model->nstate, np = m->model->nparam, na = InvBatchTSAugSize(m->model);
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

/* Sensitivities with RK: the augmented system (InvBatchTSAugRHS) in place of X; with theta methods: TSForward */
PetscErrorCode InvBatchTSSetUpSensitivitySolve(InvBatchTS m, PetscBool isrk)
{
  const PetscInt ns = m->model->nstate, np = m->model->nparam;

  PetscFunctionBegin;
  if (m->aug || m->S) PetscFunctionReturn(0);
  if (isrk) {
    m->aug = PETSC_TRUE;
    PetscCall(VecDestroy(&m->X));
    PetscCall(VecCreateSeq(PETSC_COMM_SELF, m->bmax * InvBatchTSAugSize(m->model), &m->X));
    PetscCall(PetscMalloc4(m->bmax * ns, &m->ax, m->bmax * ns, &m->af, m->bmax * ns * ns, &m->aj, m->bmax * ns * np, &m->ajp));
    PetscCall(TSSetRHSFunction(m->ts, NULL, InvBatchTSAugRHS, m));
  } else {
    PetscCall(MatCreateSeqDense(PETSC_COMM_SELF, m->bmax * ns, np, NULL, &m->S));
    PetscCall(TSForwardSetSensitivities(m->ts, np, m->S));
  }
  PetscFunctionReturn(0);
}

/* The initial state of every member and, for the sensitivity role, its initial sensitivities dx0/dtheta:
   [x_b(0), S_b(0)] in the augmented state (RK), or the TSForward matrix S (theta methods). */
PetscErrorCode InvBatchTSInitialSensitivities(InvBatchTS m, PetscScalar x[])
{
  const PetscInt ns = m->model->nstate, np = m->model->nparam;

  PetscFunctionBegin;
  if (m->aug) {
    const PetscInt na = InvBatchTSAugSize(m->model);
    PetscCall(m->model->ops.initial(m->model, m->bmax, m->theta, m->ax));
    for (PetscInt b = 0; b < m->bmax; b++) {
      PetscScalar *zb = x + b * na;
      PetscCall(PetscArraycpy(zb, m->ax + b * ns, ns));
      if (m->model->ops.initial_jacobian)
        PetscCall(m->model->ops.initial_jacobian(m->model, 1, m->theta + b * np, zb + ns));
      else
        PetscCall(PetscArrayzero(zb + ns, ns * np));
    }
  } else {
    PetscScalar *s;
    const PetscInt ld = m->bmax * ns;
    PetscCall(m->model->ops.initial(m->model, m->bmax, m->theta, x));
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
  PetscFunctionReturn(0);
}

/* At observation time t_k (called by the observation monitor with the state x): H S_b of every member (sensitivity
   role, from the augmented state or TSForward's S), or the tangent-linear observations H dx (second-order role: one
   column, every member's own direction). */
PetscErrorCode InvBatchTSRecordSensitivities(InvBatchTS m, const PetscScalar x[])
{
  const PetscInt ns = m->model->nstate, no = m->model->nobs, np = m->model->nparam, nt = m->ntimes, ld = m->bmax * ns;
  const PetscReal *H = m->model->H;
  Mat S;
  const PetscScalar *s;

  PetscFunctionBegin;
  if (m->aug) { /* H S_b from the augmented state */
    const PetscInt stride = InvBatchTSAugSize(m->model);
    for (PetscInt b = 0; b < m->nb; b++) {
      const PetscScalar *Sb = x + b * stride + ns;
      for (PetscInt c = 0; c < no; c++)
        for (PetscInt j = 0; j < np; j++) {
          PetscReal v = 0;
          for (PetscInt i = 0; i < ns; i++) v += H[c * ns + i] * Sb[i * np + j];
          m->Sy[((b * nt + m->k) * no + c) * np + j] = v;
        }
    }
    PetscFunctionReturn(0);
  }
  PetscCall(TSForwardGetSensitivities(m->ts, NULL, &S));
  PetscCall(MatDenseGetArrayRead(S, &s)); /* column-major (bmax ns) x ncol: member b's rows b ns .. b ns + ns - 1 */
  if (m->role == INV_BATCHTS_SENSITIVITY)
    for (PetscInt b = 0; b < m->nb; b++)
      for (PetscInt c = 0; c < no; c++)
        for (PetscInt j = 0; j < np; j++) {
          PetscReal v = 0;
          for (PetscInt i = 0; i < ns; i++) v += H[c * ns + i] * s[b * ns + i + j * ld];
          m->Sy[((b * nt + m->k) * no + c) * np + j] = v;
        }
  else
    for (PetscInt b = 0; b < m->nb; b++)
      for (PetscInt c = 0; c < no; c++) {
        PetscReal v = 0;
        for (PetscInt i = 0; i < ns; i++) v += H[c * ns + i] * s[b * ns + i];
        m->dy[(b * nt + m->k) * no + c] = v;
      }
  PetscCall(MatDenseRestoreArrayRead(S, &s));
  PetscFunctionReturn(0);
}

PetscErrorCode InvBatchTSSetUpSensitivities(InvBatchTS m)
{
  PetscFunctionBegin;
  if (m->child) PetscFunctionReturn(0);
  PetscCall(InvBatchTSCreateRole(m->model, PetscMin(m->bmax, 128), m->prefix, INV_BATCHTS_SENSITIVITY, &m->child));
  PetscCall(InvBatchTSSetObservationTimes(m->child, m->ntimes, m->times));
  PetscCall(InvBatchTSSetFromOptions(m->child));
  PetscFunctionReturn(0);
}

/* One TSForward solve for nb <= bmax members; a failed batch is retried member by member */
static PetscErrorCode InvBatchTSSensitivityBatch(InvBatchTS m, PetscInt nb, const PetscReal theta[], PetscReal y[], PetscReal S[],
                                                 PetscBool ok[])
{
  InvBatchTS c = m->child;
  const PetscInt no = m->model->nobs, np = m->model->nparam, nt = m->ntimes;
  PetscBool done;
  TSConvergedReason reason;

  PetscFunctionBegin;
  PetscCall(InvBatchTSLoad(c, nb, theta));
  PetscCall(InvBatchTSRun(c, &done, &reason));
  m->solves++;
  if (done) {
    PetscCall(PetscArraycpy(y, c->ybuf, nb * nt * no));
    PetscCall(PetscArraycpy(S, c->Sy, nb * nt * no * np));
    for (PetscInt b = 0; b < nb; b++) ok[b] = PETSC_TRUE;
  } else if (nb == 1)
    ok[0] = PETSC_FALSE;
  else {
    c->fallbacks++;
    for (PetscInt b = 0; b < nb; b++)
      PetscCall(InvBatchTSSensitivityBatch(m, 1, theta + b * np, y + b * nt * no, S + b * nt * no * np, &ok[b]));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvBatchTSSensitivities(InvBatchTS m, PetscInt nb, const PetscReal theta[], PetscReal y[], PetscReal S[], PetscBool ok[])
{
  const PetscInt no = m->model->nobs, np = m->model->nparam, nt = m->ntimes;

  PetscFunctionBegin;
  PetscCall(InvBatchTSSetUpSensitivities(m));
  for (PetscInt b0 = 0; b0 < nb; b0 += m->child->bmax) {
    const PetscInt mb = PetscMin(m->child->bmax, nb - b0);
    PetscCall(InvBatchTSSensitivityBatch(m, mb, theta + b0 * np, y + b0 * nt * no, S + b0 * nt * no * np, ok + b0));
  }
  PetscFunctionReturn(0);
}
