/* Observation noise: none, or stationary AR(1) (docs/science.md section 2). The one definition of its scale:
   the marginal standard deviation is s = sigma / Delta_t (convention "dt", the paper's, Delta_t the spacing of the
   observation times) or s = sigma (convention "unit", -noise_scale unit), see InvNoiseMarginalSD. Then
   eta_0 ~ N(0, s^2), eta_k = rho eta_{k-1} + sqrt(1 - rho^2) s eps_k. (rho, sigma) are the stored parameters
   (/noise) and the targets of joint inference; they are fixed by -noise_rho/-noise_sigma or drawn per sample from
   truncated Gaussians (-noise_rho_prior mean,sd,lo,hi and likewise sigma). Every file holding noise records its
   convention in the attribute noise_scale; files written before that attribute existed drew s = sigma and are
   read as "unit". */
#pragma once
#include <invmap/sys.h>
#include <petscviewer.h>

typedef enum { INV_NOISE_NONE, INV_NOISE_AR1 } InvNoiseType;
PETSC_EXTERN const char *const InvNoiseTypes[];

/* The noise parameters as stored (the columns of /noise, in order) and as targets of joint inference */
#define INV_NOISE_NPARAM 2
PETSC_EXTERN const char *const InvNoiseParamNames[]; /* "rho", "sigma" */

/* How sigma scales the noise: dt (s = sigma / Delta_t, the default) or unit (s = sigma) */
typedef enum { INV_NOISE_SCALE_DT, INV_NOISE_SCALE_UNIT } InvNoiseScale;
PETSC_EXTERN const char *const InvNoiseScales[];
#define INV_NOISE_SCALE_ATTR "noise_scale"  /* root attribute of every file holding noise: "dt" or "unit" */
#define INV_NOISE_DT_ATTR    "noise_obs_dt" /* root attribute: the observation spacing Delta_t the scale used */

typedef struct _p_InvNoise *InvNoise;
struct _p_InvNoise {
  InvNoiseType type;
  PetscBool fixed_rho, fixed_sigma;
  PetscReal rho, sigma;                   /* fixed values */
  PetscReal rho_prior[4], sigma_prior[4]; /* mean, sd, lo, hi */
  InvNoiseScale scale;
  PetscBool scale_set; /* -noise_scale given explicitly */
  PetscReal obs_dt;    /* Delta_t of the observation times (0: not set yet) */
};

PETSC_EXTERN PetscErrorCode InvNoiseCreate(InvNoise *);
PETSC_EXTERN PetscErrorCode InvNoiseSetFromOptions(InvNoise);
/* The observation times the noise is drawn on (their spacing Delta_t; uniform spacing needed for scale dt) */
PETSC_EXTERN PetscErrorCode InvNoiseSetObservationTimes(InvNoise, MPI_Comm, PetscInt nt, const PetscReal t[]);
/* Noise that continues a data file's (train -noise_fresh): the file's convention and observation times */
PETSC_EXTERN PetscErrorCode InvNoiseSetFromFile(InvNoise, MPI_Comm, hid_t file, const char fname[]);
PETSC_EXTERN PetscErrorCode InvNoiseSampleParameters(InvNoise, PetscInt64 seed, PetscInt64 sample, PetscReal *rho, PetscReal *sigma);
PETSC_EXTERN PetscErrorCode InvNoiseApply(InvNoise, PetscInt64 seed, PetscInt64 sample, PetscInt64 epoch, PetscReal rho, PetscReal sigma,
                                          PetscInt n, const PetscReal u[], PetscReal d[]);
/* The one test of valid AR(1) parameters: sigma > 0 and |rho| < 1, both finite. InvNoiseCheckParameters raises an
   error saying which one fails; InvNoiseParametersValid answers (for per-sample flags). */
PETSC_EXTERN PetscErrorCode InvNoiseCheckParameters(PetscReal rho, PetscReal sigma);
PETSC_EXTERN PetscBool InvNoiseParametersValid(PetscReal rho, PetscReal sigma);
PETSC_EXTERN PetscErrorCode InvNoiseView(InvNoise, PetscViewer);
PETSC_EXTERN PetscErrorCode InvNoiseWriteAttributes(InvNoise, hid_t);
PETSC_EXTERN PetscErrorCode InvNoiseDestroy(InvNoise *);

/* The marginal standard deviation s of the noise with parameter sigma: the one definition of the scale */
PETSC_EXTERN PetscReal InvNoiseMarginalSD(InvNoiseScale, PetscReal sigma, PetscReal obs_dt);
/* Delta_t of observation times t_k (checked uniform to rounding when the convention needs it) */
PETSC_EXTERN PetscErrorCode InvNoiseObservationSpacing(MPI_Comm, InvNoiseScale, PetscInt nt, const PetscReal t[], PetscReal *dt);

/* How a command reading noisy data (map, evaluate) takes its noise: -noise_rho/-noise_sigma replace every
   sample's stored (rho, sigma); the convention is the data file's (an explicit -noise_scale must agree), or
   -noise_scale where the data come without a file or without stored noise. */
typedef struct {
  PetscBool fixed_rho, fixed_sigma, scale_set;
  PetscReal rho, sigma;
  InvNoiseScale scale;
  PetscReal obs_dt;
} InvNoiseSpec;
PETSC_EXTERN PetscErrorCode InvNoiseSpecFromOptions(MPI_Comm, InvNoiseSpec *);
/* Resolve the convention from the data file (file < 0: none) and Delta_t from its observation times */
PETSC_EXTERN PetscErrorCode InvNoiseSpecSetData(InvNoiseSpec *, MPI_Comm, hid_t file, const char fname[], PetscInt nt, const PetscReal t[]);
/* The marginal standard deviation of a sample whose (possibly overridden) parameter is sigma */
PETSC_EXTERN PetscReal InvNoiseSpecSD(const InvNoiseSpec *, PetscReal sigma);
/* Replace the per-sample (rho, sigma) pairs noise[2 i], noise[2 i + 1] of n samples by -noise_rho/-noise_sigma where given */
PETSC_EXTERN void InvNoiseSpecApply(const InvNoiseSpec *, PetscInt64 n, PetscReal noise[]);
PETSC_EXTERN PetscErrorCode InvNoiseSpecWriteAttributes(const InvNoiseSpec *, hid_t);

/* Whitening (docs/science.md section 6) for marginal standard deviation s: w_0 = r_0 / s,
   w_k = (r_k - rho r_{k-1}) / (s sqrt(1-rho^2)), and its transpose, used by the MAP objective and its adjoint. */
PETSC_EXTERN void InvAR1Whiten(PetscReal rho, PetscReal s, PetscInt n, const PetscReal r[], PetscReal w[]);
PETSC_EXTERN void InvAR1WhitenTranspose(PetscReal rho, PetscReal s, PetscInt n, const PetscReal w[], PetscReal r[]);
