/* `invmap model`: describe a model (built in or from -model_plugin): dimensions, parameters with their prior,
   constants, and a check of every derivative it provides against finite differences (exit 1 if one is wrong).
   Meant for authors of model plugins; -model_list lists the registered names. */
#include "commands.h"
#include <invmap/model.h>

#define INV_MODEL_CHECK_POINTS 16 /* default -model_check_points */

typedef struct {
  char type[INV_MAX_NAME];
  PetscInt points;
} ModelCtx;

static PetscErrorCode ModelOptions(ModelCtx *ctx, InvModel *m)
{
  PetscFunctionBegin;
  PetscCall(PetscStrncpy(ctx->type, "fhn", sizeof(ctx->type)));
  ctx->points = INV_MODEL_CHECK_POINTS;
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "invmap model: describe a model and check its derivatives", NULL);
  PetscCall(PetscOptionsString("-model", "Model name (see -model_list; plugins: -model_plugin)", "", ctx->type, ctx->type,
                               sizeof(ctx->type), NULL));
  PetscCall(PetscOptionsInt("-model_check_points", "Random points of the derivative check", "", ctx->points, &ctx->points, NULL));
  PetscOptionsEnd();
  PetscCheck(ctx->points > 0, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-model_check_points must be > 0, got %" PetscInt_FMT,
             ctx->points);
  PetscCall(InvModelCreate(ctx->type, m));
  PetscCall(InvModelSetFromOptions(*m));
  PetscFunctionReturn(0);
}

PetscErrorCode InvCmdModelOptions(void *unused)
{
  ModelCtx ctx;
  InvModel m;

  PetscFunctionBegin;
  PetscCall(ModelOptions(&ctx, &m));
  PetscCall(InvModelDestroy(&m));
  PetscFunctionReturn(0);
}

PetscErrorCode InvCmdModel(int *status)
{
  ModelCtx ctx;
  InvModel m;
  PetscBool help, ok = PETSC_TRUE;
  PetscViewer v = PETSC_VIEWER_STDOUT_WORLD;

  PetscFunctionBegin;
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  PetscCall(ModelOptions(&ctx, &m));
  if (!help) {
    PetscCall(InvOptionsCheckUnused(PETSC_COMM_WORLD, "model", InvCmdModelOptions, NULL));
    PetscCall(InvModelView(m, v));
    PetscCall(PetscViewerASCIIPrintf(v, "  observed: %" PetscInt_FMT " component(s) of the state; %s\n", m->nobs,
                                     m->autonomous ? "autonomous (f does not depend on t)" : "non-autonomous"));
    for (PetscInt j = 0; j < m->nparam; j++)
      PetscCall(PetscViewerASCIIPrintf(v, "  prior %s ~ N(%g, %g^2) on [%g, %g]\n", m->param_names[j], (double)m->prior_mean[j],
                                       (double)m->prior_sd[j], (double)m->prior_lo[j], (double)m->prior_hi[j]));
    PetscCall(InvModelCheckDerivatives(m, ctx.points, v, &ok));
  }
  PetscCall(InvModelDestroy(&m));
  PetscCheck(ok, PETSC_COMM_WORLD, PETSC_ERR_PLIB,
             "model %s: a derivative marked WRONG above disagrees with finite differences: fix its formula (the second-derivative checks "
             "differentiate the Jacobians: fix those first)",
             ctx.type);
  *status = 0;
  PetscFunctionReturn(0);
}
