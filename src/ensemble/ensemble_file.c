/* The ensemble's output file: creation with its datasets and provenance attributes, the resume check,
   and the failure count read back from /status at the end. */
#include "ensembleimpl.h"

const char *const InvSeriesPrecisions[] = {"double", "single"};

/* Everything that determines the samples: a resumed run must match it exactly. */
PetscErrorCode InvEnsembleSignature(InvEnsemble e, char sig[], size_t len)
{
  char ts[256], buf[256];

  PetscFunctionBegin;
  PetscCall(InvBatchTSDescribe(e->bts, ts, sizeof(ts)));
  PetscCall(PetscSNPrintf(sig, len,
                          "model=%s n=%" PetscInt64_FMT " seed=%" PetscInt64_FMT " theta_file=%s chunk=%" PetscInt_FMT " obs=%" PetscInt_FMT
                          ",%.17g,%.17g %s noise=%s",
                          e->model_type, e->n, e->seed, e->theta_file[0] ? e->theta_file : "-", e->chunk, e->nt, (double)e->times[0],
                          e->nt > 1 ? (double)(e->times[1] - e->times[0]) : 0.0, ts, InvNoiseTypes[e->noise->type]));
  if (e->single) PetscCall(PetscStrlcat(sig, " series=single", len)); /* double adds nothing: old partial files still resume */
  if (e->mrk) PetscCall(PetscStrlcat(sig, " steps=member", len));     /* batch adds nothing: as before InvMemberRK */
  for (PetscInt c = 0; c < e->model->nconst; c++) {
    PetscCall(PetscSNPrintf(buf, sizeof(buf), " %s=%.17g", e->model->const_names[c], (double)e->model->consts[c]));
    PetscCall(PetscStrlcat(sig, buf, len));
  }
  for (PetscInt j = 0; j < e->prior->n; j++) {
    PetscCall(PetscSNPrintf(buf, sizeof(buf), " p%" PetscInt_FMT "=%.17g,%.17g,%.17g,%.17g", j, (double)e->prior->mean[j],
                            (double)e->prior->sd[j], (double)e->prior->lo[j], (double)e->prior->hi[j]));
    PetscCall(PetscStrlcat(sig, buf, len));
  }
  if (e->noise->type == INV_NOISE_AR1) {
    PetscCall(PetscSNPrintf(buf, sizeof(buf), " rho=%s%.17g sigma=%s%.17g rp=%.17g,%.17g,%.17g,%.17g sp=%.17g,%.17g,%.17g,%.17g scale=%s",
                            e->noise->fixed_rho ? "fixed:" : "", (double)e->noise->rho, e->noise->fixed_sigma ? "fixed:" : "",
                            (double)e->noise->sigma, (double)e->noise->rho_prior[0], (double)e->noise->rho_prior[1],
                            (double)e->noise->rho_prior[2], (double)e->noise->rho_prior[3], (double)e->noise->sigma_prior[0],
                            (double)e->noise->sigma_prior[1], (double)e->noise->sigma_prior[2], (double)e->noise->sigma_prior[3],
                            InvNoiseScales[e->noise->scale]));
    PetscCall(PetscStrlcat(sig, buf, len));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvEnsembleCreateFile(InvEnsemble e, hid_t *file, const char sig[])
{
  const PetscInt np = e->model->nparam, no = e->model->nobs;
  const PetscInt nchunks = (PetscInt)((e->n + e->chunk - 1) / e->chunk);
  hsize_t dims[3];
  hid_t root;
  char *opts, ts[256];
  PetscInt64 seed = e->seed, nobs = e->nt;
  char *zeros;

  PetscFunctionBegin;
  PetscCall(InvH5Create(e->comm, e->partial, file));
  dims[0] = (hsize_t)e->n;
  dims[1] = (hsize_t)np;
  PetscCall(InvH5CreateDataset(*file, "/theta", H5T_NATIVE_DOUBLE, 2, dims));
  dims[1] = (hsize_t)e->nt;
  dims[2] = (hsize_t)no;
  {
    const hid_t stype = e->single ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE;
    const size_t row = (e->single ? sizeof(float) : sizeof(double)) * (size_t)e->nt * (size_t)no;
    const size_t cap = PetscMax((size_t)1, PetscMin((size_t)INV_SERIES_CHUNK_ROWS, (size_t)INV_SERIES_CHUNK_BYTES / row));
    const size_t nchk = PetscMax((size_t)1, ((size_t)e->n + cap - 1) / cap); /* chunks of at most cap rows, as equal as possible: */
    const hsize_t crows = (hsize_t)(((size_t)e->n + nchk - 1) / nchk);       /* the last one wastes less than a row per chunk */
    PetscCall(InvH5CreateDatasetChunked(*file, "/u", stype, no == 1 ? 2 : 3, dims, crows));
    if (e->noise->type != INV_NOISE_NONE) PetscCall(InvH5CreateDatasetChunked(*file, "/d", stype, no == 1 ? 2 : 3, dims, crows));
  }
  if (e->noise->type != INV_NOISE_NONE) {
    dims[1] = 2;
    PetscCall(InvH5CreateDataset(*file, "/noise", H5T_NATIVE_DOUBLE, 2, dims));
  }
  PetscCall(InvH5CreateDataset(*file, "/status", H5T_NATIVE_INT32, 1, dims));
  dims[0] = (hsize_t)e->nt;
  PetscCall(InvH5WriteSmall(*file, "/t", H5T_NATIVE_DOUBLE, 1, dims, e->times));
  PetscCall(PetscCalloc1(nchunks, &zeros));
  dims[0] = (hsize_t)nchunks;
  PetscCall(InvH5WriteSmall(*file, "/chunks_done", H5T_NATIVE_CHAR, 1, dims, zeros));
  PetscCall(PetscFree(zeros));

  PetscCallHDF5Return(root, H5Gopen2(*file, "/", H5P_DEFAULT));
  PetscCall(InvH5WriteAttrString(root, "invmap_version", INVMAP_VERSION " (" INVMAP_GIT ")"));
  PetscCall(InvH5WriteAttrString(root, "kind", "ensemble"));
  PetscCall(InvModelWriteAttributes(e->model, root));
  PetscCall(InvPriorWriteAttributes(e->prior, root));
  PetscCall(InvNoiseWriteAttributes(e->noise, root));
  PetscCall(InvH5WriteAttrInts(root, "seed", 1, &seed));
  PetscCall(InvH5WriteAttrInts(root, "n_obs", 1, &nobs));
  PetscCall(InvH5WriteAttrString(root, "series_precision", InvSeriesPrecisions[e->single ? 1 : 0]));
  PetscCall(InvH5WriteAttrString(root, "theta_source", e->theta_file[0] ? e->theta_file : "prior"));
  PetscCall(InvBatchTSDescribe(e->bts, ts, sizeof(ts)));
  PetscCall(PetscStrlcat(ts, e->mrk ? " steps=member" : " steps=batch", sizeof(ts)));
  PetscCall(InvH5WriteAttrString(root, "integrator", ts));
  {
    TS t;
    PetscReal atol, rtol;
    PetscCall(InvBatchTSGetTS(e->bts, &t));
    PetscCall(TSGetTolerances(t, &atol, NULL, &rtol, NULL));
    PetscCall(InvH5WriteAttrReals(root, "ts_rtol", 1, &rtol));
    PetscCall(InvH5WriteAttrReals(root, "ts_atol", 1, &atol));
  }
  PetscCall(InvH5WriteAttrString(root, "status_codes", "0=ok,1=nonfinite,2=diverged,3=maxsteps,4=badparam"));
  PetscCall(InvOptionsString(&opts));
  PetscCall(InvH5WriteAttrString(root, "options", opts));
  PetscCall(PetscFree(opts));
  PetscCall(InvH5WriteAttrString(root, "resume_signature", sig));
  PetscCallHDF5(H5Gclose(root));
  PetscCall(InvH5Flush(*file));
  PetscFunctionReturn(0);
}

/* Collective: can the partial file be resumed at all? A run stopped (killed, disk full) while creating it leaves a
   file that is empty, not HDF5, or lacks the resume signature (written and flushed right after creation, before
   any chunk): it holds no finished chunk, so starting afresh loses nothing. */
PetscErrorCode InvEnsemblePartialUsable(InvEnsemble e, PetscBool *usable)
{
  int ok = 0;

  PetscFunctionBegin;
  if (!e->rank) {
    H5E_BEGIN_TRY
    {
      if (H5Fis_hdf5(e->partial) > 0) {
        hid_t f = H5Fopen(e->partial, H5F_ACC_RDONLY, H5P_DEFAULT);
        if (f >= 0) {
          ok = H5Aexists_by_name(f, "/", "resume_signature", H5P_DEFAULT) > 0;
          (void)H5Fclose(f);
        }
      }
    }
    H5E_END_TRY;
  }
  PetscCallMPI(MPI_Bcast(&ok, 1, MPI_INT, 0, e->comm));
  *usable = ok ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode InvEnsembleOpenForResume(InvEnsemble e, hid_t *file, const char sig[])
{
  hid_t root;
  char *stored;

  PetscFunctionBegin;
  PetscCall(InvH5Open(e->comm, e->partial, PETSC_TRUE, file));
  PetscCallHDF5Return(root, H5Gopen2(*file, "/", H5P_DEFAULT));
  PetscCall(InvH5ReadAttrString(root, "resume_signature", &stored));
  PetscCallHDF5(H5Gclose(root));
  {
    PetscBool same;
    PetscCall(PetscStrcmp(stored, sig, &same));
    if (!same) {
      PetscCall(InvH5Close(file));
      SETERRQ(e->comm, PETSC_ERR_ARG_INCOMP,
              "-resume: the settings differ from those of the interrupted run in %s.\n  stored: %s\n  now:    %s\nRerun with the same "
              "options, or use -overwrite to start again",
              e->partial, stored, sig);
    }
  }
  PetscCall(PetscFree(stored));
  PetscFunctionReturn(0);
}

/* Collective over the file's ranks: read /status and count failures per code, report a few. */
PetscErrorCode InvEnsembleCountFailures(InvEnsemble e, hid_t file)
{
  PetscInt64 r0 = e->n * e->rank / e->size, r1 = e->n * (e->rank + 1) / e->size;
  int32_t *st;
  PetscInt64 cnt[5] = {0, 0, 0, 0, 0}, first = INT64_MAX;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(PetscMax(r1 - r0, 1), &st));
  PetscCall(InvH5ReadRows(file, "/status", H5T_NATIVE_INT32, (hsize_t)r0, (hsize_t)(r1 - r0), st));
  for (PetscInt64 i = 0; i < r1 - r0; i++) {
    int32_t s = st[i];
    if (s < 0 || s > 4) s = 2;
    cnt[s]++;
    if (s && first == INT64_MAX) first = r0 + i;
  }
  PetscCall(PetscFree(st));
  PetscCallMPI(MPI_Allreduce(cnt, e->status_count, 5, MPIU_INT64, MPI_SUM, e->comm));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPIU_INT64, MPI_MIN, e->comm));
  e->nfailed = e->n - e->status_count[0];
  if (e->nfailed) {
    PetscCall(PetscPrintf(
        e->comm, "simulate: %" PetscInt64_FMT " of %" PetscInt64_FMT " samples failed (first: sample %" PetscInt64_FMT "):", e->nfailed,
        e->n, first));
    for (PetscInt s = 1; s < 5; s++)
      if (e->status_count[s]) PetscCall(PetscPrintf(e->comm, " %s %" PetscInt64_FMT, InvStatusNames[s], e->status_count[s]));
    PetscCall(PetscPrintf(e->comm, "; they are flagged in /status and their series are NaN\n"));
  }
  PetscFunctionReturn(0);
}
