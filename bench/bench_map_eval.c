/* bench_map_eval: cost of one batched forward+adjoint MAP misfit evaluation per member, and its
   gradient against central finite differences (options -b batch, -reps, -map_ts_*). */
#include <invmap/batchts.h>
#include <invmap/ensemble.h>
#include <invmap/noise.h>
#include <invmap/prior.h>

int main(int argc, char **argv)
{
  InvModel model;
  InvPrior prior;
  InvNoise noise;
  InvBatchTS bts;
  InvBatchTS mts;
  PetscInt nt, b = 16, reps = 5, st[256], np;
  PetscReal *t, *u, *dd, th[512], tht[512], f[256], g[512], rho[256], sig[256], h = 1e-6;
  const PetscReal *dp[256];
  PetscLogDouble t0, t1;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(InvInitializePackage());
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-b", &b, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-reps", &reps, NULL));
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-h", &h, NULL));
  PetscCheck(b >= 1 && b <= 256, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-b must be in [1, 256]");
  PetscCall(InvModelCreate("fhn", &model));
  np = model->nparam;
  PetscCall(InvPriorCreate(model, &prior));
  PetscCall(InvNoiseCreate(&noise));
  PetscCall(InvObservationTimesFromOptions(&nt, &t));
  PetscCall(InvNoiseSetObservationTimes(noise, PETSC_COMM_SELF, nt, t));
  PetscCall(InvBatchTSCreate(model, b, "sim_", &bts));
  PetscCall(InvBatchTSSetObservationTimes(bts, nt, t));
  PetscCall(InvBatchTSSetFromOptions(bts));
  PetscCall(PetscMalloc2(b * nt, &u, b * nt, &dd));
  for (PetscInt i = 0; i < b; i++) {
    PetscCall(InvPriorSample(prior, 7, i, tht + i * np));
    PetscCall(InvPriorSample(prior, 8, i, th + i * np));
    rho[i] = 0.8;
    sig[i] = 0.07;
    dp[i] = dd + i * nt;
  }
  PetscCall(InvBatchTSSolve(bts, b, tht, u, st));
  for (PetscInt i = 0; i < b; i++) {
    PetscCall(InvNoiseApply(noise, 7, i, 0, rho[i], sig[i], nt, u + i * nt, dd + i * nt));
    sig[i] = InvNoiseMarginalSD(noise->scale, sig[i], noise->obs_dt); /* the misfit takes the marginal standard deviation */
  }
  PetscCall(InvBatchTSCreateAdjoint(model, b, "map_", &mts));
  PetscCall(InvBatchTSSetObservationTimes(mts, nt, t));
  PetscCall(InvBatchTSSetFromOptions(mts));
  PetscCall(PetscTime(&t0));
  for (PetscInt r = 0; r < reps; r++) PetscCall(InvBatchTSObjective(mts, NULL, b, th, dp, rho, sig, f, g, st));
  PetscCall(PetscTime(&t1));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "forward+adjoint: %.3f ms per member (batch %d)\n", 1e3 * (t1 - t0) / (reps * b), (int)b));
  PetscCall(PetscTime(&t0));
  for (PetscInt r = 0; r < reps; r++) PetscCall(InvBatchTSObjective(mts, NULL, b, th, dp, rho, sig, f, NULL, st));
  PetscCall(PetscTime(&t1));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "forward only:    %.3f ms per member\n", 1e3 * (t1 - t0) / (reps * b)));
  PetscCall(InvBatchTSObjective(mts, NULL, b, th, dp, rho, sig, f, g, st));
  for (PetscInt i = 0; i < PetscMin(b, 4); i++) {
    PetscReal fp, fm, gfd[INV_MAX_PARAM], thp[INV_MAX_PARAM], e = 0, n = 0;
    PetscInt s;
    for (PetscInt j = 0; j < np; j++) {
      PetscCall(PetscArraycpy(thp, th + i * np, np));
      thp[j] += h;
      PetscCall(InvBatchTSObjective(mts, NULL, 1, thp, &dp[i], &rho[i], &sig[i], &fp, NULL, &s));
      thp[j] -= 2 * h;
      PetscCall(InvBatchTSObjective(mts, NULL, 1, thp, &dp[i], &rho[i], &sig[i], &fm, NULL, &s));
      gfd[j] = (fp - fm) / (2 * h);
      e += PetscSqr(gfd[j] - g[i * np + j]);
      n += PetscSqr(gfd[j]);
    }
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "member %d: f %.6e g (%.8e %.8e) fd (%.8e %.8e) rel err %.2e\n", (int)i, (double)f[i],
                          (double)g[i * np], (double)g[i * np + 1], (double)gfd[0], (double)gfd[1], (double)PetscSqrtReal(e / n)));
  }
  { /* model discrepancy: misfit of the clean simulated series at the true parameters */
    PetscReal fmax = 0, fmed = 0;
    for (PetscInt i = 0; i < b; i++) dp[i] = u + i * nt;
    PetscCall(InvBatchTSObjective(mts, NULL, b, tht, dp, rho, sig, f, NULL, st));
    for (PetscInt i = 0; i < b; i++) {
      fmax = PetscMax(fmax, f[i]);
      fmed += f[i] / b;
    }
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "discrepancy vs simulate's integrator: misfit at truth, clean data: mean %.3g max %.3g\n",
                          (double)fmed, (double)fmax));
  }
  {
    PetscInt64 nf, na, ns;
    PetscCall(InvBatchTSGetStats(mts, &ns, &nf, NULL));
    PetscCall(InvBatchTSGetAdjointCount(mts, &na));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "steps per forward %.1f\n", (double)ns / nf));
  }
  PetscCall(InvBatchTSDestroy(&mts));
  PetscCall(InvBatchTSDestroy(&bts));
  PetscCall(PetscFree2(u, dd));
  PetscCall(PetscFree(t));
  PetscCall(InvNoiseDestroy(&noise));
  PetscCall(InvPriorDestroy(&prior));
  PetscCall(InvModelDestroy(&model));
  PetscCall(PetscFinalize());
  return 0;
}
