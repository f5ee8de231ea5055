/* `invmap pipeline`: the main job (simulate -> train -> predict -> MAP -> evaluate -> report) as one MPI
   run; see include/invmap/pipeline.h and share/experiments/. */
#include "commands.h"
#include <invmap/pipeline.h>

PetscErrorCode InvCmdPipelineOptions(void *ctx)
{
  InvPipeline p;

  PetscFunctionBegin;
  PetscCall(InvPipelineCreate(PETSC_COMM_WORLD, &p));
  PetscCall(InvPipelineSetFromOptions(p));
  PetscCall(InvPipelineDestroy(&p));
  PetscFunctionReturn(0);
}

PetscErrorCode InvCmdPipeline(int *status)
{
  InvPipeline p;
  PetscBool help;

  PetscFunctionBegin;
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  PetscCall(InvPipelineCreate(PETSC_COMM_WORLD, &p));
  PetscCall(InvPipelineSetCommandRunner(p, InvCommandRun));
  PetscCall(InvPipelineSetCommandOptions(p, InvCommandKnownOptions));
  PetscCall(InvPipelineSetFromOptions(p));
  if (!help) PetscCall(InvPipelineRun(p, status));
  PetscCall(InvPipelineDestroy(&p));
  PetscFunctionReturn(0);
}
