/* InvMAP object: creation, options, problems, view, results and destruction (see include/invmap/map.h). */
#include "mapimpl.h"
#include <invmap/noise.h>

#define INV_MAP_CHECKPOINT_SECONDS 60.0 /* default of -map_checkpoint_seconds: little lost work, negligible write cost */

const char *const InvMAPHessianTypes[] = {"gn", "fd", "soa", "none", "InvMAPHessianType", "INV_MAP_HESSIAN_", NULL};
const char *const InvMAPStatusNames[] = {"ok", "bad_data", "bad_noise", "failed", "bad_cov"};

PetscErrorCode InvMAPCreate(MPI_Comm comm, InvMAP *mapout)
{
  InvMAP map;

  PetscFunctionBegin;
  PetscCall(InvInitializePackage());
  PetscCall(PetscNew(&map));
  map->comm = comm;
  PetscCallMPI(MPI_Comm_rank(comm, &map->rank));
  PetscCallMPI(MPI_Comm_size(comm, &map->size));
  PetscCall(PetscStrncpy(map->model_type, "fhn", sizeof(map->model_type)));
  PetscCall(PetscStrncpy(map->output, "map.h5", sizeof(map->output)));
  map->nstarts = 4;
  map->nscreen = 256;
  map->start_mean = PETSC_TRUE;
  map->batch = 256;
  map->seed = 1;
  map->htype = INV_MAP_HESSIAN_GN;
  map->fd_h = 1e-5;
  map->same_tol = 1e-6;
  map->progress = 10;
  map->ckpt_seconds = INV_MAP_CHECKPOINT_SECONDS;
  *mapout = map;
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPSetFromOptions(InvMAP map)
{
  PetscInt seed = (PetscInt)map->seed;
  PetscBool set;
  char tmpdir[PETSC_MAX_PATH_LEN] = "";

  PetscFunctionBegin;
  PetscOptionsBegin(map->comm, NULL, "MAP estimation (invmap map); TAO options: -map_tao_*, TS options: -map_ts_*", "InvMAP");
  PetscCall(PetscOptionsString("-i", "Input HDF5 file with observed series (an ensemble file of invmap simulate: /d or /u, /t, /noise)", "",
                               map->input, map->input, sizeof(map->input), NULL));
  PetscCall(PetscOptionsString("-o", "Output HDF5 file", "", map->output, map->output, sizeof(map->output), NULL));
  PetscCall(PetscOptionsBool("-overwrite", "Replace an existing output file", "", map->overwrite, &map->overwrite, NULL));
  PetscCall(PetscOptionsString("-model", "Model name (default: the input file's model)", "", map->model_type, map->model_type,
                               sizeof(map->model_type), NULL));
  PetscCall(PetscOptionsBool("-map_clean", "Fit the clean series /u instead of the noisy /d (whitened with the same noise parameters)", "",
                             map->use_clean, &map->use_clean, NULL));
  PetscCall(PetscOptionsInt("-n", "Use only the first n samples of the input (0: all)", "", map->nmax, &map->nmax, NULL));
  PetscCall(PetscOptionsString("-map_init", "Initial guesses: HDF5 with /theta_init, /theta_pred (invmap predict) or /theta_map (N x P)",
                               "", map->init_file, map->init_file, sizeof(map->init_file), NULL));
  PetscCall(PetscOptionsInt("-map_starts", "Multistart: number of starts from prior draws per sample (the best of -map_screen draws)", "",
                            map->nstarts, &map->nstarts, NULL));
  PetscCall(PetscOptionsInt("-map_screen",
                            "Screen this many prior draws per sample by their objective (forward solves only) and start from the "
                            "-map_starts best, mutually separated ones (0: start from -map_starts plain draws)",
                            "", map->nscreen, &map->nscreen, NULL));
  PetscCall(PetscOptionsBool("-map_start_mean", "Also start from the prior mean", "", map->start_mean, &map->start_mean, NULL));
  PetscCall(PetscOptionsInt("-map_seed", "Seed of the multistart draws (keyed by seed, sample index and start)", "", seed, &seed, NULL));
  PetscCall(PetscOptionsInt("-map_batch", "Starts optimised in lockstep whose evaluations share one batched TS (1: one at a time)", "",
                            map->batch, &map->batch, NULL));
  PetscCall(PetscOptionsEnum("-map_hessian",
                             "Laplace covariance: gn (Gauss-Newton, forward sensitivities), soa (full Hessian from second-order "
                             "adjoints; needs -map_ts_type rk at a fixed step or cn), fd (full Hessian by central differences of adjoint "
                             "gradients) or none",
                             "", InvMAPHessianTypes, (PetscEnum)map->htype, (PetscEnum *)&map->htype, NULL));
  PetscCall(
      PetscOptionsReal("-map_hessian_fd_h", "Relative step (times the prior sd) of -map_hessian fd", "", map->fd_h, &map->fd_h, NULL));
  PetscCall(PetscOptionsReal("-map_same_tol",
                             "Starts whose objective is within this relative tolerance of the best (and parameters within "
                             "1e-3 prior sd) count as reaching it",
                             "", map->same_tol, &map->same_tol, NULL));
  PetscCall(PetscOptionsString("-map_soa_tmpdir",
                               "Directory for the second-order adjoint's trajectory files (PETSc 3.18 needs the BASIC trajectory for "
                               "it; default /dev/shm, else PETSc's tmp)",
                               "", "", tmpdir, sizeof(tmpdir), NULL));
  PetscCall(PetscOptionsBool("-resume", "Finish an interrupted run (<output>.partial, written periodically and on SIGTERM/SIGUSR1/SIGINT)",
                             "", map->resume, &map->resume, NULL));
  PetscCall(PetscOptionsReal("-map_progress", "Seconds between progress lines of rank 0 (negative: none)", "", map->progress,
                             &map->progress, NULL));
  PetscCall(PetscOptionsReal("-map_checkpoint_seconds",
                             "Save the finished samples to <output>.partial at least this often, so that a killed run (SIGKILL, node "
                             "failure) loses at most about this much work and -resume continues it (0: only on SIGTERM/SIGUSR1/SIGINT)",
                             "", map->ckpt_seconds, &map->ckpt_seconds, NULL));
  PetscCall(PetscOptionsInt("-map_interrupt_after",
                            "Testing: act as if SIGUSR1 arrived once a rank has finished this many samples (0: never)", "",
                            map->interrupt_after, &map->interrupt_after, NULL));
  PetscCall(PetscOptionsBool("-quiet", "No progress output", "", map->quiet, &map->quiet, NULL));
  PetscOptionsEnd();
  PetscCheck(map->nscreen >= 0 && map->nscreen <= 1000000, map->comm, PETSC_ERR_ARG_OUTOFRANGE, "-map_screen must be in [0, 1e6]");
  PetscCheck(map->nstarts >= 0 && map->nstarts <= 100000, map->comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-map_starts must be in [0, 1e5], got %" PetscInt_FMT, map->nstarts);
  PetscCheck(map->batch >= 1 && map->batch <= 65536, map->comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-map_batch must be in [1, 65536], got %" PetscInt_FMT, map->batch);
  PetscCheck(seed >= 0, map->comm, PETSC_ERR_ARG_OUTOFRANGE, "-map_seed must be >= 0");
  PetscCheck(map->fd_h > 0 && map->fd_h < 0.1, map->comm, PETSC_ERR_ARG_OUTOFRANGE, "-map_hessian_fd_h must be in (0, 0.1)");
  PetscCheck(map->same_tol >= 0, map->comm, PETSC_ERR_ARG_OUTOFRANGE, "-map_same_tol must be >= 0");
  PetscCheck(map->nmax >= 0, map->comm, PETSC_ERR_ARG_OUTOFRANGE, "-n must be >= 0");
  PetscCheck(map->ckpt_seconds >= 0, map->comm, PETSC_ERR_ARG_OUTOFRANGE, "-map_checkpoint_seconds must be >= 0, got %g",
             (double)map->ckpt_seconds);
  PetscCheck(map->interrupt_after >= 0, map->comm, PETSC_ERR_ARG_OUTOFRANGE, "-map_interrupt_after must be >= 0");
  PetscCall(InvNoiseSpecFromOptions(map->comm, &map->nspec));
  map->seed = seed;
  set = map->input[0] ? PETSC_TRUE : PETSC_FALSE;
  if (set) { /* the model named in the input file, unless -model says otherwise (a pipeline checks options before the file exists) */
    PetscBool given, exists;
    PetscCall(PetscOptionsHasName(NULL, NULL, "-model", &given));
    PetscCall(InvFileExists(map->input, &exists));
    if (!given && exists) PetscCall(InvMAPReadModelName(map));
  }
  PetscCall(InvModelCreate(map->model_type, &map->model));
  PetscCall(InvModelSetFromOptions(map->model));
  PetscCall(InvPriorCreate(map->model, &map->prior));
  PetscCall(InvPriorSetFromOptions(map->prior));
  map->setfromoptions = PETSC_TRUE;
  { /* read the TAO and TS options (prefix map_) now: -help lists them, and a misspelt one is refused before any solve */
    Tao tao;
    InvBatchTS mts;
    const PetscReal t[2] = {0, 1};
    PetscCall(InvMAPCreateTao(&tao));
    PetscCall(TaoSetFromOptions(tao));
    PetscCall(TaoDestroy(&tao));
    PetscCall(InvBatchTSCreateAdjoint(map->model, 1, "map_", &mts));
    PetscCall(InvBatchTSSetObservationTimes(mts, 2, t));
    PetscCall(InvBatchTSSetFromOptions(mts));
    PetscCall(InvBatchTSDestroy(&mts));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPGetModel(InvMAP map, InvModel *m)
{
  PetscFunctionBegin;
  *m = map->model;
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPGetPrior(InvMAP map, InvPrior *p)
{
  PetscFunctionBegin;
  *p = map->prior;
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPSetProblems(InvMAP map, PetscInt n, PetscInt nt, const PetscReal t[], const PetscReal d[], const PetscReal noise[],
                                 const PetscReal init[], PetscInt64 first)
{
  const PetscInt per = nt * map->model->nobs, np = map->model->nparam;

  PetscFunctionBegin;
  PetscCheck(map->setfromoptions, PETSC_COMM_SELF, PETSC_ERR_ORDER, "Call InvMAPSetFromOptions() first");
  PetscCheck(n >= 0 && nt >= 2, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Need n >= 0 problems and nt >= 2 observation times");
  map->n = n;
  map->nt = nt;
  map->first = first;
  map->ckpt_seconds = 0; /* problems given in memory: no input file, the caller owns persistence (no <output>.partial) */
  map->N = n;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &map->N, 1, MPIU_INT64, MPI_SUM, map->comm));
  PetscCall(PetscMalloc1(nt, &map->t));
  PetscCall(PetscArraycpy(map->t, t, nt));
  PetscCall(InvNoiseSpecSetData(&map->nspec, map->comm, -1, NULL, nt, t));
  PetscCall(PetscMalloc3(PetscMax(n, 1) * per, &map->d, PetscMax(n, 1) * 2, &map->noise, PetscMax(n, 1), &map->status));
  PetscCall(PetscArraycpy(map->d, d, n * per));
  if (noise)
    PetscCall(PetscArraycpy(map->noise, noise, 2 * n)); /* NULL: -noise_rho and -noise_sigma give them */
  else
    PetscCall(PetscArrayzero(map->noise, 2 * n));
  InvNoiseSpecApply(&map->nspec, n, map->noise);
  for (PetscInt i = 0; i < n; i++) map->status[i] = INV_MAP_OK;
  if (init) {
    PetscCall(PetscMalloc1(PetscMax(n, 1) * np, &map->init));
    PetscCall(PetscArraycpy(map->init, init, n * np));
  }
  PetscCall(InvMAPCheckProblems(map));
  map->setup = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPSetUp(InvMAP map)
{
  PetscFunctionBegin;
  if (map->setup) PetscFunctionReturn(0);
  PetscCheck(map->input[0], map->comm, PETSC_ERR_ARG_WRONG,
             "Give the observed series with -i <file.h5> (e.g. the output of invmap simulate)");
  PetscCall(InvMAPCheckOutput(map));
  map->setup = PETSC_TRUE;
  if (map->complete_already) PetscFunctionReturn(0);
  PetscCall(InvMAPReadInput(map));
  PetscCall(InvMAPCheckProblems(map));
  if (map->resume) PetscCall(InvMAPReadCheckpoint(map));
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPView(InvMAP map, PetscViewer v)
{
  char ts[256] = "";
  const PetscInt starts = map->nstarts + (map->start_mean ? 1 : 0) + (map->init ? 1 : 0);

  PetscFunctionBegin;
  PetscCall(InvMAPSetUpSolvers(map));
  PetscCall(InvBatchTSDescribe(map->mts[0], ts, sizeof(ts)));
  PetscCall(PetscViewerASCIIPrintf(v, "MAP: %" PetscInt64_FMT " series%s%s (%s), %" PetscInt_FMT " observation times, %d rank%s\n", map->N,
                                   map->input[0] ? " from " : "", map->input, map->use_clean ? "clean /u" : "noisy /d", map->nt, map->size,
                                   map->size > 1 ? "s" : ""));
  PetscCall(InvModelView(map->model, v));
  PetscCall(InvPriorView(map->prior, map->model, v));
  PetscCall(PetscViewerASCIIPrintf(
      v, "  starts per sample: %" PetscInt_FMT " (%" PetscInt_FMT " prior draws%s%s%s), lockstep batch %" PetscInt_FMT ", covariance: %s\n",
      starts, map->nstarts, map->nscreen > map->nstarts ? ", the best of screened draws" : "", map->start_mean ? " + prior mean" : "",
      map->init ? " + initial guess" : "", map->batch,
      map->htype == INV_MAP_HESSIAN_GN    ? "Gauss-Newton (forward sensitivities)"
      : map->htype == INV_MAP_HESSIAN_FD  ? "full Hessian (central differences of adjoint gradients)"
      : map->htype == INV_MAP_HESSIAN_SOA ? "full Hessian (second-order adjoints)"
                                          : "none"));
  PetscCall(PetscViewerASCIIPrintf(v, "  integrator: %s\n", ts));
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPGetResults(InvMAP map, PetscInt *n, const PetscReal **theta, const PetscReal **f, const PetscReal **cov,
                                const PetscInt **nbest, const PetscInt **status)
{
  PetscFunctionBegin;
  PetscCheck(map->solved, PETSC_COMM_SELF, PETSC_ERR_ORDER, "Call InvMAPSolve() first");
  if (n) *n = map->n;
  if (theta) *theta = map->theta_map;
  if (f) *f = map->obj;
  if (cov) *cov = map->cov;
  if (nbest) *nbest = map->nbest;
  if (status) *status = map->status;
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPGetStats(InvMAP map, PetscInt64 *evals_grad, PetscInt64 *evals_fwd, PetscInt64 *batched_solves, PetscReal *seconds)
{
  PetscInt64 nf = 0;

  PetscFunctionBegin;
  for (PetscInt l = 0; l < map->nlevels; l++) {
    PetscInt64 f;
    PetscCall(InvBatchTSGetStats(map->mts[l], NULL, &f, NULL));
    nf += f;
  }
  if (evals_grad) *evals_grad = map->evals;
  if (evals_fwd) *evals_fwd = map->evals_fwd;
  if (batched_solves) *batched_solves = nf;
  if (seconds) *seconds = map->seconds;
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPGetInterrupted(InvMAP map, PetscBool *interrupted, PetscBool *complete)
{
  PetscFunctionBegin;
  if (interrupted) *interrupted = map->interrupted;
  if (complete) *complete = map->complete_already;
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPGetDone(InvMAP map, PetscInt *n, PetscInt64 *N, const PetscBool **done)
{
  PetscFunctionBegin;
  PetscCheck(map->solved, PETSC_COMM_SELF, PETSC_ERR_ORDER, "Call InvMAPSolve() first");
  if (n) *n = map->n;
  if (N) *N = map->N;
  if (done) *done = map->done;
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPGetFailures(InvMAP map, PetscInt64 *at_start, PetscInt64 *later)
{
  PetscFunctionBegin;
  if (at_start) *at_start = map->fail_start;
  if (later) *later = map->fail_later;
  PetscFunctionReturn(0);
}

PetscErrorCode InvMAPDestroy(InvMAP *mapp)
{
  InvMAP map = *mapp;

  PetscFunctionBegin;
  if (!map) PetscFunctionReturn(0);
  for (PetscInt l = 0; l < map->nlevels; l++) PetscCall(InvBatchTSDestroy(&map->mts[l]));
  if (map->nlevels) {
    PetscCall(PetscFree6(map->dptr, map->rhob, map->sigb, map->thb, map->fb, map->gb));
    PetscCall(PetscFree(map->stb));
  }
  PetscCall(PetscFree(map->t));
  if (map->d) PetscCall(PetscFree3(map->d, map->noise, map->status));
  PetscCall(PetscFree(map->init));
  PetscCall(PetscFree(map->theta_true));
  if (map->theta_map) {
    PetscCall(PetscFree5(map->theta_map, map->obj, map->gnorm, map->cov, map->wall));
    PetscCall(PetscFree5(map->its, map->nfev, map->reason, map->nbest, map->nstart_ok));
  }
  PetscCall(PetscFree(map->task_evals));
  PetscCall(PetscFree(map->done));
  PetscCall(InvPriorDestroy(&map->prior));
  PetscCall(InvModelDestroy(&map->model));
  PetscCall(PetscFree(map));
  *mapp = NULL;
  PetscFunctionReturn(0);
}
