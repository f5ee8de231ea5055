/* Subcommands of the invmap executable. Each returns a PETSc error code; *status is the process exit
   status on success (0, or INV_EXIT_INTERRUPTED when a run stopped on a signal and can be resumed). */
#pragma once
#include <invmap/sys.h>

#define INV_EXIT_INTERRUPTED 75 /* EX_TEMPFAIL: checkpointed, rerun with -resume */

PetscErrorCode InvCmdSimulate(int *status);
PetscErrorCode InvCmdTrain(int *status);
PetscErrorCode InvCmdPredict(int *status);
PetscErrorCode InvCmdMap(int *status);
PetscErrorCode InvCmdEvaluate(int *status);
PetscErrorCode InvCmdPipeline(int *status);
PetscErrorCode InvCmdModel(int *status);

/* Each command's option reading alone (create its objects, set them from options, destroy them): listed by
   -help, and run again in help mode to know the command's options (unknown option check). */
PetscErrorCode InvCmdSimulateOptions(void *);
PetscErrorCode InvCmdTrainOptions(void *);
PetscErrorCode InvCmdPredictOptions(void *);
PetscErrorCode InvCmdMapOptions(void *);
PetscErrorCode InvCmdEvaluateOptions(void *);
PetscErrorCode InvCmdPipelineOptions(void *);
PetscErrorCode InvCmdModelOptions(void *);

typedef struct {
  const char *name;
  PetscErrorCode (*run)(int *);
  const char *summary;
  PetscErrorCode (*options)(void *);
} InvCommand;

const InvCommand *InvCommandFind(const char[]);
const InvCommand *InvCommandList(size_t *);
PetscErrorCode InvCommandRun(const char[], int *);
PetscErrorCode InvCommandKnownOptions(const char[], PetscOptions, InvOptionNames *);
