/* Private state of InvTrainer, shared by the trainer's source files. */
#pragma once
#include <invmap/train.h>

struct _p_InvTrainer {
  MPI_Comm comm;
  PetscMPIInt rank, size;
  /* options */
  char data_file[PETSC_MAX_PATH_LEN], output[PETSC_MAX_PATH_LEN], checkpoint[PETSC_MAX_PATH_LEN];
  char dataset[8];   /* "u" (clean) or "d" (noisy) */
  char targets[256]; /* comma-separated target names */
  PetscInt epochs, batch, patience, ckpt_every, max_samples, interrupt_after, check_every, blas_threads;
  PetscInt64 seed;
  PetscReal val_frac, loss_weight[16], prior_weight;
  PetscInt nloss_weight;
  PetscBool noise_fresh, resume, quiet, keep_best, overwrite;
  InvReprType repr;
  InvNormType norm;
  InvAllreduceType allreduce;
  InvNetSpec spec;
  /* data: global sample indices are positions in the list of usable rows (status 0) of the file;
     training samples [0, Ntr), validation [Ntr, Ntr + Nval); this rank holds [tr0, tr1) and [va0, va1) */
  PetscInt64 Ntr, Nval, tr0, tr1, va0, va1;
  PetscInt n_obs, n_ch, ntargets;
  float *Xtr, *Ytr, *Xva, *Yva; /* normalised features and targets; Xtr is NULL with -noise_fresh */
  double *Utr, *noise_par;      /* -noise_fresh: clean series and (rho, sigma) of the local training samples */
  InvNoise noise;
  float weight[16];
  /* model and optimiser */
  InvNNMap map;
  InvOpt opt;
  float *best;
  /* progress state (checkpointed) */
  PetscInt epoch, batch_next, wait;
  double epoch_loss, best_val, elapsed;
  double *hist; /* per-epoch history (epochs x INV_TRAIN_HIST_COLS, see HistoryColumns), rows [0, nhist) */
  PetscInt nhist;
  /* work */
  PetscInt64 *perm, *idx, *ipos, nepoch; /* permutation, batch indices, inverse permutation, local samples per epoch */
  char *ebuf; /* this rank's samples of the epoch (in memory) or of the resident batches (streaming), in batch order */
  /* streaming (stream.c): the training set stays in the file; batches [seg_b0, seg_b1) are resident */
  PetscBool stream;
  PetscInt stream_mode;                          /* -train_stream: 0 auto, 1 always, 2 never */
  PetscReal memory_mb;                           /* -train_memory_mb: budget of the data buffers per rank */
  PetscInt chunk, window, chunk_opt, window_opt; /* samples per chunk, chunks per window (options: 0 = derived) */
  hid_t file;                                    /* open training set while streaming */
  char path[8];                                  /* /u or /d */
  PetscInt P, col[16];                           /* columns of /theta; target columns (P, P + 1: rho, sigma) */
  PetscBool hasnoise;
  PetscInt64 *valid, nvalid;                     /* file rows of the usable samples */
  PetscInt64 *cperm, *woff, *wsamp, *wtmp, wcur; /* chunk order, window offsets, samples of window wcur in order */
  PetscInt64 seg_b0, seg_b1, seg_batches, val_block, fit_block;
  PetscInt64 *sidx;         /* (slot, sample) pairs of a segment */
  double *rU, *rTh, *rNz;   /* read buffers (raw series, parameters, noise parameters) */
  PetscInt64 rcap;          /* rows of the read buffers (file rows of one contiguous read) */
  size_t mem_cur, mem_peak; /* data-buffer bytes now and at most on this rank */
  float *Xb, *Yb, *dY;
  double *ubuf, *dbuf;
  MPI_Request *reqs;
  int nreqs;
  PetscInt batches_run;
  PetscLogDouble t_allreduce;
};

/* columns of /history in model files and checkpoints */
#define INV_TRAIN_HIST_COLS  6
#define INV_TRAIN_HIST_NAMES "epoch,train_loss,val_loss,learning_rate,elapsed_seconds,samples_per_second"

PETSC_INTERN PetscErrorCode InvTrainerLoadData(InvTrainer);
PETSC_INTERN void InvTrainerTrack(InvTrainer, double bytes); /* data-buffer accounting: + allocated, - freed */
PETSC_INTERN size_t InvTrainerRowBytes(InvTrainer);
PETSC_INTERN size_t InvTrainerReadBytes(InvTrainer);
PETSC_INTERN PetscErrorCode InvTrainerReadRange(InvTrainer, PetscInt64 r0, PetscInt64 nr, double *U, double *Th, double *Nz);
PETSC_INTERN PetscErrorCode InvTrainerReadBlock(InvTrainer, PetscInt64 g0, PetscInt64 g1, double *U, double *Th, double *Nz);
PETSC_INTERN PetscErrorCode InvTrainerTargets(InvTrainer, PetscInt64 n, const double *Th, const double *Nz, double *Y);
PETSC_INTERN PetscErrorCode InvTrainerStreamSetUp(InvTrainer);
PETSC_INTERN PetscErrorCode InvTrainerStreamEpoch(InvTrainer, PetscInt epoch);
PETSC_INTERN PetscErrorCode InvTrainerStreamLoad(InvTrainer, PetscInt64 b0, PetscInt64 b1, PetscInt epoch);
PETSC_INTERN PetscErrorCode InvTrainerStreamDestroy(InvTrainer);
PETSC_INTERN void InvTrainerShuffle(PetscInt64 *perm, PetscInt64 n, PetscInt64 seed, PetscInt64 key, PetscInt64 epoch);
PETSC_INTERN PetscErrorCode InvTrainerEpochSetUp(InvTrainer);
PETSC_INTERN PetscErrorCode InvTrainerEpochCount(InvTrainer, PetscInt64 *);
PETSC_INTERN PetscErrorCode InvTrainerRedistribute(InvTrainer);
PETSC_INTERN PetscErrorCode InvTrainerEpochBatch(InvTrainer, PetscInt64 slot0, int n, PetscInt epoch);
PETSC_INTERN PetscErrorCode InvTrainerCheckpointWrite(InvTrainer, const char[]);
PETSC_INTERN PetscErrorCode InvTrainerCheckpointRead(InvTrainer, const char[]);
PETSC_INTERN PetscErrorCode InvTrainerWriteModel(InvTrainer);
PETSC_INTERN PetscErrorCode InvTrainerHistoryWrite(InvTrainer, hid_t);
PETSC_INTERN PetscErrorCode InvTrainerHistoryRead(InvTrainer, hid_t);
