/* Interrupt and resume of invmap map. Every -map_checkpoint_seconds, and on SIGTERM/SIGUSR1/SIGINT, the scheduler (map_minimize.c) hands
   out no new sample, the starts in flight and the other starts of their samples finish, their covariances are computed, and
   InvMAPSaveCheckpoint writes every finished sample plus a /done mask (N, int8) and a resume_signature to <output>.partial (through
   <output>.partial.partial and a rename, so a checkpoint is never half written). -resume checks the signature, restores the finished rows
   (any rank count) and computes the rest; samples are independent and deterministic, so the final file equals an uninterrupted run (except
   /wall_time and solve_seconds). */
#include "mapimpl.h"
#include <invmap/h5io.h>
#include <stdint.h>
#include <signal.h>

/* Everything that determines the results of a sample */
static PetscErrorCode InvMAPResumeSignature(InvMAP map, char sig[], size_t len)
{
  char buf[512], *all, *tok, *save = NULL;
  const InvPrior pr = map->prior;

  PetscFunctionBegin;
  PetscCall(InvMAPSetUpSolvers(map));
  PetscCall(InvBatchTSDescribe(map->mts[0], buf, sizeof(buf)));
  { /* drop the batch size from the integrator's description: results do not depend on it */
    char *b, *e;
    PetscCall(PetscStrstr(buf, " batch=", &b));
    if (b) {
      e = b + 7;
      while (*e && *e != ' ') e++;
      memmove(b, e, strlen(e) + 1);
    }
  }
  PetscCall(PetscSNPrintf(sig, len,
                          "model=%s input=%s N=%" PetscInt64_FMT " nt=%" PetscInt_FMT
                          " series=%s noise=%s%.17g,%.17g,%s init=%s starts=%" PetscInt_FMT " screen=%" PetscInt_FMT
                          " mean=%d seed=%" PetscInt64_FMT " hessian=%s fd_h=%.17g same_tol=%.17g ts=%s",
                          map->model_type, map->input, map->N, map->nt, map->use_clean ? "u" : "d",
                          map->nspec.fixed_rho ? "fixed:" : "file", (double)map->nspec.rho, (double)map->nspec.sigma,
                          InvNoiseScales[map->nspec.scale], map->init_file[0] ? map->init_file : "-", map->nstarts, map->nscreen,
                          (int)map->start_mean, map->seed, InvMAPHessianTypes[map->htype], (double)map->fd_h, (double)map->same_tol, buf));
  for (PetscInt c = 0; c < map->model->nconst; c++) {
    PetscCall(PetscSNPrintf(buf, sizeof(buf), " %s=%.17g", map->model->const_names[c], (double)map->model->consts[c]));
    PetscCall(PetscStrlcat(sig, buf, len));
  }
  for (PetscInt j = 0; j < pr->n; j++) {
    PetscCall(PetscSNPrintf(buf, sizeof(buf), " p%" PetscInt_FMT "=%.17g,%.17g,%.17g,%.17g", j, (double)pr->mean[j], (double)pr->sd[j],
                            (double)pr->lo[j], (double)pr->hi[j]));
    PetscCall(PetscStrlcat(sig, buf, len));
  }
  /* solver options given under the map_ prefix (TAO, TS, SNES) change the results too */
  PetscCall(PetscOptionsGetAll(NULL, &all));
  for (tok = strtok_r(all, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
    PetscBool keep;
    PetscCall(PetscStrbeginswith(tok, "-map_", &keep));
    if (keep) {
      PetscBool skip1, skip2, skip3, skip4; /* options that do not change results */
      PetscCall(PetscStrbeginswith(tok, "-map_progress", &skip1));
      PetscCall(PetscStrbeginswith(tok, "-map_interrupt_after", &skip2));
      PetscCall(PetscStrbeginswith(tok, "-map_soa_tmpdir", &skip3));
      PetscCall(PetscStrbeginswith(tok, "-map_checkpoint_seconds", &skip4));
      keep = (skip1 || skip2 || skip3 || skip4) ? PETSC_FALSE : PETSC_TRUE;
      PetscCall(PetscStrbeginswith(tok, "-map_batch", &skip1)); /* results do not depend on the batching */
      if (skip1) keep = PETSC_FALSE;
    }
    if (keep) { /* the option and its value (the next token unless it is an option) */
      const char *next = save && *save && *save != '-' ? save : NULL;
      PetscCall(PetscStrlcat(sig, " ", len));
      PetscCall(PetscStrlcat(sig, tok, len));
      if (next) {
        tok = strtok_r(NULL, " ", &save);
        PetscCall(PetscStrlcat(sig, "=", len));
        PetscCall(PetscStrlcat(sig, tok, len));
      }
    }
  }
  PetscCall(PetscFree(all));
  PetscFunctionReturn(0);
}

/* Before any work: the output must not exist (unless -overwrite), an interrupted run needs -resume or -overwrite */
PetscErrorCode InvMAPCheckOutput(InvMAP map)
{
  char partial[PETSC_MAX_PATH_LEN];
  PetscBool exists, pexists;

  PetscFunctionBegin;
  PetscCall(InvPartialName(map->output, partial, sizeof(partial)));
  PetscCall(InvFileExists(map->output, &exists));
  PetscCall(InvFileExists(partial, &pexists));
  if (map->resume) {
    if (exists && !pexists)
      map->complete_already = PETSC_TRUE;
    else
      PetscCheck(pexists, map->comm, PETSC_ERR_FILE_OPEN, "-resume: there is no interrupted run to resume (%s not found)", partial);
  } else {
    PetscCheck(!exists || map->overwrite, map->comm, PETSC_ERR_FILE_WRITE,
               "Output file %s exists; pass -overwrite to replace it (or -resume to finish an interrupted run)", map->output);
    PetscCheck(!pexists || map->overwrite, map->comm, PETSC_ERR_FILE_WRITE,
               "%s holds an interrupted run; pass -resume to finish it or -overwrite to start again", partial);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode InvMAPReadIntRows(hid_t file, const char name[], PetscInt64 i0, PetscInt n, PetscInt v[])
{
  int32_t *buf;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(PetscMax(n, 1), &buf));
  PetscCall(InvH5ReadRows(file, name, H5T_NATIVE_INT32, (hsize_t)i0, (hsize_t)n, buf));
  for (PetscInt i = 0; i < n; i++) v[i] = buf[i];
  PetscCall(PetscFree(buf));
  PetscFunctionReturn(0);
}

/* -resume: check the signature and restore the finished samples of this rank */
PetscErrorCode InvMAPReadCheckpoint(InvMAP map)
{
  char partial[PETSC_MAX_PATH_LEN], *sig, *stored;
  hid_t file, root;
  int8_t *done;
  PetscInt *st;
  PetscInt64 nd = 0, N;
  hsize_t dims[3];
  PetscInt rank;
  PetscBool same;
  const size_t len = 16384;

  PetscFunctionBegin;
  PetscCall(InvMAPAllocResults(map));
  PetscCall(PetscMalloc1(len, &sig));
  PetscCall(InvMAPResumeSignature(map, sig, len));
  PetscCall(InvPartialName(map->output, partial, sizeof(partial)));
  PetscCall(InvH5Open(map->comm, partial, PETSC_FALSE, &file));
  PetscCallHDF5Return(root, H5Gopen2(file, "/", H5P_DEFAULT));
  PetscCall(InvH5ReadAttrString(root, "resume_signature", &stored));
  PetscCallHDF5(H5Gclose(root));
  PetscCall(PetscStrcmp(stored, sig, &same));
  if (!same) {
    PetscCall(InvH5Close(&file));
    SETERRQ(
        map->comm, PETSC_ERR_ARG_INCOMP,
        "-resume: the settings differ from those of the interrupted run in %s.\n  stored: %s\n  now:    %s\nRerun with the same options, "
        "or use -overwrite to start again",
        partial, stored, sig);
  }
  PetscCall(PetscFree(stored));
  PetscCall(PetscFree(sig));
  PetscCall(InvH5GetDims(file, "/done", &rank, dims));
  N = (PetscInt64)dims[0];
  PetscCheck(rank == 1 && N == map->N, map->comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s: /done has %" PetscInt64_FMT " rows, expected %" PetscInt64_FMT, partial, N, map->N);
  PetscCall(PetscMalloc2(PetscMax(map->n, 1), &done, PetscMax(map->n, 1), &st));
  PetscCall(InvH5ReadRows(file, "/done", H5T_NATIVE_INT8, (hsize_t)map->first, (hsize_t)map->n, done));
  PetscCall(InvH5ReadRows(file, "/theta_map", H5T_NATIVE_DOUBLE, (hsize_t)map->first, (hsize_t)map->n, map->theta_map));
  PetscCall(InvH5ReadRows(file, "/cov", H5T_NATIVE_DOUBLE, (hsize_t)map->first, (hsize_t)map->n, map->cov));
  PetscCall(InvH5ReadRows(file, "/objective", H5T_NATIVE_DOUBLE, (hsize_t)map->first, (hsize_t)map->n, map->obj));
  PetscCall(InvH5ReadRows(file, "/gradient_norm", H5T_NATIVE_DOUBLE, (hsize_t)map->first, (hsize_t)map->n, map->gnorm));
  PetscCall(InvH5ReadRows(file, "/wall_time", H5T_NATIVE_DOUBLE, (hsize_t)map->first, (hsize_t)map->n, map->wall));
  PetscCall(InvMAPReadIntRows(file, "/iterations", map->first, map->n, map->its));
  PetscCall(InvMAPReadIntRows(file, "/function_evaluations", map->first, map->n, map->nfev));
  PetscCall(InvMAPReadIntRows(file, "/converged_reason", map->first, map->n, map->reason));
  PetscCall(InvMAPReadIntRows(file, "/n_starts_at_best", map->first, map->n, map->nbest));
  PetscCall(InvMAPReadIntRows(file, "/n_starts_ok", map->first, map->n, map->nstart_ok));
  PetscCall(InvMAPReadIntRows(file, "/status", map->first, map->n, st));
  PetscCall(InvH5Close(&file));
  for (PetscInt i = 0; i < map->n; i++)
    if (done[i]) {
      map->done[i] = PETSC_TRUE;
      map->status[i] = st[i];
      nd++;
    }
  PetscCall(PetscFree2(done, st));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &nd, 1, MPIU_INT64, MPI_SUM, map->comm));
  if (!map->quiet)
    PetscCall(
        PetscPrintf(map->comm, "map: resuming %s: %" PetscInt64_FMT " of %" PetscInt64_FMT " samples already done\n", partial, nd, map->N));
  PetscFunctionReturn(0);
}

/* Collective: every finished sample, the /done mask and the signature to <output>.partial. Written to
   <output>.partial.partial, fsynced and renamed, so <output>.partial is always a complete checkpoint, also
   when the process is killed while writing (a leftover .partial.partial is simply overwritten next time). */
PetscErrorCode InvMAPSaveCheckpoint(InvMAP map)
{
  char partial[PETSC_MAX_PATH_LEN], tmp[PETSC_MAX_PATH_LEN], *sig;
  hid_t file, root;
  int8_t *done;
  hsize_t dims[1] = {(hsize_t)map->N};
  const size_t len = 16384;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(len, &sig));
  PetscCall(InvMAPResumeSignature(map, sig, len));
  PetscCall(InvPartialName(map->output, partial, sizeof(partial)));
  PetscCall(InvPartialName(partial, tmp, sizeof(tmp)));
  PetscCall(InvH5Create(map->comm, tmp, &file));
  PetscCall(InvMAPWriteContents(map, file));
  PetscCall(PetscMalloc1(PetscMax(map->n, 1), &done));
  for (PetscInt i = 0; i < map->n; i++) done[i] = map->done[i] ? 1 : 0;
  PetscCall(InvH5CreateDataset(file, "/done", H5T_NATIVE_INT8, 1, dims));
  PetscCall(InvH5WriteRows(file, "/done", H5T_NATIVE_INT8, (hsize_t)map->first, (hsize_t)map->n, done));
  PetscCall(PetscFree(done));
  PetscCallHDF5Return(root, H5Gopen2(file, "/", H5P_DEFAULT));
  PetscCall(InvH5WriteAttrString(root, "resume_signature", sig));
  PetscCallHDF5(H5Gclose(root));
  PetscCall(PetscFree(sig));
  PetscCall(InvH5Close(&file));
  PetscCall(InvFileCommit(map->comm, partial)); /* <output>.partial.partial -> <output>.partial */
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPWriteCheckpoint(InvMAP map)
{
  PetscFunctionBegin;
  PetscCheck(map->solved, map->comm, PETSC_ERR_ORDER, "Call InvMAPSolve() first");
  PetscCall(InvMAPSaveCheckpoint(map));
  PetscFunctionReturn(0);
}

/* Called by the scheduler each time this rank finishes a sample: progress lines and the test interrupt */
PetscErrorCode InvMAPProblemFinished(InvMAP map)
{
  PetscLogDouble now;

  PetscFunctionBegin;
  map->nfinished++;
  if (map->interrupt_after && map->nfinished == map->interrupt_after) PetscCall(InvInterruptRaise(SIGUSR1));
  if (map->quiet || map->progress < 0 || map->rank) PetscFunctionReturn(0);
  PetscCall(PetscTime(&now));
  if (now - map->tprint >= map->progress) {
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "map: rank 0: %" PetscInt64_FMT "/%" PetscInt_FMT " samples (%.0f%%), elapsed %.1f s\n",
                          map->nfinished, map->ntodo, 100.0 * map->nfinished / PetscMax(map->ntodo, 1), now - map->t0));
    map->tprint = now;
  }
  PetscFunctionReturn(0);
}
