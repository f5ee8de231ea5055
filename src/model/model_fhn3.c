/* FitzHugh-Nagumo with three uncertain parameters (docs/science.md section 1b): the model of model_fhn.c with
   the time-scale separation gamma as theta2,
     u' = theta2 (u - u^3/3 + v + zeta),   v' = -(u - theta0 + theta1 v) / theta2,   u(0) = v(0) = 0,
   observed through u. Prior: theta0 and theta1 as in fhn; theta2 ~ N(3, 0.5^2) on [2, 4] (centred on fhn's
   constant gamma = 3; the bounds keep the relaxation oscillations of the two-parameter prior). */
#include <invmap/model.h>
#include "fhn_kernels.h"

enum { FHN3_ZETA };
enum { NS = 2, NP = 3 };

static PetscErrorCode FHN3RHS(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[], PetscScalar f[])
{
  const PetscReal z = m->consts[FHN3_ZETA];

  for (PetscInt b = 0; b < nb; b++) InvFHNRHSOne(x[NS * b], x[NS * b + 1], th[NP * b], th[NP * b + 1], th[NP * b + 2], z, f + NS * b);
  return 0;
}

static PetscErrorCode FHN3Jacobian(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[], PetscScalar J[])
{
  for (PetscInt b = 0; b < nb; b++) InvFHNJacobianOne(x[NS * b], th[NP * b + 1], th[NP * b + 2], J + NS * NS * b);
  return 0;
}

/* columns theta0, theta1 as fhn; d f_u / d gamma = u - u^3/3 + v + zeta, d f_v / d gamma = (u - theta0 + theta1 v) / gamma^2 */
static PetscErrorCode FHN3JacobianP(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[], PetscScalar Jp[])
{
  const PetscReal z = m->consts[FHN3_ZETA];

  for (PetscInt b = 0; b < nb; b++) {
    const PetscReal u = x[NS * b], v = x[NS * b + 1], t0 = th[NP * b], t1 = th[NP * b + 1], g = th[NP * b + 2];
    PetscScalar *Jb = Jp + NS * NP * b;
    InvFHNJacobianTheta01(v, g, NP, Jb);
    Jb[2] = u - u * u * u * (1.0 / 3.0) + v + z;
    Jb[NP + 2] = (u - t0 + t1 * v) / (g * g);
  }
  return 0;
}

/* d2 f_u / du2 = -2 gamma u (the only curvature in the state) */
static PetscErrorCode FHN3HessianXX(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[],
                                    const PetscScalar lam[], const PetscScalar v[], PetscScalar out[])
{
  for (PetscInt b = 0; b < nb; b++) out[NS * b] += lam[NS * b] * (-2.0 * th[NP * b + 2] * x[NS * b]) * v[NS * b];
  return 0;
}

/* out over states, direction over parameters: d2 f_u / du dgamma = 1 - u^2, d2 f_u / dv dgamma = 1,
   d2 f_v / du dgamma = 1 / gamma^2, d2 f_v / dv dtheta1 = -1 / gamma, d2 f_v / dv dgamma = theta1 / gamma^2 */
static PetscErrorCode FHN3HessianXP(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[],
                                    const PetscScalar lam[], const PetscScalar v[], PetscScalar out[])
{
  for (PetscInt b = 0; b < nb; b++) {
    const PetscReal u = x[NS * b], t1 = th[NP * b + 1], g = th[NP * b + 2], ig2 = 1.0 / (g * g);
    const PetscScalar lu = lam[NS * b], lv = lam[NS * b + 1], d1 = v[NP * b + 1], dg = v[NP * b + 2];
    out[NS * b] += lu * (1.0 - u * u) * dg + lv * ig2 * dg;
    out[NS * b + 1] += lu * dg + lv * (-d1 / g + t1 * ig2 * dg);
  }
  return 0;
}

/* out over parameters, direction over states (the transposed mixed derivatives of FHN3HessianXP) */
static PetscErrorCode FHN3HessianPX(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[],
                                    const PetscScalar lam[], const PetscScalar v[], PetscScalar out[])
{
  for (PetscInt b = 0; b < nb; b++) {
    const PetscReal u = x[NS * b], t1 = th[NP * b + 1], g = th[NP * b + 2], ig2 = 1.0 / (g * g);
    const PetscScalar lu = lam[NS * b], lv = lam[NS * b + 1], du = v[NS * b], dv = v[NS * b + 1];
    out[NP * b + 1] += lv * (-dv / g);
    out[NP * b + 2] += lu * ((1.0 - u * u) * du + dv) + lv * (du + t1 * dv) * ig2;
  }
  return 0;
}

/* f_v's curvature in the parameters: d2 f_v / dtheta0 dgamma = -1 / gamma^2, d2 f_v / dtheta1 dgamma = v / gamma^2,
   d2 f_v / dgamma2 = -2 (u - theta0 + theta1 v) / gamma^3 (f_u is linear in gamma) */
static PetscErrorCode FHN3HessianPP(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[],
                                    const PetscScalar lam[], const PetscScalar v[], PetscScalar out[])
{
  for (PetscInt b = 0; b < nb; b++) {
    const PetscReal u = x[NS * b], w = x[NS * b + 1], t0 = th[NP * b], t1 = th[NP * b + 1], g = th[NP * b + 2], ig2 = 1.0 / (g * g);
    const PetscScalar lv = lam[NS * b + 1], d0 = v[NP * b], d1 = v[NP * b + 1], dg = v[NP * b + 2];
    out[NP * b] += lv * (-ig2) * dg;
    out[NP * b + 1] += lv * w * ig2 * dg;
    out[NP * b + 2] += lv * (-ig2 * d0 + w * ig2 * d1 - 2.0 * (u - t0 + t1 * w) * ig2 / g * dg);
  }
  return 0;
}

static PetscErrorCode FHN3Initial(InvModel m, PetscInt nb, const PetscReal th[], PetscScalar x0[])
{
  for (PetscInt i = 0; i < NS * nb; i++) x0[i] = 0.0;
  return 0;
}

PetscErrorCode InvModelCreate_FHN3(InvModel m)
{
  PetscFunctionBegin;
  PetscCall(InvModelSetDimensions(m, NS, NP, 1));
  PetscCall(PetscStrncpy(m->state_names[0], "u", INV_MAX_NAME));
  PetscCall(PetscStrncpy(m->state_names[1], "v", INV_MAX_NAME));
  PetscCall(InvModelObserveComponent(m, 0, 0));
  PetscCall(InvModelAddConstant(m, "zeta", -0.4, "FHN input current zeta"));
  PetscCall(InvModelSetParameter(m, 0, "theta0", 0.4, 0.3, -0.2, 1.0));
  PetscCall(InvModelSetParameter(m, 1, "theta1", 0.4, 0.4, -0.4, 1.2));
  PetscCall(InvModelSetParameter(m, 2, "gamma", 3.0, 0.5, 2.0, 4.0));
  m->ops.rhs = FHN3RHS;
  m->ops.jacobian = FHN3Jacobian;
  m->ops.jacobianp = FHN3JacobianP;
  m->ops.hessian_xx = FHN3HessianXX;
  m->ops.hessian_xp = FHN3HessianXP;
  m->ops.hessian_px = FHN3HessianPX;
  m->ops.hessian_pp = FHN3HessianPP;
  m->ops.initial = FHN3Initial;
  m->autonomous = PETSC_TRUE;
  PetscFunctionReturn(0);
}
