/* libFuzzer target: the input of `invmap map` (InvMAPReadInput: /d or /u, /t, /noise, /status, /theta,
   the model attributes, and -map_init's /theta_init | /theta_pred | /theta_map), on valid HDF5 files that
   fuzz_h5gen.c builds from the fuzz input. Byte 0 picks options (-map_clean, -map_init, -noise_*, -n). */
#include "fuzz_common.h"
#include "mapimpl.h"

static const char *const datasets[] = {"/d", "/u", "/t", "/noise", "/status", "/theta", "/theta_init", "/theta_pred", "/theta_map", NULL};
static const char *const attributes[] = {"model", "model_constant_names", "model_constants", "parameter_names", NULL};
static const char *const strings[] = {"fhn", "gamma,zeta", "theta0,theta1", "", "fhn,", NULL};
static const FuzzH5Vocabulary voc = {datasets, attributes, strings};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  return FuzzInitialize();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *path = FuzzPath("map.h5");
  uint8_t flags = size ? data[0] : 0;
  const char *kv[16] = {"-i", path, "-quiet", NULL};
  int k = 4;
  InvMAP map = NULL;

  if (FuzzH5Build(size ? data + 1 : data, size ? size - 1 : 0, &voc, path)) return 0;
  if (flags & 1) kv[k++] = "-map_clean", kv[k++] = NULL;
  if (flags & 2) kv[k++] = "-map_init", kv[k++] = path;
  if (flags & 4) kv[k++] = "-noise_rho", kv[k++] = "0.5", kv[k++] = "-noise_sigma", kv[k++] = "0.1";
  if (flags & 8) kv[k++] = "-n", kv[k++] = "2";
  kv[k] = NULL;
  FuzzSetOptions(kv);
  if (!InvMAPCreate(PETSC_COMM_WORLD, &map) && !InvMAPSetFromOptions(map) && !InvMAPReadInput(map)) (void)InvMAPCheckProblems(map);
  (void)InvMAPDestroy(&map);
  (void)FuzzCloseHDF5();
  return 0;
}
