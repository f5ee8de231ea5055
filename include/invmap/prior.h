/* Prior over model parameters: independent truncated Gaussians (defaults from the model, overridable
   by -prior_mean, -prior_sd, -prior_lower, -prior_upper as comma-separated lists). */
#pragma once
#include <invmap/model.h>

typedef struct _p_InvPrior *InvPrior;
struct _p_InvPrior {
  PetscInt n;
  PetscReal mean[INV_MAX_PARAM], sd[INV_MAX_PARAM], lo[INV_MAX_PARAM], hi[INV_MAX_PARAM];
};

PETSC_EXTERN PetscErrorCode InvPriorCreate(InvModel, InvPrior *);
PETSC_EXTERN PetscErrorCode InvPriorSetFromOptions(InvPrior);
PETSC_EXTERN PetscErrorCode InvPriorSample(InvPrior, PetscInt64 seed, PetscInt64 sample, PetscReal theta[]);
PETSC_EXTERN PetscErrorCode InvPriorInSupport(InvPrior, const PetscReal theta[], PetscBool *);
PETSC_EXTERN PetscErrorCode InvPriorView(InvPrior, InvModel, PetscViewer);
PETSC_EXTERN PetscErrorCode InvPriorWriteAttributes(InvPrior, hid_t);
PETSC_EXTERN PetscErrorCode InvPriorDestroy(InvPrior *);
