/* Shared harness of the libFuzzer targets: PETSc/MPI set up once with errors returned (not printed or
   aborting), fuzz inputs written to scratch files, options set per input, HDF5 handles that a failed
   reader left open closed after each input, and the structure-aware HDF5 generator (fuzz_h5gen.c). */
#pragma once
#include <invmap/sys.h>
#include <stddef.h>
#include <stdint.h>

/* Called from LLVMFuzzerInitialize: PetscInitialize without options, PetscReturnErrorHandler, no PETSc
   signal handler (ASan reports the crash), stdout of PetscPrintf to /dev/null unless INVMAP_FUZZ_VERBOSE. */
int FuzzInitialize(void);

/* Path of a scratch file of this process, name + suffix (e.g. "in", ".h5"); in /dev/shm when present. */
const char *FuzzPath(const char name[]);

/* Write bytes to a scratch file; returns its path (NULL on failure). */
const char *FuzzWriteFile(const char name[], const uint8_t *data, size_t size);

/* Clear the options database and insert "-key value" pairs (NULL-terminated list, value may be NULL). */
void FuzzSetOptions(const char *const kv[]);

/* After each input: close every HDF5 object still open (a reader that failed part-way leaves its
   handles open); returns how many there were. */
int FuzzCloseHDF5(void);

/* Structure-aware input: a byte stream decoded into a valid HDF5 file (see fuzz_h5gen.c). */
typedef struct {
  const char *const *datasets;   /* dataset paths the reader looks for */
  const char *const *attributes; /* attribute names of the root group the reader looks for */
  const char *const *strings;    /* string values worth using for string attributes (model names, ...) */
} FuzzH5Vocabulary;

/* Consumes bytes from data; returns 0 when the file was written to path. */
int FuzzH5Build(const uint8_t *data, size_t size, const FuzzH5Vocabulary *voc, const char path[]);

/* A byte reader over the fuzz input (FuzzedDataProvider-like): returns 0 once exhausted. */
typedef struct {
  const uint8_t *p;
  size_t n;
} FuzzBytes;
uint8_t FuzzByte(FuzzBytes *b);
