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

typedef struct {
  const char *name;
  PetscErrorCode (*run)(int *);
  const char *summary;
} InvCommand;

const InvCommand *InvCommandFind(const char[]);
const InvCommand *InvCommandList(size_t *);
PetscErrorCode InvCommandRun(const char[], int *);
