/* libFuzzer target: training checkpoints (InvTrainerCheckpointRead through `invmap train -resume`, with
   a valid companion training set), on valid HDF5 files that fuzz_h5gen.c builds from the fuzz input. */
#include "fuzz_support.h"
#include "trainerimpl.h"

static const char *const datasets[] = {"/params",       "/opt/m",       "/opt/v",         "/best_params",  "/history",
                                       "/norm/in_mean", "/norm/in_std", "/norm/out_mean", "/norm/out_std", NULL};
static const char *const attributes[] = {"train_state", "train_state_reals", "nn_header",  "nn_conv",      "nn_kernel", "nn_stride",
                                         "nn_pool",     "nn_dense",          "nn_dropout", "input_header", NULL};
static const char *const strings[] = {"theta0,theta1", NULL};
static const FuzzH5Vocabulary voc = {datasets, attributes, strings};
static char trainset[PETSC_MAX_PATH_LEN];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  if (FuzzInitialize()) return 1;
  (void)PetscStrncpy(trainset, FuzzPath("train.h5"), sizeof(trainset));
  return FuzzWriteTrainingSet(trainset);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *ckpt = FuzzPath("model.h5.ckpt"), *out = FuzzPath("model.h5");
  const char *kv[] = {"-i",
                      trainset,
                      "-o",
                      out,
                      "-train_checkpoint",
                      ckpt,
                      "-resume",
                      NULL,
                      "-quiet",
                      NULL,
                      FUZZ_NN_OPTIONS,
                      "-train_epochs",
                      "3",
                      "-train_batch",
                      "4",
                      "-train_seed",
                      "5",
                      "-train_val_frac",
                      "0.2",
                      NULL};
  InvTrainer t = NULL;

  if (FuzzH5Build(data, size, &voc, ckpt)) return 0;
  FuzzSetOptions(kv);
  if (!InvTrainerCreate(PETSC_COMM_WORLD, &t) && !InvTrainerSetFromOptions(t)) (void)InvTrainerSetUp(t);
  (void)InvTrainerDestroy(&t);
  (void)FuzzCloseHDF5();
  return 0;
}
