/* Dense and 1-D convolution kernels on SGEMM (convolution = im2col + the dense kernel). */
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

void invnn_conv1d_forward(float *out, float *col, const float *in, const float *w, const float *b, int B, int L, int C, int OC, int K,
                          int S, int pad)
{
  int Lo = invnn_conv1d_outlen(L, K, S, pad), KC = K * C;

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

void invnn_conv1d_backward(float *din, float *dw, float *db, float *dcol, const float *dout, const float *col, const float *w, int B, int L,
                           int C, int OC, int K, int S, int pad)
{
  int Lo = invnn_conv1d_outlen(L, K, S, pad), KC = K * C;

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
