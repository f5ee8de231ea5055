/* The data-parallel training loop: global shuffle per epoch, global batches split by sample ownership,
   the loss (InvLoss: the loop is the same for every loss), gradient sums by MPI_Allreduce (flat, or per layer
   overlapping backward), Adam(W) step, validation,
   early stopping, progress lines, checkpoints and interrupts. */
#include "trainerimpl.h"
#include <invmap/rng.h>
#include <signal.h>

/* backward callback: start the reduction of a layer's finished gradient slice */
static PetscErrorCode LayerDone(InvNet net, int l, void *ctx)
{
  InvTrainer t = (InvTrainer)ctx;
  InvLayer *L = &net->layer[l];
  int flag;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Iallreduce(MPI_IN_PLACE, net->grads + L->grad_lo, L->grad_n, MPI_FLOAT, MPI_SUM, t->comm, &t->reqs[t->nreqs++]));
  PetscCallMPI(MPI_Testall(t->nreqs, t->reqs, &flag, MPI_STATUSES_IGNORE)); /* progress the earlier ones */
  PetscFunctionReturn(0);
}

/* validation sums of n samples (in batches of -train_batch): loss, then per target sum d^2, sum T, sum T^2 */
static PetscErrorCode ValidateBlock(InvTrainer t, PetscInt64 n, const float *X, const float *T, double s[])
{
  InvNet net = t->map->net;
  PetscInt O = t->ntargets, no = t->loss->nout; /* the first O outputs of a sample are the mean for every head */
  PetscInt nt = t->nty;                         /* target rows: the O parameters first (then any Laplace targets) */
  float *Y;

  PetscFunctionBegin;
  for (PetscInt64 i0 = 0; i0 < n; i0 += t->batch) {
    int B = (int)PetscMin(t->batch, n - i0);
    const float *Ti = T + i0 * nt;
    double sum;
    PetscCall(InvNetForward(net, X + i0 * net->in_size, B, NULL, 0, 0, &Y));
    PetscCall(InvLossEvaluate(t->loss, B, Y, Ti, NULL, 1.0, &sum, NULL));
    s[0] += sum;
    for (int i = 0; i < B; i++)
      for (PetscInt k = 0; k < O; k++) {
        double d = (double)Y[i * no + k] - Ti[i * nt + k];
        s[1 + 3 * k] += d * d;
        s[2 + 3 * k] += Ti[i * nt + k];
        s[3 + 3 * k] += (double)Ti[i * nt + k] * Ti[i * nt + k];
      }
  }
  PetscFunctionReturn(0);
}

/* validation loss and R^2 per target (in standardised units, which leaves R^2 unchanged), reduced over
   ranks; streamed sets are read again in blocks (a multiple of the batch: the same sums as in memory) */
static PetscErrorCode Validate(InvTrainer t, double *val, double r2[])
{
  InvNet net = t->map->net;
  PetscInt64 n = t->va1 - t->va0;
  PetscInt O = t->ntargets;
  double s[1 + 3 * INV_MAX_TARGETS] = {0};

  PetscFunctionBegin;
  net->training = PETSC_FALSE;
  if (!t->stream)
    PetscCall(ValidateBlock(t, n, t->Xva, t->Yva, s));
  else {
    PetscInt64 vb = t->val_block, nblk = (n + vb - 1) / vb, npiece = (vb + t->rcap - 1) / t->rcap;
    InvFeat f = t->map->feat;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &nblk, 1, MPIU_INT64, MPI_MAX, t->comm));
    for (PetscInt64 k = 0; k < nblk; k++) {
      PetscInt64 g0 = PetscMin(t->va0 + k * vb, t->va1), g1 = PetscMin(g0 + vb, t->va1);
      for (PetscInt64 q = 0; q < npiece; q++) { /* pieces of the read buffer; the same count on every rank (collective reads) */
        PetscInt64 h0 = PetscMin(g0 + q * t->rcap, g1), h1 = PetscMin(h0 + t->rcap, g1);
        PetscCall(InvTrainerReadBlock(t, h0, h1, t->rU, t->rTh, t->rNz));
        for (PetscInt64 i = 0; i < h1 - h0; i++) {
          double y[INV_MAX_TARGETS];
          PetscCall(InvFeatTransform(f, InvTrainerSeriesRow(t, t->rU, i), t->Xva + (h0 - g0 + i) * f->size));
          PetscCall(InvTrainerTargets(t, 1, t->rTh + i * t->P, t->rNz + 2 * i, y));
          PetscCall(InvFeatNormalizeTargets(f, 1, y, t->Yva + (h0 - g0 + i) * O));
        }
      }
      PetscCall(InvFeatNormalizeInput(f, (PetscInt)(g1 - g0), t->Xva));
      PetscCall(ValidateBlock(t, g1 - g0, t->Xva, t->Yva, s));
    }
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, s, (PetscMPIInt)(1 + 3 * O), MPI_DOUBLE, MPI_SUM, t->comm));
  *val = t->Nval ? s[0] / ((double)t->Nval * O) : NAN;
  for (PetscInt k = 0; k < O; k++) {
    double mean = s[2 + 3 * k] / (double)t->Nval;
    r2[k] = 1.0 - s[1 + 3 * k] / (s[3 + 3 * k] - (double)t->Nval * mean * mean);
  }
  PetscFunctionReturn(0);
}

/* the state of one InvTrainerTrain call shared by its steps */
typedef struct {
  PetscLogDouble tstart, te; /* start of this run and of the epoch */
  PetscInt epochs_run;       /* epochs completed in this run */
  PetscInt64 nbatch;         /* global batches per epoch */
  PetscReal lr;              /* the epoch's learning rate */
  PetscBool stop;            /* early stopping */
} InvTrainRun;

static PetscErrorCode PrintStart(InvTrainer t)
{
  InvNet net = t->map->net;
  char str[1024];

  PetscFunctionBegin;
  if (t->quiet) PetscFunctionReturn(0);
  PetscCall(InvNetSpecString(&net->spec, str, sizeof(str)));
  PetscCall(PetscPrintf(t->comm,
                        "invmap train: %s, %zu parameters, loss %s (%s head); %lld training + %lld validation samples of %s on %d rank(s); "
                        "batch %d, %s\n",
                        str, net->nparams, t->map->loss, InvHeadTypes[t->loss->head], (long long)t->Ntr, (long long)t->Nval, t->data_file,
                        (int)t->size, (int)t->batch, t->resume ? "resumed" : "fresh start"));
  if (t->stream)
    PetscCall(PetscPrintf(t->comm,
                          "invmap train: streaming %s (over the -train_memory_mb %g budget): chunks of %d samples, windows of %d chunks, "
                          "%lld batches resident; %s series, %s\n",
                          t->path, (double)t->memory_mb, (int)t->chunk, (int)t->window, (long long)t->seg_batches,
                          t->esize == (PetscInt)sizeof(float) ? "float32" : "float64",
                          !t->direct     ? "synchronous HDF5 reads"
                          : t->readahead ? "the next batches read ahead by the kernel (posix_fadvise), read when due"
                                         : "the next batches read by a reader thread while these train"));
  PetscFunctionReturn(0);
}

/* the epoch's order of the samples (in memory: the same permutation on every rank, then redistributed) */
static PetscErrorCode StartEpoch(InvTrainer t, InvTrainRun *run)
{
  PetscFunctionBegin;
  PetscCall(PetscTime(&run->te));
  PetscCall(InvOptLearningRate(t->opt, t->epoch, &run->lr));
  if (t->stream)
    PetscCall(InvTrainerStreamEpoch(t, t->epoch));
  else {
    InvTrainerShuffle(t->perm, t->Ntr, t->seed, 0, t->epoch);
    PetscCall(InvTrainerRedistribute(t));
  }
  PetscFunctionReturn(0);
}

/* this rank's nl samples of global batch b into Xb, Yb (streamed sets: the resident batches, read when needed) */
static PetscErrorCode LoadBatch(InvTrainer t, InvTrainRun *run, PetscInt64 b, int nl)
{
  PetscInt64 share = t->batch * (t->rank + 1) / t->size - t->batch * t->rank / t->size;

  PetscFunctionBegin;
  if (t->stream) {
    if (b >= t->seg_b1 || b < t->seg_b0) PetscCall(InvTrainerStreamLoad(t, b, PetscMin(run->nbatch, b + t->seg_batches), t->epoch));
    PetscCall(InvTrainerEpochBatch(t, (b - t->seg_b0) * share, nl, t->epoch));
  } else
    PetscCall(InvTrainerEpochBatch(t, b * share, nl, t->epoch));
  PetscFunctionReturn(0);
}

/* forward, loss (+ prior regulariser) and backward of this rank's nl samples; the gradient of the batch mean:
   scale = 1 / (global batch x targets). Ranks without samples still take part in every reduction. */
static PetscErrorCode ForwardBackward(InvTrainer t, int nl, double scale)
{
  InvNet net = t->map->net;
  PetscBool overlap = (PetscBool)(t->size > 1 && t->allreduce == INV_ALLREDUCE_LAYER);
  int O = (int)t->ntargets, no = t->loss->nout;
  double sum;
  float *Y;

  PetscFunctionBegin;
  PetscCall(InvNetZeroGrad(net));
  net->training = PETSC_TRUE;
  t->nreqs = 0;
  if (nl == 0) {
    if (t->loss->type == INV_LOSS_SHELL) PetscCall(InvLossEvaluate(t->loss, 0, NULL, NULL, NULL, scale, &sum, NULL)); /* see nn.h */
    if (overlap)
      for (int l = net->nlayers - 1; l >= 0; l--)
        if (net->layer[l].nw) PetscCall(LayerDone(net, l, t));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscLogEventBegin(INV_TrainForward, 0, 0, 0, 0));
  PetscCall(InvNetForward(net, t->Xb, nl, t->idx, t->seed, t->epoch, &Y));
  PetscCall(InvLossEvaluate(t->loss, nl, Y, t->Yb, t->idx, scale, &sum, t->dY));
  t->epoch_loss += sum;
  if (t->prior_weight > 0) /* prior regulariser: lambda |mean|^2 in standardised units pulls towards the training-set mean */
    for (int i = 0; i < nl; i++)
      for (int k = 0; k < O; k++) t->dY[i * no + k] += (float)(2.0 * t->prior_weight * scale * Y[i * no + k]);
  PetscCall(PetscLogEventEnd(INV_TrainForward, 0, 0, 0, 0));
  PetscCall(PetscLogEventBegin(INV_TrainBackward, 0, 0, 0, 0));
  PetscCall(InvNetBackward(net, t->Xb, t->dY, nl, overlap ? LayerDone : NULL, t));
  PetscCall(PetscLogEventEnd(INV_TrainBackward, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

/* the sum of the ranks' gradients: one Allreduce, or the wait for the per-layer ones started in backward */
static PetscErrorCode ReduceGradients(InvTrainer t)
{
  InvNet net = t->map->net;
  PetscLogDouble a0, a1;

  PetscFunctionBegin;
  if (t->size == 1) PetscFunctionReturn(0);
  PetscCall(PetscTime(&a0));
  PetscCall(PetscLogEventBegin(INV_TrainAllreduce, 0, 0, 0, 0));
  if (t->allreduce == INV_ALLREDUCE_FLAT)
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, net->grads, (PetscMPIInt)net->nparams, MPI_FLOAT, MPI_SUM, t->comm));
  else
    PetscCallMPI(MPI_Waitall(t->nreqs, t->reqs, MPI_STATUSES_IGNORE));
  PetscCall(PetscLogEventEnd(INV_TrainAllreduce, 0, 0, 0, 0));
  PetscCall(PetscTime(&a1));
  t->t_allreduce += a1 - a0;
  PetscFunctionReturn(0);
}

/* one optimiser step on global batch b */
static PetscErrorCode TrainBatch(InvTrainer t, InvTrainRun *run, PetscInt64 b)
{
  InvNet net = t->map->net;
  PetscInt64 g0 = b * t->batch, g1 = PetscMin(t->Ntr, g0 + t->batch);
  int Bg = (int)(g1 - g0), nl = (int)(Bg * (t->rank + 1) / t->size - Bg * t->rank / t->size);

  PetscFunctionBegin;
  PetscCall(LoadBatch(t, run, b, nl));
  PetscCall(ForwardBackward(t, nl, 1.0 / ((double)Bg * t->ntargets)));
  PetscCall(ReduceGradients(t));
  PetscCall(PetscLogEventBegin(INV_TrainStep, 0, 0, 0, 0));
  PetscCall(InvOptStep(t->opt, net->params, net->grads, run->lr));
  PetscCall(PetscLogEventEnd(INV_TrainStep, 0, 0, 0, 0));
  t->batches_run++;
  PetscFunctionReturn(0);
}

/* after batch b: on a pending signal (polled every -train_signal_check batches), checkpoint mid-epoch */
static PetscErrorCode InterruptAfterBatch(InvTrainer t, InvTrainRun *run, PetscInt64 b, PetscBool *interrupted)
{
  PetscBool testing = (PetscBool)(t->interrupt_after > 0 && t->batches_run == t->interrupt_after), pending;
  PetscLogDouble now;

  PetscFunctionBegin;
  if (testing) PetscCall(InvInterruptRaise(SIGUSR1));
  if (t->batches_run % t->check_every != 0 && !testing) PetscFunctionReturn(0);
  PetscCall(InvInterruptPending(t->comm, &pending));
  if (!pending) PetscFunctionReturn(0);
  PetscCall(PetscTime(&now));
  t->batch_next = b + 1;
  t->elapsed += now - run->tstart; /* the checkpoint keeps every rank's partial epoch loss (InvTrainerCheckpointWrite) */
  PetscCall(InvTrainerCheckpointWrite(t, t->checkpoint));
  PetscCall(PetscPrintf(t->comm, "invmap train: signal %d: checkpoint %s written at epoch %d, batch %lld; continue with -resume\n",
                        InvInterruptSignal(), t->checkpoint, (int)t->epoch, (long long)t->batch_next));
  *interrupted = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* validation, early stopping (keeping the best weights), the history row and the progress line of the epoch */
static PetscErrorCode EndEpoch(InvTrainer t, InvTrainRun *run)
{
  InvNet net = t->map->net;
  PetscInt O = t->ntargets;
  double val = NAN, loss, r2[INV_MAX_TARGETS];
  char r2s[256] = "", data[128];
  PetscLogDouble t0;

  PetscFunctionBegin;
  t->batch_next = 0;
  PetscCallMPI(MPI_Allreduce(&t->epoch_loss, &loss, 1, MPI_DOUBLE, MPI_SUM, t->comm));
  loss /= (double)t->Ntr * O;
  t->epoch_loss = 0;
  if (t->Nval > 0) {
    PetscCall(Validate(t, &val, r2));
    PetscCall(PetscStrlcat(r2s, "  val R^2", sizeof(r2s)));
    for (PetscInt k = 0; k < O; k++) {
      char b[32];
      PetscCall(PetscSNPrintf(b, sizeof(b), "%s%.4f", k ? "," : " ", r2[k]));
      PetscCall(PetscStrlcat(r2s, b, sizeof(r2s)));
    }
    if (val < t->best_val) {
      t->best_val = val;
      t->wait = 0;
      PetscCall(PetscArraycpy(t->best, net->params, net->nparams));
    } else if (++t->wait >= t->patience && t->patience > 0)
      run->stop = PETSC_TRUE;
  }
  PetscCall(InvTrainerDataLossEndEpoch(t, data, sizeof(data))); /* -train_loss data: mean J, failed solves, simulator time */
  run->epochs_run++;
  PetscCall(PetscTime(&t0));
  if (t->nhist < t->epochs) { /* per-epoch history (/history of the model file) */
    double *h = t->hist + (size_t)t->nhist++ * INV_TRAIN_HIST_COLS;
    h[0] = (double)(t->epoch + 1);
    h[1] = loss;
    h[2] = val;
    h[3] = (double)run->lr;
    h[4] = t->elapsed + (t0 - run->tstart);
    h[5] = (double)t->Ntr / (t0 - run->te);
  }
  if (!t->quiet) {
    double el = t->elapsed + (t0 - run->tstart), eta = (t0 - run->tstart) / run->epochs_run * (t->epochs - t->epoch - 1);
    PetscCall(PetscPrintf(t->comm, "epoch %4d/%d  train %.4e  val %.4e%s%s  lr %.2e  %9.0f samples/s  elapsed %8.1f s  ETA %8.1f s%s\n",
                          (int)t->epoch + 1, (int)t->epochs, loss, val, r2s, data, (double)run->lr, (double)t->Ntr / (t0 - run->te), el,
                          run->stop ? 0.0 : eta, run->stop ? "  (early stop)" : ""));
  }
  PetscFunctionReturn(0);
}

/* after an epoch that is not the last: the periodic checkpoint, and the checkpoint of a pending signal */
static PetscErrorCode CheckpointAfterEpoch(InvTrainer t, InvTrainRun *run, PetscBool *interrupted)
{
  PetscBool pending;
  PetscLogDouble t0;

  PetscFunctionBegin;
  if (t->epoch + 1 >= t->epochs || run->stop) PetscFunctionReturn(0);
  if (t->ckpt_every > 0 && (t->epoch + 1) % t->ckpt_every == 0) {
    PetscInt e = t->epoch;
    t->epoch++; /* the checkpoint starts the next epoch */
    PetscCall(InvTrainerCheckpointWrite(t, t->checkpoint));
    t->epoch = e;
  }
  PetscCall(InvInterruptPending(t->comm, &pending));
  if (!pending) PetscFunctionReturn(0);
  t->epoch++;
  PetscCall(PetscTime(&t0));
  t->elapsed += t0 - run->tstart;
  PetscCall(InvTrainerCheckpointWrite(t, t->checkpoint));
  PetscCall(PetscPrintf(t->comm, "invmap train: signal %d: checkpoint %s written at epoch %d; continue with -resume\n",
                        InvInterruptSignal(), t->checkpoint, (int)t->epoch));
  *interrupted = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* the best weights, the closing lines and the model file */
static PetscErrorCode Finish(InvTrainer t, InvTrainRun *run)
{
  InvNet net = t->map->net;
  PetscLogDouble t0;
  PetscInt64 peak = (PetscInt64)t->mem_peak;

  PetscFunctionBegin;
  if (t->keep_best && t->Nval > 0) PetscCall(PetscArraycpy(net->params, t->best, net->nparams));
  PetscCall(PetscTime(&t0));
  if (!t->quiet)
    PetscCall(PetscPrintf(t->comm,
                          "invmap train: done in %.1f s (this run; %.1f s in gradient reductions); best validation loss %.4e; model %s\n",
                          t0 - run->tstart, t->t_allreduce, t->Nval > 0 ? t->best_val : NAN, t->output));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &peak, 1, MPIU_INT64, MPI_MAX, t->comm));
  t->mem_peak = (size_t)peak;
  if (!t->quiet)
    PetscCall(PetscPrintf(t->comm, "invmap train: peak data buffers %lld bytes per rank (%.3f MB; budget -train_memory_mb %g, %s)\n",
                          (long long)peak, (double)peak / 1048576.0, (double)t->memory_mb, t->stream ? "streamed" : "in memory"));
  PetscCall(InvTrainerWriteModel(t));
  PetscFunctionReturn(0);
}

PetscErrorCode InvTrainerTrain(InvTrainer t, PetscBool *interrupted)
{
  InvTrainRun run = {0};

  PetscFunctionBegin;
  *interrupted = PETSC_FALSE;
  run.nbatch = (t->Ntr + t->batch - 1) / t->batch;
  PetscCall(PetscTime(&run.tstart));
  PetscCall(PrintStart(t));
  for (; t->epoch < t->epochs && !run.stop; t->epoch++) {
    PetscCall(StartEpoch(t, &run));
    for (PetscInt64 b = t->batch_next; b < run.nbatch; b++) {
      PetscCall(TrainBatch(t, &run, b));
      PetscCall(InterruptAfterBatch(t, &run, b, interrupted));
      if (*interrupted) PetscFunctionReturn(0);
    }
    PetscCall(EndEpoch(t, &run));
    PetscCall(CheckpointAfterEpoch(t, &run, interrupted));
    if (*interrupted) PetscFunctionReturn(0);
  }
  PetscCall(Finish(t, &run));
  PetscFunctionReturn(0);
}
