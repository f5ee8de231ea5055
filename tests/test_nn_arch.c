/* Network presets and options: parameter counts of the paper's CNN (33,874) and the seed's dense
   nets (docs/science.md section 5), shapes, options parsing, and one Adam/AdamW step against a double reference. */
#include <invmap/nn.h>
#include <math.h>

static PetscErrorCode CheckCount(const char *preset, PetscInt width, size_t expect)
{
  InvNetSpec s;
  InvNet net;

  PetscFunctionBegin;
  PetscCall(PetscMemzero(&s, sizeof(s)));
  PetscCall(InvNetSpecPreset(&s, preset));
  if (width)
    for (PetscInt i = 0; i < s.ndense; i++) s.dense[i] = width;
  s.in_len = 1000;
  s.in_ch = 1;
  s.out_dim = 2;
  PetscCall(InvNetCreate(&s, 4, &net));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%s width %d: %zu parameters (expected %zu)\n", preset, (int)width, net->nparams, expect));
  if (width == 0 && !strcmp(preset, "paper_cnn")) PetscCall(InvNetView(net, PETSC_VIEWER_STDOUT_WORLD));
  PetscCheck(net->nparams == expect, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "Parameter count mismatch");
  PetscCall(InvNetDestroy(&net));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  InvNetSpec s;
  InvNet net;
  InvOpt opt;
  float p[3] = {1.0f, -2.0f, 0.5f}, g[3] = {0.1f, -0.3f, 0.0f};
  double pd[3] = {1.0, -2.0, 0.5}, md[3] = {0}, vd[3] = {0};

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(InvInitializePackage());
  PetscCall(CheckCount("paper_cnn", 0, 33874));
  PetscCall(CheckCount("paper_dense", 0, 1000 * 32 + 32 + 3 * (32 * 32 + 32) + 66));
  PetscCall(CheckCount("seed_dense", 32, 39490));
  PetscCall(CheckCount("seed_dense", 128, 243970));
  PetscCall(CheckCount("seed_dense", 512, 2352130));
  /* shapes of the paper's CNN: 1000 -> 499 -> 249 -> 124 -> 62 -> 30 x 32 */
  PetscCall(PetscMemzero(&s, sizeof(s)));
  PetscCall(InvNetSpecPreset(&s, "paper_cnn"));
  s.in_len = 1000, s.in_ch = 1, s.out_dim = 2;
  PetscCall(InvNetCreate(&s, 1, &net));
  PetscCheck(net->layer[0].out_len == 499 && net->layer[2].out_len == 249 && net->layer[3].out_len == 124 && net->layer[5].out_len == 62 &&
                 net->layer[6].out_len == 30 && net->layer[8].in_ch == 960,
             PETSC_COMM_WORLD, PETSC_ERR_PLIB, "paper CNN shapes differ from docs/science.md");
  PetscCall(InvNetDestroy(&net));
  /* options: -nn_arch dense -nn_dense 16,8 (passed by the test's ARGS) */
  PetscCall(InvNetSpecSetFromOptions(&s));
  s.in_len = 10, s.in_ch = 1, s.out_dim = 2;
  PetscCall(InvNetCreate(&s, 1, &net));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "options net: %zu parameters\n", net->nparams));
  PetscCheck(net->nparams == 10 * 16 + 16 + 16 * 8 + 8 + 8 * 2 + 2, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "options net count");
  PetscCall(InvNetDestroy(&net));
  /* Adam(W): two steps against a double reference (tolerance: float rounding, 1e-6 relative) */
  for (int type = 0; type < 2; type++) {
    PetscCall(InvOptCreate(3, &opt));
    opt->type = (InvOptType)type;
    opt->weight_decay = 0.1;
    for (int t = 1; t <= 2; t++) {
      PetscCall(InvOptStep(opt, p, g, 0.01));
      for (int i = 0; i < 3; i++) {
        double gi = g[i] + (type == 0 ? 0.1 * pd[i] : 0);
        md[i] = 0.9 * md[i] + 0.1 * gi;
        vd[i] = 0.999 * vd[i] + 0.001 * gi * gi;
        pd[i] -= 0.01 * ((md[i] / (1 - pow(0.9, t))) / (sqrt(vd[i] / (1 - pow(0.999, t))) + 1e-7) + (type == 1 ? 0.1 * pd[i] : 0));
      }
    }
    for (int i = 0; i < 3; i++) {
      PetscCheck(fabs(p[i] - pd[i]) < 1e-6 * (1 + fabs(pd[i])), PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s step differs: %g vs %g",
                 InvOptTypes[type], (double)p[i], pd[i]);
      md[i] = vd[i] = 0;
    }
    PetscCall(InvOptDestroy(&opt));
  }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Adam and AdamW steps match the double reference\n"));
  PetscCall(PetscFinalize());
  return 0;
}
