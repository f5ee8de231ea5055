/* The model interface: an ODE x' = f(t, x; theta), x(0) = x0(theta), observed through a linear
   operator y = H x. Every operation works on a batch of nb independent members stored member-major
   (x[b*nstate + i], theta[b*nparam + j]) so that one PETSc TS can integrate many samples at once and
   one adjoint sweep returns every member's gradient. Adding a model is one file that fills an
   InvModelOps table plus one InvModelRegister() line in src/model/model_registry.c. */
#pragma once
#include <invmap/sys.h>
#include <petscviewer.h>

#define INV_MAX_NAME  32
#define INV_MAX_PARAM 16
#define INV_MAX_CONST 16

typedef struct _p_InvModel *InvModel;

typedef struct {
  /* f[b*ns+i] = f_i(t, x_b; theta_b) */
  PetscErrorCode (*rhs)(InvModel, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal theta[], PetscScalar f[]);
  /* J[b*ns*ns + i*ns + j] = d f_i / d x_j */
  PetscErrorCode (*jacobian)(InvModel, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal theta[], PetscScalar J[]);
  /* Jp[b*ns*np + i*np + j] = d f_i / d theta_j */
  PetscErrorCode (*jacobianp)(InvModel, PetscReal t, PetscInt nb, const PetscScalar x[], const PetscReal theta[], PetscScalar Jp[]);
  /* Second derivatives contracted with a vector, for second-order adjoints (optional):
     out[b*ns + j] += sum_{i,k} lambda_i d2f_i/dx_j dx_k v_k  (hxx), d2f_i/dx_j dtheta_k v_k (hxp),
     and out[b*np + j] += sum_{i,k} lambda_i d2f_i/dtheta_j dx_k v_k (hpx), d2f_i/dtheta_j dtheta_k v_k (hpp). */
  PetscErrorCode (*hessian_xx)(InvModel, PetscReal, PetscInt, const PetscScalar[], const PetscReal[], const PetscScalar lam[],
                               const PetscScalar v[], PetscScalar out[]);
  PetscErrorCode (*hessian_xp)(InvModel, PetscReal, PetscInt, const PetscScalar[], const PetscReal[], const PetscScalar lam[],
                               const PetscScalar v[], PetscScalar out[]);
  PetscErrorCode (*hessian_px)(InvModel, PetscReal, PetscInt, const PetscScalar[], const PetscReal[], const PetscScalar lam[],
                               const PetscScalar v[], PetscScalar out[]);
  PetscErrorCode (*hessian_pp)(InvModel, PetscReal, PetscInt, const PetscScalar[], const PetscReal[], const PetscScalar lam[],
                               const PetscScalar v[], PetscScalar out[]);
  /* x0[b*ns+i]; dx0[b*ns*np + i*np + j] = d x0_i / d theta_j (optional: NULL means x0 independent of theta) */
  PetscErrorCode (*initial)(InvModel, PetscInt nb, const PetscReal theta[], PetscScalar x0[]);
  PetscErrorCode (*initial_jacobian)(InvModel, PetscInt nb, const PetscReal theta[], PetscScalar dx0[]);
  PetscErrorCode (*destroy)(InvModel);
} InvModelOps;

struct _p_InvModel {
  char type[INV_MAX_NAME];
  PetscInt nstate, nparam, nobs; /* state, parameter and observed-component dimensions */
  char param_names[INV_MAX_PARAM][INV_MAX_NAME];
  char state_names[INV_MAX_PARAM][INV_MAX_NAME];
  PetscInt nconst; /* named physical constants, overridable by -model_<name> */
  char const_names[INV_MAX_CONST][INV_MAX_NAME];
  PetscReal consts[INV_MAX_CONST];
  const char *const_help[INV_MAX_CONST];
  PetscReal *H; /* observation operator, nobs x nstate, row-major */
  PetscReal prior_mean[INV_MAX_PARAM], prior_sd[INV_MAX_PARAM], prior_lo[INV_MAX_PARAM], prior_hi[INV_MAX_PARAM];
  PetscBool stiff;      /* suggests an implicit TS by default */
  PetscBool autonomous; /* f does not depend on t: one rhs call may hold members at different times (InvMemberRK) */
  InvModelOps ops;
  void *data;
};

typedef PetscErrorCode (*InvModelCreateFn)(InvModel);

PETSC_EXTERN PetscErrorCode InvModelRegister(const char[], InvModelCreateFn);
PETSC_EXTERN PetscErrorCode InvModelRegisterAll(void);
PETSC_EXTERN PetscErrorCode InvModelList(MPI_Comm, FILE *);
PETSC_EXTERN PetscErrorCode InvModelCreate(const char[], InvModel *);
PETSC_EXTERN PetscErrorCode InvModelSetFromOptions(InvModel);
PETSC_EXTERN PetscErrorCode InvModelView(InvModel, PetscViewer);
PETSC_EXTERN PetscErrorCode InvModelDestroy(InvModel *);
PETSC_EXTERN PetscErrorCode InvModelGetConstant(InvModel, const char[], PetscReal *);
PETSC_EXTERN PetscErrorCode InvModelWriteAttributes(InvModel, hid_t);
PETSC_EXTERN PetscErrorCode InvModelReadConstants(InvModel, hid_t);
PETSC_EXTERN PetscErrorCode InvModelParamIndex(InvModel, const char[], PetscInt *);

/* Helpers used by model implementations */
PETSC_EXTERN PetscErrorCode InvModelSetDimensions(InvModel, PetscInt nstate, PetscInt nparam, PetscInt nobs);
PETSC_EXTERN PetscErrorCode InvModelAddConstant(InvModel, const char[], PetscReal, const char[]);
PETSC_EXTERN PetscErrorCode InvModelSetParameter(InvModel, PetscInt, const char[], PetscReal mean, PetscReal sd, PetscReal lo,
                                                 PetscReal hi);
PETSC_EXTERN PetscErrorCode InvModelObserveComponent(InvModel, PetscInt obs, PetscInt state);

/* Models as plugins (src/model/model_plugin.c): a shared library given to -model_plugin registers its models
   with InvModelRegister from one function, named by INV_MODEL_PLUGIN at the end of its source:
     static PetscErrorCode MyRegister(void) { return InvModelRegister("mymodel", MyModelCreate); }
     INV_MODEL_PLUGIN(MyRegister)
   The interface's version is recorded in the library; INV_MODEL_ABI_VERSION changes whenever InvModelOps or
   struct _p_InvModel change, and a library built against another version is refused. */
#define INV_MODEL_ABI_VERSION            1
#define INV_MODEL_PLUGIN_ABI_SYMBOL      "InvModelPluginABI"
#define INV_MODEL_PLUGIN_REGISTER_SYMBOL "InvModelPluginRegister"
#define INV_MODEL_PLUGIN(register_fn)                                                                                                      \
  PETSC_EXTERN const int InvModelPluginABI;                                                                                                \
  const int InvModelPluginABI = INV_MODEL_ABI_VERSION;                                                                                     \
  PETSC_EXTERN PetscErrorCode InvModelPluginRegister(void);                                                                                \
  PetscErrorCode InvModelPluginRegister(void)                                                                                              \
  {                                                                                                                                        \
    return register_fn();                                                                                                                  \
  }
PETSC_EXTERN PetscErrorCode InvModelLoadPlugins(void); /* the libraries of -model_plugin (each once) */
/* Every derivative the model provides against central differences at nb random points (src/model/model_check.c):
   a table on the viewer; ok = PETSC_FALSE if any is wrong. */
PETSC_EXTERN PetscErrorCode InvModelCheckDerivatives(InvModel, PetscInt nb, PetscViewer, PetscBool *ok);

/* Registered models */
PETSC_EXTERN PetscErrorCode InvModelCreate_FHN(InvModel);
PETSC_EXTERN PetscErrorCode InvModelCreate_FHN3(InvModel);
PETSC_EXTERN PetscErrorCode InvModelCreate_VDPStiff(InvModel);
PETSC_EXTERN PetscErrorCode InvModelCreate_HH(InvModel);
PETSC_EXTERN PetscErrorCode InvModelCreate_HH4(InvModel);
PETSC_EXTERN PetscErrorCode InvModelCreate_LinGauss(InvModel);
