/* AR(1) observation noise, its scale convention and its whitening (see include/invmap/noise.h). */
#include <invmap/noise.h>
#include <invmap/rng.h>
#include <invmap/h5io.h>
#include <math.h>

const char *const InvNoiseTypes[] = {"none", "ar1", "InvNoiseType", "INV_NOISE_", NULL};
const char *const InvNoiseParamNames[] = {"rho", "sigma"};
const char *const InvNoiseScales[] = {"dt", "unit", "InvNoiseScale", "INV_NOISE_SCALE_", NULL};

/* Observation times count as uniformly spaced when every spacing equals their mean to this relative tolerance
   (times stored as t0 + k dt in double precision differ from it by rounding only, ~1e-16 relative; a file
   with irregular times is refused for the dt convention rather than given a made-up Delta_t). */
#define INV_NOISE_SPACING_RTOL 1e-6

PetscReal InvNoiseMarginalSD(InvNoiseScale scale, PetscReal sigma, PetscReal obs_dt)
{
  return scale == INV_NOISE_SCALE_DT ? sigma / obs_dt : sigma;
}

PetscErrorCode InvNoiseObservationSpacing(MPI_Comm comm, InvNoiseScale scale, PetscInt nt, const PetscReal t[], PetscReal *dt)
{
  PetscReal mean;

  PetscFunctionBegin;
  *dt = 1.0; /* not used by the unit convention */
  if (scale == INV_NOISE_SCALE_UNIT) PetscFunctionReturn(0);
  PetscCheck(nt >= 2, comm, PETSC_ERR_ARG_SIZ,
             "The noise convention -noise_scale dt (s = sigma / Delta_t) needs at least 2 observation times to define Delta_t; "
             "give -noise_scale unit for s = sigma");
  mean = (t[nt - 1] - t[0]) / (nt - 1);
  PetscCheck(mean > 0 && PetscIsNormalReal(mean), comm, PETSC_ERR_ARG_OUTOFRANGE,
             "The observation times must increase to define the noise's Delta_t (first %g, last %g)", (double)t[0], (double)t[nt - 1]);
  for (PetscInt k = 1; k < nt; k++)
    PetscCheck(PetscAbsReal(t[k] - t[k - 1] - mean) <= INV_NOISE_SPACING_RTOL * mean, comm, PETSC_ERR_ARG_OUTOFRANGE,
               "The noise convention -noise_scale dt (s = sigma / Delta_t) needs uniformly spaced observation times, but "
               "t[%" PetscInt_FMT "] - t[%" PetscInt_FMT "] = %g differs from the mean spacing %g; give -noise_scale unit for s = sigma",
               k, k - 1, (double)(t[k] - t[k - 1]), (double)mean);
  *dt = mean;
  PetscFunctionReturn(0);
}

/* The -noise_scale option's help (the option is read inside each options block that offers it) */
static const char InvNoiseScaleHelp[] = "Noise convention: dt (standard deviation sigma / Delta_t, the paper's) or unit (sigma)";

/* The convention of a data file's noise: its attribute; a file with /noise but no attribute predates it and drew
   s = sigma. An explicit -noise_scale must agree with the file's. A file without noise leaves the option's. */
static PetscErrorCode InvNoiseResolveScale(MPI_Comm comm, hid_t file, const char fname[], PetscBool set, InvNoiseScale *scale)
{
  hid_t root;
  PetscBool has, hasnoise;
  InvNoiseScale fs = INV_NOISE_SCALE_UNIT;

  PetscFunctionBegin;
  if (file < 0) PetscFunctionReturn(0);
  PetscCallHDF5Return(root, H5Gopen2(file, "/", H5P_DEFAULT));
  PetscCall(InvH5HasAttr(root, INV_NOISE_SCALE_ATTR, &has));
  PetscCall(InvH5HasDataset(file, "/noise", &hasnoise));
  if (has) {
    char *name;
    PetscBool found = PETSC_FALSE;
    PetscCall(InvH5ReadAttrString(root, INV_NOISE_SCALE_ATTR, &name));
    for (PetscInt k = 0; k < 2 && !found; k++) {
      PetscCall(PetscStrcmp(name, InvNoiseScales[k], &found));
      if (found) fs = (InvNoiseScale)k;
    }
    PetscCheck(found, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: unknown noise convention %s = '%s' (expected dt or unit)", fname,
               INV_NOISE_SCALE_ATTR, name);
    PetscCall(PetscFree(name));
  } else if (hasnoise) {
    fs = INV_NOISE_SCALE_UNIT;
    if (!set)
      PetscCall(PetscPrintf(comm,
                            "note: %s was written before invmap recorded its noise convention; its noise is read as drawn then, with "
                            "standard deviation sigma (-noise_scale unit)\n",
                            fname));
  } else {
    PetscCallHDF5(H5Gclose(root));
    PetscFunctionReturn(0);
  }
  PetscCallHDF5(H5Gclose(root));
  PetscCheck(!set || fs == *scale, comm, PETSC_ERR_ARG_INCOMP,
             "%s holds noise of the convention -noise_scale %s, but -noise_scale %s was given; drop the option (the file's convention "
             "is used) or regenerate the file",
             fname, InvNoiseScales[fs], InvNoiseScales[*scale]);
  *scale = fs;
  PetscFunctionReturn(0);
}

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
  n->scale = INV_NOISE_SCALE_DT;
  *noise = n;
  PetscFunctionReturn(0);
}

PetscBool InvNoiseParametersValid(PetscReal rho, PetscReal sigma)
{
  return (PetscIsNormalReal(sigma) && sigma > 0 && !PetscIsInfOrNanReal(rho) && PetscAbsReal(rho) < 1) ? PETSC_TRUE : PETSC_FALSE;
}

PetscErrorCode InvNoiseCheckParameters(PetscReal rho, PetscReal sigma)
{
  PetscFunctionBegin;
  if (InvNoiseParametersValid(rho, sigma)) PetscFunctionReturn(0);
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
  char help[INV_HELP_LEN];

  PetscFunctionBegin;
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "Observation noise", "InvNoise");
  PetscCall(PetscOptionsEnum("-noise_type", "Noise model", "InvNoiseSetFromOptions", InvNoiseTypes, (PetscEnum)n->type,
                             (PetscEnum *)&n->type, NULL));
  PetscCall(PetscOptionsReal("-noise_rho", "Fix the AR(1) correlation rho for every sample (default: drawn from -noise_rho_prior)",
                             "InvNoiseSetFromOptions", n->rho, &n->rho, &n->fixed_rho));
  PetscCall(PetscOptionsReal("-noise_sigma",
                             "Fix the AR(1) parameter sigma for every sample (the noise standard deviation is sigma / Delta_t, or sigma "
                             "with -noise_scale unit; default: drawn from -noise_sigma_prior)",
                             "InvNoiseSetFromOptions", n->sigma, &n->sigma, &n->fixed_sigma));
  four = 4;
  PetscCall(InvHelpWithDefaults("Truncated Gaussian of rho: mean,sd,lower,upper", 4, n->rho_prior, help, sizeof(help)));
  PetscCall(PetscOptionsRealArray("-noise_rho_prior", help, "InvNoiseSetFromOptions", n->rho_prior, &four, &set));
  PetscCheck(!set || four == 4, PETSC_COMM_WORLD, PETSC_ERR_ARG_SIZ, "-noise_rho_prior needs 4 values: mean,sd,lower,upper");
  four = 4;
  PetscCall(InvHelpWithDefaults("Truncated Gaussian of sigma: mean,sd,lower,upper", 4, n->sigma_prior, help, sizeof(help)));
  PetscCall(PetscOptionsRealArray("-noise_sigma_prior", help, "InvNoiseSetFromOptions", n->sigma_prior, &four, &set));
  PetscCheck(!set || four == 4, PETSC_COMM_WORLD, PETSC_ERR_ARG_SIZ, "-noise_sigma_prior needs 4 values: mean,sd,lower,upper");
  PetscCall(PetscOptionsEnum("-noise_scale", InvNoiseScaleHelp, "InvNoiseMarginalSD", InvNoiseScales, (PetscEnum)n->scale,
                             (PetscEnum *)&n->scale, &n->scale_set));
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

PetscErrorCode InvNoiseSetObservationTimes(InvNoise n, MPI_Comm comm, PetscInt nt, const PetscReal t[])
{
  PetscFunctionBegin;
  if (n->type == INV_NOISE_NONE) PetscFunctionReturn(0);
  PetscCall(InvNoiseObservationSpacing(comm, n->scale, nt, t, &n->obs_dt));
  PetscFunctionReturn(0);
}

PetscErrorCode InvNoiseSetFromFile(InvNoise n, MPI_Comm comm, hid_t file, const char fname[])
{
  PetscBool has;
  PetscInt rank;
  hsize_t dims[3];
  PetscReal *t;

  PetscFunctionBegin;
  PetscCall(InvNoiseResolveScale(comm, file, fname, n->scale_set, &n->scale));
  if (n->scale == INV_NOISE_SCALE_UNIT) PetscFunctionReturn(0);
  PetscCall(InvH5HasDataset(file, "/t", &has));
  PetscCheck(has, comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s has no observation times /t, which the noise convention -noise_scale dt (s = sigma / Delta_t) needs", fname);
  PetscCall(InvH5GetDims(file, "/t", &rank, dims));
  PetscCheck(rank == 1 && dims[0] >= 2, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: /t must be a vector of at least 2 observation times", fname);
  PetscCall(PetscMalloc1(dims[0], &t));
  PetscCall(InvH5ReadAll(file, "/t", H5T_NATIVE_DOUBLE, t));
  PetscCall(InvNoiseObservationSpacing(comm, n->scale, (PetscInt)dims[0], t, &n->obs_dt));
  PetscCall(PetscFree(t));
  PetscFunctionReturn(0);
}

/* d = u + eta with eta stationary AR(1) of marginal standard deviation InvNoiseMarginalSD(sigma); the draws depend
   only on (seed, sample, epoch). */
PetscErrorCode InvNoiseApply(InvNoise n, PetscInt64 seed, PetscInt64 sample, PetscInt64 epoch, PetscReal rho, PetscReal sigma, PetscInt len,
                             const PetscReal u[], PetscReal d[])
{
  InvRng r;
  PetscReal eta, innov, s;

  PetscFunctionBegin;
  if (n->type == INV_NOISE_NONE) {
    for (PetscInt k = 0; k < len; k++) d[k] = u[k];
    PetscFunctionReturn(0);
  }
  PetscCheck(n->scale == INV_NOISE_SCALE_UNIT || n->obs_dt > 0, PETSC_COMM_SELF, PETSC_ERR_ORDER,
             "InvNoiseSetObservationTimes() must come before InvNoiseApply() with -noise_scale dt");
  s = InvNoiseMarginalSD(n->scale, sigma, n->obs_dt);
  InvRngInit(&r, seed, INV_RNG_NOISE, sample, epoch);
  innov = sqrt(1.0 - rho * rho) * s;
  eta = s * InvRngNormal(&r);
  d[0] = u[0] + eta;
  for (PetscInt k = 1; k < len; k++) {
    eta = rho * eta + innov * InvRngNormal(&r);
    d[k] = u[k] + eta;
  }
  PetscFunctionReturn(0);
}

void InvAR1Whiten(PetscReal rho, PetscReal sd, PetscInt n, const PetscReal r[], PetscReal w[])
{
  const PetscReal s = 1.0 / (sd * sqrt(1.0 - rho * rho));

  if (n <= 0) return;
  for (PetscInt k = n - 1; k >= 1; k--) w[k] = (r[k] - rho * r[k - 1]) * s;
  w[0] = r[0] / sd;
}

void InvAR1WhitenTranspose(PetscReal rho, PetscReal sd, PetscInt n, const PetscReal w[], PetscReal r[])
{
  const PetscReal s = 1.0 / (sd * sqrt(1.0 - rho * rho));

  if (n <= 0) return;
  for (PetscInt k = 0; k < n - 1; k++) r[k] = w[k] * (k == 0 ? 1.0 / sd : s) - rho * s * w[k + 1];
  r[n - 1] = w[n - 1] * (n == 1 ? 1.0 / sd : s);
}

PetscErrorCode InvNoiseSpecFromOptions(MPI_Comm comm, InvNoiseSpec *spec)
{
  PetscFunctionBegin;
  PetscCall(PetscMemzero(spec, sizeof(*spec)));
  spec->scale = INV_NOISE_SCALE_DT;
  spec->obs_dt = 0;
  PetscOptionsBegin(comm, NULL, "Noise of the data", "InvNoiseSpec");
  PetscCall(PetscOptionsReal("-noise_rho", "AR(1) rho used for every sample (default: per sample from the data's /noise)", "", spec->rho,
                             &spec->rho, &spec->fixed_rho));
  PetscCall(PetscOptionsReal("-noise_sigma", "AR(1) sigma used for every sample (default: per sample from the data's /noise)", "",
                             spec->sigma, &spec->sigma, &spec->fixed_sigma));
  PetscCall(PetscOptionsEnum("-noise_scale", InvNoiseScaleHelp, "InvNoiseMarginalSD", InvNoiseScales, (PetscEnum)spec->scale,
                             (PetscEnum *)&spec->scale, &spec->scale_set));
  PetscOptionsEnd();
  if (spec->fixed_rho || spec->fixed_sigma) {
    PetscCheck(spec->fixed_rho && spec->fixed_sigma, comm, PETSC_ERR_ARG_WRONG, "Give both -noise_rho and -noise_sigma (or neither)");
    PetscCall(InvNoiseCheckParameters(spec->rho, spec->sigma));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvNoiseSpecSetData(InvNoiseSpec *spec, MPI_Comm comm, hid_t file, const char fname[], PetscInt nt, const PetscReal t[])
{
  PetscFunctionBegin;
  PetscCall(InvNoiseResolveScale(comm, file, fname, spec->scale_set, &spec->scale));
  PetscCall(InvNoiseObservationSpacing(comm, spec->scale, nt, t, &spec->obs_dt));
  PetscFunctionReturn(0);
}

PetscReal InvNoiseSpecSD(const InvNoiseSpec *spec, PetscReal sigma)
{
  return InvNoiseMarginalSD(spec->scale, sigma, spec->obs_dt);
}

void InvNoiseSpecApply(const InvNoiseSpec *spec, PetscInt64 n, PetscReal noise[])
{
  for (PetscInt64 i = 0; i < n; i++) {
    if (spec->fixed_rho) noise[2 * i] = spec->rho;
    if (spec->fixed_sigma) noise[2 * i + 1] = spec->sigma;
  }
}

PetscErrorCode InvNoiseSpecWriteAttributes(const InvNoiseSpec *spec, hid_t obj)
{
  PetscFunctionBegin;
  PetscCall(InvH5WriteAttrString(obj, INV_NOISE_SCALE_ATTR, InvNoiseScales[spec->scale]));
  PetscCall(InvH5WriteAttrReals(obj, INV_NOISE_DT_ATTR, 1, &spec->obs_dt));
  PetscFunctionReturn(0);
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
      PetscCall(PetscViewerASCIIPrintf(v, ", sigma = %g", (double)n->sigma));
    else
      PetscCall(PetscViewerASCIIPrintf(v, ", sigma ~ N(%g, %g^2) on [%g, %g]", (double)n->sigma_prior[0], (double)n->sigma_prior[1],
                                       (double)n->sigma_prior[2], (double)n->sigma_prior[3]));
    if (n->scale == INV_NOISE_SCALE_DT)
      PetscCall(PetscViewerASCIIPrintf(v, "; standard deviation sigma / Delta_t, Delta_t = %g\n", (double)n->obs_dt));
    else
      PetscCall(PetscViewerASCIIPrintf(v, "; standard deviation sigma (-noise_scale unit)\n"));
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
    PetscCall(InvH5WriteAttrString(obj, INV_NOISE_SCALE_ATTR, InvNoiseScales[n->scale]));
    PetscCall(InvH5WriteAttrReals(obj, INV_NOISE_DT_ATTR, 1, &n->obs_dt));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvNoiseDestroy(InvNoise *n)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(*n));
  PetscFunctionReturn(0);
}
