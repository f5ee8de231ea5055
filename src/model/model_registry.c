/* The list of models invmap knows; a new model adds one line here. */
#include <invmap/model.h>

static PetscBool InvModelRegisterAllCalled = PETSC_FALSE;

PetscErrorCode InvModelRegisterAll(void)
{
  PetscFunctionBegin;
  if (InvModelRegisterAllCalled) PetscFunctionReturn(0);
  InvModelRegisterAllCalled = PETSC_TRUE;
  PetscCall(InvModelRegister("fhn", InvModelCreate_FHN));
  PetscCall(InvModelRegister("vdp_stiff", InvModelCreate_VDPStiff)); /* stiff test model */
  PetscFunctionReturn(0);
}
