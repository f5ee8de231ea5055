/* libFuzzer target: the observations of `invmap predict` (/d or /u, /status, /theta, /noise and the
   parameter_names attribute, read by InvPredictorRun with a valid companion model), on valid HDF5 files
   that fuzz_h5gen.c builds from the fuzz input. Byte 0 picks -predict_data and -predict_batch. */
#include "fuzz_support.h"
#include <invmap/predict.h>

static const char *const datasets[] = {"/d", "/u", "/status", "/theta", "/noise", NULL};
static const char *const attributes[] = {"parameter_names", NULL};
static const char *const strings[] = {"theta0,theta1", "theta1", "theta0,theta1,rho", ",,", NULL};
static const FuzzH5Vocabulary voc = {datasets, attributes, strings};
static char model[PETSC_MAX_PATH_LEN];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  if (FuzzInitialize()) return 1;
  (void)PetscStrncpy(model, FuzzPath("model.h5"), sizeof(model));
  return FuzzWriteModel(model);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *obs = FuzzPath("obs.h5"), *out = FuzzPath("pred.h5");
  uint8_t flags = size ? data[0] : 0;
  const char *kv[16] = {"-model", model, "-i", obs, "-o", out, "-overwrite", NULL, "-quiet", NULL, NULL};
  int k = 10;
  InvPredictor p = NULL;

  if (FuzzH5Build(size ? data + 1 : data, size ? size - 1 : 0, &voc, obs)) return 0;
  if (flags & 1) kv[k++] = "-predict_data", kv[k++] = "u";
  if (flags & 2) kv[k++] = "-predict_batch", kv[k++] = "3";
  kv[k] = NULL;
  FuzzSetOptions(kv);
  if (!InvPredictorCreate(PETSC_COMM_WORLD, &p) && !InvPredictorSetFromOptions(p)) (void)InvPredictorRun(p);
  (void)InvPredictorDestroy(&p);
  (void)FuzzCloseHDF5();
  return 0;
}
