/* FitzHugh-Nagumo (docs/science.md section 1):
     u' = gamma (u - u^3/3 + v + zeta),   v' = -(u - theta0 + theta1 v) / gamma,   u(0) = v(0) = 0,
   observed through u. Prior (section 2): theta0 ~ N(0.4, 0.3^2) on [-0.2, 1.0],
   theta1 ~ N(0.4, 0.4^2) on [-0.4, 1.2]. */
#include <invmap/model.h>
#include "fhn_kernels.h"

enum { FHN_GAMMA, FHN_ZETA };

static PetscErrorCode FHNRHS(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[], PetscScalar f[])
{
  const PetscReal g = m->consts[FHN_GAMMA], z = m->consts[FHN_ZETA];

  for (PetscInt b = 0; b < nb; b++) InvFHNRHSOne(x[2 * b], x[2 * b + 1], th[2 * b], th[2 * b + 1], g, z, f + 2 * b);
  return 0;
}

static PetscErrorCode FHNJacobian(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[], PetscScalar J[])
{
  const PetscReal g = m->consts[FHN_GAMMA];

  for (PetscInt b = 0; b < nb; b++) InvFHNJacobianOne(x[2 * b], th[2 * b + 1], g, J + 4 * b);
  return 0;
}

static PetscErrorCode FHNJacobianP(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[], PetscScalar Jp[])
{
  const PetscReal g = m->consts[FHN_GAMMA];

  for (PetscInt b = 0; b < nb; b++) InvFHNJacobianTheta01(x[2 * b + 1], g, 2, Jp + 4 * b);
  return 0;
}

/* Only f_u has curvature in x (d2f_u/du2 = -2 g u); f_v is bilinear in (theta1, v). */
static PetscErrorCode FHNHessianXX(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[],
                                   const PetscScalar lam[], const PetscScalar v[], PetscScalar out[])
{
  const PetscReal g = m->consts[FHN_GAMMA];

  for (PetscInt b = 0; b < nb; b++) out[2 * b] += lam[2 * b] * (-2.0 * g * x[2 * b]) * v[2 * b];
  return 0;
}

/* d2 f_v / (dv dtheta1) = -1/g */
static PetscErrorCode FHNHessianXP(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[],
                                   const PetscScalar lam[], const PetscScalar v[], PetscScalar out[])
{
  const PetscReal ig = 1.0 / m->consts[FHN_GAMMA];

  for (PetscInt b = 0; b < nb; b++) out[2 * b + 1] += lam[2 * b + 1] * (-ig) * v[2 * b + 1];
  return 0;
}

static PetscErrorCode FHNHessianPX(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[],
                                   const PetscScalar lam[], const PetscScalar v[], PetscScalar out[])
{
  const PetscReal ig = 1.0 / m->consts[FHN_GAMMA];

  for (PetscInt b = 0; b < nb; b++) out[2 * b + 1] += lam[2 * b + 1] * (-ig) * v[2 * b + 1];
  return 0;
}

static PetscErrorCode FHNInitial(InvModel m, PetscInt nb, const PetscReal th[], PetscScalar x0[])
{
  for (PetscInt i = 0; i < 2 * nb; i++) x0[i] = 0.0;
  return 0;
}

PetscErrorCode InvModelCreate_FHN(InvModel m)
{
  PetscFunctionBegin;
  PetscCall(InvModelSetDimensions(m, 2, 2, 1));
  PetscCall(PetscStrncpy(m->state_names[0], "u", INV_MAX_NAME));
  PetscCall(PetscStrncpy(m->state_names[1], "v", INV_MAX_NAME));
  PetscCall(InvModelObserveComponent(m, 0, 0));
  PetscCall(InvModelAddConstant(m, "gamma", 3.0, "FHN time-scale separation gamma"));
  PetscCall(InvModelAddConstant(m, "zeta", -0.4, "FHN input current zeta"));
  PetscCall(InvModelSetParameter(m, 0, "theta0", 0.4, 0.3, -0.2, 1.0));
  PetscCall(InvModelSetParameter(m, 1, "theta1", 0.4, 0.4, -0.4, 1.2));
  m->ops.rhs = FHNRHS;
  m->ops.jacobian = FHNJacobian;
  m->ops.jacobianp = FHNJacobianP;
  m->ops.hessian_xx = FHNHessianXX;
  m->ops.hessian_xp = FHNHessianXP;
  m->ops.hessian_px = FHNHessianPX;
  m->ops.hessian_pp = NULL; /* f is linear in theta */
  m->ops.initial = FHNInitial;
  m->autonomous = PETSC_TRUE;
  PetscFunctionReturn(0);
}
