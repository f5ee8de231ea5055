/* Lotka-Volterra predator-prey model as an invmap plugin (examples/model_plugin/README.md):
     x' = alpha x - beta x y,   y' = delta x y - gamma y,   x(0) = x0, y(0) = y0,
   prey x observed. Uncertain: alpha (prey growth) and beta (predation rate); gamma, delta, x0, y0 are
   constants (-model_gamma etc.). Built with LV_WRONG_JACOBIAN, d f_x / d y is wrong on purpose (a test). */
#include <invmap/model.h>

enum { LV_GAMMA, LV_DELTA, LV_X0, LV_Y0 };
enum { LV_NS = 2, LV_NP = 2 };

static PetscErrorCode LVRHS(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[], PetscScalar f[])
{
  const PetscReal g = m->consts[LV_GAMMA], d = m->consts[LV_DELTA];

  for (PetscInt b = 0; b < nb; b++) {
    const PetscScalar u = x[LV_NS * b], v = x[LV_NS * b + 1];
    f[LV_NS * b] = th[LV_NP * b] * u - th[LV_NP * b + 1] * u * v;
    f[LV_NS * b + 1] = d * u * v - g * v;
  }
  return 0;
}

static PetscErrorCode LVJacobian(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[], PetscScalar J[])
{
  const PetscReal g = m->consts[LV_GAMMA], d = m->consts[LV_DELTA];

  for (PetscInt b = 0; b < nb; b++) {
    const PetscScalar u = x[LV_NS * b], v = x[LV_NS * b + 1];
    PetscScalar *Jb = J + LV_NS * LV_NS * b;
    Jb[0] = th[LV_NP * b] - th[LV_NP * b + 1] * v;
#if defined(LV_WRONG_JACOBIAN)
    Jb[1] = th[LV_NP * b + 1] * u;
#else
    Jb[1] = -th[LV_NP * b + 1] * u;
#endif
    Jb[2] = d * v;
    Jb[3] = d * u - g;
  }
  return 0;
}

static PetscErrorCode LVJacobianP(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[], PetscScalar Jp[])
{
  for (PetscInt b = 0; b < nb; b++) {
    const PetscScalar u = x[LV_NS * b], v = x[LV_NS * b + 1];
    PetscScalar *Jb = Jp + LV_NS * LV_NP * b;
    Jb[0] = u;
    Jb[1] = -u * v;
    Jb[2] = 0;
    Jb[3] = 0;
  }
  return 0;
}

/* Second derivatives: d2 f_x / dx dy = -beta, d2 f_y / dx dy = delta; d2 f_x / dx dalpha = 1,
   d2 f_x / dx dbeta = -y, d2 f_x / dy dbeta = -x; f is linear in (alpha, beta). */
static PetscErrorCode LVHessianXX(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[],
                                  const PetscScalar lam[], const PetscScalar v[], PetscScalar out[])
{
  const PetscReal d = m->consts[LV_DELTA];

  for (PetscInt b = 0; b < nb; b++) {
    const PetscScalar c = -th[LV_NP * b + 1] * lam[LV_NS * b] + d * lam[LV_NS * b + 1];
    out[LV_NS * b] += c * v[LV_NS * b + 1];
    out[LV_NS * b + 1] += c * v[LV_NS * b];
  }
  return 0;
}

static PetscErrorCode LVHessianXP(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[],
                                  const PetscScalar lam[], const PetscScalar v[], PetscScalar out[])
{
  for (PetscInt b = 0; b < nb; b++) {
    const PetscScalar u = x[LV_NS * b], w = x[LV_NS * b + 1], l = lam[LV_NS * b];
    out[LV_NS * b] += l * (v[LV_NP * b] - w * v[LV_NP * b + 1]);
    out[LV_NS * b + 1] += l * (-u * v[LV_NP * b + 1]);
  }
  return 0;
}

static PetscErrorCode LVHessianPX(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[],
                                  const PetscScalar lam[], const PetscScalar v[], PetscScalar out[])
{
  for (PetscInt b = 0; b < nb; b++) {
    const PetscScalar u = x[LV_NS * b], w = x[LV_NS * b + 1], l = lam[LV_NS * b];
    out[LV_NP * b] += l * v[LV_NS * b];
    out[LV_NP * b + 1] += l * (-w * v[LV_NS * b] - u * v[LV_NS * b + 1]);
  }
  return 0;
}

static PetscErrorCode LVInitial(InvModel m, PetscInt nb, const PetscReal th[], PetscScalar x0[])
{
  for (PetscInt b = 0; b < nb; b++) {
    x0[LV_NS * b] = m->consts[LV_X0];
    x0[LV_NS * b + 1] = m->consts[LV_Y0];
  }
  return 0;
}

static PetscErrorCode LVCreate(InvModel m)
{
  PetscFunctionBegin;
  PetscCall(InvModelSetDimensions(m, LV_NS, LV_NP, 1));
  PetscCall(PetscStrncpy(m->state_names[0], "prey", INV_MAX_NAME));
  PetscCall(PetscStrncpy(m->state_names[1], "predator", INV_MAX_NAME));
  PetscCall(InvModelObserveComponent(m, 0, 0));
  PetscCall(InvModelAddConstant(m, "gamma", 1.0, "predator death rate"));
  PetscCall(InvModelAddConstant(m, "delta", 0.5, "predator growth per prey eaten"));
  PetscCall(InvModelAddConstant(m, "x0", 1.0, "initial prey"));
  PetscCall(InvModelAddConstant(m, "y0", 1.0, "initial predators"));
  PetscCall(InvModelSetParameter(m, 0, "alpha", 1.0, 0.2, 0.5, 1.5));
  PetscCall(InvModelSetParameter(m, 1, "beta", 0.5, 0.1, 0.25, 0.75));
  m->ops.rhs = LVRHS;
  m->ops.jacobian = LVJacobian;
  m->ops.jacobianp = LVJacobianP;
  m->ops.hessian_xx = LVHessianXX;
  m->ops.hessian_xp = LVHessianXP;
  m->ops.hessian_px = LVHessianPX;
  m->ops.hessian_pp = NULL; /* f is linear in the parameters */
  m->ops.initial = LVInitial;
  m->autonomous = PETSC_TRUE;
  PetscFunctionReturn(0);
}

static PetscErrorCode LVRegister(void)
{
  return InvModelRegister("lotka_volterra", LVCreate);
}

INV_MODEL_PLUGIN(LVRegister)
