/* AR(1) observation noise and its whitening (see include/invmap/noise.h). */
#include <invmap/noise.h>
#include <invmap/rng.h>
#include <invmap/h5io.h>
#include <math.h>

const char *const InvNoiseTypes[] = {"none", "ar1", "InvNoiseType", "INV_NOISE_", NULL};

PetscErrorCode InvNoiseCreate(InvNoise *noise)
{
  InvNoise n;

  PetscFunctionBegin;
  PetscCall(PetscNew(&n));
  n->type = INV_NOISE_AR1;
  n->rho = 0.8;
  n->sigma = 0.07;
  n->rho_prior[0] = 0.8;
  n->rho_prior[1] = 0.06;
  n->rho_prior[2] = 0.66;
  n->rho_prior[3] = 0.92;
  n->sigma_prior[0] = 0.07;
  n->sigma_prior[1] = 0.01;
  n->sigma_prior[2] = 0.035;
  n->sigma_prior[3] = 0.10;
  *noise = n;
  PetscFunctionReturn(0);
}

PetscErrorCode InvNoiseCheckParameters(PetscReal rho, PetscReal sigma)
{
  PetscFunctionBegin;
  PetscCheck(PetscIsNormalReal(sigma) && sigma > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "AR(1) noise needs sigma > 0, got %g",
             (double)sigma);
  PetscCheck(!PetscIsInfOrNanReal(rho) && PetscAbsReal(rho) < 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "AR(1) noise needs |rho| < 1 (stationary), got %g", (double)rho);
  PetscFunctionReturn(0);
}

static PetscErrorCode InvNoiseCheckPrior(const char opt[], const PetscReal p[4], PetscReal lo_allowed, PetscReal hi_allowed)
{
  PetscFunctionBegin;
  PetscCheck(p[1] > 0 && p[2] < p[3] && p[2] >= lo_allowed && p[3] <= hi_allowed, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE,
             "%s mean,sd,lower,upper: need sd > 0 and %g <= lower < upper <= %g, got %g,%g,%g,%g", opt, (double)lo_allowed,
             (double)hi_allowed, (double)p[0], (double)p[1], (double)p[2], (double)p[3]);
  PetscCheck(p[0] >= p[2] - 3 * p[1] && p[0] <= p[3] + 3 * p[1], PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE,
             "%s: the mean %g lies too far outside [%g, %g]", opt, (double)p[0], (double)p[2], (double)p[3]);
  PetscFunctionReturn(0);
}

PetscErrorCode InvNoiseSetFromOptions(InvNoise n)
{
  PetscInt four;
  PetscBool set;

  PetscFunctionBegin;
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "Observation noise", "InvNoise");
  PetscCall(PetscOptionsEnum("-noise_type", "Noise model", "InvNoiseSetFromOptions", InvNoiseTypes, (PetscEnum)n->type,
                             (PetscEnum *)&n->type, NULL));
  PetscCall(PetscOptionsReal("-noise_rho", "Fix the AR(1) correlation rho for every sample (default: drawn from -noise_rho_prior)",
                             "InvNoiseSetFromOptions", n->rho, &n->rho, &n->fixed_rho));
  PetscCall(PetscOptionsReal("-noise_sigma",
                             "Fix the AR(1) standard deviation sigma for every sample (default: drawn from -noise_sigma_prior)",
                             "InvNoiseSetFromOptions", n->sigma, &n->sigma, &n->fixed_sigma));
  four = 4;
  PetscCall(PetscOptionsRealArray("-noise_rho_prior", "Truncated Gaussian of rho: mean,sd,lower,upper", "InvNoiseSetFromOptions",
                                  n->rho_prior, &four, &set));
  PetscCheck(!set || four == 4, PETSC_COMM_WORLD, PETSC_ERR_ARG_SIZ, "-noise_rho_prior needs 4 values: mean,sd,lower,upper");
  four = 4;
  PetscCall(PetscOptionsRealArray("-noise_sigma_prior", "Truncated Gaussian of sigma: mean,sd,lower,upper", "InvNoiseSetFromOptions",
                                  n->sigma_prior, &four, &set));
  PetscCheck(!set || four == 4, PETSC_COMM_WORLD, PETSC_ERR_ARG_SIZ, "-noise_sigma_prior needs 4 values: mean,sd,lower,upper");
  PetscOptionsEnd();
  if (n->type == INV_NOISE_AR1) {
    if (n->fixed_rho || n->fixed_sigma) PetscCall(InvNoiseCheckParameters(n->rho, n->sigma));
    PetscCall(InvNoiseCheckPrior("-noise_rho_prior", n->rho_prior, -0.999, 0.999));
    PetscCall(InvNoiseCheckPrior("-noise_sigma_prior", n->sigma_prior, 1e-12, PETSC_MAX_REAL));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvNoiseSampleParameters(InvNoise n, PetscInt64 seed, PetscInt64 sample, PetscReal *rho, PetscReal *sigma)
{
  InvRng r;

  PetscFunctionBegin;
  InvRngInit(&r, seed, INV_RNG_NOISE_PAR, sample, 0);
  *rho = InvRngTruncNormal(&r, n->rho_prior[0], n->rho_prior[1], n->rho_prior[2], n->rho_prior[3]);
  *sigma = InvRngTruncNormal(&r, n->sigma_prior[0], n->sigma_prior[1], n->sigma_prior[2], n->sigma_prior[3]);
  if (n->fixed_rho) *rho = n->rho;
  if (n->fixed_sigma) *sigma = n->sigma;
  PetscFunctionReturn(0);
}

/* d = u + eta with eta stationary AR(1); the draws depend only on (seed, sample, epoch). */
PetscErrorCode InvNoiseApply(InvNoise n, PetscInt64 seed, PetscInt64 sample, PetscInt64 epoch, PetscReal rho, PetscReal sigma, PetscInt len,
                             const PetscReal u[], PetscReal d[])
{
  InvRng r;
  PetscReal eta, innov;

  PetscFunctionBegin;
  if (n->type == INV_NOISE_NONE) {
    for (PetscInt k = 0; k < len; k++) d[k] = u[k];
    PetscFunctionReturn(0);
  }
  InvRngInit(&r, seed, INV_RNG_NOISE, sample, epoch);
  innov = sqrt(1.0 - rho * rho) * sigma;
  eta = sigma * InvRngNormal(&r);
  d[0] = u[0] + eta;
  for (PetscInt k = 1; k < len; k++) {
    eta = rho * eta + innov * InvRngNormal(&r);
    d[k] = u[k] + eta;
  }
  PetscFunctionReturn(0);
}

void InvAR1Whiten(PetscReal rho, PetscReal sigma, PetscInt n, const PetscReal r[], PetscReal w[])
{
  const PetscReal s = 1.0 / (sigma * sqrt(1.0 - rho * rho));

  if (n <= 0) return;
  for (PetscInt k = n - 1; k >= 1; k--) w[k] = (r[k] - rho * r[k - 1]) * s;
  w[0] = r[0] / sigma;
}

void InvAR1WhitenTranspose(PetscReal rho, PetscReal sigma, PetscInt n, const PetscReal w[], PetscReal r[])
{
  const PetscReal s = 1.0 / (sigma * sqrt(1.0 - rho * rho));

  if (n <= 0) return;
  for (PetscInt k = 0; k < n - 1; k++) r[k] = w[k] * (k == 0 ? 1.0 / sigma : s) - rho * s * w[k + 1];
  r[n - 1] = w[n - 1] * (n == 1 ? 1.0 / sigma : s);
}

PetscErrorCode InvNoiseView(InvNoise n, PetscViewer v)
{
  PetscFunctionBegin;
  if (n->type == INV_NOISE_NONE)
    PetscCall(PetscViewerASCIIPrintf(v, "  noise: none\n"));
  else {
    if (n->fixed_rho)
      PetscCall(PetscViewerASCIIPrintf(v, "  noise: AR(1), rho = %g", (double)n->rho));
    else
      PetscCall(PetscViewerASCIIPrintf(v, "  noise: AR(1), rho ~ N(%g, %g^2) on [%g, %g]", (double)n->rho_prior[0], (double)n->rho_prior[1],
                                       (double)n->rho_prior[2], (double)n->rho_prior[3]));
    if (n->fixed_sigma)
      PetscCall(PetscViewerASCIIPrintf(v, ", sigma = %g\n", (double)n->sigma));
    else
      PetscCall(PetscViewerASCIIPrintf(v, ", sigma ~ N(%g, %g^2) on [%g, %g]\n", (double)n->sigma_prior[0], (double)n->sigma_prior[1],
                                       (double)n->sigma_prior[2], (double)n->sigma_prior[3]));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvNoiseWriteAttributes(InvNoise n, hid_t obj)
{
  PetscReal fixed[2] = {n->fixed_rho ? n->rho : NAN, n->fixed_sigma ? n->sigma : NAN};

  PetscFunctionBegin;
  PetscCall(InvH5WriteAttrString(obj, "noise_type", InvNoiseTypes[n->type]));
  if (n->type == INV_NOISE_AR1) {
    PetscCall(InvH5WriteAttrReals(obj, "noise_rho_prior", 4, n->rho_prior));
    PetscCall(InvH5WriteAttrReals(obj, "noise_sigma_prior", 4, n->sigma_prior));
    PetscCall(InvH5WriteAttrReals(obj, "noise_fixed_rho_sigma", 2, fixed));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvNoiseDestroy(InvNoise *n)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(*n));
  PetscFunctionReturn(0);
}
