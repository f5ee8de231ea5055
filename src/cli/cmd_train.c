/* `invmap train`: train a neural inverse map on an ensemble file (MPI data-parallel). */
#include "commands.h"
#include <invmap/train.h>
#include <invmap/batchts.h>
#include <invmap/model.h>

static const char sim_model[] = "fhn"; /* any model: the solver's options do not depend on it */

/* The options of -train_loss data's adjoint solver (-train_sim_ts_*), read through a throwaway solver: listed by -help,
   and known to the option checks when the loss is data (the loss itself reads them once the training file is open). */
static PetscErrorCode TrainSimSolverOptions(PetscBool always)
{
  char loss[32] = "";
  PetscBool data;
  InvModel m;
  InvBatchTS b;
  const PetscReal t[2] = {0, 1};

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetString(NULL, NULL, "-train_loss", loss, sizeof(loss), NULL));
  PetscCall(PetscStrcasecmp(loss, "data", &data));
  if (!always && !data) PetscFunctionReturn(0);
  PetscCall(InvModelCreate(sim_model, &m));
  PetscCall(InvBatchTSCreateAdjoint(m, 1, INV_TRAIN_SIM_PREFIX, &b));
  PetscCall(InvBatchTSSetObservationTimes(b, 2, t));
  PetscCall(InvBatchTSSetFromOptions(b));
  PetscCall(InvBatchTSDestroy(&b));
  PetscCall(InvModelDestroy(&m));
  PetscFunctionReturn(0);
}

PetscErrorCode InvCmdTrainOptions(void *ctx)
{
  InvTrainer t;

  PetscFunctionBegin;
  PetscCall(InvTrainerCreate(PETSC_COMM_WORLD, &t));
  PetscCall(InvTrainerSetFromOptions(t));
  PetscCall(InvTrainerDestroy(&t));
  PetscCall(TrainSimSolverOptions(PETSC_FALSE));
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
  if (help)
    PetscCall(TrainSimSolverOptions(PETSC_TRUE));
  else {
    PetscCall(InvTrainerSetUp(t));
    PetscCall(InvOptionsCheckUnused(PETSC_COMM_WORLD, "train", InvCmdTrainOptions, NULL));
    PetscCall(InvTrainerTrain(t, &interrupted));
    if (interrupted) *status = INV_EXIT_INTERRUPTED;
  }
  PetscCall(InvTrainerDestroy(&t));
  PetscFunctionReturn(0);
}
