/* libFuzzer target: parameter sets supplied by the user in HDF5 (InvReadParameters: /theta), on valid
   HDF5 files that fuzz_h5gen.c builds from the fuzz input (fuzz_csv covers the CSV form). */
#include "fuzz_common.h"
#include <invmap/ensemble.h>
#include <invmap/model.h>

static const char *const datasets[] = {"/theta", NULL};
static const char *const attributes[] = {"parameter_names", NULL};
static const char *const strings[] = {"theta0,theta1", NULL};
static const FuzzH5Vocabulary voc = {datasets, attributes, strings};
static InvModel model;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  if (FuzzInitialize()) return 1;
  return InvModelCreate("fhn", &model) != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *path = FuzzPath("theta.h5");
  PetscInt n;
  PetscReal *theta = NULL;

  if (FuzzH5Build(data, size, &voc, path)) return 0;
  (void)InvReadParameters(PETSC_COMM_WORLD, model, path, &n, &theta);
  (void)PetscFree(theta); /* the caller owns the output, also after an error */
  (void)FuzzCloseHDF5();
  return 0;
}
