/* The table of invmap commands, shared by the driver (main.c) and the pipeline, which runs commands in-process. */
#include "commands.h"
#include <string.h>

static const InvCommand commands[] = {
    {"simulate", InvCmdSimulate, "forward ensemble: parameters -> clean and noisy observations (HDF5)", InvCmdSimulateOptions},
    {"train", InvCmdTrain, "train a neural inverse map (CNN or dense; MPI data-parallel)", InvCmdTrainOptions},
    {"predict", InvCmdPredict, "apply trained inverse map(s) to observations (HDF5 or CSV)", InvCmdPredictOptions},
    {"map", InvCmdMap, "MAP estimates (TSAdjoint + TAO, multistart) and Laplace covariances", InvCmdMapOptions},
    {"evaluate", InvCmdEvaluate, "metrics of estimate files against the truth (APE, R^2, series errors, objective, cost)",
     InvCmdEvaluateOptions},
    {"model", InvCmdModel, "describe a model (built in or a plugin) and check its derivatives against finite differences",
     InvCmdModelOptions},
    {"pipeline", InvCmdPipeline, "the main job: simulate -> train -> predict -> MAP -> evaluate -> report (resumable)",
     InvCmdPipelineOptions},
};

const InvCommand *InvCommandFind(const char name[])
{
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    if (!strcmp(name, commands[i].name)) return &commands[i];
  return NULL;
}

const InvCommand *InvCommandList(size_t *n)
{
  *n = sizeof(commands) / sizeof(commands[0]);
  return commands;
}

PetscErrorCode InvCommandRun(const char name[], int *status)
{
  const InvCommand *cmd = InvCommandFind(name);

  PetscFunctionBegin;
  PetscCheck(cmd && cmd->run != InvCmdPipeline, PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "No invmap command %s for a pipeline stage", name);
  *status = 0;
  PetscCall(cmd->run(status));
  PetscFunctionReturn(0);
}

/* The options command name knows, given the options db (which may select types with options of their own). */
PetscErrorCode InvCommandKnownOptions(const char name[], PetscOptions db, InvOptionNames *known)
{
  const InvCommand *cmd = InvCommandFind(name);

  PetscFunctionBegin;
  PetscCheck(cmd && cmd->run != InvCmdPipeline, PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "No invmap command %s for a pipeline stage", name);
  PetscCall(InvOptionsKnown(db, cmd->options, NULL, known));
  PetscFunctionReturn(0);
}
