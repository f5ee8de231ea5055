/* Atomic output files: write "<name>.partial", rename on success, remove on failure. */
#include <invmap/sys.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
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

/* Make a finished file durable before it gets its final name: fsync it (a rename alone survives a killed
   process, not a power failure). Returns 0 or an errno value. */
static int InvFileSync(const char name[])
{
  int fd = open(name, O_RDONLY), err = 0;

  if (fd < 0) return errno;
  if (fsync(fd) != 0 && errno != EINVAL) err = errno; /* EINVAL: the file system does not sync (e.g. a pipe) */
  (void)close(fd);
  return err;
}

/* Collective: fsync `from` and rename it to `to` (rank 0), then synchronise. */
PetscErrorCode InvFileRename(MPI_Comm comm, const char from[], const char to[])
{
  PetscMPIInt rank;
  int err = 0;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    err = InvFileSync(from);
    if (!err && rename(from, to) != 0) err = errno;
  }
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  PetscCheck(!err, comm, PETSC_ERR_FILE_WRITE, "Cannot rename %s to %s: %s", from, to, strerror(err));
  PetscFunctionReturn(0);
}

/* Collective: rename "<name>.partial" to name (rank 0), then synchronise. */
PetscErrorCode InvFileCommit(MPI_Comm comm, const char name[])
{
  char partial[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  PetscCall(InvPartialName(name, partial, sizeof(partial)));
  PetscCall(InvFileRename(comm, partial, name));
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
