/* Numeric CSV tables: read on rank 0, validated (column count, numeric cells; NaN/Inf are kept for the
   caller to judge) and broadcast. Errors name the file, line and column so that a user can fix the input. */
#pragma once
#include <invmap/sys.h>

typedef struct {
  PetscInt nrows, ncols;
  char **names;    /* ncols column names (NULL when the file has no header) */
  PetscReal *data; /* nrows x ncols, row-major */
} InvTable;

PETSC_EXTERN PetscErrorCode InvTableReadCSV(MPI_Comm, const char[], PetscBool header, InvTable *);
PETSC_EXTERN PetscErrorCode InvTableColumn(InvTable *, const char[], PetscInt *);
PETSC_EXTERN PetscErrorCode InvTableDestroy(InvTable *);
PETSC_EXTERN PetscErrorCode InvWriteCSV(MPI_Comm, const char[], PetscInt ncols, const char *const names[], PetscInt nrows,
                                        const PetscReal data[]);
