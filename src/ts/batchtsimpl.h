/* Private layout of InvBatchTS (include/invmap/batchts.h), shared by the files of src/ts. One batched PETSc TS over
   bmax members in one of four roles:
   - forward (batchts.c): observation output with the ensemble's defaults (adaptive RK 6vr), failures isolated by a
     one-member solver;
   - gradient (batchts_adjoint.c): the objective and its first-order adjoint gradient (MEMORY trajectory and
     TSAdjointSolve; with explicit RK the lean adjoint of batchts_rkadjoint.c: its own stage record and adjoint sweep,
     and at a fixed step its own forward pass), failed batches redone member by member;
   - sensitivities (batchts_sens.c): observation sensitivities dy/dtheta (RK: the variational equations with the
     state; theta methods: TSForward);
   - second order (batchts_soa.c): Hessian-vector products (TSAdjointSetForward + TSSetCostHessianProducts, BASIC
     trajectory).
   The adjoint roles share the MAP defaults (fixed-step RK4, dt 0.05; a stiff model: cn); the gradient solver owns the
   other two as children. Implicit TS types in any role: the BAIJ Jacobian and per-block solves of batchts_implicit.c. */
#pragma once
#include <invmap/batchts.h>
#include <invmap/noise.h>
#include <invmap/objective.h>

typedef enum { INV_BATCHTS_FORWARD, INV_BATCHTS_GRADIENT, INV_BATCHTS_SENSITIVITY, INV_BATCHTS_SECOND_ORDER } InvBatchTSRole;

/* A block-diagonal shell operator: nb member blocks of rows x cols, row-major (batchts_rkadjoint.c) */
typedef struct {
  PetscInt nb, rows, cols;
  PetscScalar *v; /* nb x rows x cols */
} InvBatchTSBlock;

struct _p_InvBatchTS {
  InvModel model;
  InvBatchTSRole role;
  PetscInt bmax, nb; /* capacity; members of the current solve */
  char prefix[64];
  TS ts;
  Vec X;
  PetscReal *theta; /* bmax x nparam, padded with copies of a member */
  PetscInt ntimes;  /* observation times (the span starts at t = 0 when the first time is later) */
  PetscReal *times, *span;
  PetscInt nspan, k, kadj; /* forward and adjoint observation counters */
  PetscReal *ybuf;         /* bmax x ntimes x nobs */
  PetscBool nonfinite;
  PetscBool from_options;
  PetscReal dt0;
  PetscInt64 steps, solves, fallbacks, adjoints;
  InvBatchTS single; /* forward: one-member solver for isolating failures */
  /* adjoint roles */
  PetscBool aug;                   /* sensitivities with RK: X holds every member's [x_b, S_b] (ns (1 + np) each) */
  PetscScalar *ax, *af, *aj, *ajp; /* aug: member-major state, f, J and Jp of all members (model layouts) */
  Vec lambda, mu;                  /* first-order adjoints */
  Vec lambda2, mu2, dir, ihp[4];   /* second order: adjoints, per-member directions, Hessian-product work */
  Mat J, Jp, S;                    /* J: AIJ with explicit RK in the adjoint roles, BAIJ (block size nstate) with implicit types */
  Mat Jdir;                        /* second order with theta: the one-column IJacobianP -Jp v (batchts_soa.c) */
  PetscScalar *jpwork;             /* bmax x nstate x nparam: the model's parameter Jacobian for Jdir */
  PetscScalar *jwork;              /* bmax x nstate x nstate: the model's Jacobian blocks before insertion into the BAIJ J */
  PetscReal *gy, *gth, *Sy;        /* dJ/dy (bmax x nt x no); the prior's dJ/dtheta (bmax x np); nt x no x np (sensitivities) */
  PetscReal *dy, *dgy;             /* second order: tangent-linear observations H dx and W^T W H dx, bmax x nt x no */
  PetscReal *work;                 /* 3 nt */
  PetscBool jacinjacp;             /* the lean RK adjoint of batchts_rkadjoint.c: J, Jp are shells over jblk, jpblk */
  InvBatchTSBlock jblk, jpblk;
  /* lean RK adjoint: every accepted step's stages (rkcap x s x bmax ns) and start and end times, recorded by a post-step
     hook in place of a TSTrajectory, and the work vectors of its own adjoint sweep */
  PetscScalar *rkY;
  PetscReal *rkt, *rkh;              /* per step: start and end times; the step size TSStep_RK used */
  PetscInt rksteps, rkcap, rks, rkm; /* steps recorded, capacity of rkt and rkh, stages, members per stage record (bmax or nb) */
  size_t rkYcap;                     /* entries rkY holds (allocated when a solve needs them: a level never used costs nothing) */
  PetscInt rkgridsteps;
  PetscBool rkgrid;                /* rkt, rkh hold the fixed step grid of the span: the forward pass runs without TSSolve */
  PetscScalar *rkK;                /* s x bmax ns: stage derivatives of that forward pass */
  PetscScalar *rkdl, *rktmp, *rkw; /* s stage increments of lambda, lambda's stage value; weights */
  PetscScalar *rkJ, *rkJp;         /* autonomous models: the Jacobian blocks of all stages of a step (one call of each per step) */
  PetscReal *rkth;                 /* their parameters: the members' theta once per stage */
  char tjdir[PETSC_MAX_PATH_LEN];  /* second order: private directory of the BASIC trajectory */
  InvBatchTS child;                /* gradient: the sensitivity solver */
  InvBatchTS soachild;             /* gradient: the second-order solver */
};

/* Whether time t is observation time tk (the TS lands on it up to rounding) */
static inline PetscBool InvBatchTSAtTime(PetscReal t, PetscReal tk)
{
  return PetscAbsReal(t - tk) <= 1e-9 * (1.0 + PetscAbsReal(tk)) ? PETSC_TRUE : PETSC_FALSE;
}

/* batchts.c: the callbacks every role shares */
PETSC_INTERN PetscErrorCode InvBatchTSRHS(TS, PetscReal, Vec, Vec, void *);
PETSC_INTERN PetscErrorCode InvBatchTSDomain(TS, PetscReal, Vec, PetscBool *);
PETSC_INTERN PetscErrorCode InvBatchTSMonitor(TS, PetscInt, PetscReal, Vec, void *);
PETSC_INTERN PetscErrorCode InvBatchTSObserve(InvBatchTS, PetscInt, PetscReal, const PetscScalar *);
PETSC_INTERN PetscBool InvBatchTSStateSumOK(PetscInt, const PetscScalar *);
PETSC_INTERN PetscErrorCode InvBatchTSLoad(InvBatchTS, PetscInt, const PetscReal[]);
PETSC_INTERN PetscErrorCode InvBatchTSRun(InvBatchTS, PetscBool *, TSConvergedReason *);
PETSC_INTERN InvStatus InvBatchTSFailure(InvBatchTS, TSConvergedReason);
/* batchts_adjoint.c */
PETSC_INTERN PetscErrorCode InvBatchTSCreateRole(InvModel, PetscInt, const char[], InvBatchTSRole, InvBatchTS *);
PETSC_INTERN PetscErrorCode InvBatchTSSetTimesAdjoint(InvBatchTS);
PETSC_INTERN PetscErrorCode InvBatchTSSetFromOptionsAdjoint(InvBatchTS);
PETSC_INTERN PetscErrorCode InvBatchTSAdjointMonitor(TS, PetscInt, PetscReal, Vec, PetscInt, Vec *, Vec *, void *);
PETSC_INTERN void InvBatchTSObsJump(InvBatchTS, PetscScalar *, const PetscReal *);
PETSC_INTERN PetscErrorCode InvBatchTSDestroyAdjoint(InvBatchTS);
/* batchts_sens.c */
PETSC_INTERN PetscErrorCode InvBatchTSSetUpSensitivitySolve(InvBatchTS, PetscBool);
PETSC_INTERN PetscErrorCode InvBatchTSInitialSensitivities(InvBatchTS, PetscScalar[]);
PETSC_INTERN PetscErrorCode InvBatchTSRecordSensitivities(InvBatchTS, const PetscScalar[]);
/* batchts_soa.c */
PETSC_INTERN PetscErrorCode InvBatchTSSetUpSOA(InvBatchTS);
PETSC_INTERN PetscErrorCode InvBatchTSSOATrajectory(InvBatchTS);
PETSC_INTERN PetscErrorCode InvBatchTSSetUpSOATheta(InvBatchTS);
PETSC_INTERN PetscErrorCode InvBatchTSDestroySOA(InvBatchTS);
/* batchts_implicit.c */
PETSC_INTERN PetscErrorCode InvBatchTSCreateBlockJacobian(InvModel, PetscInt, Mat *);
PETSC_INTERN PetscErrorCode InvBatchTSRHSJacobianBlocks(TS, PetscReal, Vec, Mat, Mat, void *);
PETSC_INTERN PetscErrorCode InvBatchTSSetSolverDefaults(TS);
PETSC_INTERN PetscErrorCode InvBatchTSSetUpImplicit(InvBatchTS);
/* batchts_rkadjoint.c */
PETSC_INTERN PetscErrorCode InvBatchTSSetUpRKAdjoint(InvBatchTS);
PETSC_INTERN PetscErrorCode InvBatchTSRKAdjointSolve(InvBatchTS);
PETSC_INTERN PetscErrorCode InvBatchTSRKForward(InvBatchTS, TSConvergedReason *);
PETSC_INTERN PetscErrorCode InvBatchTSRKLearnGrid(InvBatchTS);
PETSC_INTERN PetscErrorCode InvBatchTSDestroyRKAdjoint(InvBatchTS);

/* Whether a member's np parameters are all finite (a member that is not gets INV_STATUS_BADPARAM and is not integrated). */
static inline PetscBool InvBatchTSThetaFinite(PetscInt np, const PetscReal theta[])
{
  for (PetscInt j = 0; j < np; j++)
    if (PetscIsInfOrNanReal(theta[j])) return PETSC_FALSE;
  return PETSC_TRUE;
}

#define INV_BATCHTS_STATE_MAX  1e200 /* the domain check: a batch state's sum of squares must not exceed this */
#define INV_BATCHTS_STATE_SAFE 0.999 /* below this fraction of the bound per entry, no summation order can exceed it */

/* Whether a batch state of n entries is finite (and not huge): the domain check of every stage. Its verdict is that
   of the sum of squares (InvBatchTSStateSumOK); the sum is only formed when an entry's square exceeds
   SAFE x MAX / n (or is not a number): otherwise every summation order stays below MAX (n roundings of at most
   one ulp each), so the verdict is the same, without the reduction's latency on the few entries of small batches. */
static inline PetscReal InvBatchTSStateEntryLimit(PetscInt n) /* SAFE x MAX / n: an entry's square at most this needs no sum */
{
  return INV_BATCHTS_STATE_SAFE * (INV_BATCHTS_STATE_MAX / PetscMax(n, 1));
}

static inline PetscBool InvBatchTSStateOK(PetscInt n, const PetscScalar *x)
{
  const PetscReal lim = InvBatchTSStateEntryLimit(n);
  int small = 1;

  for (PetscInt i = 0; i < n; i++) small &= (x[i] * x[i] <= lim); /* false for NaN */
  return small ? PETSC_TRUE : InvBatchTSStateSumOK(n, x);
}
