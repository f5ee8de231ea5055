/* Orphaned ranks: a rank started by an MPI launcher (Open MPI's mpiexec or orted, a PMIx server such as
   srun --mpi=pmix, MPICH's hydra) whose launcher dies (SIGKILL, a crashed node daemon) is reparented and
   would run on alone, possibly for hours, stuck in MPI_Init or in a collective with peers that are gone,
   and writing into files that a rerun resumes from. A thread started before MPI_Init polls getppid(); when
   the parent changes it raises SIGTERM. Before PETSc's handler is installed (e.g. in MPI_Init) the default
   action ends the rank. Under invmap's handler (simulate, train, map, pipeline) the rank checkpoints at its
   next safe point if its peers still answer, and the handler's watchdog ends it within
   -invmap_term_grace_seconds otherwise (src/core/interrupt.c). Under PETSc's (the short commands) it calls
   MPI_Abort, which may wait for the dead launcher: so the thread itself ends the rank with SIGKILL once the
   grace period has passed as well (grace 0: SIGTERM only). The thread calls neither MPI nor PETSc.
   Ranks not started by a launcher (a singleton run from a shell, e.g. under nohup) are not watched: their
   parent may end legitimately. A launcher that dies between the fork and the first poll is not seen. */
#include <invmap/sys.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define INV_LAUNCHER_POLL_NS 500000000L /* 0.5 s between looks at the parent */

static pid_t inv_launcher_pid = 0;

/* Environment variables that MPI launchers set in the ranks they start */
static const char *const inv_launcher_env[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"};

static void *InvLauncherWatch(void *arg)
{
  const struct timespec poll = {0, INV_LAUNCHER_POLL_NS};
  unsigned grace;

  (void)arg;
  while (getppid() == inv_launcher_pid) nanosleep(&poll, NULL);
  (void)kill(getpid(), SIGTERM);
  grace = InvInterruptTermGrace();
  if (!grace) return NULL;
  struct timespec left = {(time_t)grace, 0};
  while (nanosleep(&left, &left)) continue; /* the whole period, even if interrupted */
  (void)kill(getpid(), SIGKILL);
  return NULL;
}

/* Called first in main(), before MPI_Init: no PETSc error handling is available yet, so failures are ignored
   (the watch is a safety net; the run itself does not depend on it). */
void InvLauncherWatchStart(void)
{
  PetscBool launched = PETSC_FALSE;
  pthread_t thread;
  pthread_attr_t attr;
  sigset_t all, old;

  for (size_t i = 0; i < sizeof(inv_launcher_env) / sizeof(inv_launcher_env[0]); i++)
    if (getenv(inv_launcher_env[i])) launched = PETSC_TRUE;
  if (!launched) return;
  inv_launcher_pid = getppid();
  if (pthread_attr_init(&attr)) return;
  (void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  /* the thread blocks every signal, so that SIGTERM, SIGINT and SIGUSR1 reach the main thread's handler */
  sigfillset(&all);
  (void)pthread_sigmask(SIG_SETMASK, &all, &old);
  (void)pthread_create(&thread, &attr, InvLauncherWatch, NULL);
  (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
  (void)pthread_attr_destroy(&attr);
}
