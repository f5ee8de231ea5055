/* Parallel HDF5 helpers: each rank writes its row block collectively (some ranks empty), every rank
   reads back the whole dataset and checks it; attributes round-trip; missing datasets raise errors. */
#include <invmap/h5io.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  PetscMPIInt rank, size;
  hid_t f, root;
  hsize_t dims[2] = {10, 3};
  PetscReal *buf, *all, vals[3] = {1.5, -2, 3e10}, back[3];
  PetscInt64 iv[2] = {7, -8}, ib[2];
  char *s, name[PETSC_MAX_PATH_LEN];
  PetscInt r0, r1;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(PetscSNPrintf(name, sizeof(name), "test_h5io_np%d.h5", size));
  PetscCall(InvH5Create(PETSC_COMM_WORLD, name, &f));
  PetscCall(InvH5CreateDataset(f, "/grp/x", H5T_NATIVE_DOUBLE, 2, dims));
  /* Rank 0 gets no rows when size > 1, to exercise empty selections. */
  r0 = size > 1 ? (rank == 0 ? 0 : 10 * (rank - 1) / (size - 1)) : 0;
  r1 = size > 1 ? (rank == 0 ? 0 : 10 * rank / (size - 1)) : 10;
  PetscCall(PetscMalloc1(30, &buf));
  for (PetscInt i = r0; i < r1; i++)
    for (PetscInt j = 0; j < 3; j++) buf[(i - r0) * 3 + j] = 100 * i + j;
  PetscCall(InvH5WriteRows(f, "/grp/x", H5T_NATIVE_DOUBLE, (hsize_t)r0, (hsize_t)(r1 - r0), buf));
  PetscCallHDF5Return(root, H5Gopen2(f, "/", H5P_DEFAULT));
  PetscCall(InvH5WriteAttrString(root, "label", "héllo, world"));
  PetscCall(InvH5WriteAttrReals(root, "vals", 3, vals));
  PetscCall(InvH5WriteAttrInts(root, "ints", 2, iv));
  PetscCallHDF5(H5Gclose(root));
  PetscCall(InvH5Close(&f));

  PetscCall(InvH5Open(PETSC_COMM_WORLD, name, PETSC_FALSE, &f));
  PetscCall(PetscMalloc1(30, &all));
  PetscCall(InvH5ReadAll(f, "/grp/x", H5T_NATIVE_DOUBLE, all));
  for (PetscInt i = 0; i < 10; i++)
    for (PetscInt j = 0; j < 3; j++)
      PetscCheck(all[i * 3 + j] == 100 * i + j, PETSC_COMM_SELF, PETSC_ERR_PLIB, "row %" PetscInt_FMT " wrong", i);
  PetscCallHDF5Return(root, H5Gopen2(f, "/", H5P_DEFAULT));
  PetscCall(InvH5ReadAttrString(root, "label", &s));
  PetscCall(InvH5ReadAttrReals(root, "vals", 3, back));
  PetscCall(InvH5ReadAttrInts(root, "ints", 2, ib));
  PetscCheck(!strcmp(s, "héllo, world") && back[2] == 3e10 && ib[1] == -8, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "attributes did not round-trip");
  PetscCall(PetscFree(s));
  PetscCallHDF5(H5Gclose(root));
  {
    PetscInt rk;
    hsize_t d3[3];
    PetscErrorCode ierr;
    PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
    ierr = InvH5GetDims(f, "/nothere", &rk, d3);
    PetscCall(PetscPopErrorHandler());
    PetscCheck(ierr != 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "missing dataset not reported");
  }
  PetscCall(InvH5Close(&f));
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  if (rank == 0) unlink(name);
  PetscCall(PetscFree(buf));
  PetscCall(PetscFree(all));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "test_h5io: ok on %d ranks\n", size));
  PetscCall(PetscFinalize());
  return 0;
}
