/* Package initialisation: class id, log events and the version banner used by every command. */
#include <invmap/sys.h>

PetscClassId INV_CLASSID;
PetscLogEvent INV_Simulate, INV_SimulateBatch, INV_Noise, INV_IORead, INV_IOWrite;
PetscLogEvent INV_TrainForward, INV_TrainBackward, INV_TrainAllreduce, INV_TrainStep, INV_Predict;
PetscLogEvent INV_MAPSolve, INV_MAPObjective, INV_MAPHessian;

static PetscBool InvPackageInitialized = PETSC_FALSE;

PetscErrorCode InvFinalizePackage(void)
{
  PetscFunctionBegin;
  InvPackageInitialized = PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode InvInitializePackage(void)
{
  PetscFunctionBegin;
  if (InvPackageInitialized) PetscFunctionReturn(0);
  InvPackageInitialized = PETSC_TRUE;
  PetscCall(PetscClassIdRegister("invmap", &INV_CLASSID));
  PetscCall(PetscLogEventRegister("InvSimulate", INV_CLASSID, &INV_Simulate));
  PetscCall(PetscLogEventRegister("InvSimBatch", INV_CLASSID, &INV_SimulateBatch));
  PetscCall(PetscLogEventRegister("InvNoise", INV_CLASSID, &INV_Noise));
  PetscCall(PetscLogEventRegister("InvIORead", INV_CLASSID, &INV_IORead));
  PetscCall(PetscLogEventRegister("InvIOWrite", INV_CLASSID, &INV_IOWrite));
  PetscCall(PetscLogEventRegister("InvTrainFwd", INV_CLASSID, &INV_TrainForward));
  PetscCall(PetscLogEventRegister("InvTrainBwd", INV_CLASSID, &INV_TrainBackward));
  PetscCall(PetscLogEventRegister("InvTrainAllred", INV_CLASSID, &INV_TrainAllreduce));
  PetscCall(PetscLogEventRegister("InvTrainStep", INV_CLASSID, &INV_TrainStep));
  PetscCall(PetscLogEventRegister("InvPredict", INV_CLASSID, &INV_Predict));
  PetscCall(PetscLogEventRegister("InvMAPSolve", INV_CLASSID, &INV_MAPSolve));
  PetscCall(PetscLogEventRegister("InvMAPObjGrad", INV_CLASSID, &INV_MAPObjective));
  PetscCall(PetscLogEventRegister("InvMAPHessian", INV_CLASSID, &INV_MAPHessian));
  PetscCall(PetscRegisterFinalize(InvFinalizePackage));
  PetscFunctionReturn(0);
}
