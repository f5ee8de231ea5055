/* Models as plugins: -model_plugin lib1.so[,lib2.so] loads shared libraries that register models through
   the same interface as the built-in ones (include/invmap/model.h, INV_MODEL_PLUGIN). The library is loaded
   with PETSc's dynamic-library layer; its model code calls invmap's helpers (InvModelRegister,
   InvModelSetDimensions, ...), which the invmap executable exports. A library built against another
   version of the model interface is refused (INV_MODEL_ABI_VERSION). Each path is loaded once per process. */
#include <invmap/model.h>

#define INV_MAX_PLUGINS 8

static char InvPluginLoaded[INV_MAX_PLUGINS][PETSC_MAX_PATH_LEN];
static PetscInt InvPluginCount = 0;

static PetscErrorCode InvModelPluginLoad(const char path[])
{
  PetscDLHandle handle;
  void *abi = NULL, *reg = NULL;
  PetscBool exists;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < InvPluginCount; i++) {
    PetscBool same;
    PetscCall(PetscStrcmp(InvPluginLoaded[i], path, &same));
    if (same) PetscFunctionReturn(0);
  }
  PetscCheck(InvPluginCount < INV_MAX_PLUGINS, PETSC_COMM_SELF, PETSC_ERR_SUP, "-model_plugin: at most %d libraries", INV_MAX_PLUGINS);
  PetscCall(PetscTestFile(path, 'r', &exists));
  PetscCheck(exists, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "-model_plugin: no readable file %s (give the path of the plugin's .so)", path);
  PetscCall(PetscDLOpen(path, (PetscDLMode)(PETSC_DL_NOW | PETSC_DL_LOCAL), &handle));
  PetscCall(PetscDLSym(handle, INV_MODEL_PLUGIN_ABI_SYMBOL, &abi));
  PetscCall(PetscDLSym(handle, INV_MODEL_PLUGIN_REGISTER_SYMBOL, &reg));
  PetscCheck(abi && reg, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
             "-model_plugin: %s is not an invmap model plugin (it does not define %s and %s: end the plugin's source with "
             "INV_MODEL_PLUGIN(<your register function>), see include/invmap/model.h)",
             path, INV_MODEL_PLUGIN_REGISTER_SYMBOL, INV_MODEL_PLUGIN_ABI_SYMBOL);
  PetscCheck(*(const int *)abi == INV_MODEL_ABI_VERSION, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
             "-model_plugin: %s was built against model interface version %d, this invmap has version %d: rebuild the plugin "
             "against this invmap's installed headers",
             path, *(const int *)abi, INV_MODEL_ABI_VERSION);
  PetscCall(PetscStrncpy(InvPluginLoaded[InvPluginCount++], path, PETSC_MAX_PATH_LEN));
  PetscCall((*(PetscErrorCode(*)(void))reg)());
  PetscFunctionReturn(0);
}

PetscErrorCode InvModelLoadPlugins(void)
{
  char *paths[INV_MAX_PLUGINS];
  PetscInt n = INV_MAX_PLUGINS;
  PetscBool set = PETSC_FALSE;

  PetscFunctionBegin;
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "Model plugins", NULL);
  PetscCall(PetscOptionsStringArray("-model_plugin", "Shared libraries that register models (comma-separated paths)", "InvModelLoadPlugins",
                                    paths, &n, &set));
  PetscOptionsEnd();
  for (PetscInt i = 0; set && i < n; i++) {
    PetscErrorCode ierr = InvModelPluginLoad(paths[i]);
    for (PetscInt j = i; ierr && j < n; j++) PetscCall(PetscFree(paths[j]));
    PetscCall(ierr);
    PetscCall(PetscFree(paths[i]));
  }
  PetscFunctionReturn(0);
}
