/* invmap: the command-line driver. `invmap <command> [options]`; `invmap <command> -help` lists the
   options of a command with their defaults. Errors print one line naming the problem (the PETSc
   traceback with -invmap_traceback) and exit non-zero. */
#include "commands.h"
#include <invmap/model.h>
#include <stdio.h>
#include <string.h>

static const char help[] = "invmap: learned inverse maps for ODE models\n"
                           "Usage: invmap <command> [options]   (invmap <command> -help lists its options)\n"
                           "Option files: -options_file share/experiments/<name>.opts\n\n";

static void PrintCommands(FILE *f)
{
  size_t n;
  const InvCommand *c = InvCommandList(&n);
  fprintf(f, "Commands:\n");
  for (size_t i = 0; i < n; i++) fprintf(f, "  %-10s %s\n", c[i].name, c[i].summary);
}

static PetscBool inv_error_printed = PETSC_FALSE;

static PetscErrorCode InvErrorHandler(MPI_Comm comm, int line, const char *func, const char *file, PetscErrorCode n, PetscErrorType p,
                                      const char *mess, void *ctx)
{
  PetscMPIInt rank = 0;
  if (p == PETSC_ERROR_INITIAL && !inv_error_printed) {
    if (comm != MPI_COMM_NULL) MPI_Comm_rank(comm, &rank);
    if (rank == 0) fprintf(stderr, "invmap %s: error: %s\n", (const char *)ctx, mess && mess[0] ? mess : "(no message)");
    fflush(stderr);
    inv_error_printed = PETSC_TRUE;
  }
  return n;
}

int main(int argc, char **argv)
{
  const InvCommand *cmd = NULL;
  int status = 0;
  PetscBool traceback = PETSC_FALSE, list = PETSC_FALSE;
  PetscErrorCode ierr;

  /* No HDF5 clean-up at exit: after an error on one rank (say, a full disk) it would flush the files still open,
     which is collective and would wait forever for ranks that are elsewhere; those ranks are ended by mpiexec
     once this one exits. Files are closed explicitly on every successful path. */
  (void)H5dont_atexit();
  if (argc >= 2 && argv[1][0] != '-') {
    cmd = InvCommandFind(argv[1]);
    if (!cmd) {
      fprintf(stderr, "invmap: unknown command '%s'\n%s", argv[1], help);
      PrintCommands(stderr);
      return 2;
    }
    argv[1] = argv[0];
    argc--;
    argv++;
  }
  PetscCall(PetscInitialize(&argc, &argv, NULL, help));
  PetscCall(InvInitializePackage());
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-invmap_traceback", &traceback, NULL));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-model_list", &list, NULL));
  if (list) {
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Models:"));
    PetscCall(InvModelList(PETSC_COMM_WORLD, stdout));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "\n"));
  }
  if (!cmd) {
    PetscBool hashelp;
    PetscMPIInt rank;
    PetscCall(PetscOptionsHasHelp(NULL, &hashelp));
    PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
    if (!hashelp && !list) {
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%s", help));
      status = 2;
    }
    if (rank == 0 && !list) PrintCommands(stdout);
    PetscCall(PetscFinalize());
    return status;
  }
  if (!traceback) PetscCall(PetscPushErrorHandler(InvErrorHandler, (void *)cmd->name));
  {
    PetscLogStage stage; /* -log_view shows the command as its own stage */
    PetscCall(PetscLogStageRegister(cmd->name, &stage));
    PetscCall(PetscLogStagePush(stage));
    ierr = cmd->run(&status);
    if (!ierr) PetscCall(PetscLogStagePop());
  }
  if (ierr) {
    InvScratchRemoveAll(); /* e.g. -map_hessian soa's trajectory files in /dev/shm */
    if (!inv_error_printed) fprintf(stderr, "invmap %s: error (code %d)\n", cmd->name, (int)ierr);
    return (int)(ierr ? 1 : 0);
  }
  PetscCall(PetscFinalize());
  return status;
}
