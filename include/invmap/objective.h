/* The MAP objective J, defined once (docs/science.md section 6): for a member with parameters theta, observed
   series d and model outputs y = H x(t_k; theta) (nt times x nobs components, time-major),
     J = 1/2 sum_c ||W (d_c - y_c)||^2 + 1/2 sum_j ((theta_j - mean_j) / sd_j)^2,
   W the AR(1) whitening (InvAR1Whiten) with correlation rho and marginal standard deviation s (InvNoiseSpecSD or
   InvNoiseMarginalSD of the stored sigma). MAP (through InvBatchTSObjective, which adds the adjoint gradient),
   evaluate and its landscape all evaluate J here. */
#pragma once
#include <invmap/noise.h>
#include <invmap/prior.h>

/* The data misfit of one member: f = 1/2 sum_c ||W (d_c - y_c)||^2; gy (nt x nobs, or NULL) = df/dy.
   work holds 3 nt reals. */
PETSC_EXTERN void InvObjectiveMisfit(PetscInt nt, PetscInt nobs, const PetscReal d[], const PetscReal y[], PetscReal rho, PetscReal s,
                                     PetscReal work[], PetscReal *f, PetscReal gy[]);
/* The prior term of one member: f = 1/2 sum_j ((theta_j - mean_j) / sd_j)^2; g (or NULL) receives its gradient */
PETSC_EXTERN void InvObjectivePrior(InvPrior, const PetscReal theta[], PetscReal *f, PetscReal g[]);
/* J of nb members from their outputs: f[b] = misfit + prior term (prior NULL: the misfit alone); gy (nb x nt x nobs,
   or NULL) = dJ/dy; gtheta (nb x np, or NULL) = the explicit dJ/dtheta (the prior's). d[b] is member b's series,
   y + b nt nobs its outputs, s[b] its marginal standard deviation. work holds 3 nt reals. */
PETSC_EXTERN void InvObjectiveFromOutputs(InvPrior, PetscInt nb, PetscInt nt, PetscInt nobs, const PetscReal theta[],
                                          const PetscReal *const d[], const PetscReal y[], const PetscReal rho[], const PetscReal s[],
                                          PetscReal work[], PetscReal f[], PetscReal gy[], PetscReal gtheta[]);
/* The misfit's second derivative with respect to the outputs applied to dy (nt x nobs): out = W^T W dy per
   component (the direction derivative of gy; second-order adjoints). work holds 2 nt reals. */
PETSC_EXTERN void InvObjectiveMisfitHessianOutputs(PetscInt nt, PetscInt nobs, const PetscReal dy[], PetscReal rho, PetscReal s,
                                                   PetscReal work[], PetscReal out[]);
/* The Gauss-Newton Hessian of J of one member from its output sensitivities S (nt x nobs x np, S[(k nobs + c) np + j] =
   dy_kc/dtheta_j): H (np x np) = sum_c (W S_c)^T (W S_c) + diag(1 / sd_j^2) (the prior's; prior NULL: misfit only).
   work holds nt (1 + np) reals. */
PETSC_EXTERN void InvObjectiveGaussNewton(InvPrior, PetscInt nt, PetscInt nobs, PetscInt np, const PetscReal S[], PetscReal rho,
                                          PetscReal s, PetscReal work[], PetscReal H[]);
