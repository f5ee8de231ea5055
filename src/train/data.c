/* Training data: each rank reads its share of the usable rows (status 0) of the HDF5 training set with
   hyperslabs, checks them, builds targets and features, and fits the normalisation. */
#include "trainerimpl.h"
#include <invmap/h5io.h>
#include <math.h>
#include <stdint.h>

/* rows of the usable samples [g0, g1) (positions in valid[]) of a dataset with ncol doubles per row */
static PetscErrorCode ReadBlock(hid_t file, const char path[], PetscInt ncol, const PetscInt64 *valid, PetscInt64 g0, PetscInt64 g1,
                                double *out)
{
  hsize_t r0 = g1 > g0 ? (hsize_t)valid[g0] : 0, nr = g1 > g0 ? (hsize_t)(valid[g1 - 1] + 1 - valid[g0]) : 0;
  double *buf;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(nr * ncol + 1, &buf));
  PetscCall(InvH5ReadRows(file, path, H5T_NATIVE_DOUBLE, r0, nr, buf));
  for (PetscInt64 g = g0; g < g1; g++) PetscCall(PetscArraycpy(out + (g - g0) * ncol, buf + (valid[g] - (PetscInt64)r0) * ncol, ncol));
  PetscCall(PetscFree(buf));
  PetscFunctionReturn(0);
}

/* first non-finite row over all ranks (-1 if none) */
static PetscErrorCode FirstBad(MPI_Comm comm, PetscInt64 n, PetscInt ncol, const double *v, const PetscInt64 *valid, PetscInt64 g0,
                               PetscInt64 *row)
{
  PetscInt64 bad = INT64_MAX;

  PetscFunctionBegin;
  for (PetscInt64 i = 0; i < n && bad == INT64_MAX; i++)
    for (PetscInt k = 0; k < ncol; k++)
      if (!isfinite(v[i * ncol + k])) {
        bad = valid[g0 + i];
        break;
      }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPIU_INT64, MPI_MIN, comm));
  *row = bad == INT64_MAX ? -1 : bad;
  PetscFunctionReturn(0);
}

static void Split(PetscInt64 n, PetscMPIInt size, PetscMPIInt rank, PetscInt64 off, PetscInt64 *a, PetscInt64 *b)
{
  *a = off + n * rank / size;
  *b = off + n * (rank + 1) / size;
}

PetscErrorCode InvTrainerLoadData(InvTrainer t)
{
  hid_t file, root;
  PetscInt r, P, col[16];
  hsize_t dims[3], tdims[3];
  int *status = NULL;
  PetscInt64 Nrows, N = 0, *valid, bad, ntr, nva;
  char path[8], *pnames = NULL, names[256], *tok, *save = NULL;
  PetscBool hasnoise, hasstatus, has;
  double *U, *Th, *Nz = NULL, *Y;
  InvFeat f;

  PetscFunctionBegin;
  PetscCall(InvH5Open(t->comm, t->data_file, PETSC_FALSE, &file));
  PetscCall(PetscSNPrintf(path, sizeof(path), "/%s", t->dataset));
  PetscCall(InvH5HasDataset(file, path, &has));
  PetscCheck(has, t->comm, PETSC_ERR_FILE_UNEXPECTED, "Dataset %s is missing in %s (noisy data /d exist only when simulated with noise)",
             path, t->data_file);
  PetscCall(InvH5GetDims(file, path, &r, dims));
  Nrows = (PetscInt64)dims[0];
  t->n_obs = (PetscInt)dims[1];
  t->n_ch = r == 3 ? (PetscInt)dims[2] : 1;
  PetscCheck(r >= 2, t->comm, PETSC_ERR_FILE_UNEXPECTED, "%s in %s must be (samples x times), has rank %d", path, t->data_file, (int)r);
  PetscCall(InvH5GetDims(file, "/theta", &r, tdims));
  PetscCheck(r == 2 && tdims[0] == dims[0], t->comm, PETSC_ERR_FILE_UNEXPECTED, "/theta in %s must be (%llu x parameters)", t->data_file,
             (unsigned long long)dims[0]);
  P = (PetscInt)tdims[1];
  PetscCall(InvH5HasDataset(file, "/noise", &hasnoise));
  PetscCall(InvH5HasDataset(file, "/status", &hasstatus));
  PetscCallHDF5Return(root, H5Gopen2(file, "/", H5P_DEFAULT));
  PetscCall(InvH5HasAttr(root, "parameter_names", &has));
  if (has) PetscCall(InvH5ReadAttrString(root, "parameter_names", &pnames));
  PetscCallHDF5(H5Gclose(root));

  /* targets */
  if (!t->targets[0]) {
    if (pnames)
      PetscCall(PetscStrncpy(t->targets, pnames, sizeof(t->targets)));
    else
      for (PetscInt k = 0; k < P; k++)
        PetscCall(
            PetscSNPrintf(t->targets + strlen(t->targets), sizeof(t->targets) - strlen(t->targets), "%stheta%d", k ? "," : "", (int)k));
  }
  PetscCall(PetscStrncpy(names, t->targets, sizeof(names)));
  t->ntargets = 0;
  for (tok = strtok_r(names, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    PetscInt c = -1, k = 0;
    char pn[256], *ptok, *psave = NULL;
    if (pnames) {
      PetscCall(PetscStrncpy(pn, pnames, sizeof(pn)));
      for (ptok = strtok_r(pn, ",", &psave); ptok; ptok = strtok_r(NULL, ",", &psave), k++)
        if (!strcmp(ptok, tok)) c = k;
    } else if (!strncmp(tok, "theta", 5))
      c = atoi(tok + 5);
    if (!strcmp(tok, "rho")) c = P;
    if (!strcmp(tok, "sigma")) c = P + 1;
    PetscCheck(c >= 0 && c < P + 2, t->comm, PETSC_ERR_ARG_WRONG, "-train_targets: unknown target '%s'; %s has %s, rho, sigma", tok,
               t->data_file, pnames ? pnames : "theta0...");
    PetscCheck(c < P || hasnoise, t->comm, PETSC_ERR_ARG_WRONG, "-train_targets %s: %s has no /noise dataset (simulated without noise)",
               tok, t->data_file);
    PetscCheck(t->ntargets < 16, t->comm, PETSC_ERR_ARG_SIZ, "At most 16 targets");
    col[t->ntargets++] = c;
  }
  PetscCall(PetscFree(pnames));
  PetscCheck(t->ntargets > 0, t->comm, PETSC_ERR_ARG_WRONG, "-train_targets: no targets");
  PetscCheck(t->nloss_weight == 0 || t->nloss_weight == t->ntargets, t->comm, PETSC_ERR_ARG_SIZ,
             "-train_loss_weights has %d values for %d targets", (int)t->nloss_weight, (int)t->ntargets);
  for (PetscInt k = 0; k < t->ntargets; k++) {
    t->weight[k] = t->nloss_weight ? (float)t->loss_weight[k] : 1.0f;
    PetscCheck(t->weight[k] >= 0, t->comm, PETSC_ERR_ARG_OUTOFRANGE, "-train_loss_weights must be >= 0");
  }

  /* usable rows */
  PetscCall(PetscMalloc1(Nrows + 1, &valid));
  if (hasstatus) {
    PetscCall(PetscMalloc1(Nrows + 1, &status));
    PetscCall(InvH5ReadAll(file, "/status", H5T_NATIVE_INT, status));
  }
  for (PetscInt64 i = 0; i < Nrows; i++)
    if (!status || status[i] == 0) valid[N++] = i;
  PetscCall(PetscFree(status));
  if (t->max_samples > 0) N = PetscMin(N, (PetscInt64)t->max_samples);
  t->Nval = (PetscInt64)floor(t->val_frac * (double)N + 0.5);
  t->Ntr = N - t->Nval;
  PetscCheck(t->Ntr >= 2, t->comm, PETSC_ERR_ARG_SIZ, "%s has %lld usable samples: too few to train (%lld for validation)", t->data_file,
             (long long)N, (long long)t->Nval);
  Split(t->Ntr, t->size, t->rank, 0, &t->tr0, &t->tr1);
  Split(t->Nval, t->size, t->rank, t->Ntr, &t->va0, &t->va1);
  ntr = t->tr1 - t->tr0;
  nva = t->va1 - t->va0;

  /* read this rank's rows, check them */
  {
    PetscInt per = t->n_obs * t->n_ch;
    PetscInt64 g0[2] = {t->tr0, t->va0}, g1[2] = {t->tr1, t->va1};
    PetscCall(PetscMalloc3((size_t)(ntr + nva) * per + 1, &U, (size_t)(ntr + nva) * P + 1, &Th, (size_t)(ntr + nva) * t->ntargets + 1, &Y));
    if (hasnoise) PetscCall(PetscMalloc1((size_t)(ntr + nva) * 2 + 1, &Nz));
    for (int s = 0; s < 2; s++) {
      PetscInt64 o = s ? ntr : 0;
      PetscCall(ReadBlock(file, path, per, valid, g0[s], g1[s], U + o * per));
      PetscCall(ReadBlock(file, "/theta", P, valid, g0[s], g1[s], Th + o * P));
      if (hasnoise) PetscCall(ReadBlock(file, "/noise", 2, valid, g0[s], g1[s], Nz + o * 2));
    }
    PetscCall(InvH5Close(&file));
    for (int s = 0; s < 2; s++) {
      PetscInt64 o = s ? ntr : 0, n = s ? nva : ntr;
      PetscCall(FirstBad(t->comm, n, per, U + o * per, valid, g0[s], &bad));
      PetscCheck(bad < 0, t->comm, PETSC_ERR_FILE_UNEXPECTED,
                 "Non-finite value (NaN/Inf) in %s of %s, row %lld: repair or drop that sample", path, t->data_file, (long long)bad);
      PetscCall(FirstBad(t->comm, n, P, Th + o * P, valid, g0[s], &bad));
      PetscCheck(bad < 0, t->comm, PETSC_ERR_FILE_UNEXPECTED, "Non-finite value (NaN/Inf) in /theta of %s, row %lld", t->data_file,
                 (long long)bad);
    }
    for (PetscInt64 i = 0; i < ntr + nva; i++)
      for (PetscInt k = 0; k < t->ntargets; k++) Y[i * t->ntargets + k] = col[k] < P ? Th[i * P + col[k]] : Nz[i * 2 + col[k] - P];

    /* features and normalisation fitted on the training rows */
    PetscCall(InvFeatCreate(t->repr, t->norm, t->n_obs, t->n_ch, t->ntargets, &t->map->feat));
    f = t->map->feat;
    PetscCall(PetscStrncpy(t->map->targets, t->targets, sizeof(t->map->targets)));
    t->map->ntargets = t->ntargets;
    PetscCall(PetscMalloc1((size_t)ntr * f->size + 1, &t->Xtr));
    PetscCall(PetscMalloc1((size_t)nva * f->size + 1, &t->Xva));
    PetscCall(PetscMalloc2(per, &t->ubuf, per, &t->dbuf));
    if (t->noise_fresh) {
      PetscCheck(t->n_ch == 1, t->comm, PETSC_ERR_SUP, "-noise_fresh needs a single observed state");
      t->noise->type = INV_NOISE_AR1;
      PetscCall(PetscMalloc1((size_t)ntr * per + 1, &t->Utr));
      PetscCall(PetscMalloc1((size_t)ntr * 2 + 1, &t->noise_par));
      PetscCall(PetscArraycpy(t->Utr, U, (size_t)ntr * per));
      for (PetscInt64 i = 0; i < ntr; i++) {
        if (Nz)
          t->noise_par[2 * i] = Nz[2 * i], t->noise_par[2 * i + 1] = Nz[2 * i + 1];
        else
          PetscCall(InvNoiseSampleParameters(t->noise, t->seed, t->tr0 + i, &t->noise_par[2 * i], &t->noise_par[2 * i + 1]));
        PetscCall(InvNoiseApply(t->noise, t->seed, t->tr0 + i, 1, t->noise_par[2 * i], t->noise_par[2 * i + 1], per, U + i * per, t->dbuf));
        PetscCall(InvFeatTransform(f, t->dbuf, t->Xtr + i * f->size));
      }
    } else
      for (PetscInt64 i = 0; i < ntr; i++) PetscCall(InvFeatTransform(f, U + i * per, t->Xtr + i * f->size));
    for (PetscInt64 i = 0; i < nva; i++) PetscCall(InvFeatTransform(f, U + (ntr + i) * per, t->Xva + i * f->size));
    PetscCall(InvFeatFitInput(f, t->comm, (PetscInt)ntr, t->Xtr));
    PetscCall(InvFeatFitTargets(f, t->comm, (PetscInt)ntr, Y));
    PetscCall(InvFeatNormalizeInput(f, (PetscInt)nva, t->Xva));
    if (t->noise_fresh)
      PetscCall(PetscFree(t->Xtr)); /* rebuilt per batch */
    else
      PetscCall(InvFeatNormalizeInput(f, (PetscInt)ntr, t->Xtr));
    PetscCall(PetscMalloc1((size_t)ntr * t->ntargets + 1, &t->Ytr));
    PetscCall(PetscMalloc1((size_t)nva * t->ntargets + 1, &t->Yva));
    PetscCall(InvFeatNormalizeTargets(f, (PetscInt)ntr, Y, t->Ytr));
    PetscCall(InvFeatNormalizeTargets(f, (PetscInt)nva, Y + ntr * t->ntargets, t->Yva));
    PetscCall(PetscFree3(U, Th, Y));
    PetscCall(PetscFree(Nz));
  }
  PetscCall(PetscFree(valid));
  PetscFunctionReturn(0);
}
