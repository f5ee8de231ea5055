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

/* InvMemberRK: the explicit embedded RK of an InvBatchTS's TS (tableau, tolerances, TSADAPTBASIC controller,
   step limits, step budget) with one adaptive step per member instead of one per batch: a member's result
   does not depend on the other members of its batch. Create returns NULL when the TS is not an adaptive
   explicit RK with an embedded pair and scalar tolerances (then solve with the InvBatchTS). The error of a
   member is measured in the max norm over its states. Stats: accepted member steps, passes over the
   batch (each pass attempts one step of every unfinished member), solves. */
typedef struct _p_InvMemberRK *InvMemberRK;
PETSC_EXTERN PetscErrorCode InvMemberRKSetDefaultTolerances(const char prefix[]); /* before InvBatchTSSetFromOptions */
PETSC_EXTERN PetscErrorCode InvMemberRKCreate(InvBatchTS, InvModel, PetscInt bmax, PetscInt nt, const PetscReal times[], InvMemberRK *);
PETSC_EXTERN PetscErrorCode InvMemberRKSolve(InvMemberRK, PetscInt nb, const PetscReal theta[], PetscReal y[], PetscInt status[]);
PETSC_EXTERN PetscErrorCode InvMemberRKGetStats(InvMemberRK, PetscInt64 *steps, PetscInt64 *passes, PetscInt64 *solves);
PETSC_EXTERN PetscErrorCode InvMemberRKDestroy(InvMemberRK *);

/* The forward solver of invmap simulate, which whatever must reproduce its series (evaluate) creates the same
   way: -step_control member (default; InvStepControls[0]) gives an InvMemberRK at its default tolerances
   (NULL when the TS is not an adaptive explicit RK: the InvBatchTS then steps the batch), batch gives the
   InvBatchTS alone. The InvBatchTS reads the -ts_* options. */
PETSC_EXTERN const char *const InvStepControls[];
PETSC_EXTERN PetscErrorCode InvForwardSolverCreate(InvModel, PetscInt batch, PetscInt nt, const PetscReal t[], PetscInt step_control,
                                                   InvBatchTS *, InvMemberRK *);
PETSC_EXTERN PetscErrorCode InvForwardSolve(InvBatchTS, InvMemberRK, PetscInt nb, const PetscReal theta[], PetscReal y[],
                                            PetscInt status[]);

/* Observation times t_k = t0 + k dt, k = 0..n-1 (options -obs_n, -obs_dt, -obs_t0). */
PETSC_EXTERN PetscErrorCode InvObservationTimesFromOptions(PetscInt *, PetscReal **);
/* Read parameter sets from a CSV (header names the model's parameters; other columns are ignored)
   or an HDF5 file with /theta (N x P). Collective. */
PETSC_EXTERN PetscErrorCode InvReadParameters(MPI_Comm, InvModel, const char[], PetscInt *, PetscReal **);
