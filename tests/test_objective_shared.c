/* One J for map and evaluate: on the same inputs (parameters, data, noise parameters, model outputs) the MAP
   objective (InvMAPObjectiveGradient) and the objective evaluate and its landscape compute from re-simulated
   outputs (InvObjectiveFromOutputs, with the sd of InvNoiseSpecSD) are the same number bitwise. Both are one
   function (include/invmap/objective.h); the outputs are those of the adjoint solver MAP integrates with
   (InvBatchTSObjective at batch size 1, MAP's smallest level, which a single problem uses), read back with
   InvBatchTSGetObservations. Also checked: evaluate's forward solver (InvBatchTSCreate) configured with MAP's
   integrator (fixed-step RK4, dt 0.05) gives the same outputs and so the same J, and the gradient of MAP equals
   that of InvBatchTSObjective. Exact equality is what the code guarantees: the same operations on the same values. */
#include "test_map_common.h"
#include <invmap/objective.h>

int main(int argc, char **argv)
{
  const PetscInt n = 6, nt = 101, np = 2;
  InvMAP map;
  InvModel model;
  InvPrior prior;
  InvBatchTS adj, fwd;
  PetscReal *t, *theta, *d, *noise, obs_dt, work[3 * 101], yf[101];
  const PetscReal *y;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(PetscOptionsSetValue(NULL, "-map_batch", "4"));
  PetscCall(PetscOptionsSetValue(NULL, "-same_ts_type", "rk"));
  PetscCall(PetscOptionsSetValue(NULL, "-same_ts_rk_type", "4"));
  PetscCall(PetscOptionsSetValue(NULL, "-same_ts_adapt_type", "none"));
  PetscCall(PetscOptionsSetValue(NULL, "-same_ts_dt", "0.05"));
  PetscCall(TestMAPCreate(PETSC_COMM_SELF, n, nt, 5, &map, &t, &theta, &d, &noise));
  PetscCall(InvMAPGetModel(map, &model));
  PetscCall(InvMAPGetPrior(map, &prior));
  for (PetscInt i = 0; i < n; i++) noise[2 * i] = 0.5 + 0.05 * i, noise[2 * i + 1] = 0.05 + 0.01 * i; /* per-sample noise */
  PetscCall(InvMAPSetProblems(map, n, nt, t, d, noise, NULL, 0));
  PetscCall(InvNoiseObservationSpacing(PETSC_COMM_SELF, INV_NOISE_SCALE_DT, nt, t, &obs_dt));
  PetscCall(InvBatchTSCreateAdjoint(model, 1, "map_", &adj));
  PetscCall(InvBatchTSSetObservationTimes(adj, nt, t));
  PetscCall(InvBatchTSSetFromOptions(adj));
  PetscCall(InvBatchTSCreate(model, 1, "same_", &fwd));
  PetscCall(InvBatchTSSetObservationTimes(fwd, nt, t));
  PetscCall(InvBatchTSSetFromOptions(fwd));
  for (PetscInt i = 0; i < n; i++) {
    PetscReal th[2], fmap, gmap[2], fts, gts[2], feval, ffwd;
    const PetscReal *di = d + i * nt, rho = noise[2 * i], sd = InvNoiseMarginalSD(INV_NOISE_SCALE_DT, noise[2 * i + 1], obs_dt);
    PetscInt st, st2, st3;
    for (PetscInt j = 0; j < np; j++) th[j] = theta[i * np + j] * (1 + 0.05 * (j ? -1 : 1)); /* off the truth */
    PetscCall(InvMAPObjectiveGradient(map, 1, &i, th, &fmap, gmap, &st));
    PetscCall(InvBatchTSObjective(adj, prior, 1, th, &di, &rho, &sd, &fts, gts, &st2));
    PetscCall(InvBatchTSGetObservations(adj, &y));
    InvObjectiveFromOutputs(prior, 1, nt, model->nobs, th, &di, y, &rho, &sd, work, &feval, NULL, NULL);
    PetscCall(InvBatchTSSolve(fwd, 1, th, yf, &st3));
    InvObjectiveFromOutputs(prior, 1, nt, model->nobs, th, &di, yf, &rho, &sd, work, &ffwd, NULL, NULL);
    PetscCheck(!st && !st2 && !st3, PETSC_COMM_SELF, PETSC_ERR_PLIB, "sample %d: a solve failed", (int)i);
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "sample %d: J map %.17g, adjoint solver %.17g, evaluate's J %.17g, evaluate's solver %.17g\n",
                          (int)i, (double)fmap, (double)fts, (double)feval, (double)ffwd));
    PetscCheck(fmap == fts && gmap[0] == gts[0] && gmap[1] == gts[1], PETSC_COMM_SELF, PETSC_ERR_PLIB,
               "sample %d: MAP's J or gradient differs from InvBatchTSObjective's", (int)i);
    PetscCheck(fmap == feval, PETSC_COMM_SELF, PETSC_ERR_PLIB, "sample %d: MAP's J %.17g differs from evaluate's %.17g on the same outputs",
               (int)i, (double)fmap, (double)feval);
    PetscCheck(fmap == ffwd, PETSC_COMM_SELF, PETSC_ERR_PLIB,
               "sample %d: MAP's J %.17g differs from evaluate's %.17g with the same integrator (fixed-step RK4)", (int)i, (double)fmap,
               (double)ffwd);
  }
  PetscCall(InvBatchTSDestroy(&adj));
  PetscCall(InvBatchTSDestroy(&fwd));
  PetscCall(TestMAPFreeProblems(&t, &theta, &d, &noise));
  PetscCall(InvMAPDestroy(&map));
  PetscCall(PetscFinalize());
  return 0;
}
