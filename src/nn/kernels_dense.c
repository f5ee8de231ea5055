/* Dense and 1-D convolution kernels: dense on SGEMM; convolution by im2col + the dense kernel, or for small
   patches (K * C <= 16 values, e.g. the first layer on a single-channel series, where a GEMM with an inner
   dimension of 3 runs at a few GFLOP/s) and 8, 16 or 32 filters by direct loops vectorised over the
   filters, with the accumulators in registers. */
#if defined(__GNUC__) && !defined(__clang__)
/* -std=c11 turns off the contraction of a * b + c into FMA instructions: allow it here */
#pragma GCC optimize("fp-contract=fast")
#endif
#include <invmap/nn.h>
#include <cblas.h>
#include <string.h>

void invnn_dense_forward(float *out, const float *in, const float *w, const float *b, int B, int C, int OC)
{
  for (int i = 0; i < B; i++) {
    float *restrict o = out + (size_t)i * OC;
#pragma omp simd
    for (int k = 0; k < OC; k++) o[k] = b[k];
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, OC, C, 1.0f, in, C, w, C, 1.0f, out, OC);
}

void invnn_dense_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w, int B, int C, int OC)
{
  /* dw (OC, C) += dout^T (OC, B) in (B, C) */
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, B, 1.0f, dout, OC, in, C, 1.0f, dw, C);
  for (int i = 0; i < B; i++) {
    const float *d = dout + (size_t)i * OC;
#pragma omp simd
    for (int o = 0; o < OC; o++) db[o] += d[o];
  }
  /* din (B, C) = dout (B, OC) w (OC, C) */
  if (din) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, C, OC, 1.0f, dout, OC, w, C, 0.0f, din, C);
}

int invnn_conv1d_outlen(int L, int K, int S, int pad)
{
  int n = L + 2 * pad - K;
  return n < 0 ? 0 : n / S + 1;
}

/* direct convolution: out[j, :] = b + sum_{k, c} x[j S - pad + k, c] wt[k C + c, :], wt = w transposed to (K C, OC) */
#define INV_DIRECT_KC 16
#define DIRECT_CONV(OCN)                                                                                                                   \
  static void conv_direct_fwd_##OCN(float *restrict out, const float *restrict in, const float *restrict w, const float *restrict b,       \
                                    int B, int L, int C, int K, int S, int pad, int Lo)                                                    \
  {                                                                                                                                        \
    int KC = K * C;                                                                                                                        \
    float wt[INV_DIRECT_KC * OCN];                                                                                                         \
    for (int o = 0; o < OCN; o++)                                                                                                          \
      for (int kc = 0; kc < KC; kc++) wt[kc * OCN + o] = w[o * KC + kc];                                                                   \
    for (int i = 0; i < B; i++) {                                                                                                          \
      const float *x = in + (size_t)i * L * C;                                                                                             \
      float *op = out + (size_t)i * Lo * OCN;                                                                                              \
      int j = 0;                                                                                                                           \
      for (; j < Lo; j++) { /* left edge */                                                                                                \
        int p0 = j * S - pad;                                                                                                              \
        if (p0 >= 0 && p0 + K <= L) break;                                                                                                 \
        for (int o = 0; o < OCN; o++) op[j * OCN + o] = b[o];                                                                              \
        for (int k = 0; k < K; k++)                                                                                                        \
          if (p0 + k >= 0 && p0 + k < L)                                                                                                   \
            for (int c = 0; c < C; c++)                                                                                                    \
              for (int o = 0; o < OCN; o++) op[j * OCN + o] += x[(p0 + k) * C + c] * wt[(k * C + c) * OCN + o];                            \
      }                                                                                                                                    \
      for (; j + 3 < Lo && (j + 3) * S - pad + K <= L; j += 4) { /* interior, 4 positions at a time */                                     \
        float a0[OCN], a1[OCN], a2[OCN], a3[OCN];                                                                                          \
        const float *x0 = x + (size_t)(j * S - pad) * C, *x1 = x0 + S * C, *x2 = x1 + S * C, *x3 = x2 + S * C;                             \
        for (int o = 0; o < OCN; o++) a0[o] = a1[o] = a2[o] = a3[o] = b[o];                                                                \
        for (int kc = 0; kc < KC; kc++) {                                                                                                  \
          const float *wr = wt + kc * OCN;                                                                                                 \
          float v0 = x0[kc], v1 = x1[kc], v2 = x2[kc], v3 = x3[kc];                                                                        \
          for (int o = 0; o < OCN; o++) {                                                                                                  \
            a0[o] += v0 * wr[o];                                                                                                           \
            a1[o] += v1 * wr[o];                                                                                                           \
            a2[o] += v2 * wr[o];                                                                                                           \
            a3[o] += v3 * wr[o];                                                                                                           \
          }                                                                                                                                \
        }                                                                                                                                  \
        for (int o = 0; o < OCN; o++) {                                                                                                    \
          op[j * OCN + o] = a0[o];                                                                                                         \
          op[(j + 1) * OCN + o] = a1[o];                                                                                                   \
          op[(j + 2) * OCN + o] = a2[o];                                                                                                   \
          op[(j + 3) * OCN + o] = a3[o];                                                                                                   \
        }                                                                                                                                  \
      }                                                                                                                                    \
      for (; j < Lo; j++) { /* the rest and the right edge */                                                                              \
        int p0 = j * S - pad;                                                                                                              \
        float a0[OCN];                                                                                                                     \
        for (int o = 0; o < OCN; o++) a0[o] = b[o];                                                                                        \
        for (int k = 0; k < K; k++)                                                                                                        \
          if (p0 + k >= 0 && p0 + k < L)                                                                                                   \
            for (int c = 0; c < C; c++) {                                                                                                  \
              float v = x[(p0 + k) * C + c];                                                                                               \
              for (int o = 0; o < OCN; o++) a0[o] += v * wt[(k * C + c) * OCN + o];                                                        \
            }                                                                                                                              \
        for (int o = 0; o < OCN; o++) op[j * OCN + o] = a0[o];                                                                             \
      }                                                                                                                                    \
    }                                                                                                                                      \
  }                                                                                                                                        \
  /* dw[o, kc] += sum_j x[j S - pad + kc] dout[j, o], db += sum_j dout[j, :]; din[p, c] = sum_{j, k: j S - pad + k = p} dout[j, :] . w[:,  \
   * k C + c] */                                                                                                                           \
  static void conv_direct_bwd_##OCN(float *restrict din, float *restrict dw, float *restrict db, const float *restrict dout,               \
                                    const float *restrict in, const float *restrict w, int B, int L, int C, int K, int S, int pad, int Lo) \
  {                                                                                                                                        \
    int KC = K * C;                                                                                                                        \
    float dwt[INV_DIRECT_KC * OCN] = {0}, dbs[OCN] = {0};                                                                                  \
    for (int i = 0; i < B; i++) {                                                                                                          \
      const float *x = in + (size_t)i * L * C, *d = dout + (size_t)i * Lo * OCN;                                                           \
      for (int j = 0; j < Lo; j++)                                                                                                         \
        for (int o = 0; o < OCN; o++) dbs[o] += d[j * OCN + o];                                                                            \
      for (int kc = 0; kc < KC; kc++) {                                                                                                    \
        int k = kc / C, c = kc % C;                                                                                                        \
        float acc[OCN] = {0};                                                                                                              \
        for (int j = 0; j < Lo; j++) {                                                                                                     \
          int p = j * S - pad + k;                                                                                                         \
          if (p < 0 || p >= L) continue;                                                                                                   \
          float v = x[p * C + c];                                                                                                          \
          for (int o = 0; o < OCN; o++) acc[o] += v * d[j * OCN + o];                                                                      \
        }                                                                                                                                  \
        for (int o = 0; o < OCN; o++) dwt[kc * OCN + o] += acc[o];                                                                         \
      }                                                                                                                                    \
      if (din) {                                                                                                                           \
        float *dx = din + (size_t)i * L * C;                                                                                               \
        memset(dx, 0, sizeof(float) * (size_t)L * C);                                                                                      \
        for (int j = 0; j < Lo; j++)                                                                                                       \
          for (int kc = 0; kc < KC; kc++) {                                                                                                \
            int p = j * S - pad + kc / C;                                                                                                  \
            float s = 0;                                                                                                                   \
            if (p < 0 || p >= L) continue;                                                                                                 \
            for (int o = 0; o < OCN; o++) s += d[j * OCN + o] * w[o * KC + kc];                                                            \
            dx[p * C + kc % C] += s;                                                                                                       \
          }                                                                                                                                \
      }                                                                                                                                    \
    }                                                                                                                                      \
    for (int o = 0; o < OCN; o++) {                                                                                                        \
      db[o] += dbs[o];                                                                                                                     \
      for (int kc = 0; kc < KC; kc++) dw[o * KC + kc] += dwt[kc * OCN + o];                                                                \
    }                                                                                                                                      \
  }
DIRECT_CONV(8)
DIRECT_CONV(16)
DIRECT_CONV(32)

static int conv_direct(int K, int C, int OC)
{
  return K * C <= INV_DIRECT_KC && (OC == 8 || OC == 16 || OC == 32);
}

void invnn_conv1d_forward(float *out, float *col, const float *in, const float *w, const float *b, int B, int L, int C, int OC, int K,
                          int S, int pad)
{
  int Lo = invnn_conv1d_outlen(L, K, S, pad), KC = K * C;

  if (conv_direct(K, C, OC)) {
    if (OC == 8) conv_direct_fwd_8(out, in, w, b, B, L, C, K, S, pad, Lo);
    if (OC == 16) conv_direct_fwd_16(out, in, w, b, B, L, C, K, S, pad, Lo);
    if (OC == 32) conv_direct_fwd_32(out, in, w, b, B, L, C, K, S, pad, Lo);
    return;
  }
  for (int i = 0; i < B; i++) {
    const float *x = in + (size_t)i * L * C;
    for (int j = 0; j < Lo; j++) {
      float *c = col + ((size_t)i * Lo + j) * KC;
      int p0 = j * S - pad;
      if (p0 >= 0 && p0 + K <= L)
        memcpy(c, x + (size_t)p0 * C, sizeof(float) * KC); /* channels last: the patch is contiguous */
      else
        for (int k = 0; k < K; k++) {
          int p = p0 + k;
          if (p >= 0 && p < L)
            memcpy(c + k * C, x + (size_t)p * C, sizeof(float) * C);
          else
            memset(c + k * C, 0, sizeof(float) * C);
        }
    }
  }
  invnn_dense_forward(out, col, w, b, B * Lo, KC, OC);
}

void invnn_conv1d_backward(float *din, float *dw, float *db, float *dcol, const float *dout, const float *in, const float *col,
                           const float *w, int B, int L, int C, int OC, int K, int S, int pad)
{
  int Lo = invnn_conv1d_outlen(L, K, S, pad), KC = K * C;

  if (conv_direct(K, C, OC)) {
    if (OC == 8) conv_direct_bwd_8(din, dw, db, dout, in, w, B, L, C, K, S, pad, Lo);
    if (OC == 16) conv_direct_bwd_16(din, dw, db, dout, in, w, B, L, C, K, S, pad, Lo);
    if (OC == 32) conv_direct_bwd_32(din, dw, db, dout, in, w, B, L, C, K, S, pad, Lo);
    return;
  }

  invnn_dense_backward(din ? dcol : NULL, dw, db, dout, col, w, B * Lo, KC, OC);
  if (!din) return;
  memset(din, 0, sizeof(float) * (size_t)B * L * C);
  for (int i = 0; i < B; i++) {
    float *x = din + (size_t)i * L * C;
    for (int j = 0; j < Lo; j++) {
      const float *c = dcol + ((size_t)i * Lo + j) * KC;
      for (int k = 0; k < K; k++) {
        int p = j * S - pad + k;
        if (p < 0 || p >= L) continue;
        float *xp = x + (size_t)p * C;
#pragma omp simd
        for (int ch = 0; ch < C; ch++) xp[ch] += c[k * C + ch];
      }
    }
  }
}
