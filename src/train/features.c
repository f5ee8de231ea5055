/* Input representations (time series, orthonormal real FFT with FFTW, both: docs/science.md section 3) and
   the input/target standardisation fitted on the training set. */
#include <invmap/train.h>
#include <invmap/h5io.h>
#include <math.h>

/* Largest input (series length x channels) a model file may describe: far above any real series, low
   enough that sizes derived from it cannot overflow. */
#define INV_FEAT_MAX_SIZE ((PetscInt64)1 << 28)

const char *const InvReprTypes[] = {"time", "fourier", "both", "InvReprType", "INV_REPR_", NULL};
const char *const InvNormTypes[] = {"channel", "feature", "none", "InvNormType", "INV_NORM_", NULL};

/* time: (n_obs, n_ch). fourier: (n_obs/2, 2) = real and imaginary parts of the first n_obs/2
   coefficients of the orthonormal real FFT. both: (n_obs/2, 3) = the series subsampled by 2, then the
   real and imaginary parts (the authors' 3-channel layout). */
PetscErrorCode InvFeatCreate(InvReprType repr, InvNormType norm, PetscInt n_obs, PetscInt n_ch, PetscInt ntargets, InvFeat *out)
{
  InvFeat f;

  PetscFunctionBegin;
  PetscCheck(n_obs > 1 && n_ch > 0 && ntargets > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
             "Series of %d x %d and %d targets: nothing to learn", (int)n_obs, (int)n_ch, (int)ntargets);
  PetscCheck(repr == INV_REPR_TIME || n_ch == 1, PETSC_COMM_SELF, PETSC_ERR_SUP,
             "The Fourier representations need a single observed state; the data have %d (use -train_repr time)", (int)n_ch);
  PetscCall(PetscNew(&f));
  f->repr = repr;
  f->norm = norm;
  f->n_obs = n_obs;
  f->n_ch = n_ch;
  f->ntargets = ntargets;
  f->len = repr == INV_REPR_TIME ? n_obs : n_obs / 2;
  f->ch = repr == INV_REPR_TIME ? n_ch : (repr == INV_REPR_FOURIER ? 2 : 3);
  f->size = f->len * f->ch;
  PetscCall(PetscMalloc4(f->size, &f->in_mean, f->size, &f->in_std, ntargets, &f->out_mean, ntargets, &f->out_std));
  for (PetscInt i = 0; i < f->size; i++) f->in_mean[i] = 0, f->in_std[i] = 1;
  for (PetscInt i = 0; i < ntargets; i++) f->out_mean[i] = 0, f->out_std[i] = 1;
  if (repr != INV_REPR_TIME) {
    f->fft_in = fftw_alloc_real(n_obs);
    f->fft_out = fftw_alloc_complex(n_obs / 2 + 1);
    f->plan = fftw_plan_dft_r2c_1d((int)n_obs, f->fft_in, f->fft_out, FFTW_ESTIMATE);
    PetscCheck(f->plan, PETSC_COMM_SELF, PETSC_ERR_LIB, "FFTW could not plan a real FFT of length %d", (int)n_obs);
  }
  *out = f;
  PetscFunctionReturn(0);
}

PetscErrorCode InvFeatDestroy(InvFeat *f)
{
  PetscFunctionBegin;
  if (!*f) PetscFunctionReturn(0);
  if ((*f)->plan) fftw_destroy_plan((*f)->plan);
  if ((*f)->fft_in) fftw_free((*f)->fft_in);
  if ((*f)->fft_out) fftw_free((*f)->fft_out);
  PetscCall(PetscFree4((*f)->in_mean, (*f)->in_std, (*f)->out_mean, (*f)->out_std));
  PetscCall(PetscFree(*f));
  PetscFunctionReturn(0);
}

PetscErrorCode InvFeatTransform(InvFeat f, const double *s, float *x)
{
  PetscInt nf = f->n_obs / 2;
  double scale = 1.0 / sqrt((double)f->n_obs);

  PetscFunctionBegin;
  if (f->repr == INV_REPR_TIME) {
    for (PetscInt i = 0; i < f->size; i++) x[i] = (float)s[i];
    PetscFunctionReturn(0);
  }
  for (PetscInt i = 0; i < f->n_obs; i++) f->fft_in[i] = s[i];
  fftw_execute(f->plan);
  for (PetscInt j = 0; j < nf; j++) {
    float *xj = x + j * f->ch;
    if (f->repr == INV_REPR_BOTH) *xj++ = (float)s[2 * j];
    xj[0] = (float)(scale * ((const double *)f->fft_out)[2 * j]);
    xj[1] = (float)(scale * ((const double *)f->fft_out)[2 * j + 1]);
  }
  PetscFunctionReturn(0);
}

/* Mean and standard deviation per feature (or per channel, broadcast to its features), two passes in
   double, reduced over comm. Constant features (sd < 1e-12) keep sd 1. The sums can be accumulated block
   by block (streamed training sets): pass 0 sums the values, pass 1 the squared deviations from the
   mean of pass 0; accumulating the blocks in sample order gives the same sums as one block. */
PetscErrorCode InvFeatInputSums(InvFeat f, PetscInt pass, PetscInt n, const float *X, double *s)
{
  PetscInt m = f->norm == INV_NORM_CHANNEL ? f->ch : f->size;

  PetscFunctionBegin;
  if (f->norm == INV_NORM_NONE) PetscFunctionReturn(0);
  if (pass == 0)
    for (PetscInt i = 0; i < n; i++)
      for (PetscInt k = 0; k < f->size; k++) s[k % m] += X[i * f->size + k];
  else
    for (PetscInt i = 0; i < n; i++)
      for (PetscInt k = 0; k < f->size; k++) {
        double d = X[i * f->size + k] - f->in_mean[k];
        s[k % m] += d * d;
      }
  PetscFunctionReturn(0);
}

/* Pass 0: mean[k] = s[k % m] / cnt; pass 1: std[k] = sqrt(s[k % m] / cnt) (1 where it vanishes), k < size. */
static void StoreMoment(PetscInt pass, const double *s, PetscInt m, PetscInt size, double cnt, double *mean, double *std)
{
  for (PetscInt k = 0; k < size; k++) {
    if (pass == 0)
      mean[k] = s[k % m] / cnt;
    else {
      double sd = sqrt(s[k % m] / cnt);
      std[k] = sd > 1e-12 ? sd : 1.0;
    }
  }
}

PetscErrorCode InvFeatInputFinish(InvFeat f, MPI_Comm comm, PetscInt pass, PetscInt64 nlocal, double *s)
{
  PetscInt m = f->norm == INV_NORM_CHANNEL ? f->ch : f->size;
  double cnt;
  PetscInt64 ng;

  PetscFunctionBegin;
  if (f->norm == INV_NORM_NONE) PetscFunctionReturn(0);
  PetscCallMPI(MPI_Allreduce(&nlocal, &ng, 1, MPIU_INT64, MPI_SUM, comm));
  PetscCheck(ng > 1, comm, PETSC_ERR_ARG_SIZ, "Need at least 2 training samples to standardise the inputs");
  cnt = (double)ng * (f->norm == INV_NORM_CHANNEL ? (double)f->len : 1.0);
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, s, (PetscMPIInt)m, MPI_DOUBLE, MPI_SUM, comm));
  StoreMoment(pass, s, m, f->size, cnt, f->in_mean, f->in_std);
  PetscCall(PetscArrayzero(s, m));
  PetscFunctionReturn(0);
}

PetscErrorCode InvFeatFitInput(InvFeat f, MPI_Comm comm, PetscInt n, const float *X)
{
  double *s;

  PetscFunctionBegin;
  PetscCall(PetscCalloc1(f->size, &s));
  for (PetscInt pass = 0; pass < 2; pass++) {
    PetscCall(InvFeatInputSums(f, pass, n, X, s));
    PetscCall(InvFeatInputFinish(f, comm, pass, n, s));
  }
  PetscCall(PetscFree(s));
  PetscFunctionReturn(0);
}

PetscErrorCode InvFeatTargetSums(InvFeat f, PetscInt pass, PetscInt n, const double *Y, double *s)
{
  PetscInt p = f->ntargets;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt k = 0; k < p; k++) s[k] += pass == 0 ? Y[i * p + k] : (Y[i * p + k] - f->out_mean[k]) * (Y[i * p + k] - f->out_mean[k]);
  PetscFunctionReturn(0);
}

PetscErrorCode InvFeatTargetFinish(InvFeat f, MPI_Comm comm, PetscInt pass, PetscInt64 nlocal, double *s)
{
  PetscInt p = f->ntargets;
  PetscInt64 ng;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Allreduce(&nlocal, &ng, 1, MPIU_INT64, MPI_SUM, comm));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, s, (PetscMPIInt)p, MPI_DOUBLE, MPI_SUM, comm));
  StoreMoment(pass, s, p, p, (double)ng, f->out_mean, f->out_std);
  PetscCall(PetscArrayzero(s, p));
  PetscFunctionReturn(0);
}

PetscErrorCode InvFeatFitTargets(InvFeat f, MPI_Comm comm, PetscInt n, const double *Y)
{
  double *s;

  PetscFunctionBegin;
  PetscCall(PetscCalloc1(f->ntargets, &s));
  for (PetscInt pass = 0; pass < 2; pass++) {
    PetscCall(InvFeatTargetSums(f, pass, n, Y, s));
    PetscCall(InvFeatTargetFinish(f, comm, pass, n, s));
  }
  PetscCall(PetscFree(s));
  PetscFunctionReturn(0);
}

/* the input standardisation of feature k with value v (its one definition) */
static inline float NormalizedInput(InvFeat f, PetscInt k, double v)
{
  return (float)((v - f->in_mean[k]) / f->in_std[k]);
}

PetscErrorCode InvFeatNormalizeInput(InvFeat f, PetscInt n, float *X)
{
  PetscFunctionBegin;
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt k = 0; k < f->size; k++) X[i * f->size + k] = NormalizedInput(f, k, X[i * f->size + k]);
  PetscFunctionReturn(0);
}

/* normalised features of one series stored as float32 (single) or double, bitwise InvFeatTransform of the
   series as doubles followed by InvFeatNormalizeInput: with the time representation in one pass over the
   stored values (the time features are the values rounded to float32, so a float32 value is its own
   feature), otherwise through the series as doubles in scratch (n_obs x n_ch) */
PetscErrorCode InvFeatInputRow(InvFeat f, const void *s, PetscBool single, double *scratch, float *x)
{
  PetscFunctionBegin;
  if (f->repr == INV_REPR_TIME) {
    if (single)
      for (PetscInt k = 0; k < f->size; k++) x[k] = NormalizedInput(f, k, (double)((const float *)s)[k]);
    else
      for (PetscInt k = 0; k < f->size; k++) x[k] = NormalizedInput(f, k, (double)(float)((const double *)s)[k]);
    PetscFunctionReturn(0);
  }
  if (single)
    for (PetscInt k = 0; k < f->n_obs * f->n_ch; k++) scratch[k] = (double)((const float *)s)[k];
  PetscCall(InvFeatTransform(f, single ? scratch : (const double *)s, x));
  PetscCall(InvFeatNormalizeInput(f, 1, x));
  PetscFunctionReturn(0);
}

PetscErrorCode InvFeatNormalizeTargets(InvFeat f, PetscInt n, const double *Y, float *Yn)
{
  PetscFunctionBegin;
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt k = 0; k < f->ntargets; k++) Yn[i * f->ntargets + k] = (float)((Y[i * f->ntargets + k] - f->out_mean[k]) / f->out_std[k]);
  PetscFunctionReturn(0);
}

/* covariances C (n x ntargets x ntargets, parameters' units) -> standardised Cn = D^-1 C D^-1, D = diag(out_std):
   the inverse of the prediction's Sigma = D L L^T D (InvNNMapPredictGaussian) */
PetscErrorCode InvFeatNormalizeCovariance(InvFeat f, PetscInt n, const double *C, float *Cn)
{
  const PetscInt O = f->ntargets;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt k = 0; k < O; k++)
      for (PetscInt l = 0; l < O; l++) Cn[(i * O + k) * O + l] = (float)(C[(i * O + k) * O + l] / (f->out_std[k] * f->out_std[l]));
  PetscFunctionReturn(0);
}

PetscErrorCode InvFeatDenormalizeTargets(InvFeat f, PetscInt n, const float *Yn, double *Y)
{
  PetscFunctionBegin;
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt k = 0; k < f->ntargets; k++) Y[i * f->ntargets + k] = f->out_mean[k] + f->out_std[k] * (double)Yn[i * f->ntargets + k];
  PetscFunctionReturn(0);
}

PetscErrorCode InvFeatWrite(InvFeat f, hid_t file)
{
  hid_t root;
  hsize_t dim;
  PetscInt64 hdr[4] = {f->repr, f->norm, f->n_obs, f->n_ch};

  PetscFunctionBegin;
  PetscCallHDF5Return(root, H5Gopen2(file, "/", H5P_DEFAULT));
  PetscCall(InvH5WriteAttrInts(root, "input_header", 4, hdr));
  PetscCall(InvH5WriteAttrString(root, "input_representation", InvReprTypes[f->repr]));
  PetscCallHDF5(H5Gclose(root));
  dim = (hsize_t)f->size;
  PetscCall(InvH5WriteSmall(file, "/norm/in_mean", H5T_NATIVE_DOUBLE, 1, &dim, f->in_mean));
  PetscCall(InvH5WriteSmall(file, "/norm/in_std", H5T_NATIVE_DOUBLE, 1, &dim, f->in_std));
  dim = (hsize_t)f->ntargets;
  PetscCall(InvH5WriteSmall(file, "/norm/out_mean", H5T_NATIVE_DOUBLE, 1, &dim, f->out_mean));
  PetscCall(InvH5WriteSmall(file, "/norm/out_std", H5T_NATIVE_DOUBLE, 1, &dim, f->out_std));
  PetscFunctionReturn(0);
}

PetscErrorCode InvFeatRead(MPI_Comm comm, hid_t file, PetscInt ntargets, InvFeat *out)
{
  hid_t root;
  PetscInt64 hdr[4];
  PetscBool has;

  PetscFunctionBegin;
  PetscCallHDF5Return(root, H5Gopen2(file, "/", H5P_DEFAULT));
  PetscCall(InvH5HasAttr(root, "input_header", &has));
  PetscCheck(has, comm, PETSC_ERR_FILE_UNEXPECTED, "Not an invmap model file: the attribute input_header is missing");
  PetscCall(InvH5ReadAttrInts(root, "input_header", 4, hdr));
  PetscCallHDF5(H5Gclose(root));
  PetscCheck(hdr[0] >= 0 && hdr[0] <= INV_REPR_BOTH && hdr[1] >= 0 && hdr[1] <= INV_NORM_NONE, comm, PETSC_ERR_FILE_UNEXPECTED,
             "Corrupt input description in model file");
  PetscCheck(hdr[2] > 1 && hdr[3] > 0 && hdr[2] <= INV_FEAT_MAX_SIZE / hdr[3], comm, PETSC_ERR_FILE_UNEXPECTED,
             "Corrupt input description in model file: series of %lld x %lld values", (long long)hdr[2], (long long)hdr[3]);
  PetscCall(InvFeatCreate((InvReprType)hdr[0], (InvNormType)hdr[1], (PetscInt)hdr[2], (PetscInt)hdr[3], ntargets, out));
  PetscCall(InvH5ReadVector(file, "/norm/in_mean", H5T_NATIVE_DOUBLE, (hsize_t)(*out)->size, (*out)->in_mean));
  PetscCall(InvH5ReadVector(file, "/norm/in_std", H5T_NATIVE_DOUBLE, (hsize_t)(*out)->size, (*out)->in_std));
  PetscCall(InvH5ReadVector(file, "/norm/out_mean", H5T_NATIVE_DOUBLE, (hsize_t)ntargets, (*out)->out_mean));
  PetscCall(InvH5ReadVector(file, "/norm/out_std", H5T_NATIVE_DOUBLE, (hsize_t)ntargets, (*out)->out_std));
  PetscFunctionReturn(0);
}
