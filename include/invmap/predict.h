/* `invmap predict`: apply trained inverse maps (one model or an ensemble averaged with its spread) to
   observations from HDF5 (/d or /u) or CSV (one series per row), in parallel over row blocks. */
#pragma once
#include <invmap/train.h>

typedef struct _p_InvPredictor *InvPredictor;
PETSC_EXTERN PetscErrorCode InvPredictorCreate(MPI_Comm, InvPredictor *);
PETSC_EXTERN PetscErrorCode InvPredictorSetFromOptions(InvPredictor);
PETSC_EXTERN PetscErrorCode InvPredictorRun(InvPredictor);
PETSC_EXTERN PetscErrorCode InvPredictorDestroy(InvPredictor *);
