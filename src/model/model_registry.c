/* The list of models invmap knows; a new built-in model adds one line here (plugins: src/model/model_plugin.c). */
#include <invmap/model.h>

static PetscBool InvModelRegisterAllCalled = PETSC_FALSE;

PetscErrorCode InvModelRegisterAll(void)
{
  PetscFunctionBegin;
  if (!InvModelRegisterAllCalled) {
    InvModelRegisterAllCalled = PETSC_TRUE;
    PetscCall(InvModelRegister("fhn", InvModelCreate_FHN));
    PetscCall(InvModelRegister("fhn3", InvModelCreate_FHN3));
    PetscCall(InvModelRegister("vdp_stiff", InvModelCreate_VDPStiff));
    PetscCall(InvModelRegister("hh", InvModelCreate_HH));
    PetscCall(InvModelRegister("hh4", InvModelCreate_HH4));
    PetscCall(InvModelRegister("lingauss", InvModelCreate_LinGauss)); /* a test model: exact Gaussian posterior */
  }
  PetscCall(InvModelLoadPlugins());
  PetscFunctionReturn(0);
}
