/* InvEval: `invmap evaluate`. Compares estimate files (invmap predict: /theta_pred; invmap map: /theta_map,
   /cov, /wall_time, ...) with the truth (an ensemble file of invmap simulate) by every metric of
   docs/science.md section 4: Median-APE and R^2 per parameter, the median relative 2-norm error, time-series
   squared bias and C-MSE of the ODE re-simulated at the estimates (InvBatchTS, batches of global sample
   indices distributed over ranks, so results do not depend on the rank count), the MAP objective J at each
   estimate, mean/covariance relative errors against a reference (-cov_reference), and the cost recorded in
   the estimate file. Results go to HDF5 (atomic), optionally CSV, and a table on rank 0. */
#pragma once
#include <invmap/model.h>

/* The metric definitions (stored as an attribute of the output and printed by -help) */
#define INV_EVAL_DEFINITIONS                                                                                                               \
  "APE_j = |est_j - true_j| / |true_j|; rel_err = ||est - true||_2 / ||true||_2; R^2_j = 1 - sum (est_j - true_j)^2 / sum (true_j - "      \
  "mean true_j)^2 over valid samples; noise targets of joint inference (the columns an estimate file's 'targets' attribute names rho, "    \
  "sigma) against the truth's /noise: median_ape_<rho|sigma>, r2_<rho|sigma>, while rel_err and r2_mean cover the model parameters "       \
  "only; valid samples: every estimated target finite; series s = ODE re-simulated at the estimate, u = clean /u of the truth, means "     \
  "over the "                                                                                                                              \
  "n_obs times (and observed components): sq_bias = (mean(s - u))^2, cmse = mean(((s - mean s) - (u - mean u))^2) (sq_bias + cmse "        \
  "= MSE); objective J (and objective_truth, J at the true parameters on the same samples) = 1/2 ||W_AR1 (d - s)||^2 + 1/2 sum ((est_j - " \
  "prior_mean_j) / prior_sd_j)^2 with the truth's /d (or /u: -eval_objective_data u), /noise (or -noise_rho, -noise_sigma) "               \
  "and prior; mean_rel_err = ||est - ref||_2 / ||ref||_2, cov_rel_err = ||C - C_ref||_F / ||C_ref||_F against -cov_reference; "            \
  "medians over samples with finite values (NaN estimates and failed re-simulations are counted and excluded); cost of the run that "      \
  "made the estimate file (invmap map and predict record it): run_wall_seconds = its solve_seconds (wall-clock time of the solve or "      \
  "inference, all ranks together), n_ranks = its MPI rank count, wall_seconds_per_estimate = run_wall_seconds / rows of the file, "        \
  "core_seconds_per_estimate = wall_seconds_per_estimate x n_ranks; objective_evaluations_total = sum of /function_evaluations over "      \
  "the evaluated rows (one forward + adjoint solve each)"

/* What -eval_save_series and -eval_landscape store (printed by -help) */
#define INV_EVAL_STORES                                                                                                                    \
  "-eval_save_series: /series/<label> (rows x n_obs float32), row i = the ODE re-simulated at estimate i (sample i of the truth, "         \
  "attribute truth_rows = first row, count), NaN where sim_status != 0; -eval_landscape r [-eval_landscape_n n] "                          \
  "[-eval_landscape_box lo0,hi0,lo1,hi1] [-eval_landscape_pair i,j]: /landscape/J (n x n, J[i0, i1] = J(theta0[i0], theta1[i1]) with "     \
  "theta0, theta1 the values of parameters i, j (default 0, 1; the others at the row's truth), the objective above "                       \
  "with row r's data and noise, NaN where the re-simulation failed), /landscape/theta0, /landscape/theta1 (the grid axes, "                \
  "default the prior's support), attributes row, pair, parameter_names, theta_truth, theta_truth_all, J_truth, grid_argmin, box; with "    \
  "-eval_landscape_zoom (default) the same in /landscape/zoom over the bounding box of the truth and the row's estimates "                 \
  "within 10% of the box of it, padded by a quarter of its size"

/* What -eval_posterior_n stores (printed by -help; attribute definitions of /posterior) */
#define INV_EVAL_POSTERIOR                                                                                                                 \
  "-eval_posterior_n K [-eval_posterior_grid G] [-eval_posterior_coarse Gc] [-eval_posterior_passes p] "                                   \
  "[-eval_posterior_width w] (two-parameter models): the exact posterior p = exp(-J) / Z of each of the first K samples (J "               \
  "the objective above: the negative log posterior up to a constant; the prior's support is its domain) by trapezoidal "                   \
  "quadrature, first on a Gc x Gc grid over the prior's support, then up to p times (the first one around the Gaussian of the estimate "   \
  "set whose mean has J below that grid's minimum by more than 1, if any: /posterior/seeded_by = its index, else -1) on a G x G grid "     \
  "along the principal "                                                                                                                   \
  "axes of the previous grid's posterior (mean +- w max(sqrt(eigenvalue), previous spacing) per axis; points outside the "                 \
  "prior's support carry no mass) until that frame settles (directions within 2.6 degrees, half-widths within 0.5 to 1.25 "                \
  "times the current ones; defaults G 81, Gc 41, p 8, w 6); from the final grid: /posterior/mean (K x 2), /posterior/cov (K "              \
  "x 2 x 2), /posterior/frame (K x 7: point (i0, i1) = (f0, f1) + i0 (f2, f3) + i1 (f4, f5), i0, i1 < f6), "                               \
  "/posterior/passes (zoom passes made), /posterior/edge_mass (the posterior mass on the frame's edge points, 0 on the "                   \
  "first grid whose edges are the prior's bounds: a frame that cut the posterior shows here), /posterior/peak_mass (the "                  \
  "largest single point's mass: near 1, the grid does not resolve the posterior), /posterior/n_failed (grid points whose "                 \
  "re-simulation failed, no mass); for each estimate file with a Gaussian (invmap map: /theta_map and the Laplace /cov, NaN "              \
  "where /status != 0; invmap predict: /theta_pred with /cov_pred, else with /theta_std as a diagonal covariance; attribute "              \
  "posterior_gaussian names it): /<label>/posterior_w2 = the 2-Wasserstein distance between that Gaussian and N(mean, cov) "               \
  "of the grid, W2^2 = |m1 - m2|^2 + tr(C1 + C2 - 2 (C2^1/2 C1 C2^1/2)^1/2), and /<label>/posterior_kl = KL(p || Gaussian) "               \
  "= sum_grid w p (log p - log q) by the same quadrature; NaN for samples that failed, with invalid noise, or without a "                  \
  "Gaussian row"

typedef struct _p_InvEval *InvEval;

PETSC_EXTERN PetscErrorCode InvEvalCreate(MPI_Comm, InvEval *);
PETSC_EXTERN PetscErrorCode InvEvalSetFromOptions(InvEval);
PETSC_EXTERN PetscErrorCode InvEvalRun(InvEval);
PETSC_EXTERN PetscErrorCode InvEvalDestroy(InvEval *);

/* Median of the finite values of v[0..n) (NaN when there are none); v is not modified. */
PETSC_EXTERN PetscErrorCode InvEvalMedian(PetscInt64 n, const PetscReal v[], PetscReal *med);
/* Squared bias (mean_t(s - u))^2 and C-MSE mean_t(((s - mean s) - (u - mean u))^2) of one series of n values */
PETSC_EXTERN void InvEvalSeriesErrors(PetscInt n, const PetscReal s[], const PetscReal u[], PetscReal *sqbias, PetscReal *cmse);
