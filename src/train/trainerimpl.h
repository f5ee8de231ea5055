/* Private state of InvTrainer, shared by the trainer's source files. */
#pragma once
#include <invmap/train.h>
#include <pthread.h>
#include <sys/types.h>
#include <sys/uio.h>

#define INV_RAW_DATASETS 3 /* datasets read per sample at most: series, /theta, /noise */

/* one raw read of the stream's reader: the file bytes from offset off scattered (preadv) over the buffers
   iov[i0, i0 + niov) of the segment's list: rows into the raw buffers, small gaps of unneeded rows read
   through into a discard buffer */
typedef struct {
  off_t off;
  PetscInt64 i0;
  int niov;
} InvReadReq;

#define INV_READ_REQ_IOVS 2 /* iovecs per row and dataset at most: the row and the gap before it */

/* where the rows of a dataset lie in the file (streamed training reads them directly, see prefetch.c) */
typedef struct {
  PetscInt64 crows; /* rows per chunk (the dataset's rows when contiguous) */
  PetscInt64 *addr; /* file offset of each chunk */
  size_t rowbytes;  /* bytes per row */
} InvRawLayout;

typedef struct _p_InvDataLoss *InvDataLoss; /* the data-space loss (loss_data.c) */

struct _p_InvTrainer {
  MPI_Comm comm;
  PetscMPIInt rank, size;
  /* options */
  char data_file[PETSC_MAX_PATH_LEN], output[PETSC_MAX_PATH_LEN], checkpoint[PETSC_MAX_PATH_LEN];
  char dataset[8];   /* "u" (clean) or "d" (noisy) */
  char targets[256]; /* comma-separated target names */
  PetscInt epochs, batch, patience, ckpt_every, max_samples, interrupt_after, check_every, blas_threads;
  PetscInt64 seed;
  PetscReal val_frac, loss_weight[INV_MAX_TARGETS], prior_weight;
  PetscInt nloss_weight;
  InvLossType loss_type;             /* -train_loss */
  PetscReal loss_mix[INV_LOSS_NMIX]; /* -train_loss_mix: weights of the mse, nll and moment terms */
  InvLoss loss;                      /* the training loss over the network's outputs */
  PetscReal data_opt[5];             /* -train_loss data: data weight, supervised weight, start epoch, ramp epochs, gradient clip */
  InvDataLoss dloss;                 /* -train_loss data: its state (NULL otherwise) */
  PetscInt data_check;               /* -train_data_check_gradient (testing): samples per rank, 0 = off */
  PetscBool noise_fresh, resume, quiet, keep_best, overwrite;
  InvReprType repr;
  InvNormType norm;
  InvAllreduceType allreduce;
  InvNetSpec spec;
  /* data: global sample indices are positions in the list of usable rows (status 0) of the file;
     training samples [0, Ntr), validation [Ntr, Ntr + Nval); this rank holds [tr0, tr1) and [va0, va1) */
  PetscInt64 Ntr, Nval, tr0, tr1, va0, va1;
  PetscInt n_obs, n_ch, ntargets;
  PetscBool laplace;            /* the loss has a moment term: Laplace targets (/theta_map, /cov) are read with the parameters */
  PetscInt nty;                 /* floats per target row: ntargets, or with Laplace targets 2 ntargets + ntargets^2 (see InvLoss) */
  float *Xtr, *Ytr, *Xva, *Yva; /* normalised features and targets; Xtr is NULL with -noise_fresh */
  char *Utr;                    /* -noise_fresh: clean series of the local training samples, in the file's precision */
  double *noise_par;            /* -noise_fresh: (rho, sigma) of the local training samples */
  InvNoise noise;
  float weight[INV_MAX_TARGETS];
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
  PetscInt P, col[INV_MAX_TARGETS];              /* columns of /theta; target columns (P, P + 1: rho, sigma) */
  PetscBool hasnoise;
  PetscInt64 *valid, nvalid;                     /* file rows of the usable samples */
  PetscInt64 *cperm, *woff, *wsamp, *wtmp, wcur; /* chunk order, window offsets, samples of window wcur in order */
  PetscInt64 seg_b0, seg_b1, seg_batches, val_block, fit_block;
  PetscInt64 *sidx; /* (slot, sample) pairs of a segment */
  PetscInt esize;   /* bytes per series value as stored and read: 4 (float32 files) or 8 */
  char *rU;         /* read buffers: series (in the file's precision), parameters, noise parameters */
  double *rTh, *rNz;
  PetscInt64 rcap;          /* rows of the read buffers (file rows of one contiguous read) */
  size_t mem_cur, mem_peak; /* data-buffer bytes now and at most on this rank */
  /* prefetch (prefetch.c): a reader thread reads the next segment's rows straight from the file (pread,
     no HDF5 or MPI call off the main thread) into raw while the current segment trains */
  PetscBool prefetch, direct;         /* -train_stream_prefetch; the file's layout allows direct reads */
  PetscBool readahead, deferred;      /* -train_stream_readahead; queued reads left to InvTrainerDirectJoin (no thread) */
  int fd;                             /* the training set opened read-only for direct reads (-1 if not) */
  InvRawLayout lay[INV_RAW_DATASETS]; /* series, /theta, /noise */
  char *raw[INV_RAW_DATASETS];        /* the segment's rows of each dataset, in sorted file-row order */
  InvReadReq *req;                    /* reads of a segment */
  struct iovec *iov;                  /* their buffers (INV_READ_REQ_IOVS per row and dataset) */
  char *gap;                          /* discard buffer of the rows read through */
  PetscInt64 nreq, raw_rows;          /* reads queued; rows the raw buffers hold */
  pthread_t reader;                   /* reader thread, while inflight */
  PetscBool inflight;                 /* a prefetch of batches [pf_b0, pf_b1) of epoch pf_epoch is running, unjoined or deferred */
  PetscInt64 pf_b0, pf_b1, pf_n;
  PetscInt pf_epoch;
  int rerr; /* errno of the reader's first failed read (0: none) */
  float *Xb, *Yb, *dY;
  float *fbuf; /* standardised Laplace mean targets while they are built */
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
PETSC_INTERN PetscErrorCode InvTrainerReadRange(InvTrainer, PetscInt64 r0, PetscInt64 nr, void *U, double *Th, double *Nz);
PETSC_INTERN PetscErrorCode InvTrainerReadBlock(InvTrainer, PetscInt64 g0, PetscInt64 g1, void *U, double *Th, double *Nz);
PETSC_INTERN const double *InvTrainerSeriesRow(InvTrainer, const void *U, PetscInt64 i);
PETSC_INTERN void InvTrainerSeriesToDouble(InvTrainer, const void *src, double *dst);
PETSC_INTERN PetscErrorCode InvTrainerDirectSetUp(InvTrainer);
PETSC_INTERN PetscErrorCode InvTrainerDirectQueue(InvTrainer, PetscInt64 n);
PETSC_INTERN PetscErrorCode InvTrainerDirectRead(InvTrainer);
PETSC_INTERN PetscErrorCode InvTrainerDirectStart(InvTrainer);
PETSC_INTERN PetscErrorCode InvTrainerDirectJoin(InvTrainer);
PETSC_INTERN PetscErrorCode InvTrainerDirectDestroy(InvTrainer);
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
PETSC_INTERN PetscErrorCode InvTrainerDataLossCreate(InvTrainer, InvLoss *);
PETSC_INTERN PetscErrorCode InvTrainerDataLossDestroy(InvTrainer);
PETSC_INTERN PetscErrorCode InvTrainerDataLossCheckGradient(InvTrainer, PetscInt);
PETSC_INTERN PetscErrorCode InvTrainerDataLossEndEpoch(InvTrainer, char[], size_t);
PETSC_INTERN PetscErrorCode InvTrainerDataLossHistoryWrite(InvTrainer, hid_t);
PETSC_INTERN PetscErrorCode InvTrainerDataLossHistoryRead(InvTrainer, hid_t);
PETSC_INTERN PetscErrorCode InvTrainerDataLossCheckpointWrite(InvTrainer, hid_t);
PETSC_INTERN PetscErrorCode InvTrainerDataLossCheckpointRead(InvTrainer, hid_t, const char[], PetscBool);

#define INV_READ_GAP_BYTES 4096 /* unneeded bytes between two needed rows read through rather than starting another read */

/* bytes of the read list per row and dataset of a directly read segment (requests and their buffers) */
static inline double InvTrainerDirectRowBytes(void)
{
  return (double)sizeof(InvReadReq) + INV_READ_REQ_IOVS * (double)sizeof(struct iovec);
}

/* datasets read per sample: the series, /theta and, when the file has it, /noise */
static inline int InvTrainerRawDatasets(InvTrainer t)
{
  return t->hasnoise ? 3 : 2;
}

/* HDF5 memory type of the series as read */
static inline hid_t InvTrainerSeriesType(InvTrainer t)
{
  return t->esize == (PetscInt)sizeof(float) ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE;
}
