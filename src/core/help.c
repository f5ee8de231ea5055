/* Help texts of array options: PETSc's -help shows only the first value of an array default, so the text
   itself lists them all. */
#include <invmap/sys.h>

PetscErrorCode InvHelpWithDefaults(const char help[], PetscInt n, const PetscReal vals[], char text[], size_t len)
{
  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(text, len, "%s (default", help));
  for (PetscInt j = 0; j < n; j++) {
    char v[32];
    PetscCall(PetscSNPrintf(v, sizeof(v), "%s%g", j ? "," : " ", (double)vals[j]));
    PetscCall(PetscStrlcat(text, v, len));
  }
  PetscCall(PetscStrlcat(text, ")", len));
  PetscFunctionReturn(0);
}
