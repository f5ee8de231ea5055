/* `invmap train`: train a neural inverse map on an ensemble file (MPI data-parallel). */
#include "commands.h"
#include <invmap/train.h>

PetscErrorCode InvCmdTrainOptions(void *ctx)
{
  InvTrainer t;

  PetscFunctionBegin;
  PetscCall(InvTrainerCreate(PETSC_COMM_WORLD, &t));
  PetscCall(InvTrainerSetFromOptions(t));
  PetscCall(InvTrainerDestroy(&t));
  PetscFunctionReturn(0);
}

PetscErrorCode InvCmdTrain(int *status)
{
  InvTrainer t;
  PetscBool help, interrupted = PETSC_FALSE;

  PetscFunctionBegin;
  PetscCall(InvInterruptInstall());
  PetscCall(InvTrainerCreate(PETSC_COMM_WORLD, &t));
  PetscCall(InvTrainerSetFromOptions(t));
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (!help) {
    PetscCall(InvTrainerSetUp(t));
    PetscCall(InvOptionsCheckUnused(PETSC_COMM_WORLD, "train", InvCmdTrainOptions, NULL));
    PetscCall(InvTrainerTrain(t, &interrupted));
    if (interrupted) *status = INV_EXIT_INTERRUPTED;
  }
  PetscCall(InvTrainerDestroy(&t));
  PetscFunctionReturn(0);
}
