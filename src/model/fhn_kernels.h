/* FitzHugh-Nagumo's right-hand side and first derivatives for one member, shared by the two-parameter model
   (model_fhn.c: gamma a constant) and the three-parameter one (model_fhn3.c: gamma = theta2), so that the
   formulas exist once:
     f_u = gamma (u - u^3/3 + v + zeta),   f_v = -(u - theta0 + theta1 v) / gamma. */
#pragma once
#include <petscsys.h>

static inline void InvFHNRHSOne(PetscReal u, PetscReal v, PetscReal th0, PetscReal th1, PetscReal g, PetscReal z, PetscScalar f[2])
{
  f[0] = g * (u - u * u * u * (1.0 / 3.0) + v + z);
  f[1] = -(u - th0 + th1 * v) * (1.0 / g); /* times the reciprocal, as the solvers' results were made */
}

/* J = d(f_u, f_v) / d(u, v), row-major */
static inline void InvFHNJacobianOne(PetscReal u, PetscReal th1, PetscReal g, PetscScalar J[4])
{
  J[0] = g * (1.0 - u * u);
  J[1] = g;
  J[2] = -(1.0 / g);
  J[3] = -th1 * (1.0 / g);
}

/* d(f_u, f_v) / d(theta0, theta1): rows f_u, f_v; columns theta0, theta1 (stride ld) */
static inline void InvFHNJacobianTheta01(PetscReal v, PetscReal g, PetscInt ld, PetscScalar Jp[])
{
  Jp[0] = 0.0;
  Jp[1] = 0.0;
  Jp[ld] = 1.0 / g;
  Jp[ld + 1] = -v * (1.0 / g);
}
