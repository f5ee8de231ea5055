/* Parameter sets supplied by the user (CSV with a header, or HDF5 /theta) and observation times. */
#include <invmap/ensemble.h>
#include <invmap/csv.h>
#include <invmap/h5io.h>

PetscErrorCode InvObservationTimesFromOptions(PetscInt *n, PetscReal **t)
{
  PetscInt nt = 1000;
  PetscReal dt = 0.2, t0 = 0.0;

  PetscFunctionBegin;
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "Observation times t_k = t0 + k dt", "InvObservationTimes");
  PetscCall(PetscOptionsInt("-obs_n", "Number of observation times", "", nt, &nt, NULL));
  PetscCall(PetscOptionsReal("-obs_dt", "Spacing of observation times", "", dt, &dt, NULL));
  PetscCall(PetscOptionsReal("-obs_t0", "First observation time (>= 0; the ODE starts at t = 0)", "", t0, &t0, NULL));
  PetscOptionsEnd();
  PetscCheck(nt >= 1 && nt <= 100000000, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-obs_n must be between 1 and 1e8, got %" PetscInt_FMT,
             nt);
  PetscCheck(dt > 0 && PetscIsNormalReal(dt), PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-obs_dt must be positive, got %g", (double)dt);
  PetscCheck(t0 >= 0 && !PetscIsInfOrNanReal(t0), PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-obs_t0 must be >= 0, got %g", (double)t0);
  PetscCall(PetscMalloc1(nt, t));
  for (PetscInt k = 0; k < nt; k++) (*t)[k] = t0 + k * dt;
  *n = nt;
  PetscFunctionReturn(0);
}

static PetscErrorCode InvReadParametersCSV(MPI_Comm comm, InvModel m, const char fname[], PetscInt *n, PetscReal **theta)
{
  InvTable t;
  PetscInt col[INV_MAX_PARAM];

  PetscFunctionBegin;
  PetscCall(InvTableReadCSV(comm, fname, PETSC_TRUE, &t));
  for (PetscInt j = 0; j < m->nparam; j++) {
    PetscErrorCode ierr = InvTableColumn(&t, m->param_names[j], &col[j]);
    if (ierr) PetscCall(InvTableDestroy(&t)); /* a column named twice */
    PetscCall(ierr);
    if (col[j] < 0) {
      char header[1024] = "";
      for (PetscInt c = 0; c < t.ncols; c++) {
        PetscCall(PetscStrlcat(header, c ? "," : "", sizeof(header)));
        PetscCall(PetscStrlcat(header, t.names[c], sizeof(header)));
      }
      PetscCall(InvTableDestroy(&t));
      SETERRQ(comm, PETSC_ERR_FILE_UNEXPECTED, "CSV file %s: the header '%s' lacks a column for parameter %s of model %s", fname, header,
              m->param_names[j], m->type);
    }
  }
  for (PetscInt c = 0; c < t.ncols; c++) { /* a column no parameter reads: a typo, or a file for another model */
    PetscBool used = PETSC_FALSE;
    for (PetscInt j = 0; j < m->nparam; j++) used = (PetscBool)(used || col[j] == c);
    if (!used)
      PetscCall(
          PetscPrintf(comm, "warning: CSV file %s: column '%s' is no parameter of model %s and is ignored\n", fname, t.names[c], m->type));
  }
  PetscCall(PetscMalloc1(t.nrows * m->nparam, theta));
  for (PetscInt i = 0; i < t.nrows; i++)
    for (PetscInt j = 0; j < m->nparam; j++) (*theta)[i * m->nparam + j] = t.data[i * t.ncols + col[j]];
  *n = t.nrows;
  PetscCall(InvTableDestroy(&t));
  PetscFunctionReturn(0);
}

static PetscErrorCode InvReadParametersHDF5(MPI_Comm comm, InvModel m, const char fname[], PetscInt *n, PetscReal **theta)
{
  hid_t file;
  PetscInt rank;
  hsize_t dims[3];

  PetscFunctionBegin;
  PetscCall(InvH5Open(comm, fname, PETSC_FALSE, &file));
  PetscCall(InvH5GetDims(file, "/theta", &rank, dims));
  PetscCheck((rank == 2 && dims[1] == (hsize_t)m->nparam) || (rank == 1 && m->nparam == 1), comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s: /theta has shape (%llu, %llu); model %s needs (N, %" PetscInt_FMT ")", fname, (unsigned long long)dims[0],
             (unsigned long long)(rank == 2 ? dims[1] : 1), m->type, m->nparam);
  PetscCheck(dims[0] > 0, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: /theta is empty", fname);
  PetscCall(PetscMalloc1(dims[0] * m->nparam, theta));
  PetscCall(InvH5ReadAll(file, "/theta", H5T_NATIVE_DOUBLE, *theta));
  PetscCall(InvH5Close(&file));
  *n = (PetscInt)dims[0];
  PetscFunctionReturn(0);
}

PetscErrorCode InvReadParameters(MPI_Comm comm, InvModel m, const char fname[], PetscInt *n, PetscReal **theta)
{
  PetscBool exists, ish5 = PETSC_FALSE;

  PetscFunctionBegin;
  PetscCall(InvFileExists(fname, &exists));
  PetscCheck(exists, comm, PETSC_ERR_FILE_OPEN, "Parameter file %s does not exist", fname);
  {
    htri_t r;
    H5E_BEGIN_TRY
    {
      r = H5Fis_hdf5(fname);
    }
    H5E_END_TRY;
    ish5 = r > 0 ? PETSC_TRUE : PETSC_FALSE;
  }
  if (ish5)
    PetscCall(InvReadParametersHDF5(comm, m, fname, n, theta));
  else
    PetscCall(InvReadParametersCSV(comm, m, fname, n, theta));
  for (PetscInt i = 0; i < *n; i++)
    for (PetscInt j = 0; j < m->nparam; j++)
      PetscCheck(!PetscIsInfOrNanReal((*theta)[i * m->nparam + j]), comm, PETSC_ERR_FILE_UNEXPECTED,
                 "%s: parameter %s of sample %" PetscInt_FMT " is not finite", fname, m->param_names[j], i);
  PetscFunctionReturn(0);
}
