/* InvEval output: HDF5 with the summary table and per-sample metrics of each estimate (one group per
   label), written atomically (<name>.partial, renamed when complete), and the summary as CSV. */
#include "evalimpl.h"
#include <invmap/h5io.h>
#include <errno.h>
#include <stdint.h>

static PetscErrorCode InvEvalWriteVector(hid_t file, const char group[], const char name[], PetscInt64 n, PetscInt w, const PetscReal v[])
{
  char path[128];
  hsize_t dims[2] = {(hsize_t)n, (hsize_t)w};

  PetscFunctionBegin;
  if (!v) PetscFunctionReturn(0);
  PetscCall(PetscSNPrintf(path, sizeof(path), "/%s/%s", group, name));
  PetscCall(InvH5WriteSmall(file, path, H5T_NATIVE_DOUBLE, w > 1 ? 2 : 1, dims, v));
  PetscFunctionReturn(0);
}

static PetscErrorCode InvEvalWriteGroup(InvEval e, hid_t file, InvEvalEstimate *s)
{
  char path[128];
  hid_t g;
  PetscInt64 ints[4] = {s->n, s->nfile, s->nnan, s->nsimfail};

  PetscFunctionBegin;
  PetscCall(InvEvalWriteVector(file, s->label, "theta", s->n, e->P, s->theta));
  PetscCall(InvEvalWriteVector(file, s->label, "ape", s->n, e->P, s->ape));
  PetscCall(InvEvalWriteVector(file, s->label, "noise", s->n, INV_NOISE_NPARAM, s->nz)); /* rho, sigma estimates (joint inference) */
  PetscCall(InvEvalWriteVector(file, s->label, "ape_noise", s->n, INV_NOISE_NPARAM, s->apenz));
  PetscCall(InvEvalWriteVector(file, s->label, "rel_err", s->n, 1, s->relerr));
  PetscCall(InvEvalWriteVector(file, s->label, "sq_bias", s->n, 1, s->sqbias));
  PetscCall(InvEvalWriteVector(file, s->label, "cmse", s->n, 1, s->cmse));
  PetscCall(InvEvalWriteVector(file, s->label, "objective", s->n, 1, s->obj));
  PetscCall(InvEvalWriteVector(file, s->label, "objective_truth", s->n, 1, s->objtrue));
  PetscCall(InvEvalWriteVector(file, s->label, "mean_rel_err", s->n, 1, s->mean_err));
  PetscCall(InvEvalWriteVector(file, s->label, "cov_rel_err", s->n, 1, s->cov_err));
  if (s->simstatus) {
    int32_t *st;
    hsize_t dims[1] = {(hsize_t)s->n};
    PetscCall(PetscMalloc1(PetscMax(s->n, 1), &st));
    for (PetscInt64 i = 0; i < s->n; i++) st[i] = (int32_t)s->simstatus[i];
    PetscCall(PetscSNPrintf(path, sizeof(path), "/%s/sim_status", s->label));
    PetscCall(InvH5WriteSmall(file, path, H5T_NATIVE_INT32, 1, dims, st));
    PetscCall(PetscFree(st));
  }
  PetscCall(PetscSNPrintf(path, sizeof(path), "/%s", s->label));
  PetscCallHDF5Return(g, H5Gopen2(file, path, H5P_DEFAULT));
  PetscCall(InvH5WriteAttrString(g, "file", s->file));
  PetscCall(InvH5WriteAttrString(g, "dataset", s->dataset));
  PetscCall(InvH5WriteAttrInts(g, "n_rows_n_file_n_nan_n_sim_failed", 4, ints));
  PetscCall(InvH5WriteAttrReals(g, "summary", e->ncols, s->summary));
  PetscCallHDF5(H5Gclose(g));
  PetscFunctionReturn(0);
}

/* /series/<label>: the re-simulated series, each rank writing its own row block (collective) */
PetscErrorCode InvEvalWriteSeries(InvEval e, hid_t file, InvEvalEstimate *s)
{
  char path[128];
  hsize_t dims[3] = {(hsize_t)s->n, (hsize_t)e->nt, (hsize_t)e->no};
  hid_t ds;
  PetscInt64 rows[2] = {0, s->n};

  PetscFunctionBegin;
  if (!e->saveseries || !s->series) PetscFunctionReturn(0);
  PetscCall(PetscSNPrintf(path, sizeof(path), "/series/%s", s->label));
  PetscCall(InvH5CreateDataset(file, path, H5T_NATIVE_FLOAT, e->no > 1 ? 3 : 2, dims));
  PetscCall(InvH5WriteRows(file, path, H5T_NATIVE_FLOAT, (hsize_t)s->sr0, (hsize_t)s->snl, s->series));
  PetscCallHDF5Return(ds, H5Dopen2(file, path, H5P_DEFAULT));
  PetscCall(InvH5WriteAttrInts(ds, "truth_rows", 2, rows));
  PetscCall(InvH5WriteAttrString(ds, "meaning",
                                 "row i = the ODE re-simulated at estimate i (sample i of the truth, rows truth_rows[0] to truth_rows[0] + "
                                 "truth_rows[1] - 1), at the truth's /t; NaN where the re-simulation failed (see sim_status)"));
  PetscCallHDF5(H5Dclose(ds));
  PetscFunctionReturn(0);
}

static PetscErrorCode InvEvalJoin(InvEval e, PetscBool labels, char out[], size_t len)
{
  PetscFunctionBegin;
  out[0] = 0;
  for (PetscInt k = 0; k < e->nest; k++) {
    if (k) PetscCall(PetscStrlcat(out, ",", len));
    PetscCall(PetscStrlcat(out, labels ? e->est[k].label : e->est[k].file, len));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvEvalWrite(InvEval e)
{
  char partial[PETSC_MAX_PATH_LEN], buf[8192], *opts;
  hid_t file, root;
  PetscReal *tab;
  hsize_t dims[2] = {(hsize_t)e->nest, (hsize_t)e->ncols};
  PetscInt64 n = e->N;

  PetscFunctionBegin;
  PetscCall(InvPartialName(e->output, partial, sizeof(partial)));
  PetscCall(InvH5Create(e->comm, partial, &file));
  PetscCall(PetscMalloc1(e->nest * e->ncols, &tab));
  for (PetscInt k = 0; k < e->nest; k++)
    for (PetscInt c = 0; c < e->ncols; c++) tab[k * e->ncols + c] = e->est[k].summary[c];
  PetscCall(InvH5WriteSmall(file, "/summary", H5T_NATIVE_DOUBLE, 2, dims, tab));
  PetscCall(PetscFree(tab));
  for (PetscInt k = 0; k < e->nest; k++) PetscCall(InvEvalWriteGroup(e, file, &e->est[k]));
  for (PetscInt k = 0; k < e->nest; k++) PetscCall(InvEvalWriteSeries(e, file, &e->est[k]));
  PetscCall(InvEvalWriteLandscape(e, file));
  PetscCall(InvEvalWritePosterior(e, file));
  PetscCallHDF5Return(root, H5Gopen2(file, "/", H5P_DEFAULT));
  PetscCall(InvH5WriteAttrString(root, "kind", "evaluation"));
  PetscCall(InvH5WriteAttrString(root, "invmap_version", INVMAP_VERSION " (" INVMAP_GIT ")"));
  PetscCall(InvModelWriteAttributes(e->model, root));
  PetscCall(InvH5WriteAttrString(root, "truth", e->truth));
  PetscCall(InvEvalJoin(e, PETSC_FALSE, buf, sizeof(buf)));
  PetscCall(InvH5WriteAttrString(root, "estimates", buf));
  PetscCall(InvEvalJoin(e, PETSC_TRUE, buf, sizeof(buf)));
  PetscCall(InvH5WriteAttrString(root, "labels", buf));
  buf[0] = 0;
  for (PetscInt c = 0; c < e->ncols; c++) {
    if (c) PetscCall(PetscStrlcat(buf, ",", sizeof(buf)));
    PetscCall(PetscStrlcat(buf, e->colnames[c], sizeof(buf)));
  }
  PetscCall(InvH5WriteAttrString(root, "summary_columns", buf));
  PetscCall(InvH5WriteAttrString(root, "summary_rows", "one row per estimate, in the order of 'labels'"));
  PetscCall(InvH5WriteAttrString(root, "definitions", INV_EVAL_DEFINITIONS));
  PetscCall(InvH5WriteAttrString(root, "sim_status_codes", "0=ok,1=nonfinite,2=diverged,3=maxsteps,4=badparam (non-finite estimate)"));
  PetscCall(InvH5WriteAttrString(root, "cov_reference", e->covref[0] ? e->covref : "(none)"));
  if (e->bts) {
    PetscCall(InvBatchTSDescribe(e->bts, buf, sizeof(buf)));
    PetscCall(PetscStrlcat(buf, e->mrk ? " steps=member" : " steps=batch", sizeof(buf)));
    PetscCall(InvH5WriteAttrString(root, "integrator", buf));
  }
  PetscCall(InvH5WriteAttrInts(root, "n_truth", 1, &n));
  PetscCall(InvH5WriteAttrReals(root, "seconds", 1, &e->seconds));
  PetscCall(InvOptionsString(&opts));
  PetscCall(InvH5WriteAttrString(root, "options", opts));
  PetscCall(PetscFree(opts));
  PetscCallHDF5(H5Gclose(root));
  PetscCall(InvH5Close(&file));
  PetscCall(InvFileCommit(e->comm, e->output));
  PetscFunctionReturn(0);
}

PetscErrorCode InvEvalWriteCSV(InvEval e)
{
  char partial[PETSC_MAX_PATH_LEN];
  int err = 0;

  PetscFunctionBegin;
  PetscCall(InvPartialName(e->csv, partial, sizeof(partial)));
  if (!e->rank) {
    FILE *fp = fopen(partial, "w");
    if (!fp)
      err = errno;
    else {
      fprintf(fp, "label,file");
      for (PetscInt c = 0; c < e->ncols; c++) fprintf(fp, ",%s", e->colnames[c]);
      fprintf(fp, "\n");
      for (PetscInt k = 0; k < e->nest; k++) {
        fprintf(fp, "%s,%s", e->est[k].label, e->est[k].file);
        for (PetscInt c = 0; c < e->ncols; c++) fprintf(fp, ",%.17g", (double)e->est[k].summary[c]);
        fprintf(fp, "\n");
      }
      if (fclose(fp)) err = errno;
      if (err) (void)remove(partial);
    }
  }
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, e->comm));
  PetscCheck(!err, e->comm, PETSC_ERR_FILE_WRITE, "Cannot write %s: %s", e->csv, strerror(err));
  PetscCall(InvFileCommit(e->comm, e->csv));
  PetscFunctionReturn(0);
}
