/* InvBatchTS: one PETSc TS (on PETSC_COMM_SELF) that integrates a batch of up to bmax independent
   members of a model at once and records the observed components at given times. The members share
   the adaptive step (error measured in the max norm over members), so a batch's result depends only
   on which members it holds: callers form batches from global sample indices, which makes results
   independent of the number of ranks. A batch whose solve fails is re-solved member by member so that
   only the failing members are flagged. TS options use the prefix given at creation.
   The forward ensemble steps each member on its own by default (InvMemberRK below, src/ts/batchts_member.c:
   the same TS's tableau and controller, the error per member), so a member's series does not depend on
   its batch at all. Two kinds of solver, with different defaults:
   - InvBatchTSCreate: the forward solve with observation output (ensemble, evaluate): adaptive RK 6vr,
     rtol = atol = 1e-6;
   - InvBatchTSCreateAdjoint: the objective J (include/invmap/objective.h) and its derivatives (MAP): fixed-step
     RK4, dt 0.05 (any RK type with a correct PETSc 3.18 adjoint, or theta/cn/beuler); the first-order adjoint
     gradient of the discrete misfit at the observation times, forward sensitivities (Gauss-Newton) and
     second-order adjoints (Hessian-vector products; theta methods: cn/endpoint form only).
   A stiff model (InvModel->stiff) changes the defaults to implicit ones: adaptive TSBDF (order 2) for
   InvBatchTSCreate, TSCN (Crank-Nicolson) at the same fixed step for InvBatchTSCreateAdjoint. Forward solves
   accept any TS type, implicit ones included (bdf, theta/cn/beuler, arkimex: an RHS-only model has no explicit
   part, so ARKIMEX runs its fully implicit variant); the derivative solvers refuse types without a correct
   PETSc 3.18 adjoint (docs/petsc-notes.md section 2). Implicit types assemble the block-diagonal state Jacobian
   as MATSEQBAIJ (block size nstate) and solve it per block: PCPBJACOBI + KSPPREONLY by default (override with
   -<prefix>ksp_type / -<prefix>pc_type), so a Newton step costs O(B nstate^3) (src/ts/batchts_implicit.c). */
#pragma once
#include <invmap/model.h>
#include <invmap/prior.h>
#include <petscts.h>

typedef struct _p_InvBatchTS *InvBatchTS;

/* Per-member status codes (stored in /status of ensemble files) */
typedef enum {
  INV_STATUS_OK = 0,
  INV_STATUS_NONFINITE = 1, /* the state became Inf/NaN */
  INV_STATUS_DIVERGED = 2,  /* the TS diverged: step rejections, step-size collapse, nonlinear solver failure */
  INV_STATUS_MAXSTEPS = 3,  /* the step budget (-ts_max_steps) ran out before the last observation time */
  INV_STATUS_BADPARAM = 4   /* the parameters themselves are not finite */
} InvStatus;
PETSC_EXTERN const char *const InvStatusNames[];

PETSC_EXTERN PetscErrorCode InvBatchTSCreate(InvModel, PetscInt bmax, const char prefix[], InvBatchTS *);
PETSC_EXTERN PetscErrorCode InvBatchTSSetObservationTimes(InvBatchTS, PetscInt, const PetscReal[]);
PETSC_EXTERN PetscErrorCode InvBatchTSSetFromOptions(InvBatchTS);
PETSC_EXTERN PetscErrorCode InvBatchTSSolve(InvBatchTS, PetscInt nb, const PetscReal theta[], PetscReal y[], PetscInt status[]);
/* steps (with the sensitivity and second-order solvers'), batched solves, batches redone member by member */
PETSC_EXTERN PetscErrorCode InvBatchTSGetStats(InvBatchTS, PetscInt64 *steps, PetscInt64 *solves, PetscInt64 *fallbacks);
PETSC_EXTERN PetscErrorCode InvBatchTSGetTS(InvBatchTS, TS *);
PETSC_EXTERN PetscErrorCode InvBatchTSDescribe(InvBatchTS, char[], size_t);
PETSC_EXTERN PetscErrorCode InvTSDescribe(TS, PetscReal dt, PetscInt batch, char[], size_t);
PETSC_EXTERN PetscErrorCode InvBatchTSDestroy(InvBatchTS *);

/* The adjoint-capable solver (batchts_adjoint.c); InvBatchTSSetObservationTimes (at least 2) and
   InvBatchTSSetFromOptions as above. */
PETSC_EXTERN PetscErrorCode InvBatchTSCreateAdjoint(InvModel, PetscInt bmax, const char prefix[], InvBatchTS *);
/* J of nb members and, when g is not NULL, its gradient (first-order adjoint): f[b] = 1/2 ||W_b (d_b - y_b(theta_b))||^2
   plus the prior term (prior NULL: the misfit alone). d[b] points at member b's series (nt x nobs, time-major); rho[b]
   and sd[b] are its AR(1) correlation and marginal standard deviation (InvNoiseSpecSD, not the stored sigma).
   status[b] != INV_STATUS_OK marks a failed forward solve (f = +inf, g = 0). */
PETSC_EXTERN PetscErrorCode InvBatchTSObjective(InvBatchTS, InvPrior prior, PetscInt nb, const PetscReal theta[],
                                                const PetscReal *const d[], const PetscReal rho[], const PetscReal sd[], PetscReal f[],
                                                PetscReal g[], PetscInt status[]);
/* Model outputs y (nb x nt x nobs) and their sensitivities S (nb x nt x nobs x np) of nb members, batched (up to 128
   members per solve; with RK bitwise independent of the batch); ok[b] = PETSC_FALSE: failed forward solve. */
PETSC_EXTERN PetscErrorCode InvBatchTSSetUpSensitivities(InvBatchTS);
PETSC_EXTERN PetscErrorCode InvBatchTSSensitivities(InvBatchTS, PetscInt nb, const PetscReal theta[], PetscReal y[], PetscReal S[],
                                                    PetscBool ok[]);
/* Second-order adjoint (batchts_soa.c): Hv[b*np..] = d2(misfit_b)/dtheta2 v_b for members b < nb, by one forward
   solve with the tangent-linear model and one TSAdjointSolve, batched (bmax members per sweep, each with its own
   direction). Only the misfit: the caller adds the prior term. status[b] != 0: failed forward solve, Hv = NaN. */
PETSC_EXTERN PetscErrorCode InvBatchTSSetUpSecondOrder(InvBatchTS, PetscInt bmax);
PETSC_EXTERN PetscErrorCode InvBatchTSHessianProduct(InvBatchTS, PetscInt nb, const PetscReal theta[], const PetscReal v[],
                                                     const PetscReal *const d[], const PetscReal rho[], const PetscReal sd[],
                                                     PetscReal Hv[], PetscInt status[]);
/* The adjoint gradient of J for model m against finite differences at npts points on the observation times t, with the
   MAP solver's options (-map_ts_*): a line on the viewer, ok = PETSC_FALSE if wrong (src/ts/batchts_check.c) */
PETSC_EXTERN PetscErrorCode InvBatchTSCheckGradient(InvModel m, PetscInt nt, const PetscReal t[], PetscInt npts, PetscViewer,
                                                    PetscBool *ok);
/* Adjoint sweeps so far (gradients and second-order products) */
/* Gradient solvers with the same settings (model, options prefix, observation times), e.g. MAP's batch levels: hand the
   fixed step grid one has learned to another, which then skips its own learning TSSolve (no-op unless both use the lean
   RK adjoint at a fixed step and their step, times and tableau agree) */
PETSC_EXTERN PetscErrorCode InvBatchTSShareStepGrid(InvBatchTS from, InvBatchTS to);
/* A gradient solver at a fixed step: learn that grid now, by one TSSolve of the single member theta (a failed solve, or
   a solver without the lean RK adjoint or a fixed step, learns nothing: its first InvBatchTSObjective learns as before).
   PETSc's per-step cost grows with the members, so a one-member solver learns it cheapest; learned: whether m knows
   a grid afterwards */
PETSC_EXTERN PetscErrorCode InvBatchTSLearnStepGrid(InvBatchTS m, const PetscReal theta[], PetscBool *learned);
PETSC_EXTERN PetscErrorCode InvBatchTSGetAdjointCount(InvBatchTS, PetscInt64 *adjoints);
/* The observations y (nb x nt x nobs) of the members of the last forward solve (InvBatchTSSolve copies them out;
   after InvBatchTSObjective these are the outputs J was computed from). Valid until the next solve. */
PETSC_EXTERN PetscErrorCode InvBatchTSGetObservations(InvBatchTS, const PetscReal **y);

/* InvMemberRK: the explicit embedded RK of an InvBatchTS's TS (tableau, tolerances, TSADAPTBASIC controller,
   step limits, step budget) with one adaptive step per member instead of one per batch: a member's result
   does not depend on the other members of its batch. Create returns NULL when the TS is not an adaptive
   explicit RK with an embedded pair and scalar tolerances (then solve with the InvBatchTS). The error of a
   member is measured in the max norm over its states. Stats: accepted member steps, passes over the
   batch (each pass attempts one step of every unfinished member), solves. */
typedef struct _p_InvMemberRK *InvMemberRK;
PETSC_EXTERN PetscErrorCode InvMemberRKSetDefaultTolerances(const char prefix[]); /* before InvBatchTSSetFromOptions */
PETSC_EXTERN PetscErrorCode InvMemberRKCreate(InvBatchTS, InvModel, PetscInt bmax, PetscInt nt, const PetscReal times[], InvMemberRK *);
PETSC_EXTERN PetscErrorCode InvMemberRKSolve(InvMemberRK, PetscInt nb, const PetscReal theta[], PetscReal y[], PetscInt status[]);
PETSC_EXTERN PetscErrorCode InvMemberRKGetStats(InvMemberRK, PetscInt64 *steps, PetscInt64 *passes, PetscInt64 *solves);
PETSC_EXTERN PetscErrorCode InvMemberRKDestroy(InvMemberRK *);

/* The forward solver of invmap simulate, which whatever must reproduce its series (evaluate) creates the same
   way: -step_control member (default; InvStepControls[0]) gives an InvMemberRK at its default tolerances
   (NULL when the TS is not an adaptive explicit RK: the InvBatchTS then steps the batch), batch gives the
   InvBatchTS alone. The InvBatchTS reads the -ts_* options. */
PETSC_EXTERN const char *const InvStepControls[];
PETSC_EXTERN PetscErrorCode InvForwardSolverCreate(InvModel, PetscInt batch, PetscInt nt, const PetscReal t[], PetscInt step_control,
                                                   InvBatchTS *, InvMemberRK *);
PETSC_EXTERN PetscErrorCode InvForwardSolve(InvBatchTS, InvMemberRK, PetscInt nb, const PetscReal theta[], PetscReal y[],
                                            PetscInt status[]);
