/* Benchmark of inference (not a test): microseconds per estimate of a network (default the paper CNN
   on 1000 inputs) at batch sizes 1 and -batch (default 256), median and best of repetitions after a warm-up;
   1 thread (the best repetition is the closest to a quiet machine when the machine is shared). */
#include <invmap/nn.h>
#include <cblas.h>
#include <sys/resource.h>

static int cmpd(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
  char preset[64] = "paper_cnn";
  PetscInt batch = 256, reps = 7;
  InvNetSpec s;
  InvNet net;
  float *X, *Y;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(InvInitializePackage());
  PetscCall(PetscOptionsGetString(NULL, NULL, "-nn_preset", preset, sizeof(preset), NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-batch", &batch, NULL));
  openblas_set_num_threads(1);
  PetscCall(PetscMemzero(&s, sizeof(s)));
  PetscCall(InvNetSpecPreset(&s, preset));
  s.in_len = 1000, s.in_ch = 1, s.out_dim = 2;
  PetscCall(InvNetCreate(&s, (int)batch, &net));
  PetscCall(InvNetInitialize(net, 1));
  PetscCall(PetscMalloc1((size_t)batch * 1000, &X));
  for (size_t i = 0; i < (size_t)batch * 1000; i++) X[i] = 0.001f * (float)(i % 977);
  for (int pass = 0; pass < 2; pass++) {
    int B = pass ? (int)batch : 1, n = pass ? 20 : 2000;
    double t[64], cpu;
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    for (int r = -1; r < reps; r++) {
      PetscLogDouble t0, t1;
      PetscCall(PetscTime(&t0));
      for (int k = 0; k < n; k++) PetscCall(InvNetForward(net, X, B, NULL, 0, 0, &Y));
      PetscCall(PetscTime(&t1));
      if (r >= 0) t[r] = (t1 - t0) / ((double)n * B) * 1e6;
    }
    getrusage(RUSAGE_SELF, &ru1);
    cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) + 1e-6 * (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec);
    cpu = cpu / ((double)(reps + 1) * n * B) * 1e6;
    qsort(t, (size_t)reps, sizeof(double), cmpd);
    PetscCall(PetscPrintf(PETSC_COMM_WORLD,
                          "bench_nn_infer: %s (%zu parameters), batch %4d: %.2f us per estimate (median of %d, best %.2f; CPU time %.2f)\n",
                          preset, net->nparams, B, t[reps / 2], (int)reps, t[0], cpu));
  }
  PetscCall(PetscFree(X));
  PetscCall(InvNetDestroy(&net));
  PetscCall(PetscFinalize());
  return 0;
}
