/* Benchmark of data-parallel training throughput (not a test): the seed's dense table of docs/science.md
   section 5 (-nn_preset seed_dense -width W: 8 hidden layers, input 1000, 2 outputs, dropout 0.2,
   10^6 samples = 1000 epochs of 1000) or the paper CNN (-nn_preset paper_cnn), on synthetic data in
   memory, global batch split evenly over the ranks, gradients summed by MPI_Allreduce (flat) or per-layer
   MPI_Iallreduce overlapping backward (-allreduce layer). Reports wall time, samples/s and achieved
   GFLOP/s against the SGEMM rate measured in the same run (1 thread per rank, all ranks at once); also the
   best segment and the CPU time of rank 0 (on a shared machine the best segment is the closest to a quiet one).
   Usage: mpiexec -n P bench_nn_train -nn_preset seed_dense -width 512 [-samples 1000000] [-batch 1000] */
#include <invmap/nn.h>
#include <invmap/rng.h>
#include <cblas.h>
#include <sys/resource.h>

typedef struct {
  MPI_Comm comm;
  MPI_Request req[64];
  int nreq;
} RedCtx;

static PetscErrorCode LayerDone(InvNet net, int l, void *ctx)
{
  RedCtx *r = (RedCtx *)ctx;
  int flag;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Iallreduce(MPI_IN_PLACE, net->grads + net->layer[l].grad_lo, net->layer[l].grad_n, MPI_FLOAT, MPI_SUM, r->comm,
                              &r->req[r->nreq++]));
  PetscCallMPI(MPI_Testall(r->nreq, r->req, &flag, MPI_STATUSES_IGNORE));
  PetscFunctionReturn(0);
}

static int cmpd(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* SGEMM rate (GFLOP/s summed over ranks), n^3 single-thread per rank, median of 5 */
static PetscErrorCode SgemmRate(MPI_Comm comm, int n, double *rate)
{
  float *A, *B, *C;
  double t[5];

  PetscFunctionBegin;
  PetscCall(PetscMalloc3((size_t)n * n, &A, (size_t)n * n, &B, (size_t)n * n, &C));
  for (size_t i = 0; i < (size_t)n * n; i++) A[i] = B[i] = 0.001f * (float)(i % 1000), C[i] = 0;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, A, n, B, n, 0.0f, C, n);
  for (int k = 0; k < 5; k++) {
    PetscLogDouble t0, t1;
    PetscCallMPI(MPI_Barrier(comm));
    PetscCall(PetscTime(&t0));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, A, n, B, n, 0.0f, C, n);
    PetscCall(PetscTime(&t1));
    t[k] = 2.0 * n * (double)n * n / (t1 - t0) * 1e-9;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &t[k], 1, MPI_DOUBLE, MPI_SUM, comm));
  }
  qsort(t, 5, sizeof(double), cmpd);
  *rate = t[2];
  PetscCall(PetscFree3(A, B, C));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  char preset[64] = "seed_dense", red[16] = "flat";
  PetscInt width = 32, batch = 256, nsamples = 1000000, nset = 1000, segments = 5, warm = 5000;
  InvNetSpec s;
  InvNet net;
  InvOpt opt;
  PetscMPIInt rank, size;
  float *X, *T, *dY, *Y;
  PetscInt64 *idx;
  double fwd, train_flops, sgemm = 0, seg[64], total = 0;
  RedCtx rc;
  PetscBool layer;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(InvInitializePackage());
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-nn_preset", preset, sizeof(preset), NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-allreduce", red, sizeof(red), NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-width", &width, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-batch", &batch, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-samples", &nsamples, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-segments", &segments, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-warmup", &warm, NULL));
  PetscCheck(batch % size == 0, PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "-batch must be a multiple of the number of ranks");
  PetscCheck(segments > 0 && segments <= 64, PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "-segments in 1..64");
  layer = (PetscBool)!strcmp(red, "layer");
  openblas_set_num_threads(1);
  PetscCall(PetscMemzero(&s, sizeof(s)));
  PetscCall(InvNetSpecSetFromOptions(&s)); /* -nn_preset and e.g. -nn_act relu */
  if (!strcmp(preset, "seed_dense"))
    for (PetscInt i = 0; i < s.ndense; i++) s.dense[i] = width;
  s.in_len = 1000, s.in_ch = 1, s.out_dim = 2;
  int B = (int)(batch / size);
  PetscCall(InvNetCreate(&s, B, &net));
  PetscCall(InvNetInitialize(net, 1));
  PetscCall(InvOptCreate(net->nparams, &opt));
  PetscCall(InvNetFlops(net, &fwd));
  train_flops =
      3 * fwd - 2.0 * net->layer[0].in_ch * net->layer[0].out_ch * (net->layer[0].type == INV_LAYER_DENSE ? 1 : net->layer[0].out_len);
  /* the local share of a synthetic data set of nset samples (the table's 1000, or one global batch when
     that is larger: every step reads a whole local batch inside the set) */
  nset = PetscMax(nset, batch);
  PetscInt nl = nset / size;
  PetscCall(PetscMalloc4((size_t)nl * 1000, &X, (size_t)nl * 2, &T, (size_t)B * 2, &dY, B, &idx));
  {
    InvRng r;
    InvRngInit(&r, 5, INV_RNG_NOISE, rank, 0);
    for (size_t i = 0; i < (size_t)nl * 1000; i++) X[i] = (float)InvRngNormal(&r);
    for (size_t i = 0; i < (size_t)nl * 2; i++) T[i] = (float)InvRngNormal(&r);
  }
  PetscCall(SgemmRate(PETSC_COMM_WORLD, 1024, &sgemm));
  rc.comm = PETSC_COMM_WORLD;
  net->training = PETSC_TRUE;
  PetscInt64 steps_per_seg = nsamples / batch / segments, step = 0;
  struct rusage ru0, ru1;
  double cpu = 0;
  for (PetscInt sgi = -1; sgi < segments; sgi++) { /* segment -1: warm-up */
    PetscInt64 nsteps = sgi < 0 ? PetscMax(1, warm / batch) : steps_per_seg;
    PetscLogDouble t0, t1;
    PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
    PetscCall(PetscTime(&t0));
    getrusage(RUSAGE_SELF, &ru0);
    for (PetscInt64 k = 0; k < nsteps; k++, step++) {
      PetscInt64 off = (step * B) % (nl - B + 1);
      for (int i = 0; i < B; i++) idx[i] = rank * nl + off + i;
      PetscCall(InvNetZeroGrad(net));
      PetscCall(InvNetForward(net, X + off * 1000, B, idx, 1, step, &Y));
      invnn_mse_backward(dY, Y, T + off * 2, NULL, B, 2, 1.0 / (batch * 2.0));
      rc.nreq = 0;
      PetscCall(InvNetBackward(net, X + off * 1000, dY, B, (layer && size > 1) ? LayerDone : NULL, &rc));
      if (size > 1) {
        if (layer)
          PetscCallMPI(MPI_Waitall(rc.nreq, rc.req, MPI_STATUSES_IGNORE));
        else
          PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, net->grads, (PetscMPIInt)net->nparams, MPI_FLOAT, MPI_SUM, PETSC_COMM_WORLD));
      }
      PetscCall(InvOptStep(opt, net->params, net->grads, 1e-4));
    }
    PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
    PetscCall(PetscTime(&t1));
    getrusage(RUSAGE_SELF, &ru1);
    if (sgi >= 0) {
      seg[sgi] = (double)(nsteps * batch) / (t1 - t0);
      total += t1 - t0;
      cpu += (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
             1e-6 * (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec);
    }
  }
  qsort(seg, (size_t)segments, sizeof(double), cmpd);
  {
    double rate = seg[segments / 2], gf = rate * train_flops * 1e-9;
    char str[512];
    PetscCall(InvNetSpecString(&net->spec, str, sizeof(str)));
    PetscCall(
        PetscPrintf(PETSC_COMM_WORLD,
                    "bench_nn_train: %s\n  %zu parameters, %d rank(s), global batch %d, %s reduction, %.3f MFLOP per training sample\n",
                    str, net->nparams, size, (int)batch, size > 1 ? red : "no", train_flops * 1e-6));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD,
                          "  %lld samples: wall %.2f s; median of %d segments %.0f samples/s = %.1f GFLOP/s; SGEMM (1024^3, all ranks) "
                          "%.1f GFLOP/s; fraction %.2f\n",
                          (long long)(steps_per_seg * segments * batch), total, (int)segments, rate, gf, sgemm, gf / sgemm));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD,
                          "  best segment %.0f samples/s = %.1f GFLOP/s (fraction %.2f); rank 0 CPU time %.2f s for %.2f s wall; "
                          "10^6 samples at the median rate: %.1f s\n",
                          seg[segments - 1], seg[segments - 1] * train_flops * 1e-9, seg[segments - 1] * train_flops * 1e-9 / sgemm, cpu,
                          total, 1e6 / rate));
  }
  PetscCall(PetscFree4(X, T, dY, idx));
  PetscCall(InvOptDestroy(&opt));
  PetscCall(InvNetDestroy(&net));
  PetscCall(PetscFinalize());
  return 0;
}
