/* InvMAPTS (private to src/map): a batched, adjoint-capable PETSc TS that evaluates the AR(1)-whitened
   data misfit of nb independent members, its gradient by one TSAdjointSolve (discrete misfit at the
   observation times: forward monitor stores dJ/dy, adjoint monitor adds it to lambda), and the
   observation sensitivities dy/dtheta for Gauss-Newton Hessians (RK: the variational equations integrated with the state,
   member by member; theta methods: TSForward). */
#pragma once
#include <invmap/model.h>
#include <petscts.h>

typedef struct _p_InvMAPTS *InvMAPTS;

/* Per-member outcome of an evaluation */
typedef enum { INV_MAPTS_OK = 0, INV_MAPTS_FAILED = 1 } InvMAPTSStatus;

PETSC_INTERN PetscErrorCode InvMAPTSCreate(InvModel, PetscInt bmax, const char prefix[], InvMAPTS *);
PETSC_INTERN PetscErrorCode InvMAPTSSetObservationTimes(InvMAPTS, PetscInt, const PetscReal[]);
PETSC_INTERN PetscErrorCode InvMAPTSSetFromOptions(InvMAPTS);
/* f[b] = 1/2 ||W_b (d_b - y_b(theta_b))||^2 and, when g is not NULL, g[b*np..] = its gradient.
   d[b] points at member b's series (nt x nobs, time-major); rho[b] and sd[b] are its AR(1) correlation and marginal
   standard deviation (InvNoiseMarginalSD, not the stored sigma). status[b] != 0 marks a failed forward solve
   (f = +inf, g = 0). */
PETSC_INTERN PetscErrorCode InvMAPTSMisfit(InvMAPTS, PetscInt nb, const PetscReal theta[], const PetscReal *const d[],
                                           const PetscReal rho[], const PetscReal sd[], PetscReal f[], PetscReal g[], PetscInt status[]);
/* Model outputs y (nb x nt x nobs) and their sensitivities S (nb x nt x nobs x np) of nb members, batched (up to 128
   members per solve, each along its own e_j; with RK bitwise independent of the batch); ok[b] = PETSC_FALSE: failed forward solve. */
PETSC_INTERN PetscErrorCode InvMAPTSSetUpSensitivities(InvMAPTS);
PETSC_INTERN PetscErrorCode InvMAPTSSensitivities(InvMAPTS, PetscInt nb, const PetscReal theta[], PetscReal y[], PetscReal S[],
                                                  PetscBool ok[]);
/* Second-order adjoint (mapts_soa.c): Hv[b*np..] = d2(misfit_b)/dtheta2 v_b for members b < nb, by one
   forward solve with the tangent-linear model (TSAdjointSetForward) and one TSAdjointSolve with
   TSSetCostHessianProducts, batched (bmax members per sweep, each with its own direction). Only the misfit:
   the caller adds the prior term. status[b] != 0: failed forward solve, Hv = NaN. */
PETSC_INTERN PetscErrorCode InvMAPTSSetUpSecondOrder(InvMAPTS, PetscInt bmax);
PETSC_INTERN PetscErrorCode InvMAPTSHessianProduct(InvMAPTS, PetscInt nb, const PetscReal theta[], const PetscReal v[],
                                                   const PetscReal *const d[], const PetscReal rho[], const PetscReal sd[], PetscReal Hv[],
                                                   PetscInt status[]);
PETSC_INTERN PetscErrorCode InvMAPTSGetStats(InvMAPTS, PetscInt64 *forward, PetscInt64 *adjoint, PetscInt64 *steps);
PETSC_INTERN PetscErrorCode InvMAPTSDescribe(InvMAPTS, char[], size_t);
PETSC_INTERN PetscErrorCode InvMAPTSDestroy(InvMAPTS *);
