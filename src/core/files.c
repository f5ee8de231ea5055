/* Atomic output files: write "<name>.partial", rename on success, remove on failure. */
#include <invmap/sys.h>
#include <sys/stat.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

PetscErrorCode InvPartialName(const char name[], char partial[], size_t len)
{
  PetscFunctionBegin;
  PetscCheck(strlen(name) + 9 < len, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "File name too long: %s", name);
  PetscCall(PetscSNPrintf(partial, len, "%s.partial", name));
  PetscFunctionReturn(0);
}

PetscErrorCode InvFileExists(const char name[], PetscBool *exists)
{
  struct stat st;

  PetscFunctionBegin;
  *exists = (stat(name, &st) == 0 && S_ISREG(st.st_mode)) ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

/* Collective: rename "<name>.partial" to name (rank 0), then synchronise. */
PetscErrorCode InvFileCommit(MPI_Comm comm, const char name[])
{
  char partial[PETSC_MAX_PATH_LEN];
  PetscMPIInt rank;
  int err = 0;

  PetscFunctionBegin;
  PetscCall(InvPartialName(name, partial, sizeof(partial)));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0 && rename(partial, name) != 0) err = errno;
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  PetscCheck(!err, comm, PETSC_ERR_FILE_WRITE, "Cannot rename %s to %s: %s", partial, name, strerror(err));
  PetscFunctionReturn(0);
}

/* Collective: remove a file if it exists (rank 0). */
PetscErrorCode InvFileRemove(MPI_Comm comm, const char name[])
{
  PetscMPIInt rank;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) (void)unlink(name);
  PetscCallMPI(MPI_Barrier(comm));
  PetscFunctionReturn(0);
}

/* The options database (with the program's arguments) as one string, for provenance attributes. */
PetscErrorCode InvOptionsString(char **str)
{
  PetscFunctionBegin;
  PetscCall(PetscOptionsGetAll(NULL, str));
  PetscFunctionReturn(0);
}
