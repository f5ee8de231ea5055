/* Stiff Van der Pol oscillator (docs/science.md, "A stiff test model"), Hairer & Wanner's VDPOL in Lienard time
   scaling with mu = 1/sqrt(eps) = 1000, slowed down by a time scale tau and with two parameters:
     x1' = x2 / tau,   x2' = ((1 - x1^2) x2 - a x1 + b) / (eps tau),   x1(0) = 2, x2(0) = -2/3,
   observed through x1. a (restoring strength) ~ N(1, 0.1^2) on [0.7, 1.3], b (constant forcing) ~ N(0, 0.1^2) on
   [-0.3, 0.3]. The state Jacobian has an eigenvalue of about -(x1^2 - 1) / (eps tau) (-3e5 at x1 = 2): explicit
   steps are limited to ~1e-5 while the relaxation oscillation has a period of about 1.6 tau. */
#include <invmap/model.h>

enum { VDP_EPS, VDP_TAU };

#define VDP_X1_0 2.0
#define VDP_X2_0 (-2.0 / 3.0) /* on the slow manifold x2 = (a x1 - b) / (1 - x1^2) for a = 1, b = 0 */

/* 1 / (eps tau), the factor of the fast equation */
static inline PetscReal VDPFast(InvModel m)
{
  return 1.0 / (m->consts[VDP_EPS] * m->consts[VDP_TAU]);
}

static PetscErrorCode VDPRHS(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[], PetscScalar f[])
{
  const PetscReal it = 1.0 / m->consts[VDP_TAU], c = VDPFast(m);

  for (PetscInt b = 0; b < nb; b++) {
    const PetscReal x1 = x[2 * b], x2 = x[2 * b + 1];
    f[2 * b] = x2 * it;
    f[2 * b + 1] = ((1.0 - x1 * x1) * x2 - th[2 * b] * x1 + th[2 * b + 1]) * c;
  }
  return 0;
}

static PetscErrorCode VDPJacobian(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[], PetscScalar J[])
{
  const PetscReal it = 1.0 / m->consts[VDP_TAU], c = VDPFast(m);

  for (PetscInt b = 0; b < nb; b++) {
    const PetscReal x1 = x[2 * b], x2 = x[2 * b + 1];
    PetscScalar *Jb = J + 4 * b;
    Jb[0] = 0.0;
    Jb[1] = it;
    Jb[2] = (-2.0 * x1 * x2 - th[2 * b]) * c;
    Jb[3] = (1.0 - x1 * x1) * c;
  }
  return 0;
}

static PetscErrorCode VDPJacobianP(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[], PetscScalar Jp[])
{
  const PetscReal c = VDPFast(m);

  for (PetscInt b = 0; b < nb; b++) {
    PetscScalar *Jb = Jp + 4 * b;
    Jb[0] = 0.0;
    Jb[1] = 0.0;
    Jb[2] = -x[2 * b] * c;
    Jb[3] = c;
  }
  return 0;
}

/* Only f2 is nonlinear: d2f2/dx1^2 = -2 c x2, d2f2/dx1dx2 = -2 c x1, d2f2/dx2^2 = 0 */
static PetscErrorCode VDPHessianXX(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[],
                                   const PetscScalar lam[], const PetscScalar v[], PetscScalar out[])
{
  const PetscReal c = VDPFast(m);

  for (PetscInt b = 0; b < nb; b++) {
    const PetscReal x1 = x[2 * b], x2 = x[2 * b + 1], l = lam[2 * b + 1] * c;
    out[2 * b] += l * (-2.0 * x2 * v[2 * b] - 2.0 * x1 * v[2 * b + 1]);
    out[2 * b + 1] += l * (-2.0 * x1 * v[2 * b]);
  }
  return 0;
}

/* d2f2/(dx1 da) = -c; b enters linearly */
static PetscErrorCode VDPHessianXP(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[],
                                   const PetscScalar lam[], const PetscScalar v[], PetscScalar out[])
{
  const PetscReal c = VDPFast(m);

  for (PetscInt b = 0; b < nb; b++) out[2 * b] += lam[2 * b + 1] * (-c) * v[2 * b];
  return 0;
}

static PetscErrorCode VDPHessianPX(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[],
                                   const PetscScalar lam[], const PetscScalar v[], PetscScalar out[])
{
  const PetscReal c = VDPFast(m);

  for (PetscInt b = 0; b < nb; b++) out[2 * b] += lam[2 * b + 1] * (-c) * v[2 * b];
  return 0;
}

static PetscErrorCode VDPInitial(InvModel m, PetscInt nb, const PetscReal th[], PetscScalar x0[])
{
  for (PetscInt b = 0; b < nb; b++) {
    x0[2 * b] = VDP_X1_0;
    x0[2 * b + 1] = VDP_X2_0;
  }
  return 0;
}

PetscErrorCode InvModelCreate_VDPStiff(InvModel m)
{
  PetscFunctionBegin;
  PetscCall(InvModelSetDimensions(m, 2, 2, 1));
  PetscCall(PetscStrncpy(m->state_names[0], "x1", INV_MAX_NAME));
  PetscCall(PetscStrncpy(m->state_names[1], "x2", INV_MAX_NAME));
  PetscCall(InvModelObserveComponent(m, 0, 0));
  PetscCall(InvModelAddConstant(m, "eps", 1e-6, "Van der Pol stiffness eps = 1/mu^2 (mu = 1000)"));
  PetscCall(InvModelAddConstant(m, "tau", 10.0, "Van der Pol time scale tau (period about 1.6 tau)"));
  PetscCall(InvModelSetParameter(m, 0, "a", 1.0, 0.1, 0.7, 1.3));
  PetscCall(InvModelSetParameter(m, 1, "b", 0.0, 0.1, -0.3, 0.3));
  m->ops.rhs = VDPRHS;
  m->ops.jacobian = VDPJacobian;
  m->ops.jacobianp = VDPJacobianP;
  m->ops.hessian_xx = VDPHessianXX;
  m->ops.hessian_xp = VDPHessianXP;
  m->ops.hessian_px = VDPHessianPX;
  m->ops.hessian_pp = NULL; /* f is linear in (a, b) */
  m->ops.initial = VDPInitial;
  m->stiff = PETSC_TRUE;
  m->autonomous = PETSC_TRUE;
  PetscFunctionReturn(0);
}
