/* Laplace targets for training (`invmap map -map_targets_into <set>`): the MAP points /theta_map, the Laplace
   covariances /cov and the MAP status /map_status of a finished MAP file are attached to a training set
   next to its /theta, so that `invmap train -train_loss moment` can use them as targets.
   Nothing a user had is lost and nothing is left half-written: the set is copied byte for byte to
   "<set>.targets.partial", the targets are written into the copy, and the copy is renamed over <set>
   (or to <set>, when <set> is a new file) only once it is complete. A kill at any point leaves either the
   old set or the new one (and at most a stale .targets.partial, replaced by the next attempt). The cost is
   one copy of the set (its I/O); the set's series are never rewritten in place.
   Root attributes of the set record what produced the targets: laplace_map_file, laplace_hessian_type,
   laplace_integrator, laplace_series (/u or /d), laplace_map_options, laplace_n_failed. */
#include "mapimpl.h"
#include <invmap/h5io.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#define INV_TARGETS_COPY_BYTES (1 << 20) /* buffer of the byte copy */

/* rank 0 copies the file `from` to `to` byte for byte (collective: the error is shared) */
static PetscErrorCode CopyFile(MPI_Comm comm, const char from[], const char to[])
{
  PetscMPIInt rank;
  int err = 0;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (!rank) {
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    char *buf = NULL;
    if (!in || !out) err = errno ? errno : EIO;
    if (!err) PetscCall(PetscMalloc1(INV_TARGETS_COPY_BYTES, &buf));
    while (!err) {
      size_t n = fread(buf, 1, INV_TARGETS_COPY_BYTES, in);
      if (n && fwrite(buf, 1, n, out) != n) err = errno ? errno : EIO;
      if (n < INV_TARGETS_COPY_BYTES) {
        if (ferror(in)) err = EIO;
        break;
      }
    }
    PetscCall(PetscFree(buf));
    if (in) (void)fclose(in);
    if (out && fclose(out) != 0 && !err) err = errno ? errno : EIO;
    if (err) (void)remove(to);
  }
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  PetscCheck(!err, comm, PETSC_ERR_FILE_WRITE, "Cannot copy %s to %s (%s): the Laplace targets need space for one copy of the set", from,
             to, strerror(err));
  PetscFunctionReturn(0);
}

/* a root string attribute of an open file copied to another one's root under a new name ("" if absent) */
static PetscErrorCode CopyAttr(hid_t from, const char name[], hid_t to, const char newname[])
{
  hid_t r0, r1;
  PetscBool has;
  char *v = NULL;

  PetscFunctionBegin;
  PetscCallHDF5Return(r0, H5Gopen2(from, "/", H5P_DEFAULT));
  PetscCallHDF5Return(r1, H5Gopen2(to, "/", H5P_DEFAULT));
  PetscCall(InvH5HasAttr(r0, name, &has));
  if (has) PetscCall(InvH5ReadAttrString(r0, name, &v));
  PetscCall(InvH5WriteAttrString(r1, newname, v ? v : ""));
  PetscCall(PetscFree(v));
  PetscCallHDF5(H5Gclose(r0));
  PetscCallHDF5(H5Gclose(r1));
  PetscFunctionReturn(0);
}

static PetscErrorCode DeleteIfPresent(hid_t file, const char path[])
{
  PetscBool has;

  PetscFunctionBegin;
  PetscCall(InvH5HasDataset(file, path, &has));
  if (has) PetscCallHDF5(H5Ldelete(file, path, H5P_DEFAULT));
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPAttachTargets(MPI_Comm comm, const char mapfile[], const char input[], const char set[], PetscBool overwrite)
{
  hid_t mf, sf, root;
  PetscInt rank;
  hsize_t dims[3], cdims[3], sdims[3];
  PetscInt64 N, P, nfailed = 0;
  PetscReal *th_map, *cov, *th_set, *th_in;
  int32_t *st;
  PetscBool has, same_file, exists, identical = PETSC_FALSE;
  char tmp[PETSC_MAX_PATH_LEN], rin[PETSC_MAX_PATH_LEN], rset[PETSC_MAX_PATH_LEN];
  const char *src;
  PetscMPIInt r, size;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &r));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  /* the MAP results */
  PetscCall(InvH5Open(comm, mapfile, PETSC_FALSE, &mf));
  PetscCall(InvH5GetDims(mf, "/theta_map", &rank, dims));
  PetscCheck(rank == 2, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: /theta_map must be (samples x parameters)", mapfile);
  N = (PetscInt64)dims[0];
  P = (PetscInt64)dims[1];
  PetscCall(InvH5GetDims(mf, "/cov", &rank, cdims));
  PetscCheck(rank == 3 && cdims[0] == dims[0] && cdims[1] == dims[1] && cdims[2] == dims[1], comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s: /cov must be (%lld x %lld x %lld)", mapfile, (long long)N, (long long)P, (long long)P);
  PetscCall(InvH5HasDataset(mf, "/theta", &has));
  PetscCheck(has, comm, PETSC_ERR_FILE_UNEXPECTED, "%s has no /theta: -map_targets_into needs an input with the true parameters", mapfile);
  PetscCall(PetscMalloc5(N * P, &th_map, N * P * P, &cov, N * P, &th_set, N * P, &th_in, N, &st));
  PetscCall(InvH5ReadAll(mf, "/theta_map", H5T_NATIVE_DOUBLE, th_map));
  PetscCall(InvH5ReadAll(mf, "/cov", H5T_NATIVE_DOUBLE, cov));
  PetscCall(InvH5ReadAll(mf, "/theta", H5T_NATIVE_DOUBLE, th_in));
  PetscCall(InvH5ReadAll(mf, "/status", H5T_NATIVE_INT32, st));
  for (PetscInt64 i = 0; i < N; i++) nfailed += st[i] != INV_MAP_OK;

  /* the set the targets go into: the input itself (replaced) or a new copy of it */
  same_file = (PetscBool)(realpath(input, rin) && realpath(set, rset) && !strcmp(rin, rset));
  PetscCall(InvFileExists(set, &exists));
  PetscCheck(same_file || !exists || overwrite, comm, PETSC_ERR_FILE_WRITE,
             "-map_targets_into %s exists and is not the input %s; pass -overwrite to replace it", set, input);
  src = same_file ? set : input;
  PetscCall(InvH5Open(comm, src, PETSC_FALSE, &sf));
  PetscCall(InvH5GetDims(sf, "/theta", &rank, sdims));
  PetscCheck(rank == 2 && sdims[0] == dims[0] && sdims[1] == dims[1], comm, PETSC_ERR_FILE_UNEXPECTED,
             "-map_targets_into: %s has /theta of %llu x %llu but the MAP run has %lld x %lld: run map over every sample (no -n)", src,
             (unsigned long long)sdims[0], (unsigned long long)(rank == 2 ? sdims[1] : 0), (long long)N, (long long)P);
  PetscCall(InvH5ReadAll(sf, "/theta", H5T_NATIVE_DOUBLE, th_set));
  /* map copies the input's /theta as doubles: equal bitwise exactly when the MAP run was over this set */
  PetscCheck(!memcmp(th_set, th_in, sizeof(PetscReal) * (size_t)(N * P)), comm, PETSC_ERR_FILE_UNEXPECTED,
             "-map_targets_into: the MAP file %s was not computed from %s (their /theta differ)", mapfile, src);
  PetscCall(InvH5HasDataset(sf, "/theta_map", &has));
  if (has && same_file) { /* already there: nothing to do when they are these targets (a resumed run), else -overwrite */
    PetscReal *a, *b;
    PetscCall(InvH5GetDims(sf, "/cov", &rank, sdims));
    if (rank == 3 && sdims[0] == dims[0] && sdims[1] == dims[1]) {
      PetscCall(PetscMalloc2(N * P, &a, N * P * P, &b));
      PetscCall(InvH5ReadAll(sf, "/theta_map", H5T_NATIVE_DOUBLE, a));
      PetscCall(InvH5ReadAll(sf, "/cov", H5T_NATIVE_DOUBLE, b));
      identical =
          (PetscBool)(!memcmp(a, th_map, sizeof(PetscReal) * (size_t)(N * P)) && !memcmp(b, cov, sizeof(PetscReal) * (size_t)(N * P * P)));
      PetscCall(PetscFree2(a, b));
    }
    PetscCheck(identical || overwrite, comm, PETSC_ERR_FILE_WRITE,
               "-map_targets_into: %s already has Laplace targets (/theta_map, /cov) from another MAP run; pass -overwrite to replace them",
               set);
  }
  PetscCall(InvH5Close(&sf));
  if (identical) {
    PetscCall(PetscPrintf(comm, "map: %s already has these Laplace targets; left unchanged\n", set));
    PetscCall(InvH5Close(&mf));
    PetscCall(PetscFree5(th_map, cov, th_set, th_in, st));
    PetscFunctionReturn(0);
  }

  /* copy, write the targets into the copy, rename it over the set */
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.targets.partial", set));
  PetscCall(CopyFile(comm, src, tmp));
  PetscCall(InvH5Open(comm, tmp, PETSC_TRUE, &sf));
  PetscCall(DeleteIfPresent(sf, "/theta_map"));
  PetscCall(DeleteIfPresent(sf, "/cov"));
  PetscCall(DeleteIfPresent(sf, "/map_status"));
  {
    PetscInt64 i0 = N * r / size, i1 = N * (r + 1) / size;
    PetscCall(InvH5CreateDataset(sf, "/theta_map", H5T_NATIVE_DOUBLE, 2, dims));
    PetscCall(InvH5WriteRows(sf, "/theta_map", H5T_NATIVE_DOUBLE, (hsize_t)i0, (hsize_t)(i1 - i0), th_map + i0 * P));
    PetscCall(InvH5CreateDataset(sf, "/cov", H5T_NATIVE_DOUBLE, 3, cdims));
    PetscCall(InvH5WriteRows(sf, "/cov", H5T_NATIVE_DOUBLE, (hsize_t)i0, (hsize_t)(i1 - i0), cov + i0 * P * P));
    PetscCall(InvH5CreateDataset(sf, "/map_status", H5T_NATIVE_INT32, 1, dims));
    PetscCall(InvH5WriteRows(sf, "/map_status", H5T_NATIVE_INT32, (hsize_t)i0, (hsize_t)(i1 - i0), st + i0));
  }
  PetscCallHDF5Return(root, H5Gopen2(sf, "/", H5P_DEFAULT));
  PetscCall(InvH5WriteAttrString(root, "laplace_map_file", mapfile));
  PetscCall(InvH5WriteAttrInts(root, "laplace_n_failed", 1, &nfailed));
  PetscCallHDF5(H5Gclose(root));
  PetscCall(CopyAttr(mf, "hessian_type", sf, "laplace_hessian_type"));
  PetscCall(CopyAttr(mf, "integrator", sf, "laplace_integrator"));
  PetscCall(CopyAttr(mf, "series", sf, "laplace_series"));
  PetscCall(CopyAttr(mf, "options", sf, "laplace_map_options"));
  PetscCall(InvH5Close(&sf));
  PetscCall(InvH5Close(&mf));
  PetscCall(InvFileRename(comm, tmp, set));
  PetscCall(PetscPrintf(comm, "map: Laplace targets /theta_map, /cov, /map_status of %lld samples (%lld without: /map_status != 0) %s %s\n",
                        (long long)N, (long long)nfailed, same_file ? "attached to" : "written with a copy of the input to", set));
  PetscCall(PetscFree5(th_map, cov, th_set, th_in, st));
  PetscFunctionReturn(0);
}
