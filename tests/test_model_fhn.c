/* Model interface: the FHN Jacobians and second-derivative products against central finite
   differences of the right-hand side, at random states and prior parameters, batched. */
#include <invmap/model.h>
#include <invmap/rng.h>
#include <math.h>

#define NB 7

static PetscReal RelErr(PetscReal a, PetscReal b)
{
  return PetscAbsReal(a - b) / PetscMax(1e-8, PetscMax(PetscAbsReal(a), PetscAbsReal(b)));
}

int main(int argc, char **argv)
{
  InvModel m;
  InvRng r;
  PetscScalar x[2 * NB], xp[2 * NB], xm[2 * NB], fp[2 * NB], fm[2 * NB], J[4 * NB], Jp[4 * NB], Jpp[4 * NB], Jmm[4 * NB];
  PetscReal th[2 * NB], thp[2 * NB], thm[2 * NB], h = 1e-6, worst = 0;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(InvModelCreate("fhn", &m));
  PetscCall(InvModelSetFromOptions(m));
  InvRngInit(&r, 3, INV_RNG_PRIOR, 0, 0);
  for (int i = 0; i < 2 * NB; i++) {
    x[i] = 4 * InvRngUniform(&r) - 2;
    th[i] = InvRngUniform(&r) * 1.2 - 0.2;
  }
  PetscCall(m->ops.jacobian(m, 0, NB, x, th, J));
  PetscCall(m->ops.jacobianp(m, 0, NB, x, th, Jp));
  for (int j = 0; j < 2; j++) { /* d f / d x_j and d f / d theta_j */
    for (int i = 0; i < 2 * NB; i++) {
      xp[i] = x[i] + ((i % 2) == j ? h : 0);
      xm[i] = x[i] - ((i % 2) == j ? h : 0);
      thp[i] = th[i] + ((i % 2) == j ? h : 0);
      thm[i] = th[i] - ((i % 2) == j ? h : 0);
    }
    PetscCall(m->ops.rhs(m, 0, NB, xp, th, fp));
    PetscCall(m->ops.rhs(m, 0, NB, xm, th, fm));
    for (int b = 0; b < NB; b++)
      for (int i = 0; i < 2; i++) worst = PetscMax(worst, RelErr(J[4 * b + 2 * i + j], (fp[2 * b + i] - fm[2 * b + i]) / (2 * h)));
    PetscCall(m->ops.rhs(m, 0, NB, x, thp, fp));
    PetscCall(m->ops.rhs(m, 0, NB, x, thm, fm));
    for (int b = 0; b < NB; b++)
      for (int i = 0; i < 2; i++) worst = PetscMax(worst, RelErr(Jp[4 * b + 2 * i + j], (fp[2 * b + i] - fm[2 * b + i]) / (2 * h)));
  }
  PetscCheck(worst < 1e-6, PETSC_COMM_SELF, PETSC_ERR_PLIB, "Jacobian vs finite differences: relative error %g", (double)worst);

  /* Second-order products: lambda^T (d/dx_j of J) v etc. against differences of J and Jp. */
  {
    PetscScalar lam[2 * NB], v[2 * NB], out[2 * NB], ref[2 * NB];
    PetscReal w2 = 0;
    for (int i = 0; i < 2 * NB; i++) {
      lam[i] = InvRngNormal(&r);
      v[i] = InvRngNormal(&r);
    }
    /* hessian_xx: out_j = sum_ik lam_i d2f_i/dx_j dx_k v_k = d/dx_j (lam^T J v) */
    for (int j = 0; j < 2; j++) {
      for (int i = 0; i < 2 * NB; i++) {
        xp[i] = x[i] + ((i % 2) == j ? h : 0);
        xm[i] = x[i] - ((i % 2) == j ? h : 0);
      }
      PetscCall(m->ops.jacobian(m, 0, NB, xp, th, Jpp));
      PetscCall(m->ops.jacobian(m, 0, NB, xm, th, Jmm));
      for (int b = 0; b < NB; b++) {
        PetscReal s = 0;
        for (int i = 0; i < 2; i++)
          for (int k = 0; k < 2; k++) s += lam[2 * b + i] * (Jpp[4 * b + 2 * i + k] - Jmm[4 * b + 2 * i + k]) / (2 * h) * v[2 * b + k];
        ref[2 * b + j] = s;
      }
    }
    PetscCall(PetscArrayzero(out, 2 * NB));
    PetscCall(m->ops.hessian_xx(m, 0, NB, x, th, lam, v, out));
    for (int i = 0; i < 2 * NB; i++) w2 = PetscMax(w2, PetscAbsReal(out[i] - ref[i]));
    /* hessian_xp: out_j (state) = d/dx_j (lam^T Jp v); hessian_px: out_j (param) = d/dtheta_j (lam^T J v) */
    for (int j = 0; j < 2; j++) {
      for (int i = 0; i < 2 * NB; i++) {
        xp[i] = x[i] + ((i % 2) == j ? h : 0);
        xm[i] = x[i] - ((i % 2) == j ? h : 0);
        thp[i] = th[i] + ((i % 2) == j ? h : 0);
        thm[i] = th[i] - ((i % 2) == j ? h : 0);
      }
      PetscCall(m->ops.jacobianp(m, 0, NB, xp, th, Jpp));
      PetscCall(m->ops.jacobianp(m, 0, NB, xm, th, Jmm));
      for (int b = 0; b < NB; b++) {
        PetscReal s = 0;
        for (int i = 0; i < 2; i++)
          for (int k = 0; k < 2; k++) s += lam[2 * b + i] * (Jpp[4 * b + 2 * i + k] - Jmm[4 * b + 2 * i + k]) / (2 * h) * v[2 * b + k];
        ref[2 * b + j] = s;
      }
      PetscCall(m->ops.jacobian(m, 0, NB, x, thp, Jpp));
      PetscCall(m->ops.jacobian(m, 0, NB, x, thm, Jmm));
      for (int b = 0; b < NB; b++) {
        PetscReal s = 0;
        for (int i = 0; i < 2; i++)
          for (int k = 0; k < 2; k++) s += lam[2 * b + i] * (Jpp[4 * b + 2 * i + k] - Jmm[4 * b + 2 * i + k]) / (2 * h) * v[2 * b + k];
        out[2 * b + j] = s; /* reuse out as the px reference */
      }
    }
    {
      PetscScalar hxp[2 * NB], hpx[2 * NB];
      PetscCall(PetscArrayzero(hxp, 2 * NB));
      PetscCall(PetscArrayzero(hpx, 2 * NB));
      PetscCall(m->ops.hessian_xp(m, 0, NB, x, th, lam, v, hxp));
      PetscCall(m->ops.hessian_px(m, 0, NB, x, th, lam, v, hpx));
      for (int i = 0; i < 2 * NB; i++) w2 = PetscMax(w2, PetscMax(PetscAbsReal(hxp[i] - ref[i]), PetscAbsReal(hpx[i] - out[i])));
    }
    PetscCheck(w2 < 1e-6, PETSC_COMM_SELF, PETSC_ERR_PLIB, "Hessian products vs finite differences: error %g", (double)w2);
    PetscCall(
        PetscPrintf(PETSC_COMM_WORLD, "test_model_fhn: Jacobian rel. error %.2e, Hessian-product error %.2e\n", (double)worst, (double)w2));
  }
  PetscCall(InvModelDestroy(&m));
  PetscCall(PetscFinalize());
  return 0;
}
