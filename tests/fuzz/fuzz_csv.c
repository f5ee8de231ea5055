/* libFuzzer target: CSV files (InvTableReadCSV with and without a header, column lookup, and
   InvReadParameters' CSV form for model fhn). The input bytes are the file. */
#include "fuzz_common.h"
#include <invmap/csv.h>
#include <invmap/ensemble.h>
#include <invmap/model.h>

static InvModel model;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  if (FuzzInitialize()) return 1;
  return InvModelCreate("fhn", &model) != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *path = FuzzWriteFile("table.csv", data, size);
  InvTable t;
  PetscInt n, col;
  PetscReal *theta = NULL;

  if (!path) return 0;
  FuzzSetOptions((const char *const[]){NULL});
  for (int header = 0; header < 2; header++)
    if (!InvTableReadCSV(PETSC_COMM_WORLD, path, (PetscBool)header, &t)) {
      (void)InvTableColumn(&t, "theta0", &col);
      (void)InvTableDestroy(&t);
    }
  (void)InvReadParameters(PETSC_COMM_WORLD, model, path, &n, &theta);
  (void)PetscFree(theta); /* the caller owns the output, also after an error */
  return 0;
}
