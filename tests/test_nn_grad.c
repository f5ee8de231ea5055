/* Finite-difference gradient tests of every network kernel, the losses (MSE, the mean + Cholesky head, Gaussian
   NLL, moment matching, InvLoss) and whole networks.
   The kernels run in float32; the FD quotient is formed in double from the exactly representable
   perturbed values ((f(x+h') - f(x-h')) / (2h'), h' the step after rounding x +- h to float), and the
   loss sum(r .* out) is accumulated in double, so the only float error is in the layer outputs.
   Tolerances on ||g_fd - g|| / ||g||: linear kernels (dense, conv, pool, dropout) have no truncation
   error, only output rounding ~ 1e-7 |out| / h with h = 1e-2: 1e-5, tested at 1e-3. Smooth
   activations with h = 1e-2: truncation h^2 f'''/6 ~ 2e-5 relative plus rounding ~ 1e-5: tested at
   2e-3. Whole networks compound rounding over ~10 layers (outputs O(1), h = 1e-2): tested at 1e-2. */
#include <invmap/nn.h>
#include <invmap/rng.h>
#include <math.h>

typedef double (*LossFn)(void *);

static void fill(float *x, size_t n, PetscInt64 key, double scale)
{
  InvRng r;
  InvRngInit(&r, 99, INV_RNG_INIT, key, 7);
  for (size_t i = 0; i < n; i++) x[i] = (float)(scale * (2 * InvRngUniform(&r) - 1));
}

static PetscErrorCode FDCheck(const char *name, float *x, size_t n, const float *g, LossFn f, void *ctx, double h, double tol)
{
  double err2 = 0, nrm2 = 0, rel;

  PetscFunctionBegin;
  for (size_t i = 0; i < n; i++) {
    float x0 = x[i], xp = (float)(x0 + h), xm = (float)(x0 - h);
    double fp, fm, fd;
    x[i] = xp;
    fp = f(ctx);
    x[i] = xm;
    fm = f(ctx);
    x[i] = x0;
    fd = (fp - fm) / ((double)xp - (double)xm);
    err2 += (fd - g[i]) * (fd - g[i]);
    nrm2 += (double)g[i] * g[i];
  }
  rel = sqrt(err2) / PetscMax(sqrt(nrm2), 1e-30);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "  %-28s n=%5zu  |g|=%.3e  rel.err=%.2e  (tol %.0e)\n", name, n, sqrt(nrm2), rel, tol));
  PetscCheck(nrm2 > 0 && rel < tol, PETSC_COMM_SELF, PETSC_ERR_PLIB, "FD gradient check %s failed: %g >= %g", name, rel, tol);
  PetscFunctionReturn(0);
}

/* ---- a single kernel with loss sum(r .* out) ---- */
typedef struct {
  int type; /* 0 dense, 1 conv, 2 pool, 3 act, 4 dropout */
  int B, L, C, OC, K, S, pad, P;
  InvActType act;
  float *x, *w, *b, *out, *col, *r, *mask;
  size_t nout;
} K1;

static void K1Forward(K1 *k)
{
  switch (k->type) {
    case 0:
      invnn_dense_forward(k->out, k->x, k->w, k->b, k->B, k->C, k->OC);
      break;
    case 1:
      invnn_conv1d_forward(k->out, k->col, k->x, k->w, k->b, k->B, k->L, k->C, k->OC, k->K, k->S, k->pad);
      break;
    case 2:
      invnn_avgpool_forward(k->out, k->x, k->B, k->L, k->C, k->P);
      break;
    case 3:
      invnn_act_forward(k->out, k->x, (size_t)k->B * k->L * k->C, k->act);
      break;
    case 4:
      invnn_dropout_forward(k->out, k->x, k->mask, (size_t)k->B * k->L * k->C);
      break;
  }
}

static double K1Loss(void *ctx)
{
  K1 *k = (K1 *)ctx;
  double s = 0;
  K1Forward(k);
  for (size_t i = 0; i < k->nout; i++) s += (double)k->r[i] * k->out[i];
  return s;
}

static PetscErrorCode TestKernel(const char *name, int type, int B, int L, int C, int OC, int K, int S, int pad, int P, InvActType act,
                                 double h, double tol)
{
  K1 k = {0};
  size_t nx = (size_t)B * L * C, nw = 0, nb = 0;
  float *dx, *dw = NULL, *db = NULL, *dcol = NULL;
  int Lo = type == 1 ? invnn_conv1d_outlen(L, K, S, pad) : (type == 2 ? L / P : L);
  char buf[64];

  PetscFunctionBegin;
  k.type = type, k.B = B, k.L = L, k.C = C, k.OC = OC, k.K = K, k.S = S, k.pad = pad, k.P = P, k.act = act;
  k.nout = type == 0 ? (size_t)B * OC : (type == 1 ? (size_t)B * Lo * OC : (size_t)B * Lo * C);
  if (type == 0) nw = (size_t)OC * C, nb = OC;
  if (type == 1) nw = (size_t)OC * K * C, nb = OC;
  PetscCall(PetscCalloc1(nx, &k.x));
  PetscCall(PetscCalloc1(nx, &dx));
  PetscCall(PetscCalloc1(nw + 1, &k.w));
  PetscCall(PetscCalloc1(nb + 1, &k.b));
  PetscCall(PetscCalloc1(nw + 1, &dw));
  PetscCall(PetscCalloc1(nb + 1, &db));
  PetscCall(PetscCalloc1(k.nout, &k.out));
  PetscCall(PetscCalloc1(k.nout, &k.r));
  PetscCall(PetscCalloc1(nx, &k.mask));
  PetscCall(PetscCalloc1((size_t)B * Lo * K * C + 1, &k.col));
  PetscCall(PetscCalloc1((size_t)B * Lo * K * C + 1, &dcol));
  fill(k.x, nx, 1, 2.0);
  if (type == 3 && act == INV_ACT_RELU) /* keep away from the kink */
    for (size_t i = 0; i < nx; i++) k.x[i] += k.x[i] > 0 ? 0.05f : -0.05f;
  fill(k.w, nw, 2, 0.5);
  fill(k.b, nb, 3, 0.5);
  fill(k.r, k.nout, 4, 1.0);
  invnn_dropout_mask(k.mask, nx, 0.3f, 5, 0, 0);
  K1Forward(&k);
  switch (type) {
    case 0:
      invnn_dense_backward(dx, dw, db, k.r, k.x, k.w, B, C, OC);
      break;
    case 1:
      invnn_conv1d_backward(dx, dw, db, dcol, k.r, k.x, k.col, k.w, B, L, C, OC, K, S, pad);
      break;
    case 2:
      invnn_avgpool_backward(dx, k.r, B, L, C, P);
      break;
    case 3:
      invnn_act_backward(dx, k.r, k.x, nx, act);
      break;
    case 4:
      invnn_dropout_backward(dx, k.r, k.mask, nx);
      break;
  }
  PetscCall(PetscSNPrintf(buf, sizeof(buf), "%s d/dx", name));
  PetscCall(FDCheck(buf, k.x, nx, dx, K1Loss, &k, h, tol));
  if (nw) {
    PetscCall(PetscSNPrintf(buf, sizeof(buf), "%s d/dw", name));
    PetscCall(FDCheck(buf, k.w, nw, dw, K1Loss, &k, h, tol));
    PetscCall(PetscSNPrintf(buf, sizeof(buf), "%s d/db", name));
    PetscCall(FDCheck(buf, k.b, nb, db, K1Loss, &k, h, tol));
  }
  PetscCall(PetscFree(k.x));
  PetscCall(PetscFree(dx));
  PetscCall(PetscFree(k.w));
  PetscCall(PetscFree(k.b));
  PetscCall(PetscFree(dw));
  PetscCall(PetscFree(db));
  PetscCall(PetscFree(k.out));
  PetscCall(PetscFree(k.r));
  PetscCall(PetscFree(k.mask));
  PetscCall(PetscFree(k.col));
  PetscCall(PetscFree(dcol));
  PetscFunctionReturn(0);
}

/* ---- MSE loss ---- */
typedef struct {
  float *pred, *target, *weight;
  int B, O;
} MseCtx;

static double MseLoss(void *ctx)
{
  MseCtx *m = (MseCtx *)ctx;
  return invnn_mse_forward(m->pred, m->target, m->weight, m->B, m->O, 1.0 / (m->B * m->O));
}

static PetscErrorCode TestMSE(void)
{
  float pred[15], target[15], weight[3] = {1.0f, 0.5f, 2.0f}, d[15];
  MseCtx m = {pred, target, weight, 5, 3};

  PetscFunctionBegin;
  fill(pred, 15, 10, 1.0);
  fill(target, 15, 11, 1.0);
  invnn_mse_backward(d, pred, target, weight, 5, 3, 1.0 / 15);
  /* quadratic: the central difference is exact up to the double rounding of the loss */
  PetscCall(FDCheck("weighted MSE d/dpred", pred, 15, d, MseLoss, &m, 1e-2, 1e-6));
  PetscFunctionReturn(0);
}

/* ---- Gaussian head and losses. Smooth functions of O(1) inputs with h = 1e-2: truncation h^2 f'''/6 of a
   few 1e-5 relative plus float rounding of the kernels' outputs (~1e-7 / h = 1e-5): tested at 2e-3, like the
   smooth activations. Factors get a diagonal in [1, 2] so that L^-1 is well conditioned. ---- */
#define GAUSS_B 3
#define GAUSS_P 3
#define GAUSS_L (GAUSS_B * GAUSS_P * GAUSS_P)
#define GAUSS_M (GAUSS_B * GAUSS_P)
#define GAUSS_O (GAUSS_B * 9) /* P(P+3)/2 = 9 outputs per sample */
#define GAUSS_T (2 * GAUSS_P + GAUSS_P * GAUSS_P)

typedef struct {
  int what; /* 0 head, 1 nll, 2 frob, 3 InvLoss */
  float raw[GAUSS_O], mean[GAUSS_M], L[GAUSS_L], t[GAUSS_M], C[GAUSS_L], rm[GAUSS_M], rL[GAUSS_L], target[GAUSS_B * GAUSS_T];
  InvLoss loss;
} GaussCtx;

static double GaussLoss(void *ctx)
{
  GaussCtx *g = (GaussCtx *)ctx;
  double s = 0;
  switch (g->what) {
    case 0: /* sum(rm .* mean) + sum(rL .* L) */
      invnn_cholhead_forward(g->mean, g->L, g->raw, GAUSS_B, GAUSS_P);
      for (int i = 0; i < GAUSS_M; i++) s += (double)g->rm[i] * g->mean[i];
      for (int i = 0; i < GAUSS_L; i++) s += (double)g->rL[i] * g->L[i];
      return s;
    case 1:
      return invnn_nll_forward(g->mean, g->L, g->t, GAUSS_B, GAUSS_P, 1.0 / GAUSS_B);
    case 2:
      return invnn_frob_forward(g->L, g->C, GAUSS_B, GAUSS_P, 1.0 / GAUSS_B);
    default:
      if (InvLossEvaluate(g->loss, GAUSS_B, g->raw, g->target, NULL, 1.0, &s, NULL)) return NAN;
      return s / GAUSS_B;
  }
}

/* a lower-triangular factor per sample with diagonal in [1, 2] and off-diagonal entries in [-0.5, 0.5] */
static void FillFactor(float *L, PetscInt64 key)
{
  fill(L, GAUSS_L, key, 0.5);
  for (int b = 0; b < GAUSS_B; b++)
    for (int i = 0; i < GAUSS_P; i++) {
      float *Li = L + (b * GAUSS_P + i) * GAUSS_P;
      Li[i] = 1.5f + Li[i];
      for (int j = i + 1; j < GAUSS_P; j++) Li[j] = 0;
    }
}

static PetscErrorCode TestGaussian(void)
{
  GaussCtx g;
  float draw[GAUSS_O], dm[GAUSS_M], dL[GAUSS_L];
  const float w[GAUSS_P] = {1.0f, 0.5f, 2.0f};
  const double mix[INV_LOSS_NMIX] = {0.7, 1.3, 0.4};
  double s;

  PetscFunctionBegin;
  PetscCall(PetscMemzero(&g, sizeof(g)));
  PetscCheck(invnn_chol_outputs(GAUSS_P) * GAUSS_B == GAUSS_O, PETSC_COMM_SELF, PETSC_ERR_PLIB, "P(P+3)/2 outputs");
  fill(g.raw, GAUSS_O, 30, 1.5);
  fill(g.rm, GAUSS_M, 31, 1.0);
  fill(g.rL, GAUSS_L, 32, 1.0);
  g.what = 0;
  invnn_cholhead_forward(g.mean, g.L, g.raw, GAUSS_B, GAUSS_P);
  for (int b = 0; b < GAUSS_B; b++)
    for (int i = 0; i < GAUSS_P; i++) {
      PetscCheck(g.L[(b * GAUSS_P + i) * GAUSS_P + i] > 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "Cholesky head: diagonal not positive");
      for (int j = i + 1; j < GAUSS_P; j++)
        PetscCheck(g.L[(b * GAUSS_P + i) * GAUSS_P + j] == 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "Cholesky head: not lower triangular");
    }
  for (int i = 0; i < GAUSS_L; i++) /* the upper triangle is not an output: its seed is ignored */
    if (i % GAUSS_P > (i / GAUSS_P) % GAUSS_P) g.rL[i] = 0;
  invnn_cholhead_backward(draw, g.rm, g.rL, g.raw, GAUSS_B, GAUSS_P);
  PetscCall(FDCheck("cholesky head d/draw", g.raw, GAUSS_O, draw, GaussLoss, &g, 1e-2, 2e-3));

  g.what = 1;
  fill(g.mean, GAUSS_M, 33, 1.0);
  fill(g.t, GAUSS_M, 34, 1.0);
  FillFactor(g.L, 35);
  invnn_nll_backward(dm, dL, g.mean, g.L, g.t, GAUSS_B, GAUSS_P, 1.0 / GAUSS_B);
  PetscCall(FDCheck("gaussian NLL d/dmean", g.mean, GAUSS_M, dm, GaussLoss, &g, 1e-2, 2e-3));
  PetscCall(FDCheck("gaussian NLL d/dL", g.L, GAUSS_L, dL, GaussLoss, &g, 1e-2, 2e-3));

  g.what = 2;
  fill(g.C, GAUSS_L, 36, 1.0);
  for (int b = 0; b < GAUSS_B; b++) { /* a covariance target: C = M M^T + I from the random M (symmetric positive definite) */
    float M[GAUSS_P * GAUSS_P], *Cb = g.C + b * GAUSS_P * GAUSS_P;
    memcpy(M, Cb, sizeof(M));
    for (int i = 0; i < GAUSS_P; i++)
      for (int j = 0; j < GAUSS_P; j++) {
        double v = i == j ? 1.0 : 0.0;
        for (int k = 0; k < GAUSS_P; k++) v += (double)M[i * GAUSS_P + k] * M[j * GAUSS_P + k];
        Cb[i * GAUSS_P + j] = (float)v;
      }
  }
  invnn_frob_backward(dL, g.L, g.C, GAUSS_B, GAUSS_P, 1.0 / GAUSS_B);
  PetscCall(FDCheck("moment Frobenius d/dL", g.L, GAUSS_L, dL, GaussLoss, &g, 1e-2, 2e-3));

  /* InvLoss on raw network outputs: the head under every term */
  g.what = 3;
  fill(g.raw, GAUSS_O, 37, 1.0);
  for (int type = INV_LOSS_NLL; type <= INV_LOSS_MIX; type++) {
    char name[64];
    PetscCall(InvLossCreate((InvLossType)type, GAUSS_P, w, mix, GAUSS_B, &g.loss));
    PetscCheck(g.loss->nout == 9 && g.loss->head == INV_HEAD_CHOLESKY && g.loss->ntarget == (type == INV_LOSS_NLL ? GAUSS_P : GAUSS_T),
               PETSC_COMM_SELF, PETSC_ERR_PLIB, "InvLoss %s: outputs %d, targets %d", InvLossTypes[type], g.loss->nout, g.loss->ntarget);
    fill(g.target, (size_t)GAUSS_B * g.loss->ntarget, 38, 1.0);
    PetscCall(InvLossEvaluate(g.loss, GAUSS_B, g.raw, g.target, NULL, 1.0 / GAUSS_B, &s, draw));
    PetscCall(PetscSNPrintf(name, sizeof(name), "InvLoss %s d/dout", InvLossTypes[type]));
    PetscCall(FDCheck(name, g.raw, GAUSS_O, draw, GaussLoss, &g, 1e-2, 2e-3));
    PetscCall(InvLossDestroy(&g.loss));
  }
  PetscFunctionReturn(0);
}

/* ---- whole network: loss = MSE(net(x), t) ---- */
typedef struct {
  InvNet net;
  float *x, *t;
  PetscInt64 *sample;
  int B;
  InvLoss loss; /* NULL: MSE */
} NetCtx;

static double NetLoss(void *ctx)
{
  NetCtx *c = (NetCtx *)ctx;
  float *y;
  double sum;
  if (InvNetForward(c->net, c->x, c->B, c->sample, 3, 1, &y)) return NAN;
  if (!c->loss) return invnn_mse_forward(y, c->t, NULL, c->B, c->net->out_size, 1.0 / c->B);
  if (InvLossEvaluate(c->loss, c->B, y, c->t, c->sample, 1.0, &sum, NULL)) return NAN;
  return sum / c->B;
}

/* a shell loss (the external-gradient route) that hands over to an nll loss, checking the sample indices */
static PetscErrorCode ShellEval(InvLoss l, int B, const float *out, const float *target, const PetscInt64 *sample, double scale,
                                double *sum, float *dout)
{
  PetscFunctionBegin;
  PetscCheck(sample && sample[0] == 10, PETSC_COMM_SELF, PETSC_ERR_PLIB, "shell loss: the batch's sample indices did not arrive");
  PetscCall(InvLossEvaluate((InvLoss)l->ctx, B, out, target, sample, scale, sum, dout));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestNet(const char *name, InvNetSpec *s, InvLoss loss, double tol)
{
  NetCtx c;
  float *y, *dy;
  PetscInt64 sample[4] = {10, 11, 12, 13};

  PetscFunctionBegin;
  c.B = 4;
  c.sample = sample;
  c.loss = loss;
  PetscCall(InvNetCreate(s, c.B, &c.net));
  PetscCall(InvNetInitialize(c.net, 17));
  c.net->training = PETSC_TRUE;
  PetscCall(PetscMalloc1((size_t)c.B * c.net->in_size, &c.x));
  PetscCall(PetscMalloc1((size_t)c.B * c.net->out_size, &c.t));
  PetscCall(PetscMalloc1((size_t)c.B * c.net->out_size, &dy));
  fill(c.x, (size_t)c.B * c.net->in_size, 20, 1.0);
  fill(c.t, (size_t)c.B * c.net->out_size, 21, 1.0);
  PetscCall(InvNetForward(c.net, c.x, c.B, sample, 3, 1, &y));
  if (loss) {
    double sum;
    PetscCall(InvLossEvaluate(loss, c.B, y, c.t, sample, 1.0 / c.B, &sum, dy));
  } else
    invnn_mse_backward(dy, y, c.t, NULL, c.B, c.net->out_size, 1.0 / c.B);
  PetscCall(InvNetZeroGrad(c.net));
  PetscCall(InvNetBackward(c.net, c.x, dy, c.B, NULL, NULL));
  PetscCall(FDCheck(name, c.net->params, c.net->nparams, c.net->grads, NetLoss, &c, 1e-2, tol));
  PetscCall(PetscFree(c.x));
  PetscCall(PetscFree(c.t));
  PetscCall(PetscFree(dy));
  PetscCall(InvNetDestroy(&c.net));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  InvNetSpec s;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(InvInitializePackage());
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "Kernels:\n"));
  PetscCall(TestKernel("dense", 0, 5, 1, 7, 4, 0, 0, 0, 0, INV_ACT_IDENTITY, 1e-2, 1e-3));
  PetscCall(TestKernel("conv1d k3 s2 valid", 1, 3, 13, 2, 3, 3, 2, 0, 0, INV_ACT_IDENTITY, 1e-2, 1e-3));
  PetscCall(TestKernel("conv1d k4 s1 pad2", 1, 2, 9, 3, 2, 4, 1, 2, 0, INV_ACT_IDENTITY, 1e-2, 1e-3));
  PetscCall(TestKernel("conv1d k3 s3 pad1", 1, 2, 10, 1, 4, 3, 3, 1, 0, INV_ACT_IDENTITY, 1e-2, 1e-3));
  /* the direct path (K * C <= 16, 8/16/32 filters): interior blocks of 4 positions, edges, padding */
  PetscCall(TestKernel("conv1d direct k3 s2 8 filters", 1, 2, 21, 1, 8, 3, 2, 0, 0, INV_ACT_IDENTITY, 1e-2, 1e-3));
  PetscCall(TestKernel("conv1d direct k3 s1 pad2 16 filters", 1, 2, 13, 2, 16, 3, 1, 2, 0, INV_ACT_IDENTITY, 1e-2, 1e-3));
  PetscCall(TestKernel("conv1d direct k5 s2 pad1 32 filters", 1, 3, 17, 3, 32, 5, 2, 1, 0, INV_ACT_IDENTITY, 1e-2, 1e-3));
  PetscCall(TestKernel("conv1d im2col k3 s2 8 filters (K C = 24)", 1, 2, 21, 8, 8, 3, 2, 1, 0, INV_ACT_IDENTITY, 1e-2, 1e-3));
  PetscCall(TestKernel("avgpool 2 (odd length)", 2, 3, 9, 2, 0, 0, 0, 0, 2, INV_ACT_IDENTITY, 1e-2, 1e-3));
  PetscCall(TestKernel("avgpool 3", 2, 2, 12, 3, 0, 0, 0, 0, 3, INV_ACT_IDENTITY, 1e-2, 1e-3));
  PetscCall(TestKernel("avgpool 2, 8 channels (odd length)", 2, 2, 11, 8, 0, 0, 0, 0, 2, INV_ACT_IDENTITY, 1e-2, 1e-3));
  PetscCall(TestKernel("avgpool 3, 16 channels", 2, 2, 12, 16, 0, 0, 0, 0, 3, INV_ACT_IDENTITY, 1e-2, 1e-3));
  PetscCall(TestKernel("avgpool 2, 32 channels", 2, 1, 9, 32, 0, 0, 0, 0, 2, INV_ACT_IDENTITY, 1e-2, 1e-3));
  PetscCall(TestKernel("dropout 0.3", 4, 2, 5, 3, 0, 0, 0, 0, 0, INV_ACT_IDENTITY, 1e-2, 1e-3));
  for (int a = INV_ACT_IDENTITY; a <= INV_ACT_SIGMOID; a++) {
    char name[64];
    PetscCall(PetscSNPrintf(name, sizeof(name), "act %s", InvActTypes[a]));
    PetscCall(TestKernel(name, 3, 3, 10, 2, 0, 0, 0, 0, 0, (InvActType)a, 1e-2, 2e-3));
  }
  PetscCall(TestMSE());
  PetscCall(TestGaussian());
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "Networks:\n"));
  PetscCall(PetscMemzero(&s, sizeof(s)));
  PetscCall(InvNetSpecPreset(&s, "paper_cnn"));
  s.in_len = 60;
  s.in_ch = 3;
  s.out_dim = 2;
  s.dense[0] = s.dense[1] = 8;
  s.conv[0] = 4, s.conv[1] = 4, s.conv[2] = 5;
  PetscCall(TestNet("cnn (pool, conv, swish)", &s, NULL, 1e-2));
  s.act = INV_ACT_TANH;
  s.pad = 1;
  PetscCall(TestNet("cnn (pad 1, tanh)", &s, NULL, 1e-2));
  PetscCall(InvNetSpecPreset(&s, "seed_dense"));
  s.in_len = 20;
  s.in_ch = 1;
  s.out_dim = 3;
  s.ndense = 3;
  s.act = INV_ACT_GELU;
  PetscCall(TestNet("dense (gelu, dropout 0.2)", &s, NULL, 1e-2));
  { /* the covariance head through a whole network: nll directly and through a shell loss; targets (B, P) */
    InvLoss nll, shell;
    s.out_dim = invnn_chol_outputs(2);
    s.dropout = 0;
    PetscCall(InvLossCreate(INV_LOSS_NLL, 2, NULL, NULL, 4, &nll));
    PetscCall(InvLossCreateShell(INV_HEAD_CHOLESKY, 2, 2, ShellEval, nll, 4, &shell));
    PetscCall(TestNet("dense + cholesky head, nll", &s, nll, 1e-2));
    PetscCall(TestNet("dense + cholesky head, shell", &s, shell, 1e-2));
    PetscCall(InvLossDestroy(&shell));
    PetscCall(InvLossDestroy(&nll));
  }
  PetscCall(PetscFinalize());
  return 0;
}
