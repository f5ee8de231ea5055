/* `invmap predict`: apply trained model(s) to observations (HDF5 or CSV), in parallel. */
#include "commands.h"
#include <invmap/predict.h>

PetscErrorCode InvCmdPredictOptions(void *ctx)
{
  InvPredictor p;

  PetscFunctionBegin;
  PetscCall(InvPredictorCreate(PETSC_COMM_WORLD, &p));
  PetscCall(InvPredictorSetFromOptions(p));
  PetscCall(InvPredictorDestroy(&p));
  PetscFunctionReturn(0);
}

PetscErrorCode InvCmdPredict(int *status)
{
  InvPredictor p;
  PetscBool help;

  PetscFunctionBegin;
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  PetscCall(InvPredictorCreate(PETSC_COMM_WORLD, &p));
  PetscCall(InvPredictorSetFromOptions(p));
  if (!help) {
    PetscCall(InvOptionsCheckUnused(PETSC_COMM_WORLD, "predict", InvCmdPredictOptions, NULL));
    PetscCall(InvPredictorRun(p));
  }
  PetscCall(InvPredictorDestroy(&p));
  PetscFunctionReturn(0);
}
