/* `invmap predict`: apply trained model(s) to observations (HDF5 or CSV), in parallel. */
#include "commands.h"
#include <invmap/predict.h>

PetscErrorCode InvCmdPredict(int *status)
{
  InvPredictor p;
  PetscBool help;

  PetscFunctionBegin;
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  PetscCall(InvPredictorCreate(PETSC_COMM_WORLD, &p));
  PetscCall(InvPredictorSetFromOptions(p));
  if (!help) PetscCall(InvPredictorRun(p));
  PetscCall(InvPredictorDestroy(&p));
  PetscFunctionReturn(0);
}
