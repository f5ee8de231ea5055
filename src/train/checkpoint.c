/* Checkpoints (model file + optimiser moments, best weights, progress state, training history and a
   signature of the run) and the final model file (with the per-epoch history /history), all written to
   "<name>.partial" and committed atomically. */
#include "trainerimpl.h"
#include <invmap/h5io.h>

/* /history: (epochs x INV_TRAIN_HIST_COLS) float64, the string attribute `columns` names the columns */
PetscErrorCode InvTrainerHistoryWrite(InvTrainer t, hid_t file)
{
  hsize_t dims[2] = {(hsize_t)t->nhist, INV_TRAIN_HIST_COLS};
  hid_t dset;

  PetscFunctionBegin;
  if (!t->nhist) PetscFunctionReturn(0);
  PetscCall(InvH5WriteSmall(file, "/history", H5T_NATIVE_DOUBLE, 2, dims, t->hist));
  PetscCallHDF5Return(dset, H5Dopen2(file, "/history", H5P_DEFAULT));
  PetscCall(InvH5WriteAttrString(dset, "columns", INV_TRAIN_HIST_NAMES));
  PetscCall(
      InvH5WriteAttrString(dset, "units",
                           "epoch: 1-based; losses: the -train_loss (model attribute loss; mse: mean weighted squared error) per target in "
                           "standardised units (val_loss NaN "
                           "without validation); elapsed_seconds: training time since the first start, over resumes; "
                           "samples_per_second: training samples of the epoch / its wall time"));
  PetscCallHDF5(H5Dclose(dset));
  PetscCall(InvTrainerDataLossHistoryWrite(t, file));
  PetscFunctionReturn(0);
}

PetscErrorCode InvTrainerHistoryRead(InvTrainer t, hid_t file)
{
  PetscBool has;
  PetscInt r;
  hsize_t dims[3];

  PetscFunctionBegin;
  t->nhist = 0;
  PetscCall(InvH5HasDataset(file, "/history", &has));
  if (!has) PetscFunctionReturn(0);
  PetscCall(InvH5GetDims(file, "/history", &r, dims));
  PetscCheck(r == 2 && dims[1] == INV_TRAIN_HIST_COLS && dims[0] <= (hsize_t)t->epochs, t->comm, PETSC_ERR_FILE_UNEXPECTED,
             "Checkpoint: /history must be (epochs <= %d) x %d", (int)t->epochs, INV_TRAIN_HIST_COLS);
  PetscCall(InvH5ReadAll(file, "/history", H5T_NATIVE_DOUBLE, t->hist));
  t->nhist = (PetscInt)dims[0];
  PetscCall(InvTrainerDataLossHistoryRead(t, file));
  PetscFunctionReturn(0);
}

PetscErrorCode InvTrainerCheckpointWrite(InvTrainer t, const char name[])
{
  char partial[PETSC_MAX_PATH_LEN];
  hid_t file, root;
  hsize_t dim = (hsize_t)t->map->net->nparams;
  PetscInt64 state[13] = {t->epoch,
                          t->batch_next,
                          t->opt->t,
                          t->wait,
                          t->seed,
                          t->Ntr,
                          t->Nval,
                          t->batch,
                          (PetscInt64)t->map->net->nparams,
                          t->epochs,
                          t->stream,
                          t->stream ? t->chunk : 0,
                          t->stream ? t->window : 0};
  PetscReal rstate[3] = {0, t->best_val, t->elapsed}, *lossr;
  PetscInt64 nranks = t->size;

  PetscFunctionBegin;
  /* The epoch's loss so far: every rank's partial sum (attributes are written with equal values on every rank), so that
     -resume on the same rank count continues each rank's own sum and the history's train loss is bitwise that of an
     uninterrupted run; their total for a resume on another rank count. */
  PetscCall(PetscMalloc1(t->size, &lossr));
  PetscCallMPI(MPI_Allgather(&t->epoch_loss, 1, MPI_DOUBLE, lossr, 1, MPI_DOUBLE, t->comm));
  for (PetscMPIInt r = 0; r < t->size; r++) rstate[0] += lossr[r];
  PetscCall(InvPartialName(name, partial, sizeof(partial)));
  PetscCall(InvH5Create(t->comm, partial, &file));
  PetscCall(InvNNMapWrite(t->map, file));
  PetscCall(InvH5WriteSmall(file, "/opt/m", H5T_NATIVE_FLOAT, 1, &dim, t->opt->m));
  PetscCall(InvH5WriteSmall(file, "/opt/v", H5T_NATIVE_FLOAT, 1, &dim, t->opt->v));
  PetscCall(InvH5WriteSmall(file, "/best_params", H5T_NATIVE_FLOAT, 1, &dim, t->best));
  PetscCall(InvTrainerHistoryWrite(t, file));
  PetscCallHDF5Return(root, H5Gopen2(file, "/", H5P_DEFAULT));
  PetscCall(InvH5WriteAttrString(root, "kind", "invmap_nn_checkpoint"));
  PetscCall(InvH5WriteAttrString(root, "training_set", t->data_file));
  PetscCall(InvH5WriteAttrInts(root, "train_state", 13, state));
  PetscCall(InvH5WriteAttrReals(root, "train_state_reals", 3, rstate));
  PetscCall(InvH5WriteAttrInts(root, "train_loss_ranks", 1, &nranks));
  PetscCall(InvH5WriteAttrReals(root, "train_loss_per_rank", t->size, lossr));
  PetscCall(InvH5WriteAttrReals(root, "loss_mix", INV_LOSS_NMIX, t->loss->mix));
  PetscCall(InvTrainerDataLossCheckpointWrite(t, root));
  PetscCallHDF5(H5Gclose(root));
  PetscCall(InvH5Close(&file));
  PetscCall(PetscFree(lossr));
  PetscCall(InvFileCommit(t->comm, name));
  PetscFunctionReturn(0);
}

/* -resume continues with the checkpoint's loss: its name and mix weights (checkpoints without them: mse) */
static PetscErrorCode CheckpointLossMatches(InvTrainer t, const char name[], hid_t root)
{
  char loss[32] = "mse", *v;
  PetscReal mix[INV_LOSS_NMIX] = {1, 0, 0};
  PetscBool has, same;

  PetscFunctionBegin;
  PetscCall(InvH5HasAttr(root, "loss", &has));
  if (has) {
    PetscCall(InvH5ReadAttrString(root, "loss", &v));
    PetscCall(PetscStrncpy(loss, v, sizeof(loss)));
    PetscCall(PetscFree(v));
  }
  PetscCall(InvH5HasAttr(root, "loss_mix", &has));
  if (has) PetscCall(InvH5ReadAttrReals(root, "loss_mix", INV_LOSS_NMIX, mix));
  PetscCall(PetscStrcmp(loss, t->map->loss, &same));
  for (int k = 0; k < INV_LOSS_NMIX; k++)
    if (mix[k] != t->loss->mix[k]) same = PETSC_FALSE;
  PetscCheck(same, t->comm, PETSC_ERR_ARG_INCOMP,
             "-resume: checkpoint %s was trained with -train_loss %s (mix %g,%g,%g); this run asks for %s (mix %g,%g,%g): use the same "
             "-train_loss and -train_loss_mix",
             name, loss, (double)mix[0], (double)mix[1], (double)mix[2], t->map->loss, t->loss->mix[0], t->loss->mix[1], t->loss->mix[2]);
  PetscFunctionReturn(0);
}

PetscErrorCode InvTrainerCheckpointRead(InvTrainer t, const char name[])
{
  hid_t file, root;
  PetscInt64 state[13];
  PetscReal rstate[3], *lossr = NULL;
  PetscInt64 nranks = 0;
  PetscBool has, eq;
  InvNetSpec spec;
  const hsize_t nparams = (hsize_t)t->map->net->nparams, nin = (hsize_t)t->map->feat->size, nout = (hsize_t)t->map->feat->ntargets;

  PetscFunctionBegin;
  PetscCall(InvH5Open(t->comm, name, PETSC_FALSE, &file));
  PetscCallHDF5Return(root, H5Gopen2(file, "/", H5P_DEFAULT));
  PetscCall(InvH5HasAttr(root, "train_state", &has));
  PetscCheck(has, t->comm, PETSC_ERR_FILE_UNEXPECTED, "%s is not an invmap training checkpoint", name);
  PetscCall(InvH5ReadAttrInts(root, "train_state", 13, state));
  PetscCall(InvH5ReadAttrReals(root, "train_state_reals", 3, rstate));
  PetscCall(InvH5HasAttr(root, "train_loss_ranks", &has));
  if (has) PetscCall(InvH5ReadAttrInts(root, "train_loss_ranks", 1, &nranks));
  if (nranks == t->size) {
    PetscCall(PetscMalloc1(t->size, &lossr));
    PetscCall(InvH5ReadAttrReals(root, "train_loss_per_rank", t->size, lossr));
  }
  PetscCall(PetscMemzero(&spec, sizeof(spec)));
  PetscCall(InvNetSpecRead(&spec, root));
  PetscCall(CheckpointLossMatches(t, name, root));
  PetscCall(InvTrainerDataLossCheckpointRead(t, root, name, (PetscBool)(nranks == t->size)));
  PetscCallHDF5(H5Gclose(root));
  PetscCall(InvNetSpecEqual(&spec, &t->map->net->spec, &eq));
  PetscCheck(eq, t->comm, PETSC_ERR_ARG_INCOMP, "-resume: checkpoint %s holds another architecture than the options ask for", name);
  PetscCheck(state[4] == t->seed && state[5] == t->Ntr && state[6] == t->Nval && state[7] == t->batch &&
                 state[8] == (PetscInt64)t->map->net->nparams,
             t->comm, PETSC_ERR_ARG_INCOMP,
             "-resume: checkpoint %s was made with seed %lld, %lld+%lld samples, batch %lld; this run has seed %lld, %lld+%lld, batch %d",
             name, (long long)state[4], (long long)state[5], (long long)state[6], (long long)state[7], (long long)t->seed,
             (long long)t->Ntr, (long long)t->Nval, (int)t->batch);
  PetscCheck(state[10] == t->stream && state[11] == (t->stream ? t->chunk : 0) && state[12] == (t->stream ? t->window : 0), t->comm,
             PETSC_ERR_ARG_INCOMP,
             "-resume: checkpoint %s was made %s (chunk %lld, window %lld); this run is %s (chunk %d, window %d): use the same "
             "-train_stream, -train_memory_mb, -train_stream_chunk and -train_stream_window",
             name, state[10] ? "streaming" : "in memory", (long long)state[11], (long long)state[12], t->stream ? "streaming" : "in memory",
             t->stream ? (int)t->chunk : 0, t->stream ? (int)t->window : 0);
  PetscCheck(state[0] >= 0 && state[0] <= t->epochs && state[1] >= 0 && state[2] >= 0 && state[3] >= 0, t->comm, PETSC_ERR_FILE_UNEXPECTED,
             "Checkpoint %s: corrupt progress state (epoch %lld of %d, batch %lld, step %lld, wait %lld)", name, (long long)state[0],
             (int)t->epochs, (long long)state[1], (long long)state[2], (long long)state[3]);
  PetscCall(InvH5ReadVector(file, "/params", H5T_NATIVE_FLOAT, nparams, t->map->net->params));
  PetscCall(InvH5ReadVector(file, "/opt/m", H5T_NATIVE_FLOAT, nparams, t->opt->m));
  PetscCall(InvH5ReadVector(file, "/opt/v", H5T_NATIVE_FLOAT, nparams, t->opt->v));
  PetscCall(InvH5ReadVector(file, "/best_params", H5T_NATIVE_FLOAT, nparams, t->best));
  PetscCall(InvTrainerHistoryRead(t, file));
  /* the normalisation of the checkpoint (identical when the data are) */
  PetscCall(InvH5ReadVector(file, "/norm/in_mean", H5T_NATIVE_DOUBLE, nin, t->map->feat->in_mean));
  PetscCall(InvH5ReadVector(file, "/norm/in_std", H5T_NATIVE_DOUBLE, nin, t->map->feat->in_std));
  PetscCall(InvH5ReadVector(file, "/norm/out_mean", H5T_NATIVE_DOUBLE, nout, t->map->feat->out_mean));
  PetscCall(InvH5ReadVector(file, "/norm/out_std", H5T_NATIVE_DOUBLE, nout, t->map->feat->out_std));
  PetscCall(InvH5Close(&file));
  t->epoch = (PetscInt)state[0];
  t->batch_next = (PetscInt)state[1];
  t->opt->t = state[2];
  t->wait = (PetscInt)state[3];
  if (lossr)
    t->epoch_loss = lossr[t->rank]; /* each rank's own partial sum: bitwise the uninterrupted sum */
  else
    t->epoch_loss = t->rank == 0 ? rstate[0] : 0; /* another rank count: the total on rank 0 (agrees to rounding) */
  PetscCall(PetscFree(lossr));
  t->best_val = rstate[1];
  t->elapsed = rstate[2];
  PetscFunctionReturn(0);
}

PetscErrorCode InvTrainerWriteModel(InvTrainer t)
{
  char partial[PETSC_MAX_PATH_LEN], *opts;
  hid_t file, root;
  PetscInt64 info[3] = {t->Ntr, t->Nval, t->epoch};

  PetscFunctionBegin;
  PetscCall(InvPartialName(t->output, partial, sizeof(partial)));
  PetscCall(InvH5Create(t->comm, partial, &file));
  PetscCall(InvNNMapWrite(t->map, file));
  PetscCall(InvTrainerHistoryWrite(t, file));
  PetscCallHDF5Return(root, H5Gopen2(file, "/", H5P_DEFAULT));
  PetscCall(InvH5WriteAttrString(root, "training_set", t->data_file));
  PetscCall(InvH5WriteAttrInts(root, "train_samples_val_epochs", 3, info));
  PetscCall(InvH5WriteAttrReals(root, "best_val_loss", 1, &t->best_val));
  PetscCall(InvH5WriteAttrReals(root, "loss_mix", INV_LOSS_NMIX, t->loss->mix)); /* weights of the mse, nll and moment terms */
  {
    PetscInt64 mem[2] = {(PetscInt64)t->mem_peak, (PetscInt64)(t->memory_mb * 1048576.0)};
    PetscCall(InvH5WriteAttrInts(root, "train_data_peak_bytes", 2, mem)); /* peak over ranks, budget per rank */
    PetscCall(InvH5WriteAttrString(root, "train_data_mode", t->stream ? "streamed" : "in memory"));
  }
  PetscCall(InvOptionsString(&opts));
  PetscCall(InvH5WriteAttrString(root, "options", opts));
  PetscCall(PetscFree(opts));
  PetscCallHDF5(H5Gclose(root));
  PetscCall(InvH5Close(&file));
  PetscCall(InvFileCommit(t->comm, t->output));
  PetscFunctionReturn(0);
}
