/* InvTrainer: options, set-up (data, normalisation, network, optimiser) and destruction. */
#include "trainerimpl.h"
#include <cblas.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *const InvAllreduceTypes[] = {"flat", "layer", "InvAllreduceType", "INV_ALLREDUCE_", NULL};

PetscErrorCode InvTrainerCreate(MPI_Comm comm, InvTrainer *out)
{
  InvTrainer t;

  PetscFunctionBegin;
  PetscCall(PetscNew(&t));
  t->comm = comm;
  PetscCallMPI(MPI_Comm_rank(comm, &t->rank));
  PetscCallMPI(MPI_Comm_size(comm, &t->size));
  PetscCall(PetscStrncpy(t->dataset, "u", sizeof(t->dataset)));
  PetscCall(PetscStrncpy(t->output, "model.h5", sizeof(t->output)));
  t->epochs = 200;
  t->batch = 32;
  t->seed = 123;
  t->val_frac = 0.1;
  t->patience = 0;
  t->ckpt_every = 10;
  t->check_every = 20;
  t->keep_best = PETSC_TRUE;
  t->blas_threads = -1;
  t->repr = INV_REPR_TIME;
  t->norm = INV_NORM_CHANNEL;
  t->allreduce = INV_ALLREDUCE_FLAT;
  t->best_val = PETSC_INFINITY;
  t->loss_type = INV_LOSS_MSE;
  t->data_opt[0] = 1; /* -train_loss data: J alone from the first epoch unless told otherwise */
  {
    const double mix[INV_LOSS_NMIX] = INV_LOSS_MIX_DEFAULT;
    for (int k = 0; k < INV_LOSS_NMIX; k++) t->loss_mix[k] = mix[k];
  }
  t->memory_mb = 2048;
  t->file = H5I_INVALID_HID;
  t->fd = -1;
  t->prefetch = PETSC_TRUE;
  PetscCall(PetscMemzero(&t->spec, sizeof(t->spec)));
  *out = t;
  PetscFunctionReturn(0);
}

PetscErrorCode InvTrainerSetFromOptions(InvTrainer t)
{
  PetscBool set;
  PetscInt64 seed = t->seed;
  (void)seed;
  PetscInt n = INV_MAX_TARGETS, nmix = INV_LOSS_NMIX;

  PetscFunctionBegin;
  PetscOptionsBegin(t->comm, NULL, "Training (invmap train)", "InvTrainer");
  PetscCall(PetscOptionsString("-i", "Training set (HDF5 written by invmap simulate)", "", t->data_file, t->data_file, sizeof(t->data_file),
                               &set));
  PetscCall(PetscOptionsString("-o", "Output model file (HDF5)", "", t->output, t->output, sizeof(t->output), NULL));
  PetscCall(
      PetscOptionsString("-train_data", "Input series: u (clean) or d (noisy)", "", t->dataset, t->dataset, sizeof(t->dataset), NULL));
  PetscCall(PetscOptionsString("-train_targets",
                               "Targets: comma-separated parameter names of the file, rho, sigma (default: all parameters)", "", t->targets,
                               t->targets, sizeof(t->targets), NULL));
  PetscCall(
      PetscOptionsReal("-train_prior_weight",
                       "Prior regulariser: weight of |output|^2 in standardised units (a Gaussian prior centred at the training-set mean)",
                       "", t->prior_weight, &t->prior_weight, NULL));
  PetscCheck(t->prior_weight >= 0, t->comm, PETSC_ERR_ARG_OUTOFRANGE, "-train_prior_weight %g must be >= 0", (double)t->prior_weight);
  PetscCall(PetscOptionsRealArray("-train_loss_weights", "Loss weight of each target", "", t->loss_weight, &n, &set));
  t->nloss_weight = set ? n : 0;
  PetscCall(PetscOptionsEnum(
      "-train_loss",
      "Loss: mse (the mean), nll (Gaussian negative log-likelihood of the parameters under a predicted "
      "mean and Cholesky factor), moment (MSE on the mean + Frobenius on the covariance against Laplace targets), mix, data "
      "(the MAP objective J of each sample at the estimate, through the simulator's adjoint, mixed with mse on a schedule)",
      "", InvLossTypes, (PetscEnum)t->loss_type, (PetscEnum *)&t->loss_type, NULL));
  PetscCall(
      PetscOptionsRealArray("-train_loss_mix", "-train_loss mix: weights of the mse, nll and moment terms", "", t->loss_mix, &nmix, &set));
  PetscCheck(!set || nmix == INV_LOSS_NMIX, t->comm, PETSC_ERR_ARG_SIZ, "-train_loss_mix takes %d weights (mse,nll,moment), got %d",
             INV_LOSS_NMIX, (int)nmix);
  PetscCheck(!set || t->loss_type == INV_LOSS_MIX, t->comm, PETSC_ERR_ARG_INCOMP,
             "-train_loss_mix weighs the terms of -train_loss mix; this run has -train_loss %s", InvLossTypes[t->loss_type]);
  PetscCheck(t->loss_mix[0] >= 0 && t->loss_mix[1] >= 0 && t->loss_mix[2] >= 0 && t->loss_mix[0] + t->loss_mix[1] + t->loss_mix[2] > 0,
             t->comm, PETSC_ERR_ARG_OUTOFRANGE, "-train_loss_mix %g,%g,%g: weights must be >= 0 and not all zero", (double)t->loss_mix[0],
             (double)t->loss_mix[1], (double)t->loss_mix[2]);
  PetscCall(PetscOptionsReal("-train_loss_data_weight", "-train_loss data: weight of the data-space term J (the MAP objective)", "",
                             t->data_opt[0], &t->data_opt[0], NULL));
  PetscCall(PetscOptionsReal("-train_loss_data_supervised",
                             "-train_loss data: weight of the supervised squared error alongside J once the data phase has ramped up", "",
                             t->data_opt[1], &t->data_opt[1], NULL));
  PetscCall(PetscOptionsReal("-train_data_start_epoch", "-train_loss data: epochs of supervised pre-training (mse) before the data term",
                             "", t->data_opt[2], &t->data_opt[2], NULL));
  PetscCall(PetscOptionsReal("-train_data_ramp", "-train_loss data: epochs over which the weights ramp linearly from supervised to data",
                             "", t->data_opt[3], &t->data_opt[3], NULL));
  PetscCall(PetscOptionsReal("-train_data_grad_clip",
                             "-train_loss data: clip each problem's gradient dJ/dz (standardised outputs) to this norm (0: off)", "",
                             t->data_opt[4], &t->data_opt[4], NULL));
  PetscCheck(t->data_opt[0] >= 0 && t->data_opt[1] >= 0 && t->data_opt[4] >= 0, t->comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-train_loss_data_weight %g, -train_loss_data_supervised %g and -train_data_grad_clip %g must be >= 0", (double)t->data_opt[0],
             (double)t->data_opt[1], (double)t->data_opt[4]);
  PetscCheck(t->data_opt[2] >= 0 && t->data_opt[3] >= 0 && t->data_opt[2] == PetscFloorReal(t->data_opt[2]) &&
                 t->data_opt[3] == PetscFloorReal(t->data_opt[3]),
             t->comm, PETSC_ERR_ARG_OUTOFRANGE, "-train_data_start_epoch %g and -train_data_ramp %g must be non-negative integers",
             (double)t->data_opt[2], (double)t->data_opt[3]);
  PetscCheck(t->loss_type != INV_LOSS_DATA || t->data_opt[0] + t->data_opt[1] > 0, t->comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-train_loss data: -train_loss_data_weight and -train_loss_data_supervised are both 0");
  PetscCheck(t->loss_type != INV_LOSS_SHELL, t->comm, PETSC_ERR_ARG_WRONG,
             "-train_loss shell: a shell loss is supplied by code (InvLossCreateShell), not an option; use mse, nll, moment or mix");
  PetscCheck(!(t->nloss_weight && t->loss_type == INV_LOSS_NLL), t->comm, PETSC_ERR_ARG_INCOMP,
             "-train_loss_weights weight the squared errors of the mean, which -train_loss nll has none of: drop them, or use "
             "-train_loss mix with an mse weight");
  t->laplace = (PetscBool)(t->loss_type == INV_LOSS_MOMENT || (t->loss_type == INV_LOSS_MIX && t->loss_mix[2] > 0));
  PetscCall(PetscOptionsEnum("-train_repr", "Input representation", "", InvReprTypes, (PetscEnum)t->repr, (PetscEnum *)&t->repr, NULL));
  PetscCall(
      PetscOptionsEnum("-train_input_norm", "Input standardisation", "", InvNormTypes, (PetscEnum)t->norm, (PetscEnum *)&t->norm, NULL));
  PetscCall(PetscOptionsInt("-train_epochs", "Epochs", "", t->epochs, &t->epochs, NULL));
  PetscCall(PetscOptionsInt("-train_batch", "Global batch size (split over the ranks)", "", t->batch, &t->batch, NULL));
  {
    PetscReal rs = (PetscReal)seed;
    PetscCall(PetscOptionsReal("-train_seed", "Seed of initialisation, shuffling, dropout and fresh noise (integer)", "", rs, &rs, NULL));
    PetscCheck(rs >= 0 && rs == (PetscReal)(PetscInt64)rs, t->comm, PETSC_ERR_ARG_OUTOFRANGE,
               "-train_seed %g must be a non-negative integer", (double)rs);
    t->seed = (PetscInt64)rs;
  }
  PetscCall(PetscOptionsInt("-train_max_samples", "Use only the first N usable samples of the file (0 = all)", "", t->max_samples,
                            &t->max_samples, NULL));
  PetscCall(PetscOptionsReal("-train_val_frac", "Fraction of the samples held out for validation (the last ones)", "", t->val_frac,
                             &t->val_frac, NULL));
  PetscCall(PetscOptionsInt("-train_patience", "Early stopping: epochs without validation improvement (0 = off)", "", t->patience,
                            &t->patience, NULL));
  t->keep_best = (PetscBool)(t->loss_type != INV_LOSS_DATA); /* the supervised validation loss would undo the data-space fine-tuning */
  PetscCall(PetscOptionsBool("-train_keep_best", "Return the weights of the best validation epoch (default: yes; -train_loss data: no)", "",
                             t->keep_best, &t->keep_best, NULL));
  PetscCall(PetscOptionsBool("-noise_fresh", "Fresh AR(1) noise per sample per epoch on the clean series", "", t->noise_fresh,
                             &t->noise_fresh, NULL));
  PetscCall(PetscOptionsString("-train_checkpoint", "Checkpoint file (default <output>.ckpt)", "", t->checkpoint, t->checkpoint,
                               sizeof(t->checkpoint), NULL));
  PetscCall(PetscOptionsInt("-train_checkpoint_every", "Checkpoint every K epochs (0 = only on SIGTERM/SIGUSR1)", "", t->ckpt_every,
                            &t->ckpt_every, NULL));
  PetscCall(PetscOptionsInt("-train_signal_check", "Poll for SIGTERM/SIGUSR1 every this many batches", "", t->check_every, &t->check_every,
                            NULL));
  PetscCall(PetscOptionsInt("-train_interrupt_after", "Testing: behave as if SIGUSR1 arrived after this many batches of this run", "",
                            t->interrupt_after, &t->interrupt_after, NULL));
  PetscCall(
      PetscOptionsInt("-train_data_check_gradient",
                      "Testing: compare the data-space loss's gradient on this many training samples per rank with finite differences "
                      "before training",
                      "", t->data_check, &t->data_check, NULL));
  PetscCall(PetscOptionsBool("-resume", "Continue from the checkpoint", "", t->resume, &t->resume, NULL));
  PetscCall(PetscOptionsBool("-overwrite", "Replace an existing model file (the old one is kept until the new one is complete)", "",
                             t->overwrite, &t->overwrite, NULL));
  PetscCall(PetscOptionsEnum("-train_allreduce", "Gradient reduction: one flat Allreduce, or per-layer Iallreduce overlapping backward", "",
                             InvAllreduceTypes, (PetscEnum)t->allreduce, (PetscEnum *)&t->allreduce, NULL));
  PetscCall(PetscOptionsInt("-train_blas_threads", "OpenBLAS threads per rank (default 1)", "", t->blas_threads, &t->blas_threads, NULL));
  PetscCall(PetscOptionsReal("-train_memory_mb",
                             "Budget of the data buffers per rank (MB); a training set whose in-memory footprint on one rank exceeds it "
                             "is streamed from the file",
                             "", t->memory_mb, &t->memory_mb, NULL));
  {
    const char *modes[] = {"auto", "yes", "no"};
    PetscInt m = t->stream_mode;
    PetscCall(PetscOptionsEList("-train_stream", "Stream the training set from the file: auto (when over -train_memory_mb), yes, no", "",
                                modes, 3, modes[m], &m, NULL));
    t->stream_mode = m;
  }
  PetscCall(PetscOptionsInt("-train_stream_chunk", "Streaming: samples per chunk, the unit of the chunk-level shuffle (0 = 256)", "",
                            t->chunk_opt, &t->chunk_opt, NULL));
  PetscCall(PetscOptionsInt("-train_stream_window",
                            "Streaming: chunks per window, inside which samples are shuffled (0 = as many as -train_memory_mb holds)", "",
                            t->window_opt, &t->window_opt, NULL));
  PetscCall(
      PetscOptionsBool("-train_stream_prefetch",
                       "Streaming: read the next batches in a reader thread while the current ones train (when the file's layout allows "
                       "direct reads); no: synchronous HDF5 reads (the same weights)",
                       "", t->prefetch, &t->prefetch, NULL));
  PetscCall(PetscOptionsBool("-train_stream_readahead",
                             "Streaming with direct reads: no reader thread; the kernel reads the next batches ahead (posix_fadvise) "
                             "and they are read when due (the same weights)",
                             "", t->readahead, &t->readahead, NULL));
  PetscCall(PetscOptionsBool("-quiet", "No progress lines", "", t->quiet, &t->quiet, NULL));
  PetscOptionsEnd();
  PetscCall(InvNetSpecSetFromOptions(&t->spec));
  PetscCall(InvOptCreate(0, &t->opt));
  PetscCall(InvOptSetFromOptions(t->opt));
  PetscCall(InvNoiseCreate(&t->noise));
  PetscCall(InvNoiseSetFromOptions(t->noise));
  if (!t->checkpoint[0]) PetscCall(PetscSNPrintf(t->checkpoint, sizeof(t->checkpoint), "%s.ckpt", t->output));
  PetscCheck(t->epochs > 0, t->comm, PETSC_ERR_ARG_OUTOFRANGE, "-train_epochs %d must be positive", (int)t->epochs);
  PetscCheck(t->batch > 0, t->comm, PETSC_ERR_ARG_OUTOFRANGE, "-train_batch %d must be positive", (int)t->batch);
  PetscCheck(t->val_frac >= 0 && t->val_frac < 1, t->comm, PETSC_ERR_ARG_OUTOFRANGE, "-train_val_frac %g must be in [0, 1)",
             (double)t->val_frac);
  PetscCheck(t->patience >= 0 && t->ckpt_every >= 0 && t->max_samples >= 0 && t->check_every > 0, t->comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-train_patience, -train_checkpoint_every and -train_max_samples must be >= 0, -train_signal_check > 0");
  PetscCheck(t->memory_mb > 0 && t->chunk_opt >= 0 && t->window_opt >= 0, t->comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-train_memory_mb %g must be positive, -train_stream_chunk %d and -train_stream_window %d >= 0", (double)t->memory_mb,
             (int)t->chunk_opt, (int)t->window_opt);
  PetscCheck(!strcmp(t->dataset, "u") || !strcmp(t->dataset, "d"), t->comm, PETSC_ERR_ARG_WRONG,
             "-train_data %s: use u (clean) or d (noisy)", t->dataset);
  PetscCheck(!(t->noise_fresh && !strcmp(t->dataset, "d")), t->comm, PETSC_ERR_ARG_INCOMP,
             "-noise_fresh adds noise to the clean series: use it with -train_data u");
  PetscFunctionReturn(0);
}

PetscErrorCode InvTrainerSetUp(InvTrainer t)
{
  InvNNMap map;
  PetscBool exists;

  PetscFunctionBegin;
  PetscCheck(t->data_file[0], t->comm, PETSC_ERR_ARG_NULL, "No training set: give -i <file.h5> (made by invmap simulate)");
  /* the per-rank GEMMs are small (batch x layer width): OpenBLAS threads cost more than they give */
  openblas_set_num_threads(t->blas_threads > 0 ? (int)t->blas_threads : 1);
  PetscCall(InvFileExists(t->output, &exists));
  PetscCheck(!exists || t->overwrite || t->resume, t->comm, PETSC_ERR_FILE_UNEXPECTED,
             "The model file %s exists: give -overwrite to replace it (or -resume to continue its checkpointed run), or another -o",
             t->output);
  { /* fail now, not after hours of training, when the model cannot be written */
    char partial[PETSC_MAX_PATH_LEN];
    int err = 0;
    PetscCall(InvPartialName(t->output, partial, sizeof(partial)));
    if (!t->rank) {
      FILE *fp = fopen(partial, "w");
      if (!fp)
        err = errno;
      else {
        fclose(fp);
        (void)remove(partial);
      }
    }
    PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, t->comm));
    PetscCheck(!err, t->comm, PETSC_ERR_FILE_OPEN, "Cannot write the model file %s (%s): check -o", t->output, strerror(err));
  }
  if (t->resume) {
    PetscCall(InvFileExists(t->checkpoint, &exists));
    PetscCheck(exists, t->comm, PETSC_ERR_FILE_OPEN, "-resume: checkpoint %s does not exist (set it with -train_checkpoint)",
               t->checkpoint);
  }
  PetscCall(PetscNew(&map));
  t->map = map;
  PetscCall(InvTrainerLoadData(t)); /* also fits the normalisation into map->feat */
  t->spec.in_len = map->feat->len;
  t->spec.in_ch = map->feat->ch;
  {
    double mix[INV_LOSS_NMIX];
    for (int k = 0; k < INV_LOSS_NMIX; k++) mix[k] = (double)t->loss_mix[k];
    if (t->loss_type == INV_LOSS_DATA)
      PetscCall(InvTrainerDataLossCreate(t, &t->loss));
    else
      PetscCall(InvLossCreate(t->loss_type, (int)t->ntargets, t->weight, mix, (int)t->batch, &t->loss));
  }
  map->head = t->loss->head; /* recorded in the model file: predict knows the head */
  PetscCall(PetscStrncpy(map->loss, InvLossTypes[t->loss_type], sizeof(map->loss)));
  t->spec.out_dim = t->loss->nout;
  PetscCall(InvNetCreate(&t->spec, (int)t->batch, &map->net));
  PetscCall(InvNetInitialize(map->net, t->seed));
  {
    InvOpt o = t->opt; /* keep the options, size the moments */
    PetscCall(PetscFree(o->m));
    PetscCall(PetscFree(o->v));
    o->n = map->net->nparams;
    PetscCall(PetscCalloc1(o->n, &o->m));
    PetscCall(PetscCalloc1(o->n, &o->v));
    o->total_epochs = t->epochs;
  }
  PetscCall(PetscMalloc1(map->net->nparams, &t->best));
  PetscCall(PetscCalloc1((size_t)t->epochs * INV_TRAIN_HIST_COLS, &t->hist));
  PetscCall(PetscArraycpy(t->best, map->net->params, map->net->nparams));
  PetscCall(PetscMalloc1(t->batch, &t->idx));
  PetscCall(PetscMalloc3((size_t)t->batch * map->feat->size, &t->Xb, (size_t)t->batch * t->nty, &t->Yb, (size_t)t->batch * t->loss->nout,
                         &t->dY));
  InvTrainerTrack(t, (double)t->batch * (4.0 * map->feat->size + 4.0 * t->nty + 4.0 * t->loss->nout) + 16.0 * t->n_obs * t->n_ch);
  PetscCall(PetscMalloc1(2 * INV_NN_MAXLAYERS + 4, &t->reqs));
  PetscCall(InvTrainerEpochSetUp(t));
  if (t->resume) PetscCall(InvTrainerCheckpointRead(t, t->checkpoint));
  if (t->data_check) PetscCall(InvTrainerDataLossCheckGradient(t, t->data_check));
  PetscFunctionReturn(0);
}

PetscErrorCode InvTrainerDestroy(InvTrainer *tp)
{
  InvTrainer t = *tp;

  PetscFunctionBegin;
  if (!t) PetscFunctionReturn(0);
  PetscCall(PetscFree(t->Xtr));
  PetscCall(PetscFree(t->Ytr));
  PetscCall(PetscFree(t->Xva));
  PetscCall(PetscFree(t->Yva));
  PetscCall(PetscFree(t->Utr));
  PetscCall(PetscFree(t->noise_par));
  PetscCall(PetscFree2(t->ubuf, t->dbuf));
  PetscCall(InvNoiseDestroy(&t->noise));
  PetscCall(InvNNMapDestroy(&t->map));
  PetscCall(InvOptDestroy(&t->opt));
  PetscCall(InvLossDestroy(&t->loss));
  PetscCall(InvTrainerDataLossDestroy(t));
  PetscCall(PetscFree(t->best));
  PetscCall(PetscFree(t->hist));
  PetscCall(PetscFree2(t->perm, t->ipos));
  PetscCall(PetscFree(t->idx));
  PetscCall(InvTrainerStreamDestroy(t));
  PetscCall(PetscFree3(t->Xb, t->Yb, t->dY));
  PetscCall(PetscFree(t->reqs));
  PetscCall(PetscFree(t->ebuf));
  PetscCall(PetscFree(t));
  *tp = NULL;
  PetscFunctionReturn(0);
}
