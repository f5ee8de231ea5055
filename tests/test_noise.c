/* AR(1) noise: stationary variance and lag-1 correlation of long draws, whitening to unit white noise,
   W^T as the transpose of W (dot-product test), and rejection of invalid (rho, sigma). */
#include <invmap/noise.h>
#include <invmap/rng.h>
#include <math.h>

int main(int argc, char **argv)
{
  const PetscInt n = 200000;
  PetscReal *u, *d, *w, *x, *y, *Wx, *WTy;
  PetscReal rho = 0.8, sigma = 0.07, v = 0, c1 = 0, wm = 0, wv = 0, wc = 0, dot1 = 0, dot2 = 0;
  InvNoise noise;
  InvRng r;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(InvNoiseCreate(&noise));
  PetscCall(PetscCalloc5(n, &u, n, &d, n, &w, n, &x, n, &y));
  PetscCall(PetscMalloc2(n, &Wx, n, &WTy));
  PetscCall(InvNoiseApply(noise, 9, 3, 0, rho, sigma, n, u, d));
  for (PetscInt k = 0; k < n; k++) v += d[k] * d[k] / n;
  for (PetscInt k = 1; k < n; k++) c1 += d[k] * d[k - 1] / (n - 1);
  /* Standard errors of these estimates for correlated series are a few times 1/sqrt(n). */
  PetscCheck(PetscAbsReal(v / (sigma * sigma) - 1) < 0.05, PETSC_COMM_SELF, PETSC_ERR_PLIB, "AR(1) variance %g, expected %g", (double)v,
             (double)(sigma * sigma));
  PetscCheck(PetscAbsReal(c1 / v - rho) < 0.01, PETSC_COMM_SELF, PETSC_ERR_PLIB, "AR(1) lag-1 correlation %g, expected %g",
             (double)(c1 / v), (double)rho);

  InvAR1Whiten(rho, sigma, n, d, w);
  for (PetscInt k = 0; k < n; k++) wm += w[k] / n;
  for (PetscInt k = 0; k < n; k++) wv += (w[k] - wm) * (w[k] - wm) / n;
  for (PetscInt k = 1; k < n; k++) wc += w[k] * w[k - 1] / (n - 1);
  PetscCheck(PetscAbsReal(wv - 1) < 0.02 && PetscAbsReal(wc) < 0.02, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "whitened noise: variance %g, lag-1 covariance %g", (double)wv, (double)wc);

  InvRngInit(&r, 1, INV_RNG_NOISE, 0, 0);
  for (PetscInt k = 0; k < n; k++) {
    x[k] = InvRngNormal(&r);
    y[k] = InvRngNormal(&r);
  }
  InvAR1Whiten(rho, sigma, n, x, Wx);
  InvAR1WhitenTranspose(rho, sigma, n, y, WTy);
  for (PetscInt k = 0; k < n; k++) {
    dot1 += y[k] * Wx[k];
    dot2 += WTy[k] * x[k];
  }
  PetscCheck(PetscAbsReal(dot1 - dot2) < 1e-10 * PetscAbsReal(dot1), PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "W^T is not the transpose of W: %g vs %g", (double)dot1, (double)dot2);

  /* Same (seed, sample, epoch) gives the same noise; another epoch gives fresh noise. */
  PetscCall(InvNoiseApply(noise, 9, 3, 0, rho, sigma, 100, u, x));
  for (PetscInt k = 0; k < 100; k++) PetscCheck(x[k] == d[k], PETSC_COMM_SELF, PETSC_ERR_PLIB, "noise not reproducible");
  PetscCall(InvNoiseApply(noise, 9, 3, 1, rho, sigma, 100, u, x));
  PetscCheck(x[0] != d[0], PETSC_COMM_SELF, PETSC_ERR_PLIB, "epoch does not change the noise");

  /* Invalid parameters are rejected with an error (checked without aborting). */
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  PetscCheck(InvNoiseCheckParameters(1.0, 0.1) != 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "|rho| = 1 accepted");
  PetscCheck(InvNoiseCheckParameters(0.5, 0.0) != 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "sigma = 0 accepted");
  PetscCheck(InvNoiseCheckParameters(0.5, NAN) != 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "sigma = NaN accepted");
  PetscCall(PetscPopErrorHandler());
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "test_noise: variance ratio %.4f, lag-1 corr %.4f, whitened variance %.4f\n",
                        (double)(v / (sigma * sigma)), (double)(c1 / v), (double)wv));
  PetscCall(PetscFree5(u, d, w, x, y));
  PetscCall(PetscFree2(Wx, WTy));
  PetscCall(InvNoiseDestroy(&noise));
  PetscCall(PetscFinalize());
  return 0;
}
