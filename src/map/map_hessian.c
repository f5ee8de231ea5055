/* Hessians of J at a point: Gauss-Newton J_u^T W^T W J_u + Sigma_pr^{-1} from forward sensitivities
   (the variational equations on the same discretisation as the objective, batched over samples), the full Hessian from second-order
   adjoints (src/ts/batchts_soa.c: np Hessian-vector products per sample, batched over samples), or the full Hessian by central differences
   of adjoint gradients (labelled as such in outputs); and the SPD inverse giving the Laplace covariance. */
#include "mapimpl.h"
#include <invmap/noise.h>

/* Gauss-Newton Hessians of problems idx[0..nb): one batched sensitivity solve per 128 of them; each member's H is
   computed from its own sensitivities only, so it is bitwise independent of its batch-mates and the batch size */
static PetscErrorCode InvMAPHessiansGN(InvMAP map, PetscInt nb, const PetscInt idx[], const PetscReal theta[], PetscReal H[])
{
  const PetscInt np = map->model->nparam, no = map->model->nobs, nt = map->nt;
  PetscReal *y, *S, *work;
  PetscBool *ok;

  PetscFunctionBegin;
  if (!nb) PetscFunctionReturn(0);
  PetscCall(PetscMalloc4(nb * nt * no, &y, nb * nt * no * np, &S, nt * (1 + np), &work, nb, &ok));
  PetscCall(InvBatchTSSensitivities(map->mts[0], nb, theta, y, S, ok));
  for (PetscInt q = 0; q < nb; q++) {
    const PetscInt i = idx[q];
    PetscReal *Hq = H + q * np * np;
    if (!ok[q]) {
      for (PetscInt k = 0; k < np * np; k++) Hq[k] = NAN;
      continue;
    }
    InvObjectiveGaussNewton(map->prior, nt, no, np, S + q * nt * no * np, map->noise[2 * i], InvMAPNoiseSD(map, i), work, Hq);
  }
  PetscCall(PetscFree4(y, S, work, ok));
  PetscFunctionReturn(0);
}

/* Full Hessians of problems idx[0..nb) by central differences of adjoint gradients, all 2 np evaluations of all
   problems batched */
static PetscErrorCode InvMAPHessiansFD(InvMAP map, PetscInt nb, const PetscInt idx[], const PetscReal theta[], PetscReal H[])
{
  const PetscInt np = map->model->nparam, m = 2 * np;
  PetscReal *th, *f, *g, h[INV_MAX_PARAM];
  PetscInt *id, *st;

  PetscFunctionBegin;
  if (!nb) PetscFunctionReturn(0);
  PetscCall(PetscMalloc5(nb * m * np, &th, nb * m, &f, nb * m * np, &g, nb * m, &id, nb * m, &st));
  for (PetscInt j = 0; j < np; j++) h[j] = map->fd_h * map->prior->sd[j];
  for (PetscInt q = 0; q < nb; q++)
    for (PetscInt j = 0; j < np; j++)
      for (PetscInt s = 0; s < 2; s++) {
        const PetscInt b = q * m + 2 * j + s;
        PetscCall(PetscArraycpy(th + b * np, theta + q * np, np));
        th[b * np + j] += s ? -h[j] : h[j];
        id[b] = idx[q];
      }
  PetscCall(InvMAPObjectiveGradient(map, nb * m, id, th, f, g, st));
  for (PetscInt q = 0; q < nb; q++) {
    const PetscReal *gq = g + q * m * np;
    PetscReal *Hq = H + q * np * np;
    PetscBool ok = PETSC_TRUE;
    for (PetscInt k = 0; k < m; k++)
      if (st[q * m + k]) ok = PETSC_FALSE;
    for (PetscInt j = 0; j < np; j++)
      for (PetscInt l = 0; l < np; l++) Hq[j * np + l] = ok ? (gq[2 * j * np + l] - gq[(2 * j + 1) * np + l]) / (2 * h[j]) : NAN;
    for (PetscInt j = 0; j < np; j++)
      for (PetscInt l = 0; l < j; l++) Hq[j * np + l] = Hq[l * np + j] = 0.5 * (Hq[j * np + l] + Hq[l * np + j]);
  }
  PetscCall(PetscFree5(th, f, g, id, st));
  PetscFunctionReturn(0);
}

/* Second-order adjoint solver: np members per sample (directions e_1..e_np), up to 128 samples per sweep */
PetscErrorCode InvMAPSetUpSecondOrder(InvMAP map)
{
  const PetscInt np = map->model->nparam;

  PetscFunctionBegin;
  PetscCall(InvBatchTSSetUpSecondOrder(map->mts[0], np * PetscMax(1, PetscMin(128, map->batch / np))));
  PetscFunctionReturn(0);
}

/* Full Hessians of problems idx[0..nb) from second-order adjoints: H_i e_j = mu2 of member (i, j) plus the prior term */
static PetscErrorCode InvMAPHessiansSOA(InvMAP map, PetscInt nb, const PetscInt idx[], const PetscReal theta[], PetscReal H[])
{
  const PetscInt np = map->model->nparam, per = map->nt * map->model->nobs, m = nb * np;
  PetscReal *th, *v, *hv, *rho, *sig;
  const PetscReal **dp;
  PetscInt *st;

  PetscFunctionBegin;
  if (!nb) PetscFunctionReturn(0);
  PetscCall(InvMAPSetUpSecondOrder(map));
  PetscCall(PetscMalloc6(m * np, &th, m * np, &v, m * np, &hv, m, &rho, m, &sig, m, &dp));
  PetscCall(PetscMalloc1(m, &st));
  for (PetscInt q = 0; q < nb; q++) {
    const PetscInt i = idx[q];
    PetscCheck(i >= 0 && i < map->n, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Problem %" PetscInt_FMT " out of range", i);
    for (PetscInt j = 0; j < np; j++) {
      const PetscInt b = q * np + j;
      PetscCall(PetscArraycpy(th + b * np, theta + q * np, np));
      for (PetscInt l = 0; l < np; l++) v[b * np + l] = (l == j) ? 1.0 : 0.0;
      dp[b] = map->d + i * per;
      rho[b] = map->noise[2 * i];
      sig[b] = InvMAPNoiseSD(map, i);
    }
  }
  PetscCall(InvBatchTSHessianProduct(map->mts[0], m, th, v, dp, rho, sig, hv, st));
  for (PetscInt q = 0; q < nb; q++) {
    PetscReal *Hq = H + q * np * np;
    PetscBool ok = PETSC_TRUE;
    for (PetscInt j = 0; j < np; j++)
      if (st[q * np + j]) ok = PETSC_FALSE;
    for (PetscInt j = 0; j < np; j++) /* row j: H e_j (H is symmetric; the discrete second-order adjoint is exactly so up to rounding) */
      for (PetscInt l = 0; l < np; l++)
        Hq[j * np + l] = ok ? hv[(q * np + j) * np + l] + (j == l ? 1.0 / PetscSqr(map->prior->sd[j]) : 0.0) : NAN;
    for (PetscInt j = 0; j < np; j++)
      for (PetscInt l = 0; l < j; l++) Hq[j * np + l] = Hq[l * np + j] = 0.5 * (Hq[j * np + l] + Hq[l * np + j]);
  }
  PetscCall(PetscFree6(th, v, hv, rho, sig, dp));
  PetscCall(PetscFree(st));
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPComputeHessians(InvMAP map, PetscInt nb, const PetscInt idx[], const PetscReal theta[], InvMAPHessianType type,
                                     PetscReal H[])
{
  PetscFunctionBegin;
  PetscCheck(type != INV_MAP_HESSIAN_NONE, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "No Hessian of type none");
  PetscCall(InvMAPSetUpSolvers(map));
  PetscCall(PetscLogEventBegin(INV_MAPHessian, 0, 0, 0, 0));
  for (PetscInt q = 0; q < nb; q++)
    PetscCheck(idx[q] >= 0 && idx[q] < map->n, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Problem %" PetscInt_FMT " out of range", idx[q]);
  if (type == INV_MAP_HESSIAN_SOA)
    PetscCall(InvMAPHessiansSOA(map, nb, idx, theta, H));
  else if (type == INV_MAP_HESSIAN_FD)
    PetscCall(InvMAPHessiansFD(map, nb, idx, theta, H));
  else
    PetscCall(InvMAPHessiansGN(map, nb, idx, theta, H));
  PetscCall(PetscLogEventEnd(INV_MAPHessian, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPComputeHessian(InvMAP map, PetscInt i, const PetscReal theta[], InvMAPHessianType type, PetscReal H[])
{
  PetscFunctionBegin;
  PetscCall(InvMAPComputeHessians(map, 1, &i, theta, type, H));
  PetscFunctionReturn(0);
}

/* C = H^{-1} for symmetric H (row-major p x p) by Cholesky; spd = false (and C = NaN) otherwise. */
PetscErrorCode InvMAPSymInverse(PetscInt p, const PetscReal H[], PetscReal C[], PetscBool *spd)
{
  PetscReal L[INV_MAX_PARAM * INV_MAX_PARAM] = {0}, y[INV_MAX_PARAM];

  PetscFunctionBegin;
  *spd = PETSC_TRUE;
  for (PetscInt j = 0; j < p && *spd; j++) {
    for (PetscInt k = 0; k <= j; k++) {
      PetscReal s = H[j * p + k];
      for (PetscInt q = 0; q < k; q++) s -= L[j * p + q] * L[k * p + q];
      if (k == j) {
        if (!(s > 0) || PetscIsInfOrNanReal(s)) {
          *spd = PETSC_FALSE;
          break;
        }
        L[j * p + j] = PetscSqrtReal(s);
      } else
        L[j * p + k] = s / L[k * p + k];
    }
  }
  if (!*spd) {
    for (PetscInt k = 0; k < p * p; k++) C[k] = NAN;
    PetscFunctionReturn(0);
  }
  for (PetscInt c = 0; c < p; c++) { /* solve L L^T x = e_c */
    for (PetscInt j = 0; j < p; j++) {
      PetscReal s = (j == c) ? 1.0 : 0.0;
      for (PetscInt q = 0; q < j; q++) s -= L[j * p + q] * y[q];
      y[j] = s / L[j * p + j];
    }
    for (PetscInt j = p - 1; j >= 0; j--) {
      PetscReal s = y[j];
      for (PetscInt q = j + 1; q < p; q++) s -= L[q * p + j] * C[q * p + c];
      C[j * p + c] = s / L[j * p + j];
    }
  }
  for (PetscInt j = 0; j < p; j++)
    for (PetscInt k = 0; k < j; k++) C[j * p + k] = C[k * p + j] = 0.5 * (C[j * p + k] + C[k * p + j]);
  PetscFunctionReturn(0);
}
