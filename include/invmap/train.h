/* Learned inverse maps: input representations and normalisation (InvFeat), trained maps stored in HDF5
   model files (InvNNMap), and the MPI data-parallel trainer (InvTrainer) behind `invmap train`. */
#pragma once
#include <invmap/nn.h>
#include <invmap/noise.h>
#include <fftw3.h>

/* Option prefix of the adjoint-capable solver of -train_loss data (training through the simulator): -train_sim_ts_* */
#define INV_TRAIN_SIM_PREFIX "train_sim_"

/* ---- Input representation and normalisation ---- */
typedef enum { INV_REPR_TIME, INV_REPR_FOURIER, INV_REPR_BOTH } InvReprType;
typedef enum { INV_NORM_CHANNEL, INV_NORM_FEATURE, INV_NORM_NONE } InvNormType;
PETSC_EXTERN const char *const InvReprTypes[];
PETSC_EXTERN const char *const InvNormTypes[];

typedef struct _p_InvFeat *InvFeat;
struct _p_InvFeat {
  InvReprType repr;
  InvNormType norm;
  PetscInt n_obs, n_ch;       /* observed series: n_obs times x n_ch states */
  PetscInt len, ch, size;     /* network input (len, ch), size = len * ch */
  PetscInt ntargets;          /* outputs */
  double *in_mean, *in_std;   /* size, per input feature (channel statistics are broadcast) */
  double *out_mean, *out_std; /* ntargets */
  double *fft_in;
  fftw_complex *fft_out;
  fftw_plan plan;
};

PETSC_EXTERN PetscErrorCode InvFeatCreate(InvReprType, InvNormType, PetscInt n_obs, PetscInt n_ch, PetscInt ntargets, InvFeat *);
PETSC_EXTERN PetscErrorCode InvFeatDestroy(InvFeat *);
/* one observed series (n_obs x n_ch, double) -> the raw network input (size floats), not normalised */
PETSC_EXTERN PetscErrorCode InvFeatTransform(InvFeat, const double *series, float *x);
/* fit the normalisation on the rows held by all ranks of comm (collective) */
PETSC_EXTERN PetscErrorCode InvFeatFitInput(InvFeat, MPI_Comm, PetscInt n, const float *X);
PETSC_EXTERN PetscErrorCode InvFeatFitTargets(InvFeat, MPI_Comm, PetscInt n, const double *Y);
/* the same fits accumulated block by block (streamed data): for pass 0 then 1, Sums over every local block
   in sample order, then Finish (collective; nlocal = local samples); s holds size (targets: ntargets) zeros */
PETSC_EXTERN PetscErrorCode InvFeatInputSums(InvFeat, PetscInt pass, PetscInt n, const float *X, double *s);
PETSC_EXTERN PetscErrorCode InvFeatInputFinish(InvFeat, MPI_Comm, PetscInt pass, PetscInt64 nlocal, double *s);
PETSC_EXTERN PetscErrorCode InvFeatTargetSums(InvFeat, PetscInt pass, PetscInt n, const double *Y, double *s);
PETSC_EXTERN PetscErrorCode InvFeatTargetFinish(InvFeat, MPI_Comm, PetscInt pass, PetscInt64 nlocal, double *s);
PETSC_EXTERN PetscErrorCode InvFeatNormalizeInput(InvFeat, PetscInt n, float *X);
PETSC_EXTERN PetscErrorCode InvFeatInputRow(InvFeat, const void *series, PetscBool single, double *scratch, float *x);
PETSC_EXTERN PetscErrorCode InvFeatNormalizeTargets(InvFeat, PetscInt n, const double *Y, float *Yn);
PETSC_EXTERN PetscErrorCode InvFeatDenormalizeTargets(InvFeat, PetscInt n, const float *Yn, double *Y);
PETSC_EXTERN PetscErrorCode InvFeatNormalizeCovariance(InvFeat, PetscInt n, const double *C, float *Cn);
PETSC_EXTERN PetscErrorCode InvFeatWrite(InvFeat, hid_t file);
PETSC_EXTERN PetscErrorCode InvFeatRead(MPI_Comm, hid_t file, PetscInt ntargets, InvFeat *);

/* ---- A trained map: network + representation + normalisation + target names ---- */
typedef struct _p_InvNNMap *InvNNMap;
struct _p_InvNNMap {
  InvNet net;
  InvFeat feat;
  char targets[256]; /* comma-separated target names */
  PetscInt ntargets; /* parameters P estimated (the network has InvHeadOutputs(head, P) outputs) */
  InvHeadType head;  /* mean, or mean + Cholesky factor of the covariance */
  char loss[32];     /* the training loss (attribute "loss"; "mse" for files written before it was recorded) */
};
PETSC_EXTERN PetscErrorCode InvNNMapWrite(InvNNMap, hid_t file);
PETSC_EXTERN PetscErrorCode InvNNMapLoad(MPI_Comm, const char filename[], int maxbatch, InvNNMap *);
PETSC_EXTERN PetscErrorCode InvNNMapDestroy(InvNNMap *);
/* n series (n x n_obs x n_ch, double) -> n x ntargets estimates (double), in batches; with wall != NULL
   each sample's share of its batch's time (features, forward pass, denormalisation) is added to wall[i] */
PETSC_EXTERN PetscErrorCode InvNNMapPredict(InvNNMap, PetscInt n, const double *series, double *theta, double *wall);
/* the same with, for a Cholesky head, the covariances cov (n x P x P) in the parameters' units: with the
   standardisation theta = mu + D z (D = diag(out_std)), Sigma_theta = D L L^T D (cov NULL: not wanted), and its
   lower-triangular factor chol = D L (n x P x P; NULL: not wanted). The factor has a positive diagonal for every
   finite network output, so F F^T is positive definite whatever the input; the product Sigma, formed in floating
   point, can lose definiteness when the network extrapolates to an ill-conditioned factor (docs/file-formats.md). */
PETSC_EXTERN PetscErrorCode InvNNMapPredictGaussian(InvNNMap, PetscInt n, const double *series, double *theta, double *cov, double *chol,
                                                    double *wall);

/* ---- Data-parallel trainer ---- */
typedef enum { INV_ALLREDUCE_FLAT, INV_ALLREDUCE_LAYER } InvAllreduceType;
PETSC_EXTERN const char *const InvAllreduceTypes[];

typedef struct _p_InvTrainer *InvTrainer;
PETSC_EXTERN PetscErrorCode InvTrainerCreate(MPI_Comm, InvTrainer *);
PETSC_EXTERN PetscErrorCode InvTrainerSetFromOptions(InvTrainer);
PETSC_EXTERN PetscErrorCode InvTrainerSetUp(InvTrainer);
/* trains; *interrupted is true when it stopped on a signal after writing a checkpoint */
PETSC_EXTERN PetscErrorCode InvTrainerTrain(InvTrainer, PetscBool *interrupted);
PETSC_EXTERN PetscErrorCode InvTrainerDestroy(InvTrainer *);

/* ---- Accuracy metrics (docs/science.md section 4) over samples distributed on comm ---- */
PETSC_EXTERN PetscErrorCode InvMetricsCompute(MPI_Comm, PetscInt n, PetscInt p, const double *pred, const double *truth, double *mape,
                                              double *r2, double *mape_norm);
