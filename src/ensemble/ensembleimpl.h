/* Private state of InvEnsemble, shared by ensemble.c (set-up and the chunk loop) and ensemble_file.c
   (the output file: creation, attributes, resume checks, failure counts). */
#pragma once
#include <invmap/ensemble.h>
#include <invmap/h5io.h>
#include <stdint.h>

struct _p_InvEnsemble {
  MPI_Comm comm;
  PetscMPIInt rank, size;
  char model_type[INV_MAX_NAME];
  InvModel model;
  InvPrior prior;
  InvNoise noise;
  InvBatchTS bts;
  InvMemberRK mrk;    /* one adaptive step per member (-step_control member); NULL: bts steps the batch */
  PetscInt step_mode; /* index into InvStepControls */
  PetscInt64 n, seed;
  char theta_file[PETSC_MAX_PATH_LEN];
  PetscReal *theta_in; /* n x P when read from a file */
  char output[PETSC_MAX_PATH_LEN], partial[PETSC_MAX_PATH_LEN];
  PetscInt batch, chunk;
  PetscBool resume, overwrite, quiet;
  PetscBool single; /* -series_precision single: /u and /d stored as float32 */
  PetscInt nt;
  PetscReal *times;
  PetscReal progress;
  PetscBool setup;
  /* results */
  PetscInt64 nfailed, status_count[5];
  PetscReal seconds;
  PetscBool interrupted, complete_already;
};

/* -step_control (InvStepControls): one adaptive step per member (InvMemberRK) or one shared by the batch (InvBatchTS) */
enum { INV_STEP_MEMBER, INV_STEP_BATCH };

/* -series_precision: the stored type of the series /u and /d */
PETSC_INTERN const char *const InvSeriesPrecisions[];
#define INV_SERIES_CHUNK_ROWS  256               /* rows per HDF5 chunk of /u and /d: a block of rows as streamed training reads it */
#define INV_SERIES_CHUNK_BYTES (4 * 1024 * 1024) /* at most this many bytes per chunk (fewer rows for long series) */

PETSC_INTERN PetscErrorCode InvEnsembleSignature(InvEnsemble, char[], size_t);
PETSC_INTERN PetscErrorCode InvEnsembleCreateFile(InvEnsemble, hid_t *, const char[]);
PETSC_INTERN PetscErrorCode InvEnsembleOpenForResume(InvEnsemble, hid_t *, const char[]);
PETSC_INTERN PetscErrorCode InvEnsemblePartialUsable(InvEnsemble, PetscBool *);
PETSC_INTERN PetscErrorCode InvEnsembleCountFailures(InvEnsemble, hid_t);
