/* InvMAP input and output: observed series, noise parameters and initial guesses from HDF5 (row blocks
   per rank), per-sample validation, and the atomically written result file. */
#include "mapimpl.h"
#include <invmap/h5io.h>
#include <invmap/noise.h>
#include <stdint.h>

PetscErrorCode InvMAPReadModelName(InvMAP map)
{
  hid_t file, root;
  PetscBool has;
  char *name;

  PetscFunctionBegin;
  PetscCall(InvH5Open(map->comm, map->input, PETSC_FALSE, &file));
  PetscCallHDF5Return(root, H5Gopen2(file, "/", H5P_DEFAULT));
  PetscCall(InvH5HasAttr(root, "model", &has));
  if (has) {
    PetscCall(InvH5ReadAttrString(root, "model", &name));
    PetscCall(PetscStrncpy(map->model_type, name, sizeof(map->model_type)));
    PetscCall(PetscFree(name));
  }
  PetscCallHDF5(H5Gclose(root));
  PetscCall(InvH5Close(&file));
  PetscFunctionReturn(0);
}

/* Rows [i0, i1) of an (N, P) initial-guess dataset of -map_init */
static PetscErrorCode InvMAPReadInit(InvMAP map, PetscInt64 i0, PetscInt64 i1)
{
  hid_t file;
  PetscBool has;
  const char *ds = "/theta_init";
  PetscInt rank;
  hsize_t dims[3];
  const PetscInt np = map->model->nparam;

  PetscFunctionBegin;
  PetscCall(InvH5Open(map->comm, map->init_file, PETSC_FALSE, &file));
  PetscCall(InvH5HasDataset(file, ds, &has));
  if (!has) {
    ds = "/theta_pred";
    PetscCall(InvH5HasDataset(file, ds, &has));
  }
  if (!has) {
    ds = "/theta_map";
    PetscCall(InvH5HasDataset(file, ds, &has));
  }
  PetscCheck(has, map->comm, PETSC_ERR_FILE_UNEXPECTED, "-map_init %s has none of /theta_init, /theta_pred, /theta_map", map->init_file);
  PetscCall(InvH5GetDims(file, ds, &rank, dims));
  PetscCheck(rank == 2 && dims[1] == (hsize_t)np && dims[0] >= (hsize_t)map->N, map->comm, PETSC_ERR_FILE_UNEXPECTED,
             "-map_init %s: %s has shape (%llu, %llu); need (N >= %" PetscInt64_FMT ", %" PetscInt_FMT ")", map->init_file, ds,
             (unsigned long long)dims[0], (unsigned long long)(rank == 2 ? dims[1] : 1), map->N, np);
  PetscCall(PetscMalloc1(PetscMax(i1 - i0, 1) * np, &map->init));
  PetscCall(InvH5ReadRows(file, ds, H5T_NATIVE_DOUBLE, (hsize_t)i0, (hsize_t)(i1 - i0), map->init));
  PetscCall(InvH5Close(&file));
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPReadInput(InvMAP map)
{
  hid_t file, root;
  const char *ds = map->use_clean ? "/u" : "/d";
  PetscBool has, hasnoise, hasstatus, hastheta;
  PetscInt rank, nt, per;
  hsize_t dims[3], tdims[3];
  PetscInt64 N, i0, i1;
  const PetscInt no = map->model->nobs, np = map->model->nparam;

  PetscFunctionBegin;
  PetscCall(InvH5Open(map->comm, map->input, PETSC_FALSE, &file));
  PetscCall(InvH5HasDataset(file, ds, &has));
  if (!has && !map->use_clean) {
    PetscBool hasu;
    PetscCall(InvH5HasDataset(file, "/u", &hasu));
    PetscCheck(
        !hasu, map->comm, PETSC_ERR_FILE_UNEXPECTED,
        "%s has no noisy series /d (made with -noise_type none?); fit the clean /u with -map_clean and give -noise_rho, -noise_sigma",
        map->input);
  }
  PetscCheck(has, map->comm, PETSC_ERR_FILE_UNEXPECTED, "%s has no dataset %s: not an ensemble file of invmap simulate (empty file?)",
             map->input, ds);
  PetscCall(InvH5GetDims(file, ds, &rank, dims));
  PetscCheck((no == 1 && rank == 2) || (rank == 3 && dims[2] == (hsize_t)no), map->comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s: %s has rank %" PetscInt_FMT "; model %s observes %" PetscInt_FMT " component(s)", map->input, ds, rank, map->model->type,
             no);
  PetscCheck(dims[0] > 0, map->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: %s holds no samples", map->input, ds);
  PetscCall(InvH5HasDataset(file, "/t", &has));
  PetscCheck(has, map->comm, PETSC_ERR_FILE_UNEXPECTED, "%s has no observation times /t", map->input);
  PetscCall(InvH5GetDims(file, "/t", &rank, tdims));
  PetscCheck(rank == 1 && tdims[0] == dims[1], map->comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s: wrong lengths: /t has %llu times but each series in %s has %llu values", map->input, (unsigned long long)tdims[0], ds,
             (unsigned long long)dims[1]);
  nt = (PetscInt)dims[1];
  PetscCheck(nt >= 2, map->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: need at least 2 observation times, found %" PetscInt_FMT, map->input, nt);
  per = nt * no;
  PetscCall(PetscMalloc1(nt, &map->t));
  PetscCall(InvH5ReadAll(file, "/t", H5T_NATIVE_DOUBLE, map->t));
  for (PetscInt k = 0; k < nt; k++)
    PetscCheck(PetscIsNormalReal(map->t[k]) || map->t[k] == 0, map->comm, PETSC_ERR_FILE_UNEXPECTED,
               "%s: /t[%" PetscInt_FMT "] is not finite", map->input, k);
  PetscCall(InvNoiseSpecSetData(&map->nspec, map->comm, file, map->input, nt, map->t));
  N = (PetscInt64)dims[0];
  if (map->nmax > 0) N = PetscMin(N, (PetscInt64)map->nmax);
  map->N = N;
  map->nt = nt;
  i0 = N * map->rank / map->size;
  i1 = N * (map->rank + 1) / map->size;
  map->first = i0;
  map->n = (PetscInt)(i1 - i0);
  PetscCall(PetscMalloc3(PetscMax(map->n, 1) * per, &map->d, PetscMax(map->n, 1) * 2, &map->noise, PetscMax(map->n, 1), &map->status));
  PetscCall(InvH5ReadRows(file, ds, H5T_NATIVE_DOUBLE, (hsize_t)i0, (hsize_t)map->n, map->d));
  PetscCall(InvH5HasDataset(file, "/noise", &hasnoise));
  PetscCheck(hasnoise || (map->nspec.fixed_rho && map->nspec.fixed_sigma), map->comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s has no /noise (rho, sigma per sample); give -noise_rho and -noise_sigma", map->input);
  if (hasnoise) {
    PetscCall(InvH5GetDims(file, "/noise", &rank, tdims));
    PetscCheck(rank == 2 && tdims[1] == 2 && tdims[0] == dims[0], map->comm, PETSC_ERR_FILE_UNEXPECTED,
               "%s: /noise must have shape (%llu, 2)", map->input, (unsigned long long)dims[0]);
    PetscCall(InvH5ReadRows(file, "/noise", H5T_NATIVE_DOUBLE, (hsize_t)i0, (hsize_t)map->n, map->noise));
  }
  InvNoiseSpecApply(&map->nspec, map->n, map->noise);
  for (PetscInt i = 0; i < map->n; i++) map->status[i] = INV_MAP_OK;
  PetscCall(InvH5HasDataset(file, "/status", &hasstatus));
  if (hasstatus) {
    int32_t *st;
    PetscCall(InvH5GetDims(file, "/status", &rank, tdims));
    PetscCheck(rank == 1 && tdims[0] == dims[0], map->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: /status must have shape (%llu)", map->input,
               (unsigned long long)dims[0]);
    PetscCall(PetscMalloc1(PetscMax(map->n, 1), &st));
    PetscCall(InvH5ReadRows(file, "/status", H5T_NATIVE_INT32, (hsize_t)i0, (hsize_t)map->n, st));
    for (PetscInt i = 0; i < map->n; i++)
      if (st[i]) map->status[i] = INV_MAP_BAD_DATA;
    PetscCall(PetscFree(st));
  }
  PetscCall(InvH5HasDataset(file, "/theta", &hastheta));
  if (hastheta) {
    PetscCall(InvH5GetDims(file, "/theta", &rank, tdims));
    if (rank == 2 && tdims[1] == (hsize_t)np && tdims[0] == dims[0]) {
      PetscCall(PetscMalloc1(PetscMax(map->n, 1) * np, &map->theta_true));
      PetscCall(InvH5ReadRows(file, "/theta", H5T_NATIVE_DOUBLE, (hsize_t)i0, (hsize_t)map->n, map->theta_true));
    }
  }
  PetscCallHDF5Return(root, H5Gopen2(file, "/", H5P_DEFAULT));
  PetscCall(InvModelReadConstants(map->model, root));
  PetscCallHDF5(H5Gclose(root));
  PetscCall(InvH5Close(&file));
  if (map->init_file[0]) PetscCall(InvMAPReadInit(map, i0, i1));
  PetscFunctionReturn(0);
}

/* Flag samples that cannot be fitted; collective summary. */
PetscErrorCode InvMAPCheckProblems(InvMAP map)
{
  const PetscInt per = map->nt * map->model->nobs, np = map->model->nparam;
  PetscInt64 cnt[3] = {0, 0, 0}, first[3] = {-1, -1, -1}, gcnt[3];

  PetscFunctionBegin;
  for (PetscInt i = 0; i < map->n; i++) {
    const PetscReal *di = map->d + i * per, rho = map->noise[2 * i], sigma = map->noise[2 * i + 1];
    PetscInt code = map->status[i];
    if (code == INV_MAP_OK)
      for (PetscInt k = 0; k < per; k++)
        if (PetscIsInfOrNanReal(di[k])) {
          code = INV_MAP_BAD_DATA;
          break;
        }
    if (code == INV_MAP_OK && !InvNoiseParametersValid(rho, sigma)) code = INV_MAP_BAD_NOISE;
    if (code == INV_MAP_OK && map->init)
      for (PetscInt j = 0; j < np; j++)
        PetscCheck(!PetscIsInfOrNanReal(map->init[i * np + j]), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                   "Initial guess of sample %" PetscInt64_FMT " is not finite", map->first + i);
    map->status[i] = code;
    if (code == INV_MAP_BAD_DATA || code == INV_MAP_BAD_NOISE) {
      const PetscInt c = code == INV_MAP_BAD_DATA ? 0 : 1;
      if (!cnt[c]) first[c] = map->first + i;
      cnt[c]++;
    }
  }
  PetscCallMPI(MPI_Allreduce(cnt, gcnt, 3, MPIU_INT64, MPI_SUM, map->comm));
  for (PetscInt c = 0; c < 2; c++)
    if (first[c] < 0) first[c] = PETSC_MAX_INT;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, first, 3, MPIU_INT64, MPI_MIN, map->comm));
  if (gcnt[0])
    PetscCall(PetscPrintf(map->comm,
                          "map: warning: %" PetscInt64_FMT
                          " series are unusable (NaN/Inf values, or their simulation failed; first: sample %" PetscInt64_FMT
                          "); flagged in /status as bad_data, not fitted\n",
                          gcnt[0], first[0]));
  if (gcnt[1])
    PetscCall(PetscPrintf(map->comm,
                          "map: warning: %" PetscInt64_FMT
                          " samples have invalid AR(1) noise parameters (need sigma > 0, |rho| < 1; first: sample %" PetscInt64_FMT
                          "); flagged in /status as bad_noise, not fitted\n",
                          gcnt[1], first[1]));
  PetscFunctionReturn(0);
}

static PetscErrorCode InvMAPWriteInts(hid_t file, const char name[], PetscInt64 N, PetscInt64 i0, PetscInt n, const PetscInt v[])
{
  int32_t *buf;
  hsize_t dims[1] = {(hsize_t)N};

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(PetscMax(n, 1), &buf));
  for (PetscInt i = 0; i < n; i++) buf[i] = (int32_t)v[i];
  PetscCall(InvH5CreateDataset(file, name, H5T_NATIVE_INT32, 1, dims));
  PetscCall(InvH5WriteRows(file, name, H5T_NATIVE_INT32, (hsize_t)i0, (hsize_t)n, buf));
  PetscCall(PetscFree(buf));
  PetscFunctionReturn(0);
}

static PetscErrorCode InvMAPWriteReals(hid_t file, const char name[], PetscInt rank, const hsize_t dims[], PetscInt64 i0, PetscInt n,
                                       const PetscReal v[])
{
  PetscFunctionBegin;
  PetscCall(InvH5CreateDataset(file, name, H5T_NATIVE_DOUBLE, rank, dims));
  PetscCall(InvH5WriteRows(file, name, H5T_NATIVE_DOUBLE, (hsize_t)i0, (hsize_t)n, v));
  PetscFunctionReturn(0);
}

/* Every dataset and attribute of a MAP file (also of its resumable checkpoint) into an open file */
PetscErrorCode InvMAPWriteContents(InvMAP map, hid_t file)
{
  char desc[256], *opts;
  hid_t root;
  const PetscInt np = map->model->nparam;
  hsize_t dims[3];
  PetscInt64 nfailed = 0, nstarts = map->nstarts + (map->start_mean ? 1 : 0) + (map->init ? 1 : 0), seed = map->seed;
  PetscReal secs = map->seconds;
  PetscMPIInt size;

  PetscFunctionBegin;
  dims[0] = (hsize_t)map->N;
  dims[1] = (hsize_t)np;
  dims[2] = (hsize_t)np;
  PetscCall(InvMAPWriteReals(file, "/theta_map", 2, dims, map->first, map->n, map->theta_map));
  PetscCall(InvMAPWriteReals(file, "/cov", 3, dims, map->first, map->n, map->cov));
  PetscCall(InvMAPWriteReals(file, "/objective", 1, dims, map->first, map->n, map->obj));
  PetscCall(InvMAPWriteReals(file, "/gradient_norm", 1, dims, map->first, map->n, map->gnorm));
  PetscCall(InvMAPWriteReals(file, "/wall_time", 1, dims, map->first, map->n, map->wall));
  PetscCall(InvMAPWriteInts(file, "/iterations", map->N, map->first, map->n, map->its));
  PetscCall(InvMAPWriteInts(file, "/function_evaluations", map->N, map->first, map->n, map->nfev));
  PetscCall(InvMAPWriteInts(file, "/converged_reason", map->N, map->first, map->n, map->reason));
  PetscCall(InvMAPWriteInts(file, "/n_starts_at_best", map->N, map->first, map->n, map->nbest));
  PetscCall(InvMAPWriteInts(file, "/n_starts_ok", map->N, map->first, map->n, map->nstart_ok));
  PetscCall(InvMAPWriteInts(file, "/status", map->N, map->first, map->n, map->status));
  dims[1] = 2;
  PetscCall(InvMAPWriteReals(file, "/noise", 2, dims, map->first, map->n, map->noise));
  if (map->theta_true) {
    dims[1] = (hsize_t)np;
    PetscCall(InvMAPWriteReals(file, "/theta", 2, dims, map->first, map->n, map->theta_true));
  }
  dims[0] = (hsize_t)map->nt;
  PetscCall(InvH5WriteSmall(file, "/t", H5T_NATIVE_DOUBLE, 1, dims, map->t));
  for (PetscInt i = 0; i < map->n; i++)
    if (map->status[i] != INV_MAP_OK) nfailed++;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &nfailed, 1, MPIU_INT64, MPI_SUM, map->comm));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &secs, 1, MPIU_REAL, MPIU_MAX, map->comm));
  PetscCallMPI(MPI_Comm_size(map->comm, &size));
  PetscCallHDF5Return(root, H5Gopen2(file, "/", H5P_DEFAULT));
  PetscCall(InvH5WriteAttrString(root, "invmap_version", INVMAP_VERSION " (" INVMAP_GIT ")"));
  PetscCall(InvNoiseSpecWriteAttributes(&map->nspec, root));
  PetscCall(InvH5WriteAttrString(root, "kind", "map"));
  PetscCall(InvModelWriteAttributes(map->model, root));
  PetscCall(InvPriorWriteAttributes(map->prior, root));
  PetscCall(InvH5WriteAttrString(root, "input", map->input[0] ? map->input : "(in memory)"));
  PetscCall(InvH5WriteAttrString(root, "series", map->use_clean ? "/u (clean)" : "/d (noisy)"));
  PetscCall(InvBatchTSDescribe(map->mts[0], desc, sizeof(desc)));
  PetscCall(InvH5WriteAttrString(root, "integrator", desc));
  PetscCall(InvH5WriteAttrString(root, "hessian_type",
                                 map->htype == INV_MAP_HESSIAN_GN    ? "gauss-newton (forward sensitivities)"
                                 : map->htype == INV_MAP_HESSIAN_FD  ? "full (central differences of adjoint gradients)"
                                 : map->htype == INV_MAP_HESSIAN_SOA ? "full (second-order adjoints, TSAdjointSetForward)"
                                                                     : "none"));
  PetscCall(InvH5WriteAttrInts(root, "n_starts", 1, &nstarts));
  PetscCall(InvH5WriteAttrInts(root, "map_seed", 1, &seed));
  PetscCall(InvH5WriteAttrInts(root, "n_failed", 1, &nfailed));
  PetscCall(InvH5WriteAttrReals(root, "solve_seconds", 1, &secs));
  {
    PetscInt64 nranks = size;
    PetscCall(InvH5WriteAttrInts(root, "n_ranks", 1, &nranks)); /* core-seconds = solve_seconds x n_ranks (InvCostPerEstimate) */
  }
  PetscCall(InvH5WriteAttrString(root, "status_codes", "0=ok,1=bad_data,2=bad_noise,3=failed,4=bad_cov"));
  PetscCall(InvH5WriteAttrString(root, "wall_time_note",
                                 "per-sample share of its rank's solve time, in proportion to the sample's objective "
                                 "evaluations (starts are solved in lockstep batches)"));
  PetscCall(InvOptionsString(&opts));
  PetscCall(InvH5WriteAttrString(root, "options", opts));
  PetscCall(PetscFree(opts));
  PetscCallHDF5(H5Gclose(root));
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPWrite(InvMAP map, const char name[])
{
  char partial[PETSC_MAX_PATH_LEN], tmp[PETSC_MAX_PATH_LEN];
  PetscBool exists;
  hid_t file;

  PetscFunctionBegin;
  PetscCheck(map->solved, map->comm, PETSC_ERR_ORDER, "Call InvMAPSolve() before InvMAPWrite()");
  PetscCheck(!map->interrupted, map->comm, PETSC_ERR_ORDER, "The run was interrupted: InvMAPWriteCheckpoint(), not InvMAPWrite()");
  PetscCall(InvFileExists(name, &exists));
  /* -resume: an output beside the checkpoint was either replaced with -overwrite when the run began or written by this run just
     before it was killed */
  PetscCheck(!exists || map->overwrite || map->resume, map->comm, PETSC_ERR_FILE_WRITE,
             "Output file %s exists; pass -overwrite to replace it", name);
  /* written beside the checkpoint <name>.partial (not over it, so a kill while writing loses nothing), renamed, then
     the checkpoint is removed */
  PetscCall(InvPartialName(name, partial, sizeof(partial)));
  PetscCall(InvPartialName(partial, tmp, sizeof(tmp)));
  PetscCall(InvH5Create(map->comm, tmp, &file));
  PetscCall(InvMAPWriteContents(map, file));
  PetscCall(InvH5Close(&file));
  PetscCall(InvFileRename(map->comm, tmp, name));
  PetscCall(InvFileRemove(map->comm, partial));
  PetscFunctionReturn(0);
}
