/* InvMAP: the classical baseline of docs/science.md section 6. For each observed series d (distributed
   over ranks) it minimises J(m) = 1/2 ||W (d - u_m(t_k))||^2 + 1/2 (m - m_pr)^T Sigma_pr^{-1} (m - m_pr)
   over the prior's support with TAO (prefix map_, default bound-constrained quasi-Newton), gradients
   by TSAdjoint (batched: many problems share one TS, see src/ts/batchts_adjoint.c), multistart from prior
   draws and given guesses, and a Laplace covariance C = H^{-1} at the MAP point, H Gauss-Newton
   (forward sensitivities, InvObjectiveGaussNewton) or the full Hessian (second-order adjoints, or central differences of
   adjoint gradients).
   `invmap map -help` lists the options; docs in the file headers of src/map.
   Output (N rows, written atomically): /theta_map (N x P), /objective (J at the MAP point),
   /gradient_norm (projected, TAO's measure), /iterations and /converged_reason (TAO, of the best start;
   -100: the start's forward solve failed), /function_evaluations (forward+adjoint solves of the
   sample over all starts), /n_starts_at_best, /n_starts_ok, /cov (N x P x P, C = H^{-1}), /status
   (InvMAPStatus), /wall_time (share of the rank's solve time by evaluations), /noise, /t, and /theta
   (truth) when the input has it; root attributes as for ensemble files plus hessian_type, integrator. */
#pragma once
#include <invmap/model.h>
#include <invmap/prior.h>

typedef struct _p_InvMAP *InvMAP;

/* gn: Gauss-Newton from forward sensitivities; fd: full Hessian by central differences of adjoint gradients;
   soa: full Hessian from second-order adjoints (PETSc TSAdjointSetForward + TSSetCostHessianProducts) */
typedef enum { INV_MAP_HESSIAN_GN, INV_MAP_HESSIAN_FD, INV_MAP_HESSIAN_SOA, INV_MAP_HESSIAN_NONE } InvMAPHessianType;
PETSC_EXTERN const char *const InvMAPHessianTypes[];

/* Per-sample status in the output's /status */
typedef enum {
  INV_MAP_OK = 0,
  INV_MAP_BAD_DATA = 1,  /* series with NaN/Inf, or the simulation that made it failed */
  INV_MAP_BAD_NOISE = 2, /* sigma <= 0 or |rho| >= 1 */
  INV_MAP_FAILED = 3,    /* every start failed (forward solve failure at every initial point) */
  INV_MAP_BAD_COV = 4    /* MAP point found but H is not positive definite: /cov is NaN */
} InvMAPStatus;
PETSC_EXTERN const char *const InvMAPStatusNames[];

PETSC_EXTERN PetscErrorCode InvMAPCreate(MPI_Comm, InvMAP *);
PETSC_EXTERN PetscErrorCode InvMAPSetFromOptions(InvMAP);
/* Reads the input file (-i) unless problems were given with InvMAPSetProblems() */
PETSC_EXTERN PetscErrorCode InvMAPSetUp(InvMAP);
PETSC_EXTERN PetscErrorCode InvMAPSolve(InvMAP);
PETSC_EXTERN PetscErrorCode InvMAPWrite(InvMAP, const char[]);
PETSC_EXTERN PetscErrorCode InvMAPView(InvMAP, PetscViewer);
PETSC_EXTERN PetscErrorCode InvMAPDestroy(InvMAP *);

/* Programmatic use (tests, benchmarks, training through the simulator). Call after SetFromOptions.
   InvMAPSetProblems gives this rank's n problems: observation times t (nt), series d (n x nt x nobs),
   noise (n x 2: rho, sigma), optional initial guesses (n x P, or NULL) and the global index of the
   first problem (keys the multistart draws). */
PETSC_EXTERN PetscErrorCode InvMAPSetProblems(InvMAP, PetscInt n, PetscInt nt, const PetscReal t[], const PetscReal d[],
                                              const PetscReal noise[], const PetscReal init[], PetscInt64 first);
PETSC_EXTERN PetscErrorCode InvMAPGetModel(InvMAP, InvModel *);
PETSC_EXTERN PetscErrorCode InvMAPGetPrior(InvMAP, InvPrior *);
/* J and its adjoint gradient (g may be NULL) of local problems idx[0..nb) at theta (nb x P), batched.
   A failed forward solve gives f = PETSC_INFINITY (finite, for TAO's line searches), g = 0 and status != 0. */
PETSC_EXTERN PetscErrorCode InvMAPObjectiveGradient(InvMAP, PetscInt nb, const PetscInt idx[], const PetscReal theta[], PetscReal f[],
                                                    PetscReal g[], PetscInt status[]);
/* Model output y (nt x nobs) at theta on the objective's discretisation; ok = false if the solve failed */
PETSC_EXTERN PetscErrorCode InvMAPModelOutput(InvMAP, const PetscReal theta[], PetscReal y[], PetscBool *ok);
/* Hessian (P x P, row-major) of J of local problem i at theta (NaN where the forward solve fails) */
PETSC_EXTERN PetscErrorCode InvMAPComputeHessian(InvMAP, PetscInt i, const PetscReal theta[], InvMAPHessianType, PetscReal H[]);
/* The same for local problems idx[0..nb) at theta (nb x P), H (nb x P x P); batched solves for soa and fd */
PETSC_EXTERN PetscErrorCode InvMAPComputeHessians(InvMAP, PetscInt nb, const PetscInt idx[], const PetscReal theta[], InvMAPHessianType,
                                                  PetscReal H[]);
/* C = H^{-1} of a symmetric p x p matrix (row-major) by Cholesky; spd = false and C = NaN otherwise */
PETSC_EXTERN PetscErrorCode InvMAPSymInverse(PetscInt p, const PetscReal H[], PetscReal C[], PetscBool *spd);
/* Local multistart minimisation of problems idx[0..nb) from starts x0 (nb x P each): one TAO per start,
   their objective evaluations batched. Outputs per start: x (nb x P), f, gnorm, iterations, evaluations,
   TAO reason (or -100 when the initial point fails). */
PETSC_EXTERN PetscErrorCode InvMAPMinimize(InvMAP, PetscInt nb, const PetscInt idx[], const PetscReal x0[], PetscReal x[], PetscReal f[],
                                           PetscReal gnorm[], PetscInt its[], PetscInt nfev[], PetscInt reason[]);
/* Results of the local problems after InvMAPSolve (arrays owned by InvMAP; any may be NULL) */
PETSC_EXTERN PetscErrorCode InvMAPGetResults(InvMAP, PetscInt *n, const PetscReal **theta, const PetscReal **f, const PetscReal **cov,
                                             const PetscInt **nbest, const PetscInt **status);
/* Interruption: after InvSolve, interrupted = a SIGTERM/SIGUSR1 (InvInterruptInstall) stopped the run before every
   sample was finished (the samples in flight were finished; InvMAPWriteCheckpoint saves them), complete = -resume
   found the output already complete (nothing was done). */
PETSC_EXTERN PetscErrorCode InvMAPGetInterrupted(InvMAP, PetscBool *interrupted, PetscBool *complete);
/* Local count n, global count N, and which local samples are finished (after InvMAPSolve) */
PETSC_EXTERN PetscErrorCode InvMAPGetDone(InvMAP, PetscInt *n, PetscInt64 *N, const PetscBool **done);
/* Collective: the finished samples and a /done mask, atomically, to <output>.partial, which -resume continues */
PETSC_EXTERN PetscErrorCode InvMAPWriteCheckpoint(InvMAP);
/* Collective: the Laplace targets (/theta_map, /cov, /map_status) of the finished MAP file mapfile, computed from
   the training set input, written with a copy of input to set (set may be input itself: replaced atomically,
   never half-written; see src/map/map_targets.c). Refuses a set that has other targets unless overwrite. */
PETSC_EXTERN PetscErrorCode InvMAPAttachTargets(MPI_Comm, const char mapfile[], const char input[], const char set[], PetscBool overwrite);
/* Failed forward solves on this rank: at start points, and later (in TAO's line searches) */
PETSC_EXTERN PetscErrorCode InvMAPGetFailures(InvMAP, PetscInt64 *at_start, PetscInt64 *later);
/* Counters on this rank: problem evaluations with gradient (one forward + one adjoint solve of that
   problem, batched) and forward-only ones (screening), batched TS solves, seconds in InvMAPSolve */
PETSC_EXTERN PetscErrorCode InvMAPGetStats(InvMAP, PetscInt64 *evals_grad, PetscInt64 *evals_fwd, PetscInt64 *batched_solves,
                                           PetscReal *seconds);
