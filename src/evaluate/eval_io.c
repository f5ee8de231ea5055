/* InvEval input: the truth file (model, prior, parameters and noise on every rank; series are read per
   row block later), estimate files (dataset, shape and cost records) and the reference covariances. */
#include "evalimpl.h"
#include <invmap/h5io.h>
#include <stdint.h>

/* Model constants stored with the ensemble apply unless given again (-model_<name>). */
static PetscErrorCode InvEvalReadModel(InvEval e, hid_t root)
{
  PetscBool has, same;
  char *s, expect[INV_MAX_PARAM * (INV_MAX_NAME + 1)] = "";
  InvModel m;

  PetscFunctionBegin;
  PetscCall(InvH5HasAttr(root, "model", &has));
  PetscCheck(has, e->comm, PETSC_ERR_FILE_UNEXPECTED, "%s has no 'model' attribute: not an ensemble file of invmap simulate", e->truth);
  PetscCall(InvH5ReadAttrString(root, "model", &s));
  PetscCall(InvModelCreate(s, &e->model));
  PetscCall(PetscFree(s));
  m = e->model;
  PetscCall(InvModelSetFromOptions(m));
  for (PetscInt j = 0; j < m->nparam; j++) {
    if (j) PetscCall(PetscStrlcat(expect, ",", sizeof(expect)));
    PetscCall(PetscStrlcat(expect, m->param_names[j], sizeof(expect)));
  }
  PetscCall(InvH5HasAttr(root, "parameter_names", &has));
  if (has) {
    PetscCall(InvH5ReadAttrString(root, "parameter_names", &s));
    PetscCall(PetscStrcmp(s, expect, &same));
    PetscCheck(same, e->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: parameters %s differ from model %s's %s", e->truth, s, m->type, expect);
    PetscCall(PetscFree(s));
  }
  PetscCall(InvModelReadConstants(m, root));
  /* the prior of the truth file (MAP objective) */
  PetscCall(InvPriorCreate(m, &e->prior));
  PetscCall(InvH5HasAttr(root, "prior_mean", &has));
  if (has) PetscCall(InvH5ReadAttrReals(root, "prior_mean", m->nparam, e->prior->mean));
  PetscCall(InvH5HasAttr(root, "prior_sd", &has));
  if (has) PetscCall(InvH5ReadAttrReals(root, "prior_sd", m->nparam, e->prior->sd));
  PetscCall(InvH5HasAttr(root, "prior_lower", &has));
  if (has) PetscCall(InvH5ReadAttrReals(root, "prior_lower", m->nparam, e->prior->lo));
  PetscCall(InvH5HasAttr(root, "prior_upper", &has));
  if (has) PetscCall(InvH5ReadAttrReals(root, "prior_upper", m->nparam, e->prior->hi));
  for (PetscInt j = 0; j < m->nparam; j++)
    PetscCheck(e->prior->sd[j] > 0 && PetscIsNormalReal(e->prior->sd[j]), e->comm, PETSC_ERR_FILE_UNEXPECTED,
               "%s: prior_sd[%d] = %g must be positive", e->truth, (int)j, (double)e->prior->sd[j]);
  PetscFunctionReturn(0);
}

PetscErrorCode InvEvalReadTruth(InvEval e)
{
  hid_t file, root;
  PetscBool has;
  PetscInt r;
  hsize_t dims[3], d2[3];

  PetscFunctionBegin;
  PetscCall(InvH5Open(e->comm, e->truth, PETSC_FALSE, &file));
  PetscCallHDF5Return(root, H5Gopen2(file, "/", H5P_DEFAULT));
  PetscCall(InvEvalReadModel(e, root));
  PetscCallHDF5(H5Gclose(root));
  e->P = e->model->nparam;
  e->no = e->model->nobs;
  PetscCall(InvH5HasDataset(file, "/theta", &has));
  PetscCheck(has, e->comm, PETSC_ERR_FILE_UNEXPECTED, "Truth %s has no /theta: not an ensemble file of invmap simulate", e->truth);
  PetscCall(InvH5GetDims(file, "/theta", &r, dims));
  PetscCheck(r == 2 && dims[1] == (hsize_t)e->P && dims[0] > 0, e->comm, PETSC_ERR_FILE_UNEXPECTED,
             "Truth %s: /theta must have shape (N > 0, %d) for model %s", e->truth, (int)e->P, e->model->type);
  e->N = (PetscInt64)dims[0];
  PetscCall(PetscMalloc1(e->N * e->P, &e->theta));
  PetscCall(PetscMalloc1(e->N, &e->status));
  PetscCall(InvH5ReadRows(file, "/theta", H5T_NATIVE_DOUBLE, 0, dims[0], e->theta));
  PetscCall(InvH5HasDataset(file, "/status", &has));
  for (PetscInt64 i = 0; i < e->N; i++) e->status[i] = 0;
  if (has) {
    int32_t *st;
    PetscCall(InvH5GetDims(file, "/status", &r, d2));
    PetscCheck(r == 1 && d2[0] == dims[0], e->comm, PETSC_ERR_FILE_UNEXPECTED, "Truth %s: /status must have shape (%llu)", e->truth,
               (unsigned long long)dims[0]);
    PetscCall(PetscMalloc1(e->N, &st));
    PetscCall(InvH5ReadRows(file, "/status", H5T_NATIVE_INT32, 0, dims[0], st));
    for (PetscInt64 i = 0; i < e->N; i++) e->status[i] = st[i];
    PetscCall(PetscFree(st));
  }
  PetscCall(InvH5HasDataset(file, "/noise", &has)); /* the true noise parameters, targets of joint inference */
  if (has) {
    PetscCall(InvH5GetDims(file, "/noise", &r, d2));
    PetscCheck(r == 2 && d2[0] == dims[0] && d2[1] == INV_NOISE_NPARAM, e->comm, PETSC_ERR_FILE_UNEXPECTED,
               "Truth %s: /noise must have shape (%llu, %d): rho, sigma per sample", e->truth, (unsigned long long)dims[0],
               INV_NOISE_NPARAM);
    PetscCall(PetscMalloc1(e->N * INV_NOISE_NPARAM, &e->truenoise));
    PetscCall(InvH5ReadRows(file, "/noise", H5T_NATIVE_DOUBLE, 0, dims[0], e->truenoise));
  }
  if (e->timeseries || e->land.row >= 0 || e->post.n > 0) {
    PetscCall(InvH5HasDataset(file, "/u", &has));
    PetscCheck(has, e->comm, PETSC_ERR_FILE_UNEXPECTED, "Truth %s has no clean series /u (or give -eval_timeseries 0)", e->truth);
    PetscCall(InvH5GetDims(file, "/u", &r, d2));
    PetscCheck(d2[0] == dims[0] && ((e->no == 1 && r == 2) || (r == 3 && d2[2] == (hsize_t)e->no)), e->comm, PETSC_ERR_FILE_UNEXPECTED,
               "Truth %s: /u must have %llu rows and %d observed component(s)", e->truth, (unsigned long long)dims[0], (int)e->no);
    e->nt = (PetscInt)d2[1];
    PetscCall(InvH5GetDims(file, "/t", &r, d2));
    PetscCheck(r == 1 && d2[0] == (hsize_t)e->nt, e->comm, PETSC_ERR_FILE_UNEXPECTED,
               "Truth %s: /t must hold the %d observation times of /u", e->truth, (int)e->nt);
    PetscCall(PetscMalloc1(e->nt, &e->t));
    PetscCall(InvH5ReadAll(file, "/t", H5T_NATIVE_DOUBLE, e->t));
    PetscCall(InvH5HasDataset(file, e->objdata[0] == 'd' ? "/d" : "/u", &e->hasd));
    PetscCall(InvH5HasDataset(file, "/noise", &has));
    if (!has && !(e->nspec.fixed_rho && e->nspec.fixed_sigma)) e->hasd = PETSC_FALSE;
    if (e->hasd) PetscCall(InvNoiseSpecSetData(&e->nspec, e->comm, file, e->truth, e->nt, e->t));
    if (e->objective && !e->hasd && e->land.row < 0 && e->post.n == 0)
      PetscCall(PetscPrintf(e->comm, "evaluate: %s has no /%s with /noise (or give -noise_rho and -noise_sigma): no MAP objective\n",
                            e->truth, e->objdata));
    if (e->objective && e->hasd) {
      PetscCall(PetscMalloc1(e->N * 2, &e->noise));
      if (has) {
        PetscCall(InvH5GetDims(file, "/noise", &r, d2));
        PetscCheck(r == 2 && d2[0] == dims[0] && d2[1] == 2, e->comm, PETSC_ERR_FILE_UNEXPECTED,
                   "Truth %s: /noise must have shape (%llu, 2)", e->truth, (unsigned long long)dims[0]);
        PetscCall(InvH5ReadRows(file, "/noise", H5T_NATIVE_DOUBLE, 0, dims[0], e->noise));
      }
      InvNoiseSpecApply(&e->nspec, e->N, e->noise);
    }
  }
  PetscCall(InvH5Close(&file));
  PetscFunctionReturn(0);
}

static PetscErrorCode InvEvalFindDataset(InvEval e, hid_t file, const char fname[], char ds[], size_t len)
{
  const char *cand[] = {"/theta_pred", "/theta_map", "/theta_est", "/theta"};
  PetscBool has = PETSC_FALSE;

  PetscFunctionBegin;
  if (e->dataset[0]) {
    PetscCall(PetscSNPrintf(ds, len, "%s%s", e->dataset[0] == '/' ? "" : "/", e->dataset));
    PetscCall(InvH5HasDataset(file, ds, &has));
    PetscCheck(has, e->comm, PETSC_ERR_FILE_UNEXPECTED, "%s has no dataset %s (-eval_dataset)", fname, ds);
    PetscFunctionReturn(0);
  }
  for (size_t k = 0; k < sizeof(cand) / sizeof(cand[0]) && !has; k++) {
    PetscCall(InvH5HasDataset(file, cand[k], &has));
    if (has) PetscCall(PetscStrncpy(ds, cand[k], len));
  }
  PetscCheck(has, e->comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s has none of /theta_pred, /theta_map, /theta_est, /theta: not an output of invmap predict or map", fname);
  PetscFunctionReturn(0);
}

/* a per-sample dataset of n rows as reals (NULL when absent) */
static PetscErrorCode InvEvalReadCost(hid_t file, const char ds[], hid_t type, PetscInt64 n, PetscReal **out)
{
  PetscBool has;
  PetscInt r;
  hsize_t dims[3];
  PetscReal *v;

  PetscFunctionBegin;
  *out = NULL;
  PetscCall(InvH5HasDataset(file, ds, &has));
  if (!has) PetscFunctionReturn(0);
  PetscCall(InvH5GetDims(file, ds, &r, dims));
  if (r != 1 || dims[0] != (hsize_t)n) PetscFunctionReturn(0);
  PetscCall(PetscMalloc1(PetscMax(n, 1), &v));
  if (type == H5T_NATIVE_INT32) {
    int32_t *iv;
    PetscCall(PetscMalloc1(PetscMax(n, 1), &iv));
    PetscCall(InvH5ReadRows(file, ds, H5T_NATIVE_INT32, 0, (hsize_t)n, iv));
    for (PetscInt64 i = 0; i < n; i++) v[i] = iv[i];
    PetscCall(PetscFree(iv));
  } else
    PetscCall(InvH5ReadRows(file, ds, H5T_NATIVE_DOUBLE, 0, (hsize_t)n, v));
  *out = v;
  PetscFunctionReturn(0);
}

/* Estimates made from another data set: a warning when the recorded input file differs from the truth's
   name, an error when the file's copy of the true parameters (/theta of invmap map) differs. */
static PetscErrorCode InvEvalCheckProvenance(InvEval e, hid_t file, InvEvalEstimate *s)
{
  const char *attrs[] = {"observations", "input"};
  hid_t root;
  PetscBool has, same = PETSC_TRUE;

  PetscFunctionBegin;
  PetscCallHDF5Return(root, H5Gopen2(file, "/", H5P_DEFAULT));
  for (size_t k = 0; k < 2; k++) {
    char *in;
    const char *a, *b;
    PetscCall(InvH5HasAttr(root, attrs[k], &has));
    if (!has) continue;
    PetscCall(InvH5ReadAttrString(root, attrs[k], &in));
    a = strrchr(in, '/') ? strrchr(in, '/') + 1 : in;
    b = strrchr(e->truth, '/') ? strrchr(e->truth, '/') + 1 : e->truth;
    if (strcmp(a, b)) PetscCall(PetscPrintf(e->comm, "evaluate: warning: %s was made from %s, the truth is %s\n", s->file, in, e->truth));
    PetscCall(PetscFree(in));
  }
  PetscCallHDF5(H5Gclose(root));
  PetscCall(InvH5HasDataset(file, "/theta", &has));
  if (has && strcmp(s->dataset, "/theta")) {
    PetscInt r;
    hsize_t dims[3];
    PetscCall(InvH5GetDims(file, "/theta", &r, dims));
    if (r == 2 && dims[0] == (hsize_t)s->nfile && dims[1] == (hsize_t)e->P) {
      PetscReal *th;
      PetscCall(PetscMalloc1(s->nfile * e->P, &th));
      PetscCall(InvH5ReadRows(file, "/theta", H5T_NATIVE_DOUBLE, 0, dims[0], th));
      for (PetscInt64 i = 0; i < s->nfile * e->P; i++)
        if (th[i] != e->theta[i] && !(PetscIsInfOrNanReal(th[i]) && PetscIsInfOrNanReal(e->theta[i]))) same = PETSC_FALSE;
      PetscCall(PetscFree(th));
    }
  }
  PetscCheck(same, e->comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s holds true parameters /theta that differ from those of the truth %s: the estimates belong to another data set", s->file,
             e->truth);
  PetscFunctionReturn(0);
}

/* What each column of an estimate file's dataset estimates: col[k] = j for model parameter j, P + m for noise parameter m
   (InvNoiseParamNames). A file with a 'targets' attribute (invmap predict) names its columns; others hold the model's
   parameters in order. Every model parameter must be among them: the relative error, the series and J need them all. */
static PetscErrorCode InvEvalTargetColumns(InvEval e, hid_t file, InvEvalEstimate *s, PetscInt ncol, PetscInt col[])
{
  hid_t root;
  PetscBool has;
  PetscInt k = 0, seen[INV_MAX_PARAM + INV_NOISE_NPARAM] = {0};
  char *targets, *tok, *save = NULL;

  PetscFunctionBegin;
  PetscCallHDF5Return(root, H5Gopen2(file, "/", H5P_DEFAULT));
  PetscCall(InvH5HasAttr(root, "targets", &has));
  if (!has) {
    PetscCallHDF5(H5Gclose(root));
    PetscCheck(ncol == e->P, e->comm, PETSC_ERR_FILE_UNEXPECTED,
               "%s: %s has %d column(s) but model %s of %s has %d parameters (and the file names no 'targets')", s->file, s->dataset,
               (int)ncol, e->model->type, e->truth, (int)e->P);
    for (PetscInt j = 0; j < ncol; j++) col[j] = j;
    PetscFunctionReturn(0);
  }
  PetscCall(InvH5ReadAttrString(root, "targets", &targets));
  PetscCallHDF5(H5Gclose(root));
  for (tok = strtok_r(targets, ",", &save); tok; tok = strtok_r(NULL, ",", &save), k++) {
    PetscInt c = -1;
    for (PetscInt j = 0; j < e->P; j++)
      if (!strcmp(tok, e->model->param_names[j])) c = j;
    for (PetscInt m = 0; m < INV_NOISE_NPARAM; m++)
      if (!strcmp(tok, InvNoiseParamNames[m])) c = e->P + m;
    PetscCheck(c >= 0, e->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: target '%s' is neither a parameter of model %s nor %s, %s", s->file, tok,
               e->model->type, InvNoiseParamNames[0], InvNoiseParamNames[1]);
    PetscCheck(k < ncol && !seen[c], e->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: its targets do not name the %d columns of %s once each",
               s->file, (int)ncol, s->dataset);
    PetscCheck(c < e->P || e->truenoise, e->comm, PETSC_ERR_FILE_UNEXPECTED,
               "%s estimates the noise parameter %s but the truth %s has no /noise to compare it with", s->file, tok, e->truth);
    seen[c] = 1;
    col[k] = c;
  }
  PetscCall(PetscFree(targets));
  PetscCheck(k == ncol, e->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: %d targets for the %d columns of %s", s->file, (int)k, (int)ncol,
             s->dataset);
  for (PetscInt j = 0; j < e->P; j++)
    PetscCheck(seen[j], e->comm, PETSC_ERR_FILE_UNEXPECTED,
               "%s does not estimate parameter %s of model %s: invmap evaluate needs every model parameter (relative error, series, "
               "objective); train with all of them among -train_targets",
               s->file, e->model->param_names[j], e->model->type);
  PetscFunctionReturn(0);
}

PetscErrorCode InvEvalReadEstimate(InvEval e, InvEvalEstimate *s)
{
  hid_t file, root;
  PetscInt r;
  hsize_t dims[3];
  PetscBool has;

  PetscFunctionBegin;
  PetscCall(InvH5Open(e->comm, s->file, PETSC_FALSE, &file));
  PetscCall(InvEvalFindDataset(e, file, s->file, s->dataset, sizeof(s->dataset)));
  PetscCall(InvH5GetDims(file, s->dataset, &r, dims));
  PetscCheck(r == 2 && dims[1] >= 1 && dims[1] <= (hsize_t)(e->P + INV_NOISE_NPARAM), e->comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s: %s has %llu column(s) but model %s of %s has %d parameters (and joint inference adds at most rho, sigma)", s->file,
             s->dataset, (unsigned long long)(r == 2 ? dims[1] : 0), e->model->type, e->truth, (int)e->P);
  PetscCheck(dims[0] > 0 && dims[0] <= (hsize_t)e->N, e->comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s: %s has %llu rows but the truth %s has %lld samples: estimates must cover the first n <= N samples of the truth", s->file,
             s->dataset, (unsigned long long)dims[0], e->truth, (long long)e->N);
  s->nfile = (PetscInt64)dims[0];
  {
    const PetscInt ncol = (PetscInt)dims[1];
    PetscInt col[INV_MAX_PARAM + INV_NOISE_NPARAM];
    PetscReal *buf;
    PetscCall(InvEvalTargetColumns(e, file, s, ncol, col));
    PetscCall(PetscMalloc1(s->nfile * ncol, &buf));
    PetscCall(PetscMalloc1(s->nfile * e->P, &s->theta));
    PetscCall(InvH5ReadRows(file, s->dataset, H5T_NATIVE_DOUBLE, 0, dims[0], buf));
    for (PetscInt k = 0; k < ncol; k++)
      if (col[k] >= e->P && !s->nz) {
        PetscCall(PetscMalloc1(s->nfile * INV_NOISE_NPARAM, &s->nz));
        for (PetscInt64 i = 0; i < s->nfile * INV_NOISE_NPARAM; i++) s->nz[i] = NAN;
      }
    for (PetscInt64 i = 0; i < s->nfile; i++)
      for (PetscInt k = 0; k < ncol; k++) {
        if (col[k] < e->P)
          s->theta[i * e->P + col[k]] = buf[i * ncol + k];
        else
          s->nz[i * INV_NOISE_NPARAM + col[k] - e->P] = buf[i * ncol + k];
      }
    for (PetscInt k = 0; k < ncol; k++)
      if (col[k] >= e->P) e->evalnz[col[k] - e->P] = s->hasnz[col[k] - e->P] = PETSC_TRUE;
    PetscCall(PetscFree(buf));
  }
  PetscCall(InvH5HasDataset(file, "/cov", &has));
  if (has) {
    PetscCall(InvH5GetDims(file, "/cov", &r, dims));
    PetscCheck(r == 3 && dims[0] == (hsize_t)s->nfile && dims[1] == (hsize_t)e->P && dims[2] == (hsize_t)e->P, e->comm,
               PETSC_ERR_FILE_UNEXPECTED, "%s: /cov must have shape (%lld, %d, %d)", s->file, (long long)s->nfile, (int)e->P, (int)e->P);
    PetscCall(PetscMalloc1(s->nfile * e->P * e->P, &s->cov));
    PetscCall(InvH5ReadRows(file, "/cov", H5T_NATIVE_DOUBLE, 0, dims[0], s->cov));
  }
  PetscCall(InvEvalCheckProvenance(e, file, s));
  /* cost records of invmap map and predict: /function_evaluations (map) and the attributes solve_seconds, n_ranks */
  PetscCall(InvEvalReadCost(file, "/function_evaluations", H5T_NATIVE_INT32, s->nfile, &s->fev));
  s->seconds = NAN;
  s->nranks = 0;
  PetscCallHDF5Return(root, H5Gopen2(file, "/", H5P_DEFAULT));
  PetscCall(InvH5HasAttr(root, "solve_seconds", &has));
  if (has) PetscCall(InvH5ReadAttrReals(root, "solve_seconds", 1, &s->seconds));
  PetscCall(InvH5HasAttr(root, "n_ranks", &has));
  if (has) {
    PetscInt64 nr;
    PetscCall(InvH5ReadAttrInts(root, "n_ranks", 1, &nr));
    PetscCheck(nr > 0 && nr <= PETSC_MPI_INT_MAX, e->comm, PETSC_ERR_FILE_UNEXPECTED,
               "%s: attribute n_ranks = %lld must be a positive rank count", s->file, (long long)nr);
    s->nranks = (PetscInt)nr;
  }
  PetscCallHDF5(H5Gclose(root));
  PetscCall(InvH5Close(&file));
  PetscFunctionReturn(0);
}

PetscErrorCode InvEvalReadReference(InvEval e)
{
  hid_t file;
  char ds[32];
  PetscInt r;
  hsize_t dims[3];
  PetscBool has;

  PetscFunctionBegin;
  PetscCall(InvH5Open(e->comm, e->covref, PETSC_FALSE, &file));
  PetscCall(InvEvalFindDataset(e, file, e->covref, ds, sizeof(ds)));
  PetscCall(InvH5GetDims(file, ds, &r, dims));
  PetscCheck(r == 2 && dims[1] == (hsize_t)e->P && dims[0] > 0 && dims[0] <= (hsize_t)e->N, e->comm, PETSC_ERR_FILE_UNEXPECTED,
             "-cov_reference %s: %s must have shape (n <= %lld, %d)", e->covref, ds, (long long)e->N, (int)e->P);
  e->nref = (PetscInt64)dims[0];
  PetscCall(PetscMalloc1(e->nref * e->P, &e->refmean));
  PetscCall(InvH5ReadRows(file, ds, H5T_NATIVE_DOUBLE, 0, dims[0], e->refmean));
  PetscCall(InvH5HasDataset(file, "/cov", &has));
  if (has) {
    PetscCall(InvH5GetDims(file, "/cov", &r, dims));
    PetscCheck(r == 3 && dims[0] == (hsize_t)e->nref && dims[1] == (hsize_t)e->P && dims[2] == (hsize_t)e->P, e->comm,
               PETSC_ERR_FILE_UNEXPECTED, "-cov_reference %s: /cov must have shape (%lld, %d, %d)", e->covref, (long long)e->nref,
               (int)e->P, (int)e->P);
    PetscCall(PetscMalloc1(e->nref * e->P * e->P, &e->refcov));
    PetscCall(InvH5ReadRows(file, "/cov", H5T_NATIVE_DOUBLE, 0, dims[0], e->refcov));
  } else
    PetscCall(PetscPrintf(e->comm, "evaluate: -cov_reference %s has no /cov: mean errors only\n", e->covref));
  PetscCall(InvH5Close(&file));
  PetscFunctionReturn(0);
}
