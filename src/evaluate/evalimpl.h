/* Private state of InvEval (src/evaluate): the truth (parameters on every rank, series read per row
   block), the estimates with their per-sample metrics (global arrays, identical on every rank) and
   the summary table. */
#pragma once
#include <invmap/evaluate.h>
#include <invmap/batchts.h>
#include <invmap/ensemble.h>
#include <invmap/prior.h>
#include <invmap/noise.h>

#define INV_EVAL_MAX 16
typedef struct {
  char file[PETSC_MAX_PATH_LEN], label[64], dataset[32];
  PetscInt64 nfile, n;               /* rows in the file, rows evaluated (the first n samples) */
  PetscReal *theta;                  /* n x P */
  PetscReal *cov;                    /* n x P x P or NULL */
  PetscReal *ape;                    /* n x P */
  PetscReal *nz, *apenz;             /* noise targets (joint inference): nfile x INV_NOISE_NPARAM estimates of rho, sigma (NaN where the
                                        file does not estimate one) and their APE (n x INV_NOISE_NPARAM); NULL when it estimates none */
  PetscBool hasnz[INV_NOISE_NPARAM]; /* the file estimates this noise parameter */
  PetscReal *relerr, *sqbias, *cmse, *obj, *objtrue, *mean_err, *cov_err; /* n (NULL when not computed) */
  PetscInt *simstatus;                                                    /* n: InvStatus of the re-simulation, -1 when not simulated */
  PetscInt64 nnan, nsimfail, nvalid;
  PetscReal *fev;    /* nfile: /function_evaluations recorded by invmap map, or NULL */
  PetscReal seconds; /* the file's solve_seconds attribute: wall time of the run that made it (NaN when absent) */
  PetscInt nranks;   /* the file's n_ranks attribute (0 when absent) */
  PetscReal *pw2, *pkl;
#define INV_EVAL_POST_MIN_GRID   5
#define INV_EVAL_POST_MAX_GRID   4096
#define INV_EVAL_POST_MAX_PASSES 10
#define INV_EVAL_POST_FRAME      7 /* origin (2), steps (2 x 2), points per axis */
  /* -eval_posterior_n: W2 and KL of the file's Gaussian against the grid posterior (NULL: no Gaussian) */
  char gkind[32]; /* which Gaussian (as share/report/calib.py's gaussian_of_file) */
  PetscReal summary[64];
  float *series; /* -eval_save_series: this rank's block of re-simulated series (rows sr0.., snl of them), NaN where failed */
  PetscInt64 sr0;
  PetscInt snl;
} InvEvalEstimate;

/* J on an n x n grid over a box of two parameters (the landscape's pair) */
typedef struct {
  PetscReal box[4];   /* lo0, hi0, lo1, hi1 */
  PetscReal *J;       /* n x n, J[i0 * n + i1] = J(axis[0][i0], axis[1][i1]) */
  PetscReal *axis[2]; /* n each */
  PetscInt64 nfail;   /* grid points whose re-simulation failed (J = NaN) */
  PetscBool affine;   /* the grid posterior's frames: point (i0, i1) = origin + i0 step[0..1] + i1 step[2..3] (box, axis unused) */
  PetscReal origin[2], step[4];
} InvEvalGrid;

/* -eval_landscape: the objective J for one sample of the truth over the prior's support (or
   -eval_landscape_box) and, with -eval_landscape_zoom, over a box around the truth and the estimates */
typedef struct {
  PetscInt row, n;  /* row of the truth (-1: off), grid points per axis */
  PetscInt pair[2]; /* the two parameters on the axes; the others stay at the row's true values */
  PetscBool boxset, zoomon;
  InvEvalGrid full, zoom;
  PetscReal Jtruth; /* J at the true parameters of the row, same integrator */
  PetscReal seconds;
} InvEvalLandscape;

#define INV_EVAL_POST_MIN_GRID   5
#define INV_EVAL_POST_MAX_GRID   4096
#define INV_EVAL_POST_MAX_PASSES 10
#define INV_EVAL_POST_FRAME      7 /* origin (2), steps (2 x 2), points per axis */
/* -eval_posterior_n: the exact posterior exp(-J) of the first n samples by quadrature on grids (eval_posterior.c) */
typedef struct {
  PetscInt n, grid, coarse, passes; /* samples, points per axis of the final and the first grid, most zoom passes */
  PetscReal width;                  /* zoom box: mean +- width max(sd, previous spacing), per axis */
  PetscReal *mean, *cov, *frame;    /* n x 2, n x 2 x 2, n x 7: the final grid, point (i0, i1) = (f0, f1) + i0 (f2, f3) + i1 (f4, f5),
                                       i0, i1 = 0 .. f6 - 1 */
  PetscReal *edge, *peak, *nfail;   /* n: mass on the box's edges inside the prior's support, largest point mass, failed points */
  PetscReal *used;                  /* n: zoom passes made (fewer than passes when the frame settled) */
  PetscReal *seeded;                /* n: index of the estimate set whose Gaussian seeded the first zoom, -1: the first grid's */
  PetscReal seconds;
} InvEvalPosterior;

struct _p_InvEval {
  MPI_Comm comm;
  PetscMPIInt rank, size;
  char truth[PETSC_MAX_PATH_LEN], output[PETSC_MAX_PATH_LEN], csv[PETSC_MAX_PATH_LEN], covref[PETSC_MAX_PATH_LEN];
  char *files[INV_EVAL_MAX], *labels[INV_EVAL_MAX], dataset[32];
  PetscInt nest, nlabels, batch, nmax;
  PetscBool common, timeseries, objective, overwrite, quiet, saveseries;
  char objdata[4];    /* series the objective fits: "d" or "u" */
  InvNoiseSpec nspec; /* -noise_rho, -noise_sigma override /noise; the truth's noise convention and Delta_t */
  /* truth */
  InvModel model;
  InvPrior prior;
  PetscInt P, nt, no;
  PetscInt64 N;
  PetscReal *t, *theta, *noise;       /* N x P, N x 2 (NULL without /noise) */
  PetscReal *truenoise;               /* N x INV_NOISE_NPARAM: the truth's /noise as stored, for noise targets (NULL without /noise) */
  PetscBool evalnz[INV_NOISE_NPARAM]; /* some estimate has this noise target: the summary gets its columns */
  PetscInt *status;                   /* N (0 without /status) */
  PetscBool hasd;
  /* reference mean and covariance */
  PetscInt64 nref;
  PetscReal *refmean, *refcov;
  InvEvalEstimate est[INV_EVAL_MAX];
  InvBatchTS bts;
  InvMemberRK mrk;       /* one adaptive step per member, as invmap simulate (-step_control member); NULL: bts */
  PetscInt step_control; /* index into InvStepControls */
  PetscInt64 nsolves;
  PetscReal seconds;
  InvEvalLandscape land;
  InvEvalPosterior post;
  /* summary table */
  PetscInt ncols;
  char colnames[64][48];
};

PETSC_INTERN PetscErrorCode InvEvalReadTruth(InvEval);
PETSC_INTERN PetscErrorCode InvEvalReadEstimate(InvEval, InvEvalEstimate *);
PETSC_INTERN PetscErrorCode InvEvalReadReference(InvEval);
PETSC_INTERN PetscErrorCode InvEvalParameterMetrics(InvEval, InvEvalEstimate *);
PETSC_INTERN PetscErrorCode InvEvalSeriesMetrics(InvEval, InvEvalEstimate *);
PETSC_INTERN PetscErrorCode InvEvalSummarize(InvEval, InvEvalEstimate *);
PETSC_INTERN PetscErrorCode InvEvalComputeLandscape(InvEval);
PETSC_INTERN PetscErrorCode InvEvalGridObjective(InvEval, PetscInt, PetscInt, const PetscInt[2], const PetscReal[], InvEvalGrid *);
PETSC_INTERN PetscErrorCode InvEvalComputePosterior(InvEval);
PETSC_INTERN PetscErrorCode InvEvalWritePosterior(InvEval, hid_t);
PETSC_INTERN PetscErrorCode InvEvalDestroyPosterior(InvEval);
PETSC_INTERN PetscErrorCode InvEvalWrite(InvEval);
PETSC_INTERN PetscErrorCode InvEvalWriteSeries(InvEval, hid_t, InvEvalEstimate *);
PETSC_INTERN PetscErrorCode InvEvalWriteLandscape(InvEval, hid_t);
PETSC_INTERN PetscErrorCode InvEvalSetupTS(InvEval);
PETSC_INTERN PetscErrorCode InvEvalGather(InvEval, PetscInt, PetscInt, const PetscReal[], PetscReal[]);
PETSC_INTERN PetscReal InvEvalObjective(InvEval, const PetscReal[], const PetscReal[], const PetscReal[], const PetscReal[], PetscReal *);
PETSC_INTERN PetscErrorCode InvEvalWriteCSV(InvEval);
PETSC_INTERN PetscErrorCode InvEvalView(InvEval);
