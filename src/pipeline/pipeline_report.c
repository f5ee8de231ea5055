/* What the report needs that only the running process knows (the command line, library versions, the
   machine, the rank count), and the report stage: share/report/report.py run by rank 0 with the
   Python that has matplotlib and h5py. */
#include "pipelineimpl.h"
#include <invmap/version.h>
#include <cblas.h>
#include <fftw3.h>
#include <hdf5.h>
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define INV_PETSC_VERSION_LEN 256 /* PetscGetVersion() writes about 45 characters */

extern char **environ;

static PetscErrorCode CpuModel(char model[], size_t len)
{
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[512];

  PetscFunctionBegin;
  PetscCall(PetscStrncpy(model, "unknown", len));
  if (!f) PetscFunctionReturn(0);
  while (fgets(line, sizeof(line), f)) {
    if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
      char *v = strchr(line, ':') + 1;
      while (*v == ' ') v++;
      v[strcspn(v, "\n")] = 0;
      PetscCall(PetscStrncpy(model, v, len));
      break;
    }
  }
  fclose(f);
  PetscFunctionReturn(0);
}

PetscErrorCode InvPipelineDescribeRun(InvPipeline p)
{
  char buf[4096], cpu[256], host[256] = "unknown", mpi[MPI_MAX_LIBRARY_VERSION_STRING], *cmd = NULL, *opts = NULL;
  char petsc[INV_PETSC_VERSION_LEN];
  int argc, mlen;
  char **argv;
  unsigned h5maj = 0, h5min = 0, h5rel = 0;
  PetscMPIInt size;
  time_t now = time(NULL);
  struct tm tmv;

  PetscFunctionBegin;
  PetscCall(PetscFree(p->meta));
  PetscCall(PetscGetArgs(&argc, &argv));
  PetscCall(InvStrAppend(&cmd, "invmap pipeline"));
  for (int i = 1; i < argc; i++) PetscCall(InvStrAppend(&cmd, argv[i]));
  for (PetscInt i = 0; i < p->exp.n; i++) {
    if (!p->exp.name[i]) continue;
    PetscCall(InvStrAppend(&opts, p->exp.name[i]));
    if (p->exp.value[i]) PetscCall(InvStrAppend(&opts, p->exp.value[i]));
  }
  PetscCallMPI(MPI_Get_library_version(mpi, &mlen));
  mpi[strcspn(mpi, "\n,")] = 0;
  PetscCallMPI(MPI_Comm_size(p->comm, &size));
  PetscCallHDF5(H5get_libversion(&h5maj, &h5min, &h5rel));
  (void)gethostname(host, sizeof(host));
  PetscCall(CpuModel(cpu, sizeof(cpu)));
  gmtime_r(&now, &tmv);
  PetscCall(PetscSNPrintf(buf, sizeof(buf),
                          "meta\texperiment\t%s\nmeta\tdir\t%s\nmeta\tstarted\t%04d-%02d-%02dT%02d:%02d:%02dZ\nmeta\tcommand\t%s\n",
                          p->name, p->dir, tmv.tm_year + 1900, tmv.tm_mon + 1, tmv.tm_mday, tmv.tm_hour, tmv.tm_min, tmv.tm_sec, cmd));
  PetscCall(InvStrCat(&p->meta, buf));
  PetscCall(PetscSNPrintf(buf, sizeof(buf), "meta\tdefault_experiment\t%s\nmeta\toptions\t%s\n",
                          p->defaults_file[0] ? p->defaults_file : "-", opts ? opts : "-"));
  PetscCall(InvStrCat(&p->meta, buf));
  /* into its own buffer: cmd is a heap string only as long as the command line (17 bytes for "invmap pipeline") */
  PetscCall(PetscGetVersion(petsc, sizeof(petsc)));
  PetscCall(PetscSNPrintf(
      buf, sizeof(buf), "meta\tinvmap\t%s (%s)\nmeta\tpetsc\t%s\nmeta\tmpi\t%s\nmeta\thdf5\t%u.%u.%u\nmeta\topenblas\t%s\nmeta\tfftw\t%s\n",
      INVMAP_VERSION, INVMAP_GIT, petsc, mpi, h5maj, h5min, h5rel, openblas_get_config(), fftw_version));
  PetscCall(InvStrCat(&p->meta, buf));
  PetscCall(PetscSNPrintf(buf, sizeof(buf), "meta\thost\t%s\nmeta\tcpu\t%s (%ld online)\nmeta\tranks\t%d\n", host, cpu,
                          sysconf(_SC_NPROCESSORS_ONLN), (int)size));
  PetscCall(InvStrCat(&p->meta, buf));
  PetscCall(PetscFree(cmd));
  PetscCall(PetscFree(opts));
  PetscFunctionReturn(0);
}

/* Rank 0 runs `python report.py DIR`; every rank learns its exit status. A signal (SIGUSR1 from SLURM) while the
   script runs is recorded and the wait goes on; *interrupted: the script failed after a signal (Ctrl-C reaches
   the script too), so the stage is "interrupted" and a rerun writes the report. */
PetscErrorCode InvPipelineRunReport(InvPipeline p, InvPipelineStage *st, PetscBool *interrupted)
{
  char script[PETSC_MAX_PATH_LEN];
  PetscMPIInt rank;
  int rc = 0, err = 0, sig = 0;
  double t0 = MPI_Wtime();

  PetscFunctionBegin;
  *interrupted = PETSC_FALSE;
  PetscCallMPI(MPI_Comm_rank(p->comm, &rank));
  PetscCall(PetscSNPrintf(script, sizeof(script), "%s/report/report.py", p->share));
  PetscCall(PetscPrintf(p->comm, "\n== %s: %s %s %s\n", st->name, p->python, script, p->dir));
  if (rank == 0) {
    if (access(p->python, X_OK) != 0)
      err = 1;
    else if (access(script, R_OK) != 0)
      err = 2;
    else {
      char *argv[] = {p->python, script, p->dir, p->figures ? NULL : "--no-figures", NULL};
      pid_t pid, waited;
      int wst;
      fflush(stdout);
      if (posix_spawn(&pid, p->python, NULL, NULL, argv, environ) != 0)
        err = 3;
      else {
        while ((waited = waitpid(pid, &wst, 0)) < 0 && errno == EINTR) continue; /* a signal: recorded, the script goes on */
        if (waited < 0)
          err = 4;
        else
          rc = WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + (WIFSIGNALED(wst) ? WTERMSIG(wst) : 0);
      }
    }
    sig = InvInterruptSignal();
  }
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, p->comm));
  PetscCallMPI(MPI_Bcast(&rc, 1, MPI_INT, 0, p->comm));
  PetscCallMPI(MPI_Bcast(&sig, 1, MPI_INT, 0, p->comm));
  st->seconds = MPI_Wtime() - t0;
  if (rc != 0 && sig) {
    PetscCall(PetscStrncpy(st->status, "interrupted", sizeof(st->status)));
    *interrupted = PETSC_TRUE;
    PetscFunctionReturn(0);
  }
  PetscCheck(err != 1, p->comm, PETSC_ERR_FILE_OPEN,
             "The report needs %s (Python with matplotlib and h5py; install python3-matplotlib python3-h5py, or set -pipeline_python, or "
             "-pipeline_report 0)",
             p->python);
  PetscCheck(err != 2, p->comm, PETSC_ERR_FILE_OPEN, "The report script %s is missing: set -pipeline_share to invmap's share directory",
             script);
  PetscCheck(err != 3, p->comm, PETSC_ERR_SYS, "Cannot run %s", p->python);
  PetscCheck(err != 4, p->comm, PETSC_ERR_SYS, "Lost the report script's process (%s %s %s): waitpid failed", p->python, script, p->dir);
  PetscCheck(rc == 0, p->comm, PETSC_ERR_LIB, "The report script failed (status %d; its messages are above): %s %s %s", rc, p->python,
             script, p->dir);
  PetscCall(PetscStrncpy(st->status, "done", sizeof(st->status)));
  PetscCall(PetscPrintf(p->comm, "== %s: %s/report/report.md (%.1f s)\n", st->name, p->dir, st->seconds));
  PetscFunctionReturn(0);
}
