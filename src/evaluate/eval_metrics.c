/* InvEval metrics: per-sample parameter errors (on every rank), series errors and the MAP objective of
   the ODE re-simulated at the estimates (batches of global sample indices distributed over ranks, then
   gathered in sample order), and the summary (medians, R^2, cost). */
#include "evalimpl.h"
#include <invmap/h5io.h>
#include <invmap/noise.h>
#include <invmap/objective.h>

static int InvEvalCmp(const void *a, const void *b)
{
  const PetscReal x = *(const PetscReal *)a, y = *(const PetscReal *)b;
  return x < y ? -1 : (x > y ? 1 : 0);
}

PetscErrorCode InvEvalMedian(PetscInt64 n, const PetscReal v[], PetscReal *med)
{
  PetscReal *w;
  PetscInt64 m = 0;

  PetscFunctionBegin;
  *med = NAN;
  if (!v || n <= 0) PetscFunctionReturn(0);
  PetscCall(PetscMalloc1(n, &w));
  for (PetscInt64 i = 0; i < n; i++)
    if (!PetscIsInfOrNanReal(v[i])) w[m++] = v[i];
  if (m) {
    qsort(w, (size_t)m, sizeof(PetscReal), InvEvalCmp);
    *med = (m % 2) ? w[m / 2] : 0.5 * (w[m / 2 - 1] + w[m / 2]);
  }
  PetscCall(PetscFree(w));
  PetscFunctionReturn(0);
}

void InvEvalSeriesErrors(PetscInt n, const PetscReal s[], const PetscReal u[], PetscReal *sqbias, PetscReal *cmse)
{
  PetscReal ms = 0, mu = 0, c = 0;

  for (PetscInt k = 0; k < n; k++) ms += s[k], mu += u[k];
  ms /= n;
  mu /= n;
  for (PetscInt k = 0; k < n; k++) {
    const PetscReal r = (s[k] - ms) - (u[k] - mu);
    c += r * r;
  }
  *sqbias = (ms - mu) * (ms - mu);
  *cmse = c / n;
}

static PetscBool InvEvalFinite(PetscInt n, const PetscReal v[])
{
  for (PetscInt j = 0; j < n; j++)
    if (PetscIsInfOrNanReal(v[j])) return PETSC_FALSE;
  return PETSC_TRUE;
}

PetscErrorCode InvEvalParameterMetrics(InvEval e, InvEvalEstimate *s)
{
  const PetscInt P = e->P;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(s->n * P, &s->ape));
  PetscCall(PetscMalloc1(s->n, &s->relerr));
  s->nnan = s->nvalid = 0;
  if (s->nz) PetscCall(PetscMalloc1(s->n * INV_NOISE_NPARAM, &s->apenz));
  for (PetscInt64 i = 0; i < s->n; i++) {
    const PetscReal *x = s->theta + i * P, *y = e->theta + i * P;
    const PetscReal *xn = s->nz ? s->nz + i * INV_NOISE_NPARAM : NULL, *yn = e->truenoise ? e->truenoise + i * INV_NOISE_NPARAM : NULL;
    PetscBool nzfinite = PETSC_TRUE; /* every noise target of the file estimated (finite) and known (finite truth) */
    PetscReal num = 0, den = 0;
    for (PetscInt m = 0; xn && m < INV_NOISE_NPARAM; m++)
      if (s->hasnz[m] && (PetscIsInfOrNanReal(xn[m]) || PetscIsInfOrNanReal(yn[m]))) nzfinite = PETSC_FALSE;
    if (!InvEvalFinite(P, x) || !nzfinite) s->nnan++;
    if (!InvEvalFinite(P, x) || !InvEvalFinite(P, y) || !nzfinite) {
      for (PetscInt j = 0; j < P; j++) s->ape[i * P + j] = NAN;
      for (PetscInt m = 0; xn && m < INV_NOISE_NPARAM; m++) s->apenz[i * INV_NOISE_NPARAM + m] = NAN;
      s->relerr[i] = NAN;
      continue;
    }
    s->nvalid++;
    for (PetscInt j = 0; j < P; j++) {
      s->ape[i * P + j] = PetscAbsReal(x[j] - y[j]) / PetscAbsReal(y[j]);
      num += (x[j] - y[j]) * (x[j] - y[j]);
      den += y[j] * y[j];
    }
    for (PetscInt m = 0; xn && m < INV_NOISE_NPARAM; m++) /* NaN where the file does not estimate this noise parameter */
      s->apenz[i * INV_NOISE_NPARAM + m] = PetscAbsReal(xn[m] - yn[m]) / PetscAbsReal(yn[m]);
    s->relerr[i] = PetscSqrtReal(num / den); /* the model parameters only, comparable across estimates */
  }
  if (e->refmean) {
    PetscCall(PetscMalloc1(s->n, &s->mean_err));
    PetscCall(PetscMalloc1(s->n, &s->cov_err));
    for (PetscInt64 i = 0; i < s->n; i++) {
      const PetscReal *x = s->theta + i * P, *y = e->refmean + i * P;
      PetscReal num = 0, den = 0;
      s->mean_err[i] = s->cov_err[i] = NAN;
      if (i >= e->nref) continue;
      for (PetscInt j = 0; j < P; j++) num += (x[j] - y[j]) * (x[j] - y[j]), den += y[j] * y[j];
      s->mean_err[i] = PetscSqrtReal(num / den); /* NaN propagates */
      if (s->cov && e->refcov) {
        const PetscReal *C = s->cov + i * P * P, *R = e->refcov + i * P * P;
        num = den = 0;
        for (PetscInt j = 0; j < P * P; j++) num += (C[j] - R[j]) * (C[j] - R[j]), den += R[j] * R[j];
        s->cov_err[i] = PetscSqrtReal(num / den);
      }
    }
  }
  PetscFunctionReturn(0);
}

/* J (include/invmap/objective.h) of one sample from its outputs y; NaN when its noise parameters are invalid */
PetscReal InvEvalObjective(InvEval e, const PetscReal d[], const PetscReal y[], const PetscReal noise[], const PetscReal th[],
                           PetscReal *work)
{
  const PetscReal rho = noise[0], sd = InvNoiseSpecSD(&e->nspec, noise[1]);
  PetscReal f;

  if (!InvNoiseParametersValid(rho, noise[1])) return NAN;
  InvObjectiveFromOutputs(e->prior, 1, e->nt, e->no, th, &d, y, &rho, &sd, work, &f, NULL, NULL);
  return f;
}

/* gather per-sample values (width w) of consecutive row blocks in rank order */
PetscErrorCode InvEvalGather(InvEval e, PetscInt nl, PetscInt w, const PetscReal loc[], PetscReal glob[])
{
  PetscMPIInt cnt = (PetscMPIInt)(nl * w), *counts, *displs;

  PetscFunctionBegin;
  PetscCall(PetscMalloc2(e->size, &counts, e->size, &displs));
  PetscCallMPI(MPI_Allgather(&cnt, 1, MPI_INT, counts, 1, MPI_INT, e->comm));
  for (PetscMPIInt r = 0; r < e->size; r++) displs[r] = r ? displs[r - 1] + counts[r - 1] : 0;
  PetscCallMPI(MPI_Allgatherv(loc, cnt, MPIU_REAL, glob, counts, displs, MPIU_REAL, e->comm));
  PetscCall(PetscFree2(counts, displs));
  PetscFunctionReturn(0);
}

/* the batched integrator of the re-simulations (created once, -eval_batch members, the truth's times) */
PetscErrorCode InvEvalSetupTS(InvEval e)
{
  PetscFunctionBegin;
  if (e->bts) PetscFunctionReturn(0);
  PetscCall(InvForwardSolverCreate(e->model, e->batch, e->nt, e->t, e->step_control, &e->bts, &e->mrk));
  PetscFunctionReturn(0);
}

PetscErrorCode InvEvalSeriesMetrics(InvEval e, InvEvalEstimate *s)
{
  const PetscInt P = e->P, per = e->nt * e->no, B = e->batch;
  const PetscInt64 nbat = (s->n + B - 1) / B, b0 = nbat * e->rank / e->size, b1 = nbat * (e->rank + 1) / e->size;
  const PetscInt64 r0 = PetscMin(b0 * B, s->n), r1 = PetscMin(b1 * B, s->n);
  const PetscInt nl = (PetscInt)(r1 - r0);
  const PetscBool obj = (PetscBool)(e->objective && e->hasd);
  PetscReal *u, *d = NULL, *y, *loc, *glob, *work;
  PetscInt *st;
  hid_t file;
  PetscInt64 nfail = 0, solves;

  PetscFunctionBegin;
  PetscCall(InvEvalSetupTS(e));
  PetscCall(
      PetscMalloc5(PetscMax(nl, 1) * per, &u, PetscMax(nl, 1) * per, &y, PetscMax(nl, 1) * 5, &loc, s->n * 5, &glob, 3 * e->nt, &work));
  PetscCall(PetscMalloc1(PetscMax(B, 1), &st));
  PetscCall(InvH5Open(e->comm, e->truth, PETSC_FALSE, &file));
  PetscCall(InvH5ReadRows(file, "/u", H5T_NATIVE_DOUBLE, (hsize_t)r0, (hsize_t)nl, u));
  if (obj) {
    PetscCall(PetscMalloc1(PetscMax(nl, 1) * per, &d));
    PetscCall(InvH5ReadRows(file, e->objdata[0] == 'd' ? "/d" : "/u", H5T_NATIVE_DOUBLE, (hsize_t)r0, (hsize_t)nl, d));
  }
  PetscCall(InvH5Close(&file));
  PetscCall(PetscLogEventBegin(INV_Simulate, 0, 0, 0, 0));
  for (PetscInt64 c0 = r0; c0 < r1; c0 += B) {
    const PetscInt nb = (PetscInt)PetscMin((PetscInt64)B, r1 - c0);
    PetscCall(InvForwardSolve(e->bts, e->mrk, nb, s->theta + c0 * P, y + (c0 - r0) * per, st));
    for (PetscInt b = 0; b < nb; b++) {
      const PetscInt64 i = c0 + b;
      const PetscInt l = (PetscInt)(i - r0);
      const PetscReal *yi = y + l * per, *ui = u + l * per;
      PetscReal *o = loc + 5 * l;
      const PetscBool uok = (PetscBool)(!e->status[i] && InvEvalFinite(per, ui)), pok = InvEvalFinite(P, s->theta + i * P);
      o[0] = o[1] = o[2] = o[3] = NAN;
      o[4] = (PetscReal)st[b];
      if (pok && st[b]) nfail++;
      if (uok && !st[b]) InvEvalSeriesErrors(per, yi, ui, &o[0], &o[1]);
      if (obj && uok && !st[b] && InvEvalFinite(per, d + l * per))
        o[2] = InvEvalObjective(e, d + l * per, yi, e->noise + 2 * i, s->theta + i * P, work);
      if (!PetscIsInfOrNanReal(o[2])) /* on the same samples */
        o[3] = InvEvalObjective(e, d + l * per, ui, e->noise + 2 * i, e->theta + i * P, work);
    }
  }
  if (e->saveseries) { /* this rank's rows, float32, NaN where the re-simulation failed */
    PetscCall(PetscMalloc1(PetscMax(nl, 1) * per, &s->series));
    s->sr0 = r0;
    s->snl = nl;
    for (PetscInt l = 0; l < nl; l++) {
      const PetscBool ok = (PetscBool)(loc[5 * l + 4] == 0);
      for (PetscInt k = 0; k < per; k++) s->series[l * per + k] = ok ? (float)y[l * per + k] : NAN;
    }
  }
  PetscCall(PetscLogEventEnd(INV_Simulate, 0, 0, 0, 0));
  PetscCall(InvEvalGather(e, nl, 5, loc, glob));
  PetscCall(PetscMalloc1(s->n, &s->sqbias));
  PetscCall(PetscMalloc1(s->n, &s->cmse));
  PetscCall(PetscMalloc1(s->n, &s->obj));
  PetscCall(PetscMalloc1(s->n, &s->objtrue));
  PetscCall(PetscMalloc1(s->n, &s->simstatus));
  for (PetscInt64 i = 0; i < s->n; i++) {
    s->sqbias[i] = glob[5 * i];
    s->cmse[i] = glob[5 * i + 1];
    s->obj[i] = glob[5 * i + 2];
    s->objtrue[i] = glob[5 * i + 3];
    s->simstatus[i] = (PetscInt)glob[5 * i + 4];
  }
  PetscCallMPI(MPI_Allreduce(&nfail, &s->nsimfail, 1, MPIU_INT64, MPI_SUM, e->comm));
  if (e->mrk)
    PetscCall(InvMemberRKGetStats(e->mrk, NULL, NULL, &solves));
  else
    PetscCall(InvBatchTSGetStats(e->bts, NULL, &solves, NULL));
  e->nsolves = solves;
  PetscCall(PetscFree5(u, y, loc, glob, work));
  PetscCall(PetscFree(st));
  PetscCall(PetscFree(d));
  PetscFunctionReturn(0);
}
