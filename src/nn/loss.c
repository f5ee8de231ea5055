/* Gaussian output head (mean + Cholesky factor with a softplus diagonal), the Gaussian negative
   log-likelihood and moment-matching kernels, and InvLoss, the loss interface of the trainer: weighted MSE,
   NLL, moment matching, a weighted mix of them, and shell losses computed elsewhere. The per-sample
   algebra (P <= INV_MAX_TARGETS) runs in double; inputs and gradients are float32 like the network. */
#include <invmap/nn.h>
#include <math.h>
#include <string.h>

const char *const InvLossTypes[] = {"mse", "nll", "moment", "mix", "shell", "data", "InvLossType", "INV_LOSS_", NULL};
const char *const InvHeadTypes[] = {"mean", "cholesky", "InvHeadType", "INV_HEAD_", NULL};

/* position of the factor's entry (i, j), j <= i, among a sample's outputs */
static inline int CholIndex(int P, int i, int j)
{
  return P + i * (i + 1) / 2 + j;
}

/* softplus(x) = log(1 + e^x), computed without overflow; its derivative is the logistic sigmoid */
static inline double Softplus(double x)
{
  return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}
static inline double Sigmoid(double x)
{
  return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}

void invnn_cholhead_forward(float *mean, float *L, const float *raw, int B, int P)
{
  int no = invnn_chol_outputs(P);
  for (int b = 0; b < B; b++) {
    const float *r = raw + (size_t)b * no;
    float *Lb = L + (size_t)b * P * P;
    for (int i = 0; i < P; i++) mean[(size_t)b * P + i] = r[i];
    for (int i = 0; i < P; i++)
      for (int j = 0; j < P; j++) {
        double v = 0;
        if (j < i) v = r[CholIndex(P, i, j)];
        if (j == i) v = Softplus(r[CholIndex(P, i, i)]) + INV_CHOL_DIAG_MIN;
        Lb[i * P + j] = (float)v;
      }
  }
}

void invnn_cholhead_backward(float *draw, const float *dmean, const float *dL, const float *raw, int B, int P)
{
  int no = invnn_chol_outputs(P);
  for (int b = 0; b < B; b++) {
    const float *r = raw + (size_t)b * no, *dLb = dL + (size_t)b * P * P;
    float *d = draw + (size_t)b * no;
    for (int i = 0; i < P; i++) d[i] = dmean[(size_t)b * P + i];
    for (int i = 0; i < P; i++)
      for (int j = 0; j <= i; j++) {
        int k = CholIndex(P, i, j);
        d[k] = j < i ? dLb[i * P + j] : (float)(dLb[i * P + i] * Sigmoid(r[k]));
      }
  }
}

/* u = L^-1 r (forward substitution) and, when v is not NULL, v = L^-T u (back substitution) */
static void CholSolve(const float *L, const double *r, double *u, double *v, int P)
{
  for (int i = 0; i < P; i++) {
    double s = r[i];
    for (int j = 0; j < i; j++) s -= (double)L[i * P + j] * u[j];
    u[i] = s / L[i * P + i];
  }
  if (!v) return;
  for (int i = P - 1; i >= 0; i--) {
    double s = u[i];
    for (int j = i + 1; j < P; j++) s -= (double)L[j * P + i] * v[j];
    v[i] = s / L[i * P + i];
  }
}

double invnn_nll_forward(const float *mean, const float *L, const float *t, int B, int P, double scale)
{
  double sum = 0, r[INV_MAX_TARGETS], u[INV_MAX_TARGETS];
  for (int b = 0; b < B; b++) {
    const float *Lb = L + (size_t)b * P * P;
    double s = 0;
    for (int i = 0; i < P; i++) r[i] = (double)t[(size_t)b * P + i] - mean[(size_t)b * P + i];
    CholSolve(Lb, r, u, NULL, P);
    for (int i = 0; i < P; i++) s += 0.5 * u[i] * u[i] + log((double)Lb[i * P + i]);
    sum += s;
  }
  return scale * sum;
}

/* d/dmean = -Sigma^-1 r = -v; d/dL_ij = -v_i u_j (i >= j) + delta_ij / L_ii, with u = L^-1 r, v = L^-T u */
void invnn_nll_backward(float *dmean, float *dL, const float *mean, const float *L, const float *t, int B, int P, double scale)
{
  double r[INV_MAX_TARGETS], u[INV_MAX_TARGETS], v[INV_MAX_TARGETS];
  for (int b = 0; b < B; b++) {
    const float *Lb = L + (size_t)b * P * P;
    float *dLb = dL + (size_t)b * P * P;
    for (int i = 0; i < P; i++) r[i] = (double)t[(size_t)b * P + i] - mean[(size_t)b * P + i];
    CholSolve(Lb, r, u, v, P);
    for (int i = 0; i < P; i++) {
      dmean[(size_t)b * P + i] = (float)(-scale * v[i]);
      for (int j = 0; j < P; j++) dLb[i * P + j] = j > i ? 0.0f : (float)(scale * (-v[i] * u[j] + (i == j ? 1.0 / Lb[i * P + i] : 0.0)));
    }
  }
}

/* K = the Cholesky factor of the covariance target C of one sample (its lower triangle read; a pivot below
   INV_FROB_FLOOR is raised to it, so a target made singular by float32 rounding still has a factor); returns the
   sample's weight 1 / |K|_F^2 = 1 / tr(C) (a relative error) */
static double FactorTarget(const float *C, double *K, int P)
{
  double k2 = 0;
  for (int j = 0; j < P; j++) {
    double d = C[j * P + j];
    for (int k = 0; k < j; k++) d -= K[j * P + k] * K[j * P + k];
    K[j * P + j] = sqrt(PetscMax(d, INV_FROB_FLOOR));
    for (int i = j + 1; i < P; i++) {
      double s = C[i * P + j];
      for (int k = 0; k < j; k++) s -= K[i * P + k] * K[j * P + k];
      K[i * P + j] = s / K[j * P + j];
    }
    for (int i = 0; i < j; i++) K[i * P + j] = 0;
  }
  for (int i = 0; i < P * P; i++) k2 += K[i] * K[i];
  return 1.0 / (k2 + INV_FROB_FLOOR);
}

double invnn_frob_forward(const float *L, const float *C, int B, int P, double scale)
{
  double sum = 0, K[INV_MAX_TARGETS * INV_MAX_TARGETS];
  for (int b = 0; b < B; b++) {
    const float *Lb = L + (size_t)b * P * P;
    double w = FactorTarget(C + (size_t)b * P * P, K, P), e2 = 0;
    for (int i = 0; i < P; i++)
      for (int j = 0; j <= i; j++) e2 += (Lb[i * P + j] - K[i * P + j]) * (Lb[i * P + j] - K[i * P + j]);
    sum += w * e2;
  }
  return scale * sum;
}

void invnn_frob_backward(float *dL, const float *L, const float *C, int B, int P, double scale)
{
  double K[INV_MAX_TARGETS * INV_MAX_TARGETS];
  for (int b = 0; b < B; b++) {
    const float *Lb = L + (size_t)b * P * P;
    float *dLb = dL + (size_t)b * P * P;
    double w = FactorTarget(C + (size_t)b * P * P, K, P);
    for (int i = 0; i < P; i++)
      for (int j = 0; j < P; j++) dLb[i * P + j] = j > i ? 0.0f : (float)(2.0 * scale * w * (Lb[i * P + j] - K[i * P + j]));
  }
}

int InvHeadOutputs(InvHeadType head, int P)
{
  return head == INV_HEAD_CHOLESKY ? invnn_chol_outputs(P) : P;
}

PetscErrorCode InvHeadParameters(InvHeadType head, int nout, int *P)
{
  PetscFunctionBegin;
  *P = -1;
  for (int p = 1; p <= INV_MAX_TARGETS && *P < 0; p++)
    if (InvHeadOutputs(head, p) == nout) *P = p;
  PetscCheck(*P > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "A %s head cannot have %d outputs (P(P+3)/2 for the cholesky head, P <= %d)",
             InvHeadTypes[head], nout, INV_MAX_TARGETS);
  PetscFunctionReturn(0);
}

static PetscErrorCode InvLossAlloc(InvLoss l, InvHeadType head, int P, int maxbatch)
{
  size_t nm = (size_t)maxbatch * P, nl = (size_t)maxbatch * P * P;
  float *w;

  PetscFunctionBegin;
  PetscCheck(P > 0 && P <= INV_MAX_TARGETS, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "%d targets: a loss takes 1 to %d", P,
             INV_MAX_TARGETS);
  l->head = head;
  l->P = P;
  l->nout = InvHeadOutputs(head, P);
  l->maxbatch = maxbatch;
  for (int k = 0; k < P; k++) l->weight[k] = 1.0f;
  if (head != INV_HEAD_CHOLESKY) PetscFunctionReturn(0);
  PetscCall(PetscMalloc1(5 * nm + 4 * nl, &l->work));
  w = l->work;
  l->mean = w, l->dmean = w + nm, l->T = w + 2 * nm, l->Tmap = w + 3 * nm, l->gm = w + 4 * nm;
  w += 5 * nm;
  l->L = w, l->dL = w + nl, l->C = w + 2 * nl, l->gL = w + 3 * nl;
  PetscFunctionReturn(0);
}

PetscErrorCode InvLossCreate(InvLossType type, int P, const float *weight, const double *mix, int maxbatch, InvLoss *out)
{
  InvLoss l;
  const double mix_default[INV_LOSS_NMIX] = INV_LOSS_MIX_DEFAULT;
  double total = 0;

  PetscFunctionBegin;
  PetscCheck(type != INV_LOSS_SHELL && type != INV_LOSS_DATA, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
             "Shell losses (the data-space loss among them) are made by InvLossCreateShell");
  PetscCall(PetscNew(&l));
  l->type = type;
  PetscCall(InvLossAlloc(l, type == INV_LOSS_MSE ? INV_HEAD_MEAN : INV_HEAD_CHOLESKY, P, maxbatch));
  if (weight)
    for (int k = 0; k < P; k++) l->weight[k] = weight[k];
  for (int k = 0; k < INV_LOSS_NMIX; k++) l->mix[k] = 0;
  if (type == INV_LOSS_MSE) l->mix[0] = 1;
  if (type == INV_LOSS_NLL) l->mix[1] = 1;
  if (type == INV_LOSS_MOMENT) l->mix[2] = 1;
  if (type == INV_LOSS_MIX)
    for (int k = 0; k < INV_LOSS_NMIX; k++) l->mix[k] = mix ? mix[k] : mix_default[k];
  for (int k = 0; k < INV_LOSS_NMIX; k++) {
    PetscCheck(l->mix[k] >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Loss mix weights must be >= 0 (got %g for %s)", l->mix[k],
               InvLossTypes[k]);
    total += l->mix[k];
  }
  PetscCheck(total > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Loss mix weights %g,%g,%g: at least one must be positive", l->mix[0],
             l->mix[1], l->mix[2]);
  /* targets: the true parameters; the moment term adds the Laplace mean and covariance */
  l->ntarget = l->mix[2] > 0 ? 2 * P + P * P : P;
  *out = l;
  PetscFunctionReturn(0);
}

PetscErrorCode InvLossCreateShell(InvHeadType head, int P, int ntarget, InvLossEvalFn eval, void *ctx, int maxbatch, InvLoss *out)
{
  InvLoss l;

  PetscFunctionBegin;
  PetscCall(PetscNew(&l));
  l->type = INV_LOSS_SHELL;
  PetscCall(InvLossAlloc(l, head, P, maxbatch));
  l->ntarget = ntarget;
  l->eval = eval;
  l->ctx = ctx;
  *out = l;
  PetscFunctionReturn(0);
}

/* dst += src */
static void Add(float *dst, const float *src, size_t n)
{
  for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

/* the mean + Cholesky losses: sum_k mix_k term_k on the head's (mean, L); targets per sample: the true
   parameters (P), then with the moment term the Laplace mean (P) and covariance (P x P) */
static PetscErrorCode InvLossEvaluateGaussian(InvLoss l, int B, const float *out, const float *target, double scale, double *sum,
                                              float *dout)
{
  const int P = l->P, nt = l->ntarget;
  const size_t nm = (size_t)B * P, nl = (size_t)B * P * P;
  const double *mix = l->mix;
  double s = 0;

  PetscFunctionBegin;
  PetscCheck(B <= l->maxbatch, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "Batch of %d samples over the loss's %d", B, l->maxbatch);
  invnn_cholhead_forward(l->mean, l->L, out, B, P);
  for (int b = 0; b < B; b++) {
    const float *tb = target + (size_t)b * nt;
    for (int k = 0; k < P; k++) l->T[(size_t)b * P + k] = tb[k];
    if (mix[2] > 0) {
      for (int k = 0; k < P; k++) l->Tmap[(size_t)b * P + k] = tb[P + k];
      for (int k = 0; k < P * P; k++) l->C[(size_t)b * P * P + k] = tb[2 * P + k];
    }
  }
  if (mix[0] > 0) s += mix[0] * invnn_mse_forward(l->mean, l->T, l->weight, B, P, 1.0);
  if (mix[1] > 0) s += mix[1] * invnn_nll_forward(l->mean, l->L, l->T, B, P, 1.0);
  if (mix[2] > 0) s += mix[2] * (invnn_mse_forward(l->mean, l->Tmap, l->weight, B, P, 1.0) + invnn_frob_forward(l->L, l->C, B, P, 1.0));
  *sum = s;
  if (!dout) PetscFunctionReturn(0);
  PetscCall(PetscArrayzero(l->dmean, nm));
  PetscCall(PetscArrayzero(l->dL, nl));
  if (mix[0] > 0) {
    invnn_mse_backward(l->gm, l->mean, l->T, l->weight, B, P, scale * mix[0]);
    Add(l->dmean, l->gm, nm);
  }
  if (mix[1] > 0) {
    invnn_nll_backward(l->gm, l->gL, l->mean, l->L, l->T, B, P, scale * mix[1]);
    Add(l->dmean, l->gm, nm);
    Add(l->dL, l->gL, nl);
  }
  if (mix[2] > 0) {
    invnn_mse_backward(l->gm, l->mean, l->Tmap, l->weight, B, P, scale * mix[2]);
    invnn_frob_backward(l->gL, l->L, l->C, B, P, scale * mix[2]);
    Add(l->dmean, l->gm, nm);
    Add(l->dL, l->gL, nl);
  }
  invnn_cholhead_backward(dout, l->dmean, l->dL, out, B, P);
  PetscFunctionReturn(0);
}

PetscErrorCode InvLossEvaluate(InvLoss l, int B, const float *out, const float *target, const PetscInt64 *sample, double scale, double *sum,
                               float *dout)
{
  PetscFunctionBegin;
  if (l->type == INV_LOSS_SHELL)
    PetscCall(l->eval(l, B, out, target, sample, scale, sum, dout));
  else if (l->head == INV_HEAD_MEAN) { /* weighted MSE: the calls (and float rounding) of the training loop before InvLoss */
    *sum = invnn_mse_forward(out, target, l->weight, B, l->P, 1.0);
    if (dout) invnn_mse_backward(dout, out, target, l->weight, B, l->P, scale);
  } else
    PetscCall(InvLossEvaluateGaussian(l, B, out, target, scale, sum, dout));
  PetscFunctionReturn(0);
}

PetscErrorCode InvLossDestroy(InvLoss *l)
{
  PetscFunctionBegin;
  if (!*l) PetscFunctionReturn(0);
  PetscCall(PetscFree((*l)->work));
  PetscCall(PetscFree(*l));
  PetscFunctionReturn(0);
}
