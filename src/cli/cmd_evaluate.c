/* `invmap evaluate`: every metric of docs/science.md section 4 for estimate files against the truth. */
#include "commands.h"
#include <invmap/evaluate.h>

PetscErrorCode InvCmdEvaluate(int *status)
{
  InvEval e;
  PetscBool help;

  PetscFunctionBegin;
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  PetscCall(InvEvalCreate(PETSC_COMM_WORLD, &e));
  PetscCall(InvEvalSetFromOptions(e));
  if (help) {
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Metric definitions: %s\n", INV_EVAL_DEFINITIONS));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Stores for figures: %s\n", INV_EVAL_STORES));
  } else
    PetscCall(InvEvalRun(e));
  PetscCall(InvEvalDestroy(&e));
  *status = 0;
  PetscFunctionReturn(0);
}
