/* Observation noise: none, or stationary AR(1) (science.md section 2): eta_0 ~ N(0, sigma^2),
   eta_k = rho eta_{k-1} + sqrt(1 - rho^2) sigma eps_k. (rho, sigma) are fixed by -noise_rho/-noise_sigma
   or drawn per sample from truncated Gaussians (-noise_rho_prior mean,sd,lo,hi and likewise sigma). */
#pragma once
#include <invmap/sys.h>
#include <petscviewer.h>

typedef enum { INV_NOISE_NONE, INV_NOISE_AR1 } InvNoiseType;
PETSC_EXTERN const char *const InvNoiseTypes[];

typedef struct _p_InvNoise *InvNoise;
struct _p_InvNoise {
  InvNoiseType type;
  PetscBool fixed_rho, fixed_sigma;
  PetscReal rho, sigma;                   /* fixed values */
  PetscReal rho_prior[4], sigma_prior[4]; /* mean, sd, lo, hi */
};

PETSC_EXTERN PetscErrorCode InvNoiseCreate(InvNoise *);
PETSC_EXTERN PetscErrorCode InvNoiseSetFromOptions(InvNoise);
PETSC_EXTERN PetscErrorCode InvNoiseSampleParameters(InvNoise, PetscInt64 seed, PetscInt64 sample, PetscReal *rho, PetscReal *sigma);
PETSC_EXTERN PetscErrorCode InvNoiseApply(InvNoise, PetscInt64 seed, PetscInt64 sample, PetscInt64 epoch, PetscReal rho, PetscReal sigma,
                                          PetscInt n, const PetscReal u[], PetscReal d[]);
PETSC_EXTERN PetscErrorCode InvNoiseCheckParameters(PetscReal rho, PetscReal sigma);
PETSC_EXTERN PetscErrorCode InvNoiseView(InvNoise, PetscViewer);
PETSC_EXTERN PetscErrorCode InvNoiseWriteAttributes(InvNoise, hid_t);
PETSC_EXTERN PetscErrorCode InvNoiseDestroy(InvNoise *);
/* Whitening (science.md section 6): w_0 = r_0/sigma, w_k = (r_k - rho r_{k-1}) / (sigma sqrt(1-rho^2)),
   and its transpose, used by the MAP objective and its adjoint. */
PETSC_EXTERN void InvAR1Whiten(PetscReal rho, PetscReal sigma, PetscInt n, const PetscReal r[], PetscReal w[]);
PETSC_EXTERN void InvAR1WhitenTranspose(PetscReal rho, PetscReal sigma, PetscInt n, const PetscReal w[], PetscReal r[]);
