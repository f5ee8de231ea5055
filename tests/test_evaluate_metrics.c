/* invmap evaluate's building blocks: medians over finite values (odd, even, NaN/Inf skipped, none left)
   and the series errors (a shifted series has squared bias = shift^2 and C-MSE 0; a scaled zero-mean
   series has bias 0 and C-MSE = (scale - 1)^2 mean(u^2); sq_bias + C-MSE = MSE for any pair). */
#include <invmap/evaluate.h>
#include <math.h>

#define CHECK_CLOSE(got, want, tol, what)                                                                                                  \
  PetscCheck(PetscAbsReal((got) - (want)) <= (tol) * (1 + PetscAbsReal(want)), PETSC_COMM_SELF, PETSC_ERR_PLIB,                            \
             "%s: got %.17g, want %.17g", what, (double)(got), (double)(want))

int main(int argc, char **argv)
{
  const PetscReal odd[] = {5, 1, NAN, 3, INFINITY}, even[] = {4, 1, 3, 2}, none[] = {NAN, NAN};
  PetscReal med, u[64], s[64], sb, cm, mse = 0;
  const PetscInt n = 64;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(InvEvalMedian(5, odd, &med));
  CHECK_CLOSE(med, 3, 0, "median of {5, 1, NaN, 3, Inf}");
  PetscCall(InvEvalMedian(4, even, &med));
  CHECK_CLOSE(med, 2.5, 0, "median of {4, 1, 3, 2}");
  PetscCall(InvEvalMedian(2, none, &med));
  PetscCheck(PetscIsInfOrNanReal(med), PETSC_COMM_SELF, PETSC_ERR_PLIB, "median of NaNs must be NaN, got %g", (double)med);
  PetscCall(InvEvalMedian(0, NULL, &med));
  PetscCheck(PetscIsInfOrNanReal(med), PETSC_COMM_SELF, PETSC_ERR_PLIB, "median of nothing must be NaN");

  for (PetscInt k = 0; k < n; k++) u[k] = sin(2 * PETSC_PI * k / n) + 0.3 * cos(6 * PETSC_PI * k / n); /* zero mean */
  for (PetscInt k = 0; k < n; k++) s[k] = u[k] + 0.25;
  InvEvalSeriesErrors(n, s, u, &sb, &cm);
  CHECK_CLOSE(sb, 0.0625, 1e-14, "squared bias of a shifted series");
  CHECK_CLOSE(cm, 0, 1e-14, "C-MSE of a shifted series");
  for (PetscInt k = 0; k < n; k++) s[k] = 1.5 * u[k];
  InvEvalSeriesErrors(n, s, u, &sb, &cm);
  for (PetscInt k = 0; k < n; k++) mse += 0.25 * u[k] * u[k] / n;
  CHECK_CLOSE(sb, 0, 1e-14, "squared bias of a scaled zero-mean series");
  CHECK_CLOSE(cm, mse, 1e-13, "C-MSE of a scaled zero-mean series");
  mse = 0;
  for (PetscInt k = 0; k < n; k++) s[k] = 0.7 * u[k] + 0.1 * k / n - 0.4;
  for (PetscInt k = 0; k < n; k++) mse += (s[k] - u[k]) * (s[k] - u[k]) / n;
  InvEvalSeriesErrors(n, s, u, &sb, &cm);
  CHECK_CLOSE(sb + cm, mse, 1e-13, "sq_bias + C-MSE = MSE");
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "evaluate metrics: all checks passed\n"));
  PetscCall(PetscFinalize());
  return 0;
}
