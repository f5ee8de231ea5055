/* Network architecture descriptions: options (-nn_*), named presets, storage as HDF5 attributes. */
#include <invmap/nn.h>
#include <invmap/h5io.h>
#include <string.h>

/* Largest size (units, channels, kernel, stride, input length) a model file may describe: far above any
   real network, low enough that the layer sizes fit an int and their products a size_t. */
#define INV_NN_MAX_SIZE ((PetscInt64)1 << 24)

const char *const InvInitTypes[] = {"glorot", "he", "InvInitType", "INV_INIT_", NULL};

/* Presets: paper_cnn (docs/science.md section 3, 33,874 parameters for 1000 inputs and 2 outputs),
   paper_dense (4 x 32), seed_dense (8 x 32 with dropout 0.2, the training-cost table of section 5). */
PetscErrorCode InvNetSpecPreset(InvNetSpec *s, const char name[])
{
  PetscBool cnn, dense, seed;

  PetscFunctionBegin;
  PetscCall(PetscStrcmp(name, "paper_cnn", &cnn));
  PetscCall(PetscStrcmp(name, "paper_dense", &dense));
  PetscCall(PetscStrcmp(name, "seed_dense", &seed));
  PetscCheck(cnn || dense || seed, PETSC_COMM_SELF, PETSC_ERR_ARG_UNKNOWN_TYPE,
             "Unknown network preset '%s'; use paper_cnn, paper_dense or seed_dense", name);
  s->nconv = s->ndense = s->pad = 0;
  s->act = INV_ACT_SWISH;
  s->init = INV_INIT_GLOROT;
  s->dropout = 0;
  if (cnn) {
    PetscInt c[3] = {8, 16, 32}, p[3] = {0, 2, 2};
    s->nconv = 3;
    for (int i = 0; i < 3; i++) {
      s->conv[i] = c[i];
      s->kernel[i] = 3;
      s->stride[i] = 2;
      s->pool[i] = p[i];
    }
    s->ndense = 2;
    s->dense[0] = s->dense[1] = 32;
  } else if (dense) {
    s->ndense = 4;
    for (int i = 0; i < 4; i++) s->dense[i] = 32;
  } else {
    s->ndense = 8;
    for (int i = 0; i < 8; i++) s->dense[i] = 32;
    s->dropout = 0.2;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode InvExpandList(const char opt[], PetscInt n, PetscInt got, PetscInt v[])
{
  PetscFunctionBegin;
  if (got == 1)
    for (PetscInt i = 1; i < n; i++) v[i] = v[0];
  else
    PetscCheck(got == n, PETSC_COMM_WORLD, PETSC_ERR_ARG_SIZ, "%s needs 1 or %d values (one per conv layer), got %d", opt, (int)n,
               (int)got);
  PetscFunctionReturn(0);
}

PetscErrorCode InvNetSpecSetFromOptions(InvNetSpec *s)
{
  char preset[64] = "paper_cnn", arch[16] = "";
  PetscInt n, nk, ns, np;
  PetscBool set, aset;
  InvActType act;
  InvInitType init;

  PetscFunctionBegin;
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "Network architecture", "InvNet");
  PetscCall(PetscOptionsString("-nn_preset", "Named architecture: paper_cnn, paper_dense, seed_dense", "InvNetSpecPreset", preset, preset,
                               sizeof(preset), NULL));
  PetscCall(InvNetSpecPreset(s, preset));
  PetscCall(PetscOptionsString("-nn_arch", "Architecture family (overrides the preset's layers): cnn or dense", "", arch, arch,
                               sizeof(arch), &aset));
  if (aset) {
    PetscBool iscnn, isdense;
    PetscCall(PetscStrcmp(arch, "cnn", &iscnn));
    PetscCall(PetscStrcmp(arch, "dense", &isdense));
    PetscCheck(iscnn || isdense, PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "-nn_arch %s: use cnn or dense", arch);
    if (isdense) s->nconv = 0;
  }
  n = INV_NN_MAXLAYERS;
  PetscCall(PetscOptionsIntArray("-nn_conv", "Filters of the conv layers", "", s->conv, &n, &set));
  if (set) s->nconv = n;
  nk = ns = np = INV_NN_MAXLAYERS;
  PetscCall(PetscOptionsIntArray("-nn_kernel", "Kernel size (one value or one per conv layer)", "", s->kernel, &nk, &set));
  if (set) PetscCall(InvExpandList("-nn_kernel", s->nconv, nk, s->kernel));
  PetscCall(PetscOptionsIntArray("-nn_stride", "Stride (one value or one per conv layer)", "", s->stride, &ns, &set));
  if (set) PetscCall(InvExpandList("-nn_stride", s->nconv, ns, s->stride));
  PetscCall(PetscOptionsIntArray("-nn_pool", "Average-pool window before each conv layer (0 = none)", "", s->pool, &np, &set));
  if (set) PetscCall(InvExpandList("-nn_pool", s->nconv, np, s->pool));
  PetscCall(PetscOptionsInt("-nn_pad", "Zero padding of every conv layer (0 = valid)", "", s->pad, &s->pad, NULL));
  n = INV_NN_MAXLAYERS;
  PetscCall(PetscOptionsIntArray("-nn_dense", "Units of the hidden dense layers", "", s->dense, &n, &set));
  if (set) s->ndense = n;
  act = s->act;
  PetscCall(PetscOptionsEnum("-nn_act", "Activation", "", InvActTypes, (PetscEnum)act, (PetscEnum *)&act, NULL));
  s->act = act;
  init = s->init;
  PetscCall(PetscOptionsEnum("-nn_init", "Weight initialisation", "", InvInitTypes, (PetscEnum)init, (PetscEnum *)&init, NULL));
  s->init = init;
  PetscCall(PetscOptionsReal("-nn_dropout", "Dropout rate after each hidden dense layer", "", s->dropout, &s->dropout, NULL));
  PetscOptionsEnd();
  PetscCheck(s->dropout >= 0 && s->dropout < 1, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-nn_dropout %g must be in [0, 1)",
             (double)s->dropout);
  PetscCheck(s->pad >= 0, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-nn_pad %d must be >= 0", (int)s->pad);
  for (PetscInt i = 0; i < s->nconv; i++) {
    PetscCheck(s->conv[i] > 0 && s->kernel[i] > 0 && s->stride[i] > 0 && s->pool[i] >= 0, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE,
               "Conv layer %d: filters %d, kernel %d, stride %d must be positive and pool %d >= 0", (int)i, (int)s->conv[i],
               (int)s->kernel[i], (int)s->stride[i], (int)s->pool[i]);
  }
  for (PetscInt i = 0; i < s->ndense; i++)
    PetscCheck(s->dense[i] > 0, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-nn_dense: layer %d has %d units; must be positive", (int)i,
               (int)s->dense[i]);
  PetscFunctionReturn(0);
}

PetscErrorCode InvNetSpecWrite(const InvNetSpec *s, hid_t obj)
{
  PetscInt64 hdr[8] = {s->in_len, s->in_ch, s->out_dim, s->nconv, s->ndense, s->pad, s->act, s->init}, v[5][INV_NN_MAXLAYERS];
  char str[1024];

  PetscFunctionBegin;
  for (int i = 0; i < INV_NN_MAXLAYERS; i++) {
    v[0][i] = s->conv[i];
    v[1][i] = s->kernel[i];
    v[2][i] = s->stride[i];
    v[3][i] = s->pool[i];
    v[4][i] = s->dense[i];
  }
  PetscCall(InvH5WriteAttrInts(obj, "nn_header", 8, hdr));
  PetscCall(InvH5WriteAttrInts(obj, "nn_conv", INV_NN_MAXLAYERS, v[0]));
  PetscCall(InvH5WriteAttrInts(obj, "nn_kernel", INV_NN_MAXLAYERS, v[1]));
  PetscCall(InvH5WriteAttrInts(obj, "nn_stride", INV_NN_MAXLAYERS, v[2]));
  PetscCall(InvH5WriteAttrInts(obj, "nn_pool", INV_NN_MAXLAYERS, v[3]));
  PetscCall(InvH5WriteAttrInts(obj, "nn_dense", INV_NN_MAXLAYERS, v[4]));
  PetscCall(InvH5WriteAttrReals(obj, "nn_dropout", 1, &s->dropout));
  PetscCall(InvNetSpecString(s, str, sizeof(str)));
  PetscCall(InvH5WriteAttrString(obj, "nn_architecture", str));
  PetscFunctionReturn(0);
}

PetscErrorCode InvNetSpecRead(InvNetSpec *s, hid_t obj)
{
  PetscInt64 hdr[8], v[5][INV_NN_MAXLAYERS];
  PetscBool has;

  PetscFunctionBegin;
  PetscCall(InvH5HasAttr(obj, "nn_header", &has));
  PetscCheck(has, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "Not an invmap model file: the attribute nn_header is missing");
  PetscCall(InvH5ReadAttrInts(obj, "nn_header", 8, hdr));
  PetscCall(InvH5ReadAttrInts(obj, "nn_conv", INV_NN_MAXLAYERS, v[0]));
  PetscCall(InvH5ReadAttrInts(obj, "nn_kernel", INV_NN_MAXLAYERS, v[1]));
  PetscCall(InvH5ReadAttrInts(obj, "nn_stride", INV_NN_MAXLAYERS, v[2]));
  PetscCall(InvH5ReadAttrInts(obj, "nn_pool", INV_NN_MAXLAYERS, v[3]));
  PetscCall(InvH5ReadAttrInts(obj, "nn_dense", INV_NN_MAXLAYERS, v[4]));
  PetscCall(InvH5ReadAttrReals(obj, "nn_dropout", 1, &s->dropout));
  PetscCheck(hdr[3] >= 0 && hdr[3] <= INV_NN_MAXLAYERS && hdr[4] >= 0 && hdr[4] <= INV_NN_MAXLAYERS && hdr[6] >= 0 &&
                 hdr[6] <= INV_ACT_SIGMOID && hdr[7] >= 0 && hdr[7] <= INV_INIT_HE,
             PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "Corrupt network description in model file");
  /* sizes: positive and bounded, so that the layer arithmetic (int) cannot divide by zero or overflow */
  PetscCheck(hdr[0] > 0 && hdr[0] <= INV_NN_MAX_SIZE && hdr[1] > 0 && hdr[1] <= INV_NN_MAX_SIZE && hdr[2] > 0 &&
                 hdr[2] <= INV_NN_MAX_SIZE && hdr[5] >= 0 && hdr[5] <= INV_NN_MAX_SIZE && hdr[0] <= INV_NN_MAX_SIZE / hdr[1] &&
                 s->dropout >= 0 && s->dropout < 1,
             PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "Corrupt network description in model file: input %lld x %lld, output %lld, padding %lld, dropout %g", (long long)hdr[0],
             (long long)hdr[1], (long long)hdr[2], (long long)hdr[5], (double)s->dropout);
  for (PetscInt64 i = 0; i < hdr[3]; i++)
    PetscCheck(v[0][i] > 0 && v[0][i] <= INV_NN_MAX_SIZE && v[1][i] > 0 && v[1][i] <= INV_NN_MAX_SIZE && v[2][i] > 0 &&
                   v[2][i] <= INV_NN_MAX_SIZE && v[3][i] >= 0 && v[3][i] <= INV_NN_MAX_SIZE,
               PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
               "Corrupt network description in model file: conv layer %lld has filters %lld, kernel %lld, stride %lld, pool %lld",
               (long long)i, (long long)v[0][i], (long long)v[1][i], (long long)v[2][i], (long long)v[3][i]);
  for (PetscInt64 i = 0; i < hdr[4]; i++)
    PetscCheck(v[4][i] > 0 && v[4][i] <= INV_NN_MAX_SIZE, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
               "Corrupt network description in model file: dense layer %lld has %lld units", (long long)i, (long long)v[4][i]);
  s->in_len = hdr[0];
  s->in_ch = hdr[1];
  s->out_dim = hdr[2];
  s->nconv = hdr[3];
  s->ndense = hdr[4];
  s->pad = hdr[5];
  s->act = (InvActType)hdr[6];
  s->init = (InvInitType)hdr[7];
  for (int i = 0; i < INV_NN_MAXLAYERS; i++) {
    s->conv[i] = v[0][i];
    s->kernel[i] = v[1][i];
    s->stride[i] = v[2][i];
    s->pool[i] = v[3][i];
    s->dense[i] = v[4][i];
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvNetSpecEqual(const InvNetSpec *a, const InvNetSpec *b, PetscBool *eq)
{
  PetscBool e = PETSC_TRUE;

  PetscFunctionBegin;
  if (a->in_len != b->in_len || a->in_ch != b->in_ch || a->out_dim != b->out_dim || a->nconv != b->nconv || a->ndense != b->ndense ||
      a->pad != b->pad || a->act != b->act)
    e = PETSC_FALSE;
  for (PetscInt i = 0; e && i < a->nconv; i++)
    if (a->conv[i] != b->conv[i] || a->kernel[i] != b->kernel[i] || a->stride[i] != b->stride[i] || a->pool[i] != b->pool[i])
      e = PETSC_FALSE;
  for (PetscInt i = 0; e && i < a->ndense; i++)
    if (a->dense[i] != b->dense[i]) e = PETSC_FALSE;
  *eq = e;
  PetscFunctionReturn(0);
}

PetscErrorCode InvNetSpecString(const InvNetSpec *s, char str[], size_t len)
{
  char buf[64];

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(str, len, "input %dx%d", (int)s->in_len, (int)s->in_ch));
  for (PetscInt i = 0; i < s->nconv; i++) {
    if (s->pool[i] > 1) {
      PetscCall(PetscSNPrintf(buf, sizeof(buf), " avgpool%d", (int)s->pool[i]));
      PetscCall(PetscStrlcat(str, buf, len));
    }
    PetscCall(PetscSNPrintf(buf, sizeof(buf), " conv%d(k%d,s%d,p%d)", (int)s->conv[i], (int)s->kernel[i], (int)s->stride[i], (int)s->pad));
    PetscCall(PetscStrlcat(str, buf, len));
  }
  for (PetscInt i = 0; i < s->ndense; i++) {
    PetscCall(PetscSNPrintf(buf, sizeof(buf), " dense%d", (int)s->dense[i]));
    PetscCall(PetscStrlcat(str, buf, len));
  }
  PetscCall(PetscSNPrintf(buf, sizeof(buf), " out%d act=%s dropout=%g", (int)s->out_dim, InvActTypes[s->act], (double)s->dropout));
  PetscCall(PetscStrlcat(str, buf, len));
  PetscFunctionReturn(0);
}
