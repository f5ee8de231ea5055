/* libFuzzer target: network model files (InvNNMapLoad: architecture attributes, /params, the input
   representation and the /norm datasets), then one prediction with the loaded model, on valid HDF5 files that
   fuzz_h5gen.c builds from the fuzz input. */
#include "fuzz_common.h"
#include <invmap/train.h>

static const char *const datasets[] = {"/params", "/norm/in_mean", "/norm/in_std", "/norm/out_mean", "/norm/out_std", NULL};
static const char *const attributes[] = {"targets", "nn_header", "nn_conv",    "nn_kernel",    "nn_stride",
                                         "nn_pool", "nn_dense",  "nn_dropout", "input_header", NULL};
static const char *const strings[] = {"theta0,theta1", "rho", "", NULL};
static const FuzzH5Vocabulary voc = {datasets, attributes, strings};

#define FUZZ_PREDICT_N 3 /* series predicted with a model that loaded */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  return FuzzInitialize();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *path = FuzzPath("model.h5");
  InvNNMap map = NULL;

  if (FuzzH5Build(data, size, &voc, path)) return 0;
  FuzzSetOptions((const char *const[]){NULL});
  if (!InvNNMapLoad(PETSC_COMM_WORLD, path, 2, &map)) {
    size_t per = (size_t)map->feat->n_obs * map->feat->n_ch;
    double *s = calloc(FUZZ_PREDICT_N * per + 1, sizeof(double)),
           *theta = calloc(FUZZ_PREDICT_N * (size_t)map->ntargets + 1, sizeof(double));
    if (s && theta) (void)InvNNMapPredict(map, FUZZ_PREDICT_N, s, theta, NULL);
    free(s);
    free(theta);
  }
  (void)InvNNMapDestroy(&map);
  (void)FuzzCloseHDF5();
  return 0;
}
