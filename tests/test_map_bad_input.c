/* Bad input to invmap map: NaN/Inf series, sigma <= 0 or NaN, |rho| >= 1 are flagged per sample; a forward solve
   that fails during the line search (a model whose right-hand side is NaN in part of the prior box) is
   handled; starts that all fail flag the sample; malformed files give clear errors. */
#include "test_map_common.h"
#include <invmap/h5io.h>

static PetscErrorCode (*FHNRHSOrig)(InvModel, PetscReal, PetscInt, const PetscScalar[], const PetscReal[], PetscScalar[]);

/* FHN, except that the right-hand side is NaN wherever theta0 > 0.7 */
static PetscErrorCode TrapRHS(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[], PetscScalar f[])
{
  PetscFunctionBegin;
  PetscCall(FHNRHSOrig(m, t, nb, x, th, f));
  for (PetscInt b = 0; b < nb; b++)
    if (th[2 * b] > 0.7) f[2 * b] = NAN;
  PetscFunctionReturn(0);
}

static PetscErrorCode CreateTrap(InvModel m)
{
  PetscFunctionBegin;
  PetscCall(InvModelCreate_FHN(m));
  FHNRHSOrig = m->ops.rhs;
  m->ops.rhs = TrapRHS;
  PetscFunctionReturn(0);
}

static PetscErrorCode FlaggedSamples(void)
{
  InvMAP map;
  PetscReal *t, *theta, *d, *noise;
  const PetscInt n = 9, nt = 200;
  PetscInt nl;
  const PetscInt *status;
  const PetscReal *x, *f;
  const PetscInt expect[9] = {INV_MAP_OK,        INV_MAP_BAD_DATA,  INV_MAP_BAD_NOISE, INV_MAP_BAD_NOISE, INV_MAP_OK,
                              INV_MAP_BAD_NOISE, INV_MAP_BAD_NOISE, INV_MAP_BAD_DATA,  INV_MAP_BAD_NOISE};

  PetscFunctionBegin;
  PetscCall(TestMAPCreate(PETSC_COMM_SELF, n, nt, 3, &map, &t, &theta, &d, &noise));
  d[1 * nt + 17] = NAN;     /* problem 1: NaN in the series */
  noise[2 * 2 + 1] = 0;     /* problem 2: sigma = 0 */
  noise[2 * 3] = 1.0;       /* problem 3: rho = 1 */
  noise[2 * 5 + 1] = -0.07; /* problem 5: sigma < 0 */
  noise[2 * 6] = -1.5;      /* problem 6: rho < -1 */
  d[7 * nt] = INFINITY;     /* problem 7: Inf in the series */
  noise[2 * 8 + 1] = NAN;   /* problem 8: sigma NaN */
  PetscCall(InvMAPSetProblems(map, n, nt, t, d, noise, NULL, 0));
  PetscCall(InvMAPSolve(map));
  PetscCall(InvMAPGetResults(map, &nl, &x, &f, NULL, NULL, &status));
  PetscCheck(nl == n, PETSC_COMM_SELF, PETSC_ERR_PLIB, "samples lost");
  for (PetscInt i = 0; i < n; i++) {
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "sample %d: status %d (%s)\n", (int)i, (int)status[i], InvMAPStatusNames[status[i]]));
    PetscCheck(status[i] == expect[i], PETSC_COMM_SELF, PETSC_ERR_PLIB, "sample %d: status %d, expected %d", (int)i, (int)status[i],
               (int)expect[i]);
    PetscCheck(status[i] == INV_MAP_OK ? !PetscIsInfOrNanReal(f[i]) : (PetscIsNanReal(x[2 * i]) && PetscIsNanReal(f[i])), PETSC_COMM_SELF,
               PETSC_ERR_PLIB, "sample %d: wrong outputs for its status", (int)i);
  }
  PetscCall(TestMAPFreeProblems(&t, &theta, &d, &noise));
  PetscCall(InvMAPDestroy(&map));
  PetscFunctionReturn(0);
}

/* Data from theta0 = 0.66, next to the region where the model fails; starts on both sides. */
static PetscErrorCode FailingSolves(void)
{
  InvMAP map, ref;
  InvModel model;
  PetscReal *t, *theta, *d, *noise, init[4] = {0.69, 0.3, 0.95, 0.9};
  const PetscInt nt = 200;
  PetscInt nl;
  const PetscInt *status, *nbest;
  const PetscReal *x, *f;

  PetscFunctionBegin;
  PetscCall(TestMAPCreate(PETSC_COMM_SELF, 2, nt, 3, &ref, &t, &theta, &d, &noise));
  PetscCall(InvMAPDestroy(&ref));
  PetscCall(PetscFree(theta));
  PetscCall(PetscFree(d));
  {
    InvBatchTS bts;
    InvNoise nz;
    PetscReal th[4] = {0.66, 0.5, 0.66, 0.5}, u[2 * 200];
    PetscInt st[2];
    PetscCall(InvModelCreate("fhn", &model));
    PetscCall(InvBatchTSCreate(model, 2, "test_sim_", &bts));
    PetscCall(InvBatchTSSetObservationTimes(bts, nt, t));
    PetscCall(InvBatchTSSetFromOptions(bts));
    PetscCall(InvBatchTSSolve(bts, 2, th, u, st));
    PetscCall(PetscMalloc1(2 * nt, &d));
    PetscCall(InvNoiseCreate(&nz));
    PetscCall(InvNoiseSetObservationTimes(nz, PETSC_COMM_SELF, nt, t));
    for (PetscInt i = 0; i < 2; i++) PetscCall(InvNoiseApply(nz, 9, i, 0, 0.8, 0.07, nt, u + i * nt, d + i * nt));
    PetscCall(InvNoiseDestroy(&nz));
    PetscCall(InvBatchTSDestroy(&bts));
    PetscCall(InvModelDestroy(&model));
  }
  PetscCall(InvModelRegister("fhn_trap", CreateTrap));
  PetscCall(PetscOptionsSetValue(NULL, "-model", "fhn_trap"));
  PetscCall(InvMAPCreate(PETSC_COMM_SELF, &map));
  PetscCall(InvMAPSetFromOptions(map));
  PetscCall(PetscOptionsClearValue(NULL, "-model"));
  PetscCall(InvMAPSetProblems(map, 2, nt, t, d, noise, init, 0));
  {
    PetscInt idx[2] = {0, 1}, st[2];
    PetscReal fv[2], gv[4];
    PetscCall(InvMAPObjectiveGradient(map, 2, idx, init, fv, gv, st));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "trap model at the initial guesses: J %g %g status %d %d\n", (double)fv[0], (double)fv[1],
                          (int)st[0], (int)st[1]));
    PetscCheck(!st[0] && st[1] && fv[1] >= PETSC_INFINITY, PETSC_COMM_SELF, PETSC_ERR_PLIB, "the trap model does not fail");
  }
  PetscCall(InvMAPSolve(map));
  PetscCall(InvMAPGetResults(map, &nl, &x, &f, NULL, &nbest, &status));
  PetscCall(PetscPrintf(PETSC_COMM_SELF,
                        "trap model: problem 0 status %d theta (%.5f %.5f) J %.4f starts at best %d; problem 1 status %d\n", (int)status[0],
                        (double)x[0], (double)x[1], (double)f[0], (int)nbest[0], (int)status[1]));
  {
    PetscInt64 fs, fl;
    PetscCall(InvMAPGetFailures(map, &fs, &fl));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "trap model: %d failed solves at start points, %d in line searches\n", (int)fs, (int)fl));
    PetscCheck(fl > 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "the line searches never met a failing solve: the test does not test it");
  }
  PetscCheck(status[0] == INV_MAP_OK && x[0] <= 0.7 && !PetscIsInfOrNanReal(f[0]), PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "MAP with failing solves in the line search went wrong");
  PetscCall(InvMAPDestroy(&map));
  /* every start inside the failing region: the sample is flagged, nothing crashes */
  PetscCall(PetscOptionsSetValue(NULL, "-model", "fhn_trap"));
  PetscCall(PetscOptionsSetValue(NULL, "-map_starts", "0"));
  PetscCall(PetscOptionsSetValue(NULL, "-map_start_mean", "0"));
  PetscCall(InvMAPCreate(PETSC_COMM_SELF, &map));
  PetscCall(InvMAPSetFromOptions(map));
  PetscCall(PetscOptionsClearValue(NULL, "-model"));
  PetscCall(PetscOptionsClearValue(NULL, "-map_starts"));
  PetscCall(PetscOptionsClearValue(NULL, "-map_start_mean"));
  PetscCall(InvMAPSetProblems(map, 2, nt, t, d, noise, init, 0));
  PetscCall(InvMAPSolve(map));
  PetscCall(InvMAPGetResults(map, &nl, &x, &f, NULL, &nbest, &status));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "trap model, only failing starts: problem 1 status %d (%s)\n", (int)status[1],
                        InvMAPStatusNames[status[1]]));
  PetscCheck(status[1] == INV_MAP_FAILED && status[0] == INV_MAP_OK, PETSC_COMM_SELF, PETSC_ERR_PLIB, "failed starts not flagged");
  PetscCall(InvMAPDestroy(&map));
  PetscCall(PetscFree(t));
  PetscCall(PetscFree(d));
  PetscCall(PetscFree(noise));
  PetscFunctionReturn(0);
}

/* Run SetFromOptions + SetUp on a file and expect an error whose message contains `expect`. */
static PetscErrorCode ExpectFileError(const char file[], const char extra[], const char expect[])
{
  InvMAP map = NULL;
  PetscErrorCode ierr;
  const char *msg = NULL;
  char *found = NULL;

  PetscFunctionBegin;
  PetscCall(PetscOptionsSetValue(NULL, "-i", file));
  if (extra) PetscCall(PetscOptionsInsertString(NULL, extra));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = InvMAPCreate(PETSC_COMM_SELF, &map);
  if (!ierr) ierr = InvMAPSetFromOptions(map);
  if (!ierr) ierr = InvMAPSetUp(map);
  PetscCall(PetscPopErrorHandler());
  PetscCall(PetscOptionsClearValue(NULL, "-i"));
  PetscCall(PetscOptionsClearValue(NULL, "-noise_rho"));
  PetscCall(PetscOptionsClearValue(NULL, "-noise_sigma"));
  PetscCheck(ierr, PETSC_COMM_SELF, PETSC_ERR_PLIB, "no error for %s", file);
  PetscCall(PetscErrorMessage(ierr, NULL, (char **)&msg));
  if (msg) PetscCall(PetscStrstr(msg, expect, &found));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s: error \"%s\"\n", file, msg ? msg : "?"));
  PetscCheck(found, PETSC_COMM_SELF, PETSC_ERR_PLIB, "error for %s does not mention '%s'", file, expect);
  if (map) PetscCall(InvMAPDestroy(&map));
  PetscFunctionReturn(0);
}

static PetscErrorCode BadFiles(void)
{
  hid_t f;
  hsize_t dims[2];
  PetscReal buf[3 * 10] = {0}, t[10], nz[6] = {0.8, 0.07, 0.8, 0.07, 0.8, 0.07};
  FILE *fp;

  PetscFunctionBegin;
  for (PetscInt k = 0; k < 10; k++) t[k] = 0.2 * k;
  PetscCall(ExpectFileError("/tmp/invmap_map_missing.h5", NULL, "does not exist"));
  fp = fopen("/tmp/invmap_map_text.h5", "w");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write /tmp");
  fprintf(fp, "not hdf5\n");
  fclose(fp);
  PetscCall(ExpectFileError("/tmp/invmap_map_text.h5", NULL, "not an HDF5 file"));
  PetscCall(InvH5Create(PETSC_COMM_SELF, "/tmp/invmap_map_empty.h5", &f));
  PetscCall(InvH5Close(&f));
  PetscCall(ExpectFileError("/tmp/invmap_map_empty.h5", NULL, "has no dataset /d"));
  /* /t with 9 times, series of 10 values */
  PetscCall(InvH5Create(PETSC_COMM_SELF, "/tmp/invmap_map_len.h5", &f));
  dims[0] = 3;
  dims[1] = 10;
  PetscCall(InvH5WriteSmall(f, "/d", H5T_NATIVE_DOUBLE, 2, dims, buf));
  dims[0] = 9;
  PetscCall(InvH5WriteSmall(f, "/t", H5T_NATIVE_DOUBLE, 1, dims, t));
  PetscCall(InvH5Close(&f));
  PetscCall(ExpectFileError("/tmp/invmap_map_len.h5", NULL, "wrong lengths"));
  /* zero samples */
  PetscCall(InvH5Create(PETSC_COMM_SELF, "/tmp/invmap_map_zero.h5", &f));
  dims[0] = 0;
  dims[1] = 10;
  PetscCall(InvH5CreateDataset(f, "/d", H5T_NATIVE_DOUBLE, 2, dims));
  dims[0] = 10;
  PetscCall(InvH5WriteSmall(f, "/t", H5T_NATIVE_DOUBLE, 1, dims, t));
  PetscCall(InvH5Close(&f));
  PetscCall(ExpectFileError("/tmp/invmap_map_zero.h5", NULL, "holds no samples"));
  /* no /noise and no -noise_rho/-noise_sigma; then a wrong /noise shape; then invalid option values */
  PetscCall(InvH5Create(PETSC_COMM_SELF, "/tmp/invmap_map_nonoise.h5", &f));
  dims[0] = 3;
  dims[1] = 10;
  PetscCall(InvH5WriteSmall(f, "/d", H5T_NATIVE_DOUBLE, 2, dims, buf));
  dims[0] = 10;
  PetscCall(InvH5WriteSmall(f, "/t", H5T_NATIVE_DOUBLE, 1, dims, t));
  PetscCall(InvH5Close(&f));
  PetscCall(ExpectFileError("/tmp/invmap_map_nonoise.h5", NULL, "give -noise_rho and -noise_sigma"));
  PetscCall(ExpectFileError("/tmp/invmap_map_nonoise.h5", "-noise_rho 0.5 -noise_sigma -1", "sigma > 0"));
  PetscCall(ExpectFileError("/tmp/invmap_map_nonoise.h5", "-noise_rho 1.0 -noise_sigma 0.07", "|rho| < 1"));
  PetscCall(InvH5Create(PETSC_COMM_SELF, "/tmp/invmap_map_badnoise.h5", &f));
  dims[0] = 3;
  dims[1] = 10;
  PetscCall(InvH5WriteSmall(f, "/d", H5T_NATIVE_DOUBLE, 2, dims, buf));
  dims[0] = 10;
  PetscCall(InvH5WriteSmall(f, "/t", H5T_NATIVE_DOUBLE, 1, dims, t));
  dims[0] = 2;
  dims[1] = 2;
  PetscCall(InvH5WriteSmall(f, "/noise", H5T_NATIVE_DOUBLE, 2, dims, nz));
  PetscCall(InvH5Close(&f));
  PetscCall(ExpectFileError("/tmp/invmap_map_badnoise.h5", NULL, "/noise must have shape"));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(InvInitializePackage());
  PetscCall(PetscOptionsSetValue(NULL, "-map_starts", "2"));
  PetscCall(PetscOptionsSetValue(NULL, "-quiet", "1"));
  PetscCall(FlaggedSamples());
  PetscCall(FailingSolves());
  PetscCall(BadFiles());
  PetscCall(PetscFinalize());
  return 0;
}
