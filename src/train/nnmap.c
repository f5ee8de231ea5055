/* Trained inverse maps in HDF5 model files: architecture, parameters, representation, normalisation,
   target names, output head and loss; loading checks that everything fits together; batched prediction
   (means, and covariances for the mean + Cholesky head). */
#include <invmap/train.h>
#include <invmap/h5io.h>
#include <string.h>

PetscErrorCode InvNNMapWrite(InvNNMap map, hid_t file)
{
  hid_t root;
  hsize_t dim = (hsize_t)map->net->nparams;

  PetscFunctionBegin;
  PetscCallHDF5Return(root, H5Gopen2(file, "/", H5P_DEFAULT));
  PetscCall(InvH5WriteAttrString(root, "kind", "invmap_nn_model"));
  PetscCall(InvH5WriteAttrString(root, "invmap_version", INVMAP_VERSION " (" INVMAP_GIT ")"));
  PetscCall(InvH5WriteAttrString(root, "targets", map->targets));
  PetscCall(InvH5WriteAttrString(root, "head", InvHeadTypes[map->head]));
  PetscCall(InvH5WriteAttrString(root, "loss", map->loss[0] ? map->loss : InvLossTypes[INV_LOSS_MSE]));
  PetscCall(InvNetSpecWrite(&map->net->spec, root));
  PetscCallHDF5(H5Gclose(root));
  PetscCall(InvH5WriteSmall(file, "/params", H5T_NATIVE_FLOAT, 1, &dim, map->net->params));
  PetscCall(InvFeatWrite(map->feat, file));
  PetscFunctionReturn(0);
}

/* the output head and the loss from the root attributes (files without them: a mean head trained by mse) */
static PetscErrorCode InvNNMapReadHead(MPI_Comm comm, const char name[], hid_t root, InvNNMap map)
{
  PetscBool has;
  char *v;

  PetscFunctionBegin;
  map->head = INV_HEAD_MEAN;
  PetscCall(PetscStrncpy(map->loss, InvLossTypes[INV_LOSS_MSE], sizeof(map->loss)));
  PetscCall(InvH5HasAttr(root, "head", &has));
  if (has) {
    PetscBool found = PETSC_FALSE;
    PetscCall(InvH5ReadAttrString(root, "head", &v));
    for (int h = INV_HEAD_MEAN; h <= INV_HEAD_CHOLESKY; h++)
      if (!strcmp(v, InvHeadTypes[h])) map->head = (InvHeadType)h, found = PETSC_TRUE;
    PetscCall(PetscFree(v));
    PetscCheck(found, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: unknown output head (attribute 'head'); this invmap knows mean and cholesky",
               name);
  }
  PetscCall(InvH5HasAttr(root, "loss", &has));
  if (has) {
    PetscCall(InvH5ReadAttrString(root, "loss", &v));
    PetscCall(PetscStrncpy(map->loss, v, sizeof(map->loss)));
    PetscCall(PetscFree(v));
  }
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
  PetscCall(InvNNMapReadHead(comm, name, root, map));
  PetscCallHDF5(H5Gclose(root));
  {
    int P;
    PetscCheck(spec.out_dim > 0 && spec.out_dim <= PETSC_MAX_INT, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: network output %lld", name,
               (long long)spec.out_dim);
    PetscCall(InvHeadParameters(map->head, (int)spec.out_dim, &P));
    map->ntargets = P;
  }
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

/* one batch of network outputs (B x nout, standardised) -> theta (B x P) and, for a Cholesky head, cov (B x P x P)
   in the parameters' units: theta = mu + D z, so Sigma_theta = D (L L^T) D with D = diag(out_std); chol = D L */
static PetscErrorCode InvNNMapOutputs(InvNNMap map, int B, const float *Y, float *mean, float *L, double *theta, double *cov, double *chol)
{
  InvFeat f = map->feat;
  int P = (int)map->ntargets;

  PetscFunctionBegin;
  if (map->head == INV_HEAD_MEAN) {
    PetscCall(InvFeatDenormalizeTargets(f, B, Y, theta));
    PetscFunctionReturn(0);
  }
  invnn_cholhead_forward(mean, L, Y, B, P);
  PetscCall(InvFeatDenormalizeTargets(f, B, mean, theta));
  if (!cov && !chol) PetscFunctionReturn(0); /* the means only */
  for (int b = 0; b < B; b++) {
    const float *Lb = L + (size_t)b * P * P;
    double *Cb = cov ? cov + (size_t)b * P * P : NULL, *Fb = chol ? chol + (size_t)b * P * P : NULL;
    for (int i = 0; i < P; i++)
      for (int j = 0; j < P; j++) {
        double s = 0;
        if (Fb) Fb[i * P + j] = j <= i ? f->out_std[i] * (double)Lb[i * P + j] : 0; /* the factor D L of Sigma */
        if (!Cb || j > i) continue;
        for (int k = 0; k <= j; k++) s += (double)Lb[i * P + k] * Lb[j * P + k];
        Cb[i * P + j] = Cb[j * P + i] = f->out_std[i] * f->out_std[j] * s;
      }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvNNMapPredict(InvNNMap map, PetscInt n, const double *series, double *theta, double *wall)
{
  PetscFunctionBegin;
  PetscCall(InvNNMapPredictGaussian(map, n, series, theta, NULL, NULL, wall));
  PetscFunctionReturn(0);
}

PetscErrorCode InvNNMapPredictGaussian(InvNNMap map, PetscInt n, const double *series, double *theta, double *cov, double *chol,
                                       double *wall)
{
  InvNet net = map->net;
  InvFeat f = map->feat;
  PetscInt per = f->n_obs * f->n_ch, P = map->ntargets;
  float *X, *Y, *mean, *L;

  PetscFunctionBegin;
  PetscCheck((!cov && !chol) || map->head == INV_HEAD_CHOLESKY, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
             "Covariances asked of a model with a %s head (train with -train_loss nll for a covariance head)", InvHeadTypes[map->head]);
  PetscCall(PetscLogEventBegin(INV_Predict, 0, 0, 0, 0));
  net->training = PETSC_FALSE;
  PetscCall(PetscMalloc3((size_t)net->maxbatch * f->size, &X, (size_t)net->maxbatch * P, &mean, (size_t)net->maxbatch * P * P, &L));
  for (PetscInt i0 = 0; i0 < n; i0 += net->maxbatch) {
    int B = (int)PetscMin(net->maxbatch, n - i0);
    PetscLogDouble t0, t1;
    PetscCall(PetscTime(&t0));
    for (int i = 0; i < B; i++) PetscCall(InvFeatTransform(f, series + (size_t)(i0 + i) * per, X + (size_t)i * f->size));
    PetscCall(InvFeatNormalizeInput(f, B, X));
    PetscCall(InvNetForward(net, X, B, NULL, 0, 0, &Y));
    PetscCall(InvNNMapOutputs(map, B, Y, mean, L, theta + (size_t)i0 * P, cov ? cov + (size_t)i0 * P * P : NULL,
                              chol ? chol + (size_t)i0 * P * P : NULL));
    PetscCall(PetscTime(&t1));
    if (wall)
      for (int i = 0; i < B; i++) wall[i0 + i] += (t1 - t0) / B;
  }
  PetscCall(PetscFree3(X, mean, L));
  PetscCall(PetscLogEventEnd(INV_Predict, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}
