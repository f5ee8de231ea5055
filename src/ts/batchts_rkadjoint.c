/* InvBatchTS, gradient role with explicit RK: the lean first-order RK adjoint.

   PETSc 3.18's TSAdjointStep_RK, at every stage of every step, evaluates the state Jacobian through
   SNESComputeJacobian (which looks up a dozen -snes_* debugging options per call), then the parameter
   Jacobian at the same stage state, and only then applies the transposes of both. With B members per
   TS that fixed cost per step dominated the adjoint for B < 256, and so did the AIJ transpose kernel
   for these 2x2 blocks. So, in this role:
   - the parameter-Jacobian callback evaluates both Jacobians (same state, same time, before use);
   - a Jacobian lag of -1 makes SNESComputeJacobian return at once;
   - both matrices are shells that apply their member blocks (the model's own layout) directly.
   The values are the same as through SNES and AIJ (tests/test_map_gradient.c compares the two paths
   and checks both against central differences); -map_adjoint_jacobian_in_jacobianp 0 restores PETSc's.

   The trajectory: PETSc's MEMORY trajectory copied the state and every stage into per-step Vecs after each
   step and back before each adjoint step, with a dozen calls of bookkeeping per step (more time than the
   forward step itself). Here a post-step hook copies the stages into one contiguous array, and the adjoint
   sweep (InvBatchTSRKAdjointSolve) runs TSAdjointStep_RK's operations of PETSc 3.18 in its order, with the
   same Vec and Mat calls, straight from that array: the gradients are bitwise those of TSAdjointSolve. */
#include "batchtsimpl.h"

#define INV_BATCHTS_RK_RECORD_MIN 64 /* steps the stage record holds at first (it doubles when full) */

/* y_b = A_b^T x_b for every member block b (A_b: rows x cols, row-major). The adjoint step applies only the
   transposes, so the shells define no MatMult (a caller that needs one gets PETSc's "no method" error). */
static PetscErrorCode InvBatchTSBlockMultTranspose(Mat A, Vec x, Vec y)
{
  InvBatchTSBlock *blk;
  const PetscScalar *xa;
  PetscScalar *ya;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(A, &blk));
  PetscCall(VecGetArrayRead(x, &xa));
  PetscCall(VecGetArrayWrite(y, &ya));
  if (blk->rows == 2 && blk->cols == 2) { /* two states, two parameters (FHN), unrolled */
    const PetscScalar *restrict v = blk->v, *restrict xx = xa;
    PetscScalar *restrict yy = ya;
    for (PetscInt b = 0; b < blk->nb; b++) {
      yy[2 * b] = v[4 * b] * xx[2 * b] + v[4 * b + 2] * xx[2 * b + 1];
      yy[2 * b + 1] = v[4 * b + 1] * xx[2 * b] + v[4 * b + 3] * xx[2 * b + 1];
    }
  } else
    for (PetscInt b = 0; b < blk->nb; b++) {
      const PetscScalar *v = blk->v + b * blk->rows * blk->cols, *xb = xa + b * blk->rows;
      PetscScalar *yb = ya + b * blk->cols;
      for (PetscInt j = 0; j < blk->cols; j++) {
        PetscScalar sum = 0;
        for (PetscInt i = 0; i < blk->rows; i++) sum += v[i * blk->cols + j] * xb[i];
        yb[j] = sum;
      }
    }
  PetscCall(VecRestoreArrayRead(x, &xa));
  PetscCall(VecRestoreArrayWrite(y, &ya));
  PetscFunctionReturn(0);
}

static PetscErrorCode InvBatchTSBlockShell(InvBatchTSBlock *blk, PetscInt nb, PetscInt rows, PetscInt cols, Mat *A)
{
  PetscFunctionBegin;
  blk->nb = nb;
  blk->rows = rows;
  blk->cols = cols;
  PetscCall(PetscCalloc1(nb * rows * cols, &blk->v));
  PetscCall(MatCreateShell(PETSC_COMM_SELF, nb * rows, nb * cols, nb * rows, nb * cols, blk, A));
  PetscCall(MatShellSetOperation(*A, MATOP_MULT_TRANSPOSE, (void (*)(void))InvBatchTSBlockMultTranspose));
  PetscFunctionReturn(0);
}

/* Both Jacobians at the stage state (called by TSAdjointStep_RK before it applies either) */
static PetscErrorCode InvBatchTSRKJacobians(TS ts, PetscReal t, Vec X, Mat A, void *ctx)
{
  InvBatchTS m = (InvBatchTS)ctx;
  const PetscScalar *x;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(m->model->ops.jacobianp(m->model, t, m->bmax, x, m->theta, m->jpblk.v));
  PetscCall(m->model->ops.jacobian(m->model, t, m->bmax, x, m->theta, m->jblk.v));
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscFunctionReturn(0);
}

/* Not reached while the lag is -1; kept correct for any other caller */
static PetscErrorCode InvBatchTSRKJacobian(TS ts, PetscReal t, Vec X, Mat A, Mat B, void *ctx)
{
  InvBatchTS m = (InvBatchTS)ctx;
  const PetscScalar *x;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(m->model->ops.jacobian(m->model, t, m->bmax, x, m->theta, m->jblk.v));
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscFunctionReturn(0);
}

/* Post-step hook: append the accepted step's stages and its start and end times (what the MEMORY trajectory kept) */
static PetscErrorCode InvBatchTSRKRecord(TS ts)
{
  InvBatchTS m;
  PetscInt s;
  Vec *Y;
  PetscInt n;

  PetscFunctionBegin;
  PetscCall(TSGetApplicationContext(ts, &m));
  PetscCall(TSGetStages(ts, &s, &Y));
  n = m->bmax * m->model->nstate;
  if (m->rksteps == 0 && s != m->rks) { /* first step with this tableau */
    PetscCall(PetscFree(m->rkY));
    PetscCall(PetscFree(m->rkt));
    m->rkcap = 0;
    m->rks = s;
  }
  PetscCheck(s == m->rks, PETSC_COMM_SELF, PETSC_ERR_PLIB, "RK stage count changed during a solve (%" PetscInt_FMT " -> %" PetscInt_FMT ")",
             m->rks, s);
  if (m->rksteps == m->rkcap) { /* grow geometrically */
    const PetscInt cap = PetscMax(2 * m->rkcap, INV_BATCHTS_RK_RECORD_MIN);
    PetscScalar *y;
    PetscReal *t;
    PetscCall(PetscMalloc1((size_t)cap * s * n, &y));
    PetscCall(PetscMalloc1(2 * cap, &t));
    if (m->rksteps) {
      PetscCall(PetscArraycpy(y, m->rkY, (size_t)m->rksteps * s * n));
      PetscCall(PetscArraycpy(t, m->rkt, 2 * m->rksteps));
    }
    PetscCall(PetscFree(m->rkY));
    PetscCall(PetscFree(m->rkt));
    m->rkY = y;
    m->rkt = t;
    m->rkcap = cap;
  }
  for (PetscInt i = 0; i < s; i++) {
    const PetscScalar *y;
    PetscCall(VecGetArrayRead(Y[i], &y));
    PetscCall(PetscArraycpy(m->rkY + ((size_t)m->rksteps * s + i) * n, y, n));
    PetscCall(VecRestoreArrayRead(Y[i], &y));
  }
  PetscCall(TSGetPrevTime(ts, &m->rkt[2 * m->rksteps]));
  PetscCall(TSGetTime(ts, &m->rkt[2 * m->rksteps + 1]));
  m->rksteps++;
  PetscFunctionReturn(0);
}

/* The adjoint sweep over the recorded steps, last to first: at each step's end time the adjoint monitor (the
   observation jumps), then TSAdjointStep_RK's stage loop (PETSc 3.18, no quadrature, one cost function) with
   t and h = t_prev - t as the MEMORY trajectory restored them. lambda and mu hold the final-time values. */
PetscErrorCode InvBatchTSRKAdjointSolve(InvBatchTS m)
{
  const PetscInt n = m->bmax * m->model->nstate;
  PetscInt s;
  const PetscReal *A, *b, *c;
  PetscBool fsal;
  Vec l[1] = {m->lambda};

  PetscFunctionBegin;
  PetscCall(TSRKGetTableau(m->ts, &s, &A, &b, &c, NULL, NULL, NULL, &fsal));
  PetscCheck(m->rksteps == 0 || s == m->rks, PETSC_COMM_SELF, PETSC_ERR_PLIB, "RK tableau changed after the forward solve");
  if (!m->rkdl) { /* the work vectors of TSAdjointSetUp_RK; the FSAL stage's increment stays zero */
    PetscCall(VecDuplicateVecs(m->lambda, s, &m->rkdl));
    for (PetscInt i = 0; i < s; i++) PetscCall(VecZeroEntries(m->rkdl[i]));
    PetscCall(VecDuplicate(m->lambda, &m->rktmp));
    PetscCall(VecDuplicate(m->mu, &m->rkdmu));
    PetscCall(PetscMalloc1(s, &m->rkw));
    m->rks = s;
  }
  for (PetscInt k = m->rksteps - 1; k >= 0; k--) {
    const PetscReal t = m->rkt[2 * k + 1], h = m->rkt[2 * k] - t;
    PetscCall(InvBatchTSAdjointMonitor(m->ts, k + 1, t, m->X, 1, l, &m->mu, m));
    for (PetscInt i = s - 1; i >= 0; i--) {
      const PetscScalar *y = m->rkY + ((size_t)k * s + i) * n;
      const PetscReal stage_time = t + h * (1.0 - c[i]);
      if (fsal && i == s - 1) continue;
      PetscCall(m->model->ops.jacobianp(m->model, stage_time, m->bmax, y, m->theta, m->jpblk.v));
      PetscCall(m->model->ops.jacobian(m->model, stage_time, m->bmax, y, m->theta, m->jblk.v));
      for (PetscInt j = i + 1; j < s; j++) m->rkw[j - i - 1] = b[i] ? A[j * s + i] / b[i] : A[j * s + i];
      if (b[i]) {
        PetscCall(VecCopy(m->lambda, m->rktmp));
        PetscCall(VecMAXPY(m->rktmp, s - i - 1, m->rkw, &m->rkdl[i + 1]));
        PetscCall(MatMultTranspose(m->J, m->rktmp, m->rkdl[i]));
        PetscCall(VecScale(m->rkdl[i], -h * b[i]));
      } else {
        PetscCall(VecSet(m->rktmp, 0));
        PetscCall(VecMAXPY(m->rktmp, s - i - 1, m->rkw, &m->rkdl[i + 1]));
        PetscCall(MatMultTranspose(m->J, m->rktmp, m->rkdl[i]));
        PetscCall(VecScale(m->rkdl[i], -h));
      }
      PetscCall(MatMultTranspose(m->Jp, m->rktmp, m->rkdmu));
      PetscCall(VecScale(m->rkdmu, b[i] ? -h * b[i] : -h));
      PetscCall(VecAXPY(m->mu, 1., m->rkdmu));
    }
    for (PetscInt j = 0; j < s; j++) m->rkw[j] = 1.0;
    PetscCall(VecMAXPY(m->lambda, s, m->rkw, m->rkdl));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvBatchTSSetUpRKAdjoint(InvBatchTS m)
{
  const PetscInt ns = m->model->nstate, np = m->model->nparam;
  SNES snes;

  PetscFunctionBegin;
  PetscCall(MatDestroy(&m->J));
  PetscCall(MatDestroy(&m->Jp));
  PetscCall(InvBatchTSBlockShell(&m->jblk, m->bmax, ns, ns, &m->J));
  PetscCall(InvBatchTSBlockShell(&m->jpblk, m->bmax, ns, np, &m->Jp));
  PetscCall(TSSetRHSJacobian(m->ts, m->J, m->J, InvBatchTSRKJacobian, m));
  PetscCall(TSSetRHSJacobianP(m->ts, m->Jp, InvBatchTSRKJacobians, m));
  PetscCall(TSGetSNES(m->ts, &snes));
  PetscCall(SNESSetLagJacobian(snes, -1));
  PetscCall(TSRemoveTrajectory(m->ts)); /* the post-step hook records what the adjoint sweep needs */
  PetscCall(TSSetPostStep(m->ts, InvBatchTSRKRecord));
  PetscFunctionReturn(0);
}

PetscErrorCode InvBatchTSDestroyRKAdjoint(InvBatchTS m)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(m->jblk.v));
  PetscCall(PetscFree(m->jpblk.v));
  PetscCall(PetscFree(m->rkY));
  PetscCall(PetscFree(m->rkt));
  if (m->rkdl) PetscCall(VecDestroyVecs(m->rks, &m->rkdl));
  PetscCall(VecDestroy(&m->rktmp));
  PetscCall(VecDestroy(&m->rkdmu));
  PetscCall(PetscFree(m->rkw));
  PetscFunctionReturn(0);
}
