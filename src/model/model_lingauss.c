/* A linear-Gaussian test model (docs/science.md, "A linear-Gaussian test model"): one state,
     x' = a cos(t) + b sin(t),   x(0) = 0,   so   x(t) = a sin(t) + b (1 - cos(t)),
   observed through x. The outputs are linear in (a, b): with the Gaussian prior and AR(1) Gaussian noise the
   posterior is exactly Gaussian (up to the prior's truncation, five prior standard deviations out) and the
   Gauss-Newton Laplace covariance is exact. Prior a, b ~ N(0.5, 0.5^2) on [-2, 3]. Used to test the grid
   posterior of invmap evaluate (-eval_posterior_n). */
#include <invmap/model.h>

#define LG_PRIOR_MEAN 0.5
#define LG_PRIOR_SD   0.5
#define LG_PRIOR_LO   (-2.0) /* mean - 5 sd */
#define LG_PRIOR_HI   3.0    /* mean + 5 sd */

static PetscErrorCode LGRHS(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[], PetscScalar f[])
{
  const PetscReal c = PetscCosReal(t), s = PetscSinReal(t);

  for (PetscInt b = 0; b < nb; b++) f[b] = th[2 * b] * c + th[2 * b + 1] * s;
  return 0;
}

static PetscErrorCode LGJacobian(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[], PetscScalar J[])
{
  for (PetscInt b = 0; b < nb; b++) J[b] = 0.0; /* f does not depend on x */
  return 0;
}

static PetscErrorCode LGJacobianP(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[], PetscScalar Jp[])
{
  const PetscReal c = PetscCosReal(t), s = PetscSinReal(t);

  for (PetscInt b = 0; b < nb; b++) {
    Jp[2 * b] = c;
    Jp[2 * b + 1] = s;
  }
  return 0;
}

static PetscErrorCode LGInitial(InvModel m, PetscInt nb, const PetscReal th[], PetscScalar x0[])
{
  for (PetscInt b = 0; b < nb; b++) x0[b] = 0.0;
  return 0;
}

PetscErrorCode InvModelCreate_LinGauss(InvModel m)
{
  PetscFunctionBegin;
  PetscCall(InvModelSetDimensions(m, 1, 2, 1));
  PetscCall(PetscStrncpy(m->state_names[0], "x", INV_MAX_NAME));
  PetscCall(InvModelObserveComponent(m, 0, 0));
  PetscCall(InvModelSetParameter(m, 0, "a", LG_PRIOR_MEAN, LG_PRIOR_SD, LG_PRIOR_LO, LG_PRIOR_HI));
  PetscCall(InvModelSetParameter(m, 1, "b", LG_PRIOR_MEAN, LG_PRIOR_SD, LG_PRIOR_LO, LG_PRIOR_HI));
  m->ops.rhs = LGRHS;
  m->ops.jacobian = LGJacobian;
  m->ops.jacobianp = LGJacobianP;
  m->ops.hessian_xx = NULL; /* f is linear in (x, a, b): every second derivative is zero (no -map_hessian soa) */
  m->ops.hessian_xp = NULL;
  m->ops.hessian_px = NULL;
  m->ops.hessian_pp = NULL;
  m->ops.initial = LGInitial;
  m->autonomous = PETSC_FALSE;
  PetscFunctionReturn(0);
}
