/* Benchmark of the implicit batched TS on the stiff model vdp_stiff: seconds per member and per step of a
   fixed-step solve (default: beuler, dt 0.01 to t = 5, Newton at every step) for batches of B members, so that
   the cost of a Newton step can be read against B. The linear solver is the TS's (-bench_ksp_type,
   -bench_pc_type; default PCPBJACOBI + KSPPREONLY on the block-diagonal BAIJ Jacobian, batchts_implicit.c).
     bench_stiff -B 16,64,256 -reps 3 [-bench_pc_type lu] [-bench_ksp_type gmres -bench_pc_type ilu] */
#include <invmap/batchts.h>

#define BENCH_MAX_SIZES 16
#define BENCH_T_END     5.0 /* the first slow branch (science.md section 8) */
#define BENCH_NT        25

int main(int argc, char **argv)
{
  PetscInt sizes[BENCH_MAX_SIZES] = {16, 64, 256}, nsizes = BENCH_MAX_SIZES, reps = 3;
  PetscBool set;
  InvModel model;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(PetscOptionsGetIntArray(NULL, NULL, "-B", sizes, &nsizes, &set));
  if (!set) nsizes = 3;
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-reps", &reps, NULL));
  PetscCall(PetscOptionsSetValue(NULL, "-bench_ts_type", "beuler")); /* defaults; the command line overrides them */
  PetscCall(PetscOptionsSetValue(NULL, "-bench_ts_adapt_type", "none"));
  PetscCall(PetscOptionsSetValue(NULL, "-bench_ts_dt", "0.01"));
  PetscCall(PetscOptionsInsert(NULL, &argc, &argv, NULL));
  PetscCall(InvModelCreate("vdp_stiff", &model));
  PetscCall(InvModelSetFromOptions(model));
  for (PetscInt s = 0; s < nsizes; s++) {
    const PetscInt B = sizes[s];
    InvBatchTS bts;
    TS ts;
    PetscReal t[BENCH_NT], *theta, *y, best = PETSC_MAX_REAL;
    PetscInt *st, nits;
    PetscInt64 steps;
    char desc[256];

    for (PetscInt k = 0; k < BENCH_NT; k++) t[k] = BENCH_T_END * (k + 1) / BENCH_NT;
    PetscCall(PetscMalloc3(2 * B, &theta, B * BENCH_NT, &y, B, &st));
    for (PetscInt b = 0; b < B; b++) { /* spread over the prior's support */
      theta[2 * b] = 0.8 + 0.4 * b / B;
      theta[2 * b + 1] = -0.2 + 0.4 * ((b * 7) % B) / B;
    }
    PetscCall(InvBatchTSCreate(model, B, "bench_", &bts));
    PetscCall(InvBatchTSSetObservationTimes(bts, BENCH_NT, t));
    PetscCall(InvBatchTSSetFromOptions(bts));
    PetscCall(InvBatchTSSolve(bts, B, theta, y, st)); /* warm-up */
    for (PetscInt r = 0; r < reps; r++) {
      PetscLogDouble t0, t1;
      PetscCall(PetscTime(&t0));
      PetscCall(InvBatchTSSolve(bts, B, theta, y, st));
      PetscCall(PetscTime(&t1));
      best = PetscMin(best, (PetscReal)(t1 - t0));
    }
    for (PetscInt b = 0; b < B; b++) PetscCheck(st[b] == INV_STATUS_OK, PETSC_COMM_SELF, PETSC_ERR_PLIB, "member %d failed", (int)b);
    PetscCall(InvBatchTSGetTS(bts, &ts));
    PetscCall(TSGetStepNumber(ts, &nits));
    steps = nits;
    PetscCall(TSGetSNESIterations(ts, &nits));
    PetscCall(InvBatchTSDescribe(bts, desc, sizeof(desc)));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD,
                          "B %4d: %.3e s per solve (best of %d), %.3f us per member per step, %" PetscInt64_FMT
                          " steps, %.2f Newton its per step (%s)\n",
                          (int)B, (double)best, (int)reps, (double)(1e6 * best / (B * steps)), steps, (double)nits / (double)steps, desc));
    PetscCall(InvBatchTSDestroy(&bts));
    PetscCall(PetscFree3(theta, y, st));
  }
  PetscCall(InvModelDestroy(&model));
  PetscCall(PetscFinalize());
  return 0;
}
