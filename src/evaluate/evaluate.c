/* InvEval: options, the driver of `invmap evaluate` and cleanup (see include/invmap/evaluate.h). */
#include "evalimpl.h"

PetscErrorCode InvEvalCreate(MPI_Comm comm, InvEval *out)
{
  InvEval e;

  PetscFunctionBegin;
  PetscCall(InvInitializePackage());
  PetscCall(PetscNew(&e));
  e->comm = comm;
  PetscCallMPI(MPI_Comm_rank(comm, &e->rank));
  PetscCallMPI(MPI_Comm_size(comm, &e->size));
  e->batch = 256;
  e->common = PETSC_TRUE;
  e->timeseries = PETSC_TRUE;
  e->objective = PETSC_TRUE;
  e->objdata[0] = 'd';
  e->land.row = -1;
  e->land.n = 101;
  e->land.zoomon = PETSC_TRUE;
  e->land.pair[0] = 0;
  e->land.pair[1] = 1;
  e->post.grid = 81;
  e->post.coarse = 41;
  e->post.passes = 8;
  e->post.width = 6;
  *out = e;
  PetscFunctionReturn(0);
}

PetscErrorCode InvEvalSetFromOptions(InvEval e)
{
  PetscInt n = INV_EVAL_MAX, nl = INV_EVAL_MAX, nbox = 4, npair = 2;
  PetscBool pairset = PETSC_FALSE;
  PetscBool set, setl;

  PetscFunctionBegin;
  PetscOptionsBegin(e->comm, NULL, "Evaluation of estimates (invmap evaluate)", "InvEval");
  PetscCall(PetscOptionsString("-truth", "Ensemble file of invmap simulate with the true /theta, clean /u, noisy /d, /noise", "", e->truth,
                               e->truth, sizeof(e->truth), NULL));
  PetscCall(PetscOptionsStringArray("-estimates", "Comma-separated estimate files (invmap predict or invmap map output)", "", e->files, &n,
                                    &set));
  PetscCall(
      PetscOptionsStringArray("-labels", "Comma-separated names of the estimate files (default: file names)", "", e->labels, &nl, &setl));
  PetscCall(PetscOptionsString("-eval_dataset", "Estimate dataset (default: first of /theta_pred, /theta_map, /theta_est, /theta)", "",
                               e->dataset, e->dataset, sizeof(e->dataset), NULL));
  PetscCall(
      PetscOptionsString("-o", "Output HDF5 file (per-sample metrics and the summary)", "", e->output, e->output, sizeof(e->output), NULL));
  PetscCall(PetscOptionsString("-csv", "Also write the summary table to this CSV file", "", e->csv, e->csv, sizeof(e->csv), NULL));
  PetscCall(PetscOptionsString("-cov_reference", "File with reference means and covariances (/theta_map or /theta_pred, and /cov)", "",
                               e->covref, e->covref, sizeof(e->covref), NULL));
  PetscCall(PetscOptionsBool("-eval_common_rows", "Evaluate every estimate on the rows all estimates cover (else each on its own rows)", "",
                             e->common, &e->common, NULL));
  PetscCall(PetscOptionsInt("-eval_n", "Evaluate at most the first n samples (0: all)", "", e->nmax, &e->nmax, NULL));
  PetscCall(PetscOptionsBool("-eval_timeseries", "Re-simulate the ODE at the estimates (squared bias, C-MSE, objective)", "", e->timeseries,
                             &e->timeseries, NULL));
  PetscCall(PetscOptionsBool("-eval_objective", "MAP objective J at each estimate (needs /d and /noise in the truth file)", "",
                             e->objective, &e->objective, NULL));
  PetscCall(PetscOptionsString("-eval_objective_data", "Series the objective fits: d (noisy) or u (clean, as invmap map -map_clean)", "",
                               e->objdata, e->objdata, sizeof(e->objdata), NULL));
  PetscCall(PetscOptionsInt("-eval_batch",
                            "Samples integrated together by one TS (batches of global indices; as simulate's -batch for bitwise "
                            "identical series at the true parameters); TS options -ts_* apply as in invmap simulate",
                            "", e->batch, &e->batch, NULL));
  PetscCall(PetscOptionsEList("-step_control", "Step control of the re-simulations, as invmap simulate's (member or batch)",
                              "InvForwardSolverCreate", InvStepControls, 2, InvStepControls[e->step_control], &e->step_control, NULL));
  PetscCall(PetscOptionsBool("-eval_save_series",
                             "Store the re-simulated series of every evaluated row of each estimate set (/series/<label>, float32; row i "
                             "is sample i of the truth)",
                             "", e->saveseries, &e->saveseries, NULL));
  PetscCall(
      PetscOptionsInt("-eval_landscape",
                      "Store the objective J on a grid over the prior's support for this row of the truth (/landscape; two parameters, "
                      "-eval_landscape_pair; -1: off)",
                      "", e->land.row, &e->land.row, NULL));
  PetscCall(PetscOptionsInt("-eval_landscape_n", "Grid points per parameter of -eval_landscape", "", e->land.n, &e->land.n, NULL));
  PetscCall(
      PetscOptionsIntArray("-eval_landscape_pair",
                           "Indices i,j of the two parameters on the landscape's axes (models with more than 2 parameters: a 2-D slice "
                           "through the row's true parameters)",
                           "", e->land.pair, &npair, &pairset));
  PetscCall(PetscOptionsRealArray("-eval_landscape_box", "Grid box lo0,hi0,lo1,hi1 of -eval_landscape (default: the prior's support)", "",
                                  e->land.full.box, &nbox, &e->land.boxset));
  PetscCall(PetscOptionsBool("-eval_landscape_zoom",
                             "Also J on a grid over a box around the truth and the estimates of the -eval_landscape row (/landscape/zoom)",
                             "", e->land.zoomon, &e->land.zoomon, NULL));
  PetscCall(PetscOptionsInt("-eval_posterior_n",
                            "Exact posterior of the first n samples by quadrature on grids, and each estimate file's Gaussian's W2 and KL "
                            "from it (/posterior, /<label>/posterior_w2, posterior_kl; two-parameter models; 0: off)",
                            "", e->post.n, &e->post.n, NULL));
  PetscCall(PetscOptionsInt("-eval_posterior_grid", "Grid points per parameter of the final posterior grid", "", e->post.grid,
                            &e->post.grid, NULL));
  PetscCall(PetscOptionsInt("-eval_posterior_coarse", "Grid points per parameter of the first posterior grid (over the prior's support)",
                            "", e->post.coarse, &e->post.coarse, NULL));
  PetscCall(PetscOptionsInt("-eval_posterior_passes",
                            "Most zoom passes of the posterior grid after the first (each over mean +- width sd of the previous, until the "
                            "box settles; 0: one grid of -eval_posterior_grid points over the prior's support)",
                            "", e->post.passes, &e->post.passes, NULL));
  PetscCall(PetscOptionsReal("-eval_posterior_width", "Half-width of a zoomed posterior grid in posterior standard deviations", "",
                             e->post.width, &e->post.width, NULL));
  PetscCall(PetscOptionsBool("-overwrite", "Replace existing output files", "", e->overwrite, &e->overwrite, NULL));
  PetscCall(PetscOptionsBool("-quiet", "No table on screen", "", e->quiet, &e->quiet, NULL));
  PetscOptionsEnd();
  PetscCheck(!strcmp(e->objdata, "d") || !strcmp(e->objdata, "u"), e->comm, PETSC_ERR_ARG_WRONG, "-eval_objective_data %s: use d or u",
             e->objdata);
  PetscCall(InvNoiseSpecFromOptions(e->comm, &e->nspec));
  e->nest = set ? n : 0;
  e->nlabels = setl ? nl : 0;
  PetscCheck(e->batch >= 1 && e->batch <= 1000000, e->comm, PETSC_ERR_ARG_OUTOFRANGE, "-eval_batch must be between 1 and 1e6, got %d",
             (int)e->batch);
  PetscCheck(e->nmax >= 0, e->comm, PETSC_ERR_ARG_OUTOFRANGE, "-eval_n must be >= 0, got %d", (int)e->nmax);
  PetscCheck(!e->saveseries || e->timeseries, e->comm, PETSC_ERR_ARG_INCOMP,
             "-eval_save_series stores the re-simulated series: drop -eval_timeseries 0");
  PetscCheck(e->land.row >= -1, e->comm, PETSC_ERR_ARG_OUTOFRANGE, "-eval_landscape %d: give a row >= 0 of the truth (or -1: off)",
             (int)e->land.row);
  PetscCheck(e->land.n >= 2 && e->land.n <= 4096, e->comm, PETSC_ERR_ARG_OUTOFRANGE, "-eval_landscape_n must be between 2 and 4096, got %d",
             (int)e->land.n);
  PetscCheck(!pairset || npair == 2, e->comm, PETSC_ERR_ARG_SIZ, "-eval_landscape_pair needs 2 parameter indices i,j, got %d", (int)npair);
  PetscCheck(!e->land.boxset || nbox == 4, e->comm, PETSC_ERR_ARG_SIZ, "-eval_landscape_box needs 4 values lo0,hi0,lo1,hi1, got %d",
             (int)nbox);
  PetscCheck(e->land.row < 0 || e->objective, e->comm, PETSC_ERR_ARG_INCOMP,
             "-eval_landscape maps the MAP objective: drop -eval_objective 0");
  PetscCheck(e->post.n >= 0, e->comm, PETSC_ERR_ARG_OUTOFRANGE, "-eval_posterior_n must be >= 0 (0: off), got %d", (int)e->post.n);
  PetscCheck(e->post.grid >= INV_EVAL_POST_MIN_GRID && e->post.grid <= INV_EVAL_POST_MAX_GRID, e->comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-eval_posterior_grid must be between %d and %d, got %d", INV_EVAL_POST_MIN_GRID, INV_EVAL_POST_MAX_GRID, (int)e->post.grid);
  PetscCheck(e->post.coarse >= INV_EVAL_POST_MIN_GRID && e->post.coarse <= INV_EVAL_POST_MAX_GRID, e->comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-eval_posterior_coarse must be between %d and %d, got %d", INV_EVAL_POST_MIN_GRID, INV_EVAL_POST_MAX_GRID,
             (int)e->post.coarse);
  PetscCheck(e->post.passes >= 0 && e->post.passes <= INV_EVAL_POST_MAX_PASSES, e->comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-eval_posterior_passes must be between 0 and %d, got %d", INV_EVAL_POST_MAX_PASSES, (int)e->post.passes);
  PetscCheck(e->post.width > 0 && PetscIsNormalReal(e->post.width), e->comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-eval_posterior_width must be positive (posterior standard deviations), got %g", (double)e->post.width);
  PetscCheck(e->post.n == 0 || e->objective, e->comm, PETSC_ERR_ARG_INCOMP,
             "-eval_posterior_n integrates exp(-J) of the MAP objective: drop -eval_objective 0");
  PetscFunctionReturn(0);
}

static PetscErrorCode InvEvalCheckArgs(InvEval e)
{
  PetscBool exists;

  PetscFunctionBegin;
  PetscCheck(e->truth[0], e->comm, PETSC_ERR_ARG_NULL, "No truth: give -truth <test.h5> (an ensemble file of invmap simulate)");
  PetscCheck(e->nest > 0, e->comm, PETSC_ERR_ARG_NULL, "No estimates: give -estimates <pred.h5>[,<map.h5>,...]");
  PetscCheck(e->output[0], e->comm, PETSC_ERR_ARG_NULL, "No output: give -o <eval.h5>");
  PetscCheck(!e->nlabels || e->nlabels == e->nest, e->comm, PETSC_ERR_ARG_SIZ, "-labels has %d names for %d estimate files",
             (int)e->nlabels, (int)e->nest);
  PetscCall(InvFileExists(e->truth, &exists));
  PetscCheck(exists, e->comm, PETSC_ERR_FILE_OPEN, "Truth file %s (-truth) does not exist", e->truth);
  for (PetscInt k = 0; k < e->nest; k++) {
    PetscCall(InvFileExists(e->files[k], &exists));
    PetscCheck(exists, e->comm, PETSC_ERR_FILE_OPEN, "Estimate file %s (-estimates) does not exist", e->files[k]);
  }
  if (e->covref[0]) {
    PetscCall(InvFileExists(e->covref, &exists));
    PetscCheck(exists, e->comm, PETSC_ERR_FILE_OPEN, "Reference file %s (-cov_reference) does not exist", e->covref);
  }
  PetscCall(InvFileExists(e->output, &exists));
  PetscCheck(!exists || e->overwrite, e->comm, PETSC_ERR_FILE_WRITE, "Output file %s exists; pass -overwrite to replace it", e->output);
  if (e->csv[0]) {
    PetscCall(InvFileExists(e->csv, &exists));
    PetscCheck(!exists || e->overwrite, e->comm, PETSC_ERR_FILE_WRITE, "CSV file %s exists; pass -overwrite to replace it", e->csv);
  }
  for (PetscInt k = 0; k < e->nest; k++) {
    InvEvalEstimate *s = &e->est[k];
    PetscCall(PetscStrncpy(s->file, e->files[k], sizeof(s->file)));
    if (e->nlabels)
      PetscCall(PetscStrncpy(s->label, e->labels[k], sizeof(s->label)));
    else {
      const char *b = strrchr(s->file, '/');
      char *dot;
      PetscCall(PetscStrncpy(s->label, b ? b + 1 : s->file, sizeof(s->label)));
      dot = strrchr(s->label, '.');
      if (dot && dot != s->label) *dot = 0;
    }
    PetscCheck(s->label[0] && !strchr(s->label, '/') && !strchr(s->label, ','), e->comm, PETSC_ERR_ARG_WRONG,
               "Label '%s' of %s must be non-empty without '/' or ','", s->label, s->file);
    PetscCheck(strcmp(s->label, "summary") && strcmp(s->label, "series") && strcmp(s->label, "landscape") && strcmp(s->label, "posterior"),
               e->comm, PETSC_ERR_ARG_WRONG,
               "Label '%s' of %s is a reserved name of the output (summary, series, landscape, posterior); give other -labels", s->label,
               s->file);
    for (PetscInt j = 0; j < k; j++)
      PetscCheck(strcmp(e->est[j].label, s->label), e->comm, PETSC_ERR_ARG_WRONG, "Two estimates are labelled '%s'; give distinct -labels",
                 s->label);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvEvalRun(InvEval e)
{
  PetscInt64 ncommon;
  PetscLogDouble t0, t1;

  PetscFunctionBegin;
  PetscCall(InvEvalCheckArgs(e));
  PetscCall(PetscTime(&t0));
  PetscCall(InvEvalReadTruth(e));
  for (PetscInt k = 0; k < e->nest; k++) PetscCall(InvEvalReadEstimate(e, &e->est[k]));
  ncommon = e->N;
  for (PetscInt k = 0; k < e->nest; k++) ncommon = PetscMin(ncommon, e->est[k].nfile);
  if (e->nmax > 0) ncommon = PetscMin(ncommon, (PetscInt64)e->nmax);
  for (PetscInt k = 0; k < e->nest; k++) {
    InvEvalEstimate *s = &e->est[k];
    s->n = e->common ? ncommon : (e->nmax > 0 ? PetscMin(s->nfile, (PetscInt64)e->nmax) : s->nfile);
    if (s->n < e->N && !e->quiet)
      PetscCall(PetscPrintf(e->comm, "evaluate: %s: evaluated on the first %" PetscInt64_FMT " of %" PetscInt64_FMT " samples (%s)\n",
                            s->label, s->n, e->N,
                            e->nmax > 0 && s->n == e->nmax ? "-eval_n"
                            : s->n < s->nfile              ? "rows common to all estimates"
                                                           : "the rows the file covers"));
  }
  if (e->covref[0]) PetscCall(InvEvalReadReference(e));
  for (PetscInt k = 0; k < e->nest; k++) {
    PetscCall(InvEvalParameterMetrics(e, &e->est[k]));
    if (e->timeseries) PetscCall(InvEvalSeriesMetrics(e, &e->est[k]));
    PetscCall(InvEvalSummarize(e, &e->est[k]));
  }
  if (e->land.row >= 0) PetscCall(InvEvalComputeLandscape(e));
  if (e->post.n > 0) PetscCall(InvEvalComputePosterior(e));
  PetscCall(PetscTime(&t1));
  e->seconds = (PetscReal)(t1 - t0);
  PetscCall(InvEvalWrite(e));
  if (e->csv[0]) PetscCall(InvEvalWriteCSV(e));
  if (!e->quiet) PetscCall(InvEvalView(e));
  PetscFunctionReturn(0);
}

PetscErrorCode InvEvalDestroy(InvEval *pe)
{
  InvEval e = *pe;

  PetscFunctionBegin;
  if (!e) PetscFunctionReturn(0);
  for (PetscInt k = 0; k < INV_EVAL_MAX; k++) {
    InvEvalEstimate *s = &e->est[k];
    PetscCall(PetscFree(e->files[k]));
    PetscCall(PetscFree(e->labels[k]));
    PetscCall(PetscFree(s->theta));
    PetscCall(PetscFree(s->cov));
    PetscCall(PetscFree(s->ape));
    PetscCall(PetscFree(s->nz));
    PetscCall(PetscFree(s->apenz));
    PetscCall(PetscFree(s->relerr));
    PetscCall(PetscFree(s->sqbias));
    PetscCall(PetscFree(s->cmse));
    PetscCall(PetscFree(s->obj));
    PetscCall(PetscFree(s->objtrue));
    PetscCall(PetscFree(s->mean_err));
    PetscCall(PetscFree(s->cov_err));
    PetscCall(PetscFree(s->simstatus));
    PetscCall(PetscFree(s->fev));
    PetscCall(PetscFree(s->series));
  }
  for (PetscInt j = 0; j < 2; j++) {
    PetscCall(PetscFree(e->land.full.axis[j]));
    PetscCall(PetscFree(e->land.zoom.axis[j]));
  }
  PetscCall(PetscFree(e->land.full.J));
  PetscCall(PetscFree(e->land.zoom.J));
  PetscCall(InvEvalDestroyPosterior(e));
  PetscCall(InvMemberRKDestroy(&e->mrk));
  PetscCall(InvBatchTSDestroy(&e->bts));
  PetscCall(InvPriorDestroy(&e->prior));
  PetscCall(InvModelDestroy(&e->model));
  PetscCall(PetscFree(e->t));
  PetscCall(PetscFree(e->theta));
  PetscCall(PetscFree(e->noise));
  PetscCall(PetscFree(e->truenoise));
  PetscCall(PetscFree(e->status));
  PetscCall(PetscFree(e->refmean));
  PetscCall(PetscFree(e->refcov));
  PetscCall(PetscFree(e));
  *pe = NULL;
  PetscFunctionReturn(0);
}
