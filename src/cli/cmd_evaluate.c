/* `invmap evaluate`: every metric of docs/science.md section 4 for estimate files against the truth. */
#include "commands.h"
#include <invmap/evaluate.h>
#include <invmap/batchts.h>
#include <invmap/model.h>

static const char ts_model[] = "fhn"; /* any model: the TS options do not depend on it */

PetscErrorCode InvCmdEvaluateOptions(void *ctx)
{
  InvEval e;

  PetscFunctionBegin;
  PetscCall(InvEvalCreate(PETSC_COMM_WORLD, &e));
  PetscCall(InvEvalSetFromOptions(e));
  PetscCall(InvEvalDestroy(&e));
  { /* the objective's TS (options -ts_*, read when the truth file is open) */
    InvModel m;
    InvBatchTS b;
    const PetscReal t[2] = {0, 1};
    PetscCall(InvModelCreate(ts_model, &m));
    PetscCall(InvBatchTSCreate(m, 1, NULL, &b));
    PetscCall(InvBatchTSSetObservationTimes(b, 2, t));
    PetscCall(InvBatchTSSetFromOptions(b));
    PetscCall(InvBatchTSDestroy(&b));
    PetscCall(InvModelDestroy(&m));
  }
  PetscFunctionReturn(0);
}

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
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Grid posterior: %s\n", INV_EVAL_POSTERIOR));
  } else {
    PetscCall(InvOptionsCheckUnused(PETSC_COMM_WORLD, "evaluate", InvCmdEvaluateOptions, NULL));
    PetscCall(InvEvalRun(e));
  }
  PetscCall(InvEvalDestroy(&e));
  *status = 0;
  PetscFunctionReturn(0);
}
