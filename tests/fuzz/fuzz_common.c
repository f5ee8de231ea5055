/* Harness shared by the libFuzzer targets (see fuzz_common.h). */
#include "fuzz_common.h"
#include <invmap/h5io.h>
#include <sanitizer/lsan_interface.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUZZ_MAX_OPEN_IDS 4096

static char fuzz_dir[256];

/* at exit: the scratch directory and its files (flat: only FuzzPath names) */
static void FuzzRemoveScratch(void)
{
  DIR *d = opendir(fuzz_dir);
  struct dirent *e;
  char path[sizeof(fuzz_dir) + 256 + 2];
  if (!d) return;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
      (void)snprintf(path, sizeof(path), "%s/%s", fuzz_dir, e->d_name);
      (void)unlink(path);
    }
  (void)closedir(d);
  (void)rmdir(fuzz_dir);
}

int FuzzInitialize(void)
{
  PetscErrorCode ierr;
  struct stat st;

  /* no PETSc signal handler: a crash must reach AddressSanitizer; no options from the environment */
  (void)setenv("PETSC_OPTIONS", "-no_signal_handler", 1);
  (void)setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  (void)setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  __lsan_disable(); /* what MPI, PETSc and HDF5 keep from their start-up until exit is no leak of an input */
  ierr = PetscInitialize(NULL, NULL, NULL, NULL);
  if (ierr) return (int)ierr;
  /* INVMAP_FUZZ_VERBOSE: PETSc's traceback of every error (to see why an input is rejected) */
  ierr = PetscPushErrorHandler(getenv("INVMAP_FUZZ_VERBOSE") ? PetscTraceBackErrorHandler : PetscReturnErrorHandler, NULL);
  if (ierr) return (int)ierr;
  ierr = InvInitializePackage();
  if (ierr) return (int)ierr;
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* libhdf5 error stacks are the expected outcome of bad input */
  if (!getenv("INVMAP_FUZZ_VERBOSE")) {
    FILE *null = fopen("/dev/null", "w");
    if (null) PETSC_STDOUT = null;
  }
  (void)snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/invmap-fuzz-%ld", stat("/dev/shm", &st) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
  if (mkdir(fuzz_dir, 0700) && access(fuzz_dir, W_OK)) return 1;
  (void)atexit(FuzzRemoveScratch);
  { /* warm-up: Open MPI's I/O components allocate on the first MPI-IO open and keep it (not a leak of an input) */
    hid_t file;
    const char *path = FuzzPath("warmup.h5");
    if (InvH5Create(PETSC_COMM_WORLD, path, &file) || InvH5Close(&file)) return 1;
    if (InvH5Open(PETSC_COMM_WORLD, path, PETSC_FALSE, &file) || InvH5Close(&file)) return 1;
  }
  __lsan_enable();
  return 0;
}

const char *FuzzPath(const char name[])
{
  static char path[8][512];
  static int next;
  char *p = path[next++ % 8];
  (void)snprintf(p, sizeof(path[0]), "%s/%s", fuzz_dir, name);
  return p;
}

const char *FuzzWriteFile(const char name[], const uint8_t *data, size_t size)
{
  const char *path = FuzzPath(name);
  FILE *fp = fopen(path, "wb");
  if (!fp) return NULL;
  if (size && fwrite(data, 1, size, fp) != size) {
    fclose(fp);
    return NULL;
  }
  if (fclose(fp)) return NULL;
  return path;
}

void FuzzSetOptions(const char *const kv[])
{
  (void)PetscOptionsClear(NULL);
  for (size_t i = 0; kv[i]; i += 2) (void)PetscOptionsSetValue(NULL, kv[i], kv[i + 1]);
}

int FuzzCloseHDF5(void)
{
  static hid_t ids[FUZZ_MAX_OPEN_IDS];
  ssize_t n = H5Fget_obj_ids(H5F_OBJ_ALL, H5F_OBJ_ALL, FUZZ_MAX_OPEN_IDS, ids);
  int closed = 0;

  /* objects before files: a file closes once nothing in it is open */
  for (int pass = 0; pass < 2; pass++)
    for (ssize_t i = 0; i < n; i++) {
      H5I_type_t type = H5Iget_type(ids[i]);
      if (H5Iis_valid(ids[i]) <= 0) continue;
      if (pass == 0 && type == H5I_DATASET) (void)H5Dclose(ids[i]), closed++;
      if (pass == 0 && type == H5I_GROUP) (void)H5Gclose(ids[i]), closed++;
      if (pass == 0 && type == H5I_DATATYPE) (void)H5Tclose(ids[i]), closed++;
      if (pass == 0 && type == H5I_ATTR) (void)H5Aclose(ids[i]), closed++;
      if (pass == 1 && type == H5I_FILE) (void)H5Fclose(ids[i]), closed++;
    }
  return closed;
}

uint8_t FuzzByte(FuzzBytes *b)
{
  uint8_t v;
  if (!b->n) return 0;
  v = *b->p++;
  b->n--;
  return v;
}
