/* Shared set-up of the MAP tests: noisy FHN problems simulated with InvBatchTS at tight tolerance. */
#pragma once
#include <invmap/map.h>
#include <invmap/batchts.h>
#include <invmap/noise.h>

/* n problems with true parameters drawn from the prior (seed) and AR(1) noise (rho, sigma fixed);
   d (n x nt) and noise (n x 2) are allocated here. */
static PetscErrorCode TestMAPMakeProblems(InvModel model, InvPrior prior, PetscInt n, PetscInt nt, PetscReal dt, PetscInt64 seed,
                                          PetscReal rho, PetscReal sigma, PetscReal **t, PetscReal **theta, PetscReal **d,
                                          PetscReal **noise)
{
  InvBatchTS bts;
  InvNoise nz;
  PetscReal *u;
  PetscInt *st;
  const PetscInt np = model->nparam;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(nt, t));
  for (PetscInt k = 0; k < nt; k++) (*t)[k] = k * dt;
  PetscCall(PetscMalloc1(n * np, theta));
  PetscCall(PetscMalloc1(n * nt, d));
  PetscCall(PetscMalloc1(2 * n, noise));
  PetscCall(PetscMalloc1(n * nt, &u));
  PetscCall(PetscMalloc1(n, &st));
  for (PetscInt i = 0; i < n; i++) {
    PetscCall(InvPriorSample(prior, seed, i, *theta + i * np));
    (*noise)[2 * i] = rho;
    (*noise)[2 * i + 1] = sigma;
  }
  PetscCall(InvBatchTSCreate(model, 1, "test_sim_", &bts));
  PetscCall(InvBatchTSSetObservationTimes(bts, nt, *t));
  PetscCall(PetscOptionsSetValue(NULL, "-test_sim_ts_rtol", "1e-10"));
  PetscCall(PetscOptionsSetValue(NULL, "-test_sim_ts_atol", "1e-10"));
  PetscCall(InvBatchTSSetFromOptions(bts));
  for (PetscInt i = 0; i < n; i++) {
    PetscCall(InvBatchTSSolve(bts, 1, *theta + i * np, u + i * nt, &st[i]));
    PetscCheck(st[i] == 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "simulation failed");
  }
  PetscCall(InvNoiseCreate(&nz));
  PetscCall(InvNoiseSetFromOptions(nz)); /* -noise_scale */
  PetscCall(InvNoiseSetObservationTimes(nz, PETSC_COMM_SELF, nt, *t));
  for (PetscInt i = 0; i < n; i++) PetscCall(InvNoiseApply(nz, seed, i, 0, rho, sigma, nt, u + i * nt, *d + i * nt));
  PetscCall(InvNoiseDestroy(&nz));
  PetscCall(InvBatchTSDestroy(&bts));
  PetscCall(PetscFree(st));
  PetscCall(PetscFree(u));
  PetscFunctionReturn(0);
}

/* An InvMAP on comm configured from the options database, and n problems made as above with dt 0.2, rho 0.8,
   sigma 0.07 (the caller may alter d and noise, then calls InvMAPSetProblems) */
static PetscErrorCode TestMAPCreate(MPI_Comm comm, PetscInt n, PetscInt nt, PetscInt64 seed, InvMAP *map, PetscReal **t, PetscReal **theta,
                                    PetscReal **d, PetscReal **noise)
{
  InvModel model;
  InvPrior prior;

  PetscFunctionBegin;
  PetscCall(InvMAPCreate(comm, map));
  PetscCall(InvMAPSetFromOptions(*map));
  PetscCall(InvMAPGetModel(*map, &model));
  PetscCall(InvMAPGetPrior(*map, &prior));
  PetscCall(TestMAPMakeProblems(model, prior, n, nt, 0.2, seed, 0.8, 0.07, t, theta, d, noise));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestMAPFreeProblems(PetscReal **t, PetscReal **theta, PetscReal **d, PetscReal **noise)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(*t));
  PetscCall(PetscFree(*theta));
  PetscCall(PetscFree(*d));
  PetscCall(PetscFree(*noise));
  PetscFunctionReturn(0);
}

/* Relative 2-norm difference |a - b| / |b| of two arrays of length n */
static inline PetscReal RelDiff(PetscInt n, const PetscReal a[], const PetscReal b[])
{
  PetscReal e = 0, s = 0;
  for (PetscInt k = 0; k < n; k++) {
    e += PetscSqr(a[k] - b[k]);
    s += PetscSqr(b[k]);
  }
  return PetscSqrtReal(e / s);
}

/* Hessian of problem i at x (2 parameters): Richardson-extrapolated central differences of the adjoint gradient,
   (4 D(h/2) - D(h)) / 3 with h = hrel * prior sd, error O(h^4) */
static inline PetscErrorCode HessianRichardson(InvMAP map, InvPrior prior, PetscInt i, const PetscReal x[], PetscReal hrel, PetscReal H[])
{
  PetscFunctionBegin;
  for (PetscInt j = 0; j < 2; j++) {
    const PetscReal h = hrel * prior->sd[j], s[4] = {1, -1, 0.5, -0.5};
    PetscReal th[8], f[4], g[8];
    PetscInt idx[4] = {i, i, i, i}, st[4];
    for (PetscInt q = 0; q < 4; q++) {
      th[2 * q] = x[0];
      th[2 * q + 1] = x[1];
      th[2 * q + j] += s[q] * h;
    }
    PetscCall(InvMAPObjectiveGradient(map, 4, idx, th, f, g, st));
    for (PetscInt q = 0; q < 4; q++) PetscCheck(!st[q], PETSC_COMM_SELF, PETSC_ERR_PLIB, "forward solve failed");
    for (PetscInt l = 0; l < 2; l++) H[j * 2 + l] = (4 * (g[4 + l] - g[6 + l]) / h - (g[l] - g[2 + l]) / (2 * h)) / 3;
  }
  PetscFunctionReturn(0);
}
