/* Private layout of InvMAPTS (src/map/mapts.c, mapts_soa.c): one batched PETSc TS in one of three roles:
   misfit + gradient (MEMORY trajectory, first-order adjoint), forward sensitivities (RK: the variational
   equations integrated with the state, see mapts.c; theta methods: TSForward), or second-order adjoint (TSAdjointSetForward +
   TSSetCostHessianProducts, BASIC trajectory). */
#pragma once
#include "mapts.h"
#include <invmap/noise.h>

/* A block-diagonal shell operator: nb member blocks of rows x cols, row-major (mapts_rkadjoint.c) */
typedef struct {
  PetscInt nb, rows, cols;
  PetscScalar *v; /* nb x rows x cols */
} InvMAPTSBlock;

struct _p_InvMAPTS {
  InvModel model;
  PetscInt bmax, nb;
  char prefix[64];
  PetscBool sens;                  /* this instance computes forward sensitivities (no trajectory) */
  PetscBool aug;                   /* sens with RK: X holds every member's state and sensitivities, [x_b, S_b] (ns (1 + np) each) */
  PetscScalar *ax, *af, *aj, *ajp; /* aug: member-major state, f, J and Jp of all members (model layouts) */
  PetscBool soa;                   /* this instance computes second-order adjoints (Hessian-vector products) */
  TS ts;
  Vec X, lambda, mu;
  Vec lambda2, mu2, dir, ihp[4]; /* soa: second-order adjoints, per-member directions, Hessian-product work */
  Mat J, Jp, S;
  PetscReal *theta; /* bmax x np */
  PetscInt nt, nspan, k, kadj;
  PetscReal *times, *span;
  PetscReal *y, *gy, *Sy; /* bmax x nt x no; dJ/dy of the same shape; nt x no x np (sens) */
  PetscReal *dy, *dgy;    /* soa: tangent-linear observations H dx and W^T W H dx, bmax x nt x no */
  PetscReal *work;        /* 3 nt */
  PetscBool nonfinite, setfromoptions;
  PetscBool jacinjacp; /* the lean RK adjoint of mapts_rkadjoint.c: J, Jp are shells over jblk, jpblk */
  InvMAPTSBlock jblk, jpblk;
  PetscReal dt0;
  char tjdir[PETSC_MAX_PATH_LEN]; /* soa: private directory of the BASIC trajectory */
  PetscInt64 nforward, nadjoint, nsteps;
  InvMAPTS child;    /* the sensitivity solver */
  InvMAPTS soachild; /* the second-order adjoint solver */
};

static inline PetscBool InvMAPTSAtTime(PetscReal t, PetscReal tk)
{
  return PetscAbsReal(t - tk) <= 1e-9 * (1.0 + PetscAbsReal(tk)) ? PETSC_TRUE : PETSC_FALSE;
}

PETSC_INTERN PetscErrorCode InvMAPTSCreateInternal(InvModel, PetscInt, const char[], PetscBool, PetscBool, InvMAPTS *);
PETSC_INTERN PetscErrorCode InvMAPTSForward(InvMAPTS, PetscBool *);
PETSC_INTERN PetscErrorCode InvMAPTSMemberMisfit(InvMAPTS, PetscInt, const PetscReal[], PetscReal, PetscReal, PetscReal *);
PETSC_INTERN PetscErrorCode InvMAPTSAdjointMonitor(TS, PetscInt, PetscReal, Vec, PetscInt, Vec *, Vec *, void *);
PETSC_INTERN PetscErrorCode InvMAPTSSetUpSOA(InvMAPTS);
PETSC_INTERN PetscErrorCode InvMAPTSSOATrajectory(InvMAPTS);
PETSC_INTERN PetscErrorCode InvMAPTSDestroySOA(InvMAPTS);
PETSC_INTERN PetscErrorCode InvMAPTSSetUpRKAdjoint(InvMAPTS);
PETSC_INTERN PetscErrorCode InvMAPTSDestroyRKAdjoint(InvMAPTS);
