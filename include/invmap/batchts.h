/* InvBatchTS: one PETSc TS (on PETSC_COMM_SELF) that integrates a batch of up to bmax independent
   members of a model at once and records the observed components at given times. The members share
   the adaptive step (error measured in the max norm over members), so a batch's result depends only
   on which members it holds: callers form batches from global sample indices, which makes results
   independent of the number of ranks. A batch whose solve fails is re-solved member by member so that
   only the failing members are flagged. TS options use the prefix given at creation. */
#pragma once
#include <invmap/model.h>
#include <petscts.h>

typedef struct _p_InvBatchTS *InvBatchTS;

/* Per-member status codes (stored in /status of ensemble files) */
typedef enum {
  INV_STATUS_OK = 0,
  INV_STATUS_NONFINITE = 1, /* the state became Inf/NaN */
  INV_STATUS_DIVERGED = 2,  /* the TS diverged: step rejections, step-size collapse, nonlinear solver failure */
  INV_STATUS_MAXSTEPS = 3,  /* the step budget (-ts_max_steps) ran out before the last observation time */
  INV_STATUS_BADPARAM = 4   /* the parameters themselves are not finite */
} InvStatus;
PETSC_EXTERN const char *const InvStatusNames[];

PETSC_EXTERN PetscErrorCode InvBatchTSCreate(InvModel, PetscInt bmax, const char prefix[], InvBatchTS *);
PETSC_EXTERN PetscErrorCode InvBatchTSSetObservationTimes(InvBatchTS, PetscInt, const PetscReal[]);
PETSC_EXTERN PetscErrorCode InvBatchTSSetFromOptions(InvBatchTS);
PETSC_EXTERN PetscErrorCode InvBatchTSSolve(InvBatchTS, PetscInt nb, const PetscReal theta[], PetscReal y[], PetscInt status[]);
PETSC_EXTERN PetscErrorCode InvBatchTSGetStats(InvBatchTS, PetscInt64 *steps, PetscInt64 *solves, PetscInt64 *fallbacks);
PETSC_EXTERN PetscErrorCode InvBatchTSGetTS(InvBatchTS, TS *);
PETSC_EXTERN PetscErrorCode InvBatchTSDescribe(InvBatchTS, char[], size_t);
PETSC_EXTERN PetscErrorCode InvTSDescribe(TS, PetscReal dt, PetscInt batch, char[], size_t);
PETSC_EXTERN PetscErrorCode InvBatchTSDestroy(InvBatchTS *);
