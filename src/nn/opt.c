/* Adam and AdamW (decoupled weight decay) with learning-rate schedules, on the flat parameter buffer. */
#if defined(__GNUC__) && !defined(__clang__)
/* with -std=c11, GCC keeps float operations trapping and then will not vectorise the update */
#pragma GCC optimize("no-trapping-math", "no-math-errno")
#endif
#include <invmap/nn.h>
#include <math.h>
#include <stdint.h>

/* 1/sqrt(x) for x >= 0 by the bit-level first guess and three Newton steps (float precision; finite at 0,
   where x * rsqrt(x) = 0). sqrtf itself keeps the update loop scalar here: with the PETSc headers GCC
   keeps its errno path despite no-math-errno, and a scalar Adam step over the paper CNN's 33,874
   parameters cost more per batch than the network's dense layers. */
static inline float rsqrt_newton(float x)
{
  union {
    float f;
    int32_t i;
  } u = {x};
  float y;

  u.i = 0x5f375a86 - (u.i >> 1);
  y = u.f;
  y = y * (1.5f - 0.5f * x * y * y);
  y = y * (1.5f - 0.5f * x * y * y);
  y = y * (1.5f - 0.5f * x * y * y);
  return y;
}

const char *const InvOptTypes[] = {"adam", "adamw", "InvOptType", "INV_OPT_", NULL};
const char *const InvLRSchedules[] = {"constant", "cosine", "exp", "step", "InvLRSchedule", "INV_LR_", NULL};

PetscErrorCode InvOptCreate(size_t n, InvOpt *opt)
{
  InvOpt o;

  PetscFunctionBegin;
  PetscCall(PetscNew(&o));
  o->type = INV_OPT_ADAM;
  o->schedule = INV_LR_CONSTANT;
  o->lr = 2e-3;
  o->lr_min = 0;
  o->beta1 = 0.9;
  o->beta2 = 0.999;
  o->eps = 1e-7; /* Keras default, as in the authors' code */
  o->weight_decay = 0;
  o->decay = 0.5;
  o->step_epochs = 50;
  o->total_epochs = 1;
  o->n = n;
  PetscCall(PetscCalloc1(n, &o->m));
  PetscCall(PetscCalloc1(n, &o->v));
  *opt = o;
  PetscFunctionReturn(0);
}

PetscErrorCode InvOptSetFromOptions(InvOpt o)
{
  PetscFunctionBegin;
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "Optimiser", "InvOpt");
  PetscCall(PetscOptionsEnum("-opt_type", "Optimiser", "", InvOptTypes, (PetscEnum)o->type, (PetscEnum *)&o->type, NULL));
  PetscCall(PetscOptionsReal("-opt_lr", "Learning rate", "", o->lr, &o->lr, NULL));
  PetscCall(PetscOptionsEnum("-opt_lr_schedule", "Learning-rate schedule over epochs", "", InvLRSchedules, (PetscEnum)o->schedule,
                             (PetscEnum *)&o->schedule, NULL));
  PetscCall(PetscOptionsReal("-opt_lr_min", "Final learning rate of the cosine schedule", "", o->lr_min, &o->lr_min, NULL));
  PetscCall(PetscOptionsReal("-opt_lr_decay", "Factor per epoch (exp) or per -opt_lr_step epochs (step)", "", o->decay, &o->decay, NULL));
  PetscCall(PetscOptionsInt("-opt_lr_step", "Epochs between decays of the step schedule", "", o->step_epochs, &o->step_epochs, NULL));
  PetscCall(PetscOptionsReal("-opt_beta1", "Adam beta1", "", o->beta1, &o->beta1, NULL));
  PetscCall(PetscOptionsReal("-opt_beta2", "Adam beta2", "", o->beta2, &o->beta2, NULL));
  PetscCall(PetscOptionsReal("-opt_eps", "Adam epsilon", "", o->eps, &o->eps, NULL));
  PetscCall(PetscOptionsReal("-opt_weight_decay", "Weight decay (adam: L2 added to the gradient; adamw: decoupled)", "", o->weight_decay,
                             &o->weight_decay, NULL));
  PetscOptionsEnd();
  PetscCheck(o->lr >= 0 && o->lr_min >= 0, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE,
             "-opt_lr %g must be positive (or 0: every step leaves the weights unchanged) and -opt_lr_min %g >= 0", (double)o->lr,
             (double)o->lr_min);
  PetscCheck(o->beta1 >= 0 && o->beta1 < 1 && o->beta2 >= 0 && o->beta2 < 1, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE,
             "-opt_beta1 %g and -opt_beta2 %g must be in [0, 1)", (double)o->beta1, (double)o->beta2);
  PetscCheck(o->eps > 0 && o->weight_decay >= 0 && o->decay > 0 && o->step_epochs > 0, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE,
             "-opt_eps, -opt_lr_decay and -opt_lr_step must be positive and -opt_weight_decay >= 0");
  PetscFunctionReturn(0);
}

PetscErrorCode InvOptLearningRate(InvOpt o, PetscInt epoch, PetscReal *lr)
{
  PetscFunctionBegin;
  switch (o->schedule) {
    case INV_LR_CONSTANT:
      *lr = o->lr;
      break;
    case INV_LR_COSINE:
      *lr = o->lr_min + 0.5 * (o->lr - o->lr_min) * (1 + cos(PETSC_PI * (double)epoch / (double)PetscMax(o->total_epochs, 1)));
      break;
    case INV_LR_EXP:
      *lr = o->lr * pow(o->decay, (double)epoch);
      break;
    case INV_LR_STEP:
      *lr = o->lr * pow(o->decay, (double)(epoch / o->step_epochs));
      break;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvOptStep(InvOpt o, float *p, const float *g, PetscReal lr)
{
  float b1 = (float)o->beta1, b2 = (float)o->beta2, eps = (float)o->eps, wd = (float)o->weight_decay;
  float c1, c2, a;
  PetscBool adamw = (PetscBool)(o->type == INV_OPT_ADAMW);

  PetscFunctionBegin;
  o->t++;
  c1 = (float)(1.0 - pow(o->beta1, (double)o->t));
  c2 = (float)(1.0 - pow(o->beta2, (double)o->t));
  a = (float)lr;
  {
    float l2 = adamw ? 0.0f : wd, dec = adamw ? wd : 0.0f, ic1 = 1.0f / c1, ic2 = 1.0f / c2;
    float *restrict M = o->m, *restrict V = o->v, *restrict P = p;
    const float *restrict G = g;
    size_t n = o->n;
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
      float gi = G[i] + l2 * P[i];
      float m = b1 * M[i] + (1 - b1) * gi, v = b2 * V[i] + (1 - b2) * gi * gi;
      M[i] = m;
      V[i] = v;
      float vh = v * ic2;
      P[i] -= a * ((m * ic1) / (vh * rsqrt_newton(vh) + eps) + dec * P[i]);
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvOptDestroy(InvOpt *o)
{
  PetscFunctionBegin;
  if (!*o) PetscFunctionReturn(0);
  PetscCall(PetscFree((*o)->m));
  PetscCall(PetscFree((*o)->v));
  PetscCall(PetscFree(*o));
  PetscFunctionReturn(0);
}
