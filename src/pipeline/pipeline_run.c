/* Running the plan. Each stage runs the invmap command in this process with a fresh options database
   holding only the stage's options, so stages cannot see each other's options. Skip rule: the output
   exists, the manifest records the stage done with the same options, and no input was remade in this
   run. An interrupted stage (status 75) ends the run; the next run resumes it (-resume, for the
   commands that read it; evaluate and predict run again) when its options are unchanged. */
#include "pipelineimpl.h"
#include <petscviewer.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static PetscErrorCode MakeDirs(MPI_Comm comm, const char dir[])
{
  char path[PETSC_MAX_PATH_LEN];
  PetscMPIInt rank;
  int err = 0;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    PetscCall(PetscStrncpy(path, dir, sizeof(path)));
    for (char *c = path + 1;; c++) {
      if (*c == '/' || !*c) {
        char keep = *c;
        *c = 0;
        if (mkdir(path, 0775) != 0 && errno != EEXIST) err = errno;
        *c = keep;
        if (!keep || err) break;
      }
    }
  }
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  PetscCheck(!err, comm, PETSC_ERR_FILE_WRITE, "Cannot create the pipeline directory %s: %s", dir, strerror(err));
  PetscFunctionReturn(0);
}

InvPipelineRecord *InvPipelineFindRecord(InvPipeline p, const char name[])
{
  for (PetscInt r = 0; r < p->nrec; r++)
    if (!strcmp(p->rec[r].name, name)) return &p->rec[r];
  return NULL;
}

PetscErrorCode InvPipelineStageDatabase(const InvPipelineStage *st, const char extra[], PetscOptions *db)
{
  PetscFunctionBegin;
  PetscCall(PetscOptionsCreate(db));
  PetscCall(PetscOptionsInsertString(*db, st->opts));
  if (extra && extra[0]) PetscCall(PetscOptionsInsertString(*db, extra));
  PetscFunctionReturn(0);
}

/* Runs one command stage with its own options database; *cmdstatus is the command's exit status. */
static PetscErrorCode RunCommandStage(InvPipeline p, InvPipelineStage *st, const char extra[], int *cmdstatus)
{
  PetscOptions db;
  PetscLogStage logstage;
  double t0;

  PetscFunctionBegin;
  PetscCall(InvPipelineStageDatabase(st, extra, &db));
  if (p->allow_unused) PetscCall(PetscOptionsSetValue(db, "-invmap_allow_unused", NULL));
  PetscCall(PetscLogStageRegister(st->name, &logstage));
  PetscCall(PetscOptionsPush(db));
  PetscCall(PetscLogStagePush(logstage));
  t0 = MPI_Wtime();
  PetscCall(p->runcmd(st->cmd, cmdstatus));
  st->seconds = MPI_Wtime() - t0;
  PetscCall(PetscLogStagePop());
  PetscCall(PetscOptionsPop());
  PetscCall(PetscOptionsDestroy(&db));
  PetscFunctionReturn(0);
}

/* Whether the stage's command reads -resume (simulate, train, map); the others (evaluate, predict) simply run again. */
static PetscErrorCode StageResumable(InvPipeline p, const InvPipelineStage *st, PetscBool *resumable)
{
  PetscOptions db;
  InvOptionNames known;

  PetscFunctionBegin;
  *resumable = PETSC_FALSE;
  if (!p->knownfn) PetscFunctionReturn(0);
  PetscCall(InvPipelineStageDatabase(st, "", &db));
  PetscCall(p->knownfn(st->cmd, db, &known));
  PetscCall(PetscOptionsDestroy(&db));
  *resumable = InvOptionNamesHas(&known, "-resume");
  PetscCall(InvOptionNamesDestroy(&known));
  PetscFunctionReturn(0);
}

static PetscErrorCode PrintSummary(InvPipeline p)
{
  double total = 0;

  PetscFunctionBegin;
  PetscCall(PetscPrintf(p->comm, "\n%-28s %-12s %10s  %s\n", "stage", "status", "seconds", "output"));
  for (PetscInt s = 0; s < p->nstages; s++) {
    InvPipelineStage *st = &p->stage[s];
    PetscCall(PetscPrintf(p->comm, "%-28s %-12s %10.1f  %s\n", st->name, st->status, st->seconds, st->out));
    if (!strcmp(st->status, "done")) total += st->seconds;
  }
  PetscCall(
      PetscPrintf(p->comm, "%-28s %-12s %10.1f  (this run; 'reused' stages show the time they took when made)\n", "total", "", total));
  PetscFunctionReturn(0);
}

PetscErrorCode InvPipelineRun(InvPipeline p, int *status)
{
  PetscFunctionBegin;
  *status = 0;
  PetscCheck(p->runcmd, p->comm, PETSC_ERR_ORDER, "InvPipelineSetCommandRunner() was not called");
  PetscCall(InvPipelineSetUp(p));
  if (p->dry_run) {
    PetscCall(InvPipelineView(p, PETSC_VIEWER_STDOUT_(p->comm)));
    PetscFunctionReturn(0);
  }
  PetscCall(MakeDirs(p->comm, p->dir));
  PetscCall(InvInterruptInstall());
  PetscCall(InvPipelineDescribeRun(p));
  PetscCall(InvPipelineView(p, PETSC_VIEWER_STDOUT_(p->comm)));
  for (PetscInt s = 0; s < p->nstages; s++) {
    InvPipelineStage *st = &p->stage[s];
    InvPipelineRecord *rec = InvPipelineFindRecord(p, st->name);
    PetscBool exists, depran = PETSC_FALSE, same, pending;
    char extra[64] = "", aux[PETSC_MAX_PATH_LEN + 16];
    int cmdstatus = 0;

    PetscCall(InvInterruptPending(p->comm, &pending));
    if (pending) {
      PetscCall(PetscPrintf(p->comm, "pipeline: interrupted by signal %d before stage %s; rerun the same command to continue\n",
                            InvInterruptSignal(), st->name));
      PetscCall(InvPipelineManifestWrite(p));
      *status = 75;
      PetscFunctionReturn(0);
    }
    if (!strcmp(p->test_wait_stage, st->name)) PetscCall(InvInterruptTestArm());
    if (!strcmp(st->cmd, "report")) {
      PetscBool interrupted;
      PetscCall(InvPipelineRunReport(p, st, &interrupted));
      PetscCall(InvPipelineManifestWrite(p));
      if (interrupted) {
        PetscCall(PetscPrintf(p->comm, "pipeline: the report was interrupted by signal %d; rerun the same command to write it\n",
                              InvInterruptSignal()));
        *status = 75;
        PetscFunctionReturn(0);
      }
      continue;
    }
    for (PetscInt d = 0; d < st->ndeps; d++) depran = (PetscBool)(depran || p->stage[st->deps[d]].ran);
    PetscCall(InvFileExists(st->out, &exists));
    same = (PetscBool)(rec && !strcmp(rec->opts, st->opts));
    if (exists && !depran && same && (!strcmp(rec->status, "done") || !strcmp(rec->status, "reused"))) {
      PetscCall(PetscStrncpy(st->status, "reused", sizeof(st->status)));
      st->seconds = rec->seconds;
      PetscCall(PetscPrintf(p->comm, "== %s: %s is complete (same options), reused\n", st->name, st->out));
      continue;
    }
    PetscCheck(
        !exists || rec, p->comm, PETSC_ERR_FILE_UNEXPECTED,
        "%s exists but this pipeline's manifest (%s/pipeline.tsv) has no record of making it; move it away or choose another -pipeline_dir "
        "(the pipeline does not replace files it did not make)",
        st->out, p->dir);
    if (!exists && st->out2[0]) PetscCall(InvFileExists(st->out2, &exists)); /* e.g. the CSV of an evaluation whose HDF5 was removed */
    if (exists) PetscCall(PetscStrncpy(extra, "-overwrite", sizeof(extra)));
    /* resume what the last run checkpointed: interrupted (exit 75), or still "running" when that process was killed (SIGKILL, node
       failure), leaving the stage's last periodic checkpoint */
    if (rec && same && !depran && (!strcmp(rec->status, "interrupted") || !strcmp(rec->status, "running"))) {
      PetscBool partial = PETSC_FALSE, ckpt = PETSC_FALSE, resumable = PETSC_FALSE;
      PetscCall(PetscSNPrintf(aux, sizeof(aux), "%s.partial", st->out));
      PetscCall(InvFileExists(aux, &partial));
      PetscCall(PetscSNPrintf(aux, sizeof(aux), "%s.ckpt", st->out));
      PetscCall(InvFileExists(aux, &ckpt));
      if (!partial && st->out2[0]) { /* a map stage whose checkpoint is its MAP file's (laplace_train_<view>: out is the targets) */
        PetscCall(PetscSNPrintf(aux, sizeof(aux), "%s.partial", st->out2));
        PetscCall(InvFileExists(aux, &partial));
      }
      if (partial || ckpt) PetscCall(StageResumable(p, st, &resumable));
      if (resumable) PetscCall(PetscStrlcat(extra, " -resume", sizeof(extra)));
    }
    PetscCall(PetscPrintf(p->comm, "\n== %s: invmap %s %s%s%s\n", st->name, st->cmd, st->opts, extra[0] ? " " : "", extra));
    PetscCall(PetscStrncpy(st->status, "running", sizeof(st->status)));
    PetscCall(InvPipelineManifestWrite(p));
    PetscCall(RunCommandStage(p, st, extra, &cmdstatus));
    st->ran = PETSC_TRUE;
    if (cmdstatus == 75) {
      PetscCall(PetscStrncpy(st->status, "interrupted", sizeof(st->status)));
      PetscCall(InvPipelineManifestWrite(p));
      PetscCall(PetscPrintf(p->comm,
                            "pipeline: stage %s was interrupted and checkpointed after %.1f s; rerun the same command to resume it\n",
                            st->name, st->seconds));
      *status = 75;
      PetscFunctionReturn(0);
    }
    PetscCheck(cmdstatus == 0, p->comm, PETSC_ERR_LIB, "Stage %s ended with status %d", st->name, cmdstatus);
    PetscCall(PetscStrncpy(st->status, "done", sizeof(st->status)));
    PetscCall(InvPipelineManifestWrite(p));
    PetscCall(PetscPrintf(p->comm, "== %s: done in %.1f s\n", st->name, st->seconds));
  }
  PetscCall(PrintSummary(p));
  { /* a signal during the last stage found no safe point left: the run is complete, and says so */
    PetscBool pending;
    PetscCall(InvInterruptPending(p->comm, &pending));
    if (pending)
      PetscCall(PetscPrintf(p->comm, "pipeline: signal %d arrived during the last stage; every stage is complete, nothing to resume\n",
                            InvInterruptSignal()));
  }
  PetscFunctionReturn(0);
}
