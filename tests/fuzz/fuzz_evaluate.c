/* libFuzzer target: the inputs of `invmap evaluate` (InvEvalReadTruth, InvEvalReadEstimate,
   InvEvalReadReference) on two valid HDF5 files that fuzz_h5gen.c builds from the fuzz input: byte 0
   picks options, byte 1 where the input splits into the truth file and the estimate file (which is
   also the -cov_reference file). */
#include "fuzz_common.h"
#include "evalimpl.h"

static const char *const datasets[] = {"/theta",      "/status",    "/u",         "/d",   "/t",         "/noise",
                                       "/theta_pred", "/theta_map", "/theta_est", "/cov", "/wall_time", "/function_evaluations",
                                       NULL};
static const char *const attributes[] = {"model",        "parameter_names", "model_constant_names", "model_constants",
                                         "prior_mean",   "prior_sd",        "prior_lower",          "prior_upper",
                                         "observations", "input",           "solve_seconds",        NULL};
static const char *const strings[] = {"fhn", "theta0,theta1", "gamma,zeta", "truth.h5", "/", "", NULL};
static const FuzzH5Vocabulary voc = {datasets, attributes, strings};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  return FuzzInitialize();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *truth = FuzzPath("truth.h5"), *est = FuzzPath("estimate.h5");
  uint8_t flags = size > 0 ? data[0] : 0;
  size_t split = size > 2 ? 2 + (size - 2) * (size_t)data[1] / 256 : size;
  const char *kv[16] = {"-truth", truth, "-quiet", NULL};
  int k = 4;
  InvEval e = NULL;

  if (FuzzH5Build(data + PetscMin(size, 2), split - PetscMin(size, 2), &voc, truth)) return 0;
  if (FuzzH5Build(data + split, size - split, &voc, est)) return 0;
  if (!(flags & 1)) kv[k++] = "-eval_timeseries", kv[k++] = "0";
  if (flags & 2) kv[k++] = "-eval_objective_data", kv[k++] = "u";
  if (flags & 4) kv[k++] = "-noise_rho", kv[k++] = "0.5", kv[k++] = "-noise_sigma", kv[k++] = "0.1";
  if (flags & 8) kv[k++] = "-eval_dataset", kv[k++] = "theta_map";
  kv[k] = NULL;
  FuzzSetOptions(kv);
  if (!InvEvalCreate(PETSC_COMM_WORLD, &e) && !InvEvalSetFromOptions(e) && !InvEvalReadTruth(e)) {
    InvEvalEstimate *s = &e->est[0];
    (void)PetscStrncpy(s->file, est, sizeof(s->file));
    if (!InvEvalReadEstimate(e, s)) {
      (void)PetscStrncpy(e->covref, est, sizeof(e->covref));
      (void)InvEvalReadReference(e);
    }
  }
  (void)InvEvalDestroy(&e);
  (void)FuzzCloseHDF5();
  return 0;
}
