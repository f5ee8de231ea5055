/* InvMemberRK: explicit embedded Runge-Kutta over a batch of independent members, each member with its
   own adaptive step (batchts.h). The tableau, tolerances and step controller are those of the TS of an
   InvBatchTS (PETSc's TSRK tableau and TSADAPTBASIC rule), so the method is the batched TS's with the
   error measured per member instead of over the batch. Members are lanes of arrays; a lane whose member
   has finished is refilled from the last active lane, so every pass over the arrays does useful work. */
#include "batchtsimpl.h"
#include <petscts.h>
#include <string.h>

#define INV_MEMBER_MAX_REJECTIONS 50    /* consecutive rejected attempts before a member is diverged (as InvBatchTS) */
#define INV_MEMBER_DOMAIN_LIMIT   1e200 /* a state whose squared norm exceeds this is treated as non-finite (as InvBatchTS) */
#define INV_MEMBER_TOL            3e-7  /* default rtol = atol with one step per member: see InvMemberRKSetDefaultTolerances() */
#define INV_MEMBER_ERR_TINY       1e-20 /* errors below this count as this: the factor is then above clip1 for any order <= 20 */
#define INV_MEMBER_LOG2_MAX       64.0  /* |log2| of a step factor beyond which the clip to [clip0, clip1] decides anyway */

struct _p_InvMemberRK {
  InvModel model;
  PetscInt bmax, nt, s, order;
  PetscReal *times;
  PetscReal *A, *b, *c; /* copies of the TS's tableau */
  PetscReal *d;         /* b - bembed: the error estimate's weights */
  PetscReal atol, rtol, safety, reject_safety, clip[2], hmin, hmax, dt0, scale_failed;
  PetscInt maxsteps;
  /* lanes (na active): state, parameters and per-member controller state */
  PetscReal *X, *Xn, *E, *Y, *K, *hv, *theta, *t, *tnext, *h, *hstep, *err, *fac;
  PetscInt *member, *k, *steps, *rejects;
  PetscBool *rejected, *nonfinite;
  int *landing; /* int, not PetscBool (an enum): the loop that sets it is vectorised */
  PetscInt64 nsteps, niter, nsolves;
};

/* The shared step of InvBatchTS (max norm over up to 256 members) is set by the hardest member at each
   moment, so at rtol = atol = 1e-6 the others run far below their tolerance (max error 1.3e-6 against the
   tight reference over 256 prior samples). One step per member at 1e-6 gives the error of a member alone,
   2.0e-5 (as one TSSolve per sample: 2.2e-5); INV_MEMBER_TOL restores the accuracy target (max error
   <= 1e-5, docs/performance.md). Sets -<prefix>ts_rtol and -<prefix>ts_atol unless given. */
PetscErrorCode InvMemberRKSetDefaultTolerances(const char prefix[])
{
  const char *names[] = {"ts_rtol", "ts_atol"};
  char opt[128], val[32];

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(val, sizeof(val), "%g", INV_MEMBER_TOL));
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    PetscBool set;
    PetscCall(PetscSNPrintf(opt, sizeof(opt), "-%s%s", prefix ? prefix : "", names[i]));
    PetscCall(PetscOptionsHasName(NULL, NULL, opt, &set));
    if (!set) PetscCall(PetscOptionsSetValue(NULL, opt, val));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvMemberRKCreate(InvBatchTS bts, InvModel model, PetscInt bmax, PetscInt nt, const PetscReal times[], InvMemberRK *rk)
{
  TS ts;
  TSAdapt adapt;
  TSAdaptType atype;
  PetscBool isrk, basic;
  Vec vatol, vrtol;
  InvMemberRK r;
  PetscInt pinterp, len;
  const PetscReal *A, *b, *c, *bembed, *binterp;
  PetscBool fsal;

  PetscFunctionBegin;
  *rk = NULL;
  PetscCall(InvBatchTSGetTS(bts, &ts));
  PetscCall(PetscObjectTypeCompare((PetscObject)ts, TSRK, &isrk));
  PetscCall(TSGetAdapt(ts, &adapt));
  PetscCall(TSAdaptGetType(adapt, &atype));
  PetscCall(PetscStrcmp(atype, TSADAPTBASIC, &basic));
  PetscCall(TSGetTolerances(ts, NULL, &vatol, NULL, &vrtol));
  if (!isrk || !basic || vatol || vrtol) PetscFunctionReturn(0); /* not an adaptive explicit RK with scalar tolerances */
  PetscCall(PetscNew(&r));
  /* FSAL (6vr): the last stage is f(Xn); not reused, as the model RHS is a small part of the cost */
  PetscCall(TSRKGetTableau(ts, &r->s, &A, &b, &c, &bembed, &pinterp, &binterp, &fsal));
  if (!bembed) {
    PetscCall(PetscFree(r));
    PetscFunctionReturn(0);
  }
  PetscCall(TSRKGetOrder(ts, &r->order));
  PetscCall(TSGetTolerances(ts, &r->atol, NULL, &r->rtol, NULL));
  PetscCall(TSAdaptGetSafety(adapt, &r->safety, &r->reject_safety));
  PetscCall(TSAdaptGetClip(adapt, &r->clip[0], &r->clip[1]));
  PetscCall(TSAdaptGetStepLimits(adapt, &r->hmin, &r->hmax));
  PetscCall(TSAdaptGetScaleSolveFailed(adapt, &r->scale_failed));
  PetscCall(TSGetMaxSteps(ts, &r->maxsteps));
  PetscCall(TSGetTimeStep(ts, &r->dt0));
  r->model = model;
  r->bmax = bmax;
  r->nt = nt;
  PetscCall(PetscMalloc5(nt, &r->times, r->s * r->s, &r->A, r->s, &r->b, r->s, &r->c, r->s, &r->d));
  PetscCall(PetscArraycpy(r->A, A, r->s * r->s));
  PetscCall(PetscArraycpy(r->b, b, r->s));
  PetscCall(PetscArraycpy(r->c, c, r->s));
  PetscCall(PetscArraycpy(r->times, times, nt));
  for (PetscInt j = 0; j < r->s; j++) r->d[j] = b[j] - bembed[j];
  len = bmax * model->nstate;
  PetscCall(PetscMalloc6(len, &r->X, len, &r->Xn, len, &r->E, len, &r->Y, r->s * len, &r->K, len, &r->hv));
  PetscCall(PetscMalloc7(bmax * model->nparam, &r->theta, bmax, &r->t, bmax, &r->tnext, bmax, &r->h, bmax, &r->hstep, bmax, &r->err, bmax,
                         &r->fac));
  PetscCall(PetscMalloc4(bmax, &r->member, bmax, &r->k, bmax, &r->steps, bmax, &r->rejects));
  PetscCall(PetscMalloc3(bmax, &r->landing, bmax, &r->rejected, bmax, &r->nonfinite));
  *rk = r;
  PetscFunctionReturn(0);
}

/* err^negrecip = err^(-1/order), the controller's raw step factor, without pow() (libm's pow took a quarter of
   the run time): log2 from the exponent bits and the atanh series of the mantissa (s < 1/3, 4 terms), 2^x from
   the nearest integer and a degree-6 Taylor polynomial on [-1/2, 1/2]; relative error < 2e-5 against pow().
   The factor is a step-size heuristic clipped to [clip0, clip1], so this accuracy is ample; the result is
   deterministic. Integer and float conversions go through the bits (adding 2^52 + 2^51 rounds to an integer),
   so the loop over lanes has no conversion that could trap and is vectorised. */
static inline PetscReal InvMemberRKStepFactor(PetscReal err, PetscReal negrecip)
{
  const PetscReal ln2 = 0.69314718055994531, round = 0x1.8p52;
  const uint64_t mant = 0x000fffffffffffffULL, one = 0x3ff0000000000000ULL, two52 = 0x4330000000000000ULL, bias = 1023;
  union {
    PetscReal d;
    uint64_t u;
  } c, e, q;
  PetscReal sv, s2, lg, x, t, f, p;

  c.d = err;
  e.u = two52 | ((c.u >> 52) & 0x7ff); /* 2^52 + the biased exponent */
  c.u = (c.u & mant) | one;            /* the mantissa in [1, 2) */
  sv = (c.d - 1) / (c.d + 1);
  s2 = sv * sv;
  lg = (e.d - 0x1p52 - (PetscReal)bias) + 2.0 / ln2 * sv * (1 + s2 * (1.0 / 3 + s2 * (1.0 / 5 + s2 * (1.0 / 7))));
  x = lg * negrecip;
  x = x < -INV_MEMBER_LOG2_MAX ? -INV_MEMBER_LOG2_MAX : x;
  x = x > INV_MEMBER_LOG2_MAX ? INV_MEMBER_LOG2_MAX : x;
  t = x + round; /* the low bits of t hold n = round(x) */
  q.d = t;
  f = (x - (t - round)) * ln2;
  p = 1 + f * (1 + f * (1.0 / 2) * (1 + f * (1.0 / 3) * (1 + f * (1.0 / 4) * (1 + f * (1.0 / 5) * (1 + f * (1.0 / 6))))));
  q.u = (q.u - 0x4338000000000000ULL + bias) << 52; /* 2^n, |n| <= INV_MEMBER_LOG2_MAX */
  return p * q.d;
}

/* f at the stage states Y of the na active lanes; lane l at time t_l + c h_l. */
static PetscErrorCode InvMemberRKRHS(InvMemberRK r, PetscInt na, PetscReal cs, const PetscReal Y[], PetscReal F[])
{
  const PetscInt ns = r->model->nstate, np = r->model->nparam;

  PetscFunctionBegin;
  if (r->model->autonomous)
    PetscCall(r->model->ops.rhs(r->model, 0.0, na, Y, r->theta, F));
  else
    for (PetscInt l = 0; l < na; l++)
      PetscCall(r->model->ops.rhs(r->model, r->t[l] + cs * r->hstep[l], 1, Y + l * ns, r->theta + l * np, F + l * ns));
  PetscFunctionReturn(0);
}

/* One attempted step of every active lane: Xn (the solution) and E (solution minus embedded solution). */
static PetscErrorCode InvMemberRKAttempt(InvMemberRK r, PetscInt na)
{
  const PetscInt ns = r->model->nstate, len = na * ns, s = r->s, stride = r->bmax * ns;
  PetscReal *K = r->K, *Y = r->Y, *hv = r->hv;
  const PetscReal *X = r->X;

  PetscFunctionBegin;
  for (PetscInt l = 0; l < na; l++)
    for (PetscInt i = 0; i < ns; i++) hv[l * ns + i] = r->hstep[l];
  PetscCall(InvMemberRKRHS(r, na, r->c[0], X, K));
  for (PetscInt st = 1; st < s; st++) {
    const PetscReal *a = r->A + st * s;
    for (PetscInt q = 0; q < len; q++) Y[q] = a[0] * K[q];
    for (PetscInt j = 1; j < st; j++) {
      const PetscReal aj = a[j], *Kj = K + j * stride;
      if (aj == 0) continue;
      for (PetscInt q = 0; q < len; q++) Y[q] += aj * Kj[q];
    }
    for (PetscInt q = 0; q < len; q++) Y[q] = X[q] + hv[q] * Y[q];
    PetscCall(InvMemberRKRHS(r, na, r->c[st], Y, K + st * stride));
  }
  for (PetscInt q = 0; q < len; q++) {
    r->Xn[q] = r->b[0] * K[q];
    r->E[q] = r->d[0] * K[q];
  }
  for (PetscInt j = 1; j < s; j++) {
    const PetscReal bj = r->b[j], dj = r->d[j], *Kj = K + j * stride;
    for (PetscInt q = 0; q < len; q++) {
      r->Xn[q] += bj * Kj[q];
      r->E[q] += dj * Kj[q];
    }
  }
  for (PetscInt q = 0; q < len; q++) {
    r->Xn[q] = X[q] + hv[q] * r->Xn[q];
    r->E[q] = hv[q] * r->E[q];
  }
  PetscFunctionReturn(0);
}

/* Observed components of lane l into row k of its member's series; the lane's next target time. */
static inline void InvMemberRKRecord(InvMemberRK r, PetscInt l, PetscReal y[])
{
  const PetscInt ns = r->model->nstate, no = r->model->nobs;
  const PetscReal *H = r->model->H, *x = r->X + l * ns;
  PetscReal *ym = y + (r->member[l] * r->nt + r->k[l]) * no;

  for (PetscInt c = 0; c < no; c++) {
    PetscReal v = 0;
    for (PetscInt i = 0; i < ns; i++) v += H[c * ns + i] * x[i];
    ym[c] = v;
  }
  r->k[l]++;
  if (r->k[l] < r->nt) r->tnext[l] = r->times[r->k[l]];
}

/* Move lane `from` into lane `to` (a finished member's lane is refilled from the last active one). */
static PetscErrorCode InvMemberRKMoveLane(InvMemberRK r, PetscInt from, PetscInt to)
{
  const PetscInt ns = r->model->nstate, np = r->model->nparam;

  PetscFunctionBegin;
  if (from == to) PetscFunctionReturn(0);
  PetscCall(PetscArraycpy(r->X + to * ns, r->X + from * ns, ns));
  PetscCall(PetscArraycpy(r->theta + to * np, r->theta + from * np, np));
  r->t[to] = r->t[from];
  r->tnext[to] = r->tnext[from];
  r->h[to] = r->h[from];
  r->member[to] = r->member[from];
  r->k[to] = r->k[from];
  r->steps[to] = r->steps[from];
  r->rejects[to] = r->rejects[from];
  r->rejected[to] = r->rejected[from];
  r->nonfinite[to] = r->nonfinite[from];
  PetscFunctionReturn(0);
}

PetscErrorCode InvMemberRKSolve(InvMemberRK r, PetscInt nb, const PetscReal theta[], PetscReal y[], PetscInt status[])
{
  const PetscInt ns = r->model->nstate, np = r->model->nparam, per = r->nt * r->model->nobs;
  const PetscReal hfloor = (1 + PETSC_SQRT_MACHINE_EPSILON) * r->hmin, negrecip = -1.0 / r->order;
  PetscInt na = 0;

  PetscFunctionBegin;
  PetscCheck(nb >= 1 && nb <= r->bmax, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "Batch of %" PetscInt_FMT " members exceeds the solver's %" PetscInt_FMT, nb, r->bmax);
  PetscCall(PetscLogEventBegin(INV_SimulateBatch, 0, 0, 0, 0));
  for (PetscInt m = 0; m < nb; m++) {
    const PetscBool finite = InvBatchTSThetaFinite(np, theta + m * np);
    status[m] = finite ? INV_STATUS_OK : INV_STATUS_BADPARAM;
    if (!finite) continue;
    PetscCall(PetscArraycpy(r->theta + na * np, theta + m * np, np));
    r->member[na] = m;
    r->t[na] = 0;
    r->h[na] = r->dt0;
    r->k[na] = 0;
    r->tnext[na] = r->times[0];
    r->steps[na] = r->rejects[na] = 0;
    r->rejected[na] = r->nonfinite[na] = PETSC_FALSE;
    na++;
  }
  if (na > 0) PetscCall(r->model->ops.initial(r->model, na, r->theta, r->X));
  for (PetscInt l = na - 1; l >= 0; l--) { /* an observation at the initial time */
    if (r->times[0] == 0) InvMemberRKRecord(r, l, y);
    if (r->k[l] == r->nt) PetscCall(InvMemberRKMoveLane(r, --na, l));
  }
  while (na > 0) {
#pragma omp simd
    for (PetscInt l = 0; l < na; l++) { /* step to the next observation time at most */
      const int land = r->t[l] + r->h[l] >= r->tnext[l];
      r->landing[l] = land;
      r->hstep[l] = land ? r->tnext[l] - r->t[l] : r->h[l];
    }
    PetscCall(InvMemberRKAttempt(r, na));
    r->niter++;
    /* the weighted error of each lane in the max norm and its raw step factor: branch-free loops, vectorised */
    for (PetscInt q = 0; q < na * ns; q++) {
      const PetscReal xq = r->Xn[q], eq = r->E[q];
      r->Y[q] = PetscAbsReal(eq) / (r->atol + r->rtol * PetscMax(PetscAbsReal(xq), PetscAbsReal(xq - eq)));
      r->hv[q] = xq * xq + eq * eq;
    }
    for (PetscInt l = 0; l < na; l++) {
      PetscReal err = r->Y[l * ns], sq = r->hv[l * ns];
      for (PetscInt i = 1; i < ns; i++) {
        err = PetscMax(err, r->Y[l * ns + i]);
        sq += r->hv[l * ns + i];
      }
      r->err[l] = (sq <= INV_MEMBER_DOMAIN_LIMIT) ? err : (PetscReal)NAN; /* NaN fails every comparison below */
    }
#pragma omp simd
    for (PetscInt l = 0; l < na; l++)
      r->fac[l] = InvMemberRKStepFactor(r->err[l] > INV_MEMBER_ERR_TINY ? r->err[l] : INV_MEMBER_ERR_TINY, negrecip);
    for (PetscInt l = na - 1; l >= 0; l--) {
      const PetscReal *xn = r->Xn + l * ns, h = r->hstep[l], err = r->err[l];
      PetscReal hfac, hnew;
      PetscBool finite, accept, done = PETSC_FALSE;

      finite = err <= PETSC_MAX_REAL ? PETSC_TRUE : PETSC_FALSE; /* false for Inf and NaN */
      accept = finite && (err <= 1 || h < hfloor) ? PETSC_TRUE : PETSC_FALSE;
      if (!finite) {
        r->nonfinite[l] = PETSC_TRUE;
        hnew = h * r->scale_failed;
      } else {
        const PetscReal safety = (!accept && r->rejected[l]) ? r->safety * r->reject_safety : r->safety;
        hfac = safety * r->fac[l];
        hnew = h * PetscClipInterval(hfac, r->clip[0], r->clip[1]);
      }
      if (accept) {
        for (PetscInt i = 0; i < ns; i++) r->X[l * ns + i] = xn[i];
        r->steps[l]++;
        r->rejects[l] = 0;
        r->rejected[l] = PETSC_FALSE;
        if (r->landing[l]) {
          r->t[l] = r->tnext[l];
          InvMemberRKRecord(r, l, y);
          hnew = PetscMax(hnew, r->h[l]); /* a step shortened to land on an observation time does not shrink the next one */
          if (r->k[l] == r->nt) done = PETSC_TRUE;
        } else
          r->t[l] += h;
        if (!done && r->steps[l] >= r->maxsteps) {
          status[r->member[l]] = INV_STATUS_MAXSTEPS;
          done = PETSC_TRUE;
        }
      } else {
        r->rejected[l] = PETSC_TRUE;
        if (++r->rejects[l] > INV_MEMBER_MAX_REJECTIONS) {
          status[r->member[l]] = r->nonfinite[l] ? INV_STATUS_NONFINITE : INV_STATUS_DIVERGED;
          done = PETSC_TRUE;
        }
      }
      r->h[l] = PetscClipInterval(hnew, r->hmin, r->hmax);
      if (done) {
        r->nsteps += r->steps[l];
        PetscCall(InvMemberRKMoveLane(r, --na, l));
      }
    }
  }
  for (PetscInt m = 0; m < nb; m++)
    if (status[m] != INV_STATUS_OK)
      for (PetscInt i = 0; i < per; i++) y[m * per + i] = NAN;
  r->nsolves++;
  PetscCall(PetscLogEventEnd(INV_SimulateBatch, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode InvMemberRKGetStats(InvMemberRK r, PetscInt64 *steps, PetscInt64 *iterations, PetscInt64 *solves)
{
  PetscFunctionBegin;
  if (steps) *steps = r->nsteps;
  if (iterations) *iterations = r->niter;
  if (solves) *solves = r->nsolves;
  PetscFunctionReturn(0);
}

PetscErrorCode InvMemberRKDestroy(InvMemberRK *rk)
{
  InvMemberRK r = *rk;

  PetscFunctionBegin;
  if (!r) PetscFunctionReturn(0);
  PetscCall(PetscFree5(r->times, r->A, r->b, r->c, r->d));
  PetscCall(PetscFree6(r->X, r->Xn, r->E, r->Y, r->K, r->hv));
  PetscCall(PetscFree7(r->theta, r->t, r->tnext, r->h, r->hstep, r->err, r->fac));
  PetscCall(PetscFree4(r->member, r->k, r->steps, r->rejects));
  PetscCall(PetscFree3(r->landing, r->rejected, r->nonfinite));
  PetscCall(PetscFree(r));
  *rk = NULL;
  PetscFunctionReturn(0);
}

const char *const InvStepControls[] = {"member", "batch", "InvStepControl", "INV_STEP_", NULL};

PetscErrorCode InvForwardSolverCreate(InvModel model, PetscInt batch, PetscInt nt, const PetscReal t[], PetscInt step_control,
                                      InvBatchTS *bts, InvMemberRK *rk)
{
  const PetscBool member = step_control == 0 ? PETSC_TRUE : PETSC_FALSE; /* InvStepControls[0] */

  PetscFunctionBegin;
  *rk = NULL;
  if (member) PetscCall(InvMemberRKSetDefaultTolerances(NULL));
  PetscCall(InvBatchTSCreate(model, batch, NULL, bts));
  PetscCall(InvBatchTSSetObservationTimes(*bts, nt, t));
  PetscCall(InvBatchTSSetFromOptions(*bts));
  if (member) {
    PetscCall(InvMemberRKCreate(*bts, model, batch, nt, t, rk));
    if (!*rk)
      PetscCall(
          PetscInfo(NULL, "-step_control member needs an adaptive explicit RK with an embedded pair: the batch shares the TS's steps\n"));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvForwardSolve(InvBatchTS bts, InvMemberRK rk, PetscInt nb, const PetscReal theta[], PetscReal y[], PetscInt status[])
{
  PetscFunctionBegin;
  if (rk)
    PetscCall(InvMemberRKSolve(rk, nb, theta, y, status));
  else
    PetscCall(InvBatchTSSolve(bts, nb, theta, y, status));
  PetscFunctionReturn(0);
}
