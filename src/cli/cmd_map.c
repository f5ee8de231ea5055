/* `invmap map`: MAP estimates with TSAdjoint + TAO and Laplace covariances for observed series. On
   SIGTERM/SIGUSR1 it finishes the samples in flight, saves them to <output>.partial and exits with 75;
   -resume finishes the run. */
#include "commands.h"
#include <invmap/map.h>

PetscErrorCode InvCmdMapOptions(void *ctx)
{
  InvMAP map;
  PetscBool quiet = PETSC_FALSE;
  char out[PETSC_MAX_PATH_LEN] = "";

  PetscFunctionBegin;
  PetscCall(InvMAPCreate(PETSC_COMM_WORLD, &map));
  PetscCall(InvMAPSetFromOptions(map));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-o", out, sizeof(out), NULL));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-quiet", &quiet, NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-map_targets_into", out, sizeof(out), NULL));
  PetscCall(InvMAPDestroy(&map));
  PetscFunctionReturn(0);
}

/* -map_targets_into <set>: attach the Laplace targets of the finished output to a training set (map_targets.c);
   check_only: before the solve, refuse what the attachment would refuse for the options alone */
static PetscErrorCode AttachTargets(const char out[], PetscBool check_only)
{
  char set[PETSC_MAX_PATH_LEN] = "", input[PETSC_MAX_PATH_LEN] = "";
  PetscBool set_given, overwrite = PETSC_FALSE;

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetString(NULL, NULL, "-map_targets_into", set, sizeof(set), &set_given));
  if (!set_given) PetscFunctionReturn(0);
  PetscCheck(set[0], PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "-map_targets_into needs a file name (the training set, or a new copy of it)");
  PetscCall(PetscOptionsGetString(NULL, NULL, "-i", input, sizeof(input), NULL));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-overwrite", &overwrite, NULL));
  if (check_only) {
    PetscBool exists, has_n;
    PetscCall(PetscOptionsHasName(NULL, NULL, "-n", &has_n));
    PetscCheck(!has_n, PETSC_COMM_WORLD, PETSC_ERR_ARG_INCOMP, "-map_targets_into needs the MAP of every sample of %s: drop -n", input);
    PetscCall(InvFileExists(set, &exists));
    PetscCheck(!exists || overwrite || !strcmp(set, input), PETSC_COMM_WORLD, PETSC_ERR_FILE_WRITE,
               "-map_targets_into %s exists and is not the input %s; pass -overwrite to replace it", set, input);
    PetscFunctionReturn(0);
  }
  PetscCall(InvMAPAttachTargets(PETSC_COMM_WORLD, out, input, set, overwrite));
  PetscFunctionReturn(0);
}

PetscErrorCode InvCmdMap(int *status)
{
  InvMAP map;
  PetscBool help, quiet = PETSC_FALSE;
  char out[PETSC_MAX_PATH_LEN] = "map.h5";

  PetscFunctionBegin;
  PetscCall(InvInterruptInstall());
  PetscCall(InvMAPCreate(PETSC_COMM_WORLD, &map));
  PetscCall(InvMAPSetFromOptions(map));
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) { /* read by AttachTargets; listed here */
    char set[PETSC_MAX_PATH_LEN] = "";
    PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "Laplace targets for training (invmap map)", "InvMAP");
    PetscCall(PetscOptionsString("-map_targets_into",
                                 "After the run, write /theta_map, /cov, /map_status into this training set (the input, replaced "
                                 "atomically, or a new copy of it) for invmap train -train_loss moment",
                                 "", set, set, sizeof(set), NULL));
    PetscOptionsEnd();
  }
  if (!help) {
    PetscInt64 nf, na, ne, n = 0;
    PetscReal secs, wper, cper;
    PetscInt nl;
    PetscMPIInt size;
    const PetscInt *st;
    PetscBool interrupted, complete;
    PetscCall(PetscOptionsGetString(NULL, NULL, "-o", out, sizeof(out), NULL));
    PetscCall(PetscOptionsGetBool(NULL, NULL, "-quiet", &quiet, NULL));
    PetscCall(InvMAPSetUp(map));
    PetscCall(InvOptionsCheckUnused(PETSC_COMM_WORLD, "map", InvCmdMapOptions, NULL));
    PetscCall(AttachTargets(out, PETSC_TRUE));
    PetscCall(InvMAPGetInterrupted(map, NULL, &complete));
    if (complete) {
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "map: %s is already complete; nothing to resume\n", out));
      PetscCall(InvMAPDestroy(&map));
      PetscCall(AttachTargets(out, PETSC_FALSE)); /* a run killed between its output and the targets */
      *status = 0;
      PetscFunctionReturn(0);
    }
    if (!quiet) PetscCall(InvMAPView(map, PETSC_VIEWER_STDOUT_WORLD));
    PetscCall(InvMAPSolve(map));
    PetscCall(InvMAPGetInterrupted(map, &interrupted, NULL));
    if (interrupted) {
      PetscInt64 nd = 0, N;
      const PetscBool *dn;
      char partial[PETSC_MAX_PATH_LEN];
      PetscCall(InvMAPWriteCheckpoint(map));
      PetscCall(InvMAPGetDone(map, &nl, &N, &dn));
      for (PetscInt i = 0; i < nl; i++) nd += dn[i] ? 1 : 0;
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &nd, 1, MPIU_INT64, MPI_SUM, PETSC_COMM_WORLD));
      PetscCall(InvPartialName(out, partial, sizeof(partial)));
      PetscCall(PetscPrintf(PETSC_COMM_WORLD,
                            "map: interrupted by signal %d after %" PetscInt64_FMT " of %" PetscInt64_FMT
                            " samples; state saved in %s; rerun with -resume to finish\n",
                            InvInterruptSignal(), nd, N, partial));
      PetscCall(InvMAPDestroy(&map));
      *status = INV_EXIT_INTERRUPTED;
      PetscFunctionReturn(0);
    }
    PetscCall(InvMAPWrite(map, out));
    PetscCall(InvMAPGetResults(map, &nl, NULL, NULL, NULL, NULL, &st));
    PetscCall(InvMAPGetStats(map, &ne, &nf, &na, &secs));
    n = nl;
    PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &n, 1, MPIU_INT64, MPI_SUM, PETSC_COMM_WORLD));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &ne, 1, MPIU_INT64, MPI_SUM, PETSC_COMM_WORLD));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &nf, 1, MPIU_INT64, MPI_SUM, PETSC_COMM_WORLD));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &secs, 1, MPIU_REAL, MPIU_MAX, PETSC_COMM_WORLD));
    InvCostPerEstimate(secs, n, size, &wper, &cper);
    if (!quiet)
      PetscCall(PetscPrintf(
          PETSC_COMM_WORLD,
          "map: %" PetscInt64_FMT " estimates in %.2f s on %d rank(s): %.4g wall s per estimate, %.4g core-s per estimate "
          "(wall x ranks); %.1f forward+adjoint and %.1f forward-only (screening) solves per estimate; wrote %s\n",
          n, (double)secs, (int)size, (double)wper, (double)cper, (double)ne / PetscMax(1, n), (double)nf / PetscMax(1, n), out));
    PetscCall(AttachTargets(out, PETSC_FALSE));
  }
  PetscCall(InvMAPDestroy(&map));
  *status = 0;
  PetscFunctionReturn(0);
}
