/* InvEnsemble: the forward ensemble behind `invmap simulate`. Parameters come from the prior
   (-n, -seed) or from a file (-theta_file: CSV with a header naming the parameters, or HDF5 /theta);
   samples are split into chunks, each chunk into batches of global sample indices, and batches are
   distributed over ranks and integrated with InvBatchTS. Every chunk is written collectively to
   "<output>.partial"; a killed run continues with -resume, and the file is renamed only when complete.
   The HDF5 layout is documented in docs/file-formats.md. */
#pragma once
#include <invmap/model.h>
#include <invmap/prior.h>
#include <invmap/noise.h>
#include <invmap/batchts.h>

typedef struct _p_InvEnsemble *InvEnsemble;

PETSC_EXTERN PetscErrorCode InvEnsembleCreate(MPI_Comm, InvEnsemble *);
PETSC_EXTERN PetscErrorCode InvEnsembleSetFromOptions(InvEnsemble);
PETSC_EXTERN PetscErrorCode InvEnsembleSetUp(InvEnsemble);
PETSC_EXTERN PetscErrorCode InvEnsembleSolve(InvEnsemble);
PETSC_EXTERN PetscErrorCode InvEnsembleView(InvEnsemble, PetscViewer);
PETSC_EXTERN PetscErrorCode InvEnsembleDestroy(InvEnsemble *);
PETSC_EXTERN PetscErrorCode InvEnsembleGetModel(InvEnsemble, InvModel *);
/* Results after Solve: number of samples, failures, wall time, whether it stopped on a signal. */
PETSC_EXTERN PetscErrorCode InvEnsembleGetSummary(InvEnsemble, PetscInt64 *n, PetscInt64 *failed, PetscReal *seconds,
                                                  PetscBool *interrupted);

/* Observation times t_k = t0 + k dt, k = 0..n-1 (options -obs_n, -obs_dt, -obs_t0). */
PETSC_EXTERN PetscErrorCode InvObservationTimesFromOptions(PetscInt *, PetscReal **);
/* Read parameter sets from a CSV (header names the model's parameters; other columns are ignored)
   or an HDF5 file with /theta (N x P). Collective. */
PETSC_EXTERN PetscErrorCode InvReadParameters(MPI_Comm, InvModel, const char[], PetscInt *, PetscReal **);
