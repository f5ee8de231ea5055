/* invmap: the command-line driver. `invmap <command> [options]`; `invmap <command> -help` lists the
   options of a command with their defaults. Errors print one line naming the problem (the PETSc
   traceback with -invmap_traceback) and exit non-zero. */
#include "commands.h"
#include <invmap/model.h>
#include <stdio.h>
#include <string.h>

static const char help[] =
    "invmap: learned inverse maps for ODE models\n"
    "Usage: invmap <command> [options]   (invmap <command> -help lists its options; -help_petsc adds PETSc's)\n"
    "Option files: -options_file share/experiments/<name>.opts\n"
    "Models: -model_list names them; -model_plugin lib.so[,...] adds models from shared libraries (invmap model checks one)\n"
    "Options nothing reads are refused (a typo); -invmap_allow_unused only warns about them\n"
    "SIGTERM/SIGINT/SIGUSR1 checkpoint and exit 75; after SIGTERM/SIGINT a rank ends itself within\n"
    "-invmap_term_grace_seconds <60> (0: never); -invmap_traceback shows PETSc's traceback on errors\n\n";

static void PrintCommands(FILE *f)
{
  size_t n;
  const InvCommand *c = InvCommandList(&n);
  fprintf(f, "Commands:\n");
  for (size_t i = 0; i < n; i++) fprintf(f, "  %-10s %s\n", c[i].name, c[i].summary);
}

static PetscBool inv_error_printed = PETSC_FALSE;

/* PETSc's message for a value it cannot convert ("Input string abc has no integer value ...") does not
   name the option: find it on the command line (the option before the value). */
static void OptionOfBadValue(const char *mess, char opt[], size_t len)
{
  const char *lead = "Input string ", *end;
  int argc;
  char **argv;

  opt[0] = 0;
  if (!mess || strncmp(mess, lead, strlen(lead)) || !(end = strstr(mess, " has no"))) return;
  if (PetscGetArgs(&argc, &argv)) return;
  for (int i = 2; i < argc; i++)
    if (strlen(argv[i]) == (size_t)(end - mess - strlen(lead)) && !strncmp(argv[i], mess + strlen(lead), end - mess - strlen(lead)) &&
        argv[i - 1][0] == '-') {
      snprintf(opt, len, "option %s: ", argv[i - 1]);
      return;
    }
}

static PetscErrorCode InvErrorHandler(MPI_Comm comm, int line, const char *func, const char *file, PetscErrorCode n, PetscErrorType p,
                                      const char *mess, void *ctx)
{
  PetscMPIInt rank = 0;
  if (p == PETSC_ERROR_INITIAL && !inv_error_printed) {
    if (comm != MPI_COMM_NULL) MPI_Comm_rank(comm, &rank);
    char opt[256];
    OptionOfBadValue(mess, opt, sizeof(opt));
    if (rank == 0) fprintf(stderr, "invmap %s: error: %s%s\n", (const char *)ctx, opt, mess && mess[0] ? mess : "(no message)");
    fflush(stderr);
    inv_error_printed = PETSC_TRUE;
  }
  return n;
}

int main(int argc, char **argv)
{
  const InvCommand *cmd = NULL;
  int status = 0;
  PetscBool traceback = PETSC_FALSE, list = PETSC_FALSE, helpflag = PETSC_FALSE;
  PetscErrorCode ierr;

  /* No HDF5 clean-up at exit: after an error on one rank (say, a full disk) it would flush the files still open,
     which is collective and would wait forever for ranks that are elsewhere; those ranks are ended by mpiexec
     once this one exits. Files are closed explicitly on every successful path. */
  (void)H5dont_atexit();
  InvLauncherWatchStart();
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
  /* -help: invmap's options first, without PETSc's general help (which -help_petsc adds) */
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-help_petsc")) {
      argv[i] = (char *)"-help";
      helpflag = PETSC_TRUE;
    } else if (!strcmp(argv[i], "-help") || !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      for (int j = i; j < argc - 1; j++) argv[j] = argv[j + 1];
      argc--;
      i--;
      helpflag = PETSC_TRUE;
    }
  }
  PetscCall(PetscInitialize(&argc, &argv, NULL, help));
  if (helpflag) PetscCall(PetscOptionsSetValue(NULL, "-help", NULL));
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
    if (!list) PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%s", help));
    if (!hashelp && !list) status = 2;
    if (rank == 0 && !list) PrintCommands(stdout);
    PetscCall(PetscFinalize());
    return status;
  }
  if (!traceback) PetscCall(PetscPushErrorHandler(InvErrorHandler, (void *)cmd->name));
  if (helpflag)
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "invmap %s: %s\nOptions (defaults in <>; -help_petsc adds PETSc's general options):\n",
                          cmd->name, cmd->summary));
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
