/* Test helper (not a test): compare the /params of two model files (bitwise, or with a tolerance) and
   poke a value into an HDF5 dataset (to make bad inputs). */
#include <invmap/h5io.h>
#include <math.h>

static PetscErrorCode ReadParams(const char *name, PetscInt *n, float **p)
{
  hid_t f;
  PetscInt r;
  hsize_t dims[3];

  PetscFunctionBegin;
  PetscCall(InvH5Open(PETSC_COMM_WORLD, name, PETSC_FALSE, &f));
  PetscCall(InvH5GetDims(f, "/params", &r, dims));
  *n = (PetscInt)dims[0];
  PetscCall(PetscMalloc1(*n, p));
  PetscCall(InvH5ReadAll(f, "/params", H5T_NATIVE_FLOAT, *p));
  PetscCall(InvH5Close(&f));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  char mode[16] = "", a[PETSC_MAX_PATH_LEN] = "", b[PETSC_MAX_PATH_LEN] = "", dset[64] = "/u";
  PetscReal tol = 0, value = NAN;
  PetscInt row = 0, col = 0;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(InvInitializePackage());
  PetscCall(PetscOptionsGetString(NULL, NULL, "-mode", mode, sizeof(mode), NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-a", a, sizeof(a), NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-b", b, sizeof(b), NULL));
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-tol", &tol, NULL));
  if (!strcmp(mode, "compare")) {
    PetscInt na, nb;
    float *pa, *pb;
    double dmax = 0, pmax = 0;
    PetscCall(ReadParams(a, &na, &pa));
    PetscCall(ReadParams(b, &nb, &pb));
    PetscCheck(na == nb, PETSC_COMM_WORLD, PETSC_ERR_ARG_SIZ, "Parameter counts differ: %d vs %d", (int)na, (int)nb);
    for (PetscInt i = 0; i < na; i++) {
      dmax = PetscMax(dmax, fabs((double)pa[i] - (double)pb[i]));
      pmax = PetscMax(pmax, fabs((double)pa[i]));
    }
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "max |a - b| = %.3e, max |a| = %.3e, relative %.3e (tolerance %.1e)\n", dmax, pmax, dmax / pmax,
                          (double)tol));
    PetscCheck(dmax / pmax <= tol, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "Parameters differ beyond the tolerance");
    PetscCall(PetscFree(pa));
    PetscCall(PetscFree(pb));
  } else if (!strcmp(mode, "poke")) {
    hid_t f;
    PetscInt r;
    hsize_t dims[3];
    double *buf;
    PetscCall(PetscOptionsGetString(NULL, NULL, "-dataset", dset, sizeof(dset), NULL));
    PetscCall(PetscOptionsGetInt(NULL, NULL, "-row", &row, NULL));
    PetscCall(PetscOptionsGetInt(NULL, NULL, "-col", &col, NULL));
    PetscCall(PetscOptionsGetReal(NULL, NULL, "-value", &value, NULL));
    PetscCall(InvH5Open(PETSC_COMM_WORLD, a, PETSC_TRUE, &f));
    PetscCall(InvH5GetDims(f, dset, &r, dims));
    PetscCall(PetscMalloc1(dims[1] * dims[2], &buf));
    PetscCall(InvH5ReadRows(f, dset, H5T_NATIVE_DOUBLE, (hsize_t)row, 1, buf));
    buf[col] = value;
    PetscCall(InvH5WriteRows(f, dset, H5T_NATIVE_DOUBLE, (hsize_t)row, 1, buf));
    PetscCall(PetscFree(buf));
    PetscCall(InvH5Close(&f));
  } else if (!strcmp(mode, "csv")) { /* first -rows rows of -dataset of -a as CSV to -b (rank 0) */
    hid_t f;
    PetscInt r, nrows = 10;
    hsize_t dims[3];
    double *buf;
    FILE *fp;
    PetscCall(PetscOptionsGetString(NULL, NULL, "-dataset", dset, sizeof(dset), NULL));
    PetscCall(PetscOptionsGetInt(NULL, NULL, "-rows", &nrows, NULL));
    PetscCall(InvH5Open(PETSC_COMM_WORLD, a, PETSC_FALSE, &f));
    PetscCall(InvH5GetDims(f, dset, &r, dims));
    PetscCall(PetscMalloc1(nrows * dims[1] * dims[2], &buf));
    PetscCall(InvH5ReadRows(f, dset, H5T_NATIVE_DOUBLE, 0, (hsize_t)nrows, buf));
    PetscCall(InvH5Close(&f));
    PetscCall(PetscFOpen(PETSC_COMM_WORLD, b, "w", &fp));
    for (PetscInt i = 0; i < nrows; i++)
      for (hsize_t j = 0; j < dims[1] * dims[2]; j++)
        PetscCall(PetscFPrintf(PETSC_COMM_WORLD, fp, "%.17g%s", buf[i * dims[1] * dims[2] + j], j + 1 < dims[1] * dims[2] ? "," : "\n"));
    PetscCall(PetscFClose(PETSC_COMM_WORLD, fp));
    PetscCall(PetscFree(buf));
  } else
    SETERRQ(PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "-mode compare|poke|csv");
  PetscCall(PetscFinalize());
  return 0;
}
