/* InvBatchTS, implicit integrators (every role): the batch's state Jacobian is block diagonal, one nstate x nstate
   block per member, so implicit TS types (theta/cn/beuler, bdf, arkimex) assemble it as MATSEQBAIJ with block size
   nstate (exactly one block per block row) and solve the Newton systems block by block with PCPBJACOBI + KSPPREONLY
   (exact: O(B nstate^3) per Newton step). These are defaults set before TSSetFromOptions, so -<prefix>ksp_type and
   -<prefix>pc_type still override them. Explicit RK keeps the AIJ Jacobian (and the shells of batchts_rkadjoint.c) of
   the adjoint roles unchanged. A stiff model (InvModel->stiff) selects implicit defaults (include/invmap/batchts.h). */
#include "batchtsimpl.h"

/* The block-diagonal BAIJ state Jacobian of bmax members, its blocks allocated (zero) */
PetscErrorCode InvBatchTSCreateBlockJacobian(InvModel model, PetscInt bmax, Mat *J)
{
  const PetscInt ns = model->nstate;
  PetscScalar zero[INV_MAX_PARAM * INV_MAX_PARAM] = {0};

  PetscFunctionBegin;
  PetscCheck(ns <= INV_MAX_PARAM, PETSC_COMM_SELF, PETSC_ERR_SUP, "Model %s: %" PetscInt_FMT " states exceed %d", model->type, ns,
             INV_MAX_PARAM);
  PetscCall(MatCreateSeqBAIJ(PETSC_COMM_SELF, ns, bmax * ns, bmax * ns, 1, NULL, J));
  for (PetscInt b = 0; b < bmax; b++) PetscCall(MatSetValuesBlocked(*J, 1, &b, 1, &b, zero, INSERT_VALUES));
  PetscCall(MatAssemblyBegin(*J, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*J, MAT_FINAL_ASSEMBLY));
  PetscCall(MatSetOption(*J, MAT_NEW_NONZERO_LOCATION_ERR, PETSC_TRUE));
  PetscFunctionReturn(0);
}

/* RHS Jacobian callback of the BAIJ matrix: the model's row-major blocks, inserted block by block */
PetscErrorCode InvBatchTSRHSJacobianBlocks(TS ts, PetscReal t, Vec X, Mat A, Mat P, void *ctx)
{
  InvBatchTS m = (InvBatchTS)ctx;
  const PetscInt ns = m->model->nstate;
  const PetscScalar *x;

  PetscFunctionBegin;
  if (!m->jwork) PetscCall(PetscMalloc1(m->bmax * ns * ns, &m->jwork));
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(m->model->ops.jacobian(m->model, t, m->bmax, x, m->theta, m->jwork));
  PetscCall(VecRestoreArrayRead(X, &x));
  for (PetscInt b = 0; b < m->bmax; b++) PetscCall(MatSetValuesBlocked(P, 1, &b, 1, &b, m->jwork + b * ns * ns, INSERT_VALUES));
  PetscCall(MatAssemblyBegin(P, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(P, MAT_FINAL_ASSEMBLY));
  if (A != P) {
    PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
    PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));
  }
  PetscFunctionReturn(0);
}

/* Before TSSetFromOptions: exact per-member Newton solves as the (overridable) default of the TS's SNES */
PetscErrorCode InvBatchTSSetSolverDefaults(TS ts)
{
  SNES snes;
  KSP ksp;
  PC pc;

  PetscFunctionBegin;
  PetscCall(TSGetSNES(ts, &snes));
  PetscCall(SNESGetKSP(snes, &ksp));
  PetscCall(KSPSetType(ksp, KSPPREONLY));
  PetscCall(KSPGetPC(ksp, &pc));
  PetscCall(PCSetType(pc, PCPBJACOBI));
  PetscFunctionReturn(0);
}

/* After TSSetFromOptions (any role): an implicit TS gets the BAIJ Jacobian; ARKIMEX, whose explicit part would be the
   whole right-hand side of an RHS-only model (unstable for stiff models), runs its fully implicit variant. */
PetscErrorCode InvBatchTSSetUpImplicit(InvBatchTS m)
{
  PetscBool isrk, isarkimex, isbaij;

  PetscFunctionBegin;
  PetscCall(PetscObjectTypeCompare((PetscObject)m->ts, TSRK, &isrk));
  if (isrk || !m->model->ops.jacobian) PetscFunctionReturn(0);
  PetscCall(PetscObjectTypeCompare((PetscObject)m->ts, TSARKIMEX, &isarkimex));
  if (isarkimex) PetscCall(TSARKIMEXSetFullyImplicit(m->ts, PETSC_TRUE));
  PetscCall(PetscObjectTypeCompare((PetscObject)m->J, MATSEQBAIJ, &isbaij));
  if (!isbaij) {
    PetscCall(MatDestroy(&m->J));
    PetscCall(InvBatchTSCreateBlockJacobian(m->model, m->bmax, &m->J));
  }
  PetscCall(TSSetRHSJacobian(m->ts, m->J, m->J, InvBatchTSRHSJacobianBlocks, m));
  PetscFunctionReturn(0);
}
