/* InvPredictor: observations -> parameter estimates with one or more trained models (ensemble mean and
   spread; covariances of Gaussian heads, combined by moment matching), written atomically to HDF5
   (/theta_pred, /theta_std, /cov_pred, the cost /wall_time and solve_seconds)
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
  /* a run (InvPredictorRun's steps; freed by InvPredictorDestroy also after an error) */
  InvNNMap nn[INV_MAX_MODELS];    /* the models, */
  PetscInt per, O;                /* values per series, targets */
  PetscBool gauss;                /* the models have covariance heads: /cov_pred */
  PetscInt64 N;                   /* series in the input */
  PetscInt n0, nloc;              /* this rank's rows [n0, n0 + nloc) */
  PetscBool h5, metrics;          /* HDF5 input; true targets known */
  char path[8];                   /* the HDF5 dataset read */
  double *S, *truth;              /* series and true targets of this rank's rows, */
  int *status;                    /* and their simulation status (NULL: none) */
  double *mean, *sd, *wall, secs; /* ensemble mean and spread, per-sample and total inference time */
  double *cov, *scatter;          /* ensemble covariance (nloc x O x O) and the scatter of the members' means */
  double *chol;                   /* one model: its covariances' factors D L (nloc x O x O), /chol_pred */
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
  p->h5 = PETSC_TRUE;
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
  PetscCall(PetscOptionsString("-o", "Output HDF5 file with /theta_pred (/theta_std for ensembles, /cov_pred for covariance heads)", "",
                               p->output, p->output, sizeof(p->output), NULL));
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

/* refuse to replace outputs without -overwrite */
static PetscErrorCode CheckOutputs(InvPredictor p)
{
  PetscBool exists, cexists = PETSC_FALSE;

  PetscFunctionBegin;
  PetscCheck(p->nmodels > 0, p->comm, PETSC_ERR_ARG_NULL, "No network: give -net <net.h5> (made by invmap train)");
  PetscCheck(p->input[0], p->comm, PETSC_ERR_ARG_NULL, "No observations: give -i <file.h5|file.csv>");
  PetscCheck(p->output[0], p->comm, PETSC_ERR_ARG_NULL, "No output: give -o <estimates.h5>");
  PetscCall(InvFileExists(p->output, &exists));
  if (p->csv[0]) PetscCall(InvFileExists(p->csv, &cexists));
  PetscCheck(!(exists || cexists) || p->overwrite, p->comm, PETSC_ERR_FILE_UNEXPECTED,
             "The output %s exists: give -overwrite to replace it, or another -o / -predict_csv", exists ? p->output : p->csv);
  PetscFunctionReturn(0);
}

/* the ensemble's models: the same targets, series and output head */
static PetscErrorCode LoadModels(InvPredictor p)
{
  InvNNMap *map = p->nn;

  PetscFunctionBegin;
  for (PetscInt m = 0; m < p->nmodels; m++) {
    PetscCall(InvNNMapLoad(p->comm, p->models[m], (int)p->batch, &map[m]));
    PetscCheck(!strcmp(map[m]->targets, map[0]->targets) && map[m]->feat->n_obs == map[0]->feat->n_obs &&
                   map[m]->feat->n_ch == map[0]->feat->n_ch,
               p->comm, PETSC_ERR_ARG_INCOMP, "Ensemble members differ: %s predicts %s from series of %d, %s predicts %s from %d",
               p->models[0], map[0]->targets, (int)map[0]->feat->n_obs, p->models[m], map[m]->targets, (int)map[m]->feat->n_obs);
    PetscCheck(map[m]->head == map[0]->head, p->comm, PETSC_ERR_ARG_INCOMP,
               "Ensemble members differ in their output head: %s has a %s head (loss %s), %s a %s head (loss %s); an ensemble's "
               "covariance needs every member's: use members trained with the same kind of -train_loss",
               p->models[0], InvHeadTypes[map[0]->head], map[0]->loss, p->models[m], InvHeadTypes[map[m]->head], map[m]->loss);
  }
  p->per = map[0]->feat->n_obs * map[0]->feat->n_ch;
  p->O = map[0]->ntargets;
  p->gauss = (PetscBool)(map[0]->head == INV_HEAD_CHOLESKY);
  PetscFunctionReturn(0);
}

/* this rank's block [n0, n0 + nloc) of N rows */
static void SplitRows(InvPredictor p, PetscInt64 N)
{
  p->N = N;
  p->n0 = (PetscInt)(N * p->rank / p->size);
  p->nloc = (PetscInt)(N * (p->rank + 1) / p->size) - p->n0;
}

static PetscErrorCode ReadCSV(InvPredictor p)
{
  InvTable tab;

  PetscFunctionBegin;
  p->h5 = PETSC_FALSE;
  PetscCall(InvTableReadCSV(p->comm, p->input, p->csv_header, &tab));
  PetscCheck(tab.ncols == p->per, p->comm, PETSC_ERR_ARG_SIZ, "%s: series of length %d, but the model %s expects %d values per series",
             p->input, (int)tab.ncols, p->models[0], (int)p->per);
  SplitRows(p, tab.nrows);
  PetscCall(PetscMalloc1((size_t)p->nloc * p->per + 1, &p->S));
  PetscCall(PetscArraycpy(p->S, tab.data + (size_t)p->n0 * p->per, (size_t)p->nloc * p->per));
  PetscCall(InvTableDestroy(&tab));
  PetscFunctionReturn(0);
}

/* true targets of this rank's rows for the metrics, when /theta (and /noise for rho, sigma) hold them all */
static PetscErrorCode ReadTruth(InvPredictor p, hid_t file)
{
  PetscInt r, P, O = p->O, col[INV_MAX_TARGETS];
  hsize_t dims[3];
  PetscBool hastheta, hasnoise;
  double *th, *nz = NULL;

  PetscFunctionBegin;
  PetscCall(InvH5HasDataset(file, "/theta", &hastheta));
  PetscCall(InvH5HasDataset(file, "/noise", &hasnoise));
  if (hasnoise) { /* metrics of noise targets need (N, 2); otherwise no metrics for them */
    PetscCall(InvH5GetDims(file, "/noise", &r, dims));
    hasnoise = (PetscBool)(r == 2 && dims[0] == (hsize_t)p->N && dims[1] == 2);
  }
  if (!hastheta) PetscFunctionReturn(0);
  PetscCall(InvH5GetDims(file, "/theta", &r, dims)); /* metrics only against a /theta of one row of parameters per series */
  if (!(r == 2 && dims[0] == (hsize_t)p->N && dims[1] > 0 && dims[1] <= INV_MAX_THETA_COLS)) PetscFunctionReturn(0);
  P = (PetscInt)dims[1];
  PetscCall(TargetColumns(file, p->nn[0]->targets, P, O, col));
  for (PetscInt k = 0; k < O; k++)
    if (col[k] < 0 || (col[k] >= P && !hasnoise)) PetscFunctionReturn(0);
  p->metrics = PETSC_TRUE;
  PetscCall(PetscMalloc1((size_t)p->nloc * P + 1, &th));
  PetscCall(InvH5ReadRows(file, "/theta", H5T_NATIVE_DOUBLE, (hsize_t)p->n0, (hsize_t)p->nloc, th));
  if (hasnoise) {
    PetscCall(PetscMalloc1((size_t)p->nloc * 2 + 1, &nz));
    PetscCall(InvH5ReadRows(file, "/noise", H5T_NATIVE_DOUBLE, (hsize_t)p->n0, (hsize_t)p->nloc, nz));
  }
  PetscCall(PetscMalloc1((size_t)p->nloc * O + 1, &p->truth));
  for (PetscInt i = 0; i < p->nloc; i++)
    for (PetscInt k = 0; k < O; k++) p->truth[i * O + k] = col[k] < P ? th[i * P + col[k]] : nz[i * 2 + col[k] - P];
  PetscCall(PetscFree(th));
  PetscCall(PetscFree(nz));
  PetscFunctionReturn(0);
}

static PetscErrorCode ReadHDF5(InvPredictor p)
{
  PetscInt r, per = p->per;
  hsize_t dims[3];
  PetscBool hasd;
  hid_t file;

  PetscFunctionBegin;
  PetscCall(InvH5Open(p->comm, p->input, PETSC_FALSE, &file));
  PetscCall(InvH5HasDataset(file, "/d", &hasd));
  PetscCall(PetscSNPrintf(p->path, sizeof(p->path), "/%s", p->dataset[0] ? p->dataset : (hasd ? "d" : "u")));
  PetscCall(InvH5GetDims(file, p->path, &r, dims));
  PetscCheck(r >= 2 && dims[1] <= (hsize_t)per && dims[2] <= (hsize_t)per && dims[1] * (r == 3 ? dims[2] : 1) == (hsize_t)per, p->comm,
             PETSC_ERR_ARG_SIZ, "%s in %s: series of length %llu, but the model %s expects %d values per series", p->path, p->input,
             (unsigned long long)(dims[1] * (r == 3 ? dims[2] : 1)), p->models[0], (int)per);
  PetscCheck(dims[0] <= (hsize_t)PETSC_MAX_INT, p->comm, PETSC_ERR_ARG_SIZ, "%s in %s: %llu series; at most %d can be read", p->path,
             p->input, (unsigned long long)dims[0], (int)PETSC_MAX_INT);
  SplitRows(p, (PetscInt64)dims[0]);
  PetscCall(PetscMalloc1((size_t)p->nloc * per + 1, &p->S));
  PetscCall(InvH5ReadRows(file, p->path, H5T_NATIVE_DOUBLE, (hsize_t)p->n0, (hsize_t)p->nloc, p->S));
  PetscCall(InvH5HasDataset(file, "/status", &hasd));
  if (hasd) {
    hsize_t sdims[3];
    PetscCall(InvH5GetDims(file, "/status", &r, sdims));
    PetscCheck(r == 1 && sdims[0] == dims[0], p->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: /status must have shape (%llu), one code per series",
               p->input, (unsigned long long)dims[0]);
    PetscCall(PetscMalloc1(p->nloc + 1, &p->status));
    PetscCall(InvH5ReadRows(file, "/status", H5T_NATIVE_INT, (hsize_t)p->n0, (hsize_t)p->nloc, p->status));
  }
  PetscCall(ReadTruth(p, file));
  PetscCall(InvH5Close(&file));
  PetscFunctionReturn(0);
}

/* every usable series is finite; failed simulations get zeros (predicted on, reported as NaN) */
static PetscErrorCode CheckSeries(InvPredictor p)
{
  PetscInt64 bad = INT64_MAX;
  PetscInt per = p->per;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < p->nloc && bad == INT64_MAX; i++) {
    if (p->status && p->status[i]) continue;
    for (PetscInt k = 0; k < per; k++)
      if (!isfinite(p->S[(size_t)i * per + k])) {
        bad = p->n0 + i;
        break;
      }
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPIU_INT64, MPI_MIN, p->comm));
  PetscCheck(bad == INT64_MAX, p->comm, PETSC_ERR_FILE_UNEXPECTED,
             "Non-finite value (NaN/Inf) in %s%s, series %lld (row %lld): no estimate possible", p->input, p->path, (long long)bad,
             (long long)bad + (p->h5 ? 0 : 1 + p->csv_header));
  if (p->status)
    for (PetscInt i = 0; i < p->nloc; i++)
      if (p->status[i])
        for (PetscInt k = 0; k < per; k++) p->S[(size_t)i * per + k] = 0;
  PetscFunctionReturn(0);
}

/* add member m's estimates to the ensemble: mean and spread by Welford; for Gaussian members also the sum of
   their covariances and the scatter of their means (M2 += (x - mean_old)(x - mean_new)^T) */
static void EnsembleAdd(InvPredictor p, PetscInt m, const double *pred, const double *pcov, double *dold)
{
  PetscInt O = p->O, n = p->nloc * O;

  if (p->gauss)
    for (PetscInt j = 0; j < n; j++) dold[j] = pred[j] - p->mean[j];
  for (PetscInt j = 0; j < n; j++) { /* Welford */
    double d = pred[j] - p->mean[j];
    p->mean[j] += d / (double)(m + 1);
    p->sd[j] += d * (pred[j] - p->mean[j]);
  }
  if (!p->gauss) return;
  for (PetscInt i = 0; i < p->nloc; i++)
    for (PetscInt a = 0; a < O; a++)
      for (PetscInt b = 0; b < O; b++) {
        size_t ab = ((size_t)i * O + a) * O + b;
        p->cov[ab] += pcov[ab];
        p->scatter[ab] += dold[i * O + a] * (pred[i * O + b] - p->mean[i * O + b]);
      }
}

/* the ensemble's spread and, by moment matching of the members' Gaussians (an equal-weight mixture), its
   covariance: mean of the covariances + covariance of the means (1/M: the mixture's, not an unbiased estimate) */
static void EnsembleFinish(InvPredictor p)
{
  PetscInt O = p->O, M = p->nmodels;

  for (PetscInt j = 0; j < p->nloc * O; j++) p->sd[j] = M > 1 ? sqrt(p->sd[j] / (double)(M - 1)) : 0;
  if (p->gauss)
    for (PetscInt i = 0; i < p->nloc; i++) {
      double *C = p->cov + (size_t)i * O * O, *S = p->scatter + (size_t)i * O * O;
      for (PetscInt a = 0; a < O; a++)
        for (PetscInt b = 0; b <= a; b++) /* symmetric: the scatter's rounding may differ in the last bit */
          C[a * O + b] = C[b * O + a] = 0.5 * (C[a * O + b] + C[b * O + a] + S[a * O + b] + S[b * O + a]) / (double)M;
    }
  if (p->status)
    for (PetscInt i = 0; i < p->nloc; i++)
      if (p->status[i]) {
        for (PetscInt k = 0; k < O; k++) p->mean[i * O + k] = p->sd[i * O + k] = NAN;
        if (p->gauss)
          for (PetscInt k = 0; k < O * O; k++) p->cov[(size_t)i * O * O + k] = NAN;
        if (p->chol)
          for (PetscInt k = 0; k < O * O; k++) p->chol[(size_t)i * O * O + k] = NAN;
      }
}

/* Every estimate of a sample that simulated must be finite: the networks compute in single precision, so a series
   with values beyond its range after the input standardisation (e.g. 1e39, or 1e30 scaled up) overflows to inf and
   NaN. Refused on every rank, naming the first such sample, before any output exists. */
static PetscErrorCode CheckFinite(InvPredictor p)
{
  PetscInt O = p->O;
  PetscInt64 bad = INT64_MAX;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < p->nloc && bad == INT64_MAX; i++) {
    PetscBool ok = PETSC_TRUE;
    if (p->status && p->status[i]) continue; /* failed simulations: NaN by design (EnsembleFinish) */
    for (PetscInt k = 0; k < O; k++) ok = (PetscBool)(ok && isfinite(p->mean[i * O + k]));
    for (PetscInt k = 0; p->gauss && k < O * O; k++) ok = (PetscBool)(ok && isfinite(p->cov[(size_t)i * O * O + k]));
    if (!ok) bad = p->n0 + i;
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPIU_INT64, MPI_MIN, p->comm));
  PetscCheck(bad == INT64_MAX, p->comm, PETSC_ERR_FP,
             "Estimate not finite for %s%s, series %lld (row %lld): its values overflow the network's single precision (check the "
             "series for huge values, and its units against the training set's)",
             p->input, p->path, (long long)bad, (long long)bad + (p->h5 ? 0 : 1 + p->csv_header));
  PetscFunctionReturn(0);
}

/* predict with each model (after one untimed warm-up batch each) and combine; the time goes to secs and wall */
static PetscErrorCode PredictEnsemble(InvPredictor p)
{
  PetscInt O = p->O, nloc = p->nloc;
  size_t nc = p->gauss ? (size_t)nloc * O * O : 0;
  double *pred, *pcov = NULL, *dold = NULL;
  PetscLogDouble t0, t1;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1((size_t)nloc * O + 1, &pred));
  PetscCall(PetscCalloc3((size_t)nloc * O + 1, &p->mean, (size_t)nloc * O + 1, &p->sd, nloc + 1, &p->wall));
  if (p->gauss) {
    PetscCall(PetscCalloc2(nc + 1, &p->cov, nc + 1, &p->scatter));
    PetscCall(PetscMalloc2(nc + 1, &pcov, (size_t)nloc * O + 1, &dold));
    if (p->nmodels == 1) PetscCall(PetscMalloc1(nc + 1, &p->chol)); /* an ensemble's mixture has no such factor */
  }
  for (PetscInt m = 0; m < p->nmodels; m++) /* warm-up batch (first touch of the buffers), not timed */
    PetscCall(InvNNMapPredictGaussian(p->nn[m], PetscMin(nloc, p->batch), p->S, pred, pcov, NULL, NULL));
  PetscCallMPI(MPI_Barrier(p->comm));
  PetscCall(PetscTime(&t0));
  for (PetscInt m = 0; m < p->nmodels; m++) {
    PetscCall(InvNNMapPredictGaussian(p->nn[m], nloc, p->S, pred, pcov, p->chol, p->wall));
    EnsembleAdd(p, m, pred, pcov, dold);
  }
  PetscCallMPI(MPI_Barrier(p->comm));
  PetscCall(PetscTime(&t1));
  p->secs = t1 - t0;
  EnsembleFinish(p);
  PetscCall(CheckFinite(p));
  PetscCall(PetscFree(pred));
  PetscCall(PetscFree2(pcov, dold));
  PetscFunctionReturn(0);
}

/* the attributes of the prediction file: cost, provenance */
static PetscErrorCode WriteAttributes(InvPredictor p, hid_t file)
{
  hid_t root;
  char models[4096] = "";
  PetscInt64 nranks = p->size;

  PetscFunctionBegin;
  for (PetscInt m = 0; m < p->nmodels; m++) {
    if (m) PetscCall(PetscStrlcat(models, ",", sizeof(models)));
    PetscCall(PetscStrlcat(models, p->models[m], sizeof(models)));
  }
  PetscCallHDF5Return(root, H5Gopen2(file, "/", H5P_DEFAULT));
  PetscCall(InvH5WriteAttrReals(root, "solve_seconds", 1, &p->secs));
  PetscCall(InvH5WriteAttrInts(root, "n_ranks", 1, &nranks)); /* core-seconds = solve_seconds x n_ranks (InvCostPerEstimate) */
  PetscCall(InvH5WriteAttrString(root, "wall_time_note",
                                 "per-sample share of its batch's inference time (input features, forward pass, denormalisation), "
                                 "summed over the ensemble's models, after one untimed warm-up batch; solve_seconds: wall time of the "
                                 "whole inference over all ranks (model loading and file I/O excluded)"));
  PetscCall(InvH5WriteAttrString(root, "kind", "invmap_predictions"));
  PetscCall(InvH5WriteAttrString(root, "targets", p->nn[0]->targets));
  PetscCall(InvH5WriteAttrString(root, "models", models));
  PetscCall(InvH5WriteAttrString(root, "observations", p->input));
  if (p->gauss)
    PetscCall(InvH5WriteAttrString(root, "cov_pred_note",
                                   "predicted covariance of the parameters (N x P x P, the parameters' units); for an ensemble the "
                                   "moment-matched mixture: mean of the members' covariances + covariance (1/M) of their means"));
  PetscCallHDF5(H5Gclose(root));
  PetscFunctionReturn(0);
}

/* /theta_pred, /theta_std (ensembles), /cov_pred (covariance heads), /chol_pred (one covariance head), /wall_time;
   written atomically */
static PetscErrorCode WriteOutput(InvPredictor p)
{
  char partial[PETSC_MAX_PATH_LEN];
  hsize_t dims[2] = {(hsize_t)p->N, (hsize_t)p->O}, cdims[3] = {(hsize_t)p->N, (hsize_t)p->O, (hsize_t)p->O};
  hid_t file;

  PetscFunctionBegin;
  PetscCall(InvPartialName(p->output, partial, sizeof(partial)));
  PetscCall(InvH5Create(p->comm, partial, &file));
  PetscCall(InvH5CreateDataset(file, "/theta_pred", H5T_NATIVE_DOUBLE, 2, dims));
  PetscCall(InvH5WriteRows(file, "/theta_pred", H5T_NATIVE_DOUBLE, (hsize_t)p->n0, (hsize_t)p->nloc, p->mean));
  if (p->nmodels > 1) {
    PetscCall(InvH5CreateDataset(file, "/theta_std", H5T_NATIVE_DOUBLE, 2, dims));
    PetscCall(InvH5WriteRows(file, "/theta_std", H5T_NATIVE_DOUBLE, (hsize_t)p->n0, (hsize_t)p->nloc, p->sd));
  }
  if (p->gauss) {
    PetscCall(InvH5CreateDataset(file, "/cov_pred", H5T_NATIVE_DOUBLE, 3, cdims));
    PetscCall(InvH5WriteRows(file, "/cov_pred", H5T_NATIVE_DOUBLE, (hsize_t)p->n0, (hsize_t)p->nloc, p->cov));
  }
  if (p->chol) {
    PetscCall(InvH5CreateDataset(file, "/chol_pred", H5T_NATIVE_DOUBLE, 3, cdims));
    PetscCall(InvH5WriteRows(file, "/chol_pred", H5T_NATIVE_DOUBLE, (hsize_t)p->n0, (hsize_t)p->nloc, p->chol));
  }
  /* cost, as invmap map records it: per-sample inference time and the total (read by invmap evaluate) */
  PetscCall(InvH5CreateDataset(file, "/wall_time", H5T_NATIVE_DOUBLE, 1, dims));
  PetscCall(InvH5WriteRows(file, "/wall_time", H5T_NATIVE_DOUBLE, (hsize_t)p->n0, (hsize_t)p->nloc, p->wall));
  PetscCall(WriteAttributes(p, file));
  PetscCall(InvH5Close(&file));
  PetscFunctionReturn(0);
}

/* the estimates as CSV, gathered on rank 0 */
static PetscErrorCode WriteCSV(InvPredictor p)
{
  PetscInt O = p->O, k = 0;
  PetscMPIInt cnt = (PetscMPIInt)(p->nloc * O), *counts = NULL, *displs = NULL;
  double *all = NULL;
  const char *names[INV_MAX_TARGETS];
  char tn[256], *tok, *save = NULL;

  PetscFunctionBegin;
  if (!p->csv[0]) PetscFunctionReturn(0);
  PetscCall(PetscStrncpy(tn, p->nn[0]->targets, sizeof(tn)));
  for (tok = strtok_r(tn, ",", &save); tok && k < INV_MAX_TARGETS; tok = strtok_r(NULL, ",", &save)) names[k++] = tok;
  if (!p->rank) PetscCall(PetscMalloc3(p->size, &counts, p->size, &displs, (size_t)p->N * O + 1, &all));
  PetscCallMPI(MPI_Gather(&cnt, 1, MPI_INT, counts, 1, MPI_INT, 0, p->comm));
  if (!p->rank)
    for (PetscMPIInt r = 0; r < p->size; r++) displs[r] = r ? displs[r - 1] + counts[r - 1] : 0;
  PetscCallMPI(MPI_Gatherv(p->mean, cnt, MPI_DOUBLE, all, counts, displs, MPI_DOUBLE, 0, p->comm));
  PetscCall(InvWriteCSV(p->comm, p->csv, O, names, (PetscInt)p->N, all));
  if (!p->rank) PetscCall(PetscFree3(counts, displs, all));
  PetscFunctionReturn(0);
}

/* the summary line and, against the true targets, the metrics of the usable samples */
static PetscErrorCode Report(InvPredictor p)
{
  PetscInt O = p->O, nv = 0, k = 0;
  double mape[INV_MAX_TARGETS], r2[INV_MAX_TARGETS], mn;
  PetscReal wper, cper;
  char tn[256], *tok, *save = NULL;

  PetscFunctionBegin;
  if (p->quiet) PetscFunctionReturn(0);
  InvCostPerEstimate(p->secs, (PetscInt64)p->N, p->size, &wper, &cper);
  PetscCall(PetscPrintf(p->comm,
                        "invmap predict: %lld series, %d model(s), %d rank(s): %.3f s, %.3g wall s per estimate, %.3g core-s per estimate "
                        "(wall x ranks); wrote %s%s%s%s\n",
                        (long long)p->N, (int)p->nmodels, (int)p->size, (double)p->secs, (double)wper, (double)cper, p->output,
                        p->gauss ? " (with /cov_pred)" : "", p->csv[0] ? " and " : "", p->csv));
  if (!p->metrics) PetscFunctionReturn(0);
  for (PetscInt i = 0; i < p->nloc; i++) /* drop failed samples */
    if (!p->status || !p->status[i]) {
      for (PetscInt j = 0; j < O; j++) p->mean[nv * O + j] = p->mean[i * O + j], p->truth[nv * O + j] = p->truth[i * O + j];
      nv++;
    }
  PetscCall(InvMetricsCompute(p->comm, nv, O, p->mean, p->truth, mape, r2, &mn));
  PetscCall(PetscStrncpy(tn, p->nn[0]->targets, sizeof(tn)));
  for (tok = strtok_r(tn, ",", &save); tok && k < O; tok = strtok_r(NULL, ",", &save), k++)
    PetscCall(PetscPrintf(p->comm, "  %-8s Median-APE %.4f  R^2 %.4f\n", tok, mape[k], r2[k]));
  PetscCall(PetscPrintf(p->comm, "  median relative 2-norm error %.4f\n", mn));
  PetscFunctionReturn(0);
}

/* the buffers of a run (also freed by InvPredictorDestroy after an error) */
static PetscErrorCode FreeRun(InvPredictor p)
{
  PetscFunctionBegin;
  PetscCall(PetscFree3(p->mean, p->sd, p->wall));
  PetscCall(PetscFree2(p->cov, p->scatter));
  PetscCall(PetscFree(p->chol));
  PetscCall(PetscFree(p->S));
  PetscCall(PetscFree(p->status));
  PetscCall(PetscFree(p->truth));
  for (PetscInt m = 0; m < INV_MAX_MODELS; m++) PetscCall(InvNNMapDestroy(&p->nn[m]));
  PetscFunctionReturn(0);
}

PetscErrorCode InvPredictorRun(InvPredictor p)
{
  PetscFunctionBegin;
  PetscCall(CheckOutputs(p));
  openblas_set_num_threads((int)p->blas_threads);
  PetscCall(LoadModels(p));
  if (EndsWith(p->input, ".csv"))
    PetscCall(ReadCSV(p));
  else
    PetscCall(ReadHDF5(p));
  PetscCall(CheckSeries(p));
  PetscCall(PredictEnsemble(p));
  PetscCall(WriteOutput(p));
  PetscCall(WriteCSV(p));
  PetscCall(InvFileCommit(p->comm, p->output));
  PetscCall(Report(p));
  PetscCall(FreeRun(p));
  PetscFunctionReturn(0);
}

PetscErrorCode InvPredictorDestroy(InvPredictor *p)
{
  PetscFunctionBegin;
  if (!*p) PetscFunctionReturn(0);
  for (PetscInt m = 0; m < (*p)->nmodels; m++) PetscCall(PetscFree((*p)->models[m]));
  PetscCall(FreeRun(*p));
  PetscCall(PetscFree(*p));
  PetscFunctionReturn(0);
}
