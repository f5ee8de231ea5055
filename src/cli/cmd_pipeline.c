/* `invmap pipeline`: the main job (simulate -> train -> predict -> MAP -> evaluate -> report) as one MPI
   run; see include/invmap/pipeline.h and share/experiments/. */
#include "commands.h"
#include <invmap/pipeline.h>

PetscErrorCode InvCmdPipeline(int *status)
{
  InvPipeline p;
  PetscBool help;

  PetscFunctionBegin;
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  PetscCall(InvPipelineCreate(PETSC_COMM_WORLD, &p));
  PetscCall(InvPipelineSetCommandRunner(p, InvCommandRun));
  PetscCall(InvPipelineSetFromOptions(p));
  if (!help) PetscCall(InvPipelineRun(p, status));
  PetscCall(InvPipelineDestroy(&p));
  PetscFunctionReturn(0);
}
