/* InvPipeline: creation, options (the experiment), set-up (plan + manifest), view and destruction.
   The experiment is the user's options over the default experiment share/experiments/default.opts,
   which is merged only when the user's options do not name an experiment (-pipeline_name). */
#include "pipelineimpl.h"
#include <petscviewer.h>
#include <invmap/version.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

PetscErrorCode InvPipelineCreate(MPI_Comm comm, InvPipeline *pipe)
{
  InvPipeline p;

  PetscFunctionBegin;
  PetscCall(PetscNew(&p));
  p->comm = comm;
  p->map_n = 32;
  p->report = PETSC_TRUE;
  p->figures = PETSC_TRUE;
  p->landscape_row = 0;
  PetscCall(PetscStrncpy(p->python, "/usr/bin/python3", sizeof(p->python)));
  *pipe = p;
  PetscFunctionReturn(0);
}

PetscErrorCode InvPipelineSetCommandRunner(InvPipeline p, InvPipelineCommandFn fn)
{
  PetscFunctionBegin;
  p->runcmd = fn;
  PetscFunctionReturn(0);
}

/* Builds the experiment database: the default experiment (unless the user names one), then the user's options. */
static PetscErrorCode InvPipelineExperimentDatabase(InvPipeline p, PetscOptions *db)
{
  InvOptionList user;
  PetscBool named, exists;

  PetscFunctionBegin;
  PetscCall(PetscOptionsCreate(db));
  PetscCall(PetscOptionsHasName(NULL, NULL, "-pipeline_name", &named));
  if (!named) {
    PetscCall(PetscSNPrintf(p->defaults_file, sizeof(p->defaults_file), "%s/experiments/default.opts", p->share));
    PetscCall(InvFileExists(p->defaults_file, &exists));
    PetscCheck(exists, p->comm, PETSC_ERR_FILE_OPEN,
               "The default experiment %s is missing: give an experiment with -options_file share/experiments/<name>.opts, or set "
               "-pipeline_share (or the environment variable INVMAP_SHARE) to invmap's share directory",
               p->defaults_file);
    PetscCall(PetscOptionsInsertFile(p->comm, *db, p->defaults_file, PETSC_TRUE));
  }
  PetscCall(InvOptionListFromDatabase(NULL, &user));
  for (PetscInt i = 0; i < user.n; i++)
    if (user.name[i]) PetscCall(PetscOptionsSetValue(*db, user.name[i], user.value[i]));
  PetscCall(InvOptionListDestroy(&user));
  PetscFunctionReturn(0);
}

typedef struct {
  InvPipeline p;
  char *dir;
} PipelineOptionsCtx;

/* The experiment's own options (-pipeline_*), from the default database. */
static PetscErrorCode PipelineOptions(void *ctx)
{
  PipelineOptionsCtx *po = (PipelineOptionsCtx *)ctx;
  InvPipeline p = po->p;

  PetscFunctionBegin;
  PetscOptionsBegin(p->comm, NULL, "invmap pipeline: the experiment (stage options go under prefixes, see README.md and docs/design.md)",
                    "");
  PetscCall(PetscOptionsString(
      "-pipeline_name",
      "Experiment name (set by each file in share/experiments; without it the default experiment is merged under your options)", "",
      p->name, p->name, sizeof(p->name), NULL));
  PetscCall(PetscOptionsString("-pipeline_dir", "Output directory (default out/<name>)", "", po->dir, po->dir, PETSC_MAX_PATH_LEN, NULL));
  PetscCall(PetscOptionsString("-pipeline_share", "invmap's share directory (report scripts, default experiment)", "", p->share, p->share,
                               sizeof(p->share), NULL));
  PetscCall(PetscOptionsString("-pipeline_sets",
                               "Data sets to simulate, each with options -sim_* (all) and -set_<name>_* (invmap simulate options)", "",
                               p->sets, p->sets, sizeof(p->sets), NULL));
  PetscCall(PetscOptionsString("-pipeline_train_set", "Data set the networks train on (default: the first)", "", p->trainset, p->trainset,
                               sizeof(p->trainset), NULL));
  PetscCall(PetscOptionsString("-pipeline_test_set", "Data set the estimates are evaluated on (default: the second, else the first)", "",
                               p->testset, p->testset, sizeof(p->testset), NULL));
  PetscCall(PetscOptionsString("-pipeline_nets",
                               "Networks to train, each with options -nets_* (all) and -net_<name>_* (invmap train options); empty: none",
                               "", p->nets, p->nets, sizeof(p->nets), NULL));
  PetscCall(PetscOptionsString("-pipeline_views",
                               "Observations of the test set: noisy (/d) and/or clean (/u); every network predicts each, one evaluation "
                               "per view (options -pred_*, -evals_*)",
                               "", p->views, p->views, sizeof(p->views), NULL));
  PetscCall(
      PetscOptionsInt("-pipeline_map_n", "MAP estimates for the first n test samples (0: no MAP stages)", "", p->map_n, &p->map_n, NULL));
  PetscCall(PetscOptionsString("-pipeline_map_sets",
                               "Data sets of the MAP runs and their comparison with the networks (default: the test set); on another set "
                               "<set> the stages and files are named with the suffix .<set> (map_mean.train.h5, compare.train.csv)",
                               "", p->mapsets, p->mapsets, sizeof(p->mapsets), NULL));
  PetscCall(PetscOptionsString("-pipeline_map_view", "View the MAP fits (default: the first view)", "", p->mapview, p->mapview,
                               sizeof(p->mapview), NULL));
  PetscCall(PetscOptionsString("-pipeline_map_runs",
                               "MAP runs: mean (from the prior mean), multistart, from_<net> (started from the network's prediction); "
                               "options -maps_* (all) and -maprun_<run>_*",
                               "", p->mapruns, p->mapruns, sizeof(p->mapruns), NULL));
  PetscCall(
      PetscOptionsString("-pipeline_laplace_clean",
                         "Networks trained on Laplace targets of the clean training series (a stage laplace_train_clean runs MAP with "
                         "a covariance over the whole training set, options -laplace_*, and attaches the targets to a copy of it)",
                         "", p->laplace[0], p->laplace[0], sizeof(p->laplace[0]), NULL));
  PetscCall(PetscOptionsString("-pipeline_laplace_noisy", "The same for the noisy training series", "", p->laplace[1], p->laplace[1],
                               sizeof(p->laplace[1]), NULL));
  PetscCall(PetscOptionsInt("-pipeline_landscape_row", "Test sample whose MAP objective landscape the report plots (-1: none)", "",
                            p->landscape_row, &p->landscape_row, NULL));
  PetscCall(PetscOptionsBool("-pipeline_report", "Write the report (report.md and figures) with -pipeline_python", "", p->report,
                             &p->report, NULL));
  PetscCall(PetscOptionsBool("-pipeline_figures", "Include figures in the report", "", p->figures, &p->figures, NULL));
  PetscCall(PetscOptionsString("-pipeline_python", "Python with matplotlib and h5py for the report", "", p->python, p->python,
                               sizeof(p->python), NULL));
  PetscCall(
      PetscOptionsBool("-pipeline_dry_run", "Print the plan (one invmap command per stage) and stop", "", p->dry_run, &p->dry_run, NULL));
  PetscOptionsEnd();
  PetscFunctionReturn(0);
}

/* Refuses a -pipeline_* option of the experiment that the pipeline does not read. */
static PetscErrorCode CheckPipelineOptions(InvPipeline p, PetscOptions db, PipelineOptionsCtx *po)
{
  PetscInt n;
  char **names, **values, unknown[256] = "", suggest[1024] = "";

  PetscFunctionBegin;
  PetscCall(PetscOptionsLeftGet(db, &n, &names, &values));
  for (PetscInt i = 0; i < n && !unknown[0]; i++)
    if (!strncasecmp(names[i], "pipeline_", strlen("pipeline_"))) PetscCall(PetscSNPrintf(unknown, sizeof(unknown), "-%s", names[i]));
  PetscCall(PetscOptionsLeftRestore(db, &n, &names, &values));
  if (!unknown[0]) PetscFunctionReturn(0);
  {
    InvOptionNames known;
    PetscCall(InvOptionsKnown(db, PipelineOptions, po, &known));
    PetscCall(InvOptionsSuggest(&known, unknown, suggest, sizeof(suggest)));
    PetscCall(InvOptionNamesDestroy(&known));
  }
  SETERRQ(p->comm, PETSC_ERR_ARG_WRONG, "Unknown option %s for invmap pipeline%s%s%s (the experiment options are listed by -help)", unknown,
          suggest[0] ? ": did you mean " : "", suggest, suggest[0] ? "?" : "");
}

/* invmap's share directory: <prefix>/share/invmap beside an installed executable (<prefix>/bin/invmap), otherwise
   the source tree's share/ of the build */
static PetscErrorCode InvPipelineDefaultShare(char share[], size_t len)
{
  char exe[PETSC_MAX_PATH_LEN], installed[PETSC_MAX_PATH_LEN];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  PetscBool isdir = PETSC_FALSE;
  char *slash;

  PetscFunctionBegin;
  PetscCall(PetscStrncpy(share, INVMAP_SHARE_DIR, len));
  if (n <= 0) PetscFunctionReturn(0);
  exe[n] = 0;
  if (!(slash = strrchr(exe, '/'))) PetscFunctionReturn(0);
  *slash = 0; /* the executable's directory */
  PetscCall(PetscSNPrintf(installed, sizeof(installed), "%s/%s", exe, INVMAP_INSTALLED_SHARE_FROM_BIN));
  PetscCall(PetscTestDirectory(installed, 'r', &isdir));
  if (isdir) PetscCall(PetscStrncpy(share, installed, len));
  PetscFunctionReturn(0);
}

PetscErrorCode InvPipelineSetFromOptions(InvPipeline p)
{
  PetscOptions db;
  const char *env = getenv("INVMAP_SHARE");
  char dir[PETSC_MAX_PATH_LEN] = "";
  PipelineOptionsCtx po = {p, dir};

  PetscFunctionBegin;
  if (env && env[0])
    PetscCall(PetscStrncpy(p->share, env, sizeof(p->share)));
  else
    PetscCall(InvPipelineDefaultShare(p->share, sizeof(p->share)));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-invmap_allow_unused", &p->allow_unused, NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-invmap_test_wait_signal_stage", p->test_wait_stage, sizeof(p->test_wait_stage), NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-pipeline_share", p->share, sizeof(p->share), NULL));
  PetscCall(InvPipelineExperimentDatabase(p, &db));
  PetscCall(PetscOptionsPush(db));
  PetscCall(PetscStrncpy(p->name, "default", sizeof(p->name)));
  PetscCall(PetscStrncpy(p->sets, "train,test", sizeof(p->sets)));
  PetscCall(PetscStrncpy(p->nets, "cnn", sizeof(p->nets)));
  PetscCall(PetscStrncpy(p->views, "noisy", sizeof(p->views)));
  PetscCall(PetscStrncpy(p->mapruns, "multistart", sizeof(p->mapruns)));
  PetscCall(PipelineOptions(&po));
  PetscCall(CheckPipelineOptions(p, db, &po));
  PetscCall(PetscOptionsPop());
  PetscCall(InvOptionListFromDatabase(db, &p->exp));
  PetscCall(PetscOptionsDestroy(&db));
  if (dir[0])
    PetscCall(PetscStrncpy(p->dir, dir, sizeof(p->dir)));
  else
    PetscCall(PetscSNPrintf(p->dir, sizeof(p->dir), "out/%s", p->name));
  PetscCheck(!strchr(p->dir, ' ') && !strchr(p->share, ' '), p->comm, PETSC_ERR_ARG_WRONG,
             "-pipeline_dir and -pipeline_share must not contain spaces (stage options are space-separated): '%s'", p->dir);
  PetscCheck(p->map_n >= 0, p->comm, PETSC_ERR_ARG_OUTOFRANGE, "-pipeline_map_n must be >= 0, got %" PetscInt_FMT, p->map_n);
  PetscCheck(p->landscape_row >= -1, p->comm, PETSC_ERR_ARG_OUTOFRANGE, "-pipeline_landscape_row must be >= -1");
  PetscFunctionReturn(0);
}

PetscErrorCode InvPipelineSetCommandOptions(InvPipeline p, InvPipelineOptionsFn fn)
{
  PetscFunctionBegin;
  p->knownfn = fn;
  PetscFunctionReturn(0);
}

PetscErrorCode InvPipelineSetUp(InvPipeline p)
{
  PetscFunctionBegin;
  if (p->setup) PetscFunctionReturn(0);
  PetscCall(InvPipelineBuildPlan(p));
  PetscCall(InvPipelineManifestRead(p));
  PetscCall(InvPipelineCheckPlan(p));
  p->setup = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* The plan as the equivalent sequence of invmap commands. */
PetscErrorCode InvPipelineView(InvPipeline p, PetscViewer viewer)
{
  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, "invmap pipeline '%s' -> %s (%" PetscInt_FMT " stages%s%s)\n", p->name, p->dir, p->nstages,
                                   p->defaults_file[0] ? "; default experiment " : "", p->defaults_file));
  for (PetscInt s = 0; s < p->nstages; s++) {
    InvPipelineStage *st = &p->stage[s];
    if (!strcmp(st->cmd, "report"))
      PetscCall(PetscViewerASCIIPrintf(viewer, "  %-28s %s %s/report/report.py %s\n", st->name, p->python, p->share, p->dir));
    else
      PetscCall(PetscViewerASCIIPrintf(viewer, "  %-28s invmap %s %s\n", st->name, st->cmd, st->opts));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvPipelineDestroy(InvPipeline *pipe)
{
  InvPipeline p = *pipe;

  PetscFunctionBegin;
  if (!p) PetscFunctionReturn(0);
  for (PetscInt s = 0; s < p->nstages; s++) PetscCall(PetscFree(p->stage[s].opts));
  for (PetscInt r = 0; r < p->nrec; r++) PetscCall(PetscFree(p->rec[r].opts));
  PetscCall(PetscFree(p->rec));
  PetscCall(InvOptionListDestroy(&p->exp));
  PetscCall(PetscFree(p));
  *pipe = NULL;
  PetscFunctionReturn(0);
}
