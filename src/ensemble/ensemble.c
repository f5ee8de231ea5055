/* InvEnsemble: chunked, batched, resumable forward ensemble with parallel HDF5 output (ensemble.h). */
#include "ensembleimpl.h"
#include <unistd.h>

PetscErrorCode InvEnsembleCreate(MPI_Comm comm, InvEnsemble *ens)
{
  InvEnsemble e;

  PetscFunctionBegin;
  PetscCall(InvInitializePackage());
  PetscCall(PetscNew(&e));
  e->comm = comm;
  PetscCallMPI(MPI_Comm_rank(comm, &e->rank));
  PetscCallMPI(MPI_Comm_size(comm, &e->size));
  PetscCall(PetscStrncpy(e->model_type, "fhn", sizeof(e->model_type)));
  PetscCall(PetscStrncpy(e->output, "ensemble.h5", sizeof(e->output)));
  e->n = 1000;
  e->seed = 1;
  e->batch = 256;
  e->chunk = 4096;
  e->progress = 5.0;
  *ens = e;
  PetscFunctionReturn(0);
}

PetscErrorCode InvEnsembleGetModel(InvEnsemble e, InvModel *m)
{
  PetscFunctionBegin;
  *m = e->model;
  PetscFunctionReturn(0);
}

PetscErrorCode InvEnsembleSetFromOptions(InvEnsemble e)
{
  PetscInt n = (PetscInt)e->n, seed = (PetscInt)e->seed;
  PetscBool set;

  PetscFunctionBegin;
  PetscOptionsBegin(e->comm, NULL, "Ensemble simulation (invmap simulate)", "InvEnsemble");
  PetscCall(PetscOptionsString("-model", "Model name (see -model_list)", "InvModelCreate", e->model_type, e->model_type,
                               sizeof(e->model_type), NULL));
  PetscCall(PetscOptionsInt("-n", "Number of samples drawn from the prior (ignored with -theta_file)", "", n, &n, &set));
  PetscCall(PetscOptionsInt("-seed", "Random seed (prior and noise draws are keyed by seed and sample index)", "", seed, &seed, NULL));
  PetscCall(PetscOptionsString("-theta_file", "Parameter sets: CSV with a header naming the parameters, or HDF5 with /theta", "",
                               e->theta_file, e->theta_file, sizeof(e->theta_file), NULL));
  PetscCall(PetscOptionsString("-o", "Output HDF5 file", "", e->output, e->output, sizeof(e->output), NULL));
  PetscCall(PetscOptionsInt(
      "-batch", "Members integrated together by one TS (fixed by global sample index, so results do not depend on the rank count)", "",
      e->batch, &e->batch, NULL));
  PetscCall(PetscOptionsEList("-step_control",
                              "member: each member of a batch takes its own adaptive steps (explicit RK, default tolerances "
                              "3e-7); batch: one TS step shared by the batch, set by its hardest member (any TS type)",
                              "InvMemberRKCreate", InvStepControls, 2, InvStepControls[e->step_mode], &e->step_mode, NULL));
  PetscCall(
      PetscOptionsInt("-chunk", "Samples per checkpointed chunk (rounded up to a multiple of -batch)", "", e->chunk, &e->chunk, NULL));
  PetscCall(
      PetscOptionsBool("-resume", "Finish the missing chunks of an interrupted run (<output>.partial)", "", e->resume, &e->resume, NULL));
  PetscCall(PetscOptionsBool("-overwrite", "Replace an existing output file (the old one is kept until the new one is complete)", "",
                             e->overwrite, &e->overwrite, NULL));
  PetscCall(PetscOptionsReal("-progress", "Seconds between progress lines (0: every chunk)", "", e->progress, &e->progress, NULL));
  PetscCall(PetscOptionsBool("-quiet", "No progress output", "", e->quiet, &e->quiet, NULL));
  {
    PetscInt prec = e->single ? 1 : 0;
    PetscCall(PetscOptionsEList("-series_precision",
                                "Stored type of the series /u and /d: single (float32, half the size; rounded from the double "
                                "integration at write) or double",
                                "", InvSeriesPrecisions, 2, InvSeriesPrecisions[prec], &prec, NULL));
    e->single = prec ? PETSC_TRUE : PETSC_FALSE;
  }
  PetscOptionsEnd();
  PetscCheck(e->theta_file[0] || n > 0, e->comm, PETSC_ERR_ARG_OUTOFRANGE, "-n must be a positive number of samples, got %" PetscInt_FMT,
             n);
  PetscCheck(seed >= 0, e->comm, PETSC_ERR_ARG_OUTOFRANGE, "-seed must be >= 0, got %" PetscInt_FMT, seed);
  PetscCheck(e->batch >= 1 && e->batch <= 1000000, e->comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-batch must be between 1 and 1e6, got %" PetscInt_FMT, e->batch);
  PetscCheck(e->chunk >= 1, e->comm, PETSC_ERR_ARG_OUTOFRANGE, "-chunk must be positive, got %" PetscInt_FMT, e->chunk);
  PetscCheck(e->output[0], e->comm, PETSC_ERR_ARG_WRONG, "-o needs a file name");
  e->n = n;
  e->seed = seed;
  e->chunk = ((e->chunk + e->batch - 1) / e->batch) * e->batch;

  PetscCall(InvModelCreate(e->model_type, &e->model));
  PetscCall(InvModelSetFromOptions(e->model));
  PetscCall(InvPriorCreate(e->model, &e->prior));
  PetscCall(InvPriorSetFromOptions(e->prior));
  PetscCall(InvNoiseCreate(&e->noise));
  PetscCall(InvNoiseSetFromOptions(e->noise));
  PetscCall(InvObservationTimesFromOptions(&e->nt, &e->times));
  PetscCall(InvNoiseSetObservationTimes(e->noise, e->comm, e->nt, e->times));
  PetscCall(InvForwardSolverCreate(e->model, e->batch, e->nt, e->times, e->step_mode, &e->bts, &e->mrk));
  if (!e->mrk) e->step_mode = INV_STEP_BATCH;
  PetscFunctionReturn(0);
}

PetscErrorCode InvEnsembleSetUp(InvEnsemble e)
{
  PetscBool exists, pexists;

  PetscFunctionBegin;
  if (e->setup) PetscFunctionReturn(0);
  if (e->theta_file[0]) {
    PetscInt n;
    PetscCall(InvReadParameters(e->comm, e->model, e->theta_file, &n, &e->theta_in));
    e->n = n;
  }
  PetscCall(InvPartialName(e->output, e->partial, sizeof(e->partial)));
  PetscCall(InvFileExists(e->output, &exists));
  PetscCall(InvFileExists(e->partial, &pexists));
  if (e->resume) {
    if (exists && !pexists)
      e->complete_already = PETSC_TRUE;
    else
      PetscCheck(pexists, e->comm, PETSC_ERR_FILE_OPEN, "-resume: there is no interrupted run to resume (%s not found)", e->partial);
  } else {
    PetscCheck(!exists || e->overwrite, e->comm, PETSC_ERR_FILE_WRITE,
               "Output file %s exists; pass -overwrite to replace it (or -resume to finish an interrupted run)", e->output);
    PetscCheck(!pexists || e->overwrite, e->comm, PETSC_ERR_FILE_WRITE,
               "%s holds an interrupted run; pass -resume to finish it or -overwrite to start again", e->partial);
  }
  e->setup = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode InvEnsembleView(InvEnsemble e, PetscViewer v)
{
  char ts[256];

  PetscFunctionBegin;
  PetscCall(InvBatchTSDescribe(e->bts, ts, sizeof(ts)));
  PetscCall(PetscViewerASCIIPrintf(v,
                                   "Ensemble: %" PetscInt64_FMT " samples %s%s, seed %" PetscInt64_FMT ", %" PetscInt_FMT
                                   " observation times in [%g, %g], %d ranks, chunk %" PetscInt_FMT "\n",
                                   e->n, e->theta_file[0] ? "from " : "from the prior", e->theta_file[0] ? e->theta_file : "", e->seed,
                                   e->nt, (double)e->times[0], (double)e->times[e->nt - 1], e->size, e->chunk));
  PetscCall(InvModelView(e->model, v));
  if (!e->theta_file[0]) PetscCall(InvPriorView(e->prior, e->model, v));
  PetscCall(InvNoiseView(e->noise, v));
  PetscCall(
      PetscViewerASCIIPrintf(v, "  integrator: %s, %s\n", ts, e->mrk ? "one adaptive step per member" : "one step shared by each batch"));
  PetscFunctionReturn(0);
}

/* Compute the samples [s0, s1) on this rank: parameters, clean series, noise, status. */
static PetscErrorCode InvEnsembleComputeRange(InvEnsemble e, PetscInt64 s0, PetscInt64 s1, PetscReal *theta, PetscReal *u, PetscReal *d,
                                              PetscReal *nz, int32_t *status)
{
  const PetscInt np = e->model->nparam, per = e->nt * e->model->nobs;
  PetscInt *st;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(e->batch, &st));
  for (PetscInt64 i = s0; i < s1; i++) {
    if (e->theta_in)
      PetscCall(PetscArraycpy(theta + (i - s0) * np, e->theta_in + i * np, np));
    else
      PetscCall(InvPriorSample(e->prior, e->seed, i, theta + (i - s0) * np));
  }
  for (PetscInt64 b0 = s0; b0 < s1; b0 += e->batch) {
    const PetscInt nb = (PetscInt)PetscMin((PetscInt64)e->batch, s1 - b0);
    PetscCall(InvForwardSolve(e->bts, e->mrk, nb, theta + (b0 - s0) * np, u + (b0 - s0) * per, st));
    for (PetscInt m = 0; m < nb; m++) status[b0 - s0 + m] = (int32_t)st[m];
  }
  PetscCall(PetscFree(st));
  if (e->noise->type != INV_NOISE_NONE) {
    PetscCall(PetscLogEventBegin(INV_Noise, 0, 0, 0, 0));
    for (PetscInt64 i = s0; i < s1; i++) {
      PetscReal *nzi = nz + 2 * (i - s0);
      PetscCall(InvNoiseSampleParameters(e->noise, e->seed, i, &nzi[0], &nzi[1]));
      PetscCall(InvNoiseApply(e->noise, e->seed, i, 0, nzi[0], nzi[1], per, u + (i - s0) * per, d + (i - s0) * per));
    }
    PetscCall(PetscLogEventEnd(INV_Noise, 0, 0, 0, 0));
  }
  PetscFunctionReturn(0);
}

/* Rows [s0, s0 + nl) of a series dataset (collective): as computed, or rounded to the nearest float32 (the
   conversion of C, round to nearest) with -series_precision single, so a single-precision file holds exactly the
   double file's values rounded to float32. */
static PetscErrorCode InvEnsembleWriteSeries(InvEnsemble e, hid_t file, const char path[], PetscInt64 s0, PetscInt64 nl, const PetscReal *v,
                                             float *fbuf)
{
  const PetscInt64 count = nl * e->nt * e->model->nobs;

  PetscFunctionBegin;
  if (!e->single) {
    PetscCall(InvH5WriteRows(file, path, H5T_NATIVE_DOUBLE, (hsize_t)s0, (hsize_t)nl, v));
    PetscFunctionReturn(0);
  }
  for (PetscInt64 k = 0; k < count; k++) fbuf[k] = (float)v[k];
  PetscCall(InvH5WriteRows(file, path, H5T_NATIVE_FLOAT, (hsize_t)s0, (hsize_t)nl, fbuf));
  PetscFunctionReturn(0);
}

PetscErrorCode InvEnsembleSolve(InvEnsemble e)
{
  const PetscInt np = e->model->nparam, per = e->nt * e->model->nobs;
  const PetscInt nchunks = (PetscInt)((e->n + e->chunk - 1) / e->chunk);
  const PetscBool noisy = e->noise->type != INV_NOISE_NONE ? PETSC_TRUE : PETSC_FALSE;
  hid_t file;
  char sig[4096], *done;
  PetscLogDouble t0, tnow, tlast;
  PetscInt64 ndone = 0, nskip = 0, ntodo;
  PetscReal *theta, *u, *d = NULL, *nz = NULL;
  int32_t *status;
  float *fbuf = NULL; /* -series_precision single: the series rounded to float32 for the write */
  const PetscInt64 maxlocal = ((e->chunk / e->batch + e->size - 1) / e->size) * e->batch;

  PetscFunctionBegin;
  PetscCall(InvEnsembleSetUp(e));
  if (e->complete_already) {
    PetscCall(PetscPrintf(e->comm, "simulate: %s is already complete; nothing to resume\n", e->output));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscLogEventBegin(INV_Simulate, 0, 0, 0, 0));
  PetscCall(PetscTime(&t0));
  tlast = t0;
  PetscCall(InvEnsembleSignature(e, sig, sizeof(sig)));
  PetscCall(PetscMalloc1(nchunks, &done));
  if (e->resume) {
    PetscBool usable;
    PetscCall(InvEnsemblePartialUsable(e, &usable));
    if (!usable) {
      PetscCall(PetscPrintf(e->comm, "simulate: %s was left while being created (no finished chunk); starting afresh\n", e->partial));
      e->resume = PETSC_FALSE;
    }
  }
  if (e->resume) {
    PetscCall(InvEnsembleOpenForResume(e, &file, sig));
    PetscCall(InvH5ReadAll(file, "/chunks_done", H5T_NATIVE_CHAR, done));
  } else {
    PetscErrorCode ierr;
    PetscCall(PetscArrayzero(done, nchunks));
    ierr = InvEnsembleCreateFile(e, &file, sig);
    if (ierr && !e->rank) (void)unlink(e->partial); /* a half-created file holds nothing: do not leave it to block the rerun */
    PetscCall(ierr);
  }
  for (PetscInt c = 0; c < nchunks; c++)
    if (done[c]) nskip += PetscMin((PetscInt64)e->chunk, e->n - (PetscInt64)c * e->chunk);
  ntodo = e->n - nskip;
  if (e->resume)
    PetscCall(PetscPrintf(e->comm, "simulate: resuming %s: %" PetscInt64_FMT " of %" PetscInt64_FMT " samples already done\n", e->partial,
                          nskip, e->n));

  PetscCall(PetscMalloc3(maxlocal * np, &theta, maxlocal * per, &u, maxlocal, &status));
  if (e->single) PetscCall(PetscMalloc1(maxlocal * per, &fbuf));
  if (noisy) PetscCall(PetscMalloc2(maxlocal * per, &d, maxlocal * 2, &nz));
  for (PetscInt c = 0; c < nchunks; c++) {
    const PetscInt64 c0 = (PetscInt64)c * e->chunk, c1 = PetscMin(c0 + e->chunk, e->n);
    const PetscInt64 nbatch = (c1 - c0 + e->batch - 1) / e->batch;
    const PetscInt64 b0 = nbatch * e->rank / e->size, b1 = nbatch * (e->rank + 1) / e->size;
    const PetscInt64 s0 = PetscMin(c0 + b0 * e->batch, c1), s1 = PetscMin(c0 + b1 * e->batch, c1), nl = s1 - s0;
    PetscBool stop;

    if (done[c]) continue;
    PetscCall(InvEnsembleComputeRange(e, s0, s1, theta, u, d, nz, status));
    PetscCall(InvH5WriteRows(file, "/theta", H5T_NATIVE_DOUBLE, (hsize_t)s0, (hsize_t)nl, theta));
    PetscCall(InvEnsembleWriteSeries(e, file, "/u", s0, nl, u, fbuf));
    if (noisy) {
      PetscCall(InvEnsembleWriteSeries(e, file, "/d", s0, nl, d, fbuf));
      PetscCall(InvH5WriteRows(file, "/noise", H5T_NATIVE_DOUBLE, (hsize_t)s0, (hsize_t)nl, nz));
    }
    PetscCall(InvH5WriteRows(file, "/status", H5T_NATIVE_INT32, (hsize_t)s0, (hsize_t)nl, status));
    PetscCall(InvH5Flush(file));
    done[c] = 1;
    PetscCall(InvH5WriteRows(file, "/chunks_done", H5T_NATIVE_CHAR, (hsize_t)c, e->rank == 0 ? 1 : 0, &done[c]));
    PetscCall(InvH5Flush(file));
    ndone += c1 - c0;
    PetscCall(PetscTime(&tnow));
    if (!e->quiet && (tnow - tlast >= e->progress || ndone == ntodo)) {
      const PetscReal rate = ndone / PetscMax(tnow - t0, 1e-9);
      PetscCall(PetscPrintf(
          e->comm, "simulate: %" PetscInt64_FMT "/%" PetscInt64_FMT " samples (%.1f%%), %.0f samples/s, elapsed %.1f s, ETA %.1f s\n",
          ndone + nskip, e->n, 100.0 * (ndone + nskip) / e->n, (double)rate, tnow - t0, (double)((ntodo - ndone) / rate)));
      tlast = tnow;
    }
    PetscCall(InvInterruptPending(e->comm, &stop));
    if (stop && ndone < ntodo) {
      e->interrupted = PETSC_TRUE;
      break;
    }
  }
  PetscCall(PetscFree3(theta, u, status));
  PetscCall(PetscFree(fbuf));
  if (noisy) PetscCall(PetscFree2(d, nz));
  PetscCall(PetscFree(done));
  PetscCall(PetscTime(&tnow));
  e->seconds = tnow - t0;
  if (e->interrupted) {
    PetscCall(InvH5Close(&file));
    PetscCall(PetscPrintf(
        e->comm, "simulate: interrupted by signal %d after %" PetscInt64_FMT " samples; state saved in %s; rerun with -resume to finish\n",
        InvInterruptSignal(), ndone + nskip, e->partial));
  } else {
    PetscCall(InvEnsembleCountFailures(e, file));
    {
      hid_t root;
      PetscInt64 nf = e->nfailed;
      PetscCallHDF5Return(root, H5Gopen2(file, "/", H5P_DEFAULT));
      PetscCall(InvH5WriteAttrInts(root, "n_failed", 1, &nf));
      PetscCallHDF5(H5Gclose(root));
    }
    PetscCallHDF5(H5Ldelete(file, "/chunks_done", H5P_DEFAULT));
    PetscCall(InvH5Close(&file));
    PetscCall(InvFileCommit(e->comm, e->output));
    if (!e->quiet)
      PetscCall(PetscPrintf(e->comm,
                            "simulate: %" PetscInt64_FMT
                            " samples in %.2f s: %.0f samples/s, %.1f us/sample/core on %d rank%s, %" PetscInt64_FMT " failed; wrote %s\n",
                            ndone, (double)e->seconds, ndone / PetscMax(e->seconds, 1e-9), 1e6 * e->seconds * e->size / PetscMax(ndone, 1),
                            e->size, e->size > 1 ? "s" : "", e->nfailed, e->output));
  }
  PetscCall(PetscLogEventEnd(INV_Simulate, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode InvEnsembleGetSummary(InvEnsemble e, PetscInt64 *n, PetscInt64 *failed, PetscReal *seconds, PetscBool *interrupted)
{
  PetscFunctionBegin;
  if (n) *n = e->n;
  if (failed) *failed = e->nfailed;
  if (seconds) *seconds = e->seconds;
  if (interrupted) *interrupted = e->interrupted;
  PetscFunctionReturn(0);
}

PetscErrorCode InvEnsembleDestroy(InvEnsemble *ens)
{
  InvEnsemble e = *ens;

  PetscFunctionBegin;
  if (!e) PetscFunctionReturn(0);
  PetscCall(InvMemberRKDestroy(&e->mrk));
  PetscCall(InvBatchTSDestroy(&e->bts));
  PetscCall(InvNoiseDestroy(&e->noise));
  PetscCall(InvPriorDestroy(&e->prior));
  PetscCall(InvModelDestroy(&e->model));
  PetscCall(PetscFree(e->theta_in));
  PetscCall(PetscFree(e->times));
  PetscCall(PetscFree(e));
  *ens = NULL;
  PetscFunctionReturn(0);
}
