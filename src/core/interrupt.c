/* SIGTERM/SIGUSR1/SIGINT handling: the handler only records the signal; loops poll InvInterruptPending()
   at safe points, collectively, so that every rank checkpoints and stops at the same place. Ctrl-C
   (SIGINT) is treated like SIGTERM; a second SIGINT while the first is being handled ends the process
   at once (the default action), for a user who does not want to wait for the checkpoint. The test option
   -invmap_test_wait_signal makes the first safe point wait for a real signal (after printing a line saying so), so
   that tests signal a run that provably has work left, without sleeps that race with the machine's load
   (InvInterruptTestArm does the same for a pipeline's chosen stage); a run with -resume is not held, so that a
   requeued job, which repeats its arguments, runs through. The handlers restart interrupted system
   calls (SA_RESTART), so that a signal arriving while a process waits (for the report's Python, in a library's
   read) is recorded and the wait goes on, instead of failing that call with EINTR.
   Watchdog: SIGTERM or SIGINT also arms alarm(-invmap_term_grace_seconds) with SIGALRM's default action, so a rank
   told to stop ends within the grace period even when it cannot reach a safe point (a peer died while it waits
   in a collective and the MPI runtime fails to end the job). Files keep their final names only when complete, so
   ending there loses at most the work since the last checkpoint. SIGUSR1 (checkpoint and stop) arms nothing. */
#include <invmap/sys.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define INV_TEST_WAIT_MAX_SECONDS 600.0     /* -invmap_test_wait_signal gives up (with an error) after this long */
#define INV_TEST_WAIT_POLL_NS     10000000L /* 10 ms between looks at the flag */
#define INV_TERM_GRACE_SECONDS    60        /* default -invmap_term_grace_seconds: a rank's time from SIGTERM to its end */

static volatile sig_atomic_t inv_signal = 0;
static PetscBool inv_test_wait = PETSC_FALSE;
static _Atomic unsigned inv_term_grace = INV_TERM_GRACE_SECONDS; /* 0: no watchdog; also read by the launcher watch's thread */

static void InvSignalHandler(int sig)
{
  if (sig == SIGINT && inv_signal == SIGINT) { /* async-signal-safe: restore the default and re-raise */
    (void)signal(SIGINT, SIG_DFL);
    (void)raise(SIGINT);
    return;
  }
  if ((sig == SIGTERM || sig == SIGINT) && !inv_signal && inv_term_grace) (void)alarm(inv_term_grace); /* async-signal-safe */
  inv_signal = sig;
}

PetscErrorCode InvInterruptInstall(void)
{
  struct sigaction sa;

  PetscFunctionBegin;
  { /* sticky: the stages of a pipeline install again with their own options */
    PetscBool wait = PETSC_FALSE;
    PetscCall(PetscOptionsGetBool(NULL, NULL, "-invmap_test_wait_signal", &wait, NULL));
    if (wait) inv_test_wait = PETSC_TRUE;
  }
  { /* sticky as well: set only when given */
    PetscInt grace;
    PetscBool set;
    PetscCall(PetscOptionsGetInt(NULL, NULL, "-invmap_term_grace_seconds", &grace, &set));
    if (set) {
      PetscCheck(grace >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
                 "-invmap_term_grace_seconds must be >= 0 (0: no watchdog), got %" PetscInt_FMT, grace);
      inv_term_grace = (unsigned)grace;
    }
  }
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = InvSignalHandler;
  sa.sa_flags = SA_RESTART; /* waitpid, read, ... go on after the handler; nanosleep (the test hold) still returns early */
  sigemptyset(&sa.sa_mask);
  PetscCheck(sigaction(SIGTERM, &sa, NULL) == 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "Cannot install SIGTERM handler");
  PetscCheck(sigaction(SIGUSR1, &sa, NULL) == 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "Cannot install SIGUSR1 handler");
  PetscCheck(sigaction(SIGINT, &sa, NULL) == 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "Cannot install SIGINT handler");
  /* the watchdog's SIGALRM must end the process (PETSc's handler would call MPI_Abort, which needs the runtime) */
  sa.sa_handler = SIG_DFL;
  sa.sa_flags = 0;
  PetscCheck(sigaction(SIGALRM, &sa, NULL) == 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "Cannot reset the SIGALRM action");
  PetscFunctionReturn(0);
}

PetscErrorCode InvInterruptRaise(int sig)
{
  PetscFunctionBegin;
  inv_signal = sig;
  PetscFunctionReturn(0);
}

PetscErrorCode InvInterruptTestArm(void)
{
  PetscFunctionBegin;
  inv_test_wait = PETSC_TRUE;
  PetscFunctionReturn(0);
}

unsigned InvInterruptTermGrace(void)
{
  return inv_term_grace;
}

int InvInterruptSignal(void)
{
  return (int)inv_signal;
}

PetscErrorCode InvInterruptTestHold(void)
{
  PetscLogDouble t0, t;
  const struct timespec poll = {0, INV_TEST_WAIT_POLL_NS};

  PetscFunctionBegin;
  if (!inv_test_wait || inv_signal) PetscFunctionReturn(0);
  { /* a resumed run (a requeued job repeats its arguments, -resume added) goes through: the hold is for the first run */
    PetscBool resume = PETSC_FALSE;
    PetscCall(PetscOptionsGetBool(NULL, NULL, "-resume", &resume, NULL));
    if (resume) {
      inv_test_wait = PETSC_FALSE;
      PetscFunctionReturn(0);
    }
  }
  PetscCall(PetscFPrintf(PETSC_COMM_SELF, PETSC_STDERR, "invmap: test: waiting for a signal (-invmap_test_wait_signal)\n"));
  PetscCall(PetscTime(&t0));
  while (!inv_signal) {
    PetscCall(PetscTime(&t));
    PetscCheck(t - t0 < INV_TEST_WAIT_MAX_SECONDS, PETSC_COMM_SELF, PETSC_ERR_SYS,
               "-invmap_test_wait_signal: no SIGTERM or SIGUSR1 arrived within %g s", INV_TEST_WAIT_MAX_SECONDS);
    nanosleep(&poll, NULL); /* a signal ends it early */
  }
  inv_test_wait = PETSC_FALSE;
  PetscFunctionReturn(0);
}

/* Collective: true on every rank if any rank has received a signal. */
PetscErrorCode InvInterruptPending(MPI_Comm comm, PetscBool *pending)
{
  int local, global;

  PetscFunctionBegin;
  PetscCall(InvInterruptTestHold());
  local = inv_signal ? 1 : 0;
  PetscCallMPI(MPI_Allreduce(&local, &global, 1, MPI_INT, MPI_MAX, comm));
  *pending = global ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}
