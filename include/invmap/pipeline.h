/* invmap pipeline: the main job as a plan of stages (simulate the data sets -> train the networks ->
   predict -> MAP on a test subset -> evaluate -> report), each stage an invmap command run in this
   process, on all ranks, with its own options database built from the experiment's prefixed options.
   A stage whose output exists and was made by this pipeline with the same options is skipped, so a
   rerun after a crash or a signal continues where the last one stopped; an interrupted stage resumes. */
#pragma once
#include <invmap/sys.h>

typedef struct _p_InvPipeline *InvPipeline;

/* Runs one invmap command (simulate, train, ...) with the options database currently pushed; *status is
   the command's exit status (0, or 75 when it was interrupted and can be resumed). */
typedef PetscErrorCode (*InvPipelineCommandFn)(const char cmd[], int *status);

PETSC_EXTERN PetscErrorCode InvPipelineCreate(MPI_Comm, InvPipeline *);
PETSC_EXTERN PetscErrorCode InvPipelineSetCommandRunner(InvPipeline, InvPipelineCommandFn);
/* The options a command knows given a stage's options database: the pipeline checks each stage's options before any runs. */
typedef PetscErrorCode (*InvPipelineOptionsFn)(const char cmd[], PetscOptions db, InvOptionNames *known);
PETSC_EXTERN PetscErrorCode InvPipelineSetCommandOptions(InvPipeline, InvPipelineOptionsFn);
PETSC_EXTERN PetscErrorCode InvPipelineSetFromOptions(InvPipeline);
PETSC_EXTERN PetscErrorCode InvPipelineSetUp(InvPipeline);
PETSC_EXTERN PetscErrorCode InvPipelineView(InvPipeline, PetscViewer);
PETSC_EXTERN PetscErrorCode InvPipelineRun(InvPipeline, int *status);
PETSC_EXTERN PetscErrorCode InvPipelineDestroy(InvPipeline *);
