/* Benchmark of the forward ensemble's integrator: microseconds per sample per core for the batched
   design (-batch B members per solver, the default of invmap simulate; -step_control member: one adaptive
   step per member, InvMemberRK, the default; batch: one TS step shared by the batch, InvBatchTS) beside the
   per-sample design (one TSSolve per sample, same tolerances) in the same process, on however many ranks it
   is started with; the steps per batch; and the maximum error at the observation times against a
   tight-tolerance solve (8vr, rtol 1e-12, one member per TS) on a subset. Warm-up first (-warmup seconds),
   then -reps repetitions; medians reported.
     mpirun -n 2 bench_simulate -n 10000 -n_single 2000 -batch 256 -reps 3 [-step_control batch] */
#include <invmap/batchts.h>
#include <invmap/prior.h>
#include <invmap/ensemble.h>
#include <invmap/noise.h>

static int CmpReal(const void *a, const void *b)
{
  PetscReal x = *(const PetscReal *)a, y = *(const PetscReal *)b;
  return (x > y) - (x < y);
}

/* Integrate n samples [0, n) split over ranks in batches of the solver's size; returns seconds (max over ranks). */
static PetscErrorCode TimeDesign(InvBatchTS bts, InvMemberRK rk, PetscInt bsize, InvPrior prior, InvNoise noise, PetscInt n, PetscInt nt,
                                 PetscReal *u, PetscReal *d, PetscReal *secs)
{
  PetscMPIInt rank, size;
  PetscInt nbatch = (n + bsize - 1) / bsize, st[4096];
  PetscReal th[2 * 4096];
  PetscLogDouble t0, t1;
  PetscReal dt;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  PetscCall(PetscTime(&t0));
  for (PetscInt b = nbatch * rank / size; b < nbatch * (rank + 1) / size; b++) {
    PetscInt i0 = b * bsize, nb = PetscMin(bsize, n - i0);
    for (PetscInt i = 0; i < nb; i++) PetscCall(InvPriorSample(prior, 1, i0 + i, th + 2 * i));
    PetscCall(InvForwardSolve(bts, rk, nb, th, u, st));
    for (PetscInt i = 0; i < nb; i++) PetscCall(InvNoiseApply(noise, 1, i0 + i, 0, 0.8, 0.07, nt, u + i * nt, d));
  }
  PetscCall(PetscTime(&t1));
  dt = (PetscReal)(t1 - t0);
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &dt, 1, MPIU_REAL, MPI_MAX, PETSC_COMM_WORLD));
  *secs = dt;
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscInt n = 10000, n1 = 2000, B = 256, reps = 3, nacc = 64, nt;
  PetscReal warmup = 2.0, *t, *u, *d, tb[16], ts1[16], err = 0;
  InvModel m;
  InvPrior prior;
  InvNoise noise;
  InvBatchTS batched, single, ref;
  PetscMPIInt size;
  char desc[256];
  PetscLogDouble w0, w1;
  InvMemberRK rk = NULL;
  PetscInt step_mode = 0;
  const char *const modes[] = {"member", "batch", "StepControl", "", NULL};
  PetscInt64 steps0, steps1, pass0, pass1, solves0, solves1;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-n", &n, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-n_single", &n1, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-batch", &B, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-reps", &reps, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-n_accuracy", &nacc, NULL));
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-warmup", &warmup, NULL));
  PetscCall(PetscOptionsGetEList(NULL, NULL, "-step_control", modes, 2, &step_mode, NULL));
  reps = PetscMin(PetscMax(reps, 1), 16);
  if (step_mode == 0) PetscCall(InvMemberRKSetDefaultTolerances(NULL));
  B = PetscMin(B, 4096);
  PetscCall(InvModelCreate("fhn", &m));
  PetscCall(InvPriorCreate(m, &prior));
  PetscCall(InvNoiseCreate(&noise));
  PetscCall(InvObservationTimesFromOptions(&nt, &t));
  PetscCall(InvNoiseSetObservationTimes(noise, PETSC_COMM_WORLD, nt, t));
  PetscCall(InvBatchTSCreate(m, B, NULL, &batched));
  PetscCall(InvBatchTSSetObservationTimes(batched, nt, t));
  PetscCall(InvBatchTSSetFromOptions(batched));
  if (step_mode == 0) {
    PetscCall(InvMemberRKCreate(batched, m, B, nt, t, &rk));
    PetscCheck(rk, PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "-step_control member needs an adaptive explicit RK TS");
  }
  PetscCall(InvBatchTSCreate(m, 1, NULL, &single));
  PetscCall(InvBatchTSSetObservationTimes(single, nt, t));
  PetscCall(InvBatchTSSetFromOptions(single));
  PetscCall(PetscMalloc2(4096 * nt, &u, nt, &d));

  /* Warm-up: page in code and buffers, let the clock settle. Rank 0's clock decides when it ends: each rank
     reading its own could stop after different rounds and leave the other waiting in TimeDesign's collectives. */
  PetscCall(PetscTime(&w0));
  do {
    PetscReal s;
    PetscCall(TimeDesign(batched, rk, B, prior, noise, B * size, nt, u, d, &s));
    PetscCall(PetscTime(&w1));
    w1 -= w0;
    PetscCallMPI(MPI_Bcast(&w1, 1, MPI_DOUBLE, 0, PETSC_COMM_WORLD));
  } while (w1 < warmup);

  if (rk)
    PetscCall(InvMemberRKGetStats(rk, &steps0, &pass0, &solves0));
  else
    PetscCall(InvBatchTSGetStats(batched, &steps0, &solves0, NULL));
  for (PetscInt r = 0; r < reps; r++) PetscCall(TimeDesign(batched, rk, B, prior, noise, n, nt, u, d, &tb[r]));
  if (rk)
    PetscCall(InvMemberRKGetStats(rk, &steps1, &pass1, &solves1));
  else
    PetscCall(InvBatchTSGetStats(batched, &steps1, &solves1, NULL));
  for (PetscInt r = 0; r < reps; r++) PetscCall(TimeDesign(single, NULL, 1, prior, noise, n1, nt, u, d, &ts1[r]));
  qsort(tb, (size_t)reps, sizeof(PetscReal), CmpReal);
  qsort(ts1, (size_t)reps, sizeof(PetscReal), CmpReal);

  /* Accuracy of the batched design on the first nacc samples against a tight single-member solve. */
  {
    PetscReal *ub, *ur, th[2 * 4096];
    PetscInt st[4096];
    PetscCall(PetscMalloc2(B * nt, &ub, nt, &ur));
    PetscCall(InvBatchTSCreate(m, 1, "ref_", &ref));
    PetscCall(InvBatchTSSetObservationTimes(ref, nt, t));
    PetscCall(PetscOptionsSetValue(NULL, "-ref_ts_rk_type", "8vr"));
    PetscCall(PetscOptionsSetValue(NULL, "-ref_ts_rtol", "1e-12"));
    PetscCall(PetscOptionsSetValue(NULL, "-ref_ts_atol", "1e-12"));
    PetscCall(InvBatchTSSetFromOptions(ref));
    for (PetscInt i0 = 0; i0 < nacc; i0 += B) {
      PetscInt nb = PetscMin(B, nacc - i0);
      for (PetscInt i = 0; i < nb; i++) PetscCall(InvPriorSample(prior, 1, i0 + i, th + 2 * i));
      PetscCall(InvForwardSolve(batched, rk, nb, th, ub, st));
      for (PetscInt i = 0; i < nb; i++) {
        PetscCall(InvBatchTSSolve(ref, 1, th + 2 * i, ur, st));
        for (PetscInt k = 0; k < nt; k++) err = PetscMax(err, PetscAbsReal(ub[i * nt + k] - ur[k]));
      }
    }
    PetscCall(PetscFree2(ub, ur));
    PetscCall(InvBatchTSDestroy(&ref));
  }
  PetscCall(InvBatchTSDescribe(batched, desc, sizeof(desc)));
  {
    PetscReal ub = 1e6 * tb[reps / 2] * size / n, us = 1e6 * ts1[reps / 2] * size / n1;
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "bench_simulate ranks=%d %s steps=%s\n", size, desc, modes[step_mode]));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD,
                          "  batched   : %6" PetscInt_FMT " samples, median %.3f s, %8.1f us/sample/core (min %.1f, max %.1f)\n", n,
                          (double)tb[reps / 2], (double)ub, (double)(1e6 * tb[0] * size / n), (double)(1e6 * tb[reps - 1] * size / n)));
    if (rk) /* rank 0's batches */
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  steps     : %.0f passes per batch (%.0f accepted steps per member)\n",
                            (double)(pass1 - pass0) / PetscMax(solves1 - solves0, 1), (double)(steps1 - steps0) * size / (reps * n)));
    else
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  steps     : %.0f steps per batch\n",
                            (double)(steps1 - steps0) / PetscMax(solves1 - solves0, 1)));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  per-sample: %6" PetscInt_FMT " samples, median %.3f s, %8.1f us/sample/core\n", n1,
                          (double)ts1[reps / 2], (double)us));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  speed-up of batching: %.1fx; max |u - u_ref| over %" PetscInt_FMT " samples: %.2e\n",
                          (double)(us / ub), nacc, (double)err));
  }
  PetscCall(PetscFree2(u, d));
  PetscCall(PetscFree(t));
  PetscCall(InvMemberRKDestroy(&rk));
  PetscCall(InvBatchTSDestroy(&batched));
  PetscCall(InvBatchTSDestroy(&single));
  PetscCall(InvNoiseDestroy(&noise));
  PetscCall(InvPriorDestroy(&prior));
  PetscCall(InvModelDestroy(&m));
  PetscCall(PetscFinalize());
  return 0;
}
