/* Companion files of the fuzz targets (see fuzz_support.h), written with invmap's own writers. */
#include "fuzz_support.h"
#include <invmap/h5io.h>
#include <invmap/train.h>
#include <math.h>

int FuzzWriteModel(const char path[])
{
  InvNNMap map;
  InvNetSpec spec;
  hid_t file;

  if (PetscNew(&map) || PetscMemzero(&spec, sizeof(spec))) return 1;
  spec.in_len = FUZZ_NOBS;
  spec.in_ch = 1;
  spec.out_dim = 2;
  spec.ndense = 1;
  spec.dense[0] = 4;
  if (InvNetCreate(&spec, 4, &map->net) || InvNetInitialize(map->net, 1)) return 1;
  if (InvFeatCreate(INV_REPR_TIME, INV_NORM_CHANNEL, FUZZ_NOBS, 1, 2, &map->feat)) return 1;
  (void)PetscStrncpy(map->targets, "theta0,theta1", sizeof(map->targets));
  map->ntargets = 2;
  if (InvH5Create(PETSC_COMM_WORLD, path, &file) || InvNNMapWrite(map, file) || InvH5Close(&file)) return 1;
  return InvNNMapDestroy(&map) != 0;
}

int FuzzWriteTrainingSet(const char path[])
{
  double u[FUZZ_NSAMPLE * FUZZ_NOBS], theta[FUZZ_NSAMPLE * 2];
  hsize_t du[2] = {FUZZ_NSAMPLE, FUZZ_NOBS}, dt[2] = {FUZZ_NSAMPLE, 2};
  hid_t file, root;

  for (int i = 0; i < FUZZ_NSAMPLE; i++) {
    theta[2 * i] = 0.1 + 0.03 * i;
    theta[2 * i + 1] = 0.5 - 0.02 * i;
    for (int k = 0; k < FUZZ_NOBS; k++) u[i * FUZZ_NOBS + k] = sin(theta[2 * i] * k) + theta[2 * i + 1];
  }
  if (InvH5Create(PETSC_COMM_WORLD, path, &file)) return 1;
  if (InvH5WriteSmall(file, "/u", H5T_NATIVE_DOUBLE, 2, du, u) || InvH5WriteSmall(file, "/theta", H5T_NATIVE_DOUBLE, 2, dt, theta))
    return 1;
  root = H5Gopen2(file, "/", H5P_DEFAULT);
  if (root < 0 || InvH5WriteAttrString(root, "parameter_names", "theta0,theta1") || H5Gclose(root) < 0) return 1;
  return InvH5Close(&file) != 0;
}
