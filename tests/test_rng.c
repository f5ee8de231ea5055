/* Counter-based RNG: known-answer test of Philox4x32-10, reproducibility by key, normal moments,
   truncated-normal support, and the prior's draws. */
#include <invmap/rng.h>
#include <invmap/prior.h>
#include <math.h>

int main(int argc, char **argv)
{
  InvRng r, r2;
  philox4x32_ctr_t c = {{0, 0, 0, 0}}, out;
  philox4x32_key_t k = {{0, 0}};
  double s = 0, s2 = 0, s4 = 0;
  const int n = 1000000;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  /* Random123's published known-answer vector for philox4x32-10 with zero counter and key. */
  out = philox4x32(c, k);
  PetscCheck(out.v[0] == 0x6627e8d5u && out.v[1] == 0xe169c58du && out.v[2] == 0xbc57ac4cu && out.v[3] == 0x9b00dbd8u, PETSC_COMM_SELF,
             PETSC_ERR_PLIB, "Philox KAT failed");

  /* Same key and position: same numbers; different sample index, purpose or epoch: different. */
  InvRngInit(&r, 42, INV_RNG_NOISE, 7, 0);
  InvRngInit(&r2, 42, INV_RNG_NOISE, 7, 0);
  for (int i = 0; i < 100; i++) PetscCheck(InvRngNormal(&r) == InvRngNormal(&r2), PETSC_COMM_SELF, PETSC_ERR_PLIB, "not reproducible");
  InvRngInit(&r, 42, INV_RNG_NOISE, 7, 0);
  InvRngInit(&r2, 42, INV_RNG_NOISE, 8, 0);
  PetscCheck(InvRngUniform(&r) != InvRngUniform(&r2), PETSC_COMM_SELF, PETSC_ERR_PLIB, "sample index ignored");
  InvRngInit(&r, 42, INV_RNG_NOISE, 7, 0);
  InvRngInit(&r2, 42, INV_RNG_NOISE, 7, 1);
  PetscCheck(InvRngUniform(&r) != InvRngUniform(&r2), PETSC_COMM_SELF, PETSC_ERR_PLIB, "epoch ignored");
  InvRngInit(&r, 42, INV_RNG_NOISE, 7, 0);
  InvRngInit(&r2, 42, INV_RNG_PRIOR, 7, 0);
  PetscCheck(InvRngUniform(&r) != InvRngUniform(&r2), PETSC_COMM_SELF, PETSC_ERR_PLIB, "purpose ignored");

  /* Moments of 1e6 normals: mean and variance within 5 standard errors, kurtosis near 3. */
  InvRngInit(&r, 1, INV_RNG_NOISE, 0, 0);
  for (int i = 0; i < n; i++) {
    double x = InvRngNormal(&r);
    s += x;
    s2 += x * x;
    s4 += x * x * x * x;
  }
  s /= n;
  s2 /= n;
  s4 /= n;
  PetscCheck(fabs(s) < 5.0 / sqrt(n), PETSC_COMM_SELF, PETSC_ERR_PLIB, "normal mean %g", s);
  PetscCheck(fabs(s2 - 1) < 5.0 * sqrt(2.0 / n), PETSC_COMM_SELF, PETSC_ERR_PLIB, "normal variance %g", s2);
  PetscCheck(fabs(s4 - 3) < 0.05, PETSC_COMM_SELF, PETSC_ERR_PLIB, "normal kurtosis %g", s4);

  /* Uniforms lie strictly inside (0, 1). */
  for (int i = 0; i < 100000; i++) {
    double u = InvRngUniform(&r);
    PetscCheck(u > 0 && u < 1, PETSC_COMM_SELF, PETSC_ERR_PLIB, "uniform %g outside (0,1)", u);
  }

  /* FHN prior: draws inside the support, sample mean near the truncated mean (= mean, symmetric). */
  {
    InvModel m;
    InvPrior p;
    PetscReal th[2], m0 = 0, m1 = 0;
    PetscBool in;
    PetscCall(InvModelCreate("fhn", &m));
    PetscCall(InvPriorCreate(m, &p));
    for (int i = 0; i < 20000; i++) {
      PetscCall(InvPriorSample(p, 5, i, th));
      PetscCall(InvPriorInSupport(p, th, &in));
      PetscCheck(in, PETSC_COMM_SELF, PETSC_ERR_PLIB, "prior draw outside the support");
      m0 += th[0] / 20000;
      m1 += th[1] / 20000;
    }
    PetscCheck(fabs(m0 - 0.4) < 0.01 && fabs(m1 - 0.4) < 0.012, PETSC_COMM_SELF, PETSC_ERR_PLIB, "prior means %g %g", m0, m1);
    PetscCall(InvPriorDestroy(&p));
    PetscCall(InvModelDestroy(&m));
  }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "test_rng: ok\n"));
  PetscCall(PetscFinalize());
  return 0;
}
