/* Input representations and normalisation of the trainer: the Fourier channels against a direct DFT in
   double (orthonormal scaling), the 3-channel layout, standardisation fitted over ranks, and the
   metrics (Median-APE, R^2) on a case with known values. Run on 1 and 2 ranks. */
#include <invmap/train.h>
#include <math.h>

int main(int argc, char **argv)
{
  const PetscInt n = 16, N = 40;
  double s[16], ref_re[8], ref_im[8];
  float x[48];
  InvFeat f;
  PetscMPIInt rank, size;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(InvInitializePackage());
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  for (PetscInt t = 0; t < n; t++) s[t] = sin(0.7 * t) + 0.3 * cos(2.1 * t) + 0.1 * t;
  for (PetscInt k = 0; k < n / 2; k++) {
    ref_re[k] = ref_im[k] = 0;
    for (PetscInt t = 0; t < n; t++) {
      ref_re[k] += s[t] * cos(2 * PETSC_PI * k * t / n) / sqrt((double)n);
      ref_im[k] -= s[t] * sin(2 * PETSC_PI * k * t / n) / sqrt((double)n);
    }
  }
  /* float storage: tolerance 1e-6 relative to the largest coefficient */
  PetscCall(InvFeatCreate(INV_REPR_FOURIER, INV_NORM_NONE, n, 1, 2, &f));
  PetscCheck(f->len == 8 && f->ch == 2, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "fourier shape");
  PetscCall(InvFeatTransform(f, s, x));
  for (PetscInt k = 0; k < 8; k++)
    PetscCheck(fabs(x[2 * k] - ref_re[k]) < 1e-5 && fabs(x[2 * k + 1] - ref_im[k]) < 1e-5, PETSC_COMM_WORLD, PETSC_ERR_PLIB,
               "Fourier coefficient %d: (%g, %g) vs DFT (%g, %g)", (int)k, (double)x[2 * k], (double)x[2 * k + 1], ref_re[k], ref_im[k]);
  PetscCall(InvFeatDestroy(&f));
  PetscCall(InvFeatCreate(INV_REPR_BOTH, INV_NORM_NONE, n, 1, 2, &f));
  PetscCall(InvFeatTransform(f, s, x));
  for (PetscInt k = 0; k < 8; k++)
    PetscCheck(x[3 * k] == (float)s[2 * k] && fabs(x[3 * k + 1] - ref_re[k]) < 1e-5 && fabs(x[3 * k + 2] - ref_im[k]) < 1e-5,
               PETSC_COMM_WORLD, PETSC_ERR_PLIB, "3-channel layout wrong at %d", (int)k);
  PetscCall(InvFeatDestroy(&f));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Fourier features match the orthonormal DFT\n"));

  /* standardisation over ranks: rows of a global (N x n) table split over the ranks */
  for (int mode = INV_NORM_CHANNEL; mode <= INV_NORM_FEATURE; mode++) {
    PetscInt r0 = N * rank / size, r1 = N * (rank + 1) / size, nl = r1 - r0;
    float *X;
    double sum[16] = {0}, sq[16] = {0};
    PetscCall(InvFeatCreate(INV_REPR_TIME, (InvNormType)mode, n, 1, 1, &f));
    PetscCall(PetscMalloc1(nl * n + 1, &X));
    for (PetscInt i = 0; i < nl; i++)
      for (PetscInt t = 0; t < n; t++) X[i * n + t] = (float)(3.0 + t + 2.0 * sin((double)(r0 + i) * (t + 1)));
    PetscCall(InvFeatFitInput(f, PETSC_COMM_WORLD, nl, X));
    PetscCall(InvFeatNormalizeInput(f, nl, X));
    for (PetscInt i = 0; i < nl; i++)
      for (PetscInt t = 0; t < n; t++) sum[t] += X[i * n + t], sq[t] += X[i * n + t] * X[i * n + t];
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, sum, 16, MPI_DOUBLE, MPI_SUM, PETSC_COMM_WORLD));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, sq, 16, MPI_DOUBLE, MPI_SUM, PETSC_COMM_WORLD));
    if (mode == INV_NORM_FEATURE)
      for (PetscInt t = 0; t < n; t++)
        PetscCheck(fabs(sum[t] / N) < 1e-5 && fabs(sq[t] / N - 1) < 1e-5, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "feature %d: mean %g, var %g",
                   (int)t, sum[t] / N, sq[t] / N);
    else {
      double a = 0, b = 0;
      for (PetscInt t = 0; t < n; t++) a += sum[t], b += sq[t];
      PetscCheck(fabs(a / (N * n)) < 1e-5 && fabs(b / (N * n) - 1) < 1e-5, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "channel: mean %g, var %g",
                 a / (N * n), b / (N * n));
    }
    PetscCall(PetscFree(X));
    PetscCall(InvFeatDestroy(&f));
  }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Standardisation over %d rank(s): mean 0, variance 1\n", size));

  /* metrics: pred = truth * (1 + e_i) with |e_i| = 0.01 (i even) or 0.03 (odd): Median-APE 0.02 */
  {
    PetscInt r0 = N * rank / size, r1 = N * (rank + 1) / size, nl = r1 - r0;
    double *pred, *truth, mape[1], r2[1], mn, sse = 0, sst = 0, mean = 0;
    PetscCall(PetscMalloc2(nl + 1, &pred, nl + 1, &truth));
    for (PetscInt i = 0; i < N; i++) mean += 1.0 + 0.1 * i;
    mean /= N;
    for (PetscInt i = 0; i < N; i++) {
      double t = 1.0 + 0.1 * i, p = t * (1 + ((i % 2) ? -0.03 : 0.01));
      sse += (p - t) * (p - t);
      sst += (t - mean) * (t - mean);
      if (i >= r0 && i < r1) truth[i - r0] = t, pred[i - r0] = p;
    }
    PetscCall(InvMetricsCompute(PETSC_COMM_WORLD, nl, 1, pred, truth, mape, r2, &mn));
    PetscCheck(fabs(mape[0] - 0.02) < 1e-12 && fabs(mn - 0.02) < 1e-12 && fabs(r2[0] - (1 - sse / sst)) < 1e-12, PETSC_COMM_WORLD,
               PETSC_ERR_PLIB, "metrics: Median-APE %g (0.02), R^2 %g (%g)", mape[0], r2[0], 1 - sse / sst);
    PetscCall(PetscFree2(pred, truth));
  }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Metrics match the known values\n"));
  PetscCall(PetscFinalize());
  return 0;
}
