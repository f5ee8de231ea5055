/* InvPredictor: observations -> parameter estimates with one or more trained models (ensemble mean and
   spread), written atomically to HDF5 (/theta_pred, /theta_std, the cost /wall_time and solve_seconds)
   and optionally CSV; metrics against /theta when the observations file has it. */
#include <invmap/predict.h>
#include <invmap/h5io.h>
#include <invmap/csv.h>
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <strings.h>

#define INV_MAX_MODELS     16
#define INV_MAX_THETA_COLS 4096 /* columns of an observations file's /theta that metrics look at */

struct _p_InvPredictor {
  MPI_Comm comm;
  PetscMPIInt rank, size;
  char *models[INV_MAX_MODELS];
  PetscInt nmodels;
  char input[PETSC_MAX_PATH_LEN], output[PETSC_MAX_PATH_LEN], csv[PETSC_MAX_PATH_LEN], dataset[8];
  PetscInt batch, blas_threads;
  PetscBool csv_header, quiet, overwrite;
  InvNNMap nn[INV_MAX_MODELS]; /* InvPredictorRun's models, */
  double *S, *truth;           /* series and true targets of this rank's rows, */
  int *status;                 /* and their simulation status (NULL: none) */
};

PetscErrorCode InvPredictorCreate(MPI_Comm comm, InvPredictor *out)
{
  InvPredictor p;

  PetscFunctionBegin;
  PetscCall(PetscNew(&p));
  p->comm = comm;
  PetscCallMPI(MPI_Comm_rank(comm, &p->rank));
  PetscCallMPI(MPI_Comm_size(comm, &p->size));
  p->batch = 256;
  p->blas_threads = 1;
  *out = p;
  PetscFunctionReturn(0);
}

PetscErrorCode InvPredictorSetFromOptions(InvPredictor p)
{
  PetscInt n = INV_MAX_MODELS;
  PetscBool set;

  PetscFunctionBegin;
  PetscOptionsBegin(p->comm, NULL, "Prediction (invmap predict)", "InvPredictor");
  PetscCall(PetscOptionsStringArray("-net", "Network file(s) from invmap train; several (comma-separated) form an ensemble", "", p->models,
                                    &n, &set));
  if (!set) { /* the spelling before -net; -model names an ODE model elsewhere */
    n = INV_MAX_MODELS;
    PetscCall(PetscOptionsStringArray("-model", "Deprecated spelling of -net (removed in the next release)", "", p->models, &n, &set));
    if (set) PetscCall(PetscPrintf(p->comm, "warning: invmap predict: -model is deprecated for network files; use -net\n"));
  }
  p->nmodels = set ? n : 0;
  PetscCall(PetscOptionsString("-i", "Observations: HDF5 (dataset /d or /u) or CSV (one series per row)", "", p->input, p->input,
                               sizeof(p->input), NULL));
  PetscCall(PetscOptionsString("-predict_data", "HDF5 dataset: d, u (default: d when present, else u)", "", p->dataset, p->dataset,
                               sizeof(p->dataset), NULL));
  PetscCall(PetscOptionsBool("-predict_csv_header", "The CSV input has a header line", "", p->csv_header, &p->csv_header, NULL));
  PetscCall(PetscOptionsString("-o", "Output HDF5 file with /theta_pred (and /theta_std for ensembles)", "", p->output, p->output,
                               sizeof(p->output), NULL));
  PetscCall(PetscOptionsBool("-overwrite", "Replace existing output files (the old ones are kept until the new ones are complete)", "",
                             p->overwrite, &p->overwrite, NULL));
  PetscCall(PetscOptionsString("-predict_csv", "Also write the estimates to this CSV file", "", p->csv, p->csv, sizeof(p->csv), NULL));
  PetscCall(PetscOptionsInt("-predict_batch", "Samples per forward pass", "", p->batch, &p->batch, NULL));
  PetscCall(PetscOptionsInt("-predict_blas_threads", "OpenBLAS threads per rank (1: ranks do not oversubscribe the cores)", "",
                            p->blas_threads, &p->blas_threads, NULL));
  PetscCall(PetscOptionsBool("-quiet", "No summary and no metrics", "", p->quiet, &p->quiet, NULL));
  PetscOptionsEnd();
  PetscCheck(p->blas_threads > 0, p->comm, PETSC_ERR_ARG_OUTOFRANGE, "-predict_blas_threads %d must be positive", (int)p->blas_threads);
  PetscCheck(p->batch > 0, p->comm, PETSC_ERR_ARG_OUTOFRANGE, "-predict_batch %d must be positive", (int)p->batch);
  PetscCheck(!p->dataset[0] || !strcmp(p->dataset, "d") || !strcmp(p->dataset, "u"), p->comm, PETSC_ERR_ARG_WRONG,
             "-predict_data %s: use d or u", p->dataset);
  PetscFunctionReturn(0);
}

static PetscBool EndsWith(const char *s, const char *suf)
{
  size_t a = strlen(s), b = strlen(suf);
  return (PetscBool)(a >= b && !strcasecmp(s + a - b, suf));
}

/* columns of /theta (or /noise, as P + 0/1) holding the model's targets; -1 if unknown */
static PetscErrorCode TargetColumns(hid_t file, const char targets[], PetscInt P, PetscInt ntargets, PetscInt col[])
{
  hid_t root;
  PetscBool has;
  char *pnames = NULL, t[256], *tok, *save = NULL;
  PetscInt k = 0;

  PetscFunctionBegin;
  PetscCallHDF5Return(root, H5Gopen2(file, "/", H5P_DEFAULT));
  PetscCall(InvH5HasAttr(root, "parameter_names", &has));
  if (has) PetscCall(InvH5ReadAttrString(root, "parameter_names", &pnames));
  PetscCallHDF5(H5Gclose(root));
  PetscCall(PetscStrncpy(t, targets, sizeof(t)));
  for (tok = strtok_r(t, ",", &save); tok && k < ntargets; tok = strtok_r(NULL, ",", &save), k++) {
    char pn[256], *ptok, *psave = NULL;
    PetscInt j = 0;
    col[k] = -1;
    if (pnames) {
      PetscCall(PetscStrncpy(pn, pnames, sizeof(pn)));
      for (ptok = strtok_r(pn, ",", &psave); ptok; ptok = strtok_r(NULL, ",", &psave), j++)
        if (!strcmp(ptok, tok) && j < P) col[k] = j;
    }
    if (!strcmp(tok, "rho")) col[k] = P;
    if (!strcmp(tok, "sigma")) col[k] = P + 1;
  }
  PetscCall(PetscFree(pnames));
  PetscFunctionReturn(0);
}

PetscErrorCode InvPredictorRun(InvPredictor p)
{
  InvNNMap *map = p->nn; /* in p, as the buffers below: destroyed by InvPredictorDestroy also after an error */
  PetscInt per, O, n0, n1, nloc, P = 0, col[16];
  PetscInt64 N;
  double *pred, *mean, *sd, *wall, secs;
  PetscBool h5 = PETSC_TRUE, hastheta = PETSC_FALSE, hasnoise = PETSC_FALSE, metrics = PETSC_FALSE;
  char path[8] = "", partial[PETSC_MAX_PATH_LEN];
  hid_t file;
  PetscLogDouble t0, t1;

  PetscFunctionBegin;
  PetscCheck(p->nmodels > 0, p->comm, PETSC_ERR_ARG_NULL, "No network: give -net <net.h5> (made by invmap train)");
  PetscCheck(p->input[0], p->comm, PETSC_ERR_ARG_NULL, "No observations: give -i <file.h5|file.csv>");
  PetscCheck(p->output[0], p->comm, PETSC_ERR_ARG_NULL, "No output: give -o <estimates.h5>");
  {
    PetscBool exists, cexists = PETSC_FALSE;
    PetscCall(InvFileExists(p->output, &exists));
    if (p->csv[0]) PetscCall(InvFileExists(p->csv, &cexists));
    PetscCheck(!(exists || cexists) || p->overwrite, p->comm, PETSC_ERR_FILE_UNEXPECTED,
               "The output %s exists: give -overwrite to replace it, or another -o / -predict_csv", exists ? p->output : p->csv);
  }
  openblas_set_num_threads((int)p->blas_threads);
  for (PetscInt m = 0; m < p->nmodels; m++) {
    PetscCall(InvNNMapLoad(p->comm, p->models[m], (int)p->batch, &map[m]));
    PetscCheck(!strcmp(map[m]->targets, map[0]->targets) && map[m]->feat->n_obs == map[0]->feat->n_obs &&
                   map[m]->feat->n_ch == map[0]->feat->n_ch,
               p->comm, PETSC_ERR_ARG_INCOMP, "Ensemble members differ: %s predicts %s from series of %d, %s predicts %s from %d",
               p->models[0], map[0]->targets, (int)map[0]->feat->n_obs, p->models[m], map[m]->targets, (int)map[m]->feat->n_obs);
  }
  per = map[0]->feat->n_obs * map[0]->feat->n_ch;
  O = map[0]->ntargets;

  /* observations: this rank's block of rows */
  if (EndsWith(p->input, ".csv")) {
    InvTable tab;
    h5 = PETSC_FALSE;
    PetscCall(InvTableReadCSV(p->comm, p->input, p->csv_header, &tab));
    PetscCheck(tab.ncols == per, p->comm, PETSC_ERR_ARG_SIZ, "%s: series of length %d, but the model %s expects %d values per series",
               p->input, (int)tab.ncols, p->models[0], (int)per);
    N = tab.nrows;
    n0 = (PetscInt)(N * p->rank / p->size);
    n1 = (PetscInt)(N * (p->rank + 1) / p->size);
    nloc = n1 - n0;
    PetscCall(PetscMalloc1((size_t)nloc * per + 1, &p->S));
    PetscCall(PetscArraycpy(p->S, tab.data + (size_t)n0 * per, (size_t)nloc * per));
    PetscCall(InvTableDestroy(&tab));
  } else {
    PetscInt r;
    hsize_t dims[3];
    PetscBool hasd;
    PetscCall(InvH5Open(p->comm, p->input, PETSC_FALSE, &file));
    PetscCall(InvH5HasDataset(file, "/d", &hasd));
    PetscCall(PetscSNPrintf(path, sizeof(path), "/%s", p->dataset[0] ? p->dataset : (hasd ? "d" : "u")));
    PetscCall(InvH5GetDims(file, path, &r, dims));
    PetscCheck(r >= 2 && dims[1] <= (hsize_t)per && dims[2] <= (hsize_t)per && dims[1] * (r == 3 ? dims[2] : 1) == (hsize_t)per, p->comm,
               PETSC_ERR_ARG_SIZ, "%s in %s: series of length %llu, but the model %s expects %d values per series", path, p->input,
               (unsigned long long)(dims[1] * (r == 3 ? dims[2] : 1)), p->models[0], (int)per);
    PetscCheck(dims[0] <= (hsize_t)PETSC_MAX_INT, p->comm, PETSC_ERR_ARG_SIZ, "%s in %s: %llu series; at most %d can be read", path,
               p->input, (unsigned long long)dims[0], (int)PETSC_MAX_INT);
    N = (PetscInt64)dims[0];
    n0 = (PetscInt)(N * p->rank / p->size);
    n1 = (PetscInt)(N * (p->rank + 1) / p->size);
    nloc = n1 - n0;
    PetscCall(PetscMalloc1((size_t)nloc * per + 1, &p->S));
    PetscCall(InvH5ReadRows(file, path, H5T_NATIVE_DOUBLE, (hsize_t)n0, (hsize_t)nloc, p->S));
    PetscCall(InvH5HasDataset(file, "/status", &hasd));
    if (hasd) {
      hsize_t sdims[3];
      PetscCall(InvH5GetDims(file, "/status", &r, sdims));
      PetscCheck(r == 1 && sdims[0] == dims[0], p->comm, PETSC_ERR_FILE_UNEXPECTED,
                 "%s: /status must have shape (%llu), one code per series", p->input, (unsigned long long)dims[0]);
      PetscCall(PetscMalloc1(nloc + 1, &p->status));
      PetscCall(InvH5ReadRows(file, "/status", H5T_NATIVE_INT, (hsize_t)n0, (hsize_t)nloc, p->status));
    }
    PetscCall(InvH5HasDataset(file, "/theta", &hastheta));
    PetscCall(InvH5HasDataset(file, "/noise", &hasnoise));
    if (hasnoise) { /* metrics of noise targets need (N, 2); otherwise no metrics for them */
      hsize_t ndims[3];
      PetscCall(InvH5GetDims(file, "/noise", &r, ndims));
      hasnoise = (PetscBool)(r == 2 && ndims[0] == (hsize_t)N && ndims[1] == 2);
    }
    if (hastheta) { /* metrics only against a /theta of one row of parameters per series */
      hsize_t tdims[3];
      PetscCall(InvH5GetDims(file, "/theta", &r, tdims));
      hastheta = (PetscBool)(r == 2 && tdims[0] == (hsize_t)N && tdims[1] > 0 && tdims[1] <= INV_MAX_THETA_COLS);
      P = hastheta ? (PetscInt)tdims[1] : 0;
    }
    if (hastheta) {
      PetscCall(TargetColumns(file, map[0]->targets, P, O, col));
      metrics = PETSC_TRUE;
      for (PetscInt k = 0; k < O; k++)
        if (col[k] < 0 || (col[k] >= P && !hasnoise)) metrics = PETSC_FALSE;
      if (metrics) {
        double *th, *nz = NULL;
        PetscCall(PetscMalloc1((size_t)nloc * P + 1, &th));
        PetscCall(InvH5ReadRows(file, "/theta", H5T_NATIVE_DOUBLE, (hsize_t)n0, (hsize_t)nloc, th));
        if (hasnoise) {
          PetscCall(PetscMalloc1((size_t)nloc * 2 + 1, &nz));
          PetscCall(InvH5ReadRows(file, "/noise", H5T_NATIVE_DOUBLE, (hsize_t)n0, (hsize_t)nloc, nz));
        }
        PetscCall(PetscMalloc1((size_t)nloc * O + 1, &p->truth));
        for (PetscInt i = 0; i < nloc; i++)
          for (PetscInt k = 0; k < O; k++) p->truth[i * O + k] = col[k] < P ? th[i * P + col[k]] : nz[i * 2 + col[k] - P];
        PetscCall(PetscFree(th));
        PetscCall(PetscFree(nz));
      }
    }
    PetscCall(InvH5Close(&file));
  }
  {
    PetscInt64 bad = INT64_MAX;
    for (PetscInt i = 0; i < nloc && bad == INT64_MAX; i++) {
      if (p->status && p->status[i]) continue;
      for (PetscInt k = 0; k < per; k++)
        if (!isfinite(p->S[(size_t)i * per + k])) {
          bad = n0 + i;
          break;
        }
    }
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPIU_INT64, MPI_MIN, p->comm));
    PetscCheck(bad == INT64_MAX, p->comm, PETSC_ERR_FILE_UNEXPECTED,
               "Non-finite value (NaN/Inf) in %s%s, series %lld (row %lld): no estimate possible", p->input, path, (long long)bad,
               (long long)bad + (h5 ? 0 : 1 + p->csv_header));
  }

  /* predict with each model; ensemble mean and spread */
  PetscCall(PetscMalloc3((size_t)nloc * O + 1, &pred, (size_t)nloc * O + 1, &mean, (size_t)nloc * O + 1, &sd));
  PetscCall(PetscCalloc1(nloc + 1, &wall));
  PetscCall(PetscArrayzero(mean, (size_t)nloc * O));
  PetscCall(PetscArrayzero(sd, (size_t)nloc * O));
  for (PetscInt m = 0; m < p->nmodels; m++) { /* warm-up batch (first touch of the buffers), not timed */
    if (p->status)
      for (PetscInt i = 0; i < nloc; i++)
        if (p->status[i])
          for (PetscInt k = 0; k < per; k++) p->S[(size_t)i * per + k] = 0;
    PetscCall(InvNNMapPredict(map[m], PetscMin(nloc, p->batch), p->S, pred, NULL));
  }
  PetscCallMPI(MPI_Barrier(p->comm));
  PetscCall(PetscTime(&t0));
  for (PetscInt m = 0; m < p->nmodels; m++) {
    if (p->status) /* failed simulations: predict on zeros, reported as NaN */
      for (PetscInt i = 0; i < nloc; i++)
        if (p->status[i])
          for (PetscInt k = 0; k < per; k++) p->S[(size_t)i * per + k] = 0;
    PetscCall(InvNNMapPredict(map[m], nloc, p->S, pred, wall));
    for (PetscInt j = 0; j < nloc * O; j++) { /* Welford */
      double d = pred[j] - mean[j];
      mean[j] += d / (double)(m + 1);
      sd[j] += d * (pred[j] - mean[j]);
    }
  }
  PetscCallMPI(MPI_Barrier(p->comm));
  PetscCall(PetscTime(&t1));
  secs = t1 - t0;
  for (PetscInt j = 0; j < nloc * O; j++) sd[j] = p->nmodels > 1 ? sqrt(sd[j] / (double)(p->nmodels - 1)) : 0;
  if (p->status)
    for (PetscInt i = 0; i < nloc; i++)
      if (p->status[i])
        for (PetscInt k = 0; k < O; k++) mean[i * O + k] = sd[i * O + k] = NAN;

  /* output (atomic) */
  PetscCall(InvPartialName(p->output, partial, sizeof(partial)));
  PetscCall(InvH5Create(p->comm, partial, &file));
  {
    hsize_t dims[2] = {(hsize_t)N, (hsize_t)O};
    hid_t root;
    char models[4096] = "";
    for (PetscInt m = 0; m < p->nmodels; m++) {
      if (m) PetscCall(PetscStrlcat(models, ",", sizeof(models)));
      PetscCall(PetscStrlcat(models, p->models[m], sizeof(models)));
    }
    PetscCall(InvH5CreateDataset(file, "/theta_pred", H5T_NATIVE_DOUBLE, 2, dims));
    PetscCall(InvH5WriteRows(file, "/theta_pred", H5T_NATIVE_DOUBLE, (hsize_t)n0, (hsize_t)nloc, mean));
    if (p->nmodels > 1) {
      PetscCall(InvH5CreateDataset(file, "/theta_std", H5T_NATIVE_DOUBLE, 2, dims));
      PetscCall(InvH5WriteRows(file, "/theta_std", H5T_NATIVE_DOUBLE, (hsize_t)n0, (hsize_t)nloc, sd));
    }
    /* cost, as invmap map records it: per-sample inference time and the total (read by invmap evaluate) */
    PetscCall(InvH5CreateDataset(file, "/wall_time", H5T_NATIVE_DOUBLE, 1, dims));
    PetscCall(InvH5WriteRows(file, "/wall_time", H5T_NATIVE_DOUBLE, (hsize_t)n0, (hsize_t)nloc, wall));
    PetscCallHDF5Return(root, H5Gopen2(file, "/", H5P_DEFAULT));
    PetscCall(InvH5WriteAttrReals(root, "solve_seconds", 1, &secs));
    {
      PetscInt64 nranks = p->size;
      PetscCall(InvH5WriteAttrInts(root, "n_ranks", 1, &nranks)); /* core-seconds = solve_seconds x n_ranks (InvCostPerEstimate) */
    }
    PetscCall(InvH5WriteAttrString(root, "wall_time_note",
                                   "per-sample share of its batch's inference time (input features, forward pass, denormalisation), "
                                   "summed over the ensemble's models, after one untimed warm-up batch; solve_seconds: wall time of the "
                                   "whole inference over all ranks (model loading and file I/O excluded)"));
    PetscCall(InvH5WriteAttrString(root, "kind", "invmap_predictions"));
    PetscCall(InvH5WriteAttrString(root, "targets", map[0]->targets));
    PetscCall(InvH5WriteAttrString(root, "models", models));
    PetscCall(InvH5WriteAttrString(root, "observations", p->input));
    PetscCallHDF5(H5Gclose(root));
  }
  PetscCall(InvH5Close(&file));
  if (p->csv[0]) {
    PetscMPIInt cnt = (PetscMPIInt)(nloc * O), *counts = NULL, *displs = NULL;
    double *all = NULL;
    const char *names[32];
    char tn[256], *tok, *save = NULL;
    PetscInt k = 0;
    PetscCall(PetscStrncpy(tn, map[0]->targets, sizeof(tn)));
    for (tok = strtok_r(tn, ",", &save); tok && k < 16; tok = strtok_r(NULL, ",", &save)) names[k++] = tok;
    if (!p->rank) PetscCall(PetscMalloc3(p->size, &counts, p->size, &displs, (size_t)N * O + 1, &all));
    PetscCallMPI(MPI_Gather(&cnt, 1, MPI_INT, counts, 1, MPI_INT, 0, p->comm));
    if (!p->rank)
      for (PetscMPIInt r = 0; r < p->size; r++) displs[r] = r ? displs[r - 1] + counts[r - 1] : 0;
    PetscCallMPI(MPI_Gatherv(mean, cnt, MPI_DOUBLE, all, counts, displs, MPI_DOUBLE, 0, p->comm));
    PetscCall(InvWriteCSV(p->comm, p->csv, O, names, (PetscInt)N, all));
    if (!p->rank) PetscCall(PetscFree3(counts, displs, all));
  }
  PetscCall(InvFileCommit(p->comm, p->output));
  if (!p->quiet) {
    PetscReal wper, cper;
    InvCostPerEstimate(secs, (PetscInt64)N, p->size, &wper, &cper);
    PetscCall(
        PetscPrintf(p->comm,
                    "invmap predict: %lld series, %d model(s), %d rank(s): %.3f s, %.3g wall s per estimate, %.3g core-s per estimate "
                    "(wall x ranks); wrote %s%s%s\n",
                    (long long)N, (int)p->nmodels, (int)p->size, (double)secs, (double)wper, (double)cper, p->output,
                    p->csv[0] ? " and " : "", p->csv));
  }
  if (metrics && !p->quiet) {
    double mape[16], r2[16], mn;
    PetscInt nv = 0;
    /* drop failed samples */
    for (PetscInt i = 0; i < nloc; i++)
      if (!p->status || !p->status[i]) {
        for (PetscInt k = 0; k < O; k++) mean[nv * O + k] = mean[i * O + k], p->truth[nv * O + k] = p->truth[i * O + k];
        nv++;
      }
    PetscCall(InvMetricsCompute(p->comm, nv, O, mean, p->truth, mape, r2, &mn));
    {
      char tn[256], *tok, *save = NULL;
      PetscInt k = 0;
      PetscCall(PetscStrncpy(tn, map[0]->targets, sizeof(tn)));
      for (tok = strtok_r(tn, ",", &save); tok && k < O; tok = strtok_r(NULL, ",", &save), k++)
        PetscCall(PetscPrintf(p->comm, "  %-8s Median-APE %.4f  R^2 %.4f\n", tok, mape[k], r2[k]));
      PetscCall(PetscPrintf(p->comm, "  median relative 2-norm error %.4f\n", mn));
    }
  }
  PetscCall(PetscFree3(pred, mean, sd));
  PetscCall(PetscFree(wall));
  PetscCall(PetscFree(p->S));
  PetscCall(PetscFree(p->status));
  PetscCall(PetscFree(p->truth));
  for (PetscInt m = 0; m < p->nmodels; m++) PetscCall(InvNNMapDestroy(&map[m]));
  PetscFunctionReturn(0);
}

PetscErrorCode InvPredictorDestroy(InvPredictor *p)
{
  PetscFunctionBegin;
  if (!*p) PetscFunctionReturn(0);
  for (PetscInt m = 0; m < (*p)->nmodels; m++) PetscCall(PetscFree((*p)->models[m]));
  for (PetscInt m = 0; m < INV_MAX_MODELS; m++) PetscCall(InvNNMapDestroy(&(*p)->nn[m]));
  PetscCall(PetscFree((*p)->S));
  PetscCall(PetscFree((*p)->truth));
  PetscCall(PetscFree((*p)->status));
  PetscCall(PetscFree(*p));
  PetscFunctionReturn(0);
}
