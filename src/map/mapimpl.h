/* Private state of InvMAP (include/invmap/map.h), shared by the files of src/map. */
#pragma once
#include <invmap/map.h>
#include <petsctao.h>
#include <invmap/noise.h>
#include <invmap/batchts.h>
#include <invmap/objective.h>

#define INV_MAP_MAXLEVELS 8

struct _p_InvMAP {
  MPI_Comm comm;
  PetscMPIInt rank, size;
  char model_type[INV_MAX_NAME];
  InvModel model;
  InvPrior prior;
  /* input */
  char input[PETSC_MAX_PATH_LEN], init_file[PETSC_MAX_PATH_LEN], output[PETSC_MAX_PATH_LEN];
  PetscBool use_clean, overwrite, quiet;
  InvNoiseSpec nspec; /* -noise_rho/-noise_sigma overrides, the data's noise convention and Delta_t */
  PetscInt nmax;      /* use only the first nmax samples of the file (0: all) */
  /* problems on this rank */
  PetscInt64 N, first; /* global count, global index of the first local problem */
  PetscInt n, nt;
  PetscReal *t, *d, *noise, *init, *theta_true;
  PetscInt *status;
  /* settings */
  PetscInt nstarts, batch, nscreen;
  PetscBool start_mean;
  PetscInt64 seed;
  InvMAPHessianType htype;
  PetscReal fd_h, same_tol;
  PetscBool setfromoptions, setup, solved;
  /* solvers: batched adjoint-capable TS (src/ts) at sizes batch, batch/4, ... */
  PetscInt nlevels, level_size[INV_MAP_MAXLEVELS];
  PetscBool grid_tried; /* the one-member level tried to learn the fixed step grid (map_objective.c) */
  InvBatchTS mts[INV_MAP_MAXLEVELS];
  const PetscReal **dptr;
  PetscReal *rhob, *sigb, *thb, *fb, *gb;
  PetscInt *stb;
  /* results (local) */
  PetscReal *theta_map, *obj, *gnorm, *cov, *wall;
  PetscInt *its, *nfev, *reason, *nbest, *nstart_ok;
  PetscInt64 evals, evals_fwd;       /* member evaluations with gradient (forward + adjoint) and forward only */
  PetscInt64 fail_start, fail_later; /* failed forward solves at a start point / later (line searches) */
  PetscReal seconds;
  PetscInt64 *task_evals; /* member evaluations per local problem (wall-time attribution) */
  /* interruption (SIGTERM/SIGUSR1) and -resume */
  PetscBool resume, interruptible, interrupted, complete_already;
  PetscBool *done;           /* local problems finished (this run or restored from the checkpoint) */
  PetscInt interrupt_after;  /* test option: raise the interrupt once this rank has finished that many problems */
  PetscReal progress;        /* seconds between progress lines (rank 0), < 0: none */
  PetscInt64 nfinished;      /* problems finished by this rank's minimisation so far */
  PetscInt ntodo;            /* problems this rank's minimisation has to finish */
  PetscLogDouble t0, tprint; /* start of InvMAPSolve, time of the last progress line */
  PetscReal ckpt_seconds;    /* -map_checkpoint_seconds: save the finished samples at least this often (0: only on signals) */
  PetscLogDouble deadline;   /* the scheduler stops handing out samples at this time (0: never) for a periodic checkpoint */
  PetscInt tasks_started;    /* tasks the last InvMAPMinimize handed out (the others never started) */
};

/* the marginal noise standard deviation of local problem i (docs/science.md section 2) */
static inline PetscReal InvMAPNoiseSD(InvMAP map, PetscInt i)
{
  return InvNoiseSpecSD(&map->nspec, map->noise[2 * i + 1]);
}

PETSC_INTERN PetscErrorCode InvMAPSetUpSolvers(InvMAP);
PETSC_INTERN PetscErrorCode InvMAPReadModelName(InvMAP);
PETSC_INTERN PetscErrorCode InvMAPReadInput(InvMAP);
PETSC_INTERN PetscErrorCode InvMAPCheckProblems(InvMAP);
PETSC_INTERN PetscErrorCode InvMAPCreateTao(Tao *);
PETSC_INTERN PetscErrorCode InvMAPSetUpSecondOrder(InvMAP);
PETSC_INTERN PetscErrorCode InvMAPWriteContents(InvMAP, hid_t);
PETSC_INTERN PetscErrorCode InvMAPCheckOutput(InvMAP);
PETSC_INTERN PetscErrorCode InvMAPReadCheckpoint(InvMAP);
PETSC_INTERN PetscErrorCode InvMAPSaveCheckpoint(InvMAP);
PETSC_INTERN PetscErrorCode InvMAPProblemFinished(InvMAP);
PETSC_INTERN PetscErrorCode InvMAPAllocResults(InvMAP);
