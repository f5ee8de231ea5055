/* The implicit paths of the batched TS on the stiff test model vdp_stiff (src/model/model_vdp.c):
   - forward: the stiff default (adaptive BDF2) and fully implicit ARKIMEX for a batch of members with different
     parameters against a tight-tolerance BDF4 reference, over a window that contains the first relaxation jump;
   - the MAP solver's derivatives with TSTHETA (cn, the stiff default, and beuler) at a fixed step: the adjoint
     gradient (InvBatchTSObjective) against central finite differences of J, the Gauss-Newton sensitivities
     (InvBatchTSSensitivities) against finite differences of the outputs y, and (when the integrator supports them)
     second-order Hessian products (cn) against finite differences of the adjoint gradient; a member's result inside a
     batch against the same member alone. */
#include <invmap/batchts.h>
#include <invmap/prior.h>

#define NT_FWD   50 /* observation times 0.2, 0.4, ..., 10: the first jump is at t = 6.8 */
#define NT_DER   25 /* 0.2, ..., 5: on the slow branch, where the outputs depend smoothly on the parameters */
#define DT_OBS   0.2
#define NB       6    /* members per batch */
#define NOISE_SD 0.05 /* data noise standard deviation of the misfit */

static const PetscReal thetas[NB][2] = {{1.0, 0.0}, {0.8, 0.1}, {1.2, -0.2}, {0.9, -0.05}, {1.1, 0.25}, {0.75, -0.25}};

static PetscErrorCode Forward(InvModel m, const char *prefix, PetscInt nt, const PetscReal t[], PetscReal y[])
{
  InvBatchTS bts;
  PetscInt st[NB];

  PetscFunctionBegin;
  PetscCall(InvBatchTSCreate(m, NB, prefix, &bts));
  PetscCall(InvBatchTSSetObservationTimes(bts, nt, t));
  PetscCall(InvBatchTSSetFromOptions(bts));
  PetscCall(InvBatchTSSolve(bts, NB, &thetas[0][0], y, st));
  for (PetscInt b = 0; b < NB; b++)
    PetscCheck(st[b] == INV_STATUS_OK, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: member %d failed", prefix, (int)b);
  PetscCall(InvBatchTSDestroy(&bts));
  PetscFunctionReturn(0);
}

static PetscReal MaxDiff(PetscInt n, const PetscReal a[], const PetscReal b[])
{
  PetscReal d = 0;
  for (PetscInt i = 0; i < n; i++) d = PetscMax(d, PetscAbsReal(a[i] - b[i]));
  return d;
}

static PetscErrorCode CheckForward(InvModel m)
{
  PetscReal t[NT_FWD], yref[NB * NT_FWD], y[NB * NT_FWD], e;

  PetscFunctionBegin;
  for (PetscInt k = 0; k < NT_FWD; k++) t[k] = DT_OBS * (k + 1);
  PetscCall(PetscOptionsSetValue(NULL, "-ref_ts_type", "bdf"));
  PetscCall(PetscOptionsSetValue(NULL, "-ref_ts_bdf_order", "4"));
  PetscCall(PetscOptionsSetValue(NULL, "-ref_ts_rtol", "1e-10"));
  PetscCall(PetscOptionsSetValue(NULL, "-ref_ts_atol", "1e-10"));
  PetscCall(Forward(m, "ref_", NT_FWD, t, yref));
  /* The stiff default (BDF2, rtol = atol = 1e-6): measured max error 2.4e-4 (3.4e-3 for other batches of prior
     draws), at the observations after the jump, whose time BDF2 places to about 1e-3 (local error control at 1e-6
     does not bound the global error of the jump's timing); 1e-2 leaves a margin without hiding a wrong method (a lost
     order or a wrong Jacobian: errors O(0.1-1) after the jump). */
  PetscCall(Forward(m, "def_", NT_FWD, t, y));
  e = MaxDiff(NB * NT_FWD, y, yref);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "forward: default (bdf, rtol 1e-6) vs bdf4 1e-10: max |y - y_ref| = %.2e\n", (double)e));
  PetscCheck(e <= 1e-2, PETSC_COMM_SELF, PETSC_ERR_PLIB, "stiff default forward solve: error %g > 1e-2", (double)e);
  /* Tighter: BDF2 at 1e-8 (measured 8.8e-6): the jump's timing error shrinks with the tolerance; bound 1e-4. */
  PetscCall(PetscOptionsSetValue(NULL, "-tight_ts_rtol", "1e-8"));
  PetscCall(PetscOptionsSetValue(NULL, "-tight_ts_atol", "1e-8"));
  PetscCall(PetscOptionsSetValue(NULL, "-tight_ts_max_steps", "1000000")); /* BDF2 needs ~1e4 steps per jump at 1e-8 */
  PetscCall(Forward(m, "tight_", NT_FWD, t, y));
  e = MaxDiff(NB * NT_FWD, y, yref);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "forward: bdf 1e-8 vs bdf4 1e-10: max |y - y_ref| = %.2e\n", (double)e));
  PetscCheck(e <= 1e-4, PETSC_COMM_SELF, PETSC_ERR_PLIB, "bdf at 1e-8: error %g > 1e-4", (double)e);
  /* ARKIMEX (run fully implicit, batchts_implicit.c) at 1e-8, a different method family: measured 3.2e-7; bound 1e-3 as
     for the default above (the jump's timing), so that only a broken path fails */
  PetscCall(PetscOptionsSetValue(NULL, "-ark_ts_type", "arkimex"));
  PetscCall(PetscOptionsSetValue(NULL, "-ark_ts_rtol", "1e-8"));
  PetscCall(PetscOptionsSetValue(NULL, "-ark_ts_atol", "1e-8"));
  PetscCall(Forward(m, "ark_", NT_FWD, t, y));
  e = MaxDiff(NB * NT_FWD, y, yref);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "forward: arkimex 1e-8 vs bdf4 1e-10: max |y - y_ref| = %.2e\n", (double)e));
  PetscCheck(e <= 1e-3, PETSC_COMM_SELF, PETSC_ERR_PLIB, "arkimex at 1e-8: error %g > 1e-3", (double)e);
  PetscFunctionReturn(0);
}

typedef struct {
  InvBatchTS m;
  PetscReal d[NB][NT_DER];
  const PetscReal *dp[NB];
  PetscReal rho[NB], sd[NB];
} Problem;

/* Data: the outputs at theta_b shifted by a fixed pattern (a nonzero residual, so the Hessian is not Gauss-Newton's) */
static PetscErrorCode ProblemCreate(InvModel model, const char *prefix, Problem *p)
{
  PetscReal f[NB];
  PetscInt st[NB];
  const PetscReal *y;

  PetscFunctionBegin;
  PetscReal t[NT_DER];
  for (PetscInt k = 0; k < NT_DER; k++) t[k] = DT_OBS * (k + 1);
  PetscCall(InvBatchTSCreateAdjoint(model, NB, prefix, &p->m));
  PetscCall(InvBatchTSSetObservationTimes(p->m, NT_DER, t));
  PetscCall(InvBatchTSSetFromOptions(p->m));
  for (PetscInt b = 0; b < NB; b++) {
    p->dp[b] = p->d[b];
    p->rho[b] = 0.0;
    p->sd[b] = NOISE_SD;
    for (PetscInt k = 0; k < NT_DER; k++) p->d[b][k] = 0;
  }
  PetscCall(InvBatchTSObjective(p->m, NULL, NB, &thetas[0][0], p->dp, p->rho, p->sd, f, NULL, st));
  PetscCall(InvBatchTSGetObservations(p->m, &y));
  for (PetscInt b = 0; b < NB; b++)
    for (PetscInt k = 0; k < NT_DER; k++) p->d[b][k] = y[b * NT_DER + k] + NOISE_SD * PetscSinReal(1.0 + 3.0 * k + b);
  PetscFunctionReturn(0);
}

/* Central differences with Richardson extrapolation (steps h and h/2): O(h^4) truncation */
#define FD_H 1e-5

static PetscErrorCode CheckDerivatives(InvModel model, const char *label, const char *prefix, PetscBool soa)
{
  Problem p;
  PetscReal f[NB], g[2 * NB], th[2 * NB], gfd[2 * NB], fp[4][NB], gp[4][2 * NB], worst = 0, worstS = 0, worstH = 0;
  PetscReal y[NB * NT_DER], S[NB * NT_DER * 2], yp[4][NB * NT_DER], Hv[2 * NB], Hfd[2 * NB], v[2 * NB];
  PetscInt st[NB];
  PetscBool ok[NB];
  const PetscReal s[4] = {1, -1, 0.5, -0.5};

  PetscFunctionBegin;
  PetscCall(ProblemCreate(model, prefix, &p));
  PetscCall(InvBatchTSObjective(p.m, NULL, NB, &thetas[0][0], p.dp, p.rho, p.sd, f, g, st));
  PetscCall(InvBatchTSSensitivities(p.m, NB, &thetas[0][0], y, S, ok));
  for (PetscInt b = 0; b < NB; b++) PetscCheck(!st[b] && ok[b], PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: solve failed", label);
  if (soa) {
    for (PetscInt i = 0; i < 2 * NB; i++) v[i] = PetscCosReal(0.7 * i); /* a different direction per member */
    PetscCall(InvBatchTSSetUpSecondOrder(p.m, NB));
    PetscCall(InvBatchTSHessianProduct(p.m, NB, &thetas[0][0], v, p.dp, p.rho, p.sd, Hv, st));
    for (PetscInt b = 0; b < NB; b++) PetscCheck(!st[b], PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: second-order solve failed", label);
  }
  for (PetscInt j = 0; j < 2; j++) {
    for (PetscInt q = 0; q < 4; q++) {
      const PetscReal *ys;
      for (PetscInt b = 0; b < NB; b++) {
        th[2 * b] = thetas[b][0];
        th[2 * b + 1] = thetas[b][1];
        th[2 * b + j] += s[q] * FD_H;
      }
      PetscCall(InvBatchTSObjective(p.m, NULL, NB, th, p.dp, p.rho, p.sd, fp[q], gp[q], st));
      PetscCall(InvBatchTSGetObservations(p.m, &ys));
      PetscCall(PetscArraycpy(yp[q], ys, NB * NT_DER));
    }
    for (PetscInt b = 0; b < NB; b++) {
      gfd[2 * b + j] = (4 * (fp[2][b] - fp[3][b]) / FD_H - (fp[0][b] - fp[1][b]) / (2 * FD_H)) / 3;
      for (PetscInt k = 0; k < NT_DER; k++) {
        const PetscInt i = b * NT_DER + k;
        const PetscReal sfd = (4 * (yp[2][i] - yp[3][i]) / FD_H - (yp[0][i] - yp[1][i]) / (2 * FD_H)) / 3;
        worstS = PetscMax(worstS, PetscAbsReal(S[i * 2 + j] - sfd) / (PetscAbsReal(sfd) + 1e-3));
      }
    }
    if (soa) /* H v by differences of the adjoint gradient along each member's direction v_b (only j == 0 pass) */
      if (j == 0) {
        PetscReal ga[4][2 * NB], fa[NB];
        for (PetscInt q = 0; q < 4; q++) {
          for (PetscInt i = 0; i < 2 * NB; i++) th[i] = (&thetas[0][0])[i] + s[q] * FD_H * v[i];
          PetscCall(InvBatchTSObjective(p.m, NULL, NB, th, p.dp, p.rho, p.sd, fa, ga[q], st));
        }
        for (PetscInt i = 0; i < 2 * NB; i++) Hfd[i] = (4 * (ga[2][i] - ga[3][i]) / FD_H - (ga[0][i] - ga[1][i]) / (2 * FD_H)) / 3;
      }
  }
  for (PetscInt b = 0; b < NB; b++) {
    const PetscReal n = PetscSqrtReal(PetscSqr(gfd[2 * b]) + PetscSqr(gfd[2 * b + 1]));
    const PetscReal e = PetscSqrtReal(PetscSqr(g[2 * b] - gfd[2 * b]) + PetscSqr(g[2 * b + 1] - gfd[2 * b + 1])) / n;
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s member %d: J %.6e adjoint (%.8e, %.8e) fd (%.8e, %.8e) rel err %.2e\n", label, (int)b,
                          (double)f[b], (double)g[2 * b], (double)g[2 * b + 1], (double)gfd[2 * b], (double)gfd[2 * b + 1], (double)e));
    worst = PetscMax(worst, e);
    if (soa) {
      const PetscReal nh = PetscSqrtReal(PetscSqr(Hfd[2 * b]) + PetscSqr(Hfd[2 * b + 1]));
      worstH = PetscMax(worstH, PetscSqrtReal(PetscSqr(Hv[2 * b] - Hfd[2 * b]) + PetscSqr(Hv[2 * b + 1] - Hfd[2 * b + 1])) / nh);
    }
  }
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s: worst rel err: gradient %.2e, sensitivities %.2e%s", label, (double)worst, (double)worstS,
                        soa ? "" : "\n"));
  if (soa) PetscCall(PetscPrintf(PETSC_COMM_SELF, ", Hessian products %.2e\n", (double)worstH));
  /* The adjoint, sensitivities and second-order products are exact derivatives of the fixed-step discrete solution up to
     the Newton tolerance (snes rtol 1e-12 below); the differences' truncation is O(h^4) = 1e-20 relative to fifth
     derivatives and their rounding about 1e-16 |J| / h = 1e-11 |J| (1e-9 relative for y, whose entries reach 1e-3
     where S does). Measured: gradient 2e-9, sensitivities 1e-8; bounds 1e-6 (1e-5 for Hessian products: one more
     difference of a computed gradient). */
  PetscCheck(worst <= 1e-6, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: adjoint gradient vs finite differences: %g > 1e-6", label, (double)worst);
  PetscCheck(worstS <= 1e-6, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: sensitivities vs finite differences: %g > 1e-6", label, (double)worstS);
  PetscCheck(worstH <= 1e-5, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: Hessian products vs finite differences: %g > 1e-5", label,
             (double)worstH);
  { /* member 3 alone: the same fixed steps; only the Newton iterations (their stopping test is over the batch) differ */
    PetscReal f1, g1[2];
    PetscInt st1;
    PetscCall(InvBatchTSObjective(p.m, NULL, 1, &thetas[3][0], &p.dp[3], &p.rho[3], &p.sd[3], &f1, g1, &st1));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s: member 3 alone vs in the batch: J %.2e, gradient %.2e relative\n", label,
                          (double)(PetscAbsReal(f1 - f[3]) / f[3]), (double)(PetscAbsReal(g1[0] - g[6]) / PetscAbsReal(g[6]))));
    /* Newton to rtol 1e-12 of a residual whose norm is at most the batch's: the states agree to ~1e-12 relative */
    PetscCheck(PetscAbsReal(f1 - f[3]) <= 1e-8 * f[3] && PetscAbsReal(g1[0] - g[6]) <= 1e-8 * PetscAbsReal(g[6]) &&
                   PetscAbsReal(g1[1] - g[7]) <= 1e-8 * PetscAbsReal(g[7]),
               PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: member alone differs from the member in its batch", label);
  }
  PetscCall(InvBatchTSDestroy(&p.m));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  InvModel model;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(InvModelCreate("vdp_stiff", &model));
  PetscCall(InvModelSetFromOptions(model));
  PetscCheck(model->stiff, PETSC_COMM_SELF, PETSC_ERR_PLIB, "vdp_stiff must be marked stiff");
  PetscCall(CheckForward(model));
  /* the adjoint solver's stiff default is cn at dt 0.05; Newton converged tightly so that the derivatives are exact */
  PetscCall(PetscOptionsSetValue(NULL, "-cn_snes_rtol", "1e-12"));
  PetscCall(PetscOptionsSetValue(NULL, "-cn_snes_atol", "1e-12"));
  PetscCall(CheckDerivatives(model, "cn dt=0.05", "cn_", PETSC_TRUE));
  PetscCall(PetscOptionsSetValue(NULL, "-be_ts_type", "beuler"));
  PetscCall(PetscOptionsSetValue(NULL, "-be_ts_dt", "0.02"));
  PetscCall(PetscOptionsSetValue(NULL, "-be_snes_rtol", "1e-12"));
  PetscCall(PetscOptionsSetValue(NULL, "-be_snes_atol", "1e-12"));
  /* no second order: PETSc 3.18's is wrong for the one-stage theta form (InvBatchTSSetFromOptions refuses it) */
  PetscCall(CheckDerivatives(model, "beuler dt=0.02", "be_", PETSC_FALSE));
  PetscCall(InvModelDestroy(&model));
  PetscCall(PetscFinalize());
  return 0;
}
