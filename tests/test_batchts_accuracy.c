/* Accuracy of the batched TS at its default settings (those of `invmap simulate`) against an
   independent fixed-step RK4 reference at a tiny step, for a spread of prior samples (a grid over
   the prior's support plus random draws): max |u - u_ref| <= 1e-5 at the observation times.
   Also: a diverging member is flagged without spoiling the other members of its batch.
   With -member the same checks run through InvMemberRK (one adaptive step per member, the default of
   `invmap simulate`) at its default tolerances. */
#include <invmap/batchts.h>
#include <invmap/prior.h>
#include <invmap/ensemble.h>
#include <math.h>

/* Classical RK4 for FHN with `sub` steps per observation interval (written here, independent of PETSc). */
static void ReferenceFHN(double g, double z, const double th[2], int nt, double dt, int sub, double *u)
{
  double x = 0, y = 0, h = dt / sub;
#define FU(a, b) (g * ((a) - (a) * (a) * (a) / 3.0 + (b) + z))
#define FV(a, b) (-((a)-th[0] + th[1] * (b)) / g)
  u[0] = 0;
  for (int k = 1; k < nt; k++) {
    for (int s = 0; s < sub; s++) {
      double k1u = FU(x, y), k1v = FV(x, y);
      double k2u = FU(x + 0.5 * h * k1u, y + 0.5 * h * k1v), k2v = FV(x + 0.5 * h * k1u, y + 0.5 * h * k1v);
      double k3u = FU(x + 0.5 * h * k2u, y + 0.5 * h * k2v), k3v = FV(x + 0.5 * h * k2u, y + 0.5 * h * k2v);
      double k4u = FU(x + h * k3u, y + h * k3v), k4v = FV(x + h * k3u, y + h * k3v);
      x += h / 6 * (k1u + 2 * k2u + 2 * k3u + k4u);
      y += h / 6 * (k1v + 2 * k2v + 2 * k3v + k4v);
    }
    u[k] = x;
  }
#undef FU
#undef FV
}

static InvMemberRK member; /* -member: solve with InvMemberRK instead of the InvBatchTS */

int main(int argc, char **argv)
{
  const PetscInt ngrid = 5, nrand = 15, ns = ngrid * ngrid + nrand, B = 8;
  InvModel m;
  InvPrior prior;
  InvBatchTS bts;
  PetscInt nt, status[8];
  PetscReal *t, *theta, *u, *ref, worst = 0, g, z;
  PetscMPIInt rank, size;
  PetscBool use_member = PETSC_FALSE;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-member", &use_member, NULL));
  if (use_member) PetscCall(InvMemberRKSetDefaultTolerances(NULL));
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(InvModelCreate("fhn", &m));
  PetscCall(InvModelSetFromOptions(m));
  PetscCall(InvModelGetConstant(m, "gamma", &g));
  PetscCall(InvModelGetConstant(m, "zeta", &z));
  PetscCall(InvPriorCreate(m, &prior));
  PetscCall(InvObservationTimesFromOptions(&nt, &t));
  PetscCall(InvBatchTSCreate(m, B, NULL, &bts));
  PetscCall(InvBatchTSSetObservationTimes(bts, nt, t));
  PetscCall(InvBatchTSSetFromOptions(bts));
  if (use_member) {
    PetscCall(InvMemberRKCreate(bts, m, B, nt, t, &member));
    PetscCheck(member, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "InvMemberRK refused the default integrator");
  }
  PetscCall(PetscMalloc3(2 * ns, &theta, ns * nt, &u, nt, &ref));
  for (PetscInt i = 0; i < ngrid * ngrid; i++) {
    theta[2 * i] = prior->lo[0] + (prior->hi[0] - prior->lo[0]) * (i % ngrid) / (ngrid - 1);
    theta[2 * i + 1] = prior->lo[1] + (prior->hi[1] - prior->lo[1]) * (i / ngrid) / (ngrid - 1);
  }
  for (PetscInt i = 0; i < nrand; i++) PetscCall(InvPriorSample(prior, 11, i, theta + 2 * (ngrid * ngrid + i)));
  /* Batches of B consecutive samples, dealt round-robin over ranks. */
  for (PetscInt b0 = B * rank; b0 < ns; b0 += B * size) {
    PetscInt nb = PetscMin(B, ns - b0);
    PetscCall(InvForwardSolve(bts, member, nb, theta + 2 * b0, u + b0 * nt, status));
    for (PetscInt i = 0; i < nb; i++) {
      PetscCheck(status[i] == INV_STATUS_OK, PETSC_COMM_SELF, PETSC_ERR_PLIB, "sample %" PetscInt_FMT " failed", b0 + i);
      ReferenceFHN(g, z, theta + 2 * (b0 + i), (int)nt, (double)(t[1] - t[0]), 1000, ref);
      for (PetscInt k = 0; k < nt; k++) worst = PetscMax(worst, PetscAbsReal(u[(b0 + i) * nt + k] - ref[k]));
    }
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &worst, 1, MPIU_REAL, MPI_MAX, PETSC_COMM_WORLD));
  {
    char desc[256];
    PetscCall(InvBatchTSDescribe(bts, desc, sizeof(desc)));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "test_batchts_accuracy: %" PetscInt_FMT " samples, max |u - u_ref| = %.3e (%s%s)\n", ns,
                          (double)worst, desc, member ? ", one step per member" : ""));
  }
  PetscCheck(worst <= 1e-5, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "max error %g exceeds 1e-5", (double)worst);

  /* The reference itself: halving its step changes it by far less than the tolerance. */
  if (rank == 0) {
    PetscReal *ref2, d = 0;
    PetscCall(PetscMalloc1(nt, &ref2));
    ReferenceFHN(g, z, theta, (int)nt, (double)(t[1] - t[0]), 1000, ref);
    ReferenceFHN(g, z, theta, (int)nt, (double)(t[1] - t[0]), 2000, ref2);
    for (PetscInt k = 0; k < nt; k++) d = PetscMax(d, PetscAbsReal(ref[k] - ref2[k]));
    PetscCheck(d < 1e-9, PETSC_COMM_SELF, PETSC_ERR_PLIB, "reference not converged: %g", (double)d);
    PetscCall(PetscFree(ref2));
  }

  /* A diverging member (theta1 = -60 makes v grow like exp(20 t)) is flagged; the others stay accurate. */
  {
    PetscReal th[2 * 4] = {0.4, 0.4, 0.5, -60.0, 0.9, 1.0, NAN, 0.3};
    PetscReal w2 = 0;
    PetscCall(InvForwardSolve(bts, member, 4, th, u, status));
    PetscCheck(status[0] == INV_STATUS_OK && status[2] == INV_STATUS_OK, PETSC_COMM_SELF, PETSC_ERR_PLIB,
               "good members flagged: %" PetscInt_FMT " %" PetscInt_FMT, status[0], status[2]);
    PetscCheck(status[1] == INV_STATUS_NONFINITE || status[1] == INV_STATUS_DIVERGED || status[1] == INV_STATUS_MAXSTEPS, PETSC_COMM_SELF,
               PETSC_ERR_PLIB, "diverging member not flagged (status %" PetscInt_FMT ")", status[1]);
    PetscCheck(status[3] == INV_STATUS_BADPARAM, PETSC_COMM_SELF, PETSC_ERR_PLIB, "NaN parameter not flagged");
    PetscCheck(PetscIsInfOrNanReal(u[nt + 5]), PETSC_COMM_SELF, PETSC_ERR_PLIB, "failed member's series not NaN");
    for (PetscInt i = 0; i < 3; i += 2) {
      ReferenceFHN(g, z, th + 2 * i, (int)nt, (double)(t[1] - t[0]), 1000, ref);
      for (PetscInt k = 0; k < nt; k++) w2 = PetscMax(w2, PetscAbsReal(u[i * nt + k] - ref[k]));
    }
    PetscCheck(w2 <= 1e-5, PETSC_COMM_SELF, PETSC_ERR_PLIB, "members beside a failed one: error %g", (double)w2);
  }
  PetscCall(PetscFree3(theta, u, ref));
  PetscCall(PetscFree(t));
  PetscCall(InvMemberRKDestroy(&member));
  PetscCall(InvBatchTSDestroy(&bts));
  PetscCall(InvPriorDestroy(&prior));
  PetscCall(InvModelDestroy(&m));
  PetscCall(PetscFinalize());
  return 0;
}
