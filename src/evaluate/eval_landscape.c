/* InvEval landscape (-eval_landscape <row>): the objective J of the "objective reached" metric (AR(1)-whitened
   misfit to the truth's data plus the prior term) on an n x n grid over the prior's support (or
   -eval_landscape_box) for one sample, over two parameters (-eval_landscape_pair, default the first two; with more
   parameters a 2-D slice through the sample's true parameters), and on a second grid over a box around the truth
   and the estimates of that sample near it (-eval_landscape_zoom). Grid points are numbered i0 * n + i1 and
   integrated in batches of -eval_batch consecutive points distributed over the ranks (the InvBatchTS of the
   series metrics), so J does not depend on the rank count; the values are gathered and written by rank 0. */
#include "evalimpl.h"
#include <invmap/h5io.h>

/* the row's data (the objective's series) and noise parameters, checked */
static PetscErrorCode InvEvalLandscapeData(InvEval e, PetscReal d[])
{
  const PetscInt per = e->nt * e->no, row = e->land.row;
  const PetscReal *nz = e->noise + 2 * row;
  hid_t file;

  PetscFunctionBegin;
  PetscCall(InvH5Open(e->comm, e->truth, PETSC_FALSE, &file));
  PetscCall(InvH5ReadRows(file, e->objdata[0] == 'd' ? "/d" : "/u", H5T_NATIVE_DOUBLE, (hsize_t)row, 1, d));
  PetscCall(InvH5Close(&file));
  for (PetscInt k = 0; k < per; k++)
    PetscCheck(!PetscIsInfOrNanReal(d[k]), e->comm, PETSC_ERR_FILE_UNEXPECTED,
               "-eval_landscape %d: /%s of row %d in %s is not finite (status %d); choose another row", (int)row, e->objdata, (int)row,
               e->truth, (int)e->status[row]);
  PetscCheck(InvNoiseParametersValid(nz[0], nz[1]), e->comm, PETSC_ERR_FILE_UNEXPECTED,
             "-eval_landscape %d: noise parameters (rho, sigma) = (%g, %g) of row %d are invalid (need |rho| < 1, sigma > 0)", (int)row,
             (double)nz[0], (double)nz[1], (int)row);
  PetscFunctionReturn(0);
}

/* J on the n x n grid over G->box for data d of the given row (pair: the parameters on the axes, the others at the
   row's truth); also used by the grid posterior (eval_posterior.c) */
PetscErrorCode InvEvalGridObjective(InvEval e, PetscInt row, PetscInt n, const PetscInt pair[2], const PetscReal d[], InvEvalGrid *G)
{
  const PetscInt per = e->nt * e->no, B = e->batch, P = e->P, p0 = pair[0], p1 = pair[1];
  const PetscInt64 npts = (PetscInt64)n * n, nbat = (npts + B - 1) / B, b0 = nbat * e->rank / e->size, b1 = nbat * (e->rank + 1) / e->size;
  const PetscInt64 g0 = PetscMin(b0 * B, npts), g1 = PetscMin(b1 * B, npts);
  const PetscInt nl = (PetscInt)(g1 - g0);
  PetscReal *y, *th, *loc, *work;
  PetscInt *st;
  PetscInt64 nfail = 0;

  PetscFunctionBegin;
  for (PetscInt j = 0; j < 2; j++) {
    PetscCall(PetscMalloc1(n, &G->axis[j]));
    for (PetscInt i = 0; i < n; i++) G->axis[j][i] = G->box[2 * j] + (G->box[2 * j + 1] - G->box[2 * j]) * i / (n - 1);
  }
  PetscCall(PetscMalloc4((size_t)B * per, &y, P * B, &th, PetscMax(nl, 1), &loc, 3 * e->nt, &work));
  PetscCall(PetscMalloc1(B, &st));
  PetscCall(PetscMalloc1(npts, &G->J));
  PetscCall(PetscLogEventBegin(INV_Simulate, 0, 0, 0, 0));
  for (PetscInt64 c0 = g0; c0 < g1; c0 += B) {
    const PetscInt nb = (PetscInt)PetscMin((PetscInt64)B, g1 - c0);
    for (PetscInt b = 0; b < nb; b++) { /* the row's true parameters, the pair from the grid */
      const PetscInt64 i0 = (c0 + b) / n, i1 = (c0 + b) % n;
      PetscCall(PetscArraycpy(th + P * b, e->theta + P * row, P));
      th[P * b + p0] = G->affine ? G->origin[0] + i0 * G->step[0] + i1 * G->step[2] : G->axis[0][i0];
      th[P * b + p1] = G->affine ? G->origin[1] + i0 * G->step[1] + i1 * G->step[3] : G->axis[1][i1];
    }
    PetscCall(InvForwardSolve(e->bts, e->mrk, nb, th, y, st));
    for (PetscInt b = 0; b < nb; b++) {
      loc[c0 - g0 + b] = st[b] ? NAN : InvEvalObjective(e, d, y + b * per, e->noise + 2 * row, th + P * b, work);
      if (st[b]) nfail++;
    }
  }
  PetscCall(PetscLogEventEnd(INV_Simulate, 0, 0, 0, 0));
  PetscCall(InvEvalGather(e, nl, 1, loc, G->J));
  PetscCallMPI(MPI_Allreduce(&nfail, &G->nfail, 1, MPIU_INT64, MPI_SUM, e->comm));
  PetscCall(PetscFree4(y, th, loc, work));
  PetscCall(PetscFree(st));
  PetscFunctionReturn(0);
}

/* the zoom box: the bounding box of the truth and the row's estimates that lie within 10% of the full box of it
   (failed fits far away show on the full grid), padded on each side by a quarter of its extent (at least 1% of
   the full box), clipped to the full box */
static void InvEvalZoomBox(InvEval e, InvEvalLandscape *L)
{
  const PetscInt row = L->row, P = e->P, p0 = L->pair[0], p1 = L->pair[1];
  const PetscReal t[2] = {e->theta[P * row + p0], e->theta[P * row + p1]},
                  w[2] = {L->full.box[1] - L->full.box[0], L->full.box[3] - L->full.box[2]};
  PetscReal lo[2] = {t[0], t[1]}, hi[2] = {t[0], t[1]};

  for (PetscInt k = 0; k < e->nest; k++) {
    const PetscReal v[2] = {row < e->est[k].n ? e->est[k].theta[P * row + p0] : NAN,
                            row < e->est[k].n ? e->est[k].theta[P * row + p1] : NAN};
    if (!(PetscAbsReal(v[0] - t[0]) <= 0.1 * w[0] && PetscAbsReal(v[1] - t[1]) <= 0.1 * w[1])) continue;
    for (PetscInt j = 0; j < 2; j++) lo[j] = PetscMin(lo[j], v[j]), hi[j] = PetscMax(hi[j], v[j]);
  }
  for (PetscInt j = 0; j < 2; j++) {
    const PetscReal pad = PetscMax(0.25 * (hi[j] - lo[j]), 0.01 * w[j]);
    L->zoom.box[2 * j] = PetscMax(lo[j] - pad, L->full.box[2 * j]);
    L->zoom.box[2 * j + 1] = PetscMin(hi[j] + pad, L->full.box[2 * j + 1]);
  }
}

PetscErrorCode InvEvalComputeLandscape(InvEval e)
{
  InvEvalLandscape *L = &e->land;
  const PetscInt per = e->nt * e->no, row = L->row;
  PetscReal *d, *y, *work;
  PetscInt st;
  PetscLogDouble t0, t1;

  PetscFunctionBegin;
  PetscCall(PetscTime(&t0));
  for (PetscInt j = 0; j < 2; j++)
    PetscCheck(L->pair[j] >= 0 && L->pair[j] < e->P, e->comm, PETSC_ERR_ARG_OUTOFRANGE,
               "-eval_landscape_pair %d,%d: model %s has parameters 0..%d", (int)L->pair[0], (int)L->pair[1], e->model->type,
               (int)e->P - 1);
  PetscCheck(L->pair[0] != L->pair[1], e->comm, PETSC_ERR_ARG_WRONG, "-eval_landscape_pair %d,%d: give two different parameters",
             (int)L->pair[0], (int)L->pair[1]);
  PetscCheck(row < e->N, e->comm, PETSC_ERR_ARG_OUTOFRANGE, "-eval_landscape %d: the truth %s has %lld samples (rows 0..%lld)", (int)row,
             e->truth, (long long)e->N, (long long)e->N - 1);
  PetscCheck(e->hasd && e->noise, e->comm, PETSC_ERR_FILE_UNEXPECTED,
             "-eval_landscape needs the objective's data: %s has no /%s with /noise (give -noise_rho and -noise_sigma, or "
             "-eval_objective_data u)",
             e->truth, e->objdata);
  if (!L->boxset)
    for (PetscInt j = 0; j < 2; j++) L->full.box[2 * j] = e->prior->lo[L->pair[j]], L->full.box[2 * j + 1] = e->prior->hi[L->pair[j]];
  for (PetscInt j = 0; j < 2; j++)
    PetscCheck(L->full.box[2 * j] < L->full.box[2 * j + 1] && PetscIsNormalReal(L->full.box[2 * j + 1] - L->full.box[2 * j]), e->comm,
               PETSC_ERR_ARG_WRONG, "-eval_landscape_box: need lower < upper for %s, got [%g, %g]", e->model->param_names[L->pair[j]],
               (double)L->full.box[2 * j], (double)L->full.box[2 * j + 1]);
  PetscCall(InvEvalSetupTS(e));
  PetscCall(PetscMalloc3(per, &d, per, &y, 3 * e->nt, &work));
  PetscCall(InvEvalLandscapeData(e, d));
  PetscCall(InvEvalGridObjective(e, row, L->n, L->pair, d, &L->full));
  if (L->zoomon) {
    InvEvalZoomBox(e, L);
    PetscCall(InvEvalGridObjective(e, row, L->n, L->pair, d, &L->zoom));
  }
  /* J at the true parameters, integrated alone (every rank, the same value) */
  PetscCall(InvForwardSolve(e->bts, e->mrk, 1, e->theta + e->P * row, y, &st));
  L->Jtruth = st ? NAN : InvEvalObjective(e, d, y, e->noise + 2 * row, e->theta + e->P * row, work);
  PetscCall(PetscFree3(d, y, work));
  PetscCall(PetscTime(&t1));
  L->seconds = (PetscReal)(t1 - t0);
  if (!e->quiet)
    PetscCall(
        PetscPrintf(e->comm,
                    "evaluate: landscape of row %d: J on %d x %d grids over [%g, %g] x [%g, %g]%s in %.2f s (%lld failed points), J at "
                    "the truth %g\n",
                    (int)row, (int)L->n, (int)L->n, (double)L->full.box[0], (double)L->full.box[1], (double)L->full.box[2],
                    (double)L->full.box[3], L->zoomon ? " and around the truth and the estimates" : "", (double)L->seconds,
                    (long long)(L->full.nfail + L->zoom.nfail), (double)L->Jtruth));
  PetscFunctionReturn(0);
}

static PetscErrorCode InvEvalWriteGrid(InvEval e, hid_t file, const char group[], InvEvalGrid *G)
{
  const PetscInt n = e->land.n;
  hsize_t dims[2] = {(hsize_t)n, (hsize_t)n};
  hid_t g;
  PetscReal argmin[3] = {NAN, NAN, NAN};
  char path[64];

  PetscFunctionBegin;
  for (PetscInt64 i = 0; i < (PetscInt64)n * n; i++)
    if (!PetscIsInfOrNanReal(G->J[i]) && !(G->J[i] >= argmin[2])) {
      argmin[0] = G->axis[0][i / n];
      argmin[1] = G->axis[1][i % n];
      argmin[2] = G->J[i];
    }
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/J", group));
  PetscCall(InvH5WriteSmall(file, path, H5T_NATIVE_DOUBLE, 2, dims, G->J));
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/theta0", group));
  PetscCall(InvH5WriteSmall(file, path, H5T_NATIVE_DOUBLE, 1, dims, G->axis[0]));
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/theta1", group));
  PetscCall(InvH5WriteSmall(file, path, H5T_NATIVE_DOUBLE, 1, dims, G->axis[1]));
  PetscCallHDF5Return(g, H5Gopen2(file, group, H5P_DEFAULT));
  PetscCall(InvH5WriteAttrReals(g, "box", 4, G->box));
  PetscCall(InvH5WriteAttrReals(g, "grid_argmin", 3, argmin));
  PetscCall(InvH5WriteAttrInts(g, "n_failed", 1, &G->nfail));
  PetscCallHDF5(H5Gclose(g));
  PetscFunctionReturn(0);
}

PetscErrorCode InvEvalWriteLandscape(InvEval e, hid_t file)
{
  InvEvalLandscape *L = &e->land;
  hid_t g;
  PetscInt64 ints[2] = {L->row, L->n}, pair[2] = {L->pair[0], L->pair[1]};
  PetscReal tpair[2];
  char names[2 * INV_MAX_NAME + 2];

  PetscFunctionBegin;
  if (!L->full.J) PetscFunctionReturn(0); /* no landscape (row -1): nothing to write, and no row to index */
  for (PetscInt j = 0; j < 2; j++) tpair[j] = e->theta[e->P * L->row + L->pair[j]];
  PetscCall(InvEvalWriteGrid(e, file, "/landscape", &L->full));
  if (L->zoom.J) PetscCall(InvEvalWriteGrid(e, file, "/landscape/zoom", &L->zoom));
  PetscCall(PetscSNPrintf(names, sizeof(names), "%s,%s", e->model->param_names[L->pair[0]], e->model->param_names[L->pair[1]]));
  PetscCallHDF5Return(g, H5Gopen2(file, "/landscape", H5P_DEFAULT));
  PetscCall(InvH5WriteAttrInts(g, "row", 1, &ints[0]));
  PetscCall(InvH5WriteAttrInts(g, "n", 1, &ints[1]));
  PetscCall(InvH5WriteAttrString(g, "parameter_names", names));
  PetscCall(InvH5WriteAttrInts(g, "pair", 2, pair));
  PetscCall(InvH5WriteAttrReals(g, "theta_truth", 2, tpair));
  PetscCall(InvH5WriteAttrReals(g, "theta_truth_all", e->P, e->theta + e->P * L->row));
  PetscCall(InvH5WriteAttrReals(g, "J_truth", 1, &L->Jtruth));
  PetscCall(InvH5WriteAttrReals(g, "noise_rho_sigma", 2, e->noise + 2 * L->row));
  PetscCall(InvNoiseSpecWriteAttributes(&e->nspec, g));
  PetscCall(InvH5WriteAttrString(g, "objective_data", e->objdata));
  PetscCall(InvH5WriteAttrReals(g, "seconds", 1, &L->seconds));
  PetscCall(InvH5WriteAttrString(g, "layout",
                                 "J[i0, i1] = J(theta0[i0], theta1[i1]): theta0 and theta1 are the axes of the parameters of attribute "
                                 "pair (named in parameter_names; the others stay at theta_truth_all); NaN where the "
                                 "re-simulation failed; zoom/: the same over a box around the truth and the estimates of the row; "
                                 "J_truth: J at theta_truth_all with the same integrator; theta_truth: the pair's true values; "
                                 "grid_argmin: (theta0, theta1, J) of the "
                                 "smallest grid value"));
  PetscCallHDF5(H5Gclose(g));
  PetscFunctionReturn(0);
}
