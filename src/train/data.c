/* Training data: each rank reads its share of the usable rows (status 0) of the HDF5 training set with
   hyperslabs, checks them, builds targets and features, and fits the normalisation. A training set that
   does not fit the memory budget (-train_memory_mb) stays in the file: the normalisation is fitted in two
   streamed passes over blocks, and training reads its batches as it goes (stream.c). */
#include "trainerimpl.h"
#include <invmap/h5io.h>
#include <math.h>
#include <stdint.h>

#define INV_TRAIN_MAX_PARAMS 4096 /* columns of /theta a training set may have */

void InvTrainerTrack(InvTrainer t, double bytes)
{
  t->mem_cur = (size_t)((double)t->mem_cur + bytes);
  if (t->mem_cur > t->mem_peak) t->mem_peak = t->mem_cur;
}

/* bytes of one usable sample as read: series (in the file's precision), parameters, noise parameters (doubles) */
size_t InvTrainerReadBytes(InvTrainer t)
{
  return (size_t)t->esize * (size_t)(t->n_obs * t->n_ch) + sizeof(double) * (size_t)(t->P + (t->hasnoise ? 2 : 0));
}

/* series row i of a block read in the file's precision, as doubles: in place for double files, converted
   (exactly) into the one-row scratch ubuf for float32 files, so no double copy of a block is ever made */
const double *InvTrainerSeriesRow(InvTrainer t, const void *U, PetscInt64 i)
{
  PetscInt per = t->n_obs * t->n_ch;

  if (t->esize == sizeof(double)) return (const double *)U + i * per;
  for (PetscInt k = 0; k < per; k++) t->ubuf[k] = (double)((const float *)U)[i * per + k];
  return t->ubuf;
}

/* dst <- one series row stored in the file's precision at src (no alignment assumed: rows inside the
   epoch buffer), as doubles; exact */
void InvTrainerSeriesToDouble(InvTrainer t, const void *src, double *dst)
{
  PetscInt per = t->n_obs * t->n_ch;

  if (t->esize == sizeof(double)) {
    memcpy(dst, src, sizeof(double) * (size_t)per);
    return;
  }
  for (PetscInt k = 0; k < per; k++) {
    float v;
    memcpy(&v, (const char *)src + sizeof(float) * (size_t)k, sizeof(v));
    dst[k] = (double)v;
  }
}

/* rows of the usable samples [g0, g1) (positions in valid[]) of a dataset with ncol values of esize bytes
   per row, read as memtype (collective) */
static PetscErrorCode ReadRows(InvTrainer t, const char path[], hid_t memtype, size_t esize, PetscInt ncol, PetscInt64 g0, PetscInt64 g1,
                               void *out)
{
  const PetscInt64 *valid = t->valid;
  hsize_t r0 = g1 > g0 ? (hsize_t)valid[g0] : 0, nr = g1 > g0 ? (hsize_t)(valid[g1 - 1] + 1 - valid[g0]) : 0;
  size_t rowb = esize * (size_t)ncol;
  char *buf = (char *)out;

  PetscFunctionBegin;
  if (nr != (hsize_t)(g1 - g0)) { /* failed rows in between: read the covering block, keep the usable rows */
    PetscCall(PetscMalloc1(nr * rowb + 1, &buf));
    InvTrainerTrack(t, (double)(nr * rowb));
  }
  PetscCall(InvH5ReadRows(t->file, path, memtype, r0, nr, buf));
  if (buf != (char *)out) {
    for (PetscInt64 g = g0; g < g1; g++)
      PetscCall(PetscMemcpy((char *)out + (size_t)(g - g0) * rowb, buf + (size_t)(valid[g] - (PetscInt64)r0) * rowb, rowb));
    PetscCall(PetscFree(buf));
    InvTrainerTrack(t, -(double)(nr * rowb));
  }
  PetscFunctionReturn(0);
}

/* series (in the file's precision), parameters and noise parameters of the usable samples [g0, g1) (collective) */
PetscErrorCode InvTrainerReadBlock(InvTrainer t, PetscInt64 g0, PetscInt64 g1, void *U, double *Th, double *Nz)
{
  PetscFunctionBegin;
  PetscCall(ReadRows(t, t->path, InvTrainerSeriesType(t), (size_t)t->esize, t->n_obs * t->n_ch, g0, g1, U));
  PetscCall(ReadRows(t, "/theta", H5T_NATIVE_DOUBLE, sizeof(double), t->P, g0, g1, Th));
  if (t->hasnoise) PetscCall(ReadRows(t, "/noise", H5T_NATIVE_DOUBLE, sizeof(double), 2, g0, g1, Nz));
  PetscFunctionReturn(0);
}

/* file rows [r0, r0 + nr) of a dataset: one contiguous hyperslab, read as memtype by this rank alone (independent) */
static PetscErrorCode ReadRange(hid_t file, const char path[], hid_t memtype, hsize_t r0, hsize_t nr, void *out)
{
  hid_t dset, fspace, mspace, dxpl;
  hsize_t dims[3] = {1, 1, 1}, start[3] = {0, 0, 0}, count[3];
  int r;

  PetscFunctionBegin;
  if (nr == 0) PetscFunctionReturn(0);
  PetscCallHDF5Return(dset, H5Dopen2(file, path, H5P_DEFAULT));
  PetscCallHDF5Return(fspace, H5Dget_space(dset));
  PetscCallHDF5Return(r, H5Sget_simple_extent_ndims(fspace));
  PetscCallHDF5(H5Sget_simple_extent_dims(fspace, dims, NULL));
  start[0] = r0;
  count[0] = nr;
  count[1] = dims[1];
  count[2] = dims[2];
  PetscCallHDF5(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL));
  PetscCallHDF5Return(mspace, H5Screate_simple(r, count, NULL));
  PetscCallHDF5Return(dxpl, H5Pcreate(H5P_DATASET_XFER));
  PetscCallHDF5(H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_INDEPENDENT));
  PetscCallHDF5(H5Dread(dset, memtype, mspace, fspace, dxpl, out));
  PetscCallHDF5(H5Pclose(dxpl));
  PetscCallHDF5(H5Sclose(mspace));
  PetscCallHDF5(H5Sclose(fspace));
  PetscCallHDF5(H5Dclose(dset));
  PetscFunctionReturn(0);
}

/* series, parameters and noise parameters of the file rows [r0, r0 + nr) (usable or not), read by this rank alone */
PetscErrorCode InvTrainerReadRange(InvTrainer t, PetscInt64 r0, PetscInt64 nr, void *U, double *Th, double *Nz)
{
  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(INV_IORead, 0, 0, 0, 0));
  PetscCall(ReadRange(t->file, t->path, InvTrainerSeriesType(t), (hsize_t)r0, (hsize_t)nr, U));
  PetscCall(ReadRange(t->file, "/theta", H5T_NATIVE_DOUBLE, (hsize_t)r0, (hsize_t)nr, Th));
  if (t->hasnoise) PetscCall(ReadRange(t->file, "/noise", H5T_NATIVE_DOUBLE, (hsize_t)r0, (hsize_t)nr, Nz));
  PetscCall(PetscLogEventEnd(INV_IORead, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

/* raw targets (n x ntargets) from parameters (n x P) and noise parameters (n x 2) */
PetscErrorCode InvTrainerTargets(InvTrainer t, PetscInt64 n, const double *Th, const double *Nz, double *Y)
{
  PetscFunctionBegin;
  for (PetscInt64 i = 0; i < n; i++)
    for (PetscInt k = 0; k < t->ntargets; k++)
      Y[i * t->ntargets + k] = t->col[k] < t->P ? Th[i * t->P + t->col[k]] : Nz[i * 2 + t->col[k] - t->P];
  PetscFunctionReturn(0);
}

/* first non-finite row over all ranks (-1 if none) of n rows of ncol values of esize bytes (float or double) */
static PetscErrorCode FirstBad(MPI_Comm comm, PetscInt64 n, PetscInt ncol, size_t esize, const void *v, const PetscInt64 *valid,
                               PetscInt64 g0, PetscInt64 *row)
{
  PetscInt64 bad = INT64_MAX;

  PetscFunctionBegin;
  for (PetscInt64 i = 0; i < n && bad == INT64_MAX; i++)
    for (PetscInt k = 0; k < ncol; k++)
      if (!isfinite(esize == sizeof(float) ? (double)((const float *)v)[i * ncol + k] : ((const double *)v)[i * ncol + k])) {
        bad = valid[g0 + i];
        break;
      }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPIU_INT64, MPI_MIN, comm));
  *row = bad == INT64_MAX ? -1 : bad;
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckFinite(InvTrainer t, PetscInt64 n, const void *U, const double *Th, PetscInt64 g0)
{
  PetscInt64 bad;

  PetscFunctionBegin;
  PetscCall(FirstBad(t->comm, n, t->n_obs * t->n_ch, (size_t)t->esize, U, t->valid, g0, &bad));
  PetscCheck(bad < 0, t->comm, PETSC_ERR_FILE_UNEXPECTED, "Non-finite value (NaN/Inf) in %s of %s, row %lld: repair or drop that sample",
             t->path, t->data_file, (long long)bad);
  PetscCall(FirstBad(t->comm, n, t->P, sizeof(double), Th, t->valid, g0, &bad));
  PetscCheck(bad < 0, t->comm, PETSC_ERR_FILE_UNEXPECTED, "Non-finite value (NaN/Inf) in /theta of %s, row %lld", t->data_file,
             (long long)bad);
  PetscFunctionReturn(0);
}

static void Split(PetscInt64 n, PetscMPIInt size, PetscMPIInt rank, PetscInt64 off, PetscInt64 *a, PetscInt64 *b)
{
  *a = off + n * rank / size;
  *b = off + n * (rank + 1) / size;
}

/* Laplace targets of the usable samples [g0, g1): Z (n x nty) holds the standardised parameters in its first
   ntargets columns already; the standardised MAP points and covariances are added after them, in the layout of
   InvLoss (mean targets, then the P x P covariance targets). The standardisation theta = mu + D z gives
   z_map = D^-1 (theta_map - mu) and C_z = D^-1 C D^-1, the inverse of predict's Sigma = D L L^T D. */
static PetscErrorCode LaplaceTargets(InvTrainer t, PetscInt64 g0, PetscInt64 g1, float *Z)
{
  PetscInt64 n = g1 - g0, bad;
  PetscInt P = t->P, O = t->ntargets;
  double *Tm, *C, *Y, *Cs;
  InvFeat f = t->map->feat;

  PetscFunctionBegin;
  PetscCall(PetscMalloc4((size_t)n * P + 1, &Tm, (size_t)n * P * P + 1, &C, (size_t)n * O + 1, &Y, (size_t)n * O * O + 1, &Cs));
  InvTrainerTrack(t, 8.0 * (double)n * (double)(P + P * P + O + O * O));
  PetscCall(ReadRows(t, "/theta_map", H5T_NATIVE_DOUBLE, sizeof(double), P, g0, g1, Tm));
  PetscCall(ReadRows(t, "/cov", H5T_NATIVE_DOUBLE, sizeof(double), P * P, g0, g1, C));
  PetscCall(FirstBad(t->comm, n, P, sizeof(double), Tm, t->valid, g0, &bad));
  PetscCheck(bad < 0, t->comm, PETSC_ERR_FILE_UNEXPECTED, "Non-finite Laplace target in /theta_map of %s, row %lld (its /map_status is 0)",
             t->data_file, (long long)bad);
  PetscCall(FirstBad(t->comm, n, P * P, sizeof(double), C, t->valid, g0, &bad));
  PetscCheck(bad < 0, t->comm, PETSC_ERR_FILE_UNEXPECTED, "Non-finite Laplace target in /cov of %s, row %lld (its /map_status is 0)",
             t->data_file, (long long)bad);
  for (PetscInt64 i = 0; i < n; i++)
    for (PetscInt k = 0; k < O; k++) {
      Y[i * O + k] = Tm[i * P + t->col[k]];
      for (PetscInt l = 0; l < O; l++) Cs[(i * O + k) * O + l] = C[(i * P + t->col[k]) * P + t->col[l]];
    }
  PetscCall(InvFeatNormalizeTargets(f, (PetscInt)n, Y, t->fbuf));
  for (PetscInt64 i = 0; i < n; i++) {
    float *z = Z + i * t->nty;
    for (PetscInt k = 0; k < O; k++) z[O + k] = t->fbuf[i * O + k];
    PetscCall(InvFeatNormalizeCovariance(f, 1, Cs + i * O * O, z + 2 * O));
  }
  PetscCall(PetscFree4(Tm, C, Y, Cs));
  InvTrainerTrack(t, -8.0 * (double)n * (double)(P + P * P + O + O * O));
  PetscFunctionReturn(0);
}

/* standardised targets Yn (n x ntargets) spread into rows of nty floats of Z */
static void SpreadTargets(InvTrainer t, PetscInt64 n, const float *Yn, float *Z)
{
  for (PetscInt64 i = n - 1; i >= 0; i--) /* backwards: Yn may be Z itself */
    for (PetscInt k = t->ntargets - 1; k >= 0; k--) Z[i * t->nty + k] = Yn[i * t->ntargets + k];
}

/* the whole local share in memory: features (or clean series with -noise_fresh) and targets */
static PetscErrorCode LoadInMemory(InvTrainer t)
{
  PetscInt64 ntr = t->tr1 - t->tr0, nva = t->va1 - t->va0;
  PetscInt per = t->n_obs * t->n_ch, P = t->P;
  size_t useries = (size_t)t->esize * (size_t)per; /* bytes of a series row as read */
  char *U;
  double *Th, *Nz = NULL, *Y;
  InvFeat f = t->map->feat;
  double rawb = (double)(ntr + nva) * ((double)useries + (double)(P + t->ntargets + (t->hasnoise ? 2 : 0)) * sizeof(double));

  PetscFunctionBegin;
  PetscCall(
      PetscMalloc3((size_t)(ntr + nva) * useries + 1, &U, (size_t)(ntr + nva) * P + 1, &Th, (size_t)(ntr + nva) * t->ntargets + 1, &Y));
  if (t->hasnoise) PetscCall(PetscMalloc1((size_t)(ntr + nva) * 2 + 1, &Nz));
  InvTrainerTrack(t, rawb);
  PetscCall(InvTrainerReadBlock(t, t->tr0, t->tr1, U, Th, Nz));
  PetscCall(InvTrainerReadBlock(t, t->va0, t->va1, U + (size_t)ntr * useries, Th + ntr * P, Nz ? Nz + ntr * 2 : NULL));
  PetscCall(CheckFinite(t, ntr, U, Th, t->tr0));
  PetscCall(CheckFinite(t, nva, U + (size_t)ntr * useries, Th + ntr * P, t->va0));
  PetscCall(InvTrainerTargets(t, ntr + nva, Th, Nz, Y));

  /* features and normalisation fitted on the training rows */
  PetscCall(PetscMalloc1((size_t)ntr * f->size + 1, &t->Xtr));
  PetscCall(PetscMalloc1((size_t)nva * f->size + 1, &t->Xva));
  InvTrainerTrack(t, sizeof(float) * (double)(ntr + nva) * (double)f->size);
  if (t->noise_fresh) {
    /* the clean series stay in the file's precision (float32 rows of a single-precision file) */
    PetscCall(PetscMalloc1((size_t)ntr * useries + 1, &t->Utr));
    PetscCall(PetscMalloc1((size_t)ntr * 2 + 1, &t->noise_par));
    InvTrainerTrack(t, (double)ntr * ((double)useries + 2.0 * sizeof(double)));
    PetscCall(PetscMemcpy(t->Utr, U, (size_t)ntr * useries));
    for (PetscInt64 i = 0; i < ntr; i++) {
      if (Nz)
        t->noise_par[2 * i] = Nz[2 * i], t->noise_par[2 * i + 1] = Nz[2 * i + 1];
      else
        PetscCall(InvNoiseSampleParameters(t->noise, t->seed, t->tr0 + i, &t->noise_par[2 * i], &t->noise_par[2 * i + 1]));
      PetscCall(InvNoiseApply(t->noise, t->seed, t->tr0 + i, 1, t->noise_par[2 * i], t->noise_par[2 * i + 1], per,
                              InvTrainerSeriesRow(t, U, i), t->dbuf));
      PetscCall(InvFeatTransform(f, t->dbuf, t->Xtr + i * f->size));
    }
  } else
    for (PetscInt64 i = 0; i < ntr; i++) PetscCall(InvFeatTransform(f, InvTrainerSeriesRow(t, U, i), t->Xtr + i * f->size));
  for (PetscInt64 i = 0; i < nva; i++) PetscCall(InvFeatTransform(f, InvTrainerSeriesRow(t, U, ntr + i), t->Xva + i * f->size));
  PetscCall(InvFeatFitInput(f, t->comm, (PetscInt)ntr, t->Xtr));
  PetscCall(InvFeatFitTargets(f, t->comm, (PetscInt)ntr, Y));
  PetscCall(InvFeatNormalizeInput(f, (PetscInt)nva, t->Xva));
  if (t->noise_fresh) {
    PetscCall(PetscFree(t->Xtr)); /* rebuilt per batch */
    InvTrainerTrack(t, -(double)sizeof(float) * (double)ntr * (double)f->size);
  } else
    PetscCall(InvFeatNormalizeInput(f, (PetscInt)ntr, t->Xtr));
  PetscCall(PetscMalloc1((size_t)ntr * t->nty + 1, &t->Ytr));
  PetscCall(PetscMalloc1((size_t)nva * t->nty + 1, &t->Yva));
  InvTrainerTrack(t, sizeof(float) * (double)(ntr + nva) * (double)t->nty);
  PetscCall(InvFeatNormalizeTargets(f, (PetscInt)ntr, Y, t->Ytr));
  PetscCall(InvFeatNormalizeTargets(f, (PetscInt)nva, Y + ntr * t->ntargets, t->Yva));
  if (t->laplace) {
    PetscCall(PetscMalloc1((size_t)PetscMax(ntr, nva) * t->ntargets + 1, &t->fbuf));
    SpreadTargets(t, ntr, t->Ytr, t->Ytr);
    SpreadTargets(t, nva, t->Yva, t->Yva);
    PetscCall(LaplaceTargets(t, t->tr0, t->tr1, t->Ytr));
    PetscCall(LaplaceTargets(t, t->va0, t->va1, t->Yva));
    PetscCall(PetscFree(t->fbuf));
  }
  PetscCall(PetscFree3(U, Th, Y));
  PetscCall(PetscFree(Nz));
  InvTrainerTrack(t, -rawb);
  PetscFunctionReturn(0);
}

/* streamed: check every row and fit the normalisation in two passes over blocks of the local share, the
   same sums in the same order as in memory (so the statistics are bitwise those of LoadInMemory) */
static PetscErrorCode FitStreamed(InvTrainer t)
{
  PetscInt64 ntr = t->tr1 - t->tr0, nva = t->va1 - t->va0, fb = t->fit_block, nblk[2];
  PetscInt per = t->n_obs * t->n_ch;
  InvFeat f = t->map->feat;
  double *Th, *Nz = NULL, *Y, *sx, *sy, bytes = (double)fb * ((double)InvTrainerReadBytes(t) + 8.0 * t->ntargets + 4.0 * f->size);
  char *U;
  float *X;

  PetscFunctionBegin;
  PetscCall(PetscMalloc4((size_t)fb * per * t->esize, &U, (size_t)fb * t->P, &Th, (size_t)fb * t->ntargets, &Y, (size_t)fb * f->size, &X));
  if (t->hasnoise) PetscCall(PetscMalloc1((size_t)fb * 2, &Nz));
  InvTrainerTrack(t, bytes);
  PetscCall(PetscCalloc2(f->size, &sx, t->ntargets, &sy));
  nblk[0] = (ntr + fb - 1) / fb;
  nblk[1] = (nva + fb - 1) / fb;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, nblk, 2, MPIU_INT64, MPI_MAX, t->comm));
  for (PetscInt pass = 0; pass < 2; pass++) {
    for (PetscInt64 k = 0; k < nblk[0]; k++) {
      PetscInt64 g0 = PetscMin(t->tr0 + k * fb, t->tr1), g1 = PetscMin(g0 + fb, t->tr1), n = g1 - g0;
      PetscCall(InvTrainerReadBlock(t, g0, g1, U, Th, Nz));
      if (pass == 0) PetscCall(CheckFinite(t, n, U, Th, g0));
      PetscCall(InvTrainerTargets(t, n, Th, Nz, Y));
      for (PetscInt64 i = 0; i < n; i++) {
        if (t->noise_fresh) { /* the noisy series of epoch 0, as in memory */
          double rho, sig;
          if (Nz)
            rho = Nz[2 * i], sig = Nz[2 * i + 1];
          else
            PetscCall(InvNoiseSampleParameters(t->noise, t->seed, g0 + i, &rho, &sig));
          PetscCall(InvNoiseApply(t->noise, t->seed, g0 + i, 1, rho, sig, per, InvTrainerSeriesRow(t, U, i), t->dbuf));
          PetscCall(InvFeatTransform(f, t->dbuf, X + i * f->size));
        } else
          PetscCall(InvFeatTransform(f, InvTrainerSeriesRow(t, U, i), X + i * f->size));
      }
      PetscCall(InvFeatInputSums(f, pass, (PetscInt)n, X, sx));
      PetscCall(InvFeatTargetSums(f, pass, (PetscInt)n, Y, sy));
    }
    PetscCall(InvFeatInputFinish(f, t->comm, pass, ntr, sx));
    PetscCall(InvFeatTargetFinish(f, t->comm, pass, ntr, sy));
  }
  for (PetscInt64 k = 0; k < nblk[1]; k++) { /* validation rows: checked now, read again at every validation */
    PetscInt64 g0 = PetscMin(t->va0 + k * fb, t->va1), g1 = PetscMin(g0 + fb, t->va1);
    PetscCall(InvTrainerReadBlock(t, g0, g1, U, Th, Nz));
    PetscCall(CheckFinite(t, g1 - g0, U, Th, g0));
  }
  PetscCall(PetscFree2(sx, sy));
  PetscCall(PetscFree4(U, Th, Y, X));
  PetscCall(PetscFree(Nz));
  InvTrainerTrack(t, -bytes);
  PetscFunctionReturn(0);
}

/* Laplace targets (moment matching): /theta_map (N x P) and /cov (N x P x P) with /map_status, written by
   invmap map -map_targets_into from the same series as -train_data, and targets that are parameters */
static PetscErrorCode CheckLaplace(InvTrainer t, hsize_t N)
{
  const char *fix = "compute them with invmap map -i <set> -o <map.h5> -map_targets_into <set> (add -map_clean for -train_data u)";
  PetscBool has;
  PetscInt r;
  hsize_t d[3];
  hid_t root;
  char *series = NULL;

  PetscFunctionBegin;
  for (PetscInt k = 0; k < t->ntargets; k++)
    PetscCheck(t->col[k] < t->P, t->comm, PETSC_ERR_ARG_WRONG,
               "-train_loss %s: Laplace targets exist for the model's parameters only, not for rho or sigma: drop them from -train_targets",
               InvLossTypes[t->loss_type]);
  PetscCall(InvH5HasDataset(t->file, "/cov", &has));
  PetscCheck(has, t->comm, PETSC_ERR_FILE_UNEXPECTED, "-train_loss %s needs Laplace targets (/theta_map, /cov) and %s has no /cov: %s",
             InvLossTypes[t->loss_type], t->data_file, fix);
  PetscCall(InvH5GetDims(t->file, "/cov", &r, d));
  PetscCheck(r == 3 && d[0] == N && d[1] == (hsize_t)t->P && d[2] == (hsize_t)t->P, t->comm, PETSC_ERR_FILE_UNEXPECTED,
             "/cov in %s must be (%llu x %d x %d), the Laplace covariance of each sample: %s", t->data_file, (unsigned long long)N,
             (int)t->P, (int)t->P, fix);
  PetscCall(InvH5HasDataset(t->file, "/theta_map", &has));
  PetscCheck(has, t->comm, PETSC_ERR_FILE_UNEXPECTED,
             "-train_loss %s needs Laplace targets (/theta_map, /cov) and %s has no /theta_map: %s", InvLossTypes[t->loss_type],
             t->data_file, fix);
  PetscCall(InvH5GetDims(t->file, "/theta_map", &r, d));
  PetscCheck(r == 2 && d[0] == N && d[1] == (hsize_t)t->P, t->comm, PETSC_ERR_FILE_UNEXPECTED,
             "/theta_map in %s must be (%llu x %d), the MAP point of each sample: %s", t->data_file, (unsigned long long)N, (int)t->P, fix);
  PetscCall(InvH5HasDataset(t->file, "/map_status", &has));
  PetscCheck(has, t->comm, PETSC_ERR_FILE_UNEXPECTED, "%s has Laplace targets but no /map_status: %s", t->data_file, fix);
  PetscCall(InvH5GetDims(t->file, "/map_status", &r, d));
  PetscCheck(r == 1 && d[0] == N, t->comm, PETSC_ERR_FILE_UNEXPECTED, "/map_status in %s must have shape (%llu): %s", t->data_file,
             (unsigned long long)N, fix);
  PetscCallHDF5Return(root, H5Gopen2(t->file, "/", H5P_DEFAULT));
  PetscCall(InvH5HasAttr(root, "laplace_series", &has));
  if (has) PetscCall(InvH5ReadAttrString(root, "laplace_series", &series));
  PetscCallHDF5(H5Gclose(root));
  PetscCheck(
      !series || !strncmp(series, t->path, strlen(t->path)), t->comm, PETSC_ERR_ARG_INCOMP,
      "The Laplace targets of %s were computed from %s, but -train_data %s trains on %s: use matching targets (map -map_clean for /u)",
      t->data_file, series, t->dataset, t->path);
  PetscCall(PetscFree(series));
  t->nty = 2 * t->ntargets + t->ntargets * t->ntargets;
  PetscFunctionReturn(0);
}

PetscErrorCode InvTrainerLoadData(InvTrainer t)
{
  hid_t root;
  PetscInt r;
  hsize_t dims[3], tdims[3];
  int *status = NULL;
  PetscInt64 Nrows, N = 0;
  char *pnames = NULL, names[256], *tok, *save = NULL;
  PetscBool hasstatus, has;
  InvFeat f;
  double need, budget = t->memory_mb * 1048576.0;

  PetscFunctionBegin;
  PetscCall(InvH5Open(t->comm, t->data_file, PETSC_FALSE, &t->file));
  PetscCall(PetscSNPrintf(t->path, sizeof(t->path), "/%s", t->dataset));
  PetscCall(InvH5HasDataset(t->file, t->path, &has));
  PetscCheck(has, t->comm, PETSC_ERR_FILE_UNEXPECTED, "Dataset %s is missing in %s (noisy data /d exist only when simulated with noise)",
             t->path, t->data_file);
  PetscCall(InvH5GetDims(t->file, t->path, &r, dims));
  PetscCheck(r >= 2, t->comm, PETSC_ERR_FILE_UNEXPECTED, "%s in %s must be (samples x times), has rank %d", t->path, t->data_file, (int)r);
  PetscCheck(dims[0] <= (hsize_t)PETSC_MAX_INT && dims[1] <= (hsize_t)PETSC_MAX_INT &&
                 dims[2] <= (hsize_t)PETSC_MAX_INT / PetscMax(dims[1], 1),
             t->comm, PETSC_ERR_FILE_UNEXPECTED, "%s in %s has shape (%llu, %llu, %llu): too large", t->path, t->data_file,
             (unsigned long long)dims[0], (unsigned long long)dims[1], (unsigned long long)dims[2]);
  { /* series stored as float32 (simulate -series_precision single) are read as float32, anything else as double */
    hid_t dset, ftype;
    PetscCallHDF5Return(dset, H5Dopen2(t->file, t->path, H5P_DEFAULT));
    PetscCallHDF5Return(ftype, H5Dget_type(dset));
    t->esize =
        (H5Tget_class(ftype) == H5T_FLOAT && H5Tget_size(ftype) == sizeof(float)) ? (PetscInt)sizeof(float) : (PetscInt)sizeof(double);
    PetscCallHDF5(H5Tclose(ftype));
    PetscCallHDF5(H5Dclose(dset));
  }
  Nrows = (PetscInt64)dims[0];
  t->n_obs = (PetscInt)dims[1];
  t->n_ch = r == 3 ? (PetscInt)dims[2] : 1;
  PetscCall(InvH5HasDataset(t->file, "/theta", &has));
  PetscCheck(has, t->comm, PETSC_ERR_FILE_UNEXPECTED, "Dataset /theta (the parameters to learn) is missing in %s", t->data_file);
  PetscCall(InvH5GetDims(t->file, "/theta", &r, tdims));
  PetscCheck(r == 2 && tdims[0] == dims[0] && tdims[1] > 0 && tdims[1] <= INV_TRAIN_MAX_PARAMS, t->comm, PETSC_ERR_FILE_UNEXPECTED,
             "/theta in %s must be (%llu x parameters), at most %d parameters", t->data_file, (unsigned long long)dims[0],
             INV_TRAIN_MAX_PARAMS);
  t->P = (PetscInt)tdims[1];
  PetscCall(InvH5HasDataset(t->file, "/noise", &t->hasnoise));
  if (t->hasnoise) {
    PetscCall(InvH5GetDims(t->file, "/noise", &r, tdims));
    PetscCheck(r == 2 && tdims[0] == dims[0] && tdims[1] == 2, t->comm, PETSC_ERR_FILE_UNEXPECTED,
               "/noise in %s must be (%llu x 2): rho, sigma per sample", t->data_file, (unsigned long long)dims[0]);
  }
  PetscCall(InvH5HasDataset(t->file, "/status", &hasstatus));
  if (hasstatus) {
    PetscCall(InvH5GetDims(t->file, "/status", &r, tdims));
    PetscCheck(r == 1 && tdims[0] == dims[0], t->comm, PETSC_ERR_FILE_UNEXPECTED, "/status in %s must have shape (%llu)", t->data_file,
               (unsigned long long)dims[0]);
  }
  PetscCallHDF5Return(root, H5Gopen2(t->file, "/", H5P_DEFAULT));
  PetscCall(InvH5HasAttr(root, "parameter_names", &has));
  if (has) PetscCall(InvH5ReadAttrString(root, "parameter_names", &pnames));
  PetscCallHDF5(H5Gclose(root));

  /* targets */
  if (!t->targets[0]) {
    if (pnames)
      PetscCall(PetscStrncpy(t->targets, pnames, sizeof(t->targets)));
    else
      for (PetscInt k = 0; k < t->P; k++)
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
    if (!strcmp(tok, "rho")) c = t->P;
    if (!strcmp(tok, "sigma")) c = t->P + 1;
    PetscCheck(c >= 0 && c < t->P + 2, t->comm, PETSC_ERR_ARG_WRONG, "-train_targets: unknown target '%s'; %s has %s, rho, sigma", tok,
               t->data_file, pnames ? pnames : "theta0...");
    PetscCheck(c < t->P || t->hasnoise, t->comm, PETSC_ERR_ARG_WRONG,
               "-train_targets %s: %s has no /noise dataset (simulated without noise)", tok, t->data_file);
    PetscCheck(t->ntargets < INV_MAX_TARGETS, t->comm, PETSC_ERR_ARG_SIZ, "-train_targets: at most %d targets", INV_MAX_TARGETS);
    t->col[t->ntargets++] = c;
  }
  PetscCall(PetscFree(pnames));
  PetscCheck(t->ntargets > 0, t->comm, PETSC_ERR_ARG_WRONG, "-train_targets: no targets");
  t->nty = t->ntargets;
  if (t->laplace) PetscCall(CheckLaplace(t, dims[0]));
  PetscCheck(t->nloss_weight == 0 || t->nloss_weight == t->ntargets, t->comm, PETSC_ERR_ARG_SIZ,
             "-train_loss_weights has %d values for %d targets", (int)t->nloss_weight, (int)t->ntargets);
  for (PetscInt k = 0; k < t->ntargets; k++) {
    t->weight[k] = t->nloss_weight ? (float)t->loss_weight[k] : 1.0f;
    PetscCheck(t->weight[k] >= 0, t->comm, PETSC_ERR_ARG_OUTOFRANGE, "-train_loss_weights must be >= 0");
  }

  /* usable rows */
  PetscCall(PetscMalloc1(Nrows + 1, &t->valid));
  if (hasstatus) {
    PetscCall(PetscMalloc1(Nrows + 1, &status));
    PetscCall(InvH5ReadAll(t->file, "/status", H5T_NATIVE_INT, status));
  }
  if (t->laplace) { /* samples whose MAP failed (/map_status != 0) have no Laplace targets: not usable */
    int *ms;
    PetscInt64 nbad = 0;
    PetscCall(PetscMalloc1(Nrows + 1, &ms));
    PetscCall(InvH5ReadAll(t->file, "/map_status", H5T_NATIVE_INT, ms));
    if (!status) PetscCall(PetscCalloc1(Nrows + 1, &status));
    for (PetscInt64 i = 0; i < Nrows; i++) {
      if (!status[i] && ms[i]) nbad++;
      if (ms[i]) status[i] = ms[i];
    }
    PetscCall(PetscFree(ms));
    if (nbad)
      PetscCall(PetscPrintf(t->comm, "invmap train: %lld samples without Laplace targets (/map_status != 0) left out\n", (long long)nbad));
  }
  for (PetscInt64 i = 0; i < Nrows; i++)
    if (!status || status[i] == 0) t->valid[N++] = i;
  PetscCall(PetscFree(status));
  if (t->max_samples > 0) N = PetscMin(N, (PetscInt64)t->max_samples);
  t->nvalid = N;
  t->Nval = (PetscInt64)floor(t->val_frac * (double)N + 0.5);
  t->Ntr = N - t->Nval;
  PetscCheck(t->Ntr >= 2, t->comm, PETSC_ERR_ARG_SIZ, "%s has %lld usable samples: too few to train (%lld for validation)", t->data_file,
             (long long)N, (long long)t->Nval);
  Split(t->Ntr, t->size, t->rank, 0, &t->tr0, &t->tr1);
  Split(t->Nval, t->size, t->rank, t->Ntr, &t->va0, &t->va1);

  PetscCall(InvFeatCreate(t->repr, t->norm, t->n_obs, t->n_ch, t->ntargets, &t->map->feat));
  f = t->map->feat;
  PetscCall(PetscStrncpy(t->map->targets, t->targets, sizeof(t->map->targets)));
  t->map->ntargets = t->ntargets;
  PetscCall(PetscMalloc2(t->n_obs * t->n_ch, &t->ubuf, t->n_obs * t->n_ch, &t->dbuf));
  if (t->noise_fresh) {
    PetscCheck(t->n_ch == 1, t->comm, PETSC_ERR_SUP, "-noise_fresh needs a single observed state");
    t->noise->type = INV_NOISE_AR1;
    PetscCall(InvNoiseSetFromFile(t->noise, t->comm, t->file, t->data_file)); /* the data's convention and Delta_t */
  }

  /* in memory or streamed: the footprint of the whole set in memory on one rank decides (not the rank
     count, so that 1 and 2 ranks take the same path and give the same weights) */
  need = (double)(t->Ntr + t->Nval) * ((double)InvTrainerReadBytes(t) + 8.0 * t->ntargets + 4.0 * f->size) +
         3.0 * (double)t->Ntr * (double)InvTrainerRowBytes(t);
  if (t->laplace) need += (double)(t->Ntr + t->Nval) * 4.0 * (double)(t->nty - t->ntargets);
  t->stream = (PetscBool)(t->stream_mode == 1 || (t->stream_mode == 0 && need > budget));
  PetscCheck(!t->stream || !t->laplace, t->comm, PETSC_ERR_SUP,
             "-train_loss %s: Laplace targets are read in memory only, and %s %s; use -train_stream no (or auto) with "
             "-train_memory_mb %.0f or more",
             InvLossTypes[t->loss_type], t->data_file, t->stream_mode == 1 ? "was to be streamed (-train_stream yes)" : "needs streaming",
             need / 1048576.0 + 1);
  if (!t->stream) {
    PetscCall(LoadInMemory(t));
    PetscCall(InvH5Close(&t->file));
    PetscCall(PetscFree(t->valid));
  } else {
    PetscCall(InvTrainerStreamSetUp(t)); /* block sizes from the budget */
    PetscCall(FitStreamed(t));
  }
  PetscFunctionReturn(0);
}
