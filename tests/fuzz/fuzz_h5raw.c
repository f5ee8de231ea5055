/* libFuzzer target: raw bytes as an HDF5 file, given to every HDF5 reader of invmap (map input,
   evaluate truth, predict observations, training set, model file, checkpoint, parameter file). This
   mostly exercises libhdf5's own parser of corrupt metadata (see tests/fuzz/README.md for what is
   excluded); the structure-aware targets are the ones aimed at invmap's own checks. */
#include "fuzz_support.h"
#include "mapimpl.h"
#include "evalimpl.h"
#include <invmap/ensemble.h>
#include <invmap/predict.h>
#include <invmap/train.h>

static char model[PETSC_MAX_PATH_LEN], trainset[PETSC_MAX_PATH_LEN];
static InvModel fhn;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  if (FuzzInitialize()) return 1;
  (void)PetscStrncpy(model, FuzzPath("companion-model.h5"), sizeof(model));
  (void)PetscStrncpy(trainset, FuzzPath("companion-train.h5"), sizeof(trainset));
  if (FuzzWriteModel(model) || FuzzWriteTrainingSet(trainset)) return 1;
  return InvModelCreate("fhn", &fhn) != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *path = FuzzWriteFile("raw.h5", data, size), *out = FuzzPath("out.h5");
  InvMAP map = NULL;
  InvEval e = NULL;
  InvPredictor p = NULL;
  InvTrainer t = NULL;
  InvNNMap nn = NULL;
  PetscInt n;
  PetscReal *theta = NULL;

  if (!path) return 0;
  FuzzSetOptions((const char *const[]){"-i", path, "-quiet", NULL, NULL});
  if (!InvMAPCreate(PETSC_COMM_WORLD, &map) && !InvMAPSetFromOptions(map)) (void)InvMAPReadInput(map);
  (void)InvMAPDestroy(&map);
  (void)FuzzCloseHDF5();

  FuzzSetOptions((const char *const[]){"-truth", path, "-eval_timeseries", "0", NULL});
  if (!InvEvalCreate(PETSC_COMM_WORLD, &e) && !InvEvalSetFromOptions(e)) (void)InvEvalReadTruth(e);
  (void)InvEvalDestroy(&e);
  (void)FuzzCloseHDF5();

  FuzzSetOptions((const char *const[]){"-model", model, "-i", path, "-o", out, "-overwrite", NULL, "-quiet", NULL, NULL});
  if (!InvPredictorCreate(PETSC_COMM_WORLD, &p) && !InvPredictorSetFromOptions(p)) (void)InvPredictorRun(p);
  (void)InvPredictorDestroy(&p);
  (void)FuzzCloseHDF5();

  FuzzSetOptions(
      (const char *const[]){"-i", path, "-o", out, "-overwrite", NULL, "-quiet", NULL, FUZZ_NN_OPTIONS, "-train_epochs", "1", NULL});
  if (!InvTrainerCreate(PETSC_COMM_WORLD, &t) && !InvTrainerSetFromOptions(t)) (void)InvTrainerSetUp(t);
  (void)InvTrainerDestroy(&t);
  (void)FuzzCloseHDF5();

  FuzzSetOptions((const char *const[]){"-i", trainset, "-o", out, "-overwrite", NULL, "-resume", NULL, "-train_checkpoint", path, "-quiet",
                                       NULL, FUZZ_NN_OPTIONS, NULL});
  if (!InvTrainerCreate(PETSC_COMM_WORLD, &t) && !InvTrainerSetFromOptions(t)) (void)InvTrainerSetUp(t);
  (void)InvTrainerDestroy(&t);
  (void)FuzzCloseHDF5();

  FuzzSetOptions((const char *const[]){NULL});
  (void)InvNNMapLoad(PETSC_COMM_WORLD, path, 2, &nn);
  (void)InvNNMapDestroy(&nn);
  (void)InvReadParameters(PETSC_COMM_WORLD, fhn, path, &n, &theta);
  (void)PetscFree(theta);
  (void)FuzzCloseHDF5();
  return 0;
}
