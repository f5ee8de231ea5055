/* InvNet: layer list built from an InvNetSpec, flat parameter/gradient buffers, forward and backward. */
#include <invmap/nn.h>
#include <invmap/rng.h>
#include <math.h>
#include <string.h>

static PetscErrorCode InvNetAddLayer(InvNet net, InvLayerType type, int out_len, int out_ch, InvLayer **L)
{
  InvLayer *prev = net->nlayers ? &net->layer[net->nlayers - 1] : NULL;

  PetscFunctionBegin;
  PetscCheck(net->nlayers < (int)(sizeof(net->layer) / sizeof(net->layer[0])), PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "Too many layers");
  *L = &net->layer[net->nlayers++];
  PetscCall(PetscMemzero(*L, sizeof(**L)));
  (*L)->type = type;
  (*L)->in_len = prev ? prev->out_len : (int)net->spec.in_len;
  (*L)->in_ch = prev ? prev->out_ch : (int)net->spec.in_ch;
  (*L)->out_len = out_len;
  (*L)->out_ch = out_ch;
  PetscFunctionReturn(0);
}

PetscErrorCode InvNetCreate(const InvNetSpec *spec, int maxbatch, InvNet *out)
{
  InvNet net;
  InvLayer *L = NULL;
  size_t off, maxact, maxcol = 0;

  PetscFunctionBegin;
  PetscCheck(spec->in_len > 0 && spec->in_ch > 0 && spec->out_dim > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
             "Network input %dx%d and output %d must be positive", (int)spec->in_len, (int)spec->in_ch, (int)spec->out_dim);
  PetscCheck(maxbatch > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "Batch size must be positive");
  PetscCall(PetscNew(&net));
  net->spec = *spec;
  net->maxbatch = maxbatch;
  for (PetscInt i = 0; i < spec->nconv; i++) {
    int len = net->nlayers ? net->layer[net->nlayers - 1].out_len : (int)spec->in_len;
    int ch = net->nlayers ? net->layer[net->nlayers - 1].out_ch : (int)spec->in_ch, lo;
    if (spec->pool[i] > 1) {
      PetscCheck(len / spec->pool[i] > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
                 "Pooling before conv layer %d: signal of length %d is shorter than the window %d", (int)i, len, (int)spec->pool[i]);
      PetscCall(InvNetAddLayer(net, INV_LAYER_POOL, len / (int)spec->pool[i], ch, &L));
      L->k = (int)spec->pool[i];
      len = L->out_len;
    }
    lo = invnn_conv1d_outlen(len, (int)spec->kernel[i], (int)spec->stride[i], (int)spec->pad);
    PetscCheck(lo > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
               "Conv layer %d: kernel %d does not fit the signal of length %d (too many layers for the input?)", (int)i,
               (int)spec->kernel[i], len);
    PetscCall(InvNetAddLayer(net, INV_LAYER_CONV, lo, (int)spec->conv[i], &L));
    L->k = (int)spec->kernel[i];
    L->s = (int)spec->stride[i];
    L->pad = (int)spec->pad;
    L->nw = (size_t)L->out_ch * L->k * L->in_ch;
    L->nb = L->out_ch;
    maxcol = PetscMax(maxcol, (size_t)maxbatch * lo * L->k * L->in_ch);
    PetscCall(InvNetAddLayer(net, INV_LAYER_ACT, lo, (int)spec->conv[i], &L));
    L->act = spec->act;
  }
  for (PetscInt i = 0; i <= spec->ndense; i++) {
    PetscBool last = (PetscBool)(i == spec->ndense);
    int units = last ? (int)spec->out_dim : (int)spec->dense[i];
    PetscCall(InvNetAddLayer(net, INV_LAYER_DENSE, 1, units, &L));
    L->in_ch = L->in_len * L->in_ch; /* flatten: (L, C) channels last is already (L * C) */
    L->in_len = 1;
    L->nw = (size_t)L->out_ch * L->in_ch;
    L->nb = L->out_ch;
    if (last) break;
    PetscCall(InvNetAddLayer(net, INV_LAYER_ACT, 1, units, &L));
    L->act = spec->act;
    if (spec->dropout > 0) {
      PetscCall(InvNetAddLayer(net, INV_LAYER_DROPOUT, 1, units, &L));
      L->rate = (float)spec->dropout;
    }
  }
  /* flat buffers: each layer's w then b, in forward order */
  for (int l = 0; l < net->nlayers; l++) net->nparams += net->layer[l].nw + net->layer[l].nb;
  PetscCall(PetscCalloc1(net->nparams, &net->params));
  PetscCall(PetscCalloc1(net->nparams, &net->grads));
  net->in_size = (int)(spec->in_len * spec->in_ch);
  maxact = net->in_size;
  off = 0;
  for (int l = 0; l < net->nlayers; l++) {
    L = &net->layer[l];
    size_t n = (size_t)maxbatch * L->out_len * L->out_ch;
    maxact = PetscMax(maxact, (size_t)L->out_len * L->out_ch);
    if (L->nw) {
      L->w = net->params + off;
      L->dw = net->grads + off;
      L->b = net->params + off + L->nw;
      L->db = net->grads + off + L->nw;
      L->grad_lo = (int)off;
      L->grad_n = (int)(L->nw + L->nb);
      off += L->nw + L->nb;
    }
    PetscCall(PetscMalloc1(n, &L->out));
    if (L->type == INV_LAYER_CONV) PetscCall(PetscMalloc1((size_t)maxbatch * L->out_len * L->k * L->in_ch, &L->col));
    if (L->type == INV_LAYER_DROPOUT || (L->type == INV_LAYER_ACT && L->act == INV_ACT_SWISH)) PetscCall(PetscMalloc1(n, &L->mask));
  }
  net->out_size = (int)spec->out_dim;
  PetscCall(PetscMalloc1((size_t)maxbatch * maxact, &net->dbuf[0]));
  PetscCall(PetscMalloc1((size_t)maxbatch * maxact, &net->dbuf[1]));
  if (maxcol) PetscCall(PetscMalloc1(maxcol, &net->dcol));
  net->training = PETSC_FALSE;
  *out = net;
  PetscFunctionReturn(0);
}

PetscErrorCode InvNetDestroy(InvNet *net)
{
  PetscFunctionBegin;
  if (!*net) PetscFunctionReturn(0);
  for (int l = 0; l < (*net)->nlayers; l++) {
    PetscCall(PetscFree((*net)->layer[l].out));
    PetscCall(PetscFree((*net)->layer[l].col));
    PetscCall(PetscFree((*net)->layer[l].mask));
  }
  PetscCall(PetscFree((*net)->params));
  PetscCall(PetscFree((*net)->grads));
  PetscCall(PetscFree((*net)->dbuf[0]));
  PetscCall(PetscFree((*net)->dbuf[1]));
  PetscCall(PetscFree((*net)->dcol));
  PetscCall(PetscFree(*net));
  PetscFunctionReturn(0);
}

/* Glorot uniform (Keras default: limit sqrt(6 / (fan_in + fan_out)), conv fans include the kernel) or
   He normal (sd sqrt(2 / fan_in)); biases zero. Each layer draws from its own stream (seed, layer). */
PetscErrorCode InvNetInitialize(InvNet net, PetscInt64 seed)
{
  PetscFunctionBegin;
  for (int l = 0; l < net->nlayers; l++) {
    InvLayer *L = &net->layer[l];
    InvRng rng;
    double fan_in, fan_out;
    if (!L->nw) continue;
    fan_in = L->type == INV_LAYER_CONV ? (double)L->k * L->in_ch : (double)L->in_ch;
    fan_out = L->type == INV_LAYER_CONV ? (double)L->k * L->out_ch : (double)L->out_ch;
    InvRngInit(&rng, seed, INV_RNG_INIT, l, 0);
    for (size_t i = 0; i < L->nw; i++) {
      if (net->spec.init == INV_INIT_GLOROT)
        L->w[i] = (float)((2 * InvRngUniform(&rng) - 1) * sqrt(6.0 / (fan_in + fan_out)));
      else
        L->w[i] = (float)(InvRngNormal(&rng) * sqrt(2.0 / fan_in));
    }
    for (size_t i = 0; i < L->nb; i++) L->b[i] = 0;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvNetForward(InvNet net, const float *in, int B, const PetscInt64 *sample, PetscInt64 seed, PetscInt64 epoch, float **out)
{
  const float *x = in;

  PetscFunctionBegin;
  PetscCheck(B <= net->maxbatch, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "Batch %d exceeds the network's maximum %d", B, net->maxbatch);
  for (int l = 0; l < net->nlayers; l++) {
    InvLayer *L = &net->layer[l];
    size_t n = (size_t)B * L->out_len * L->out_ch;
    switch (L->type) {
      case INV_LAYER_DENSE:
        invnn_dense_forward(L->out, x, L->w, L->b, B, L->in_ch, L->out_ch);
        break;
      case INV_LAYER_CONV:
        invnn_conv1d_forward(L->out, L->col, x, L->w, L->b, B, L->in_len, L->in_ch, L->out_ch, L->k, L->s, L->pad);
        break;
      case INV_LAYER_POOL:
        invnn_avgpool_forward(L->out, x, B, L->in_len, L->in_ch, L->k);
        break;
      case INV_LAYER_ACT:
        if (L->act == INV_ACT_SWISH)
          invnn_swish_forward_cached(L->out, L->mask, x, n);
        else
          invnn_act_forward(L->out, x, n, L->act);
        break;
      case INV_LAYER_DROPOUT:
        if (net->training) {
          size_t m = (size_t)L->out_len * L->out_ch;
          PetscCheck(sample, PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "Dropout in training needs the samples' indices");
          for (int i = 0; i < B; i++) invnn_dropout_mask(L->mask + i * m, m, L->rate, seed, sample[i], epoch * 64 + l);
          invnn_dropout_forward(L->out, x, L->mask, n);
        } else
          memcpy(L->out, x, sizeof(float) * n);
        break;
    }
    x = L->out;
  }
  *out = net->layer[net->nlayers - 1].out;
  PetscFunctionReturn(0);
}

PetscErrorCode InvNetBackward(InvNet net, const float *in, const float *dout, int B, PetscErrorCode (*done)(InvNet, int, void *), void *ctx)
{
  const float *d = dout;

  PetscFunctionBegin;
  for (int l = net->nlayers - 1; l >= 0; l--) {
    InvLayer *L = &net->layer[l];
    const float *x = l ? net->layer[l - 1].out : in;
    float *dx = l ? net->dbuf[l % 2] : NULL;
    size_t n = (size_t)B * L->out_len * L->out_ch;
    /* the first layer's input gradient is never needed; parameter-free first layers have nothing to do */
    switch (L->type) {
      case INV_LAYER_DENSE:
        invnn_dense_backward(dx, L->dw, L->db, d, x, L->w, B, L->in_ch, L->out_ch);
        break;
      case INV_LAYER_CONV:
        invnn_conv1d_backward(dx, L->dw, L->db, net->dcol, d, x, L->col, L->w, B, L->in_len, L->in_ch, L->out_ch, L->k, L->s, L->pad);
        break;
      case INV_LAYER_POOL:
        if (dx) invnn_avgpool_backward(dx, d, B, L->in_len, L->in_ch, L->k);
        break;
      case INV_LAYER_ACT:
        if (dx && L->act == INV_ACT_SWISH)
          invnn_swish_backward_cached(dx, d, L->mask, L->out, n);
        else if (dx)
          invnn_act_backward(dx, d, x, n, L->act);
        break;
      case INV_LAYER_DROPOUT:
        if (dx) {
          if (net->training)
            invnn_dropout_backward(dx, d, L->mask, n);
          else
            memcpy(dx, d, sizeof(float) * n);
        }
        break;
    }
    if (L->nw && done) PetscCall(done(net, l, ctx));
    d = dx;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvNetZeroGrad(InvNet net)
{
  PetscFunctionBegin;
  PetscCall(PetscArrayzero(net->grads, net->nparams));
  PetscFunctionReturn(0);
}

PetscErrorCode InvNetFlops(InvNet net, double *fwd)
{
  double f = 0;

  PetscFunctionBegin;
  for (int l = 0; l < net->nlayers; l++) {
    InvLayer *L = &net->layer[l];
    if (L->type == INV_LAYER_DENSE) f += 2.0 * L->in_ch * L->out_ch;
    if (L->type == INV_LAYER_CONV) f += 2.0 * L->out_len * L->k * L->in_ch * L->out_ch;
  }
  *fwd = f;
  PetscFunctionReturn(0);
}

PetscErrorCode InvNetView(InvNet net, PetscViewer v)
{
  static const char *names[] = {"dense", "conv1d", "avgpool", "activation", "dropout"};
  char str[1024];

  PetscFunctionBegin;
  PetscCall(InvNetSpecString(&net->spec, str, sizeof(str)));
  PetscCall(PetscViewerASCIIPrintf(v, "Network: %s; %zu parameters\n", str, net->nparams));
  for (int l = 0; l < net->nlayers; l++) {
    InvLayer *L = &net->layer[l];
    PetscCall(PetscViewerASCIIPrintf(v, "  %2d %-10s %5d x %-4d -> %5d x %-4d params %zu\n", l, names[L->type], L->in_len, L->in_ch,
                                     L->out_len, L->out_ch, L->nw + L->nb));
  }
  PetscFunctionReturn(0);
}
