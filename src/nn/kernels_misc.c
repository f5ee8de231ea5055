/* Elementwise and small kernels: average pooling, activations, dropout, weighted MSE loss. */
#if defined(__GNUC__) && !defined(__clang__)
/* with -std=c11, GCC keeps float comparisons trapping and then will not vectorise the clamps below */
#pragma GCC optimize("no-trapping-math", "no-math-errno")
#endif
#include <invmap/nn.h>
#include <invmap/rng.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

const char *const InvActTypes[] = {"identity", "relu", "swish", "gelu", "tanh", "sigmoid", "InvActType", "INV_ACT_", NULL};

/* the channel loops are short (8 to 32): with the channel count a compile-time constant they become one or
   two vector operations without loop overhead per position */
#define AVGPOOL(CN)                                                                                                                        \
  static void avgpool_fwd_##CN(float *restrict out, const float *restrict in, int B, int L, int P)                                         \
  {                                                                                                                                        \
    int Lo = L / P;                                                                                                                        \
    float sc = 1.0f / (float)P;                                                                                                            \
    for (int i = 0; i < B; i++)                                                                                                            \
      for (int j = 0; j < Lo; j++) {                                                                                                       \
        float *restrict o = out + ((size_t)i * Lo + j) * CN;                                                                               \
        const float *restrict x = in + ((size_t)i * L + (size_t)j * P) * CN;                                                               \
        float acc[CN];                                                                                                                     \
        for (int c = 0; c < CN; c++) acc[c] = x[c];                                                                                        \
        for (int p = 1; p < P; p++)                                                                                                        \
          for (int c = 0; c < CN; c++) acc[c] += x[p * CN + c];                                                                            \
        for (int c = 0; c < CN; c++) o[c] = sc * acc[c];                                                                                   \
      }                                                                                                                                    \
  }                                                                                                                                        \
  static void avgpool_bwd_##CN(float *restrict din, const float *restrict dout, int B, int L, int P)                                       \
  {                                                                                                                                        \
    int Lo = L / P;                                                                                                                        \
    float sc = 1.0f / (float)P;                                                                                                            \
    for (int i = 0; i < B; i++) {                                                                                                          \
      float *restrict x = din + (size_t)i * L * CN;                                                                                        \
      const float *restrict o = dout + (size_t)i * Lo * CN;                                                                                \
      for (int j = 0; j < Lo; j++)                                                                                                         \
        for (int p = 0; p < P; p++)                                                                                                        \
          for (int c = 0; c < CN; c++) x[((size_t)j * P + p) * CN + c] = sc * o[(size_t)j * CN + c];                                       \
      for (int k = Lo * P * CN; k < L * CN; k++) x[k] = 0;                                                                                 \
    }                                                                                                                                      \
  }
AVGPOOL(8)
AVGPOOL(16)
AVGPOOL(32)

void invnn_avgpool_forward(float *restrict out, const float *restrict in, int B, int L, int C, int P)
{
  int Lo = L / P;
  float sc = 1.0f / (float)P;

  if (C == 8) {
    avgpool_fwd_8(out, in, B, L, P);
    return;
  }
  if (C == 16) {
    avgpool_fwd_16(out, in, B, L, P);
    return;
  }
  if (C == 32) {
    avgpool_fwd_32(out, in, B, L, P);
    return;
  }
  for (int i = 0; i < B; i++)
    for (int j = 0; j < Lo; j++) {
      float *restrict o = out + ((size_t)i * Lo + j) * C;
      const float *restrict x = in + ((size_t)i * L + (size_t)j * P) * C;
#pragma omp simd
      for (int c = 0; c < C; c++) {
        float acc = 0;
        for (int p = 0; p < P; p++) acc += x[p * C + c];
        o[c] = sc * acc;
      }
    }
}

void invnn_avgpool_backward(float *restrict din, const float *restrict dout, int B, int L, int C, int P)
{
  int Lo = L / P;
  float sc = 1.0f / (float)P;

  if (C == 8) {
    avgpool_bwd_8(din, dout, B, L, P);
    return;
  }
  if (C == 16) {
    avgpool_bwd_16(din, dout, B, L, P);
    return;
  }
  if (C == 32) {
    avgpool_bwd_32(din, dout, B, L, P);
    return;
  }
  for (int i = 0; i < B; i++) {
    float *restrict x = din + (size_t)i * L * C;
    const float *restrict o = dout + (size_t)i * Lo * C;
    for (int j = 0; j < Lo; j++)
      for (int p = 0; p < P; p++) {
        float *restrict xj = x + ((size_t)j * P + p) * C;
        const float *restrict oj = o + (size_t)j * C;
#pragma omp simd
        for (int c = 0; c < C; c++) xj[c] = sc * oj[c];
      }
    for (int k = Lo * P * C; k < L * C; k++) x[k] = 0;
  }
}

/* exp in float that vectorises (Cephes polynomial on [-ln2/2, ln2/2], scaled by 2^n through the
   exponent bits); relative error about 2 ulp, inputs clamped to [-87, 87]. A NaN input is computed as -87 (its
   conversion to an integer would be undefined) and returned as NaN, so that it propagates. */
static inline float fast_expf(float x0)
{
  float n, r, p, scale, x;
  int32_t bits;

  x = x0 > -87.0f ? (x0 < 87.0f ? x0 : 87.0f) : -87.0f;
  n = (float)((int32_t)(1.44269504088896341f * x + 128.5f) - 128); /* round to nearest for x in [-87, 87] */
  r = x - n * 0.693359375f + n * 2.12194440e-4f;
  p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  bits = ((int32_t)n + 127) << 23;
  memcpy(&scale, &bits, sizeof(scale));
  return x0 == x0 ? p * scale : x0;
}

static inline float sigmoidf(float x)
{
  return 1.0f / (1.0f + fast_expf(-x));
}

void invnn_act_forward(float *out, const float *x, size_t n, InvActType t)
{
  switch (t) {
    case INV_ACT_IDENTITY:
      if (out != x) memcpy(out, x, sizeof(float) * n);
      break;
    case INV_ACT_RELU:
      for (size_t i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : 0;
      break;
    case INV_ACT_SWISH:
#pragma omp simd
      for (size_t i = 0; i < n; i++) out[i] = x[i] / (1.0f + fast_expf(-x[i]));
      break;
    case INV_ACT_GELU: /* exact: x Phi(x) */
      for (size_t i = 0; i < n; i++) out[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
      break;
    case INV_ACT_TANH:
      for (size_t i = 0; i < n; i++) out[i] = tanhf(x[i]);
      break;
    case INV_ACT_SIGMOID:
#pragma omp simd
      for (size_t i = 0; i < n; i++) out[i] = sigmoidf(x[i]);
      break;
  }
}

void invnn_act_backward(float *dx, const float *dout, const float *x, size_t n, InvActType t)
{
  switch (t) {
    case INV_ACT_IDENTITY:
      if (dx != dout) memcpy(dx, dout, sizeof(float) * n);
      break;
    case INV_ACT_RELU:
      for (size_t i = 0; i < n; i++) dx[i] = x[i] > 0 ? dout[i] : 0;
      break;
    case INV_ACT_SWISH:
#pragma omp simd
      for (size_t i = 0; i < n; i++) {
        float s = sigmoidf(x[i]);
        dx[i] = dout[i] * (s + x[i] * s * (1.0f - s));
      }
      break;
    case INV_ACT_GELU:
      for (size_t i = 0; i < n; i++) {
        float Phi = 0.5f * (1.0f + erff(x[i] * 0.70710678118654752f)), phi = expf(-0.5f * x[i] * x[i]) * 0.3989422804014327f;
        dx[i] = dout[i] * (Phi + x[i] * phi);
      }
      break;
    case INV_ACT_TANH:
      for (size_t i = 0; i < n; i++) {
        float y = tanhf(x[i]);
        dx[i] = dout[i] * (1.0f - y * y);
      }
      break;
    case INV_ACT_SIGMOID:
      for (size_t i = 0; i < n; i++) {
        float s = sigmoidf(x[i]);
        dx[i] = dout[i] * s * (1.0f - s);
      }
      break;
  }
}

/* swish keeping s = sigmoid(x) for the backward pass: d/dx (x s) = s + x s (1 - s) = s + out (1 - s) */
void invnn_swish_forward_cached(float *restrict out, float *restrict s, const float *restrict x, size_t n)
{
#pragma omp simd
  for (size_t i = 0; i < n; i++) {
    float si = sigmoidf(x[i]);
    s[i] = si;
    out[i] = x[i] * si;
  }
}

void invnn_swish_backward_cached(float *restrict dx, const float *restrict dout, const float *restrict s, const float *restrict out,
                                 size_t n)
{
#pragma omp simd
  for (size_t i = 0; i < n; i++) dx[i] = dout[i] * (s[i] + out[i] * (1.0f - s[i]));
}

/* each Philox4x32 block gives 8 masks (16-bit uniforms: rates resolved to 1/65536) */
void invnn_dropout_mask(float *mask, size_t n, float rate, PetscInt64 seed, PetscInt64 sample, PetscInt64 stream)
{
  InvRng rng;
  float keep = 1.0f / (1.0f - rate);
  uint32_t thr = (uint32_t)((double)rate * 65536.0 + 0.5);

  InvRngInit(&rng, seed, INV_RNG_DROPOUT, sample, stream);
  for (size_t i = 0; i < n; i += 8) {
    philox4x32_ctr_t r = philox4x32(rng.ctr, rng.key);
    uint32_t h[8];
    rng.ctr.v[0]++;
    for (int k = 0; k < 4; k++) h[2 * k] = r.v[k] & 0xffffu, h[2 * k + 1] = r.v[k] >> 16;
    for (size_t k = 0; k < 8 && i + k < n; k++) mask[i + k] = h[k] < thr ? 0.0f : keep;
  }
}

void invnn_dropout_forward(float *out, const float *in, const float *mask, size_t n)
{
#pragma omp simd
  for (size_t i = 0; i < n; i++) out[i] = in[i] * mask[i];
}

void invnn_dropout_backward(float *din, const float *dout, const float *mask, size_t n)
{
#pragma omp simd
  for (size_t i = 0; i < n; i++) din[i] = dout[i] * mask[i];
}

double invnn_mse_forward(const float *pred, const float *target, const float *weight, int B, int O, double scale)
{
  double s = 0;

  for (int i = 0; i < B; i++)
    for (int o = 0; o < O; o++) {
      double r = (double)pred[i * O + o] - (double)target[i * O + o];
      s += (weight ? weight[o] : 1.0) * r * r;
    }
  return scale * s;
}

void invnn_mse_backward(float *dpred, const float *pred, const float *target, const float *weight, int B, int O, double scale)
{
  for (int i = 0; i < B; i++)
    for (int o = 0; o < O; o++)
      dpred[i * O + o] = (float)(2.0 * scale * (weight ? weight[o] : 1.0) * ((double)pred[i * O + o] - target[i * O + o]));
}
