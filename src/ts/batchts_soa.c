/* InvBatchTS, second-order role: Hessian-vector products of the misfit (include/invmap/objective.h) by
   second-order adjoints with PETSc 3.18's own machinery (TSSetRHSHessianProduct, TSSetCostHessianProducts, TSAdjointSetForward, as in
   PETSc's ex20opt_p.c), extended to the 1000 interior observation times: the forward monitor records the tangent-linear observations H
   dx(t_k) along with y(t_k); after the forward pass dgy = W^T W (H dx) (the direction derivative of dJ/dy = -W^T W r, since r = d - y and
   dr = -H dx); the adjoint monitor adds H^T dgy_k to lambda2 at t_k next to the first-order jump H^T dJ/dy_k. mu2 is then the
   Hessian-vector product of the discrete misfit. Checked against PETSc 3.18.5 here: with the MEMORY trajectory the second-order sweep is
   wrong (it does not restore the tangent-linear state per step: Hv off by O(1) even for a terminal cost); with the BASIC trajectory it
   matches finite differences of adjoint gradients. So this solver uses BASIC, in a private directory (on /dev/shm when available,
   -map_soa_tmpdir otherwise), removed when the solver is destroyed. Members are independent, so one tangent column carries every member's
   own direction: a batch of np copies of a sample with directions e_1..e_np yields its full Hessian in one sweep. */
#include "batchtsimpl.h"
#include <unistd.h>

#define INV_BATCHTS_HP(name, op)                                                                                                           \
  static PetscErrorCode name(TS ts, PetscReal t, Vec U, Vec *Vl, Vec Vr, Vec *VHV, void *ctx)                                              \
  {                                                                                                                                        \
    InvBatchTS m = (InvBatchTS)ctx;                                                                                                        \
    const PetscScalar *x, *l, *r;                                                                                                          \
    PetscScalar *o;                                                                                                                        \
                                                                                                                                           \
    PetscFunctionBegin;                                                                                                                    \
    PetscCall(VecZeroEntries(VHV[0]));                                                                                                     \
    if (!m->model->ops.op) PetscFunctionReturn(0);                                                                                         \
    PetscCall(VecGetArrayRead(U, &x));                                                                                                     \
    PetscCall(VecGetArrayRead(Vl[0], &l));                                                                                                 \
    PetscCall(VecGetArrayRead(Vr, &r));                                                                                                    \
    PetscCall(VecGetArray(VHV[0], &o));                                                                                                    \
    PetscCall(m->model->ops.op(m->model, t, m->bmax, x, m->theta, l, r, o));                                                               \
    PetscCall(VecRestoreArrayRead(U, &x));                                                                                                 \
    PetscCall(VecRestoreArrayRead(Vl[0], &l));                                                                                             \
    PetscCall(VecRestoreArrayRead(Vr, &r));                                                                                                \
    PetscCall(VecRestoreArray(VHV[0], &o));                                                                                                \
    PetscFunctionReturn(0);                                                                                                                \
  }

/* lambda^T f_xx v (state), lambda^T f_xp v (state), lambda^T f_px v (parameters), lambda^T f_pp v (parameters) */
INV_BATCHTS_HP(InvBatchTSHessianUU, hessian_xx)
INV_BATCHTS_HP(InvBatchTSHessianUP, hessian_xp)
INV_BATCHTS_HP(InvBatchTSHessianPU, hessian_px)
INV_BATCHTS_HP(InvBatchTSHessianPP, hessian_pp)

/* Theta methods (batchts_implicit.c): PETSc 3.18's theta tangent-linear step adds the parameter Jacobian itself to its one
   tangent column (MatAXPY of ts->Jacp), so it needs a one-column JacobianP, while the adjoint sweep needs the full one
   (mu = Jp^T lambda). The forward pass therefore gets the one column Jp v (every member's own direction), the adjoint
   sweep the full Jp. Both are set as IJacobianP and as the RHS JacobianP matrix (without an RHS callback): with the
   same matrix in both places TSComputeIJacobianP (tssen.c) evaluates the callback and negates it, the IJacobianP of
   x' - f = 0. */
static PetscErrorCode InvBatchTSIJacobianPDir(TS ts, PetscReal t, Vec U, Vec Udot, PetscReal shift, Mat A, void *ctx)
{
  InvBatchTS m = (InvBatchTS)ctx;
  const PetscInt ns = m->model->nstate, np = m->model->nparam;
  const PetscScalar *x, *v;
  PetscScalar *a;

  PetscFunctionBegin;
  if (!m->jpwork) PetscCall(PetscMalloc1(m->bmax * ns * np, &m->jpwork));
  PetscCall(VecGetArrayRead(U, &x));
  PetscCall(m->model->ops.jacobianp(m->model, t, m->bmax, x, m->theta, m->jpwork));
  PetscCall(VecRestoreArrayRead(U, &x));
  PetscCall(VecGetArrayRead(m->dir, &v));
  PetscCall(MatDenseGetArrayWrite(A, &a));
  for (PetscInt b = 0; b < m->bmax; b++)
    for (PetscInt i = 0; i < ns; i++) {
      PetscScalar s = 0;
      for (PetscInt j = 0; j < np; j++) s += m->jpwork[(b * ns + i) * np + j] * v[b * np + j];
      a[b * ns + i] = s;
    }
  PetscCall(MatDenseRestoreArrayWrite(A, &a));
  PetscCall(VecRestoreArrayRead(m->dir, &v));
  PetscFunctionReturn(0);
}

static PetscErrorCode InvBatchTSIJacobianPFull(TS ts, PetscReal t, Vec U, Vec Udot, PetscReal shift, Mat A, void *ctx)
{
  InvBatchTS m = (InvBatchTS)ctx;
  const PetscScalar *x;
  PetscScalar *a;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(U, &x));
  PetscCall(MatSeqAIJGetArrayWrite(A, &a)); /* block-diagonal AIJ in the model's layout (batchts_adjoint.c) */
  PetscCall(m->model->ops.jacobianp(m->model, t, m->bmax, x, m->theta, a));
  PetscCall(MatSeqAIJRestoreArrayWrite(A, &a));
  PetscCall(VecRestoreArrayRead(U, &x));
  PetscFunctionReturn(0);
}

/* The one-column (forward pass) or the full (adjoint sweep) JacobianP of a theta method */
static PetscErrorCode InvBatchTSSOAJacobianP(InvBatchTS m, PetscBool dir)
{
  Mat A = dir ? m->Jdir : m->Jp;

  PetscFunctionBegin;
  PetscCall(TSSetRHSJacobianP(m->ts, A, NULL, NULL));
  PetscCall(TSSetIJacobianP(m->ts, A, dir ? InvBatchTSIJacobianPDir : InvBatchTSIJacobianPFull, m));
  PetscFunctionReturn(0);
}

/* After TSSetFromOptions: with a theta method, the JacobianP callbacks above in place of the RHS one */
PetscErrorCode InvBatchTSSetUpSOATheta(InvBatchTS m)
{
  PetscFunctionBegin;
  PetscCall(MatCreateSeqDense(PETSC_COMM_SELF, m->bmax * m->model->nstate, 1, NULL, &m->Jdir));
  PetscCall(InvBatchTSSOAJacobianP(m, PETSC_TRUE));
  PetscFunctionReturn(0);
}

/* Called by InvBatchTSCreateRole for the second-order role */
PetscErrorCode InvBatchTSSetUpSOA(InvBatchTS m)
{
  const PetscInt np = m->model->nparam;

  PetscFunctionBegin;
  PetscCheck(m->model->ops.hessian_xx || m->model->ops.hessian_xp || m->model->ops.hessian_px || m->model->ops.hessian_pp, PETSC_COMM_SELF,
             PETSC_ERR_SUP, "-map_hessian soa: model %s provides no second derivatives (hessian_xx, ...); use -map_hessian fd",
             m->model->type);
  PetscCheck(!m->model->ops.initial_jacobian, PETSC_COMM_SELF, PETSC_ERR_SUP,
             "-map_hessian soa: the initial state of model %s depends on the parameters and its second derivative is not available; use "
             "-map_hessian fd",
             m->model->type);
  PetscCall(VecDuplicate(m->X, &m->lambda));
  PetscCall(VecDuplicate(m->X, &m->lambda2));
  PetscCall(VecDuplicate(m->X, &m->ihp[0]));
  PetscCall(VecDuplicate(m->X, &m->ihp[1]));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, m->bmax * np, &m->mu));
  PetscCall(VecDuplicate(m->mu, &m->mu2));
  PetscCall(VecDuplicate(m->mu, &m->dir));
  PetscCall(VecDuplicate(m->mu, &m->ihp[2]));
  PetscCall(VecDuplicate(m->mu, &m->ihp[3]));
  PetscCall(TSSetSolution(m->ts, m->X)); /* TSAdjointSetForward sizes the tangent from it */
  PetscCall(TSSetSaveTrajectory(m->ts));
  PetscCall(TSAdjointMonitorSet(m->ts, InvBatchTSAdjointMonitor, m, NULL));
  PetscFunctionReturn(0);
}

#define INV_SOA_SCRATCH_PREFIX "invmap-soa-" /* then the owner tag (InvScratchOwnerTag) and a counter */

/* BASIC trajectory in a private directory (after TSSetFromOptions, which must not switch it to MEMORY) */
PetscErrorCode InvBatchTSSOATrajectory(InvBatchTS m)
{
  TSTrajectory tj;
  char base[PETSC_MAX_PATH_LEN] = "", tag[PETSC_MAX_PATH_LEN];
  PetscBool flg = PETSC_FALSE;
  static int count = 0;

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetString(NULL, NULL, "-map_soa_tmpdir", base, sizeof(base), &flg));
  if (!flg) {
    PetscCall(PetscTestDirectory("/dev/shm", 'w', &flg));
    if (flg)
      PetscCall(PetscStrncpy(base, "/dev/shm", sizeof(base)));
    else
      PetscCall(PetscGetTmp(PETSC_COMM_SELF, base, sizeof(base)));
  } else {
    PetscCall(PetscTestDirectory(base, 'w', &flg));
    PetscCheck(flg, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "-map_soa_tmpdir %s is not a writable directory", base);
  }
  if (!count) { /* once per process: remove what killed runs left in this directory (never a live run's) */
    PetscInt nstale;
    PetscCall(InvScratchRemoveStale(base, INV_SOA_SCRATCH_PREFIX, &nstale));
    if (nstale) PetscCall(PetscInfo(NULL, "removed %" PetscInt_FMT " scratch directories of dead runs from %s\n", nstale, base));
  }
  PetscCall(InvScratchOwnerTag(tag, sizeof(tag)));
  PetscCall(PetscSNPrintf(m->tjdir, sizeof(m->tjdir), "%s/" INV_SOA_SCRATCH_PREFIX "%s-%d", base, tag, count++));
  PetscCall(TSGetTrajectory(m->ts, &tj));
  PetscCall(TSTrajectorySetType(tj, m->ts, TSTRAJECTORYBASIC));
  PetscCall(TSTrajectorySetDirname(tj, m->tjdir));
  PetscCall(InvScratchRegister(m->tjdir));
  PetscFunctionReturn(0);
}

PetscErrorCode InvBatchTSDestroySOA(InvBatchTS m)
{
  PetscFunctionBegin;
  PetscCall(MatDestroy(&m->Jdir));
  PetscCall(PetscFree(m->jpwork));
  PetscCall(VecDestroy(&m->lambda2));
  PetscCall(VecDestroy(&m->mu2));
  PetscCall(VecDestroy(&m->dir));
  for (PetscInt i = 0; i < 4; i++) PetscCall(VecDestroy(&m->ihp[i]));
  if (m->role == INV_BATCHTS_SECOND_ORDER && m->tjdir[0]) { /* normally removed by TSTrajectoryDestroy already */
    PetscCall(TSDestroy(&m->ts));
    PetscCall(InvScratchRemove(m->tjdir));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvBatchTSSetUpSecondOrder(InvBatchTS m, PetscInt bmax)
{
  PetscFunctionBegin;
  if (m->soachild) PetscFunctionReturn(0);
  PetscCall(InvBatchTSCreateRole(m->model, bmax, m->prefix, INV_BATCHTS_SECOND_ORDER, &m->soachild));
  PetscCall(InvBatchTSSetObservationTimes(m->soachild, m->ntimes, m->times));
  PetscCall(InvBatchTSSetFromOptions(m->soachild));
  PetscFunctionReturn(0);
}

/* One sweep over nb <= bmax members */
static PetscErrorCode InvBatchTSHessianProductBatch(InvBatchTS m, PetscInt nb, const PetscReal theta[], const PetscReal v[],
                                                    const PetscReal *const d[], const PetscReal rho[], const PetscReal sd[], PetscReal Hv[],
                                                    PetscInt status[])
{
  const PetscInt np = m->model->nparam, nt = m->ntimes, no = m->model->nobs;
  PetscScalar *a;
  const PetscScalar *c;
  PetscBool ok;
  TSConvergedReason reason;
  PetscReal f;

  PetscFunctionBegin;
  PetscCall(InvBatchTSLoad(m, nb, theta));
  PetscCall(TSAdjointReset(m->ts));
  PetscCall(VecGetArrayWrite(m->dir, &a));
  for (PetscInt i = 0; i < m->bmax * np; i++) a[i] = i < nb * np ? v[i] : 0.0;
  PetscCall(VecRestoreArrayWrite(m->dir, &a));
  PetscCall(TSSetCostHessianProducts(m->ts, 1, &m->lambda2, &m->mu2, m->dir));
  if (m->Jdir) PetscCall(InvBatchTSSOAJacobianP(m, PETSC_TRUE)); /* theta: one column, Jp v */
  PetscCall(TSAdjointSetForward(m->ts, NULL));                   /* tangent-linear state starts at 0: x0 does not depend on theta */
  PetscCall(InvBatchTSRun(m, &ok, &reason));
  if (!ok) {
    PetscCall(TSAdjointResetForward(m->ts));
    if (nb == 1) {
      for (PetscInt j = 0; j < np; j++) Hv[j] = NAN;
      status[0] = InvBatchTSFailure(m, reason);
    } else { /* isolate the failing members */
      m->fallbacks++;
      for (PetscInt b = 0; b < nb; b++)
        PetscCall(InvBatchTSHessianProductBatch(m, 1, theta + b * np, v + b * np, &d[b], &rho[b], &sd[b], Hv + b * np, &status[b]));
    }
    PetscFunctionReturn(0);
  }
  for (PetscInt b = 0; b < nb; b++) { /* dJ/dy (the first-order jumps) and its direction derivative W^T W (H dx) */
    status[b] = INV_STATUS_OK;
    InvObjectiveMisfit(nt, no, d[b], m->ybuf + b * nt * no, rho[b], sd[b], m->work, &f, m->gy + b * nt * no);
    InvObjectiveMisfitHessianOutputs(nt, no, m->dy + b * nt * no, rho[b], sd[b], m->work, m->dgy + b * nt * no);
  }
  PetscCall(VecZeroEntries(m->lambda));
  PetscCall(VecZeroEntries(m->mu));
  PetscCall(VecZeroEntries(m->lambda2));
  PetscCall(VecZeroEntries(m->mu2));
  PetscCall(TSSetCostGradients(m->ts, 1, &m->lambda, &m->mu));
  PetscCall(TSSetRHSHessianProduct(m->ts, &m->ihp[0], InvBatchTSHessianUU, &m->ihp[1], InvBatchTSHessianUP, &m->ihp[2], InvBatchTSHessianPU,
                                   &m->ihp[3], InvBatchTSHessianPP, m));
  if (m->Jdir) PetscCall(InvBatchTSSOAJacobianP(m, PETSC_FALSE)); /* theta: the full Jp */
  m->kadj = m->ntimes - 1;
  PetscCall(TSAdjointSolve(m->ts));
  m->adjoints++;
  if (m->kadj == 0 && InvBatchTSAtTime(0.0, m->times[0])) { /* PETSc 3.18 skips the adjoint monitor at t = 0 */
    Vec l[1] = {m->lambda};
    PetscCall(InvBatchTSAdjointMonitor(m->ts, 0, 0.0, m->X, 1, l, &m->mu, m));
  }
  PetscCheck(m->kadj == -1, PETSC_COMM_SELF, PETSC_ERR_PLIB, "Second-order adjoint sweep missed %" PetscInt_FMT " observation times",
             m->kadj + 1);
  PetscCall(VecGetArrayRead(m->mu2, &c));
  for (PetscInt i = 0; i < nb * np; i++) Hv[i] = c[i];
  PetscCall(VecRestoreArrayRead(m->mu2, &c));
  PetscCall(TSAdjointResetForward(m->ts));
  PetscFunctionReturn(0);
}

PetscErrorCode InvBatchTSHessianProduct(InvBatchTS m, PetscInt nb, const PetscReal theta[], const PetscReal v[], const PetscReal *const d[],
                                        const PetscReal rho[], const PetscReal sd[], PetscReal Hv[], PetscInt status[])
{
  const PetscInt np = m->model->nparam;
  InvBatchTS s = m->soachild;

  PetscFunctionBegin;
  PetscCheck(s, PETSC_COMM_SELF, PETSC_ERR_ORDER, "Call InvBatchTSSetUpSecondOrder() first");
  for (PetscInt b0 = 0; b0 < nb; b0 += s->bmax) {
    const PetscInt n = PetscMin(s->bmax, nb - b0);
    PetscCall(InvBatchTSHessianProductBatch(s, n, theta + b0 * np, v + b0 * np, d + b0, rho + b0, sd + b0, Hv + b0 * np, status + b0));
  }
  PetscFunctionReturn(0);
}
