/* The plan: which stages run, in which order, with which options and inputs. Stage options are the
   experiment's prefixed options (-sim_*, -set_<set>_*, -nets_*, -net_<net>_*, -pred_*, -maps_*,
   -maprun_<run>_*, -evals_*, -compare_*) followed by the file names the pipeline chooses. */
#include "pipelineimpl.h"
#include <ctype.h>
#include <string.h>

#define MAX_ITEMS 64

typedef char InvName[INV_PIPE_NAME_LEN];

static PetscErrorCode SplitNames(MPI_Comm comm, const char option[], const char list[], InvName items[], PetscInt *n)
{
  char buf[INV_PIPE_LIST_LEN], *save = NULL;
  char *tok;

  PetscFunctionBegin;
  *n = 0;
  PetscCall(PetscStrncpy(buf, list, sizeof(buf)));
  for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    PetscCheck(*n < MAX_ITEMS, comm, PETSC_ERR_ARG_SIZ, "%s: more than %d names", option, MAX_ITEMS);
    PetscCheck(strlen(tok) > 0 && strlen(tok) < INV_PIPE_NAME_LEN - 24, comm, PETSC_ERR_ARG_WRONG, "%s: name '%s' is empty or too long",
               option, tok);
    for (const char *c = tok; *c; c++)
      PetscCheck(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '_', comm, PETSC_ERR_ARG_WRONG,
                 "%s: name '%s' may contain only lower-case letters, digits and '_'", option, tok);
    for (PetscInt j = 0; j < *n; j++) {
      size_t la = strlen(items[j]), lb = strlen(tok);
      PetscCheck(strcmp(items[j], tok), comm, PETSC_ERR_ARG_WRONG, "%s: '%s' appears twice", option, tok);
      /* prefixes would be ambiguous: -net_a_ would also select the options of net a_b */
      PetscCheck(
          !((la < lb && !strncmp(items[j], tok, la) && tok[la] == '_') || (lb < la && !strncmp(items[j], tok, lb) && items[j][lb] == '_')),
          comm, PETSC_ERR_ARG_WRONG, "%s: '%s' and '%s' make ambiguous option prefixes; rename one", option, items[j], tok);
    }
    PetscCall(PetscStrncpy(items[(*n)++], tok, INV_PIPE_NAME_LEN));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode FindStage(InvPipeline p, const char name[], PetscInt *idx)
{
  PetscFunctionBegin;
  *idx = -1;
  for (PetscInt s = 0; s < p->nstages; s++)
    if (!strcmp(p->stage[s].name, name)) *idx = s;
  PetscCheck(*idx >= 0, p->comm, PETSC_ERR_PLIB, "Pipeline plan: no stage %s", name);
  PetscFunctionReturn(0);
}

static PetscErrorCode AddStage(InvPipeline p, const char cmd[], const char out[], InvPipelineStage **st, const char namefmt[],
                               const char *a, const char *b)
{
  InvPipelineStage *s;

  PetscFunctionBegin;
  PetscCheck(p->nstages < INV_PIPE_MAX_STAGES, p->comm, PETSC_ERR_ARG_SIZ, "The experiment has more than %d stages", INV_PIPE_MAX_STAGES);
  s = &p->stage[p->nstages++];
  PetscCall(PetscMemzero(s, sizeof(*s)));
  PetscCall(PetscSNPrintf(s->name, sizeof(s->name), namefmt, a, b));
  PetscCheck(strlen(s->name) < sizeof(s->name) - 1, p->comm, PETSC_ERR_ARG_SIZ,
             "Stage name %s... is too long: shorten the names of the experiment", s->name);
  PetscCall(PetscStrncpy(s->cmd, cmd, sizeof(s->cmd)));
  PetscCall(PetscSNPrintf(s->out, sizeof(s->out), "%s/%s", p->dir, out));
  PetscCall(PetscStrncpy(s->status, "planned", sizeof(s->status)));
  *st = s;
  PetscFunctionReturn(0);
}

static PetscErrorCode AddDep(InvPipeline p, InvPipelineStage *st, const char fmt[], const char *a, const char *b)
{
  char name[INV_PIPE_NAME_LEN];
  PetscInt idx;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(name, sizeof(name), fmt, a, b));
  PetscCall(FindStage(p, name, &idx));
  PetscCheck(st->ndeps < INV_PIPE_MAX_DEPS, p->comm, PETSC_ERR_ARG_SIZ, "Stage %s has too many inputs", st->name);
  st->deps[st->ndeps++] = idx;
  PetscFunctionReturn(0);
}

static PetscErrorCode Prefixed(InvPipeline p, char **opts, const char fmt[], const char *a)
{
  char prefix[2 * INV_PIPE_NAME_LEN];
  InvPipelineStage *st = &p->stage[p->nstages - 1]; /* the stage being planned */

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(prefix, sizeof(prefix), fmt, a));
  if (st->prefixes[0]) PetscCall(PetscStrlcat(st->prefixes, ",", sizeof(st->prefixes)));
  PetscCall(PetscStrlcat(st->prefixes, prefix, sizeof(st->prefixes)));
  PetscCall(InvOptionListAppendPrefixed(&p->exp, prefix, opts));
  PetscFunctionReturn(0);
}

/* Appends one estimate file (in the pipeline directory) and its label to the comma-separated lists of invmap evaluate. */
static PetscErrorCode AddEstimate(InvPipeline p, char **est, char **lab, const char file[], const char label[])
{
  char path[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/%s", p->dir, file));
  if (*est) PetscCall(InvStrCat(est, ","));
  PetscCall(InvStrCat(est, path));
  if (*lab) PetscCall(InvStrCat(lab, ","));
  PetscCall(InvStrCat(lab, label));
  PetscFunctionReturn(0);
}

static const char *ViewData(const char view[])
{
  return !strcmp(view, "clean") ? "u" : "d";
}

/* The MAP runs on data set `set` (stage and file names end with sfx: "" for the test set, ".<set>" otherwise), each
   started from the prior mean, multistart, or a network's prediction of that set. */
static PetscErrorCode PlanMapRuns(InvPipeline p, const char set[], const char sfx[], const char mview[], InvName nets[], PetscInt nnets,
                                  InvName runs[], PetscInt nruns)
{
  InvPipelineStage *st;
  char file[PETSC_MAX_PATH_LEN];
  PetscBool found;

  PetscFunctionBegin;
  for (PetscInt r = 0; r < nruns; r++) {
    PetscCall(PetscSNPrintf(file, sizeof(file), "map_%s%s.h5", runs[r], sfx));
    PetscCall(AddStage(p, "map", file, &st, "map_%s%s", runs[r], sfx));
    PetscCall(AddDep(p, st, "simulate_%s%s", set, ""));
    PetscCall(InvStrAppendf(&st->opts, "-i %s/%s.h5 -n %" PetscInt_FMT "%s", p->dir, set, p->map_n,
                            !strcmp(mview, "clean") ? " -map_clean" : ""));
    if (!strcmp(runs[r], "mean"))
      PetscCall(InvStrAppend(&st->opts, "-map_starts 0 -map_start_mean 1"));
    else if (!strncmp(runs[r], "from_", 5)) {
      char pred[2 * INV_PIPE_NAME_LEN];
      found = PETSC_FALSE;
      for (PetscInt i = 0; i < nnets; i++) found = (PetscBool)(found || !strcmp(nets[i], runs[r] + 5));
      PetscCheck(found, p->comm, PETSC_ERR_ARG_WRONG, "-pipeline_map_runs %s: no network '%s' in -pipeline_nets %s", runs[r], runs[r] + 5,
                 p->nets);
      PetscCall(PetscSNPrintf(pred, sizeof(pred), "%s_%s", runs[r] + 5, mview));
      PetscCall(AddDep(p, st, "predict_%s%s", pred, sfx));
      PetscCall(InvStrAppendf(&st->opts, "-map_init %s/pred_%s%s.h5 -map_starts 0 -map_start_mean 0", p->dir, pred, sfx));
    } else
      PetscCheck(!strcmp(runs[r], "multistart"), p->comm, PETSC_ERR_ARG_WRONG,
                 "-pipeline_map_runs: unknown run '%s' (mean, multistart, from_<net>)", runs[r]);
    PetscCall(Prefixed(p, &st->opts, "maps_", NULL));
    PetscCall(Prefixed(p, &st->opts, "maprun_%s_", runs[r]));
    PetscCall(InvStrAppendf(&st->opts, "-o %s", st->out));
  }
  PetscFunctionReturn(0);
}

static const char *const LaplaceViews[2] = {"clean", "noisy"}; /* the views of p->laplace[] */

/* Laplace targets (issue 12): for each view with networks in -pipeline_laplace_<view>, MAP with a covariance over the
   whole training set, resumable like every map stage, attaching /theta_map and /cov to a copy <train>_laplace_<view>.h5
   (the training set itself stays as simulated); and the Laplace reference of every test view, which the report
   compares the networks' means and covariances with. Options -laplace_* go to all of them (e.g. -laplace_map_hessian). */
static PetscErrorCode PlanLaplace(InvPipeline p, const char train[], const char test[], const InvName views[], PetscInt nviews)
{
  InvPipelineStage *st;
  char file[PETSC_MAX_PATH_LEN];
  PetscBool any = PETSC_FALSE;

  PetscFunctionBegin;
  for (PetscInt v = 0; v < 2; v++) {
    if (!p->laplace[v][0]) continue;
    any = PETSC_TRUE;
    PetscCall(PetscSNPrintf(file, sizeof(file), "%s_laplace_%s.h5", train, LaplaceViews[v]));
    PetscCall(AddStage(p, "map", file, &st, "laplace_train_%s%s", LaplaceViews[v], ""));
    PetscCall(AddDep(p, st, "simulate_%s%s", train, ""));
    PetscCall(PetscSNPrintf(st->out2, sizeof(st->out2), "%s/laplace_%s_%s.h5", p->dir, train, LaplaceViews[v]));
    PetscCall(InvStrAppendf(&st->opts, "-i %s/%s.h5%s", p->dir, train, v == 0 ? " -map_clean" : ""));
    PetscCall(Prefixed(p, &st->opts, "laplace_", NULL));
    PetscCall(InvStrAppendf(&st->opts, "-o %s -map_targets_into %s", st->out2, st->out));
  }
  for (PetscInt v = 0; any && v < nviews; v++) {
    PetscCall(PetscSNPrintf(file, sizeof(file), "laplace_%s_%s.h5", test, views[v]));
    PetscCall(AddStage(p, "map", file, &st, "laplace_test_%s%s", views[v], ""));
    PetscCall(AddDep(p, st, "simulate_%s%s", test, ""));
    PetscCall(InvStrAppendf(&st->opts, "-i %s/%s.h5%s", p->dir, test, !strcmp(views[v], "clean") ? " -map_clean" : ""));
    PetscCall(Prefixed(p, &st->opts, "laplace_", NULL));
    PetscCall(InvStrAppendf(&st->opts, "-o %s", st->out));
  }
  PetscFunctionReturn(0);
}

/* The networks and MAP runs evaluated on the first map_n samples of data set `set` (names end with sfx as in PlanMapRuns);
   the test set's comparison also stores what the report's figures need. */
static PetscErrorCode PlanCompare(InvPipeline p, const char set[], const char sfx[], const char mview[], InvName nets[], PetscInt nnets,
                                  InvName runs[], PetscInt nruns)
{
  InvPipelineStage *st;
  char file[PETSC_MAX_PATH_LEN], *est = NULL, *lab = NULL;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(file, sizeof(file), "compare%s.h5", sfx));
  PetscCall(AddStage(p, "evaluate", file, &st, "compare%s%s", sfx, ""));
  PetscCall(AddDep(p, st, "simulate_%s%s", set, ""));
  for (PetscInt i = 0; i < nnets; i++) {
    PetscCall(PetscSNPrintf(file, sizeof(file), "%s_%s", nets[i], mview));
    PetscCall(AddDep(p, st, "predict_%s%s", file, sfx));
    PetscCall(PetscSNPrintf(file, sizeof(file), "pred_%s_%s%s.h5", nets[i], mview, sfx));
    PetscCall(AddEstimate(p, &est, &lab, file, nets[i]));
  }
  for (PetscInt r = 0; r < nruns; r++) {
    char label[INV_PIPE_NAME_LEN + 4];
    PetscCall(AddDep(p, st, "map_%s%s", runs[r], sfx));
    PetscCall(PetscSNPrintf(file, sizeof(file), "map_%s%s.h5", runs[r], sfx));
    PetscCall(PetscSNPrintf(label, sizeof(label), "map_%s", runs[r]));
    PetscCall(AddEstimate(p, &est, &lab, file, label));
  }
  PetscCall(InvStrAppendf(&st->opts, "-truth %s/%s.h5 -estimates %s -labels %s -eval_n %" PetscInt_FMT " -eval_objective_data %s", p->dir,
                          set, est, lab, p->map_n, ViewData(mview)));
  PetscCall(PetscFree(est));
  PetscCall(PetscFree(lab));
  if (p->report && p->figures && !sfx[0]) {
    PetscCall(InvStrAppend(&st->opts, "-eval_save_series"));
    if (p->landscape_row >= 0 && p->landscape_row < p->map_n)
      PetscCall(InvStrAppendf(&st->opts, "-eval_landscape %" PetscInt_FMT, p->landscape_row));
  }
  PetscCall(Prefixed(p, &st->opts, "evals_", NULL));
  PetscCall(Prefixed(p, &st->opts, "compare_", NULL));
  PetscCall(PetscSNPrintf(st->out2, sizeof(st->out2), "%s/compare%s.csv", p->dir, sfx));
  PetscCall(InvStrAppendf(&st->opts, "-o %s -csv %s", st->out, st->out2));
  PetscFunctionReturn(0);
}

/* the view (0 clean, 1 noisy) whose Laplace targets network net trains on, or -1 */
static PetscErrorCode LaplaceViewOfNet(InvPipeline p, const char net[], PetscInt *view)
{
  PetscFunctionBegin;
  *view = -1;
  for (PetscInt v = 0; v < 2; v++) {
    InvName names[MAX_ITEMS];
    PetscInt n;
    PetscCall(SplitNames(p->comm, v ? "-pipeline_laplace_noisy" : "-pipeline_laplace_clean", p->laplace[v], names, &n));
    for (PetscInt i = 0; i < n; i++)
      if (!strcmp(names[i], net)) {
        PetscCheck(*view < 0, p->comm, PETSC_ERR_ARG_WRONG, "Network %s is in both -pipeline_laplace_clean and -pipeline_laplace_noisy",
                   net);
        *view = v;
      }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvPipelineBuildPlan(InvPipeline p)
{
  InvName sets[MAX_ITEMS], nets[MAX_ITEMS], views[MAX_ITEMS], runs[MAX_ITEMS], msets[MAX_ITEMS];
  PetscInt nsets, nnets, nviews, nruns, nmsets;
  PetscBool testmap = PETSC_FALSE;
  InvPipelineStage *st;
  const char *train, *test, *mview;
  char file[PETSC_MAX_PATH_LEN];
  PetscBool found;

  PetscFunctionBegin;
  PetscCall(SplitNames(p->comm, "-pipeline_sets", p->sets, sets, &nsets));
  PetscCall(SplitNames(p->comm, "-pipeline_nets", p->nets, nets, &nnets));
  PetscCall(SplitNames(p->comm, "-pipeline_views", p->views, views, &nviews));
  PetscCall(SplitNames(p->comm, "-pipeline_map_runs", p->mapruns, runs, &nruns));
  PetscCheck(nsets > 0, p->comm, PETSC_ERR_ARG_WRONG, "-pipeline_sets names no data set");
  PetscCheck(nviews > 0, p->comm, PETSC_ERR_ARG_WRONG, "-pipeline_views names no view (noisy, clean)");
  for (PetscInt v = 0; v < nviews; v++)
    PetscCheck(!strcmp(views[v], "noisy") || !strcmp(views[v], "clean"), p->comm, PETSC_ERR_ARG_WRONG,
               "-pipeline_views: unknown view '%s' (noisy: the series /d; clean: /u)", views[v]);
  train = p->trainset[0] ? p->trainset : sets[0];
  test = p->testset[0] ? p->testset : sets[nsets > 1 ? 1 : 0];
  mview = p->mapview[0] ? p->mapview : views[0];
  for (const char *want = train; want; want = (want == train ? test : NULL)) {
    found = PETSC_FALSE;
    for (PetscInt i = 0; i < nsets; i++) found = (PetscBool)(found || !strcmp(sets[i], want));
    PetscCheck(found, p->comm, PETSC_ERR_ARG_WRONG, "Data set '%s' (-pipeline_train_set / -pipeline_test_set) is not in -pipeline_sets %s",
               want, p->sets);
  }
  PetscCall(SplitNames(p->comm, "-pipeline_map_sets", p->mapsets[0] ? p->mapsets : test, msets, &nmsets));
  for (PetscInt m = 0; m < nmsets; m++) {
    found = PETSC_FALSE;
    for (PetscInt i = 0; i < nsets; i++) found = (PetscBool)(found || !strcmp(sets[i], msets[m]));
    PetscCheck(found, p->comm, PETSC_ERR_ARG_WRONG, "Data set '%s' of -pipeline_map_sets is not in -pipeline_sets %s", msets[m], p->sets);
    testmap = (PetscBool)(testmap || !strcmp(msets[m], test));
  }
  found = PETSC_FALSE;
  for (PetscInt v = 0; v < nviews; v++) found = (PetscBool)(found || !strcmp(views[v], mview));
  PetscCheck(found, p->comm, PETSC_ERR_ARG_WRONG, "-pipeline_map_view %s is not in -pipeline_views %s", mview, p->views);
  p->nstages = 0;

  for (PetscInt i = 0; i < nsets; i++) { /* data sets */
    PetscCall(PetscSNPrintf(file, sizeof(file), "%s.h5", sets[i]));
    PetscCall(AddStage(p, "simulate", file, &st, "simulate_%s%s", sets[i], ""));
    PetscCall(Prefixed(p, &st->opts, "sim_", NULL));
    PetscCall(Prefixed(p, &st->opts, "set_%s_", sets[i]));
    PetscCall(InvStrAppendf(&st->opts, "-o %s", st->out));
  }
  PetscCall(PlanLaplace(p, train, test, views, nviews));
  for (PetscInt v = 0; v < 2; v++) { /* every network named for Laplace targets exists */
    InvName names[MAX_ITEMS];
    PetscInt n;
    PetscCall(SplitNames(p->comm, v ? "-pipeline_laplace_noisy" : "-pipeline_laplace_clean", p->laplace[v], names, &n));
    for (PetscInt k = 0; k < n; k++) {
      found = PETSC_FALSE;
      for (PetscInt i = 0; i < nnets; i++) found = (PetscBool)(found || !strcmp(nets[i], names[k]));
      PetscCheck(found, p->comm, PETSC_ERR_ARG_WRONG, "-pipeline_laplace_%s: no network '%s' in -pipeline_nets %s", LaplaceViews[v],
                 names[k], p->nets);
    }
  }
  for (PetscInt i = 0; i < nnets; i++) { /* networks */
    PetscInt lv;
    PetscCall(PetscSNPrintf(file, sizeof(file), "%s.h5", nets[i]));
    PetscCall(AddStage(p, "train", file, &st, "train_%s%s", nets[i], ""));
    PetscCall(LaplaceViewOfNet(p, nets[i], &lv));
    if (lv < 0) {
      PetscCall(AddDep(p, st, "simulate_%s%s", train, ""));
      PetscCall(InvStrAppendf(&st->opts, "-i %s/%s.h5", p->dir, train));
    } else { /* the copy with the targets; the series they were computed from (the net's own options may say otherwise: train refuses) */
      PetscCall(AddDep(p, st, "laplace_train_%s%s", LaplaceViews[lv], ""));
      PetscCall(InvStrAppendf(&st->opts, "-i %s/%s_laplace_%s.h5 -train_data %s", p->dir, train, LaplaceViews[lv], lv ? "d" : "u"));
    }
    PetscCall(Prefixed(p, &st->opts, "nets_", NULL));
    PetscCall(Prefixed(p, &st->opts, "net_%s_", nets[i]));
    PetscCall(InvStrAppendf(&st->opts, "-o %s", st->out));
  }
  for (PetscInt i = 0; i < nnets; i++) /* predictions */
    for (PetscInt v = 0; v < nviews; v++) {
      PetscCall(PetscSNPrintf(file, sizeof(file), "pred_%s_%s.h5", nets[i], views[v]));
      PetscCall(AddStage(p, "predict", file, &st, "predict_%s_%s", nets[i], views[v]));
      PetscCall(AddDep(p, st, "train_%s%s", nets[i], ""));
      PetscCall(AddDep(p, st, "simulate_%s%s", test, ""));
      PetscCall(InvStrAppendf(&st->opts, "-net %s/%s.h5 -i %s/%s.h5 -predict_data %s", p->dir, nets[i], p->dir, test, ViewData(views[v])));
      PetscCall(Prefixed(p, &st->opts, "pred_", NULL));
      PetscCall(InvStrAppendf(&st->opts, "-o %s", st->out));
    }
  if (p->map_n > 0 && nruns > 0 && testmap) PetscCall(PlanMapRuns(p, test, "", mview, nets, nnets, runs, nruns)); /* MAP */
  for (PetscInt v = 0; nnets > 0 && v < nviews; v++) { /* evaluation of the networks on every test sample */
    char *est = NULL, *lab = NULL;
    PetscCall(PetscSNPrintf(file, sizeof(file), "eval_%s.h5", views[v]));
    PetscCall(AddStage(p, "evaluate", file, &st, "evaluate_%s%s", views[v], ""));
    PetscCall(AddDep(p, st, "simulate_%s%s", test, ""));
    for (PetscInt i = 0; i < nnets; i++) {
      PetscCall(AddDep(p, st, "predict_%s_%s", nets[i], views[v]));
      PetscCall(PetscSNPrintf(file, sizeof(file), "pred_%s_%s.h5", nets[i], views[v]));
      PetscCall(AddEstimate(p, &est, &lab, file, nets[i]));
    }
    PetscCall(InvStrAppendf(&st->opts, "-truth %s/%s.h5 -estimates %s -labels %s -eval_objective_data %s", p->dir, test, est, lab,
                            ViewData(views[v])));
    PetscCall(PetscFree(est));
    PetscCall(PetscFree(lab));
    PetscCall(Prefixed(p, &st->opts, "evals_", NULL));
    PetscCall(PetscSNPrintf(st->out2, sizeof(st->out2), "%s/eval_%s.csv", p->dir, views[v]));
    PetscCall(InvStrAppendf(&st->opts, "-o %s -csv %s", st->out, st->out2));
  }
  if (p->map_n > 0 && nruns > 0) { /* networks and MAP on the MAP subset: the test set, then -pipeline_map_sets' other sets */
    for (PetscInt m = 0; m < nmsets; m++) {
      char sfx[INV_PIPE_NAME_LEN + 1];
      if (!strcmp(msets[m], test)) {
        PetscCall(PlanCompare(p, test, "", mview, nets, nnets, runs, nruns));
        continue;
      }
      PetscCall(PetscSNPrintf(sfx, sizeof(sfx), ".%s", msets[m]));
      for (PetscInt i = 0; i < nnets; i++) { /* the networks' predictions of that set */
        PetscCall(PetscSNPrintf(file, sizeof(file), "pred_%s_%s%s.h5", nets[i], mview, sfx));
        PetscCall(AddStage(p, "predict", file, &st, "predict_%s_%s", nets[i], mview));
        PetscCall(PetscStrlcat(st->name, sfx, sizeof(st->name)));
        PetscCheck(strlen(st->name) < sizeof(st->name) - 1, p->comm, PETSC_ERR_ARG_SIZ,
                   "Stage name %s... is too long: shorten the names of the experiment", st->name);
        PetscCall(AddDep(p, st, "train_%s%s", nets[i], ""));
        PetscCall(AddDep(p, st, "simulate_%s%s", msets[m], ""));
        PetscCall(
            InvStrAppendf(&st->opts, "-net %s/%s.h5 -i %s/%s.h5 -predict_data %s", p->dir, nets[i], p->dir, msets[m], ViewData(mview)));
        PetscCall(Prefixed(p, &st->opts, "pred_", NULL));
        PetscCall(InvStrAppendf(&st->opts, "-o %s", st->out));
      }
      PetscCall(PlanMapRuns(p, msets[m], sfx, mview, nets, nnets, runs, nruns));
      PetscCall(PlanCompare(p, msets[m], sfx, mview, nets, nnets, runs, nruns));
    }
  }
  if (p->report) {
    PetscCall(AddStage(p, "report", "report/report.md", &st, "report%s%s", "", "")); /* always runs: it reads every output */
    PetscCall(PetscSNPrintf(st->out2, sizeof(st->out2), "%s/report", p->dir));
    PetscCall(InvStrAppendf(&st->opts, "%s/report/report.py %s", p->share, p->dir));
  }
  PetscFunctionReturn(0);
}
