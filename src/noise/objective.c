/* The MAP objective J = AR(1)-whitened misfit + Gaussian prior term, its one definition, with its derivatives with
   respect to the outputs and its Gauss-Newton Hessian (include/invmap/objective.h). */
#include <invmap/objective.h>

void InvObjectiveMisfit(PetscInt nt, PetscInt no, const PetscReal d[], const PetscReal y[], PetscReal rho, PetscReal sd, PetscReal work[],
                        PetscReal *f, PetscReal gy[])
{
  PetscReal *r = work, *w = work + nt, *z = work + 2 * nt, s = 0;

  for (PetscInt c = 0; c < no; c++) {
    for (PetscInt k = 0; k < nt; k++) r[k] = d[k * no + c] - y[k * no + c];
    InvAR1Whiten(rho, sd, nt, r, w);
    for (PetscInt k = 0; k < nt; k++) s += w[k] * w[k];
    if (!gy) continue;
    InvAR1WhitenTranspose(rho, sd, nt, w, z);
    for (PetscInt k = 0; k < nt; k++) gy[k * no + c] = -z[k];
  }
  *f = 0.5 * s;
}

void InvObjectivePrior(InvPrior pr, const PetscReal th[], PetscReal *f, PetscReal g[])
{
  PetscReal fp = 0;

  for (PetscInt j = 0; j < pr->n; j++) {
    const PetscReal z = (th[j] - pr->mean[j]) / pr->sd[j];
    fp += 0.5 * z * z;
    if (g) g[j] = z / pr->sd[j];
  }
  *f = fp;
}

void InvObjectiveFromOutputs(InvPrior pr, PetscInt nb, PetscInt nt, PetscInt no, const PetscReal theta[], const PetscReal *const d[],
                             const PetscReal y[], const PetscReal rho[], const PetscReal s[], PetscReal work[], PetscReal f[],
                             PetscReal gy[], PetscReal gtheta[])
{
  for (PetscInt b = 0; b < nb; b++) {
    PetscReal fp = 0;
    InvObjectiveMisfit(nt, no, d[b], y + b * nt * no, rho[b], s[b], work, &f[b], gy ? gy + b * nt * no : NULL);
    if (!pr) continue;
    InvObjectivePrior(pr, theta + b * pr->n, &fp, gtheta ? gtheta + b * pr->n : NULL);
    f[b] += fp; /* misfit first, then the prior term: the order MAP's outputs have always used */
  }
}

void InvObjectiveMisfitHessianOutputs(PetscInt nt, PetscInt no, const PetscReal dy[], PetscReal rho, PetscReal sd, PetscReal work[],
                                      PetscReal out[])
{
  PetscReal *z = work, *w = work + nt;

  for (PetscInt c = 0; c < no; c++) {
    for (PetscInt k = 0; k < nt; k++) z[k] = dy[k * no + c];
    InvAR1Whiten(rho, sd, nt, z, w);
    InvAR1WhitenTranspose(rho, sd, nt, w, z);
    for (PetscInt k = 0; k < nt; k++) out[k * no + c] = z[k];
  }
}

void InvObjectiveGaussNewton(InvPrior pr, PetscInt nt, PetscInt no, PetscInt np, const PetscReal S[], PetscReal rho, PetscReal sd,
                             PetscReal work[], PetscReal H[])
{
  PetscReal *col = work, *WS = work + nt;

  for (PetscInt k = 0; k < np * np; k++) H[k] = 0;
  for (PetscInt c = 0; c < no; c++) {
    for (PetscInt j = 0; j < np; j++) {
      for (PetscInt k = 0; k < nt; k++) col[k] = S[(k * no + c) * np + j];
      InvAR1Whiten(rho, sd, nt, col, WS + j * nt);
    }
    for (PetscInt j = 0; j < np; j++)
      for (PetscInt l = 0; l < np; l++) {
        PetscReal s = 0;
        for (PetscInt k = 0; k < nt; k++) s += WS[j * nt + k] * WS[l * nt + k];
        H[j * np + l] += s;
      }
  }
  if (pr)
    for (PetscInt j = 0; j < np; j++) H[j * np + j] += 1.0 / PetscSqr(pr->sd[j]);
}
