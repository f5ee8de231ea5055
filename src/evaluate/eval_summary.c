/* InvEval summary: medians, R^2 and cost per estimate (one row of the summary table), and the table on
   screen (rank 0). Every rank holds the same per-sample arrays, so the summary is rank-count independent. */
#include "evalimpl.h"

static PetscErrorCode InvEvalAddColumn(InvEval e, const char name[])
{
  PetscFunctionBegin;
  PetscCheck(e->ncols < 64, PETSC_COMM_SELF, PETSC_ERR_PLIB, "Too many summary columns");
  PetscCall(PetscStrncpy(e->colnames[e->ncols++], name, sizeof(e->colnames[0])));
  PetscFunctionReturn(0);
}

static PetscErrorCode InvEvalColumns(InvEval e)
{
  char name[48];

  PetscFunctionBegin;
  if (e->ncols) PetscFunctionReturn(0);
  PetscCall(InvEvalAddColumn(e, "n_rows"));
  PetscCall(InvEvalAddColumn(e, "n_nan_estimates"));
  PetscCall(InvEvalAddColumn(e, "n_valid"));
  for (PetscInt j = 0; j < e->P; j++) {
    PetscCall(PetscSNPrintf(name, sizeof(name), "median_ape_%s", e->model->param_names[j]));
    PetscCall(InvEvalAddColumn(e, name));
  }
  for (PetscInt m = 0; m < INV_NOISE_NPARAM; m++) /* noise targets of joint inference, when some estimate has them */
    if (e->evalnz[m]) {
      PetscCall(PetscSNPrintf(name, sizeof(name), "median_ape_%s", InvNoiseParamNames[m]));
      PetscCall(InvEvalAddColumn(e, name));
    }
  PetscCall(InvEvalAddColumn(e, "median_rel_err"));
  for (PetscInt j = 0; j < e->P; j++) {
    PetscCall(PetscSNPrintf(name, sizeof(name), "r2_%s", e->model->param_names[j]));
    PetscCall(InvEvalAddColumn(e, name));
  }
  for (PetscInt m = 0; m < INV_NOISE_NPARAM; m++)
    if (e->evalnz[m]) {
      PetscCall(PetscSNPrintf(name, sizeof(name), "r2_%s", InvNoiseParamNames[m]));
      PetscCall(InvEvalAddColumn(e, name));
    }
  PetscCall(InvEvalAddColumn(e, "r2_mean"));
  PetscCall(InvEvalAddColumn(e, "n_sim_failed"));
  PetscCall(InvEvalAddColumn(e, "median_sq_bias"));
  PetscCall(InvEvalAddColumn(e, "median_cmse"));
  PetscCall(InvEvalAddColumn(e, "median_objective"));
  PetscCall(InvEvalAddColumn(e, "median_objective_truth"));
  PetscCall(InvEvalAddColumn(e, "median_mean_rel_err"));
  PetscCall(InvEvalAddColumn(e, "median_cov_rel_err"));
  PetscCall(InvEvalAddColumn(e, "objective_evaluations_total"));
  PetscCall(InvEvalAddColumn(e, "run_wall_seconds"));
  PetscCall(InvEvalAddColumn(e, "n_ranks"));
  PetscCall(InvEvalAddColumn(e, "wall_seconds_per_estimate"));
  PetscCall(InvEvalAddColumn(e, "core_seconds_per_estimate"));
  PetscFunctionReturn(0);
}

/* R^2 of column j of estimates x (width w) against the truth y (width w) over the valid rows (a finite relative error):
   1 - sum (x - y)^2 / sum (y - mean y)^2; NaN with fewer than 2 valid rows or when x is NULL */
static PetscReal InvEvalR2(const InvEvalEstimate *s, const PetscReal x[], const PetscReal y[], PetscInt w, PetscInt j)
{
  PetscReal mean = 0, ss = 0, sr = 0;

  if (!x || s->nvalid < 2) return NAN;
  for (PetscInt64 i = 0; i < s->n; i++)
    if (!PetscIsInfOrNanReal(s->relerr[i])) mean += y[i * w + j];
  mean /= (PetscReal)s->nvalid;
  for (PetscInt64 i = 0; i < s->n; i++) {
    if (PetscIsInfOrNanReal(s->relerr[i])) continue;
    ss += (y[i * w + j] - mean) * (y[i * w + j] - mean);
    sr += (x[i * w + j] - y[i * w + j]) * (x[i * w + j] - y[i * w + j]);
  }
  return 1 - sr / ss;
}

PetscErrorCode InvEvalSummarize(InvEval e, InvEvalEstimate *s)
{
  const PetscInt P = e->P;
  PetscReal *v, *sm = s->summary, r2m = 0;
  PetscInt c = 0;

  PetscFunctionBegin;
  PetscCall(InvEvalColumns(e));
  PetscCall(PetscMalloc1(PetscMax(s->n, 1), &v));
  sm[c++] = (PetscReal)s->n;
  sm[c++] = (PetscReal)s->nnan;
  sm[c++] = (PetscReal)s->nvalid;
  for (PetscInt j = 0; j < P; j++) {
    for (PetscInt64 i = 0; i < s->n; i++) v[i] = s->ape[i * P + j];
    PetscCall(InvEvalMedian(s->n, v, &sm[c++]));
  }
  for (PetscInt m = 0; m < INV_NOISE_NPARAM; m++)
    if (e->evalnz[m]) {
      for (PetscInt64 i = 0; i < s->n; i++) v[i] = s->apenz ? s->apenz[i * INV_NOISE_NPARAM + m] : NAN;
      PetscCall(InvEvalMedian(s->n, v, &sm[c++]));
    }
  PetscCall(InvEvalMedian(s->n, s->relerr, &sm[c++]));
  for (PetscInt j = 0; j < P; j++) { /* R^2 over the valid rows (those with a finite relative error) */
    sm[c] = InvEvalR2(s, s->theta, e->theta, P, j);
    r2m += sm[c++] / P;
  }
  for (PetscInt m = 0; m < INV_NOISE_NPARAM; m++)
    if (e->evalnz[m]) sm[c++] = s->hasnz[m] ? InvEvalR2(s, s->nz, e->truenoise, INV_NOISE_NPARAM, m) : NAN;
  sm[c++] = r2m; /* the mean over the model parameters */
  sm[c++] = s->simstatus ? (PetscReal)s->nsimfail : NAN;
  PetscCall(InvEvalMedian(s->n, s->sqbias, &sm[c++]));
  PetscCall(InvEvalMedian(s->n, s->cmse, &sm[c++]));
  PetscCall(InvEvalMedian(s->n, s->obj, &sm[c++]));
  PetscCall(InvEvalMedian(s->n, s->objtrue, &sm[c++]));
  PetscCall(InvEvalMedian(s->n, s->mean_err, &sm[c++]));
  PetscCall(InvEvalMedian(s->n, s->cov_err, &sm[c++]));
  sm[c] = NAN;
  if (s->fev) {
    sm[c] = 0;
    for (PetscInt64 i = 0; i < s->n; i++) sm[c] += s->fev[i];
  }
  c++;
  /* cost of the run that made the file (all its estimates, not only the evaluated rows): InvCostPerEstimate */
  sm[c++] = s->seconds;
  sm[c++] = s->nranks > 0 ? (PetscReal)s->nranks : NAN;
  InvCostPerEstimate(s->seconds, s->nfile, s->nranks, &sm[c], &sm[c + 1]);
  c += 2;
  PetscCheck(c == e->ncols, PETSC_COMM_SELF, PETSC_ERR_PLIB, "Summary has %d values for %d columns", (int)c, (int)e->ncols);
  PetscCall(PetscFree(v));
  PetscFunctionReturn(0);
}

PetscErrorCode InvEvalView(InvEval e)
{
  PetscFunctionBegin;
  PetscCall(PetscPrintf(e->comm, "invmap evaluate: truth %s (%" PetscInt64_FMT " samples, model %s), %d rank(s), %.2f s%s\n", e->truth,
                        e->N, e->model->type, (int)e->size, (double)e->seconds,
                        e->timeseries ? "" : " (no re-simulation: -eval_timeseries 0)"));
  PetscCall(PetscPrintf(e->comm, "%-28s", "metric"));
  for (PetscInt k = 0; k < e->nest; k++) PetscCall(PetscPrintf(e->comm, " %14s", e->est[k].label));
  PetscCall(PetscPrintf(e->comm, "\n"));
  for (PetscInt c = 0; c < e->ncols; c++) {
    PetscCall(PetscPrintf(e->comm, "%-28s", e->colnames[c]));
    for (PetscInt k = 0; k < e->nest; k++) {
      const PetscReal v = e->est[k].summary[c];
      if (PetscIsInfOrNanReal(v))
        PetscCall(PetscPrintf(e->comm, " %14s", "-"));
      else if (c < 3 || !strcmp(e->colnames[c], "n_sim_failed") || !strcmp(e->colnames[c], "n_ranks"))
        PetscCall(PetscPrintf(e->comm, " %14.0f", (double)v));
      else
        PetscCall(PetscPrintf(e->comm, " %14.6g", (double)v));
    }
    PetscCall(PetscPrintf(e->comm, "\n"));
  }
  for (PetscInt k = 0; k < e->nest; k++) {
    const InvEvalEstimate *s = &e->est[k];
    if (s->nnan)
      PetscCall(PetscPrintf(e->comm, "  %s: %" PetscInt64_FMT " estimate(s) with NaN/Inf, excluded from all medians and R^2\n", s->label,
                            s->nnan));
    if (s->nsimfail)
      PetscCall(PetscPrintf(e->comm, "  %s: %" PetscInt64_FMT " re-simulation(s) failed, excluded from the series medians\n", s->label,
                            s->nsimfail));
  }
  PetscCall(
      PetscPrintf(e->comm, "  ('-' = not available; definitions: attribute 'definitions' of %s and invmap evaluate -help)\n", e->output));
  PetscFunctionReturn(0);
}
