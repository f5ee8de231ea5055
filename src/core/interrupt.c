/* SIGTERM/SIGUSR1 handling: the handler only records the signal; loops poll InvInterruptPending()
   at safe points, collectively, so that every rank checkpoints and stops at the same place. */
#include <invmap/sys.h>
#include <signal.h>
#include <string.h>

static volatile sig_atomic_t inv_signal = 0;

static void InvSignalHandler(int sig)
{
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
