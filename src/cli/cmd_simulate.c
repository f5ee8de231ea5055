/* `invmap simulate`: run the forward ensemble and write the HDF5 training/test set. */
#include "commands.h"
#include <invmap/ensemble.h>

PetscErrorCode InvCmdSimulateOptions(void *ctx)
{
  InvEnsemble e;
  PetscBool quiet = PETSC_FALSE;

  PetscFunctionBegin;
  PetscCall(InvEnsembleCreate(PETSC_COMM_WORLD, &e));
  PetscCall(InvEnsembleSetFromOptions(e));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-quiet", &quiet, NULL));
  PetscCall(InvEnsembleDestroy(&e));
  PetscFunctionReturn(0);
}

PetscErrorCode InvCmdSimulate(int *status)
{
  InvEnsemble e;
  PetscBool help, interrupted, quiet = PETSC_FALSE;

  PetscFunctionBegin;
  PetscCall(InvInterruptInstall());
  PetscCall(InvEnsembleCreate(PETSC_COMM_WORLD, &e));
  PetscCall(InvEnsembleSetFromOptions(e));
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (!help) {
    PetscCall(PetscOptionsGetBool(NULL, NULL, "-quiet", &quiet, NULL));
    PetscCall(InvEnsembleSetUp(e));
    PetscCall(InvOptionsCheckUnused(PETSC_COMM_WORLD, "simulate", InvCmdSimulateOptions, NULL));
    if (!quiet) PetscCall(InvEnsembleView(e, PETSC_VIEWER_STDOUT_WORLD));
    PetscCall(InvEnsembleSolve(e));
    PetscCall(InvEnsembleGetSummary(e, NULL, NULL, NULL, &interrupted));
    if (interrupted) *status = INV_EXIT_INTERRUPTED;
  }
  PetscCall(InvEnsembleDestroy(&e));
  PetscFunctionReturn(0);
}
