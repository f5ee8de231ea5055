/* libFuzzer target: training sets of `invmap train` (InvTrainerLoadData through InvTrainerSetUp: /u or
   /d, /theta, /noise, /status, parameter_names; in memory or streamed), on valid HDF5 files that
   fuzz_h5gen.c builds from the fuzz input. Byte 0 picks -train_data, -train_targets, -train_stream,
   -train_repr and -noise_fresh. */
#include "fuzz_support.h"
#include <invmap/train.h>

static const char *const datasets[] = {"/u", "/d", "/theta", "/noise", "/status", NULL};
static const char *const attributes[] = {"parameter_names", NULL};
static const char *const strings[] = {"theta0,theta1", "a", "a,b,c", ",", "theta0,,theta1", NULL};
static const FuzzH5Vocabulary voc = {datasets, attributes, strings};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  return FuzzInitialize();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *in = FuzzPath("train.h5"), *out = FuzzPath("model.h5");
  uint8_t flags = size ? data[0] : 0;
  const char *kv[32] = {"-i",           in, "-o", out, "-overwrite", NULL, "-quiet", NULL, FUZZ_NN_OPTIONS, "-train_epochs", "2",
                        "-train_batch", "4"};
  int k = 16;
  InvTrainer t = NULL;

  if (FuzzH5Build(size ? data + 1 : data, size ? size - 1 : 0, &voc, in)) return 0;
  if (flags & 1) kv[k++] = "-train_data", kv[k++] = "d";
  if (flags & 2) kv[k++] = "-train_targets", kv[k++] = (flags & 4) ? "theta1,rho,sigma" : "theta0";
  if (flags & 8) kv[k++] = "-train_stream", kv[k++] = "yes", kv[k++] = "-train_memory_mb", kv[k++] = "0.01";
  if (flags & 16) kv[k++] = "-train_repr", kv[k++] = "fourier";
  if ((flags & 32) && !(flags & 1)) kv[k++] = "-noise_fresh", kv[k++] = NULL;
  if (flags & 64) kv[k++] = "-train_max_samples", kv[k++] = "3";
  kv[k] = NULL;
  FuzzSetOptions(kv);
  if (!InvTrainerCreate(PETSC_COMM_WORLD, &t) && !InvTrainerSetFromOptions(t)) (void)InvTrainerSetUp(t);
  (void)InvTrainerDestroy(&t);
  (void)FuzzCloseHDF5();
  return 0;
}
