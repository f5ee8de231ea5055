/* AR(1) noise: the standard deviation of long draws is sigma / Delta_t (default convention) or sigma
   (-noise_scale unit) and their lag-1 correlation rho, within sampling error; whitening with the marginal
   standard deviation gives unit white noise; W^T is the transpose of W (dot-product test); irregular times are
   refused for the dt convention; invalid (rho, sigma) are rejected. */
#include <invmap/noise.h>
#include <invmap/rng.h>
#include <math.h>

int main(int argc, char **argv)
{
  const PetscInt n = 200000;
  const PetscReal dt = 0.2; /* the paper's observation spacing: s = sigma / dt = 5 sigma */
  /* Sampling error of the estimates below for a stationary AR(1) series of length n: the sample variance has
     relative standard error sqrt(2 (1 + rho^2) / ((1 - rho^2) n)) = 0.0068 at rho = 0.8, the lag-1 correlation
     sqrt((1 - rho^2) / n) = 0.0013. Five standard errors: */
  const PetscReal tol_var = 0.034, tol_corr = 0.0067;
  PetscReal *u, *d, *w, *x, *y, *Wx, *WTy, *t;
  PetscReal rho = 0.8, sigma = 0.07, s, v = 0, c1 = 0, wm = 0, wv = 0, wc = 0, dot1 = 0, dot2 = 0;
  InvNoise noise;
  InvRng r;
  PetscErrorCode ierr;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(InvNoiseCreate(&noise));
  PetscCall(PetscCalloc5(n, &u, n, &d, n, &w, n, &x, n, &y));
  PetscCall(PetscMalloc3(n, &Wx, n, &WTy, n, &t));
  for (PetscInt k = 0; k < n; k++) t[k] = k * dt;
  PetscCall(InvNoiseSetObservationTimes(noise, PETSC_COMM_SELF, n, t));
  s = sigma / dt;
  PetscCheck(PetscAbsReal(InvNoiseMarginalSD(noise->scale, sigma, noise->obs_dt) - s) < 1e-12, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "default convention: marginal sd %g, expected sigma / Delta_t = %g",
             (double)InvNoiseMarginalSD(noise->scale, sigma, noise->obs_dt), (double)s);
  PetscCall(InvNoiseApply(noise, 9, 3, 0, rho, sigma, n, u, d));
  for (PetscInt k = 0; k < n; k++) v += d[k] * d[k] / n;
  for (PetscInt k = 1; k < n; k++) c1 += d[k] * d[k - 1] / (n - 1);
  PetscCheck(PetscAbsReal(v / (s * s) - 1) < tol_var, PETSC_COMM_SELF, PETSC_ERR_PLIB, "AR(1) variance %g, expected (sigma/Delta_t)^2 = %g",
             (double)v, (double)(s * s));
  PetscCheck(PetscAbsReal(c1 / v - rho) < tol_corr, PETSC_COMM_SELF, PETSC_ERR_PLIB, "AR(1) lag-1 correlation %g, expected %g",
             (double)(c1 / v), (double)rho);

  /* -noise_scale unit: standard deviation sigma, the same draws scaled by Delta_t */
  {
    PetscReal vu = 0;
    noise->scale = INV_NOISE_SCALE_UNIT;
    PetscCall(InvNoiseApply(noise, 9, 3, 0, rho, sigma, n, u, x));
    for (PetscInt k = 0; k < n; k++) vu += x[k] * x[k] / n;
    PetscCheck(PetscAbsReal(vu / (sigma * sigma) - 1) < tol_var, PETSC_COMM_SELF, PETSC_ERR_PLIB,
               "unit convention: AR(1) variance %g, expected sigma^2 = %g", (double)vu, (double)(sigma * sigma));
    noise->scale = INV_NOISE_SCALE_DT;
  }

  InvAR1Whiten(rho, s, n, d, w);
  for (PetscInt k = 0; k < n; k++) wm += w[k] / n;
  for (PetscInt k = 0; k < n; k++) wv += (w[k] - wm) * (w[k] - wm) / n;
  for (PetscInt k = 1; k < n; k++) wc += w[k] * w[k - 1] / (n - 1);
  /* white noise of length n: the variance has standard error sqrt(2 / n) = 0.0032, the lag-1 covariance 1 / sqrt(n) = 0.0022 */
  PetscCheck(PetscAbsReal(wv - 1) < 0.02 && PetscAbsReal(wc) < 0.02, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "whitened noise: variance %g, lag-1 covariance %g", (double)wv, (double)wc);

  InvRngInit(&r, 1, INV_RNG_NOISE, 0, 0);
  for (PetscInt k = 0; k < n; k++) {
    x[k] = InvRngNormal(&r);
    y[k] = InvRngNormal(&r);
  }
  InvAR1Whiten(rho, s, n, x, Wx);
  InvAR1WhitenTranspose(rho, s, n, y, WTy);
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
  t[7] += 0.01 * dt; /* irregular times: no Delta_t for the dt convention */
  ierr = InvNoiseSetObservationTimes(noise, PETSC_COMM_SELF, n, t);
  PetscCheck(ierr != 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "irregular observation times accepted for -noise_scale dt");
  PetscCall(PetscPopErrorHandler());
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "test_noise: variance / (sigma/Delta_t)^2 %.4f, lag-1 corr %.4f, whitened variance %.4f\n",
                        (double)(v / (s * s)), (double)(c1 / v), (double)wv));
  PetscCall(PetscFree5(u, d, w, x, y));
  PetscCall(PetscFree3(Wx, WTy, t));
  PetscCall(InvNoiseDestroy(&noise));
  PetscCall(PetscFinalize());
  return 0;
}
