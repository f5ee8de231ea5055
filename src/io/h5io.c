/* Parallel HDF5 helpers (MPI-IO driver, collective row-block hyperslabs, typed attributes). */
#define INV_H5_DETAIL_LEN 256   /* longest cause kept from HDF5's error stack */
#define INV_H5_WDIRS      4     /* directories of the files last created or opened for writing (for the disk-full check) */
#define INV_H5_FULL_BYTES 65536 /* a file system with less free space than this counts as full */
#include <invmap/h5io.h>
#include <string.h>
#include <libgen.h>
#include <sys/statvfs.h>

static char inv_h5_wdir[INV_H5_WDIRS][PETSC_MAX_PATH_LEN];
static int inv_h5_wnext = 0;

/* Remember the directory of a file being written */
static void InvH5NoteWriteDir(const char name[])
{
  char copy[PETSC_MAX_PATH_LEN];

  for (int i = 0; i < INV_H5_WDIRS; i++) {
    (void)PetscStrncpy(copy, name, sizeof(copy));
    if (!strcmp(inv_h5_wdir[i], dirname(copy))) return;
  }
  (void)PetscStrncpy(copy, name, sizeof(copy));
  (void)PetscStrncpy(inv_h5_wdir[inv_h5_wnext], dirname(copy), PETSC_MAX_PATH_LEN);
  inv_h5_wnext = (inv_h5_wnext + 1) % INV_H5_WDIRS;
}

/* H5Ewalk2 callback: keep the description of the innermost error (the walk goes downward, innermost last) */
static herr_t InvH5ErrorWalk(unsigned n, const H5E_error2_t *e, void *ctx)
{
  (void)n;
  if (e && e->desc && e->desc[0]) (void)PetscStrncpy((char *)ctx, e->desc, INV_H5_DETAIL_LEN);
  return 0;
}

const char *InvH5ErrorDetail(int err)
{
  static char detail[2 * INV_H5_DETAIL_LEN + 16];
  char inner[INV_H5_DETAIL_LEN] = "";

  (void)H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, InvH5ErrorWalk, inner);
  detail[0] = 0;
  if (inner[0]) (void)PetscSNPrintf(detail, sizeof(detail), ": %s", inner);
  if (!err) /* MPI-IO does not pass errno on: a write into a full file system shows as a full output directory */
    for (int i = 0; i < INV_H5_WDIRS; i++) {
      struct statvfs st;
      if (inv_h5_wdir[i][0] && !statvfs(inv_h5_wdir[i], &st) && (double)st.f_bavail * st.f_frsize < INV_H5_FULL_BYTES) {
        (void)PetscStrlcat(detail, inner[0] ? " (" : ": ", sizeof(detail));
        (void)PetscStrlcat(detail, "no space left on the file system of ", sizeof(detail));
        (void)PetscStrlcat(detail, inv_h5_wdir[i], sizeof(detail));
        (void)PetscStrlcat(detail, ": free space or choose another output directory", sizeof(detail));
        if (inner[0]) (void)PetscStrlcat(detail, ")", sizeof(detail));
        break;
      }
    }
  if (err == ENOSPC || err == EDQUOT || err == EROFS || err == EACCES || err == EPERM || err == EIO) { /* not a stale errno */
    (void)PetscStrlcat(detail, inner[0] ? " (" : ": ", sizeof(detail));
    (void)PetscStrlcat(detail, strerror(err), sizeof(detail));
    if (err == ENOSPC || err == EDQUOT) (void)PetscStrlcat(detail, ": free space or choose another output directory", sizeof(detail));
    if (err == EROFS || err == EACCES) (void)PetscStrlcat(detail, ": the output directory is not writable", sizeof(detail));
    if (inner[0]) (void)PetscStrlcat(detail, ")", sizeof(detail));
  }
  return detail;
}

PetscErrorCode InvH5Create(MPI_Comm comm, const char name[], hid_t *file)
{
  hid_t fapl;

  PetscFunctionBegin;
  PetscCallHDF5Return(fapl, H5Pcreate(H5P_FILE_ACCESS));
  PetscCallHDF5(H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL));
  PetscCallHDF5(H5Pset_all_coll_metadata_ops(fapl, 1));
  PetscCallHDF5(H5Pset_coll_metadata_write(fapl, 1));
  InvH5NoteWriteDir(name);
  errno = 0;
  H5E_BEGIN_TRY
  {
    *file = H5Fcreate(name, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  }
  H5E_END_TRY;
  if (*file < 0) {
    const char *why = InvH5ErrorDetail(errno);
    PetscCallHDF5(H5Pclose(fapl));
    SETERRQ(comm, PETSC_ERR_FILE_OPEN, "Cannot create HDF5 file %s%s", name, why[0] ? why : " (directory missing or not writable?)");
  }
  PetscCallHDF5(H5Pclose(fapl));
  PetscFunctionReturn(0);
}

PetscErrorCode InvH5Open(MPI_Comm comm, const char name[], PetscBool write, hid_t *file)
{
  hid_t fapl;
  PetscBool exists;
  htri_t ish5;

  PetscFunctionBegin;
  PetscCall(InvFileExists(name, &exists));
  PetscCheck(exists, comm, PETSC_ERR_FILE_OPEN, "File %s does not exist", name);
  H5E_BEGIN_TRY
  {
    ish5 = H5Fis_hdf5(name);
  }
  H5E_END_TRY;
  PetscCheck(ish5 > 0, comm, PETSC_ERR_FILE_UNEXPECTED, "File %s is not an HDF5 file (or cannot be read)", name);
  PetscCallHDF5Return(fapl, H5Pcreate(H5P_FILE_ACCESS));
  PetscCallHDF5(H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL));
  if (write) InvH5NoteWriteDir(name);
  H5E_BEGIN_TRY
  {
    *file = H5Fopen(name, write ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl);
  }
  H5E_END_TRY;
  PetscCallHDF5(H5Pclose(fapl));
  PetscCheck(*file >= 0, comm, PETSC_ERR_FILE_OPEN, "Cannot open HDF5 file %s for %s", name, write ? "writing" : "reading");
  PetscFunctionReturn(0);
}

PetscErrorCode InvH5Close(hid_t *file)
{
  PetscFunctionBegin;
  if (*file >= 0) PetscCallHDF5(H5Fclose(*file));
  *file = -1;
  PetscFunctionReturn(0);
}

PetscErrorCode InvH5Flush(hid_t file)
{
  PetscFunctionBegin;
  PetscCallHDF5(H5Fflush(file, H5F_SCOPE_GLOBAL));
  PetscFunctionReturn(0);
}

PetscErrorCode InvH5HasDataset(hid_t file, const char path[], PetscBool *has)
{
  htri_t e;

  PetscFunctionBegin;
  H5E_BEGIN_TRY
  {
    e = H5Lexists(file, path, H5P_DEFAULT);
  }
  H5E_END_TRY;
  *has = e > 0 ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

static PetscErrorCode InvH5FileName(hid_t obj, char name[], size_t len)
{
  PetscFunctionBegin;
  if (H5Fget_name(obj, name, len) < 0) PetscCall(PetscStrncpy(name, "?", len));
  PetscFunctionReturn(0);
}

PetscErrorCode InvH5GetDims(hid_t file, const char path[], PetscInt *rank, hsize_t dims[3])
{
  hid_t dset, space;
  int r;
  PetscBool has;
  char fname[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  PetscCall(InvH5HasDataset(file, path, &has));
  PetscCall(InvH5FileName(file, fname, sizeof(fname)));
  PetscCheck(has, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "Dataset %s is missing in %s", path, fname);
  PetscCallHDF5Return(dset, H5Dopen2(file, path, H5P_DEFAULT));
  PetscCallHDF5Return(space, H5Dget_space(dset));
  PetscCallHDF5Return(r, H5Sget_simple_extent_ndims(space));
  dims[0] = dims[1] = dims[2] = 1;
  if (r >= 1 && r <= 3) PetscCallHDF5(H5Sget_simple_extent_dims(space, dims, NULL));
  PetscCallHDF5(H5Sclose(space));
  PetscCallHDF5(H5Dclose(dset)); /* closed before any error: with MPI-IO a file with open objects cannot be closed */
  PetscCheck(r >= 1 && r <= 3, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "Dataset %s in %s has rank %d; expected 1 to 3", path, fname, r);
  *rank = r;
  PetscFunctionReturn(0);
}

PetscErrorCode InvH5CreateDataset(hid_t file, const char path[], hid_t type, PetscInt rank, const hsize_t dims[])
{
  PetscFunctionBegin;
  PetscCall(InvH5CreateDatasetChunked(file, path, type, rank, dims, 0));
  PetscFunctionReturn(0);
}

/* Contiguous layout when chunk_rows is 0; otherwise chunks of chunk_rows whole rows (fewer when the dataset has
   fewer rows), so that a read of a block of consecutive rows touches only the chunks holding them. */
PetscErrorCode InvH5CreateDatasetChunked(hid_t file, const char path[], hid_t type, PetscInt rank, const hsize_t dims[], hsize_t chunk_rows)
{
  hid_t space, dcpl, dset, lcpl;

  PetscFunctionBegin;
  PetscCheck(rank >= 1 && rank <= 3, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Dataset %s: rank %" PetscInt_FMT "; expected 1 to 3", path,
             rank);
  PetscCallHDF5Return(space, H5Screate_simple((int)rank, dims, NULL));
  PetscCallHDF5Return(dcpl, H5Pcreate(H5P_DATASET_CREATE));
  if (chunk_rows > 0) { /* HDF5 needs chunk sizes >= 1 within the extent: an empty dataset stays contiguous */
    hsize_t cdims[3];
    PetscBool empty = PETSC_FALSE;
    for (PetscInt k = 0; k < rank; k++) {
      cdims[k] = dims[k];
      if (!dims[k]) empty = PETSC_TRUE;
    }
    cdims[0] = PetscMin(chunk_rows, dims[0]);
    if (!empty) PetscCallHDF5(H5Pset_chunk(dcpl, (int)rank, cdims));
  }
  PetscCallHDF5(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY));
  PetscCallHDF5(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER));
  PetscCallHDF5Return(lcpl, H5Pcreate(H5P_LINK_CREATE));
  PetscCallHDF5(H5Pset_create_intermediate_group(lcpl, 1));
  PetscCallHDF5Return(dset, H5Dcreate2(file, path, type, space, lcpl, dcpl, H5P_DEFAULT));
  PetscCallHDF5(H5Pclose(lcpl));
  PetscCallHDF5(H5Pclose(dcpl));
  PetscCallHDF5(H5Sclose(space));
  PetscCallHDF5(H5Dclose(dset));
  PetscFunctionReturn(0);
}

/* Collective transfer of rows [row0, row0+nrows) of a dataset of shape (N, d1, d2). */
static PetscErrorCode InvH5TransferRows(hid_t file, const char path[], hid_t memtype, hsize_t row0, hsize_t nrows, void *buf,
                                        PetscBool write)
{
  hid_t dset, fspace, mspace, dxpl;
  hsize_t dims[3] = {1, 1, 1}, start[3] = {0, 0, 0}, count[3];
  int r;
  char fname[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  PetscCall(InvH5FileName(file, fname, sizeof(fname)));
  PetscCallHDF5Return(dset, H5Dopen2(file, path, H5P_DEFAULT));
  PetscCallHDF5Return(fspace, H5Dget_space(dset));
  PetscCallHDF5Return(r, H5Sget_simple_extent_ndims(fspace));
  PetscCallHDF5(H5Sget_simple_extent_dims(fspace, dims, NULL));
  if (!(row0 + nrows <= dims[0])) { /* closed before the error: with MPI-IO a file with open objects cannot be closed */
    PetscCallHDF5(H5Sclose(fspace));
    PetscCallHDF5(H5Dclose(dset));
  }
  PetscCheck(row0 + nrows <= dims[0], PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Rows [%llu, %llu) out of range of %s (%llu rows) in %s",
             (unsigned long long)row0, (unsigned long long)(row0 + nrows), path, (unsigned long long)dims[0], fname);
  count[0] = nrows;
  count[1] = dims[1];
  count[2] = dims[2];
  start[0] = row0;
  if (nrows > 0) {
    PetscCallHDF5(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL));
    PetscCallHDF5Return(mspace, H5Screate_simple(r, count, NULL));
  } else {
    PetscCallHDF5(H5Sselect_none(fspace));
    PetscCallHDF5Return(mspace, H5Scopy(fspace));
  }
  PetscCallHDF5Return(dxpl, H5Pcreate(H5P_DATASET_XFER));
  PetscCallHDF5(H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE));
  if (write)
    PetscCallHDF5(H5Dwrite(dset, memtype, mspace, fspace, dxpl, buf));
  else
    PetscCallHDF5(H5Dread(dset, memtype, mspace, fspace, dxpl, buf));
  PetscCallHDF5(H5Pclose(dxpl));
  PetscCallHDF5(H5Sclose(mspace));
  PetscCallHDF5(H5Sclose(fspace));
  PetscCallHDF5(H5Dclose(dset));
  PetscFunctionReturn(0);
}

PetscErrorCode InvH5WriteRows(hid_t file, const char path[], hid_t memtype, hsize_t row0, hsize_t nrows, const void *buf)
{
  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(INV_IOWrite, 0, 0, 0, 0));
  PetscCall(InvH5TransferRows(file, path, memtype, row0, nrows, (void *)buf, PETSC_TRUE));
  PetscCall(PetscLogEventEnd(INV_IOWrite, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode InvH5ReadRows(hid_t file, const char path[], hid_t memtype, hsize_t row0, hsize_t nrows, void *buf)
{
  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(INV_IORead, 0, 0, 0, 0));
  PetscCall(InvH5TransferRows(file, path, memtype, row0, nrows, buf, PETSC_FALSE));
  PetscCall(PetscLogEventEnd(INV_IORead, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

/* Collective: create a small dataset and write it from rank 0's buffer (every rank passes the same data). */
PetscErrorCode InvH5WriteSmall(hid_t file, const char path[], hid_t memtype, PetscInt rank, const hsize_t dims[], const void *buf)
{
  PetscMPIInt r;
  MPI_Comm comm;
  hid_t fapl;

  PetscFunctionBegin;
  PetscCallHDF5Return(fapl, H5Fget_access_plist(file));
  PetscCallHDF5(H5Pget_fapl_mpio(fapl, &comm, NULL));
  PetscCallHDF5(H5Pclose(fapl));
  PetscCallMPI(MPI_Comm_rank(comm, &r));
  PetscCallMPI(MPI_Comm_free(&comm));
  PetscCall(InvH5CreateDataset(file, path, memtype, rank, dims));
  PetscCall(InvH5WriteRows(file, path, memtype, 0, r == 0 ? dims[0] : 0, buf));
  PetscFunctionReturn(0);
}

/* Collective: every rank reads the whole dataset. */
PetscErrorCode InvH5ReadAll(hid_t file, const char path[], hid_t memtype, void *buf)
{
  PetscInt rank;
  hsize_t dims[3];

  PetscFunctionBegin;
  PetscCall(InvH5GetDims(file, path, &rank, dims));
  PetscCall(InvH5ReadRows(file, path, memtype, 0, dims[0], buf));
  PetscFunctionReturn(0);
}

PetscErrorCode InvH5ReadVector(hid_t file, const char path[], hid_t memtype, hsize_t n, void *buf)
{
  PetscInt rank;
  hsize_t dims[3];
  char fname[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  PetscCall(InvH5GetDims(file, path, &rank, dims));
  PetscCall(InvH5FileName(file, fname, sizeof(fname)));
  PetscCheck(rank == 1 && dims[0] == n, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "Dataset %s in %s has %s%llu entries; expected a vector of %llu (file damaged or from another configuration)", path, fname,
             rank == 1 ? "" : "rank > 1, ", (unsigned long long)(rank == 1 ? dims[0] : 0), (unsigned long long)n);
  PetscCall(InvH5ReadRows(file, path, memtype, 0, n, buf));
  PetscFunctionReturn(0);
}

PetscErrorCode InvH5WriteAttrString(hid_t obj, const char name[], const char value[])
{
  hid_t type, space, attr;

  PetscFunctionBegin;
  PetscCallHDF5Return(type, H5Tcopy(H5T_C_S1));
  PetscCallHDF5(H5Tset_size(type, H5T_VARIABLE));
  PetscCallHDF5(H5Tset_cset(type, H5T_CSET_UTF8));
  PetscCallHDF5Return(space, H5Screate(H5S_SCALAR));
  if (H5Aexists(obj, name) > 0) PetscCallHDF5(H5Adelete(obj, name));
  PetscCallHDF5Return(attr, H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT));
  PetscCallHDF5(H5Awrite(attr, type, &value));
  PetscCallHDF5(H5Aclose(attr));
  PetscCallHDF5(H5Sclose(space));
  PetscCallHDF5(H5Tclose(type));
  PetscFunctionReturn(0);
}

static PetscErrorCode InvH5WriteAttrArray(hid_t obj, const char name[], hid_t type, PetscInt n, const void *v)
{
  hid_t space, attr;
  hsize_t dim = (hsize_t)n;

  PetscFunctionBegin;
  PetscCallHDF5Return(space, H5Screate_simple(1, &dim, NULL));
  if (H5Aexists(obj, name) > 0) PetscCallHDF5(H5Adelete(obj, name));
  PetscCallHDF5Return(attr, H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT));
  PetscCallHDF5(H5Awrite(attr, type, v));
  PetscCallHDF5(H5Aclose(attr));
  PetscCallHDF5(H5Sclose(space));
  PetscFunctionReturn(0);
}

PetscErrorCode InvH5WriteAttrReals(hid_t obj, const char name[], PetscInt n, const PetscReal v[])
{
  PetscFunctionBegin;
  PetscCall(InvH5WriteAttrArray(obj, name, H5T_NATIVE_DOUBLE, n, v));
  PetscFunctionReturn(0);
}

PetscErrorCode InvH5WriteAttrInts(hid_t obj, const char name[], PetscInt n, const PetscInt64 v[])
{
  PetscFunctionBegin;
  PetscCall(InvH5WriteAttrArray(obj, name, H5T_NATIVE_INT64, n, v));
  PetscFunctionReturn(0);
}

PetscErrorCode InvH5HasAttr(hid_t obj, const char name[], PetscBool *has)
{
  htri_t e;

  PetscFunctionBegin;
  H5E_BEGIN_TRY
  {
    e = H5Aexists(obj, name);
  }
  H5E_END_TRY;
  *has = e > 0 ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode InvH5ReadAttrString(hid_t obj, const char name[], char **value)
{
  hid_t attr, type, ftype;
  PetscBool has;
  char *s = NULL;

  PetscFunctionBegin;
  PetscCall(InvH5HasAttr(obj, name, &has));
  PetscCheck(has, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "Attribute %s is missing", name);
  PetscCallHDF5Return(attr, H5Aopen(obj, name, H5P_DEFAULT));
  PetscCallHDF5Return(ftype, H5Aget_type(attr));
  PetscCheck(H5Tget_class(ftype) == H5T_STRING, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "Attribute %s is not a string", name);
  { /* one string: H5Aread fills as many as the attribute holds */
    hid_t space;
    hssize_t npoints;
    PetscCallHDF5Return(space, H5Aget_space(attr));
    PetscCallHDF5Return(npoints, H5Sget_simple_extent_npoints(space));
    PetscCallHDF5(H5Sclose(space));
    PetscCheck(npoints == 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "Attribute %s holds %lld strings; expected one", name,
               (long long)npoints);
  }
  if (H5Tis_variable_str(ftype) > 0) {
    PetscCallHDF5Return(type, H5Tcopy(ftype)); /* same size and character set as stored */
    PetscCallHDF5(H5Aread(attr, type, &s));
    PetscCall(PetscStrallocpy(s, value));
    H5free_memory(s);
  } else {
    size_t len = H5Tget_size(ftype);
    PetscCallHDF5Return(type, H5Tcopy(H5T_C_S1));
    PetscCallHDF5(H5Tset_size(type, len + 1));
    PetscCall(PetscCalloc1(len + 2, value));
    PetscCallHDF5(H5Aread(attr, type, *value));
  }
  PetscCallHDF5(H5Tclose(type));
  PetscCallHDF5(H5Tclose(ftype));
  PetscCallHDF5(H5Aclose(attr));
  PetscFunctionReturn(0);
}

static PetscErrorCode InvH5ReadAttrArray(hid_t obj, const char name[], hid_t type, PetscInt n, void *v)
{
  hid_t attr, space;
  hssize_t npoints;
  PetscBool has;

  PetscFunctionBegin;
  PetscCall(InvH5HasAttr(obj, name, &has));
  PetscCheck(has, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "Attribute %s is missing", name);
  PetscCallHDF5Return(attr, H5Aopen(obj, name, H5P_DEFAULT));
  PetscCallHDF5Return(space, H5Aget_space(attr));
  PetscCallHDF5Return(npoints, H5Sget_simple_extent_npoints(space));
  PetscCheck(npoints == n, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "Attribute %s has %lld values; expected %" PetscInt_FMT, name,
             (long long)npoints, n);
  PetscCallHDF5(H5Aread(attr, type, v));
  PetscCallHDF5(H5Sclose(space));
  PetscCallHDF5(H5Aclose(attr));
  PetscFunctionReturn(0);
}

PetscErrorCode InvH5ReadAttrReals(hid_t obj, const char name[], PetscInt n, PetscReal v[])
{
  PetscFunctionBegin;
  PetscCall(InvH5ReadAttrArray(obj, name, H5T_NATIVE_DOUBLE, n, v));
  PetscFunctionReturn(0);
}

PetscErrorCode InvH5ReadAttrInts(hid_t obj, const char name[], PetscInt n, PetscInt64 v[])
{
  PetscFunctionBegin;
  PetscCall(InvH5ReadAttrArray(obj, name, H5T_NATIVE_INT64, n, v));
  PetscFunctionReturn(0);
}
