/* Parallel HDF5 helpers: files opened with the MPI-IO driver, row-block (hyperslab) collective reads
   and writes of datasets of shape (N, ...), and typed attributes. All calls are collective on the
   communicator the file was opened with; each rank passes its own row range (possibly empty). */
#pragma once
#include <invmap/sys.h>

PETSC_EXTERN PetscErrorCode InvH5Create(MPI_Comm, const char[], hid_t *);
PETSC_EXTERN PetscErrorCode InvH5Open(MPI_Comm, const char[], PetscBool, hid_t *);
PETSC_EXTERN PetscErrorCode InvH5Close(hid_t *);
PETSC_EXTERN PetscErrorCode InvH5Flush(hid_t);

PETSC_EXTERN PetscErrorCode InvH5HasDataset(hid_t, const char[], PetscBool *);
PETSC_EXTERN PetscErrorCode InvH5GetDims(hid_t, const char[], PetscInt *, hsize_t[3]);
PETSC_EXTERN PetscErrorCode InvH5CreateDataset(hid_t, const char[], hid_t, PetscInt, const hsize_t[]);
/* As InvH5CreateDataset, chunked by chunk_rows whole rows (0: contiguous) for reads of row blocks. */
PETSC_EXTERN PetscErrorCode InvH5CreateDatasetChunked(hid_t, const char[], hid_t, PetscInt, const hsize_t[], hsize_t chunk_rows);
PETSC_EXTERN PetscErrorCode InvH5WriteRows(hid_t, const char[], hid_t, hsize_t, hsize_t, const void *);
PETSC_EXTERN PetscErrorCode InvH5ReadRows(hid_t, const char[], hid_t, hsize_t, hsize_t, void *);
PETSC_EXTERN PetscErrorCode InvH5WriteSmall(hid_t, const char[], hid_t, PetscInt, const hsize_t[], const void *);
PETSC_EXTERN PetscErrorCode InvH5ReadAll(hid_t, const char[], hid_t, void *);
/* Collective: every rank reads a dataset that must be 1-D with exactly n entries (else a clear error). */
PETSC_EXTERN PetscErrorCode InvH5ReadVector(hid_t, const char[], hid_t, hsize_t n, void *);

PETSC_EXTERN PetscErrorCode InvH5WriteAttrString(hid_t, const char[], const char[]);
PETSC_EXTERN PetscErrorCode InvH5WriteAttrReals(hid_t, const char[], PetscInt, const PetscReal[]);
PETSC_EXTERN PetscErrorCode InvH5WriteAttrInts(hid_t, const char[], PetscInt, const PetscInt64[]);
PETSC_EXTERN PetscErrorCode InvH5HasAttr(hid_t, const char[], PetscBool *);
PETSC_EXTERN PetscErrorCode InvH5ReadAttrString(hid_t, const char[], char **);
PETSC_EXTERN PetscErrorCode InvH5ReadAttrReals(hid_t, const char[], PetscInt, PetscReal[]);
PETSC_EXTERN PetscErrorCode InvH5ReadAttrInts(hid_t, const char[], PetscInt, PetscInt64[]);
