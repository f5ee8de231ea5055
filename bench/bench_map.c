/* bench_map: wall time per MAP estimate (single start from the prior mean, and multistart), objective
   evaluations (one forward + one adjoint solve of that problem each, batched) per estimate, and the
   rate at which the estimate reaches the global minimum of an exhaustive grid search + local
   refinement (-bench_check). Problems: FHN, parameters from the prior, AR(1) noise with (rho, sigma)
   from the noise prior, simulated as by invmap simulate. -bench_hessian: time per sample of the Laplace
   Hessians (gn: forward sensitivities; fd: central differences of adjoint gradients; soa: second-order
   adjoints), all at the true parameters, and their agreement. Options: -bench_n, -obs_n, -map_starts,
   -bench_check, -bench_grid n0,n1, -bench_hessian, any -map_* option. -bench_part p,q: solve only part p of q of the
   N problems (the share rank p of q ranks would get), so that one process can time a rank's share. Besides the
   wall time, the process CPU time of the solve (max over ranks): on a loaded machine the CPU times of the parts
   of a 1-rank run bound what q free cores would give (no waiting is counted: one process per part). The data of a
   problem do not depend on the part or rank count (simulated in batches of fixed global indices), so every rank
   count solves the same problems. */
#include <time.h>
#include <invmap/map.h>
#include <invmap/batchts.h>
#include <invmap/ensemble.h>
#include <invmap/noise.h>
#include "../tests/test_map_global.h"

#define BENCH_SIM_BATCH 64 /* members per batch of the data simulation */

static PetscErrorCode RunMode(const char *label, PetscInt n, PetscInt64 first, PetscInt nt, const PetscReal t[], const PetscReal d[],
                              const PetscReal nz[], PetscBool check, const PetscInt grid[2], PetscInt64 N)
{
  InvMAP map;
  const PetscReal *f;
  const PetscInt *status;
  PetscInt64 nf, na, ne, miss = 0, nok = 0;
  PetscReal secs, cpu;
  PetscMPIInt size;
  clock_t c0;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(InvMAPCreate(PETSC_COMM_WORLD, &map));
  PetscCall(InvMAPSetFromOptions(map));
  PetscCall(InvMAPSetProblems(map, n, nt, t, d, nz, NULL, first));
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  c0 = clock();
  PetscCall(InvMAPSolve(map));
  cpu = (PetscReal)(clock() - c0) / CLOCKS_PER_SEC;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &cpu, 1, MPIU_REAL, MPIU_MAX, PETSC_COMM_WORLD));
  PetscCall(InvMAPGetStats(map, &ne, &nf, &na, &secs));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &ne, 1, MPIU_INT64, MPI_SUM, PETSC_COMM_WORLD));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &nf, 1, MPIU_INT64, MPI_SUM, PETSC_COMM_WORLD));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &secs, 1, MPIU_REAL, MPIU_MAX, PETSC_COMM_WORLD));
  PetscCall(InvMAPGetResults(map, NULL, NULL, &f, NULL, NULL, &status));
  if (check) {
    PetscReal *xg, *fg;
    PetscCall(PetscMalloc2(2 * n + 2, &xg, n + 1, &fg));
    PetscCall(TestMAPGlobalMin(map, n, grid[0], grid[1], 12, xg, fg));
    for (PetscInt i = 0; i < n; i++) {
      if (status[i] != INV_MAP_OK) continue;
      nok++;
      if (f[i] > fg[i] + 1e-6 * (1 + PetscAbsReal(fg[i]))) miss++;
    }
    PetscCall(PetscFree2(xg, fg));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &miss, 1, MPIU_INT64, MPI_SUM, PETSC_COMM_WORLD));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &nok, 1, MPIU_INT64, MPI_SUM, PETSC_COMM_WORLD));
  }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD,
                        "%-12s ranks %d  N %" PetscInt64_FMT
                        "  wall %.3f s  %.1f ms per estimate per core  %.1f forward+adjoint + %.1f forward-only solves per estimate",
                        label, size, N, (double)secs, 1e3 * secs * size / N, (double)ne / N, (double)nf / N));
  if (check)
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  global minimum reached %" PetscInt64_FMT "/%" PetscInt64_FMT " (%.1f%%)", nok - miss, nok,
                          100.0 * (nok - miss) / PetscMax(nok, 1)));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  cpu %.3f s\n", (double)cpu));
  PetscCall(InvMAPDestroy(&map));
  PetscFunctionReturn(0);
}

/* Wall time per sample of each Hessian type at the true parameters (batched as InvMAPSolve does) */
static PetscErrorCode RunHessians(PetscInt n, PetscInt64 first, PetscInt nt, const PetscReal t[], const PetscReal d[], const PetscReal nz[],
                                  const PetscReal theta[], PetscInt64 N)
{
  InvMAP map;
  PetscInt *idx;
  PetscReal *H[3], med[2];
  const InvMAPHessianType types[3] = {INV_MAP_HESSIAN_GN, INV_MAP_HESSIAN_FD, INV_MAP_HESSIAN_SOA};
  PetscMPIInt size;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(InvMAPCreate(PETSC_COMM_WORLD, &map));
  PetscCall(InvMAPSetFromOptions(map));
  PetscCall(InvMAPSetProblems(map, n, nt, t, d, nz, NULL, first));
  PetscCall(PetscMalloc1(PetscMax(n, 1), &idx));
  for (PetscInt i = 0; i < n; i++) idx[i] = i;
  for (PetscInt k = 0; k < 3; k++) {
    PetscLogDouble t0, t1;
    PetscReal secs;
    PetscCall(PetscMalloc1(PetscMax(n, 1) * 4, &H[k]));
    if (types[k] == INV_MAP_HESSIAN_SOA) PetscCall(InvMAPComputeHessians(map, PetscMin(n, 1), idx, theta, types[k], H[k])); /* set-up */
    PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
    PetscCall(PetscTime(&t0));
    PetscCall(InvMAPComputeHessians(map, n, idx, theta, types[k], H[k]));
    PetscCall(PetscTime(&t1));
    secs = t1 - t0;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &secs, 1, MPIU_REAL, MPIU_MAX, PETSC_COMM_WORLD));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "hessian %-4s ranks %d  N %" PetscInt64_FMT "  wall %.2f s  %.2f ms per sample per core\n",
                          InvMAPHessianTypes[types[k]], size, N, (double)secs, 1e3 * secs * size / N));
  }
  /* agreement on rank 0's samples: median relative Frobenius difference of soa vs fd and vs gn */
  for (PetscInt c = 0; c < 2; c++) {
    PetscReal *e;
    PetscCall(PetscMalloc1(PetscMax(n, 1), &e));
    for (PetscInt i = 0; i < n; i++) {
      PetscReal num = 0, den = 0;
      for (PetscInt k = 0; k < 4; k++) {
        num += PetscSqr(H[2][4 * i + k] - H[c == 0 ? 1 : 0][4 * i + k]);
        den += PetscSqr(H[2][4 * i + k]);
      }
      e[i] = PetscSqrtReal(num / den);
    }
    PetscCall(PetscSortReal(n, e));
    med[c] = n ? e[n / 2] : 0;
    PetscCall(PetscFree(e));
  }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD,
                        "hessian agreement (rank 0's samples, at the truth, noisy data): median rel diff soa-fd %.1e, soa-gn %.1e\n",
                        (double)med[0], (double)med[1]));
  for (PetscInt k = 0; k < 3; k++) PetscCall(PetscFree(H[k]));
  PetscCall(PetscFree(idx));
  PetscCall(InvMAPDestroy(&map));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  InvModel model;
  InvPrior prior;
  InvNoise noise;
  InvBatchTS bts;
  PetscInt N = 256, nt, n, nsim, off, starts = 4, grid[2] = {61, 81}, two = 2, *st;
  PetscReal *t, *theta, *u, *d, *nz;
  PetscBool check = PETSC_FALSE, single = PETSC_TRUE, multi = PETSC_TRUE, hess = PETSC_FALSE;
  PetscMPIInt rank, size;
  PetscInt64 first, b0;
  char val[32];

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(InvInitializePackage());
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-bench_n", &N, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-map_starts", &starts, NULL));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-bench_check", &check, NULL));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-bench_single", &single, NULL));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-bench_multi", &multi, NULL));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-bench_hessian", &hess, NULL));
  PetscCall(PetscOptionsGetIntArray(NULL, NULL, "-bench_grid", grid, &two, NULL));
  PetscCall(InvModelCreate("fhn", &model));
  PetscCall(InvPriorCreate(model, &prior));
  PetscCall(InvNoiseCreate(&noise));
  PetscCall(InvObservationTimesFromOptions(&nt, &t));
  PetscCall(InvNoiseSetObservationTimes(noise, PETSC_COMM_WORLD, nt, t));
  {
    PetscInt part[2] = {rank, size}, np2 = 2;
    PetscCall(PetscOptionsGetIntArray(NULL, NULL, "-bench_part", part, &np2, NULL));
    PetscCheck(part[1] >= 1 && part[0] >= 0 && part[0] < part[1], PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE,
               "-bench_part p,q needs 0 <= p < q, got %" PetscInt_FMT ",%" PetscInt_FMT, part[0], part[1]);
    PetscCheck(size == 1 || (part[0] == rank && part[1] == size), PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG,
               "-bench_part is for a single process (it times one rank's share)");
    first = (PetscInt64)N * part[0] / part[1];
    n = (PetscInt)((PetscInt64)N * (part[0] + 1) / part[1] - first);
  }
  /* The data: simulate's batches of BENCH_SIM_BATCH consecutive global samples, the same whatever part this process
     solves (a batch shares its adaptive step, so batches cut at the part's bounds would give 2 ranks slightly other
     data, hence other MAP paths and evaluation counts, than 1 rank): the batches that overlap the part are simulated. */
  b0 = (first / BENCH_SIM_BATCH) * BENCH_SIM_BATCH;
  nsim = (PetscInt)(PetscMin((PetscInt64)N, ((first + n + BENCH_SIM_BATCH - 1) / BENCH_SIM_BATCH) * BENCH_SIM_BATCH) - b0);
  if (n == 0) nsim = 0;
  PetscCall(PetscMalloc1(PetscMax(nsim, 1) * 2, &theta));
  PetscCall(PetscMalloc1(PetscMax(nsim, 1) * nt, &u));
  PetscCall(PetscMalloc1(PetscMax(n, 1) * nt, &d));
  PetscCall(PetscMalloc1(PetscMax(n, 1) * 2, &nz));
  PetscCall(PetscMalloc1(PetscMax(nsim, 1), &st));
  PetscCall(InvBatchTSCreate(model, BENCH_SIM_BATCH, NULL, &bts));
  PetscCall(InvBatchTSSetObservationTimes(bts, nt, t));
  PetscCall(InvBatchTSSetFromOptions(bts));
  for (PetscInt i = 0; i < nsim; i++) PetscCall(InvPriorSample(prior, 1, b0 + i, theta + 2 * i));
  for (PetscInt b = 0; b < nsim; b += BENCH_SIM_BATCH)
    PetscCall(InvBatchTSSolve(bts, PetscMin(BENCH_SIM_BATCH, nsim - b), theta + 2 * b, u + b * nt, st + b));
  off = (PetscInt)(first - b0);
  for (PetscInt i = 0; i < n; i++) {
    PetscCall(InvNoiseSampleParameters(noise, 1, first + i, &nz[2 * i], &nz[2 * i + 1]));
    PetscCall(InvNoiseApply(noise, 1, first + i, 0, nz[2 * i], nz[2 * i + 1], nt, u + (off + i) * nt, d + i * nt));
  }
  if (hess) {
    PetscCall(RunHessians(n, first, nt, t, d, nz, theta + 2 * off, N));
    single = multi = PETSC_FALSE;
  }
  if (single) {
    PetscCall(PetscOptionsSetValue(NULL, "-map_starts", "0"));
    PetscCall(PetscOptionsSetValue(NULL, "-map_start_mean", "1"));
    PetscCall(RunMode("single-start", n, first, nt, t, d, nz, check, grid, N));
  }
  if (multi) {
    PetscCall(PetscSNPrintf(val, sizeof(val), "%d", (int)starts));
    PetscCall(PetscOptionsSetValue(NULL, "-map_starts", val));
    PetscCall(PetscSNPrintf(val, sizeof(val), "multistart %d", (int)starts + 1));
    PetscCall(RunMode(val, n, first, nt, t, d, nz, check, grid, N));
  }
  PetscCall(InvBatchTSDestroy(&bts));
  PetscCall(PetscFree(theta));
  PetscCall(PetscFree(u));
  PetscCall(PetscFree(d));
  PetscCall(PetscFree(nz));
  PetscCall(PetscFree(st));
  PetscCall(PetscFree(t));
  PetscCall(InvNoiseDestroy(&noise));
  PetscCall(InvPriorDestroy(&prior));
  PetscCall(InvModelDestroy(&model));
  PetscCall(PetscFinalize());
  return 0;
}
