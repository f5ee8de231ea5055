/* Trained inverse maps in HDF5 model files: architecture, parameters, representation, normalisation,
   target names; loading checks that everything fits together; batched prediction. */
#include <invmap/train.h>
#include <invmap/h5io.h>

PetscErrorCode InvNNMapWrite(InvNNMap map, hid_t file)
{
  hid_t root;
  hsize_t dim = (hsize_t)map->net->nparams;

  PetscFunctionBegin;
  PetscCallHDF5Return(root, H5Gopen2(file, "/", H5P_DEFAULT));
  PetscCall(InvH5WriteAttrString(root, "kind", "invmap_nn_model"));
  PetscCall(InvH5WriteAttrString(root, "invmap_version", INVMAP_VERSION " (" INVMAP_GIT ")"));
  PetscCall(InvH5WriteAttrString(root, "targets", map->targets));
  PetscCall(InvNetSpecWrite(&map->net->spec, root));
  PetscCallHDF5(H5Gclose(root));
  PetscCall(InvH5WriteSmall(file, "/params", H5T_NATIVE_FLOAT, 1, &dim, map->net->params));
  PetscCall(InvFeatWrite(map->feat, file));
  PetscFunctionReturn(0);
}

/* Fills map from the file; on error the caller destroys map. */
static PetscErrorCode InvNNMapLoadInto(MPI_Comm comm, const char name[], int maxbatch, InvNNMap map)
{
  hid_t file, root;
  InvNetSpec spec;
  char *targets;
  PetscInt r;
  hsize_t dims[3];
  PetscBool has;

  PetscFunctionBegin;
  PetscCall(InvH5Open(comm, name, PETSC_FALSE, &file));
  PetscCallHDF5Return(root, H5Gopen2(file, "/", H5P_DEFAULT));
  PetscCall(InvH5HasAttr(root, "targets", &has));
  PetscCheck(has, comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s is not an invmap model file (no 'targets' attribute; was it written by invmap train?)", name);
  PetscCall(InvH5ReadAttrString(root, "targets", &targets));
  PetscCall(PetscStrncpy(map->targets, targets, sizeof(map->targets)));
  PetscCall(PetscFree(targets));
  PetscCall(PetscMemzero(&spec, sizeof(spec)));
  PetscCall(InvNetSpecRead(&spec, root));
  PetscCallHDF5(H5Gclose(root));
  map->ntargets = spec.out_dim;
  PetscCall(InvNetCreate(&spec, maxbatch, &map->net));
  PetscCall(InvH5GetDims(file, "/params", &r, dims));
  if (r != 1 || dims[0] != (hsize_t)map->net->nparams) {
    char arch[1024];
    PetscCall(InvNetSpecString(&spec, arch, sizeof(arch)));
    SETERRQ(comm, PETSC_ERR_FILE_UNEXPECTED,
            "%s: /params has %llu values but the architecture it describes (%s) needs %zu: the parameters come from another "
            "architecture (file edited or mixed up); retrain or use the matching model file",
            name, (unsigned long long)dims[0], arch, map->net->nparams);
  }
  PetscCall(InvH5ReadVector(file, "/params", H5T_NATIVE_FLOAT, (hsize_t)map->net->nparams, map->net->params));
  PetscCall(InvFeatRead(comm, file, map->ntargets, &map->feat));
  PetscCheck(map->feat->len == spec.in_len && map->feat->ch == spec.in_ch, comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s: network input %dx%d does not match the input representation %dx%d", name, (int)spec.in_len, (int)spec.in_ch,
             (int)map->feat->len, (int)map->feat->ch);
  PetscCall(InvH5Close(&file));
  PetscFunctionReturn(0);
}

PetscErrorCode InvNNMapLoad(MPI_Comm comm, const char name[], int maxbatch, InvNNMap *out)
{
  InvNNMap map;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  *out = NULL;
  PetscCall(PetscNew(&map));
  ierr = InvNNMapLoadInto(comm, name, maxbatch, map);
  if (ierr) PetscCall(InvNNMapDestroy(&map)); /* a model file that fails to load leaves nothing behind */
  PetscCall(ierr);
  *out = map;
  PetscFunctionReturn(0);
}

PetscErrorCode InvNNMapDestroy(InvNNMap *map)
{
  PetscFunctionBegin;
  if (!*map) PetscFunctionReturn(0);
  PetscCall(InvNetDestroy(&(*map)->net));
  PetscCall(InvFeatDestroy(&(*map)->feat));
  PetscCall(PetscFree(*map));
  PetscFunctionReturn(0);
}

PetscErrorCode InvNNMapPredict(InvNNMap map, PetscInt n, const double *series, double *theta, double *wall)
{
  InvNet net = map->net;
  InvFeat f = map->feat;
  PetscInt per = f->n_obs * f->n_ch;
  float *X, *Y;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(INV_Predict, 0, 0, 0, 0));
  net->training = PETSC_FALSE;
  PetscCall(PetscMalloc1((size_t)net->maxbatch * f->size, &X));
  for (PetscInt i0 = 0; i0 < n; i0 += net->maxbatch) {
    int B = (int)PetscMin(net->maxbatch, n - i0);
    PetscLogDouble t0, t1;
    PetscCall(PetscTime(&t0));
    for (int i = 0; i < B; i++) PetscCall(InvFeatTransform(f, series + (size_t)(i0 + i) * per, X + (size_t)i * f->size));
    PetscCall(InvFeatNormalizeInput(f, B, X));
    PetscCall(InvNetForward(net, X, B, NULL, 0, 0, &Y));
    PetscCall(InvFeatDenormalizeTargets(f, B, Y, theta + (size_t)i0 * map->ntargets));
    PetscCall(PetscTime(&t1));
    if (wall)
      for (int i = 0; i < B; i++) wall[i0 + i] += (t1 - t0) / B;
  }
  PetscCall(PetscFree(X));
  PetscCall(PetscLogEventEnd(INV_Predict, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}
