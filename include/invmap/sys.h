/* invmap system layer: package initialisation, log events and stages, the HDF5 error bridge,
   interrupt (SIGTERM/SIGUSR1) handling and atomic output files. Every component includes this. */
#pragma once
#include <petscsys.h>
#include <hdf5.h>
#include <errno.h>
#include <invmap/version.h>

/* Why the last HDF5 call failed: ": <cause>" from the innermost entry of HDF5's error stack and the system error
   (errno, e.g. "No space left on device"), or "" when neither says anything (h5io.c). */
PETSC_EXTERN const char *InvH5ErrorDetail(int);

/* Turn a negative HDF5 return code (herr_t or hid_t) into a PETSc error naming the call and its cause. */
#define PetscCallHDF5(...)                                                                                                                 \
  do {                                                                                                                                     \
    H5E_auto2_t _inv_h5func;                                                                                                               \
    void *_inv_h5data;                                                                                                                     \
    H5Eget_auto2(H5E_DEFAULT, &_inv_h5func, &_inv_h5data);                                                                                 \
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);                                                                                                 \
    errno = 0;                                                                                                                             \
    long long _inv_h5ret = (long long)(__VA_ARGS__);                                                                                       \
    const char *_inv_h5why = _inv_h5ret < 0 ? InvH5ErrorDetail(errno) : "";                                                                \
    H5Eset_auto2(H5E_DEFAULT, _inv_h5func, _inv_h5data);                                                                                   \
    PetscCheck(_inv_h5ret >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5 call failed: %s%s", #__VA_ARGS__, _inv_h5why);                       \
  } while (0)

/* Like PetscCallHDF5 but stores the returned id. */
#define PetscCallHDF5Return(id, ...)                                                                                                       \
  do {                                                                                                                                     \
    H5E_auto2_t _inv_h5func;                                                                                                               \
    void *_inv_h5data;                                                                                                                     \
    H5Eget_auto2(H5E_DEFAULT, &_inv_h5func, &_inv_h5data);                                                                                 \
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);                                                                                                 \
    errno = 0;                                                                                                                             \
    (id) = (__VA_ARGS__);                                                                                                                  \
    const char *_inv_h5why = (id) < 0 ? InvH5ErrorDetail(errno) : "";                                                                      \
    H5Eset_auto2(H5E_DEFAULT, _inv_h5func, _inv_h5data);                                                                                   \
    PetscCheck((id) >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5 call failed: %s%s", #__VA_ARGS__, _inv_h5why);                             \
  } while (0)

/* Log events of invmap (registered by InvInitializePackage); see -log_view. */
PETSC_EXTERN PetscLogEvent INV_Simulate, INV_SimulateBatch, INV_Noise, INV_IORead, INV_IOWrite;
PETSC_EXTERN PetscLogEvent INV_TrainForward, INV_TrainBackward, INV_TrainAllreduce, INV_TrainStep, INV_Predict;
PETSC_EXTERN PetscLogEvent INV_MAPSolve, INV_MAPObjective, INV_MAPHessian;
PETSC_EXTERN PetscClassId INV_CLASSID;

PETSC_EXTERN PetscErrorCode InvInitializePackage(void);
PETSC_EXTERN PetscErrorCode InvFinalizePackage(void);

/* Interrupts: SIGTERM and SIGUSR1 (sent by SLURM before a time limit) and SIGINT (Ctrl-C) set a flag that
   long-running loops poll at safe points (chunk or epoch boundaries) to checkpoint and stop. */
PETSC_EXTERN PetscErrorCode InvInterruptInstall(void);
PETSC_EXTERN PetscErrorCode InvInterruptPending(MPI_Comm, PetscBool *);
PETSC_EXTERN int InvInterruptSignal(void);
PETSC_EXTERN PetscErrorCode InvInterruptRaise(int); /* tests: simulate the arrival of a signal */
/* tests (-invmap_test_wait_signal): at the first safe point, print a line and wait for a real signal */
PETSC_EXTERN PetscErrorCode InvInterruptTestHold(void);
/* tests (invmap pipeline -invmap_test_wait_signal_stage): the next safe point waits as with -invmap_test_wait_signal */
PETSC_EXTERN PetscErrorCode InvInterruptTestArm(void);
/* A rank whose MPI launcher dies ends itself (src/core/launcher_watch.c); first in main(), before MPI_Init */
PETSC_EXTERN void InvLauncherWatchStart(void);
/* -invmap_term_grace_seconds: a rank's time from SIGTERM/SIGINT to its end (0: no limit) */
PETSC_EXTERN unsigned InvInterruptTermGrace(void);

/* Atomic output: a file is written to "<name>.partial" and renamed at the end. */
PETSC_EXTERN PetscErrorCode InvPartialName(const char[], char[], size_t);
PETSC_EXTERN PetscErrorCode InvFileExists(const char[], PetscBool *);
PETSC_EXTERN PetscErrorCode InvFileCommit(MPI_Comm, const char[]);
PETSC_EXTERN PetscErrorCode InvFileRename(MPI_Comm, const char[], const char[]);
PETSC_EXTERN PetscErrorCode InvFileRemove(MPI_Comm, const char[]);

/* Scratch directories: registered while in use; the driver removes those left after an error. */
PETSC_EXTERN PetscErrorCode InvScratchRegister(const char[]);
PETSC_EXTERN PetscErrorCode InvScratchRemove(const char[]);
PETSC_EXTERN void InvScratchRemoveAll(void);
/* Killed runs: names carry the owner's tag <host>-<pid>-<start time>; the stale ones (dead owner on this host) can be removed. */
PETSC_EXTERN PetscErrorCode InvScratchOwnerTag(char[], size_t);
PETSC_EXTERN PetscErrorCode InvScratchRemoveStale(const char base[], const char prefix[], PetscInt *nremoved);

/* "help (default v0,v1,...)": array defaults in full for -help (src/core/help.c) */
#define INV_HELP_LEN 512
PETSC_EXTERN PetscErrorCode InvHelpWithDefaults(const char[], PetscInt, const PetscReal[], char[], size_t);

/* The full command line and options database as one string (stored as an attribute of outputs). */
PETSC_EXTERN PetscErrorCode InvOptionsString(char **);

/* Unknown options (src/core/options_check.c): option names with their dash. */
typedef struct {
  PetscInt n, cap;
  char **name;
} InvOptionNames;
PETSC_EXTERN PetscBool InvOptionIsPetscGlobal(const char[]);
PETSC_EXTERN PetscBool InvOptionNamesHas(const InvOptionNames *, const char[]);
PETSC_EXTERN PetscErrorCode InvOptionNamesDestroy(InvOptionNames *);
PETSC_EXTERN PetscErrorCode InvOptionsKnown(PetscOptions, PetscErrorCode (*)(void *), void *, InvOptionNames *);
PETSC_EXTERN PetscErrorCode InvOptionsSuggest(const InvOptionNames *, const char[], char[], size_t);
PETSC_EXTERN PetscErrorCode InvOptionsFindUnknown(PetscOptions, PetscErrorCode (*)(void *), void *, char[], size_t, char[], size_t);
PETSC_EXTERN PetscErrorCode InvOptionsCheckUnused(MPI_Comm, const char[], PetscErrorCode (*)(void *), void *);
/* The one cost convention of invmap's summaries (docs/file-formats.md, "Cost"): a run that made n estimates
   in `wall` seconds of wall-clock time on `ranks` MPI ranks costs wall / n wall seconds per estimate and
   wall * ranks / n core-seconds per estimate (NaN when n <= 0, wall is not finite, or ranks <= 0 for the
   latter). */
PETSC_EXTERN void InvCostPerEstimate(PetscReal wall, PetscInt64 n, PetscInt ranks, PetscReal *wall_per, PetscReal *core_per);
