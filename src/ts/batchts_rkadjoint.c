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

   The trajectory and the per-step fixed cost: PETSc's MEMORY trajectory copied the state and every stage
   into per-step Vecs after each step and back before each adjoint step, and TSStep/TSAdjointStep add a few
   dozen calls of bookkeeping per step; with 32-64 members per rank that fixed cost exceeded the members'
   arithmetic, so 2 ranks barely beat 1 (issue 11). Here:
   - a post-step hook copies the stages into one contiguous array (no trajectory), and the adjoint sweep
     (InvBatchTSRKAdjointSolve) runs TSAdjointStep_RK's arithmetic of PETSc 3.18 on raw arrays from it;
   - at a fixed step (adaptivity none) the first TSSolve also records the step grid, and later forward
     passes (InvBatchTSRKForward) run TSStep_RK's arithmetic over that grid without TSSolve.
   Both reproduce PETSc's operation order (VecMAXPY_Seq's grouping, no fused multiply-add), so MAP outputs
   are bitwise those of TSSolve + TSAdjointSolve (bench/map_bitwise.sh compares two builds' outputs). */
#include "batchtsimpl.h"

#define INV_BATCHTS_RK_RECORD_MIN 64 /* steps the stage record holds at first (it doubles when full) */
#define INV_BATCHTS_RK_MAX_STAGES 16 /* more than any TSRK tableau of PETSc 3.18 */
/* The adjoint sweep reproduces libpetsc's arithmetic, which has no fused multiply-add: no contraction (GCC; clang: the
   pragma inside the functions) */
#if defined(__GNUC__) && !defined(__clang__)
#define INV_NO_CONTRACT __attribute__((optimize("fp-contract=off")))
#else
#define INV_NO_CONTRACT
#endif

/* y_b = alpha A_b^T x_b (add: y_b += alpha A_b^T x_b) for every member block b (A_b: rows x cols, row-major): each entry's
   sum, times alpha, then stored or added (the shell: alpha 1, an exact product). Scaling in the same loop spares the
   sweep a second pass whose wide loads would wait on these narrow stores. Not inlined, one definition: the shell and the
   adjoint sweep form every sum the same way (no contraction; the compiler may specialise it for the constant add). */
static __attribute__((noinline)) void InvBatchTSBlockApplyTranspose(const InvBatchTSBlock *blk, PetscInt nb, const PetscScalar *xa,
                                                                    PetscScalar alpha, PetscBool add, PetscScalar *ya)
{
  if (blk->rows == 2 && blk->cols == 2) { /* two states, two parameters (FHN), unrolled */
    const PetscScalar *restrict v = blk->v, *restrict xx = xa;
    PetscScalar *restrict yy = ya;
    for (PetscInt b = 0; b < nb; b++) {
      const PetscScalar y0 = (v[4 * b] * xx[2 * b] + v[4 * b + 2] * xx[2 * b + 1]) * alpha;
      const PetscScalar y1 = (v[4 * b + 1] * xx[2 * b] + v[4 * b + 3] * xx[2 * b + 1]) * alpha;
      if (add) {
        yy[2 * b] += y0;
        yy[2 * b + 1] += y1;
      } else {
        yy[2 * b] = y0;
        yy[2 * b + 1] = y1;
      }
    }
  } else
    for (PetscInt b = 0; b < nb; b++) {
      const PetscScalar *v = blk->v + b * blk->rows * blk->cols, *xb = xa + b * blk->rows;
      PetscScalar *yb = ya + b * blk->cols;
      for (PetscInt j = 0; j < blk->cols; j++) {
        PetscScalar sum = 0;
        for (PetscInt i = 0; i < blk->rows; i++) sum += v[i * blk->cols + j] * xb[i];
        sum *= alpha;
        if (add)
          yb[j] += sum;
        else
          yb[j] = sum;
      }
    }
}

/* The shells' MatMultTranspose. The adjoint step applies only the transposes, so the shells define no MatMult (a
   caller that needs one gets PETSc's "no method" error). */
static PetscErrorCode InvBatchTSBlockMultTranspose(Mat A, Vec x, Vec y)
{
  InvBatchTSBlock *blk;
  const PetscScalar *xa;
  PetscScalar *ya;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(A, &blk));
  PetscCall(VecGetArrayRead(x, &xa));
  PetscCall(VecGetArrayWrite(y, &ya));
  InvBatchTSBlockApplyTranspose(blk, blk->nb, xa, 1.0, PETSC_FALSE, ya);
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

/* Room for step rksteps in the step times (rkt, rkh). At a fixed step the first allocation holds the span's steps
   (span / dt, +2 for rounding), so the first solve does not grow the record by repeated doubling and copying. */
static PetscErrorCode InvBatchTSRKReserve(InvBatchTS m, PetscInt s)
{
  PetscFunctionBegin;
  if (m->rksteps == 0 && s != m->rks) { /* first step with this tableau */
    PetscCall(PetscFree(m->rkY));
    PetscCall(PetscFree2(m->rkt, m->rkh));
    m->rkcap = 0;
    m->rkYcap = 0;
    m->rks = s;
  }
  PetscCheck(s == m->rks, PETSC_COMM_SELF, PETSC_ERR_PLIB, "RK stage count changed during a solve (%" PetscInt_FMT " -> %" PetscInt_FMT ")",
             m->rks, s);
  if (m->rksteps == m->rkcap) { /* grow geometrically */
    PetscInt cap = PetscMax(2 * m->rkcap, INV_BATCHTS_RK_RECORD_MIN);
    PetscReal *t, *h;
    if (!m->rkcap && m->nspan >= 2) {
      TSAdapt adapt;
      TSAdaptType atype;
      PetscBool none;
      PetscCall(TSGetAdapt(m->ts, &adapt));
      PetscCall(TSAdaptGetType(adapt, &atype));
      PetscCall(PetscStrcmp(atype, TSADAPTNONE, &none));
      if (none) cap = PetscMax(cap, (PetscInt)((m->span[m->nspan - 1] - m->span[0]) / m->dt0) + 2);
    }
    PetscCall(PetscMalloc2(2 * cap, &t, cap, &h));
    if (m->rksteps) {
      PetscCall(PetscArraycpy(t, m->rkt, 2 * m->rksteps));
      PetscCall(PetscArraycpy(h, m->rkh, m->rksteps));
    }
    PetscCall(PetscFree2(m->rkt, m->rkh));
    m->rkt = t;
    m->rkh = h;
    m->rkcap = cap;
  }
  PetscFunctionReturn(0);
}

/* At least need entries in the stage record rkY, keeping its first keep entries */
static PetscErrorCode InvBatchTSRKReserveStages(InvBatchTS m, size_t need, size_t keep)
{
  PetscScalar *y;

  PetscFunctionBegin;
  if (need <= m->rkYcap) PetscFunctionReturn(0);
  PetscCall(PetscMalloc1(need, &y));
  if (keep) PetscCall(PetscArraycpy(y, m->rkY, keep));
  PetscCall(PetscFree(m->rkY));
  m->rkY = y;
  m->rkYcap = need;
  PetscFunctionReturn(0);
}

/* Post-stage hook: the step size TSStep_RK uses (read at its first stage; a retried step overwrites it) */
static PetscErrorCode InvBatchTSRKRecordStep(TS ts, PetscReal t, PetscInt stage, Vec *Y)
{
  InvBatchTS m;
  PetscInt s;

  PetscFunctionBegin;
  if (stage) PetscFunctionReturn(0);
  PetscCall(TSGetApplicationContext(ts, &m));
  PetscCall(TSGetStages(ts, &s, NULL));
  PetscCall(InvBatchTSRKReserve(m, s));
  PetscCall(TSGetTimeStep(ts, &m->rkh[m->rksteps]));
  PetscFunctionReturn(0);
}

/* Post-step hook: append the accepted step's stages and its start and end times (what the MEMORY trajectory kept) */
static PetscErrorCode InvBatchTSRKRecord(TS ts)
{
  InvBatchTS m;
  PetscInt s, n;
  Vec *Y;

  PetscFunctionBegin;
  PetscCall(TSGetApplicationContext(ts, &m));
  PetscCall(TSGetStages(ts, &s, &Y));
  n = m->bmax * m->model->nstate;
  PetscCall(InvBatchTSRKReserve(m, s));
  PetscCall(InvBatchTSRKReserveStages(m, (size_t)m->rkcap * s * n, (size_t)m->rksteps * s * n));
  for (PetscInt i = 0; i < s; i++) {
    const PetscScalar *y;
    PetscCall(VecGetArrayRead(Y[i], &y));
    PetscCall(PetscArraycpy(m->rkY + ((size_t)m->rksteps * s + i) * n, y, n));
    PetscCall(VecRestoreArrayRead(Y[i], &y));
  }
  m->rkm = m->bmax;
  PetscCall(TSGetPrevTime(ts, &m->rkt[2 * m->rksteps]));
  PetscCall(TSGetTime(ts, &m->rkt[2 * m->rksteps + 1]));
  m->rksteps++;
  PetscFunctionReturn(0);
}

/* y = y0 + sum_{j < nv} a_j x_j with the arithmetic of PETSc 3.18's VecMAXPY_Seq (its plain C kernels, as Debian's libpetsc
   has them) on y = y0: first the nv mod 4 leading terms, then groups of four, each group's products summed left to right
   and then added to y. libpetsc is built for baseline x86-64, without fused multiply-add, so no contraction here
   either. With y0 != y the copy of y0 into y is fused with the first group (y0 + t is the sum VecMAXPY forms after a
   copy); y0 == y is VecMAXPY itself. Inlined: with one or two members per solve the calls cost more than the sums. */
static inline INV_NO_CONTRACT void InvBatchTSMAXPY(PetscInt n, PetscScalar *y, const PetscScalar *y0, PetscInt nv, const PetscScalar *a,
                                                   const PetscScalar *const *x)
{
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  const PetscInt rem = nv & 0x3;
  PetscInt j = rem;

  if (rem == 1)
    for (PetscInt i = 0; i < n; i++) y[i] = y0[i] + a[0] * x[0][i];
  else if (rem == 2)
    for (PetscInt i = 0; i < n; i++) y[i] = y0[i] + (a[0] * x[0][i] + a[1] * x[1][i]);
  else if (rem == 3)
    for (PetscInt i = 0; i < n; i++) y[i] = y0[i] + (a[0] * x[0][i] + a[1] * x[1][i] + a[2] * x[2][i]);
  else if (nv >= 4) {
    for (PetscInt i = 0; i < n; i++) y[i] = y0[i] + (a[0] * x[0][i] + a[1] * x[1][i] + a[2] * x[2][i] + a[3] * x[3][i]);
    j = 4;
  } else if (y != y0)
    for (PetscInt i = 0; i < n; i++) y[i] = y0[i];
  for (; j < nv; j += 4)
    for (PetscInt i = 0; i < n; i++) y[i] += a[j] * x[j][i] + a[j + 1] * x[j + 1][i] + a[j + 2] * x[j + 2][i] + a[j + 3] * x[j + 3][i];
}

/* A stage of the forward pass, Y = x + sum_{j < nv} w_j K_j (InvBatchTSMAXPY's arithmetic), and the domain check's
   verdict (InvBatchTSStateOK's) taken on the fresh values instead of reloading them (the reload of entries just stored
   by wider vector stores stalled); tableaus with more than 3 earlier stages take the two steps apart */
static inline INV_NO_CONTRACT PetscBool InvBatchTSRKStage(PetscInt n, PetscScalar *Y, const PetscScalar *x, PetscInt nv,
                                                          const PetscScalar *w, const PetscScalar *const *K)
{
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  const PetscReal lim = InvBatchTSStateEntryLimit(n);
  int small = 1;

  if (nv >= 4) {
    InvBatchTSMAXPY(n, Y, x, nv, w, K);
    return InvBatchTSStateOK(n, Y);
  }
  if (nv == 0)
    for (PetscInt i = 0; i < n; i++) {
      const PetscScalar v = x[i];
      Y[i] = v;
      small &= (v * v <= lim);
    }
  else if (nv == 1)
    for (PetscInt i = 0; i < n; i++) {
      const PetscScalar v = x[i] + w[0] * K[0][i];
      Y[i] = v;
      small &= (v * v <= lim);
    }
  else if (nv == 2)
    for (PetscInt i = 0; i < n; i++) {
      const PetscScalar v = x[i] + (w[0] * K[0][i] + w[1] * K[1][i]);
      Y[i] = v;
      small &= (v * v <= lim);
    }
  else
    for (PetscInt i = 0; i < n; i++) {
      const PetscScalar v = x[i] + (w[0] * K[0][i] + w[1] * K[1][i] + w[2] * K[2][i]);
      Y[i] = v;
      small &= (v * v <= lim);
    }
  return small ? PETSC_TRUE : InvBatchTSStateSumOK(n, Y);
}

/* The adjoint sweep reads the record backwards, block by block, which the hardware prefetchers follow poorly: with
   32-64 members the loads of the stage states stalled for a third of the sweep. It asks for the stages of the step
   that many steps ahead (no effect on the values). */
#define INV_BATCHTS_RK_PREFETCH_STEPS 2
#define INV_BATCHTS_RK_CACHE_LINE     64 /* bytes */

static inline void InvBatchTSRKPrefetch(const PetscScalar *p, size_t len)
{
#if defined(__GNUC__)
  for (size_t q = 0; q < len; q += INV_BATCHTS_RK_CACHE_LINE / sizeof(PetscScalar)) __builtin_prefetch(p + q);
#endif
}

/* The adjoint sweep over the recorded steps, last to first: at each step's end time the observation jump (what the
   adjoint monitor adds), then TSAdjointStep_RK's stage loop (PETSc 3.18, no quadrature, one cost function) with
   t and h = t_prev - t as the MEMORY trajectory restored them. Its Vec operations other than VecMAXPY are exact
   (copies, one product per entry in VecScale, and VecAXPY with alpha 1 is one sum), so the loops below give its
   values bitwise. lambda and mu hold the final-time values on entry. */
INV_NO_CONTRACT PetscErrorCode InvBatchTSRKAdjointSolve(InvBatchTS m)
{
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  const PetscInt nm = m->rkm, ns = m->model->nstate, np = m->model->nparam, n = nm * ns; /* the record's members */
  const PetscBool onecall = m->model->autonomous; /* the Jacobians of all stages of a step in one call of each */
  PetscInt s;
  const PetscReal *A, *b, *c;
  PetscBool fsal;
  PetscScalar *lam, *mu;
  const PetscScalar *dl[INV_BATCHTS_RK_MAX_STAGES];
  PetscReal aw[INV_BATCHTS_RK_MAX_STAGES * INV_BATCHTS_RK_MAX_STAGES];

  PetscFunctionBegin;
  PetscCall(TSRKGetTableau(m->ts, &s, &A, &b, &c, NULL, NULL, NULL, &fsal));
  PetscCheck(m->rksteps == 0 || s == m->rks, PETSC_COMM_SELF, PETSC_ERR_PLIB, "RK tableau changed after the forward solve");
  PetscCheck(s <= INV_BATCHTS_RK_MAX_STAGES, PETSC_COMM_SELF, PETSC_ERR_SUP, "RK tableau with %" PetscInt_FMT " stages, more than %d", s,
             INV_BATCHTS_RK_MAX_STAGES);
  if (!m->rkdl) { /* the FSAL stage's increment stays zero, as in TSAdjointStep_RK; sized for every member */
    const PetscInt nfull = m->bmax * m->model->nstate;
    PetscCall(PetscCalloc3(s * nfull, &m->rkdl, nfull, &m->rktmp, s, &m->rkw));
    m->rks = s;
  }
  for (PetscInt i = 0; i < s; i++) dl[i] = m->rkdl + i * n;
  if (onecall) { /* a step's s stage records are contiguous: s x nm members, each stage's with its members' parameters */
    if (!m->rkJ)
      PetscCall(PetscMalloc3(INV_BATCHTS_RK_MAX_STAGES * m->bmax * ns * ns, &m->rkJ, INV_BATCHTS_RK_MAX_STAGES * m->bmax * ns * np,
                             &m->rkJp, INV_BATCHTS_RK_MAX_STAGES * m->bmax * np, &m->rkth));
    for (PetscInt i = 0; i < s; i++) PetscCall(PetscArraycpy(m->rkth + i * nm * np, m->theta, nm * np));
  }
  for (PetscInt i = 0; i < s; i++) /* the weights of the stage increments in lambda's stage value, once per sweep */
    for (PetscInt j = i + 1; j < s; j++) aw[i * s + j] = b[i] ? A[j * s + i] / b[i] : A[j * s + i];
  PetscCall(VecGetArray(m->lambda, &lam));
  PetscCall(VecGetArray(m->mu, &mu));
  for (PetscInt k = m->rksteps - 1; k >= 0; k--) {
    const PetscReal t = m->rkt[2 * k + 1], h = m->rkt[2 * k] - t;
    if (k >= INV_BATCHTS_RK_PREFETCH_STEPS)
      InvBatchTSRKPrefetch(m->rkY + (size_t)(k - INV_BATCHTS_RK_PREFETCH_STEPS) * s * n, (size_t)s * n);
    if (m->kadj >= 0 && InvBatchTSAtTime(t, m->times[m->kadj])) {
      InvBatchTSObsJump(m, lam, m->gy);
      m->kadj--;
    }
    if (onecall) { /* the values of the per-stage calls: each member's Jacobians depend on its own state only */
      const PetscScalar *y = m->rkY + (size_t)k * s * n;
      PetscCall(m->model->ops.jacobianp(m->model, t, s * nm, y, m->rkth, m->rkJp));
      PetscCall(m->model->ops.jacobian(m->model, t, s * nm, y, m->rkth, m->rkJ));
    }
    for (PetscInt i = s - 1; i >= 0; i--) {
      const PetscScalar *y = m->rkY + ((size_t)k * s + i) * n;
      const PetscReal stage_time = t + h * (1.0 - c[i]), scale = b[i] ? -h * b[i] : -h;
      PetscScalar *dli = m->rkdl + i * n;
      InvBatchTSBlock J = m->jblk, Jp = m->jpblk;
      if (fsal && i == s - 1) continue;
      if (onecall) {
        J.v = m->rkJ + i * nm * ns * ns;
        Jp.v = m->rkJp + i * nm * ns * np;
      } else {
        PetscCall(m->model->ops.jacobianp(m->model, stage_time, nm, y, m->theta, m->jpblk.v));
        PetscCall(m->model->ops.jacobian(m->model, stage_time, nm, y, m->theta, m->jblk.v));
      }
      for (PetscInt j = i + 1; j < s; j++) m->rkw[j - i - 1] = aw[i * s + j];
      if (b[i])
        InvBatchTSMAXPY(n, m->rktmp, lam, s - i - 1, m->rkw, &dl[i + 1]);
      else { /* from zero: VecZeroEntries, then VecMAXPY (0 + t, not t: the sign of a zero sum) */
        PetscCall(PetscArrayzero(m->rktmp, n));
        InvBatchTSMAXPY(n, m->rktmp, m->rktmp, s - i - 1, m->rkw, &dl[i + 1]);
      }
      InvBatchTSBlockApplyTranspose(&J, nm, m->rktmp, scale, PETSC_FALSE, dli); /* MatMultTranspose, then VecScale */
      InvBatchTSBlockApplyTranspose(&Jp, nm, m->rktmp, scale, PETSC_TRUE, mu);  /* and VecAXPY with alpha 1 */
    }
    for (PetscInt j = 0; j < s; j++) m->rkw[j] = 1.0;
    InvBatchTSMAXPY(n, lam, lam, s, m->rkw, dl);
  }
  PetscCall(VecRestoreArray(m->lambda, &lam));
  PetscCall(VecRestoreArray(m->mu, &mu));
  PetscFunctionReturn(0);
}

/* After a successful TSSolve of the gradient role: with a fixed step (adaptivity none) and a tableau without FSAL,
   the recorded step grid depends on dt, the span and the tableau only, so later forward passes run over it without
   TSSolve (InvBatchTSRKForward). InvBatchTSSetTimesAdjoint and InvBatchTSSetFromOptionsAdjoint forget it. */
PetscErrorCode InvBatchTSRKLearnGrid(InvBatchTS m)
{
  TSAdapt adapt;
  TSAdaptType atype;
  PetscBool none, fsal;

  PetscFunctionBegin;
  if (!m->jblk.v || m->rkgrid) PetscFunctionReturn(0);
  PetscCall(TSGetAdapt(m->ts, &adapt));
  PetscCall(TSAdaptGetType(adapt, &atype));
  PetscCall(PetscStrcmp(atype, TSADAPTNONE, &none));
  PetscCall(TSRKGetTableau(m->ts, NULL, NULL, NULL, NULL, NULL, NULL, NULL, &fsal));
  m->rkgrid = none && !fsal && m->rksteps > 0 ? PETSC_TRUE : PETSC_FALSE;
  m->rkgridsteps = m->rksteps;
  PetscFunctionReturn(0);
}

/* The forward pass of TSSolve with TSStep_RK (PETSc 3.18) over the learned grid: stage i is x + sum_{j<i} h a_ij k_j
   (VecMAXPY), checked by the domain check, then k_i = f(t + h c_i, Y_i); the step adds sum_j h b_j k_j (TSEvaluateStep_RK,
   VecMAXPY); the monitor sees every step's end. The stages go straight into the record of the adjoint sweep. A stage that
   fails the domain check ends the pass (TSSolve's adjoint roles refuse such a solve too, InvBatchTSRun). Only the nb
   members of the solve are integrated, not the padding slots (copies of the first member, in no output): the members
   are independent, so their values are those of the full batch, and the domain check's verdict is the same. */
INV_NO_CONTRACT PetscErrorCode InvBatchTSRKForward(InvBatchTS m, TSConvergedReason *reason)
{
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  const PetscInt n = m->nb * m->model->nstate; /* the solve's members only: the padding slots serve no output */
  PetscInt s;
  const PetscReal *A, *b, *c;
  const PetscScalar *K[INV_BATCHTS_RK_MAX_STAGES];
  PetscScalar w[INV_BATCHTS_RK_MAX_STAGES], *x;

  PetscFunctionBegin;
  PetscCall(TSRKGetTableau(m->ts, &s, &A, &b, &c, NULL, NULL, NULL, NULL));
  PetscCheck(s == m->rks && s <= INV_BATCHTS_RK_MAX_STAGES, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "RK tableau changed after the grid was learned");
  if (!m->rkK) PetscCall(PetscMalloc1(s * m->bmax * m->model->nstate, &m->rkK));
  /* room for every member, so later solves with more members need no new record; pages no solve touches cost nothing */
  PetscCall(InvBatchTSRKReserveStages(m, (size_t)m->rkgridsteps * s * m->bmax * m->model->nstate, 0));
  for (PetscInt i = 0; i < s; i++) K[i] = m->rkK + i * n;
  *reason = TS_CONVERGED_TIME;
  m->rksteps = 0;
  m->rkm = m->nb;
  PetscCall(VecGetArray(m->X, &x));
  PetscCall(InvBatchTSObserve(m, 0, 0.0, x));
  for (PetscInt k = 0; k < m->rkgridsteps; k++) {
    const PetscReal t = m->rkt[2 * k], h = m->rkh[k];
    for (PetscInt i = 0; i < s; i++) {
      PetscScalar *Y = m->rkY + ((size_t)k * s + i) * n;
      for (PetscInt j = 0; j < i; j++) w[j] = h * A[i * s + j];
      if (!InvBatchTSRKStage(n, Y, x, i, w, K)) { /* VecCopy, VecMAXPY, then the domain check */
        m->nonfinite = PETSC_TRUE;
        *reason = TS_DIVERGED_STEP_REJECTED;
        break;
      }
      PetscCall(m->model->ops.rhs(m->model, t + h * c[i], m->nb, Y, m->theta, m->rkK + i * n));
    }
    if (*reason < 0) break;
    for (PetscInt j = 0; j < s; j++) w[j] = h * b[j]; /* TSEvaluateStep_RK: h b_j / dtratio, dtratio 1 */
    InvBatchTSMAXPY(n, x, x, s, w, K);
    m->rksteps++;
    PetscCall(InvBatchTSObserve(m, k + 1, m->rkt[2 * k + 1], x));
  }
  PetscCall(VecRestoreArray(m->X, &x));
  PetscFunctionReturn(0);
}

PetscErrorCode InvBatchTSLearnStepGrid(InvBatchTS m, const PetscReal theta[], PetscBool *learned)
{
  PetscBool ok;
  TSConvergedReason reason;

  PetscFunctionBegin;
  PetscCheck(m->role != INV_BATCHTS_GRADIENT || (m->ntimes > 0 && m->from_options), PETSC_COMM_SELF, PETSC_ERR_ORDER,
             "Set the observation times and call InvBatchTSSetFromOptions() before learning the step grid");
  if (m->role == INV_BATCHTS_GRADIENT && m->jblk.v && !m->rkgrid && m->nspan >= 2) {
    PetscCall(InvBatchTSLoad(m, 1, theta));
    m->rksteps = 0;
    PetscCall(InvBatchTSRun(m, &ok, &reason));
    if (ok) PetscCall(InvBatchTSRKLearnGrid(m));
  }
  *learned = m->rkgrid;
  PetscFunctionReturn(0);
}

PetscErrorCode InvBatchTSShareStepGrid(InvBatchTS from, InvBatchTS to)
{
  TSRKType rf, rt;
  PetscBool same;

  PetscFunctionBegin;
  if (from == to || !from->rkgrid || to->rkgrid || !to->jblk.v || to->role != INV_BATCHTS_GRADIENT) PetscFunctionReturn(0);
  if (from->model != to->model || from->dt0 != to->dt0 || from->nspan != to->nspan) PetscFunctionReturn(0);
  for (PetscInt k = 0; k < from->nspan; k++)
    if (from->span[k] != to->span[k]) PetscFunctionReturn(0);
  PetscCall(TSRKGetType(from->ts, &rf));
  PetscCall(TSRKGetType(to->ts, &rt));
  PetscCall(PetscStrcmp(rf, rt, &same));
  if (!same) PetscFunctionReturn(0);
  {
    TSAdapt adapt;
    TSAdaptType atype;
    PetscCall(TSGetAdapt(to->ts, &adapt));
    PetscCall(TSAdaptGetType(adapt, &atype));
    PetscCall(PetscStrcmp(atype, TSADAPTNONE, &same));
    if (!same) PetscFunctionReturn(0);
  }
  if (to->rks != from->rks || to->rkcap < from->rkgridsteps) { /* room for the grid only: the stage record waits for a solve */
    to->rksteps = 0;
    if (to->rks != from->rks) PetscCall(InvBatchTSRKReserve(to, from->rks));
    PetscCall(PetscFree2(to->rkt, to->rkh));
    PetscCall(PetscMalloc2(2 * from->rkgridsteps, &to->rkt, from->rkgridsteps, &to->rkh));
    to->rkcap = from->rkgridsteps;
  }
  to->rksteps = 0;
  PetscCall(PetscArraycpy(to->rkt, from->rkt, 2 * from->rkgridsteps));
  PetscCall(PetscArraycpy(to->rkh, from->rkh, from->rkgridsteps));
  to->rkgridsteps = from->rkgridsteps;
  to->rkgrid = PETSC_TRUE;
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
  PetscCall(TSSetPostStage(m->ts, InvBatchTSRKRecordStep));
  PetscFunctionReturn(0);
}

PetscErrorCode InvBatchTSDestroyRKAdjoint(InvBatchTS m)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(m->jblk.v));
  PetscCall(PetscFree(m->jpblk.v));
  PetscCall(PetscFree(m->rkY));
  PetscCall(PetscFree2(m->rkt, m->rkh));
  m->rkYcap = 0;
  m->rkcap = 0;
  PetscCall(PetscFree(m->rkK));
  PetscCall(PetscFree3(m->rkdl, m->rktmp, m->rkw));
  PetscCall(PetscFree3(m->rkJ, m->rkJp, m->rkth));
  PetscFunctionReturn(0);
}
