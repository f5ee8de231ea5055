/* Scratch directories (e.g. the second-order adjoint's trajectory files in /dev/shm): registered while
   in use, so that a run that stops on an error removes them instead of leaving them behind. */
#include <invmap/sys.h>

#define INV_MAX_SCRATCH 16
static char inv_scratch[INV_MAX_SCRATCH][PETSC_MAX_PATH_LEN];

PetscErrorCode InvScratchRegister(const char dir[])
{
  PetscFunctionBegin;
  for (int i = 0; i < INV_MAX_SCRATCH; i++)
    if (!inv_scratch[i][0]) {
      PetscCall(PetscStrncpy(inv_scratch[i], dir, sizeof(inv_scratch[i])));
      PetscFunctionReturn(0);
    }
  SETERRQ(PETSC_COMM_SELF, PETSC_ERR_MEM, "More than %d scratch directories in use (registering %s)", INV_MAX_SCRATCH, dir);
}

/* Remove the directory (if it exists) and forget it */
PetscErrorCode InvScratchRemove(const char dir[])
{
  PetscBool exists, same;

  PetscFunctionBegin;
  PetscCall(PetscTestDirectory(dir, 'r', &exists));
  if (exists) PetscCall(PetscRMTree(dir));
  for (int i = 0; i < INV_MAX_SCRATCH; i++) {
    PetscCall(PetscStrcmp(inv_scratch[i], dir, &same));
    if (inv_scratch[i][0] && same) inv_scratch[i][0] = 0;
  }
  PetscFunctionReturn(0);
}

/* After an error: remove whatever is still registered, ignoring further failures */
void InvScratchRemoveAll(void)
{
  for (int i = 0; i < INV_MAX_SCRATCH; i++)
    if (inv_scratch[i][0]) {
      PetscBool exists = PETSC_FALSE;
      if (!PetscTestDirectory(inv_scratch[i], 'r', &exists) && exists) (void)PetscRMTree(inv_scratch[i]);
      inv_scratch[i][0] = 0;
    }
}
