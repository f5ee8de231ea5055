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
   and checks both against central differences); -map_adjoint_jacobian_in_jacobianp 0 restores PETSc's. */
#include "batchtsimpl.h"

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
  PetscFunctionReturn(0);
}

PetscErrorCode InvBatchTSDestroyRKAdjoint(InvBatchTS m)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(m->jblk.v));
  PetscCall(PetscFree(m->jpblk.v));
  PetscFunctionReturn(0);
}
