/* SIGTERM/SIGUSR1/SIGINT handling: the handler only records the signal; loops poll InvInterruptPending()
   at safe points, collectively, so that every rank checkpoints and stops at the same place. Ctrl-C
   (SIGINT) is treated like SIGTERM; a second SIGINT while the first is being handled ends the process
   at once (the default action), for a user who does not want to wait for the checkpoint. */
#include <invmap/sys.h>
#include <signal.h>
#include <string.h>

static volatile sig_atomic_t inv_signal = 0;

static void InvSignalHandler(int sig)
{
  if (sig == SIGINT && inv_signal == SIGINT) { /* async-signal-safe: restore the default and re-raise */
    (void)signal(SIGINT, SIG_DFL);
    (void)raise(SIGINT);
    return;
  }
  inv_signal = sig;
}

PetscErrorCode InvInterruptInstall(void)
{
  struct sigaction sa;

  PetscFunctionBegin;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = InvSignalHandler;
  sigemptyset(&sa.sa_mask);
  PetscCheck(sigaction(SIGTERM, &sa, NULL) == 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "Cannot install SIGTERM handler");
  PetscCheck(sigaction(SIGUSR1, &sa, NULL) == 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "Cannot install SIGUSR1 handler");
  PetscCheck(sigaction(SIGINT, &sa, NULL) == 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "Cannot install SIGINT handler");
  PetscFunctionReturn(0);
}

PetscErrorCode InvInterruptRaise(int sig)
{
  PetscFunctionBegin;
  inv_signal = sig;
  PetscFunctionReturn(0);
}

int InvInterruptSignal(void)
{
  return (int)inv_signal;
}

/* Collective: true on every rank if any rank has received a signal. */
PetscErrorCode InvInterruptPending(MPI_Comm comm, PetscBool *pending)
{
  int local = inv_signal ? 1 : 0, global;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Allreduce(&local, &global, 1, MPI_INT, MPI_MAX, comm));
  *pending = global ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}
