/* InvModel: registry, creation, options and provenance of ODE models (see include/invmap/model.h). */
#include <invmap/model.h>
#include <invmap/h5io.h>
#include <string.h>

#define INV_MAX_MODELS 32
static char InvModelNames[INV_MAX_MODELS][INV_MAX_NAME];
static InvModelCreateFn InvModelCreators[INV_MAX_MODELS];
static PetscInt InvModelCount = 0;

PetscErrorCode InvModelRegister(const char name[], InvModelCreateFn create)
{
  PetscFunctionBegin;
  for (PetscInt i = 0; i < InvModelCount; i++) {
    PetscBool same;
    PetscCall(PetscStrcmp(InvModelNames[i], name, &same));
    PetscCheck(!same, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONGSTATE,
               "A model named '%s' is registered already (a plugin must use another name)", name);
  }
  PetscCheck(name && name[0] && strlen(name) < INV_MAX_NAME, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "A model's name must have 1 to %d characters", INV_MAX_NAME - 1);
  PetscCheck(InvModelCount < INV_MAX_MODELS, PETSC_COMM_SELF, PETSC_ERR_SUP, "Too many models (at most %d)", INV_MAX_MODELS);
  PetscCall(PetscStrncpy(InvModelNames[InvModelCount], name, INV_MAX_NAME));
  InvModelCreators[InvModelCount++] = create;
  PetscFunctionReturn(0);
}

PetscErrorCode InvModelList(MPI_Comm comm, FILE *fd)
{
  PetscFunctionBegin;
  PetscCall(InvModelRegisterAll());
  for (PetscInt i = 0; i < InvModelCount; i++) PetscCall(PetscFPrintf(comm, fd, " %s", InvModelNames[i]));
  PetscFunctionReturn(0);
}

PetscErrorCode InvModelCreate(const char type[], InvModel *model)
{
  InvModel m;
  InvModelCreateFn create = NULL;
  PetscBool match;

  PetscFunctionBegin;
  PetscCall(InvModelRegisterAll());
  for (PetscInt i = 0; i < InvModelCount; i++) {
    PetscCall(PetscStrcmp(InvModelNames[i], type, &match));
    if (match) create = InvModelCreators[i];
  }
  if (!create) {
    char names[1024] = "";
    for (PetscInt i = 0; i < InvModelCount; i++) {
      PetscCall(PetscStrlcat(names, " ", sizeof(names)));
      PetscCall(PetscStrlcat(names, InvModelNames[i], sizeof(names)));
    }
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_ARG_UNKNOWN_TYPE,
            "Unknown model '%s'; available models:%s (a model of a plugin needs -model_plugin <library.so>)", type, names);
  }
  PetscCall(PetscNew(&m));
  PetscCall(PetscStrncpy(m->type, type, sizeof(m->type)));
  PetscCall(create(m));
  PetscCheck(m->nstate > 0 && m->nparam > 0 && m->H, PETSC_COMM_SELF, PETSC_ERR_PLIB, "Model %s did not set its dimensions", type);
  PetscCheck(m->ops.rhs && m->ops.initial, PETSC_COMM_SELF, PETSC_ERR_PLIB, "Model %s lacks rhs or initial condition", type);
  *model = m;
  PetscFunctionReturn(0);
}

PetscErrorCode InvModelSetDimensions(InvModel m, PetscInt nstate, PetscInt nparam, PetscInt nobs)
{
  PetscFunctionBegin;
  PetscCheck(nparam <= INV_MAX_PARAM && nstate <= INV_MAX_PARAM, PETSC_COMM_SELF, PETSC_ERR_SUP, "At most %d parameters and states",
             INV_MAX_PARAM);
  m->nstate = nstate;
  m->nparam = nparam;
  m->nobs = nobs;
  PetscCall(PetscFree(m->H));
  PetscCall(PetscCalloc1(nobs * nstate, &m->H));
  PetscFunctionReturn(0);
}

PetscErrorCode InvModelObserveComponent(InvModel m, PetscInt obs, PetscInt state)
{
  PetscFunctionBegin;
  m->H[obs * m->nstate + state] = 1.0;
  PetscFunctionReturn(0);
}

PetscErrorCode InvModelAddConstant(InvModel m, const char name[], PetscReal value, const char help[])
{
  PetscFunctionBegin;
  PetscCheck(m->nconst < INV_MAX_CONST, PETSC_COMM_SELF, PETSC_ERR_SUP, "Too many model constants");
  PetscCall(PetscStrncpy(m->const_names[m->nconst], name, INV_MAX_NAME));
  m->consts[m->nconst] = value;
  m->const_help[m->nconst] = help;
  m->nconst++;
  PetscFunctionReturn(0);
}

PetscErrorCode InvModelSetParameter(InvModel m, PetscInt j, const char name[], PetscReal mean, PetscReal sd, PetscReal lo, PetscReal hi)
{
  PetscFunctionBegin;
  PetscCall(PetscStrncpy(m->param_names[j], name, INV_MAX_NAME));
  m->prior_mean[j] = mean;
  m->prior_sd[j] = sd;
  m->prior_lo[j] = lo;
  m->prior_hi[j] = hi;
  PetscFunctionReturn(0);
}

PetscErrorCode InvModelGetConstant(InvModel m, const char name[], PetscReal *value)
{
  PetscBool match;

  PetscFunctionBegin;
  for (PetscInt c = 0; c < m->nconst; c++) {
    PetscCall(PetscStrcmp(m->const_names[c], name, &match));
    if (match) {
      *value = m->consts[c];
      PetscFunctionReturn(0);
    }
  }
  SETERRQ(PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "Model %s has no constant %s", m->type, name);
}

PetscErrorCode InvModelParamIndex(InvModel m, const char name[], PetscInt *idx)
{
  PetscBool match;

  PetscFunctionBegin;
  *idx = -1;
  for (PetscInt j = 0; j < m->nparam; j++) {
    PetscCall(PetscStrcmp(m->param_names[j], name, &match));
    if (match) *idx = j;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvModelSetFromOptions(InvModel m)
{
  PetscFunctionBegin;
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "Model constants", "InvModel");
  for (PetscInt c = 0; c < m->nconst; c++) {
    char opt[64];
    PetscCall(PetscSNPrintf(opt, sizeof(opt), "-model_%s", m->const_names[c]));
    PetscCall(PetscOptionsReal(opt, m->const_help[c], "InvModelSetFromOptions", m->consts[c], &m->consts[c], NULL));
    PetscCheck(PetscIsNormalReal(m->consts[c]) || m->consts[c] == 0, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE,
               "Option %s must be a finite number", opt);
  }
  PetscOptionsEnd();
  PetscFunctionReturn(0);
}

PetscErrorCode InvModelView(InvModel m, PetscViewer v)
{
  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(v, "Model %s: %" PetscInt_FMT " states, %" PetscInt_FMT " parameters (", m->type, m->nstate, m->nparam));
  for (PetscInt j = 0; j < m->nparam; j++) PetscCall(PetscViewerASCIIPrintf(v, "%s%s", j ? ", " : "", m->param_names[j]));
  PetscCall(PetscViewerASCIIPrintf(v, "), constants:"));
  for (PetscInt c = 0; c < m->nconst; c++) PetscCall(PetscViewerASCIIPrintf(v, " %s=%g", m->const_names[c], (double)m->consts[c]));
  PetscCall(PetscViewerASCIIPrintf(v, "\n"));
  PetscFunctionReturn(0);
}

/* Attributes on an HDF5 object: model name, constants (names and values), parameter names. */
PetscErrorCode InvModelWriteAttributes(InvModel m, hid_t obj)
{
  char names[INV_MAX_PARAM * (INV_MAX_NAME + 1)] = "";

  PetscFunctionBegin;
  PetscCall(InvH5WriteAttrString(obj, "model", m->type));
  for (PetscInt j = 0; j < m->nparam; j++) {
    if (j) PetscCall(PetscStrlcat(names, ",", sizeof(names)));
    PetscCall(PetscStrlcat(names, m->param_names[j], sizeof(names)));
  }
  PetscCall(InvH5WriteAttrString(obj, "parameter_names", names));
  names[0] = 0;
  for (PetscInt c = 0; c < m->nconst; c++) {
    if (c) PetscCall(PetscStrlcat(names, ",", sizeof(names)));
    PetscCall(PetscStrlcat(names, m->const_names[c], sizeof(names)));
  }
  PetscCall(InvH5WriteAttrString(obj, "model_constant_names", names));
  PetscCall(InvH5WriteAttrReals(obj, "model_constants", m->nconst, m->consts));
  PetscFunctionReturn(0);
}

/* Constants stored in a file's attributes (e.g. an ensemble made with -model_<name>) apply unless given
   again as options; a file whose constant names differ from the model's is left alone. */
PetscErrorCode InvModelReadConstants(InvModel m, hid_t root)
{
  PetscBool has;
  PetscReal c[INV_MAX_CONST];
  char *names;

  PetscFunctionBegin;
  PetscCall(InvH5HasAttr(root, "model_constant_names", &has));
  if (!has || !m->nconst) PetscFunctionReturn(0);
  PetscCall(InvH5ReadAttrString(root, "model_constant_names", &names));
  {
    char expect[INV_MAX_CONST * (INV_MAX_NAME + 1)] = "";
    PetscBool same;
    for (PetscInt k = 0; k < m->nconst; k++) {
      if (k) PetscCall(PetscStrlcat(expect, ",", sizeof(expect)));
      PetscCall(PetscStrlcat(expect, m->const_names[k], sizeof(expect)));
    }
    PetscCall(PetscStrcmp(names, expect, &same));
    PetscCall(PetscFree(names));
    if (!same) PetscFunctionReturn(0);
  }
  PetscCall(InvH5ReadAttrReals(root, "model_constants", m->nconst, c));
  for (PetscInt k = 0; k < m->nconst; k++) {
    char opt[64];
    PetscBool given;
    PetscCall(PetscSNPrintf(opt, sizeof(opt), "-model_%s", m->const_names[k]));
    PetscCall(PetscOptionsHasName(NULL, NULL, opt, &given));
    if (!given) m->consts[k] = c[k];
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvModelDestroy(InvModel *m)
{
  PetscFunctionBegin;
  if (!*m) PetscFunctionReturn(0);
  if ((*m)->ops.destroy) PetscCall((*m)->ops.destroy(*m));
  PetscCall(PetscFree((*m)->H));
  PetscCall(PetscFree(*m));
  PetscFunctionReturn(0);
}
