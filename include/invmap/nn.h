/* Neural-network library in float32 on OpenBLAS (llm.c style): plain layer kernels, networks (InvNet)
   with one flat parameter buffer and one flat gradient buffer, losses (MSE, Gaussian NLL, moment matching)
   with a mean + Cholesky head, initialisation, Adam/AdamW. */
#pragma once
#include <invmap/sys.h>
#include <petscviewer.h>

/* ---- Kernels. A batch of B signals of length L with C channels is stored (B, L, C), channels last;
   dense activations are (B, C). Backward kernels accumulate (+=) into dw and db and overwrite din
   (din may be NULL when the input gradient is not needed). ---- */
typedef enum { INV_ACT_IDENTITY, INV_ACT_RELU, INV_ACT_SWISH, INV_ACT_GELU, INV_ACT_TANH, INV_ACT_SIGMOID } InvActType;
PETSC_EXTERN const char *const InvActTypes[];

/* out (B, OC) = in (B, C) w^T + b, with w (OC, C), b (OC) */
PETSC_EXTERN void invnn_dense_forward(float *out, const float *in, const float *w, const float *b, int B, int C, int OC);
PETSC_EXTERN void invnn_dense_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w, int B, int C,
                                       int OC);
/* Lout = (L + 2 pad - K) / S + 1; in (B, L, C), out (B, Lout, OC), w (OC, K, C), b (OC),
   col the im2col workspace (B * Lout, K * C) filled by forward and read by backward. */
PETSC_EXTERN int invnn_conv1d_outlen(int L, int K, int S, int pad);
PETSC_EXTERN void invnn_conv1d_forward(float *out, float *col, const float *in, const float *w, const float *b, int B, int L, int C, int OC,
                                       int K, int S, int pad);
/* dcol (B * Lout, K * C) is a workspace; in and col are the forward's input and im2col workspace. Small
   patches (K * C <= 16) with 8, 16 or 32 filters take a direct path that uses in and leaves col unused. */
PETSC_EXTERN void invnn_conv1d_backward(float *din, float *dw, float *db, float *dcol, const float *dout, const float *in, const float *col,
                                        const float *w, int B, int L, int C, int OC, int K, int S, int pad);
/* average pooling with window P and stride P: out (B, L / P, C) */
PETSC_EXTERN void invnn_avgpool_forward(float *out, const float *in, int B, int L, int C, int P);
PETSC_EXTERN void invnn_avgpool_backward(float *din, const float *dout, int B, int L, int C, int P);
/* elementwise activations; backward uses the forward input x */
PETSC_EXTERN void invnn_act_forward(float *out, const float *x, size_t n, InvActType);
PETSC_EXTERN void invnn_act_backward(float *dx, const float *dout, const float *x, size_t n, InvActType);
/* swish that keeps sigmoid(x) in s (n floats) for a backward pass without exponentials */
PETSC_EXTERN void invnn_swish_forward_cached(float *out, float *s, const float *x, size_t n);
PETSC_EXTERN void invnn_swish_backward_cached(float *dx, const float *dout, const float *s, const float *out, size_t n);
/* inverted dropout: mask holds 0 or 1/(1-rate) */
PETSC_EXTERN void invnn_dropout_mask(float *mask, size_t n, float rate, PetscInt64 seed, PetscInt64 sample, PetscInt64 stream);
PETSC_EXTERN void invnn_dropout_forward(float *out, const float *in, const float *mask, size_t n);
PETSC_EXTERN void invnn_dropout_backward(float *din, const float *dout, const float *mask, size_t n);
/* weighted MSE: loss = scale * sum_b sum_o w_o (pred - target)^2; returns the sum (double) and dpred */
PETSC_EXTERN double invnn_mse_forward(const float *pred, const float *target, const float *weight, int B, int O, double scale);
PETSC_EXTERN void invnn_mse_backward(float *dpred, const float *pred, const float *target, const float *weight, int B, int O, double scale);

/* ---- Gaussian output head and losses (src/nn/loss.c). A network with the mean + Cholesky head outputs,
   per sample, P means then the P(P+1)/2 entries of a lower-triangular factor row by row ((0,0), (1,0), (1,1),
   (2,0), ...); the diagonal goes through softplus (plus INV_CHOL_DIAG_MIN), so that L has a positive diagonal
   and Sigma = L L^T is positive definite. Kernels take B samples; L is returned full (P x P, zero above). ---- */
#define INV_MAX_TARGETS   16   /* cap on the targets (parameters) of a network */
#define INV_CHOL_DIAG_MIN 1e-4 /* floor of the factor's diagonal (standardised units): log det stays finite */
static inline int invnn_chol_outputs(int P)
{
  return P * (P + 3) / 2;
}
PETSC_EXTERN void invnn_cholhead_forward(float *mean, float *L, const float *raw, int B, int P);
/* draw = d/draw from dmean (B, P) and dL (B, P, P; the upper triangle ignored); overwrites draw */
PETSC_EXTERN void invnn_cholhead_backward(float *draw, const float *dmean, const float *dL, const float *raw, int B, int P);
/* Gaussian negative log-likelihood of targets t (B, P) under N(mean, L L^T), without the constant P/2 log 2 pi:
   scale * sum_b [ 1/2 |L^-1 (t - mean)|^2 + sum_i log L_ii ]; backward overwrites dmean and dL (lower triangle) */
PETSC_EXTERN double invnn_nll_forward(const float *mean, const float *L, const float *t, int B, int P, double scale);
PETSC_EXTERN void invnn_nll_backward(float *dmean, float *dL, const float *mean, const float *L, const float *t, int B, int P,
                                     double scale);
/* Covariance term of moment matching: the relative Frobenius error of the Cholesky factor,
   scale * sum_b |L - K|_F^2 / |K|_F^2 with K K^T = C the factor of the covariance target C (B, P, P); |K|_F^2 = tr(C).
   Zero exactly when L L^T = C. The error of L L^T itself, |L L^T - C|_F^2, has a stationary point at L = 0 where its
   gradient (proportional to L) vanishes: with Laplace covariances spanning four orders of magnitude it collapsed
   the factor (measured: relative covariance error 1.00, the mean's R^2 0.43 on the meancov experiment's set). The
   factor's error is quadratic in L and has no such point. Backward overwrites dL (lower triangle) */
#define INV_FROB_FLOOR 1e-30 /* smallest pivot of K, and keeps the weight finite for a zero target */
PETSC_EXTERN double invnn_frob_forward(const float *L, const float *C, int B, int P, double scale);
PETSC_EXTERN void invnn_frob_backward(float *dL, const float *L, const float *C, int B, int P, double scale);

/* InvLoss: a training loss over the network's outputs, so that the training loop is the same for all of them.
   Evaluate returns sum (the unscaled sum over the B samples) and, when dout is not NULL, dout = scale *
   d(sum)/d(outputs) (B, nout). Targets per sample: P values (standardised parameters), then for the moment
   term P x P covariance targets (ntarget = P + P^2). A shell loss lets an external computation (e.g. a
   batched adjoint of the simulator) supply both, per batch, given the global sample indices. In training,
   every rank evaluates a shell loss once per global batch, with B = 0 (and NULL arrays) on a rank holding
   none of its samples, so that a collective computation inside it stays matched across the ranks; the
   gradients it yields are reduced by the trainer as for any loss. Validation evaluates per rank, in blocks
   that may differ in number between ranks (no collectives there). */
/* INV_LOSS_DATA: the trainer's data-space loss through the simulator (src/train/loss_data.c, a shell loss) */
typedef enum { INV_LOSS_MSE, INV_LOSS_NLL, INV_LOSS_MOMENT, INV_LOSS_MIX, INV_LOSS_SHELL, INV_LOSS_DATA } InvLossType;
typedef enum { INV_HEAD_MEAN, INV_HEAD_CHOLESKY } InvHeadType;
PETSC_EXTERN const char *const InvLossTypes[];
PETSC_EXTERN const char *const InvHeadTypes[];
#define INV_LOSS_NMIX 3 /* mix weights: mse, nll, moment */
#define INV_LOSS_MIX_DEFAULT                                                                                                               \
  {                                                                                                                                        \
    1.0, 1.0, 0.0                                                                                                                          \
  } /* -train_loss mix without -train_loss_mix: mse + nll */

typedef struct _p_InvLoss *InvLoss;
typedef PetscErrorCode (*InvLossEvalFn)(InvLoss, int B, const float *out, const float *target, const PetscInt64 *sample, double scale,
                                        double *sum, float *dout);
struct _p_InvLoss {
  InvLossType type;
  InvHeadType head;
  int P, nout, ntarget;          /* parameters, network outputs and targets per sample */
  float weight[INV_MAX_TARGETS]; /* per-parameter weights of the squared error of the mean */
  double mix[INV_LOSS_NMIX];     /* weights of the mse, nll and moment terms (mix; the others use one term) */
  int maxbatch;
  float *work;                         /* one allocation holding the head's work arrays below */
  float *mean, *dmean, *T, *Tmap, *gm; /* maxbatch x P: head mean, its gradient, targets, Laplace means, a term's gradient */
  float *L, *dL, *C, *gL;              /* maxbatch x P x P: factor, its gradient, covariance targets, a term's gradient */
  InvLossEvalFn eval;                  /* shell losses */
  void *ctx;
};
/* weight: P per-parameter weights (NULL: 1); mix: INV_LOSS_NMIX weights (used by INV_LOSS_MIX; NULL: 1,1,0) */
PETSC_EXTERN PetscErrorCode InvLossCreate(InvLossType, int P, const float *weight, const double *mix, int maxbatch, InvLoss *);
PETSC_EXTERN PetscErrorCode InvLossCreateShell(InvHeadType, int P, int ntarget, InvLossEvalFn, void *ctx, int maxbatch, InvLoss *);
PETSC_EXTERN PetscErrorCode InvLossEvaluate(InvLoss, int B, const float *out, const float *target, const PetscInt64 *sample, double scale,
                                            double *sum, float *dout);
PETSC_EXTERN PetscErrorCode InvLossDestroy(InvLoss *);
/* network outputs per sample of a head, and the parameters P of a head with nout outputs (error if none) */
PETSC_EXTERN int InvHeadOutputs(InvHeadType, int P);
PETSC_EXTERN PetscErrorCode InvHeadParameters(InvHeadType, int nout, int *P);

/* ---- Architecture description (stored with every model) ---- */
#define INV_NN_MAXLAYERS 16
typedef enum { INV_INIT_GLOROT, INV_INIT_HE } InvInitType;
PETSC_EXTERN const char *const InvInitTypes[];

typedef struct {
  PetscInt in_len, in_ch, out_dim; /* set by the data: input (in_len, in_ch), outputs */
  PetscInt nconv, conv[INV_NN_MAXLAYERS], kernel[INV_NN_MAXLAYERS], stride[INV_NN_MAXLAYERS], pool[INV_NN_MAXLAYERS], pad;
  PetscInt ndense, dense[INV_NN_MAXLAYERS];
  InvActType act;
  InvInitType init;
  PetscReal dropout; /* after each hidden dense layer */
} InvNetSpec;

PETSC_EXTERN PetscErrorCode InvNetSpecSetFromOptions(InvNetSpec *);
PETSC_EXTERN PetscErrorCode InvNetSpecPreset(InvNetSpec *, const char[]);
PETSC_EXTERN PetscErrorCode InvNetSpecWrite(const InvNetSpec *, hid_t);
PETSC_EXTERN PetscErrorCode InvNetSpecRead(InvNetSpec *, hid_t);
PETSC_EXTERN PetscErrorCode InvNetSpecEqual(const InvNetSpec *, const InvNetSpec *, PetscBool *);
PETSC_EXTERN PetscErrorCode InvNetSpecString(const InvNetSpec *, char[], size_t);

/* ---- Networks ---- */
typedef enum { INV_LAYER_DENSE, INV_LAYER_CONV, INV_LAYER_POOL, INV_LAYER_ACT, INV_LAYER_DROPOUT } InvLayerType;

typedef struct {
  InvLayerType type;
  int in_len, in_ch, out_len, out_ch; /* signal shapes (dense: len 1) */
  int k, s, pad;                      /* conv kernel/stride/padding; pool window */
  InvActType act;
  float rate;          /* dropout rate */
  size_t nw, nb;       /* parameter counts */
  float *w, *b;        /* into params: conv w (OC, K, C), dense w (OC, C); b (OC) */
  float *dw, *db;      /* same offsets into grads */
  float *out;          /* (B, out_len, out_ch) */
  float *col, *mask;   /* conv im2col (B * out_len, K * C); dropout mask or swish sigmoid (B, out_len * out_ch) */
  int grad_lo, grad_n; /* [grad_lo, grad_lo + grad_n): this layer's slice of the flat gradient buffer */
} InvLayer;

typedef struct _p_InvNet *InvNet;
struct _p_InvNet {
  InvNetSpec spec;
  int nlayers;
  InvLayer layer[4 * INV_NN_MAXLAYERS + 4];
  size_t nparams;
  float *params, *grads; /* flat buffers of nparams floats */
  int maxbatch;
  int in_size, out_size; /* per sample */
  float *dbuf[2];        /* ping-pong gradient-of-activation buffers */
  float *dcol;           /* conv backward workspace */
  PetscBool training;    /* dropout on */
};

PETSC_EXTERN PetscErrorCode InvNetCreate(const InvNetSpec *, int maxbatch, InvNet *);
PETSC_EXTERN PetscErrorCode InvNetDestroy(InvNet *);
PETSC_EXTERN PetscErrorCode InvNetInitialize(InvNet, PetscInt64 seed);
PETSC_EXTERN PetscErrorCode InvNetView(InvNet, PetscViewer);
/* forward of B samples in (B, in_size); returns the output (B, out_size). Dropout (when training) is
   keyed by (seed, global sample index, epoch), so that a sample's masks do not depend on the ranks. */
PETSC_EXTERN PetscErrorCode InvNetForward(InvNet, const float *in, int B, const PetscInt64 *sample, PetscInt64 seed, PetscInt64 epoch,
                                          float **out);
/* backward from dout (B, out_size), accumulating into grads. With a callback, it is called after each
   parameterised layer (last to first) with that layer's gradient slice complete (for overlapped reductions). */
PETSC_EXTERN PetscErrorCode InvNetBackward(InvNet, const float *in, const float *dout, int B, PetscErrorCode (*)(InvNet, int, void *),
                                           void *);
PETSC_EXTERN PetscErrorCode InvNetZeroGrad(InvNet);
PETSC_EXTERN PetscErrorCode InvNetFlops(InvNet, double *fwd); /* forward flops per sample */

/* ---- Optimiser ---- */
typedef enum { INV_OPT_ADAM, INV_OPT_ADAMW } InvOptType;
typedef enum { INV_LR_CONSTANT, INV_LR_COSINE, INV_LR_EXP, INV_LR_STEP } InvLRSchedule;
PETSC_EXTERN const char *const InvOptTypes[];
PETSC_EXTERN const char *const InvLRSchedules[];

typedef struct _p_InvOpt *InvOpt;
struct _p_InvOpt {
  InvOptType type;
  InvLRSchedule schedule;
  PetscReal lr, lr_min, beta1, beta2, eps, weight_decay, decay;
  PetscInt step_epochs, total_epochs;
  size_t n;
  float *m, *v;
  PetscInt64 t; /* steps taken */
};
PETSC_EXTERN PetscErrorCode InvOptCreate(size_t n, InvOpt *);
PETSC_EXTERN PetscErrorCode InvOptSetFromOptions(InvOpt);
PETSC_EXTERN PetscErrorCode InvOptLearningRate(InvOpt, PetscInt epoch, PetscReal *);
PETSC_EXTERN PetscErrorCode InvOptStep(InvOpt, float *params, const float *grads, PetscReal lr);
PETSC_EXTERN PetscErrorCode InvOptDestroy(InvOpt *);
