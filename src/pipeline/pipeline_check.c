/* Checks of the plan before any stage runs (also with -pipeline_dry_run): every option the user gives
   selects a stage (or is the pipeline's or PETSc's own), every stage's options are known to its command
   (a typo must not cost the stages before it), and no output the plan writes is a file the pipeline did
   not make (the manifest records what it made). */
#include "pipelineimpl.h"
#include <string.h>
#include <strings.h>

/* The option prefixes that give stages options in this experiment, comma-separated with their dashes. */
static PetscErrorCode StagePrefixes(InvPipeline p, char out[], size_t len)
{
  const char *fixed[] = {"sim_", "nets_", "pred_", "maps_", "evals_", "compare_", "laplace_"};
  const struct {
    const char *list, *fmt;
  } named[] = {{p->sets, "set_%s_"}, {p->nets, "net_%s_"}, {p->mapruns, "maprun_%s_"}};

  PetscFunctionBegin;
  out[0] = 0;
  for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
    if (out[0]) PetscCall(PetscStrlcat(out, ",", len));
    PetscCall(PetscStrlcat(out, fixed[i], len));
  }
  for (size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
    char buf[INV_PIPE_LIST_LEN], *save = NULL, pre[2 * INV_PIPE_NAME_LEN];
    PetscCall(PetscStrncpy(buf, named[k].list, sizeof(buf)));
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
      PetscCall(PetscSNPrintf(pre, sizeof(pre), named[k].fmt, tok));
      PetscCall(PetscStrlcat(out, ",", len));
      PetscCall(PetscStrlcat(out, pre, len));
    }
  }
  PetscFunctionReturn(0);
}

/* Every option of the user's (command line and options files; the default experiment is not checked: its
   options for networks or sets the user did not select are meant to be unused) selects a stage. */
static PetscErrorCode CheckUserPrefixes(InvPipeline p, PetscBool allow)
{
  InvOptionList user;
  char prefixes[INV_PIPE_LIST_LEN], shown[INV_PIPE_LIST_LEN] = "", bad[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  PetscCall(StagePrefixes(p, prefixes, sizeof(prefixes)));
  PetscCall(InvOptionListFromDatabase(NULL, &user));
  for (PetscInt i = 0; i < user.n; i++) {
    const char *nm = user.name[i];
    char buf[INV_PIPE_LIST_LEN], *save = NULL;
    PetscBool ok = PETSC_FALSE;
    if (!nm || InvOptionIsPetscGlobal(nm) || !strncasecmp(nm, "-pipeline_", strlen("-pipeline_"))) continue;
    PetscCall(PetscStrncpy(buf, prefixes, sizeof(buf)));
    for (char *tok = strtok_r(buf, ",", &save); tok && !ok; tok = strtok_r(NULL, ",", &save))
      if (!strncasecmp(nm + 1, tok, strlen(tok))) ok = PETSC_TRUE;
    if (ok) continue;
    if (allow) {
      PetscCall(PetscPrintf(p->comm, "invmap pipeline: warning: option %s selects no stage (-invmap_allow_unused)\n", nm));
      continue;
    }
    {
      char buf2[INV_PIPE_LIST_LEN], *save2 = NULL;
      PetscCall(PetscStrncpy(buf2, prefixes, sizeof(buf2)));
      for (char *tok = strtok_r(buf2, ",", &save2); tok; tok = strtok_r(NULL, ",", &save2)) {
        if (shown[0]) PetscCall(PetscStrlcat(shown, " ", sizeof(shown)));
        PetscCall(PetscStrlcat(shown, "-", sizeof(shown)));
        PetscCall(PetscStrlcat(shown, tok, sizeof(shown)));
      }
    }
    PetscCall(PetscStrncpy(bad, nm, sizeof(bad)));
    PetscCall(InvOptionListDestroy(&user));
    SETERRQ(p->comm, PETSC_ERR_ARG_WRONG,
            "Unknown option %s for invmap pipeline: it is no -pipeline_* option and selects no stage; stage options go under %s (see "
            "-help)",
            bad, shown);
  }
  PetscCall(InvOptionListDestroy(&user));
  PetscFunctionReturn(0);
}

/* The user's spelling of a stage option: -<prefix><name> for the last of the stage's prefixes that the experiment gives it under. */
static PetscErrorCode UserSpelling(InvPipeline p, InvPipelineStage *st, const char name[], char spelled[], size_t len, char prefix[],
                                   size_t plen)
{
  char buf[INV_PIPE_LIST_LEN], *save = NULL, full[PETSC_MAX_PATH_LEN];
  const char *v;

  PetscFunctionBegin;
  PetscCall(PetscStrncpy(spelled, name, len));
  prefix[0] = 0;
  PetscCall(PetscStrncpy(buf, st->prefixes, sizeof(buf)));
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    PetscCall(PetscSNPrintf(full, sizeof(full), "-%s%s", tok, name + 1));
    PetscCall(InvOptionListGet(&p->exp, full, &v));
    if (v) {
      PetscCall(PetscStrncpy(spelled, full, len));
      PetscCall(PetscStrncpy(prefix, tok, plen));
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckStageOptions(InvPipeline p, InvPipelineStage *st, PetscBool allow)
{
  PetscOptions db;
  InvOptionNames known;
  InvOptionList list;

  PetscFunctionBegin;
  PetscCall(InvPipelineStageDatabase(st, "", &db));
  PetscCall(p->knownfn(st->cmd, db, &known));
  PetscCall(InvOptionListFromDatabase(db, &list));
  PetscCall(PetscOptionsDestroy(&db));
  for (PetscInt i = 0; i < list.n; i++) {
    char spelled[PETSC_MAX_PATH_LEN], prefix[2 * INV_PIPE_NAME_LEN], suggest[1024] = "";
    InvOptionNames user = {0, 0, NULL};
    const char *nm = list.name[i];
    if (!nm || InvOptionIsPetscGlobal(nm) || InvOptionNamesHas(&known, nm)) continue;
    PetscCall(UserSpelling(p, st, nm, spelled, sizeof(spelled), prefix, sizeof(prefix)));
    if (allow) {
      PetscCall(
          PetscPrintf(p->comm, "invmap pipeline: warning: option %s is not used by stage %s (-invmap_allow_unused)\n", spelled, st->name));
      continue;
    }
    user.cap = known.n;
    PetscCall(PetscMalloc1(PetscMax(1, user.cap), &user.name));
    for (PetscInt k = 0; k < known.n; k++) {
      size_t l = strlen(prefix) + strlen(known.name[k]) + 1;
      PetscCall(PetscMalloc1(l, &user.name[user.n]));
      PetscCall(PetscSNPrintf(user.name[user.n++], l, "-%s%s", prefix, known.name[k] + 1));
    }
    PetscCall(InvOptionsSuggest(&user, spelled, suggest, sizeof(suggest)));
    PetscCall(InvOptionNamesDestroy(&user));
    PetscCall(InvOptionNamesDestroy(&known));
    PetscCall(InvOptionListDestroy(&list));
    SETERRQ(p->comm, PETSC_ERR_ARG_WRONG, "Unknown option %s for stage %s (invmap %s); nothing was run%s%s%s", spelled, st->name, st->cmd,
            suggest[0] ? ": did you mean " : "", suggest, suggest[0] ? "?" : "");
  }
  PetscCall(InvOptionNamesDestroy(&known));
  PetscCall(InvOptionListDestroy(&list));
  PetscFunctionReturn(0);
}

/* An output of the plan that exists while the manifest has no record of the stage making it. */
static PetscErrorCode CheckForeignOutputs(InvPipeline p)
{
  PetscFunctionBegin;
  for (PetscInt s = 0; s < p->nstages; s++) {
    InvPipelineStage *st = &p->stage[s];
    const char *outs[] = {st->out, st->out2};
    if (InvPipelineFindRecord(p, st->name)) continue;
    for (size_t k = 0; k < sizeof(outs) / sizeof(outs[0]); k++) {
      PetscBool exists = PETSC_FALSE;
      if (!outs[k][0]) continue;
      PetscCall(InvFileExists(outs[k], &exists));
      if (!exists) PetscCall(PetscTestDirectory(outs[k], 'r', &exists));
      PetscCheck(!exists, p->comm, PETSC_ERR_FILE_UNEXPECTED,
                 "%s exists but this pipeline's manifest (%s/pipeline.tsv) has no record of making it (stage %s); nothing was run: move "
                 "it away or choose another -pipeline_dir (the pipeline does not replace files it did not make)",
                 outs[k], p->dir, st->name);
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvPipelineCheckPlan(InvPipeline p)
{
  PetscFunctionBegin;
  PetscCall(CheckUserPrefixes(p, p->allow_unused));
  if (p->knownfn)
    for (PetscInt s = 0; s < p->nstages; s++)
      if (strcmp(p->stage[s].cmd, "report")) PetscCall(CheckStageOptions(p, &p->stage[s], p->allow_unused));
  PetscCall(CheckForeignOutputs(p));
  if (p->test_wait_stage[0]) {
    PetscBool found = PETSC_FALSE;
    for (PetscInt s = 0; s < p->nstages; s++) found = (PetscBool)(found || !strcmp(p->stage[s].name, p->test_wait_stage));
    PetscCheck(found, p->comm, PETSC_ERR_ARG_WRONG,
               "-invmap_test_wait_signal_stage: the plan has no stage '%s' (-pipeline_dry_run lists them)", p->test_wait_stage);
  }
  PetscFunctionReturn(0);
}
