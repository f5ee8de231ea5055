/* Hodgkin-Huxley neuron (docs/science.md section 9): membrane potential V (mV) and the gating variables m, h, n,
     C V' = I - g_Na m^3 h (V - E_Na) - g_K n^4 (V - E_K) - g_L (V - E_L),
     g'   = alpha_g(V) (1 - g) - beta_g(V) g   for g = m, h, n,
   with the rate functions (1/ms) of the modern convention (rest at -65 mV; Hodgkin & Huxley, J. Physiol. 117:500,
   1952, as tabulated in Gerstner et al., "Neuronal Dynamics", 2014, table 2.1):
     alpha_m = 0.1 (V + 40) / (1 - exp(-(V + 40) / 10)),   beta_m = 4 exp(-(V + 65) / 18),
     alpha_h = 0.07 exp(-(V + 65) / 20),                    beta_h = 1 / (1 + exp(-(V + 35) / 10)),
     alpha_n = 0.01 (V + 55) / (1 - exp(-(V + 55) / 10)),   beta_n = 0.125 exp(-(V + 65) / 80).
   Time in ms, C = 1 uF/cm^2, conductances in mS/cm^2, the current I in uA/cm^2. The state starts at rest
   (V = -65 mV, each gate at its steady state there), independent of the parameters. Observed: V / V_scale
   (V_scale = 25 mV, fixed), so that the spikes (about 100 mV) have the size of FitzHugh-Nagumo's u and the AR(1) noise
   of docs/science.md section 2 is scaled to the signal. Uncertain: `hh` g_Na and g_K; `hh4` also g_L and I.
   The gates' fast time scale (tau_m ~ 0.1-0.5 ms against a spike period of about 15 ms) makes the model mildly
   stiff, but not enough for implicit steps to pay: measured on 64 prior samples (docs/science.md section 9), the
   per-member explicit RK of the forward ensemble is 125x faster than batched BDF and 4e4x more accurate, so the
   model keeps the explicit defaults; the implicit path (-ts_type bdf, -map_ts_type cn) works on it and is tested. */
#include <invmap/model.h>
#include <math.h>

enum { HH_V, HH_M, HH_H, HH_N, HH_NS };                       /* states */
enum { HH_GNA, HH_GK, HH_GL, HH_I, HH_NP_MAX };               /* parameters, in the order of hh4 */
enum { HH_C, HH_ENA, HH_EK, HH_EL, HH_GL_CONST, HH_I_CONST }; /* constants (g_L and I only in hh) */

#define HH_NP_SMALL    2       /* hh: g_Na, g_K */
#define HH_V_REST      (-65.0) /* mV */
#define HH_V_SCALE     25.0    /* mV: the observation is V / HH_V_SCALE */
#define HH_VTRAP_SMALL 1e-2    /* |x / y| below which vtrap uses its series (no cancellation) */

typedef struct {
  PetscInt np; /* 2 (hh: g_Na, g_K) or 4 (hh4: also g_L and I) */
} HHCtx;

/* vtrap(x, y) = x / (1 - exp(-x / y)) = y g(x / y) with g(u) = u / (1 - e^-u), and its first two derivatives in x:
   g'(u) and g''(u) / y. Near u = 0, the series g = 1 + u/2 + u^2/12 - u^4/720, g' = 1/2 + u/6 - u^3/180,
   g'' = 1/6 - u^2/60 + u^4/1008 (Bernoulli numbers) avoid the cancellation of the closed forms. */
static void VTrap(PetscReal x, PetscReal y, PetscReal v[3])
{
  const PetscReal u = x / y;
  if (PetscAbsReal(u) < HH_VTRAP_SMALL) {
    const PetscReal u2 = u * u;
    v[0] = y * (1 + u / 2 + u2 / 12 - u2 * u2 / 720);
    v[1] = 0.5 + u / 6 - u2 * u / 180;
    v[2] = (1.0 / 6 - u2 / 60 + u2 * u2 / 1008) / y;
  } else {
    const PetscReal E = exp(-u), D = -expm1(-u); /* D = 1 - e^-u */
    v[0] = y * u / D;
    v[1] = 1 / D - u * E / (D * D);
    v[2] = (-2 * E / (D * D) + u * E / (D * D) + 2 * u * E * E / (D * D * D)) / y;
  }
}

/* rate r(V) = a exp(-(V - v0) / s) and its derivatives */
static void Expo(PetscReal V, PetscReal a, PetscReal v0, PetscReal s, PetscReal r[3])
{
  r[0] = a * exp(-(V - v0) / s);
  r[1] = -r[0] / s;
  r[2] = r[0] / (s * s);
}

/* alpha[g][d], beta[g][d]: the rates of gate g (0 m, 1 h, 2 n) and their d-th derivatives in V */
static void HHRates(PetscReal V, PetscReal alpha[3][3], PetscReal beta[3][3])
{
  PetscReal t[3];
  VTrap(V + 40, 10, t);
  for (int d = 0; d < 3; d++) alpha[0][d] = 0.1 * t[d];
  Expo(V, 4.0, -65, 18, beta[0]);
  Expo(V, 0.07, -65, 20, alpha[1]);
  {
    const PetscReal s = 1 / (1 + exp(-(V + 35) / 10));
    beta[1][0] = s;
    beta[1][1] = s * (1 - s) / 10;
    beta[1][2] = s * (1 - s) * (1 - 2 * s) / 100;
  }
  VTrap(V + 55, 10, t);
  for (int d = 0; d < 3; d++) alpha[2][d] = 0.01 * t[d];
  Expo(V, 0.125, -65, 80, beta[2]);
}

/* the conductances and current of member b: uncertain ones from theta, the others from the constants */
static void HHParams(InvModel m, const PetscReal th[], PetscReal p[HH_NP_MAX])
{
  const HHCtx *ctx = (const HHCtx *)m->data;
  p[HH_GNA] = th[HH_GNA];
  p[HH_GK] = th[HH_GK];
  p[HH_GL] = ctx->np > HH_GL ? th[HH_GL] : m->consts[HH_GL_CONST];
  p[HH_I] = ctx->np > HH_I ? th[HH_I] : m->consts[HH_I_CONST];
}

static PetscErrorCode HHRHS(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[], PetscScalar f[])
{
  const PetscReal *k = m->consts;
  const PetscInt np = m->nparam;

  for (PetscInt b = 0; b < nb; b++) {
    const PetscScalar *s = x + HH_NS * b;
    PetscReal p[HH_NP_MAX], al[3][3], be[3][3];
    HHParams(m, th + np * b, p);
    HHRates(s[HH_V], al, be);
    f[HH_NS * b + HH_V] = (p[HH_I] - p[HH_GNA] * s[HH_M] * s[HH_M] * s[HH_M] * s[HH_H] * (s[HH_V] - k[HH_ENA]) -
                           p[HH_GK] * PetscPowRealInt(s[HH_N], 4) * (s[HH_V] - k[HH_EK]) - p[HH_GL] * (s[HH_V] - k[HH_EL])) /
                          k[HH_C];
    for (int g = 0; g < 3; g++) f[HH_NS * b + HH_M + g] = al[g][0] * (1 - s[HH_M + g]) - be[g][0] * s[HH_M + g];
  }
  return 0;
}

/* the 4 x 4 Jacobian of one member */
static void HHJacobianOne(InvModel m, const PetscScalar s[], const PetscReal p[], PetscScalar J[HH_NS * HH_NS])
{
  const PetscReal *k = m->consts, V = s[HH_V], mm = s[HH_M], h = s[HH_H], n = s[HH_N];
  PetscReal al[3][3], be[3][3];

  HHRates(V, al, be);
  for (int i = 0; i < HH_NS * HH_NS; i++) J[i] = 0;
  J[HH_V * HH_NS + HH_V] = -(p[HH_GNA] * mm * mm * mm * h + p[HH_GK] * PetscPowRealInt(n, 4) + p[HH_GL]) / k[HH_C];
  J[HH_V * HH_NS + HH_M] = -3 * p[HH_GNA] * mm * mm * h * (V - k[HH_ENA]) / k[HH_C];
  J[HH_V * HH_NS + HH_H] = -p[HH_GNA] * mm * mm * mm * (V - k[HH_ENA]) / k[HH_C];
  J[HH_V * HH_NS + HH_N] = -4 * p[HH_GK] * n * n * n * (V - k[HH_EK]) / k[HH_C];
  for (int g = 0; g < 3; g++) {
    J[(HH_M + g) * HH_NS + HH_V] = al[g][1] * (1 - s[HH_M + g]) - be[g][1] * s[HH_M + g];
    J[(HH_M + g) * HH_NS + HH_M + g] = -(al[g][0] + be[g][0]);
  }
}

static PetscErrorCode HHJacobian(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[], PetscScalar J[])
{
  for (PetscInt b = 0; b < nb; b++) {
    PetscReal p[HH_NP_MAX];
    HHParams(m, th + m->nparam * b, p);
    HHJacobianOne(m, x + HH_NS * b, p, J + HH_NS * HH_NS * b);
  }
  return 0;
}

/* d f_V / d(g_Na, g_K, g_L, I); the gates do not depend on the parameters */
static void HHdVdp(InvModel m, const PetscScalar s[], PetscReal d[HH_NP_MAX])
{
  const PetscReal *k = m->consts, V = s[HH_V];
  d[HH_GNA] = -s[HH_M] * s[HH_M] * s[HH_M] * s[HH_H] * (V - k[HH_ENA]) / k[HH_C];
  d[HH_GK] = -PetscPowRealInt(s[HH_N], 4) * (V - k[HH_EK]) / k[HH_C];
  d[HH_GL] = -(V - k[HH_EL]) / k[HH_C];
  d[HH_I] = 1 / k[HH_C];
}

static PetscErrorCode HHJacobianP(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[], PetscScalar Jp[])
{
  const PetscInt np = m->nparam;

  for (PetscInt b = 0; b < nb; b++) {
    PetscReal d[HH_NP_MAX];
    PetscScalar *Jb = Jp + HH_NS * np * b;
    HHdVdp(m, x + HH_NS * b, d);
    for (PetscInt i = 0; i < HH_NS * np; i++) Jb[i] = 0;
    for (PetscInt j = 0; j < np; j++) Jb[HH_V * np + j] = d[j];
  }
  return 0;
}

/* sum_i lam_i d2 f_i / dx dx (4 x 4, symmetric) of one member */
static void HHHessianStates(InvModel m, const PetscScalar s[], const PetscReal p[], const PetscScalar lam[], PetscReal H[HH_NS][HH_NS])
{
  const PetscReal *k = m->consts, V = s[HH_V], mm = s[HH_M], h = s[HH_H], n = s[HH_N], lv = lam[HH_V] / k[HH_C];
  const PetscReal dNa = V - k[HH_ENA], dK = V - k[HH_EK];
  PetscReal al[3][3], be[3][3];

  HHRates(V, al, be);
  for (int i = 0; i < HH_NS; i++)
    for (int j = 0; j < HH_NS; j++) H[i][j] = 0;
  /* f_V */
  H[HH_V][HH_M] = H[HH_M][HH_V] = -lv * 3 * p[HH_GNA] * mm * mm * h;
  H[HH_V][HH_H] = H[HH_H][HH_V] = -lv * p[HH_GNA] * mm * mm * mm;
  H[HH_V][HH_N] = H[HH_N][HH_V] = -lv * 4 * p[HH_GK] * n * n * n;
  H[HH_M][HH_M] = -lv * 6 * p[HH_GNA] * mm * h * dNa;
  H[HH_M][HH_H] = H[HH_H][HH_M] = -lv * 3 * p[HH_GNA] * mm * mm * dNa;
  H[HH_N][HH_N] = -lv * 12 * p[HH_GK] * n * n * dK;
  /* the gates */
  for (int g = 0; g < 3; g++) {
    const PetscReal lg = lam[HH_M + g];
    H[HH_V][HH_V] += lg * (al[g][2] * (1 - s[HH_M + g]) - be[g][2] * s[HH_M + g]);
    H[HH_V][HH_M + g] += -lg * (al[g][1] + be[g][1]);
    H[HH_M + g][HH_V] += -lg * (al[g][1] + be[g][1]);
  }
}

static PetscErrorCode HHHessianXX(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[],
                                  const PetscScalar lam[], const PetscScalar v[], PetscScalar out[])
{
  for (PetscInt b = 0; b < nb; b++) {
    PetscReal p[HH_NP_MAX], H[HH_NS][HH_NS];
    HHParams(m, th + m->nparam * b, p);
    HHHessianStates(m, x + HH_NS * b, p, lam + HH_NS * b, H);
    for (int j = 0; j < HH_NS; j++)
      for (int l = 0; l < HH_NS; l++) out[HH_NS * b + j] += H[j][l] * v[HH_NS * b + l];
  }
  return 0;
}

/* M[j][k] = d2 f_V / dx_j dtheta_k of one member (only f_V depends on the parameters) */
static void HHMixed(InvModel m, const PetscScalar s[], PetscReal M[HH_NS][HH_NP_MAX])
{
  const PetscReal *k = m->consts, V = s[HH_V], mm = s[HH_M], h = s[HH_H], n = s[HH_N], ic = 1 / k[HH_C];

  for (int j = 0; j < HH_NS; j++)
    for (int l = 0; l < HH_NP_MAX; l++) M[j][l] = 0;
  M[HH_V][HH_GNA] = -mm * mm * mm * h * ic;
  M[HH_M][HH_GNA] = -3 * mm * mm * h * (V - k[HH_ENA]) * ic;
  M[HH_H][HH_GNA] = -mm * mm * mm * (V - k[HH_ENA]) * ic;
  M[HH_V][HH_GK] = -PetscPowRealInt(n, 4) * ic;
  M[HH_N][HH_GK] = -4 * n * n * n * (V - k[HH_EK]) * ic;
  M[HH_V][HH_GL] = -ic;
}

static PetscErrorCode HHHessianXP(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[],
                                  const PetscScalar lam[], const PetscScalar v[], PetscScalar out[])
{
  const PetscInt np = m->nparam;

  for (PetscInt b = 0; b < nb; b++) {
    PetscReal M[HH_NS][HH_NP_MAX];
    HHMixed(m, x + HH_NS * b, M);
    for (int j = 0; j < HH_NS; j++)
      for (PetscInt l = 0; l < np; l++) out[HH_NS * b + j] += lam[HH_NS * b + HH_V] * M[j][l] * v[np * b + l];
  }
  return 0;
}

static PetscErrorCode HHHessianPX(InvModel m, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal th[],
                                  const PetscScalar lam[], const PetscScalar v[], PetscScalar out[])
{
  const PetscInt np = m->nparam;

  for (PetscInt b = 0; b < nb; b++) {
    PetscReal M[HH_NS][HH_NP_MAX];
    HHMixed(m, x + HH_NS * b, M);
    for (PetscInt l = 0; l < np; l++)
      for (int j = 0; j < HH_NS; j++) out[np * b + l] += lam[HH_NS * b + HH_V] * M[j][l] * v[HH_NS * b + j];
  }
  return 0;
}

/* rest: V = -65 mV, each gate at alpha / (alpha + beta) there */
static PetscErrorCode HHInitial(InvModel m, PetscInt nb, const PetscReal th[], PetscScalar x0[])
{
  PetscReal al[3][3], be[3][3];

  HHRates(HH_V_REST, al, be);
  for (PetscInt b = 0; b < nb; b++) {
    x0[HH_NS * b + HH_V] = HH_V_REST;
    for (int g = 0; g < 3; g++) x0[HH_NS * b + HH_M + g] = al[g][0] / (al[g][0] + be[g][0]);
  }
  return 0;
}

static PetscErrorCode HHDestroy(InvModel m)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(m->data));
  PetscFunctionReturn(0);
}

static PetscErrorCode HHCreate(InvModel m, PetscInt np)
{
  HHCtx *ctx;

  PetscFunctionBegin;
  PetscCall(PetscNew(&ctx));
  ctx->np = np;
  m->data = ctx;
  PetscCall(InvModelSetDimensions(m, HH_NS, np, 1));
  PetscCall(PetscStrncpy(m->state_names[HH_V], "V", INV_MAX_NAME));
  PetscCall(PetscStrncpy(m->state_names[HH_M], "m", INV_MAX_NAME));
  PetscCall(PetscStrncpy(m->state_names[HH_H], "h", INV_MAX_NAME));
  PetscCall(PetscStrncpy(m->state_names[HH_N], "n", INV_MAX_NAME));
  PetscCall(InvModelAddConstant(m, "C", 1.0, "membrane capacitance (uF/cm^2)"));
  PetscCall(InvModelAddConstant(m, "E_Na", 50.0, "sodium reversal potential (mV)"));
  PetscCall(InvModelAddConstant(m, "E_K", -77.0, "potassium reversal potential (mV)"));
  PetscCall(InvModelAddConstant(m, "E_L", -54.387, "leak reversal potential (mV)"));
  if (np == HH_NP_SMALL) { /* uncertain in hh4 */
    PetscCall(InvModelAddConstant(m, "g_L", 0.3, "leak conductance (mS/cm^2)"));
    PetscCall(InvModelAddConstant(m, "I", 10.0, "input current (uA/cm^2)"));
  }
  m->H[HH_V] = 1.0 / HH_V_SCALE; /* observe V / V_scale */
  PetscCall(InvModelSetParameter(m, HH_GNA, "g_Na", 120.0, 12.0, 90.0, 150.0));
  PetscCall(InvModelSetParameter(m, HH_GK, "g_K", 36.0, 4.0, 27.0, 45.0));
  if (np > HH_GL) PetscCall(InvModelSetParameter(m, HH_GL, "g_L", 0.3, 0.05, 0.2, 0.4));
  if (np > HH_I) PetscCall(InvModelSetParameter(m, HH_I, "I", 10.0, 1.0, 8.0, 12.0));
  m->ops.rhs = HHRHS;
  m->ops.jacobian = HHJacobian;
  m->ops.jacobianp = HHJacobianP;
  m->ops.hessian_xx = HHHessianXX;
  m->ops.hessian_xp = HHHessianXP;
  m->ops.hessian_px = HHHessianPX;
  m->ops.hessian_pp = NULL; /* f is linear in the parameters */
  m->ops.initial = HHInitial;
  m->ops.destroy = HHDestroy;
  m->stiff = PETSC_FALSE; /* see the top of the file: explicit steps are cheaper here */
  m->autonomous = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode InvModelCreate_HH(InvModel m)
{
  PetscFunctionBegin;
  PetscCall(HHCreate(m, HH_NP_SMALL)); /* g_Na, g_K */
  PetscFunctionReturn(0);
}

PetscErrorCode InvModelCreate_HH4(InvModel m)
{
  PetscFunctionBegin;
  PetscCall(HHCreate(m, HH_NP_MAX)); /* g_Na, g_K, g_L, I */
  PetscFunctionReturn(0);
}
