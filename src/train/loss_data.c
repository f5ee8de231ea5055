/* The data-space loss of invmap train (-train_loss data; docs/design.md "Training through the simulator"): a
   shell loss (InvLossCreateShell) whose value per training sample i is the MAP objective J_i (include/invmap/objective.h)
   at the network's estimate theta_i = mu + D z_i of that sample's own observed series, with its gradient from one
   batched forward + adjoint sweep (InvBatchTSObjective), mixed with the supervised squared error on a schedule:
   epochs [0, K) supervised alone, then the weights ramp linearly to (supervised w_s, data w_d) over R epochs. */
#include "trainerimpl.h"
#include <invmap/batchts.h>
#include <invmap/h5io.h>
#include <invmap/objective.h>
#include <math.h>

#define INV_DATA_LOSS_FAILED 1.0e6 /* J of a sample whose forward solve failed (finite, gradient zero) */
#define INV_DATA_HIST_COLS   4
#define INV_DATA_HIST_NAMES  "epoch,mean_J,failed_solves,simulator_seconds"
#define INV_DATA_TS_PREFIX   INV_TRAIN_SIM_PREFIX /* options of the adjoint-capable solver: -train_sim_ts_* */
#define INV_DATA_NSTATE      4                    /* checkpointed per-rank epoch sums: J, samples, failures, simulator seconds */
#define INV_DATA_NOPT        5                    /* recorded options: data weight, supervised weight, start, ramp, clip */
#define INV_DATA_FD_STEP     1e-3                 /* -train_data_check_gradient: central-difference step in standardised units */
#define INV_DATA_FD_MAXN     64                   /* -train_data_check_gradient: at most this many samples per rank */

struct _p_InvDataLoss {
  InvTrainer t;
  InvModel model;
  InvPrior prior;
  InvBatchTS ts;
  PetscInt nt, nobs, P;
  PetscReal *tobs;
  double *d, *rho, *sd;               /* series (Ntr x nt x nobs), AR(1) rho and marginal sd of every training sample */
  double *theta, *f, *g, *rhob, *sdb; /* per batch member */
  const PetscReal **dptr;             /* per batch member */
  PetscInt *status;                   /* per batch member */
  PetscBool *clamped;                 /* per batch member and parameter: projected onto the prior's box */
  double opt[INV_DATA_NOPT];          /* -train_loss_data_weight, -train_loss_data_supervised, start, ramp, clip */
  double Jsum, nJ, nfail, tsim;       /* this rank's sums over the epoch so far */
  double *hist;                       /* epochs x INV_DATA_HIST_COLS */
  PetscInt nhist;
};

/* the weights (supervised, data) of an epoch: supervised alone before the start epoch K, then a linear ramp
   over R epochs (R = 0: at once) to (w_s, w_d) */
static void Weights(InvDataLoss dl, PetscInt epoch, double *ws, double *wd)
{
  const double w = dl->opt[0], wsup = dl->opt[1], K = dl->opt[2], R = dl->opt[3];
  double r;

  if ((double)epoch < K) {
    *ws = 1, *wd = 0;
    return;
  }
  r = R > 0 ? PetscMin(1.0, ((double)epoch - K + 1) / R) : 1.0;
  *ws = (1 - r) + r * wsup;
  *wd = r * w;
}

/* the shell loss: see the file comment. Validation (sample NULL) evaluates the supervised squared error alone. */
static PetscErrorCode DataLossEval(InvLoss l, int B, const float *out, const float *target, const PetscInt64 *sample, double scale,
                                   double *sum, float *dout)
{
  InvDataLoss dl = (InvDataLoss)l->ctx;
  InvTrainer t = dl->t;
  const PetscInt P = dl->P, per = dl->nt * dl->nobs, no = l->nout;
  const double *mu = t->map->feat->out_mean, *s = t->map->feat->out_std, clip = dl->opt[4];
  double ws = 1, wd = 0, tot = 0;
  PetscLogDouble t0, t1;

  PetscFunctionBegin;
  *sum = 0;
  if (B == 0) PetscFunctionReturn(0);
  if (sample) Weights(dl, t->epoch, &ws, &wd);
  if (ws > 0) { /* with ws = 1 the calls of -train_loss mse: pre-training epochs are bitwise those of mse */
    tot = ws * invnn_mse_forward(out, target, l->weight, B, (int)P, 1.0);
    if (dout) invnn_mse_backward(dout, out, target, l->weight, B, (int)P, scale * ws);
  } else if (dout)
    PetscCall(PetscArrayzero(dout, (size_t)B * no));
  if (wd > 0) {
    for (int b = 0; b < B; b++) {
      PetscCheck(sample[b] >= 0 && sample[b] < t->Ntr, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
                 "Data-space loss: sample %lld is not a training sample [0, %lld)", (long long)sample[b], (long long)t->Ntr);
      for (PetscInt k = 0; k < P; k++) { /* theta = mu + D z, projected onto the prior's box */
        double th = mu[k] + s[k] * (double)out[(size_t)b * no + k], lo = dl->prior->lo[k], hi = dl->prior->hi[k];
        dl->clamped[b * P + k] = (PetscBool)(th < lo || th > hi);
        dl->theta[b * P + k] = PetscMin(PetscMax(th, lo), hi);
      }
      dl->dptr[b] = dl->d + sample[b] * per;
      dl->rhob[b] = dl->rho[sample[b]];
      dl->sdb[b] = dl->sd[sample[b]];
    }
    PetscCall(PetscTime(&t0));
    PetscCall(InvBatchTSObjective(dl->ts, dl->prior, B, dl->theta, dl->dptr, dl->rhob, dl->sdb, dl->f, dout ? dl->g : NULL, dl->status));
    PetscCall(PetscTime(&t1));
    dl->tsim += t1 - t0;
    for (int b = 0; b < B; b++) {
      double J = dl->f[b], gz[INV_MAX_TARGETS] = {0}, nrm = 0;
      PetscBool failed = (PetscBool)(dl->status[b] != INV_STATUS_OK || !isfinite(J));
      if (!failed && dout) {
        for (PetscInt k = 0; k < P; k++) { /* dJ/dz = D dJ/dtheta, zero where the projection is active */
          gz[k] = dl->clamped[b * P + k] ? 0 : s[k] * dl->g[b * P + k];
          nrm += gz[k] * gz[k];
        }
        if (!isfinite(nrm)) failed = PETSC_TRUE; /* a non-finite adjoint counts as a failed solve */
      }
      if (failed) {
        J = INV_DATA_LOSS_FAILED;
        dl->nfail++;
      } else if (dout) {
        nrm = sqrt(nrm);
        if (clip > 0 && nrm > clip)
          for (PetscInt k = 0; k < P; k++) gz[k] *= clip / nrm;
        for (PetscInt k = 0; k < P; k++) dout[(size_t)b * no + k] += (float)(scale * wd * gz[k]);
      }
      tot += wd * J;
      dl->Jsum += J;
      dl->nJ++;
    }
  }
  *sum = tot;
  PetscFunctionReturn(0);
}

/* the file's prior (attributes of invmap simulate; the model's defaults where absent), as evaluate reads it */
static PetscErrorCode ReadPrior(InvDataLoss dl, hid_t root)
{
  const char *attr[4] = {"prior_mean", "prior_sd", "prior_lower", "prior_upper"};
  PetscReal *dst[4] = {dl->prior->mean, dl->prior->sd, dl->prior->lo, dl->prior->hi};
  PetscBool has;

  PetscFunctionBegin;
  for (int a = 0; a < 4; a++) {
    PetscCall(InvH5HasAttr(root, attr[a], &has));
    if (has) PetscCall(InvH5ReadAttrReals(root, attr[a], dl->P, dst[a]));
  }
  for (PetscInt j = 0; j < dl->P; j++)
    PetscCheck(dl->prior->sd[j] > 0 && PetscIsNormalReal(dl->prior->sd[j]), dl->t->comm, PETSC_ERR_FILE_UNEXPECTED,
               "%s: prior sd of %s must be positive", dl->t->data_file, dl->model->param_names[j]);
  PetscFunctionReturn(0);
}

/* every training sample's series, rho and marginal sd on every rank (a batch may hold any sample) */
static PetscErrorCode LoadProblems(InvDataLoss dl)
{
  InvTrainer t = dl->t;
  hid_t file, root;
  PetscInt r, per;
  hsize_t dims[3] = {1, 1, 1}, nd[3];
  PetscBool has;
  int *status = NULL;
  double *all = NULL, *noise = NULL;
  PetscInt64 Nrows, g = 0;
  InvNoiseSpec spec;
  char *name;

  PetscFunctionBegin;
  PetscCall(InvH5Open(t->comm, t->data_file, PETSC_FALSE, &file));
  PetscCallHDF5Return(root, H5Gopen2(file, "/", H5P_DEFAULT));
  PetscCall(InvH5HasAttr(root, "model", &has));
  PetscCheck(has, t->comm, PETSC_ERR_FILE_UNEXPECTED, "-train_loss data: %s has no 'model' attribute (not a file of invmap simulate)",
             t->data_file);
  PetscCall(InvH5ReadAttrString(root, "model", &name));
  PetscCall(InvModelCreate(name, &dl->model));
  PetscCall(PetscFree(name));
  PetscCall(InvModelSetFromOptions(dl->model));
  PetscCall(InvModelReadConstants(dl->model, root));
  dl->P = dl->model->nparam;
  dl->nobs = dl->model->nobs;
  PetscCheck(t->ntargets == dl->P, t->comm, PETSC_ERR_ARG_INCOMP,
             "-train_loss data: the network must estimate all %d parameters of model %s in order (-train_targets %s has %d)", (int)dl->P,
             dl->model->type, t->targets, (int)t->ntargets);
  for (PetscInt k = 0; k < dl->P; k++)
    PetscCheck(t->col[k] == k, t->comm, PETSC_ERR_ARG_INCOMP,
               "-train_loss data: -train_targets must be the model's parameters in the file's order (not rho, sigma); got %s", t->targets);
  PetscCall(InvPriorCreate(dl->model, &dl->prior));
  PetscCall(ReadPrior(dl, root));
  PetscCallHDF5(H5Gclose(root));
  /* observation times and the series the network sees */
  PetscCall(InvH5GetDims(file, "/t", &r, nd));
  dl->nt = (PetscInt)nd[0];
  PetscCall(PetscMalloc1(dl->nt, &dl->tobs));
  PetscCall(InvH5ReadAll(file, "/t", H5T_NATIVE_DOUBLE, dl->tobs));
  PetscCall(InvH5GetDims(file, t->path, &r, dims));
  PetscCheck(dims[1] == (hsize_t)dl->nt && (r == 2 ? 1 : dims[2]) == (hsize_t)dl->nobs, t->comm, PETSC_ERR_FILE_UNEXPECTED,
             "-train_loss data: %s of %s is not (samples x %d times x %d observed components) of model %s", t->path, t->data_file,
             (int)dl->nt, (int)dl->nobs, dl->model->type);
  Nrows = (PetscInt64)dims[0];
  per = dl->nt * dl->nobs;
  PetscCall(InvH5HasDataset(file, "/status", &has));
  if (has) {
    PetscCall(PetscMalloc1(Nrows, &status));
    PetscCall(InvH5ReadAll(file, "/status", H5T_NATIVE_INT, status));
  }
  { /* read only the rows up to the last training sample, within the memory budget */
    PetscInt64 last = 0;
    double bytes;
    for (PetscInt64 i = 0; i < Nrows && g < t->Ntr; i++)
      if (!status || status[i] == 0) g++, last = i + 1;
    g = 0;
    Nrows = last;
    bytes = sizeof(double) * (double)Nrows * (double)(per + 2) + sizeof(double) * (double)t->Ntr * (double)(per + 2);
    PetscCheck(bytes <= t->memory_mb * 1048576.0, t->comm, PETSC_ERR_SUP,
               "-train_loss data keeps every training problem on every rank: %.1f MB over the -train_memory_mb %g budget (streaming "
               "is not supported yet); raise the budget or train on fewer samples (-train_max_samples)",
               bytes / 1048576.0, (double)t->memory_mb);
  }
  PetscCall(PetscMalloc1((size_t)Nrows * per + 1, &all));
  PetscCall(InvH5ReadRows(file, t->path, H5T_NATIVE_DOUBLE, 0, (hsize_t)Nrows, all));
  PetscCall(PetscMalloc1(2 * Nrows + 1, &noise));
  PetscCall(InvNoiseSpecFromOptions(t->comm, &spec));
  PetscCall(InvH5HasDataset(file, "/noise", &has));
  PetscCheck(has || (spec.fixed_rho && spec.fixed_sigma), t->comm, PETSC_ERR_FILE_UNEXPECTED,
             "-train_loss data: %s has no /noise (rho, sigma per sample) to whiten the misfit with; give -noise_rho and -noise_sigma",
             t->data_file);
  if (has)
    PetscCall(InvH5ReadRows(file, "/noise", H5T_NATIVE_DOUBLE, 0, (hsize_t)Nrows, noise));
  else
    PetscCall(PetscArrayzero(noise, 2 * Nrows));
  PetscCall(InvNoiseSpecSetData(&spec, t->comm, file, t->data_file, dl->nt, dl->tobs));
  PetscCall(InvH5Close(&file));
  InvNoiseSpecApply(&spec, Nrows, noise);
  /* the training samples: the first Ntr usable rows (status 0), as the trainer numbers them */
  PetscCall(PetscMalloc3((size_t)t->Ntr * per, &dl->d, t->Ntr, &dl->rho, t->Ntr, &dl->sd));
  InvTrainerTrack(t, sizeof(double) * (double)t->Ntr * (double)(per + 2));
  for (PetscInt64 i = 0; i < Nrows && g < t->Ntr; i++) {
    if (status && status[i] != 0) continue;
    PetscCheck(InvNoiseParametersValid(noise[2 * i], noise[2 * i + 1]), t->comm, PETSC_ERR_FILE_UNEXPECTED,
               "-train_loss data: row %lld of %s has invalid noise parameters rho %g, sigma %g", (long long)i, t->data_file, noise[2 * i],
               noise[2 * i + 1]);
    PetscCall(PetscArraycpy(dl->d + g * per, all + i * per, per));
    dl->rho[g] = noise[2 * i];
    dl->sd[g] = InvNoiseSpecSD(&spec, noise[2 * i + 1]);
    g++;
  }
  PetscCheck(g == t->Ntr, t->comm, PETSC_ERR_PLIB, "Data-space loss: %lld training rows found, the trainer has %lld", (long long)g,
             (long long)t->Ntr);
  PetscCall(PetscFree(status));
  PetscCall(PetscFree(all));
  PetscCall(PetscFree(noise));
  PetscFunctionReturn(0);
}

PetscErrorCode InvTrainerDataLossCreate(InvTrainer t, InvLoss *loss)
{
  InvDataLoss dl;
  const PetscInt bmax = t->batch;

  PetscFunctionBegin;
  PetscCheck(!t->stream, t->comm, PETSC_ERR_SUP,
             "-train_loss data keeps the training problems in memory and does not stream yet: this set exceeds -train_memory_mb %g; "
             "raise it (or give -train_stream no)",
             (double)t->memory_mb);
  PetscCheck(!t->noise_fresh, t->comm, PETSC_ERR_ARG_INCOMP,
             "-train_loss data fits each sample's stored series: it cannot be combined with -noise_fresh");
  PetscCall(PetscNew(&dl));
  dl->t = t;
  for (int k = 0; k < INV_DATA_NOPT; k++) dl->opt[k] = t->data_opt[k];
  PetscCall(LoadProblems(dl));
  PetscCall(InvBatchTSCreateAdjoint(dl->model, bmax, INV_DATA_TS_PREFIX, &dl->ts));
  PetscCall(InvBatchTSSetObservationTimes(dl->ts, dl->nt, dl->tobs));
  PetscCall(InvBatchTSSetFromOptions(dl->ts));
  PetscCall(PetscMalloc6(bmax * dl->P, &dl->theta, bmax, &dl->f, bmax * dl->P, &dl->g, bmax, &dl->rhob, bmax, &dl->sdb, bmax, &dl->dptr));
  PetscCall(PetscMalloc2(bmax, &dl->status, bmax * dl->P, &dl->clamped));
  PetscCall(PetscCalloc1((size_t)t->epochs * INV_DATA_HIST_COLS, &dl->hist));
  PetscCall(InvLossCreateShell(INV_HEAD_MEAN, (int)t->ntargets, (int)t->ntargets, DataLossEval, dl, (int)t->batch, loss));
  for (PetscInt k = 0; k < t->ntargets; k++) (*loss)->weight[k] = t->weight[k];
  (*loss)->mix[0] = dl->opt[1]; /* recorded with the model: the supervised weight of the fine-tuning phase */
  t->dloss = dl;
  PetscFunctionReturn(0);
}

PetscErrorCode InvTrainerDataLossDestroy(InvTrainer t)
{
  InvDataLoss dl = t->dloss;

  PetscFunctionBegin;
  if (!dl) PetscFunctionReturn(0);
  PetscCall(InvBatchTSDestroy(&dl->ts));
  PetscCall(InvPriorDestroy(&dl->prior));
  PetscCall(InvModelDestroy(&dl->model));
  PetscCall(PetscFree(dl->tobs));
  PetscCall(PetscFree3(dl->d, dl->rho, dl->sd));
  PetscCall(PetscFree6(dl->theta, dl->f, dl->g, dl->rhob, dl->sdb, dl->dptr));
  PetscCall(PetscFree2(dl->status, dl->clamped));
  PetscCall(PetscFree(dl->hist));
  PetscCall(PetscFree(dl));
  t->dloss = NULL;
  PetscFunctionReturn(0);
}

/* end of an epoch (collective): the mean J over the epoch's training samples (NaN before the data phase), the
   failed solves and the simulator time (max over ranks) into the history; a text for the epoch line */
PetscErrorCode InvTrainerDataLossEndEpoch(InvTrainer t, char str[], size_t len)
{
  InvDataLoss dl = t->dloss;
  double s[3], tmax;

  PetscFunctionBegin;
  str[0] = 0;
  if (!dl) PetscFunctionReturn(0);
  s[0] = dl->Jsum, s[1] = dl->nJ, s[2] = dl->nfail;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, s, 3, MPI_DOUBLE, MPI_SUM, t->comm));
  PetscCallMPI(MPI_Allreduce(&dl->tsim, &tmax, 1, MPI_DOUBLE, MPI_MAX, t->comm));
  dl->Jsum = dl->nJ = dl->nfail = dl->tsim = 0;
  if (dl->nhist < t->epochs) {
    double *h = dl->hist + (size_t)dl->nhist++ * INV_DATA_HIST_COLS;
    h[0] = (double)(t->epoch + 1);
    h[1] = s[1] > 0 ? s[0] / s[1] : NAN;
    h[2] = s[2];
    h[3] = tmax;
  }
  if (s[1] > 0) PetscCall(PetscSNPrintf(str, len, "  J %.4e  failed %.0f  sim %.3g s", s[0] / s[1], s[2], tmax));
  PetscFunctionReturn(0);
}

/* /history_data of model files and checkpoints */
PetscErrorCode InvTrainerDataLossHistoryWrite(InvTrainer t, hid_t file)
{
  InvDataLoss dl = t->dloss;
  hsize_t dims[2];
  hid_t dset;
  char units[512];

  PetscFunctionBegin;
  if (!dl || !dl->nhist) PetscFunctionReturn(0);
  dims[0] = (hsize_t)dl->nhist, dims[1] = INV_DATA_HIST_COLS;
  PetscCall(InvH5WriteSmall(file, "/history_data", H5T_NATIVE_DOUBLE, 2, dims, dl->hist));
  PetscCallHDF5Return(dset, H5Dopen2(file, "/history_data", H5P_DEFAULT));
  PetscCall(InvH5WriteAttrString(dset, "columns", INV_DATA_HIST_NAMES));
  PetscCall(
      PetscSNPrintf(units, sizeof(units),
                    "mean_J: the MAP objective J at the network's (box-projected) estimates, averaged over the epoch's training "
                    "samples as they were trained (NaN in supervised-only epochs; a failed solve counts %g); failed_solves: per epoch; "
                    "simulator_seconds: forward + adjoint time, max over ranks",
                    INV_DATA_LOSS_FAILED));
  PetscCall(InvH5WriteAttrString(dset, "units", units));
  PetscCallHDF5(H5Dclose(dset));
  PetscFunctionReturn(0);
}

PetscErrorCode InvTrainerDataLossHistoryRead(InvTrainer t, hid_t file)
{
  InvDataLoss dl = t->dloss;
  PetscBool has;
  PetscInt r;
  hsize_t dims[3];

  PetscFunctionBegin;
  if (!dl) PetscFunctionReturn(0);
  dl->nhist = 0;
  PetscCall(InvH5HasDataset(file, "/history_data", &has));
  if (!has) PetscFunctionReturn(0);
  PetscCall(InvH5GetDims(file, "/history_data", &r, dims));
  PetscCheck(r == 2 && dims[1] == INV_DATA_HIST_COLS && dims[0] <= (hsize_t)t->epochs, t->comm, PETSC_ERR_FILE_UNEXPECTED,
             "Checkpoint: /history_data must be (epochs <= %d) x %d", (int)t->epochs, INV_DATA_HIST_COLS);
  PetscCall(InvH5ReadAll(file, "/history_data", H5T_NATIVE_DOUBLE, dl->hist));
  dl->nhist = (PetscInt)dims[0];
  PetscFunctionReturn(0);
}

/* checkpoint attributes: the data-loss options (a resume must use the same) and every rank's epoch sums so far */
PetscErrorCode InvTrainerDataLossCheckpointWrite(InvTrainer t, hid_t root)
{
  InvDataLoss dl = t->dloss;
  double mine[INV_DATA_NSTATE], *all;

  PetscFunctionBegin;
  if (!dl) PetscFunctionReturn(0);
  mine[0] = dl->Jsum, mine[1] = dl->nJ, mine[2] = dl->nfail, mine[3] = dl->tsim;
  PetscCall(PetscMalloc1(INV_DATA_NSTATE * t->size, &all));
  PetscCallMPI(MPI_Allgather(mine, INV_DATA_NSTATE, MPI_DOUBLE, all, INV_DATA_NSTATE, MPI_DOUBLE, t->comm));
  PetscCall(InvH5WriteAttrReals(root, "train_data_loss_options", INV_DATA_NOPT, dl->opt));
  PetscCall(InvH5WriteAttrReals(root, "train_data_loss_per_rank", INV_DATA_NSTATE * t->size, all));
  PetscCall(PetscFree(all));
  PetscFunctionReturn(0);
}

PetscErrorCode InvTrainerDataLossCheckpointRead(InvTrainer t, hid_t root, const char name[], PetscBool same_ranks)
{
  InvDataLoss dl = t->dloss;
  double opt[INV_DATA_NOPT], *all;
  PetscBool has;

  PetscFunctionBegin;
  if (!dl) PetscFunctionReturn(0);
  PetscCall(InvH5HasAttr(root, "train_data_loss_options", &has));
  PetscCheck(has, t->comm, PETSC_ERR_ARG_INCOMP, "-resume: checkpoint %s was not trained with -train_loss data", name);
  PetscCall(InvH5ReadAttrReals(root, "train_data_loss_options", INV_DATA_NOPT, opt));
  for (int k = 0; k < INV_DATA_NOPT; k++)
    PetscCheck(opt[k] == dl->opt[k], t->comm, PETSC_ERR_ARG_INCOMP,
               "-resume: checkpoint %s has data-loss options (weight %g, supervised %g, start %g, ramp %g, clip %g); this run asks for "
               "(%g, %g, %g, %g, %g): use the same -train_loss_data_weight, -train_loss_data_supervised, -train_data_start_epoch, "
               "-train_data_ramp and -train_data_grad_clip",
               name, opt[0], opt[1], opt[2], opt[3], opt[4], dl->opt[0], dl->opt[1], dl->opt[2], dl->opt[3], dl->opt[4]);
  if (!same_ranks) PetscFunctionReturn(0); /* another rank count: the epoch's sums restart (the weights do not depend on them) */
  PetscCall(PetscMalloc1(INV_DATA_NSTATE * t->size, &all));
  PetscCall(InvH5ReadAttrReals(root, "train_data_loss_per_rank", INV_DATA_NSTATE * t->size, all));
  dl->Jsum = all[INV_DATA_NSTATE * t->rank], dl->nJ = all[INV_DATA_NSTATE * t->rank + 1];
  dl->nfail = all[INV_DATA_NSTATE * t->rank + 2], dl->tsim = all[INV_DATA_NSTATE * t->rank + 3];
  PetscCall(PetscFree(all));
  PetscFunctionReturn(0);
}

/* Testing (-train_data_check_gradient n): the loss's gradient with respect to the network's outputs of the first n
   local training samples (the initial network, the full data phase's weights) against central differences of the
   loss in the standardised outputs z; prints the largest difference relative to the largest gradient entry
   (max over ranks). The steps are taken in float32 outputs; the difference quotient divides by the step actually
   represented. The counters of the epoch are left as they were. */
PetscErrorCode InvTrainerDataLossCheckGradient(InvTrainer t, PetscInt n)
{
  InvDataLoss dl = t->dloss;
  InvNet net = t->map->net;
  const PetscInt P = t->ntargets, e = t->epoch;
  const double h = INV_DATA_FD_STEP;
  double sum, sp, sm, gmax = 0, emax = 0, saved[INV_DATA_NSTATE];
  float *Y, *out, *dout;
  PetscInt64 sample[INV_DATA_FD_MAXN];
  int nl;

  PetscFunctionBegin;
  PetscCheck(dl, t->comm, PETSC_ERR_ARG_WRONG, "-train_data_check_gradient needs -train_loss data");
  PetscCheck(n > 0 && n <= INV_DATA_FD_MAXN && n <= t->batch, t->comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-train_data_check_gradient %d must be in [1, min(%d, -train_batch)]", (int)n, INV_DATA_FD_MAXN);
  PetscCheck(dl->opt[4] == 0, t->comm, PETSC_ERR_ARG_INCOMP,
             "-train_data_check_gradient checks the unclipped gradient: drop -train_data_grad_clip");
  nl = (int)PetscMin(n, t->tr1 - t->tr0);
  saved[0] = dl->Jsum, saved[1] = dl->nJ, saved[2] = dl->nfail, saved[3] = dl->tsim;
  t->epoch = (PetscInt)(dl->opt[2] + dl->opt[3]); /* the full data phase */
  PetscCall(PetscMalloc2((size_t)nl * P + 1, &out, (size_t)nl * P + 1, &dout));
  net->training = PETSC_FALSE;
  if (nl > 0) {
    PetscCall(InvNetForward(net, t->Xtr, nl, NULL, 0, 0, &Y));
    PetscCall(PetscArraycpy(out, Y, (size_t)nl * P));
    for (int b = 0; b < nl; b++) sample[b] = t->tr0 + b;
    PetscCall(t->loss->eval(t->loss, nl, out, t->Ytr, sample, 1.0, &sum, dout));
    for (int i = 0; i < nl * P; i++) gmax = PetscMax(gmax, PetscAbsReal((double)dout[i]));
    for (int i = 0; i < nl * P; i++) {
      const float z = out[i], zp = (float)(z + h), zm = (float)(z - h);
      out[i] = zp;
      PetscCall(t->loss->eval(t->loss, nl, out, t->Ytr, sample, 1.0, &sp, NULL));
      out[i] = zm;
      PetscCall(t->loss->eval(t->loss, nl, out, t->Ytr, sample, 1.0, &sm, NULL));
      out[i] = z;
      emax = PetscMax(emax, PetscAbsReal((sp - sm) / ((double)zp - (double)zm) - (double)dout[i]));
    }
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &gmax, 1, MPI_DOUBLE, MPI_MAX, t->comm));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &emax, 1, MPI_DOUBLE, MPI_MAX, t->comm));
  PetscCall(PetscPrintf(t->comm,
                        "invmap train: data-loss gradient check on %d samples per rank: max |FD - gradient| / max |gradient| = %.3e "
                        "(max |gradient| %.3e, step %g)\n",
                        (int)n, emax / PetscMax(gmax, PETSC_SMALL), gmax, h));
  PetscCall(PetscFree2(out, dout));
  t->epoch = e;
  dl->Jsum = saved[0], dl->nJ = saved[1], dl->nfail = saved[2], dl->tsim = saved[3];
  PetscFunctionReturn(0);
}
