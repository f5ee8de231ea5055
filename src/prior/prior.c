/* Truncated-Gaussian prior (see include/invmap/prior.h). */
#include <invmap/prior.h>
#include <invmap/rng.h>
#include <invmap/h5io.h>
#include <math.h>

PetscErrorCode InvPriorCreate(InvModel m, InvPrior *prior)
{
  InvPrior p;

  PetscFunctionBegin;
  PetscCall(PetscNew(&p));
  p->n = m->nparam;
  for (PetscInt j = 0; j < p->n; j++) {
    p->mean[j] = m->prior_mean[j];
    p->sd[j] = m->prior_sd[j];
    p->lo[j] = m->prior_lo[j];
    p->hi[j] = m->prior_hi[j];
  }
  *prior = p;
  PetscFunctionReturn(0);
}

PetscErrorCode InvPriorSetFromOptions(InvPrior p)
{
  const char *opts[4] = {"-prior_mean", "-prior_sd", "-prior_lower", "-prior_upper"};
  const char *helps[4] = {"Prior means, one per parameter", "Prior standard deviations", "Lower truncation bounds",
                          "Upper truncation bounds"};
  PetscReal *vals[4] = {p->mean, p->sd, p->lo, p->hi};

  PetscFunctionBegin;
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "Prior (independent truncated Gaussians)", "InvPrior");
  for (int o = 0; o < 4; o++) {
    PetscInt nread = p->n;
    PetscBool set;
    char text[INV_HELP_LEN];
    PetscCall(InvHelpWithDefaults(helps[o], p->n, vals[o], text, sizeof(text)));
    PetscCall(PetscOptionsRealArray(opts[o], text, "InvPriorSetFromOptions", vals[o], &nread, &set));
    PetscCheck(!set || nread == p->n, PETSC_COMM_WORLD, PETSC_ERR_ARG_SIZ,
               "Option %s needs %" PetscInt_FMT " comma-separated values (one per parameter), got %" PetscInt_FMT, opts[o], p->n, nread);
  }
  PetscOptionsEnd();
  for (PetscInt j = 0; j < p->n; j++) {
    PetscReal a, b, mass;
    PetscCheck(PetscIsNormalReal(p->sd[j]) && p->sd[j] > 0, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE,
               "-prior_sd: standard deviation of parameter %" PetscInt_FMT " must be positive and finite, got %g", j, (double)p->sd[j]);
    PetscCheck(!PetscIsInfOrNanReal(p->mean[j]), PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE,
               "-prior_mean: mean of parameter %" PetscInt_FMT " is not finite", j);
    PetscCheck(p->lo[j] < p->hi[j], PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE,
               "-prior_lower/-prior_upper: bounds of parameter %" PetscInt_FMT " must satisfy lower < upper, got [%g, %g]", j,
               (double)p->lo[j], (double)p->hi[j]);
    a = (p->lo[j] - p->mean[j]) / p->sd[j];
    b = (p->hi[j] - p->mean[j]) / p->sd[j];
    mass = 0.5 * (erfc(-b / PETSC_SQRT2) - erfc(-a / PETSC_SQRT2));
    PetscCheck(mass > 1e-4, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE,
               "Prior of parameter %" PetscInt_FMT ": the bounds [%g, %g] hold only %g of the Gaussian's mass; widen them or move the mean",
               j, (double)p->lo[j], (double)p->hi[j], (double)mass);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvPriorSample(InvPrior p, PetscInt64 seed, PetscInt64 sample, PetscReal theta[])
{
  InvRng r;

  PetscFunctionBegin;
  InvRngInit(&r, seed, INV_RNG_PRIOR, sample, 0);
  for (PetscInt j = 0; j < p->n; j++) theta[j] = InvRngTruncNormal(&r, p->mean[j], p->sd[j], p->lo[j], p->hi[j]);
  PetscFunctionReturn(0);
}

PetscErrorCode InvPriorInSupport(InvPrior p, const PetscReal theta[], PetscBool *in)
{
  PetscFunctionBegin;
  *in = PETSC_TRUE;
  for (PetscInt j = 0; j < p->n; j++)
    if (!(theta[j] >= p->lo[j] && theta[j] <= p->hi[j])) *in = PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode InvPriorView(InvPrior p, InvModel m, PetscViewer v)
{
  PetscFunctionBegin;
  for (PetscInt j = 0; j < p->n; j++)
    PetscCall(PetscViewerASCIIPrintf(v, "  prior %s ~ N(%g, %g^2) on [%g, %g]\n", m->param_names[j], (double)p->mean[j], (double)p->sd[j],
                                     (double)p->lo[j], (double)p->hi[j]));
  PetscFunctionReturn(0);
}

PetscErrorCode InvPriorWriteAttributes(InvPrior p, hid_t obj)
{
  PetscFunctionBegin;
  PetscCall(InvH5WriteAttrReals(obj, "prior_mean", p->n, p->mean));
  PetscCall(InvH5WriteAttrReals(obj, "prior_sd", p->n, p->sd));
  PetscCall(InvH5WriteAttrReals(obj, "prior_lower", p->n, p->lo));
  PetscCall(InvH5WriteAttrReals(obj, "prior_upper", p->n, p->hi));
  PetscFunctionReturn(0);
}

PetscErrorCode InvPriorDestroy(InvPrior *p)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(*p));
  PetscFunctionReturn(0);
}
