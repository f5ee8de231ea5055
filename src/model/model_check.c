/* InvModelCheckDerivatives: every derivative a model provides (Jacobians with respect to state and parameters,
   the four second-derivative products, the initial state's Jacobian) against central finite differences of the
   function it differentiates, at nb random states around the initial state and parameters drawn from the
   model's prior, batched as the solvers call them. Used by `invmap model` for plugin authors and by the tests.
   Error of a derivative: max |analytic - difference| over the batch, relative to max |difference| (at least
   INV_CHECK_FLOOR). Central differences with step h (relative to the point's size) err by O(h^2) (third
   derivatives) plus O(eps/h) (rounding): about 1e-9 relative at h = 1e-6 for smooth models of moderate size,
   so INV_CHECK_TOL = 1e-5 passes any right formula and fails a wrong one (errors of order 1). */
#include <invmap/model.h>
#include <invmap/rng.h>

#define INV_CHECK_STEP   1e-6 /* finite-difference step, relative to max(1, |point|) */
#define INV_CHECK_TOL    1e-5 /* relative error a derivative must stay below */
#define INV_CHECK_FLOOR  1e-8 /* smallest scale an error is measured against */
#define INV_CHECK_SEED   17   /* random points: stream of InvRng with this seed */
#define INV_CHECK_SPREAD 0.5  /* states: x0 + SPREAD (1 + |x0|) N(0, 1) */

typedef struct {
  InvModel m;
  PetscInt nb, ns, np;
  PetscScalar *x, *xp, *xm, *f, *fp, *fm, *J, *Jp, *Jm, *lam, *vx, *vp, *out;
  PetscReal *th, *thp, *thm;
} InvCheck;

static PetscReal MaxAbs(PetscInt n, const PetscScalar a[])
{
  PetscReal m = 0;
  for (PetscInt i = 0; i < n; i++) m = PetscMax(m, PetscAbsScalar(a[i]));
  return m;
}

/* error of a (n values) against the difference quotients (hi - lo) / (2 h) */
static PetscReal RelError(PetscInt n, const PetscScalar a[], const PetscScalar hi[], const PetscScalar lo[], PetscReal h)
{
  PetscReal err = 0, scale = INV_CHECK_FLOOR;
  for (PetscInt i = 0; i < n; i++) {
    const PetscReal d = PetscRealPart(hi[i] - lo[i]) / (2 * h);
    err = PetscMax(err, PetscAbsReal(PetscRealPart(a[i]) - d));
    scale = PetscMax(scale, PetscAbsReal(d));
  }
  return err / scale;
}

/* y = x +- h v for every member (n values per member, v per member) */
static void Shift(PetscInt len, const PetscScalar x[], const PetscScalar v[], PetscReal h, PetscScalar p[], PetscScalar mi[])
{
  for (PetscInt i = 0; i < len; i++) {
    p[i] = x[i] + h * v[i];
    mi[i] = x[i] - h * v[i];
  }
}

/* lam^T applied to per-member matrices A (nb x ns x nc, row-major): out[b*nc + j] = sum_i lam[b*ns + i] A[b][i][j] */
static void LamT(PetscInt nb, PetscInt ns, PetscInt nc, const PetscScalar lam[], const PetscScalar A[], PetscScalar out[])
{
  for (PetscInt b = 0; b < nb; b++)
    for (PetscInt j = 0; j < nc; j++) {
      PetscScalar s = 0;
      for (PetscInt i = 0; i < ns; i++) s += lam[b * ns + i] * A[(b * ns + i) * nc + j];
      out[b * nc + j] = s;
    }
}

/* first derivatives: column j of J (d f / d x_j) and of Jp (d f / d theta_j), member by member */
static PetscErrorCode CheckFirst(InvCheck *c, PetscBool wrt_state, PetscReal *err)
{
  const PetscInt nb = c->nb, ns = c->ns, np = c->np, nc = wrt_state ? ns : np;
  const PetscReal hx = INV_CHECK_STEP * PetscMax(1.0, MaxAbs(nb * ns, c->x));
  PetscReal h = hx;
  PetscScalar *col, *colp, *colm;

  PetscFunctionBegin;
  *err = 0;
  PetscCall(PetscMalloc3(nb * ns, &col, nb * ns, &colp, nb * ns, &colm));
  if (wrt_state)
    PetscCall(c->m->ops.jacobian(c->m, 0, nb, c->x, c->th, c->J));
  else
    PetscCall(c->m->ops.jacobianp(c->m, 0, nb, c->x, c->th, c->J));
  for (PetscInt j = 0; j < nc; j++) {
    PetscCall(PetscArraycpy(c->xp, c->x, nb * ns));
    PetscCall(PetscArraycpy(c->xm, c->x, nb * ns));
    PetscCall(PetscArraycpy(c->thp, c->th, nb * np));
    PetscCall(PetscArraycpy(c->thm, c->th, nb * np));
    if (!wrt_state) {
      PetscReal t = 0;
      for (PetscInt b = 0; b < nb; b++) t = PetscMax(t, PetscAbsReal(c->th[b * np + j]));
      h = INV_CHECK_STEP * PetscMax(1.0, t);
    }
    for (PetscInt b = 0; b < nb; b++) {
      if (wrt_state) {
        c->xp[b * ns + j] += h;
        c->xm[b * ns + j] -= h;
      } else {
        c->thp[b * np + j] += h;
        c->thm[b * np + j] -= h;
      }
      for (PetscInt i = 0; i < ns; i++) col[b * ns + i] = c->J[(b * ns + i) * nc + j];
    }
    PetscCall(c->m->ops.rhs(c->m, 0, nb, c->xp, c->thp, colp));
    PetscCall(c->m->ops.rhs(c->m, 0, nb, c->xm, c->thm, colm));
    *err = PetscMax(*err, RelError(nb * ns, col, colp, colm, h));
  }
  PetscCall(PetscFree3(col, colp, colm));
  PetscFunctionReturn(0);
}

typedef PetscErrorCode (*InvHessianOp)(InvModel, PetscReal, PetscInt, const PetscScalar[], const PetscReal[], const PetscScalar[],
                                       const PetscScalar[], PetscScalar[]);

/* a second-derivative product against the difference of lam^T (Jacobian) along the direction: out = d/de lam^T A(point + e v),
   A = J (out over states) or Jp (out over parameters), the point the state (v over states) or the parameters (v over parameters) */
static PetscErrorCode CheckSecond(InvCheck *c, InvHessianOp op, PetscBool out_state, PetscBool dir_state, PetscReal *err)
{
  const PetscInt nb = c->nb, ns = c->ns, np = c->np, nout = out_state ? ns : np;
  const PetscScalar *v = dir_state ? c->vx : c->vp;
  PetscReal h;
  PetscScalar *hi, *lo;

  PetscFunctionBegin;
  PetscCall(PetscMalloc2(nb * nout, &hi, nb * nout, &lo));
  PetscCall(PetscArrayzero(c->out, nb * nout));
  PetscCall(op(c->m, 0, nb, c->x, c->th, c->lam, v, c->out));
  if (dir_state) {
    h = INV_CHECK_STEP * PetscMax(1.0, MaxAbs(nb * ns, c->x));
    Shift(nb * ns, c->x, v, h, c->xp, c->xm);
  } else {
    PetscReal t = 0;
    for (PetscInt i = 0; i < nb * np; i++) t = PetscMax(t, PetscAbsReal(c->th[i]));
    h = INV_CHECK_STEP * PetscMax(1.0, t);
    for (PetscInt i = 0; i < nb * np; i++) {
      c->thp[i] = c->th[i] + h * PetscRealPart(v[i]);
      c->thm[i] = c->th[i] - h * PetscRealPart(v[i]);
    }
  }
  for (PetscInt s = 0; s < 2; s++) {
    const PetscScalar *xs = dir_state ? (s ? c->xm : c->xp) : c->x;
    const PetscReal *ts = dir_state ? c->th : (s ? c->thm : c->thp);
    if (out_state)
      PetscCall(c->m->ops.jacobian(c->m, 0, nb, xs, ts, c->Jp));
    else
      PetscCall(c->m->ops.jacobianp(c->m, 0, nb, xs, ts, c->Jp));
    LamT(nb, ns, nout, c->lam, c->Jp, s ? lo : hi);
  }
  *err = RelError(nb * nout, c->out, hi, lo, h);
  PetscCall(PetscFree2(hi, lo));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckInitial(InvCheck *c, PetscReal *err)
{
  const PetscInt nb = c->nb, ns = c->ns, np = c->np;
  PetscScalar *col, *colp, *colm;

  PetscFunctionBegin;
  *err = 0;
  PetscCall(PetscMalloc3(nb * ns, &col, nb * ns, &colp, nb * ns, &colm));
  PetscCall(c->m->ops.initial_jacobian(c->m, nb, c->th, c->J));
  for (PetscInt j = 0; j < np; j++) {
    PetscReal t = 0, h;
    for (PetscInt b = 0; b < nb; b++) t = PetscMax(t, PetscAbsReal(c->th[b * np + j]));
    h = INV_CHECK_STEP * PetscMax(1.0, t);
    PetscCall(PetscArraycpy(c->thp, c->th, nb * np));
    PetscCall(PetscArraycpy(c->thm, c->th, nb * np));
    for (PetscInt b = 0; b < nb; b++) {
      c->thp[b * np + j] += h;
      c->thm[b * np + j] -= h;
      for (PetscInt i = 0; i < ns; i++) col[b * ns + i] = c->J[(b * ns + i) * np + j];
    }
    PetscCall(c->m->ops.initial(c->m, nb, c->thp, colp));
    PetscCall(c->m->ops.initial(c->m, nb, c->thm, colm));
    *err = PetscMax(*err, RelError(nb * ns, col, colp, colm, h));
  }
  PetscCall(PetscFree3(col, colp, colm));
  PetscFunctionReturn(0);
}

PetscErrorCode InvModelCheckDerivatives(InvModel m, PetscInt nb, PetscViewer viewer, PetscBool *ok)
{
  InvCheck c;
  const PetscInt ns = m->nstate, np = m->nparam, nmax = PetscMax(ns, np);
  struct {
    const char *name;
    PetscBool present;
    PetscReal err;
  } rows[7] = {
      {"jacobian (df/dx)", m->ops.jacobian != NULL, 0},
      {"jacobianp (df/dtheta)", m->ops.jacobianp != NULL, 0},
      {"hessian_xx", m->ops.hessian_xx && m->ops.jacobian, 0},
      {"hessian_xp", m->ops.hessian_xp && m->ops.jacobian, 0},
      {"hessian_px", m->ops.hessian_px && m->ops.jacobianp, 0},
      {"hessian_pp", m->ops.hessian_pp && m->ops.jacobianp, 0},
      {"initial_jacobian (dx0/dtheta)", m->ops.initial_jacobian != NULL, 0},
  };
  InvRng r;

  PetscFunctionBegin;
  PetscCall(PetscMemzero(&c, sizeof(c)));
  c.m = m;
  c.nb = nb;
  c.ns = ns;
  c.np = np;
  PetscCheck(nb > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "The derivative check needs at least one member, got %" PetscInt_FMT, nb);
  PetscCall(PetscMalloc6(nb * ns, &c.x, nb * ns, &c.xp, nb * ns, &c.xm, nb * ns * nmax, &c.J, nb * ns * nmax, &c.Jp, nb * ns, &c.lam));
  PetscCall(PetscMalloc6(nb * ns, &c.vx, nb * np, &c.vp, nb * nmax, &c.out, nb * np, &c.th, nb * np, &c.thp, nb * np, &c.thm));
  InvRngInit(&r, INV_CHECK_SEED, INV_RNG_PRIOR, 0, 0);
  for (PetscInt b = 0; b < nb; b++)
    for (PetscInt j = 0; j < np; j++)
      c.th[b * np + j] = InvRngTruncNormal(&r, m->prior_mean[j], m->prior_sd[j], m->prior_lo[j], m->prior_hi[j]);
  PetscCall(m->ops.initial(m, nb, c.th, c.x));
  for (PetscInt i = 0; i < nb * ns; i++) {
    c.x[i] += INV_CHECK_SPREAD * (1 + PetscAbsScalar(c.x[i])) * InvRngNormal(&r);
    c.lam[i] = InvRngNormal(&r);
    c.vx[i] = InvRngNormal(&r);
  }
  for (PetscInt i = 0; i < nb * np; i++) c.vp[i] = InvRngNormal(&r) * PetscMax(m->prior_sd[i % np], INV_CHECK_FLOOR);
  if (rows[0].present) PetscCall(CheckFirst(&c, PETSC_TRUE, &rows[0].err));
  if (rows[1].present) PetscCall(CheckFirst(&c, PETSC_FALSE, &rows[1].err));
  if (rows[2].present) PetscCall(CheckSecond(&c, m->ops.hessian_xx, PETSC_TRUE, PETSC_TRUE, &rows[2].err));
  if (rows[3].present) PetscCall(CheckSecond(&c, m->ops.hessian_xp, PETSC_TRUE, PETSC_FALSE, &rows[3].err));
  if (rows[4].present) PetscCall(CheckSecond(&c, m->ops.hessian_px, PETSC_FALSE, PETSC_TRUE, &rows[4].err));
  if (rows[5].present) PetscCall(CheckSecond(&c, m->ops.hessian_pp, PETSC_FALSE, PETSC_FALSE, &rows[5].err));
  if (rows[6].present) PetscCall(CheckInitial(&c, &rows[6].err));
  *ok = PETSC_TRUE;
  PetscCall(PetscViewerASCIIPrintf(
      viewer, "Derivatives against central differences at %" PetscInt_FMT " random points (relative error, must be < %g):\n", nb,
      INV_CHECK_TOL));
  for (int k = 0; k < 7; k++) {
    const PetscBool bad = rows[k].present && !(rows[k].err < INV_CHECK_TOL);
    if (bad) *ok = PETSC_FALSE;
    if (rows[k].present)
      PetscCall(PetscViewerASCIIPrintf(viewer, "  %-30s %9.2e  %s\n", rows[k].name, (double)rows[k].err, bad ? "WRONG" : "ok"));
    else
      PetscCall(PetscViewerASCIIPrintf(viewer, "  %-30s not provided\n", rows[k].name));
  }
  PetscCall(PetscFree6(c.x, c.xp, c.xm, c.J, c.Jp, c.lam));
  PetscCall(PetscFree6(c.vx, c.vp, c.out, c.th, c.thp, c.thm));
  PetscFunctionReturn(0);
}
