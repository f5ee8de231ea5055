/* Streaming of training sets larger than the memory budget. The epoch's order of the training samples is
   defined globally, from the seed and the epoch only: the samples are cut into chunks of -train_stream_chunk
   consecutive samples, the chunks are permuted (counter-based RNG), consecutive runs of -train_stream_window
   permuted chunks form windows, and the samples inside each window are permuted. Global batches are
   consecutive slices of that order, each split over the ranks as in memory (balance.c); every rank reads
   only its share of the batches, a few batches at a time (as many as the budget holds): the rows it needs,
   sorted by file row, are read in runs of contiguous file rows (one contiguous hyperslab per run and
   dataset, at most -train_stream_chunk rows, reading through gaps of a few unneeded rows) and placed in
   batch order in memory. When the file's layout allows (prefetch.c), a reader thread reads the next
   segment's rows while the current one trains, exactly (no read-through), into raw buffers of the
   segment's size; the budget holds both. Nothing depends on the number of ranks or on the budget's
   segmenting, so weights agree across rank counts and are bitwise reproducible; with one chunk and one
   window the order is that of the in-memory path (one permutation of all samples). */
#include "trainerimpl.h"
#include <invmap/rng.h>
#include <invmap/h5io.h>

#define INV_CHUNK_KEY         ((PetscInt64)1 << 40) /* RNG position of the chunk permutation (windows use 0, 1, ...) */
#define INV_STREAM_MAX_GAP    16                    /* unneeded file rows read through rather than starting another read */
#define INV_STREAM_READ_SHARE 0.5                   /* at most this share of the budget goes to the read buffer */

void InvTrainerShuffle(PetscInt64 *perm, PetscInt64 n, PetscInt64 seed, PetscInt64 key, PetscInt64 epoch)
{
  InvRng rng;

  InvRngInit(&rng, seed, INV_RNG_SHUFFLE, key, epoch);
  for (PetscInt64 i = 0; i < n; i++) perm[i] = i;
  for (PetscInt64 i = n - 1; i > 0; i--) {
    PetscInt64 j = (PetscInt64)(InvRngUniform(&rng) * (double)(i + 1)), tmp;
    if (j > i) j = i;
    tmp = perm[i], perm[i] = perm[j], perm[j] = tmp;
  }
}

/* bytes per resident row of each buffer kind (the read buffer is sized separately); a prefetched segment
   also needs its raw rows and up to one read per dataset and row */
static void Costs(InvTrainer t, double *seg, double *val, double *fixed)
{
  InvFeat f = t->map->feat;
  *seg = (double)InvTrainerRowBytes(t) + 2.0 * sizeof(PetscInt64);
  if (t->direct) *seg += (double)InvTrainerReadBytes(t) + (double)InvTrainerRawDatasets(t) * InvTrainerDirectRowBytes();
  *val = 4.0 * f->size + 12.0 * t->ntargets;
  *fixed = (double)t->batch * (4.0 * f->size + 8.0 * t->ntargets) + 16.0 * t->n_obs * t->n_ch + (t->direct ? INV_READ_GAP_BYTES : 0);
}

/* block sizes from the budget; chunk and window sizes (independent of the rank count) */
PetscErrorCode InvTrainerStreamSetUp(InvTrainer t)
{
  double seg, val, fixed, budget = t->memory_mb * 1048576.0, avail, rd = (double)InvTrainerReadBytes(t), rest;
  PetscInt64 share = (t->batch + t->size - 1) / t->size, R, nbatch = (t->Ntr + t->batch - 1) / t->batch, nch;
  InvFeat f = t->map->feat;

  PetscFunctionBegin;
  PetscCall(InvTrainerDirectSetUp(t));
  t->chunk = t->chunk_opt > 0 ? t->chunk_opt : 256;
  t->chunk = PetscMin(t->chunk, t->Ntr);
  Costs(t, &seg, &val, &fixed);
  avail = budget - fixed;
  /* read buffer: the file rows of one contiguous read, at most a chunk */
  t->rcap = PetscMax(1, PetscMin((PetscInt64)t->chunk, (PetscInt64)(INV_STREAM_READ_SHARE * avail / rd)));
  rest = avail - (double)t->rcap * rd;
  R = rest > 0 ? (PetscInt64)(rest / (seg + val)) : 0;
  if (t->direct && R < share) { /* a budget too small for prefetching a batch share: synchronous reads */
    PetscCall(InvTrainerDirectDestroy(t));
    t->direct = PETSC_FALSE;
    Costs(t, &seg, &val, &fixed);
    R = rest > 0 ? (PetscInt64)(rest / (seg + val)) : 0;
  }
  PetscCheck(
      R >= share, t->comm, PETSC_ERR_ARG_OUTOFRANGE,
      "-train_memory_mb %g is too small to stream: a batch share of %lld samples needs %.3f MB per rank; raise it or lower -train_batch",
      (double)t->memory_mb, (long long)share, (fixed + (double)t->rcap * rd + (double)share * (seg + val)) / 1048576.0);
  t->seg_batches = PetscMin(R / share, nbatch);
  t->val_block = R >= t->batch ? R / t->batch * t->batch : R;
  t->val_block = PetscMin(t->val_block, PetscMax((t->Nval + t->batch - 1) / t->batch * t->batch, 1));
  t->fit_block = PetscMax(1, (PetscInt64)(avail / (rd + 8.0 * t->ntargets + 4.0 * f->size)));
  t->fit_block = PetscMin(t->fit_block, PetscMax(t->tr1 - t->tr0, t->va1 - t->va0) + 1);
  t->window =
      t->window_opt > 0 ? t->window_opt : PetscMax(1, (PetscInt)(budget / ((double)t->chunk * ((double)InvTrainerRowBytes(t) + rd))));
  nch = (t->Ntr + t->chunk - 1) / t->chunk;
  t->window = (PetscInt)PetscMin((PetscInt64)t->window, nch);
  PetscFunctionReturn(0);
}

/* buffers of the resident batches, the reads and the validation blocks */
static PetscErrorCode StreamAlloc(InvTrainer t)
{
  PetscInt64 share = (t->batch + t->size - 1) / t->size, rows = t->seg_batches * share, nch = (t->Ntr + t->chunk - 1) / t->chunk;
  PetscInt64 nwin = (nch + t->window - 1) / t->window, wcap = PetscMin((PetscInt64)t->window * t->chunk, t->Ntr);
  InvFeat f = t->map->feat;
  size_t rb = InvTrainerRowBytes(t);

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(rb * (size_t)rows, &t->ebuf));
  PetscCall(PetscMalloc1(2 * rows, &t->sidx));
  PetscCall(
      PetscMalloc3((size_t)t->rcap * t->n_obs * t->n_ch * t->esize, &t->rU, (size_t)t->rcap * t->P, &t->rTh, (size_t)t->rcap * 2, &t->rNz));
  PetscCall(PetscMalloc1((size_t)t->val_block * f->size, &t->Xva));
  PetscCall(PetscMalloc1((size_t)t->val_block * t->ntargets, &t->Yva));
  InvTrainerTrack(t, (double)rows * ((double)rb + 16.0) + (double)t->rcap * (double)InvTrainerReadBytes(t) +
                         (double)t->val_block * (4.0 * f->size + 4.0 * t->ntargets));
  if (t->direct) { /* raw rows of a segment and its reads */
    PetscInt nd = InvTrainerRawDatasets(t);
    t->raw_rows = rows;
    for (PetscInt d = 0; d < nd; d++) PetscCall(PetscMalloc1(t->lay[d].rowbytes * (size_t)rows + 1, &t->raw[d]));
    PetscCall(PetscMalloc1((size_t)(nd * rows) + 1, &t->req));
    PetscCall(PetscMalloc1((size_t)(INV_READ_REQ_IOVS * nd * rows) + 1, &t->iov));
    PetscCall(PetscMalloc1(INV_READ_GAP_BYTES, &t->gap));
    InvTrainerTrack(t, (double)rows * ((double)InvTrainerReadBytes(t) + (double)nd * InvTrainerDirectRowBytes()) + INV_READ_GAP_BYTES);
  }
  PetscCall(PetscMalloc4(nch, &t->cperm, nwin + 1, &t->woff, wcap, &t->wsamp, wcap, &t->wtmp));
  t->wcur = -1;
  t->seg_b0 = t->seg_b1 = -1;
  PetscFunctionReturn(0);
}

PetscErrorCode InvTrainerStreamDestroy(InvTrainer t)
{
  PetscFunctionBegin;
  PetscCall(InvTrainerDirectDestroy(t));
  PetscCall(PetscFree(t->sidx));
  PetscCall(PetscFree3(t->rU, t->rTh, t->rNz));
  PetscCall(PetscFree4(t->cperm, t->woff, t->wsamp, t->wtmp));
  PetscCall(PetscFree(t->valid));
  if (t->file >= 0) PetscCall(InvH5Close(&t->file));
  PetscFunctionReturn(0);
}

/* chunk order and window offsets of an epoch (a function of the seed and the epoch only) */
static void EpochOrder(InvTrainer t, PetscInt epoch)
{
  PetscInt64 C = t->chunk, nch = (t->Ntr + C - 1) / C, W = t->window, nwin = (nch + W - 1) / W;

  InvTrainerShuffle(t->cperm, nch, t->seed, INV_CHUNK_KEY, epoch);
  t->woff[0] = 0;
  for (PetscInt64 w = 0; w < nwin; w++) {
    PetscInt64 n = 0;
    for (PetscInt64 k = w * W; k < PetscMin((w + 1) * W, nch); k++) n += PetscMin(C, t->Ntr - t->cperm[k] * C);
    t->woff[w + 1] = t->woff[w] + n;
  }
  t->wcur = -1;
}

/* chunk order and window offsets of an epoch; no batch resident. A prefetch of the epoch's first batches,
   started during the previous epoch's last ones, stays in flight (StreamLoad checks what it holds) */
PetscErrorCode InvTrainerStreamEpoch(InvTrainer t, PetscInt epoch)
{
  PetscFunctionBegin;
  if (!t->cperm) PetscCall(StreamAlloc(t));
  EpochOrder(t, epoch);
  t->seg_b0 = t->seg_b1 = -1;
  PetscFunctionReturn(0);
}

/* the samples of window w in their order of the epoch */
static void Window(InvTrainer t, PetscInt64 w, PetscInt epoch)
{
  PetscInt64 C = t->chunk, nch = (t->Ntr + C - 1) / C, W = t->window, n = 0;

  for (PetscInt64 k = w * W; k < PetscMin((w + 1) * W, nch); k++)
    for (PetscInt64 s = t->cperm[k] * C; s < PetscMin((t->cperm[k] + 1) * C, t->Ntr); s++) t->wtmp[n++] = s;
  InvTrainerShuffle(t->wsamp, n, t->seed, w, epoch);
  for (PetscInt64 j = 0; j < n; j++) t->wsamp[j] = t->wtmp[t->wsamp[j]];
  t->wcur = w;
}

/* samples at positions [p0, p0 + n) of the epoch's order */
static void Order(InvTrainer t, PetscInt epoch, PetscInt64 p0, PetscInt64 n, PetscInt64 *out)
{
  PetscInt64 nch = (t->Ntr + t->chunk - 1) / t->chunk, nwin = (nch + t->window - 1) / t->window;

  for (PetscInt64 i = 0; i < n;) {
    PetscInt64 p = p0 + i, w = t->wcur, m;
    if (w < 0 || p < t->woff[w] || p >= t->woff[w + 1]) {
      PetscInt64 lo = 0, hi = nwin - 1; /* woff[lo] <= p < woff[hi + 1] */
      while (lo < hi) {
        PetscInt64 mid = (lo + hi + 1) / 2;
        if (t->woff[mid] <= p)
          lo = mid;
        else
          hi = mid - 1;
      }
      Window(t, lo, epoch);
      w = lo;
    }
    m = PetscMin(n - i, t->woff[w + 1] - p);
    for (PetscInt64 k = 0; k < m; k++) out[i + k] = t->wsamp[p - t->woff[w] + k];
    i += m;
  }
}

static int CmpPair(const void *a, const void *b)
{
  PetscInt64 x = ((const PetscInt64 *)a)[0], y = ((const PetscInt64 *)b)[0];
  return (x > y) - (x < y);
}

/* this rank's samples of global batches [b0, b1) of the epoch as (sample, slot) pairs in sidx, sorted by
   sample = by file row; *n of them */
static PetscErrorCode Plan(InvTrainer t, PetscInt64 b0, PetscInt64 b1, PetscInt epoch, PetscInt64 *n)
{
  PetscInt64 B = t->batch, m = 0;

  PetscFunctionBegin;
  for (PetscInt64 b = b0; b < b1; b++) {
    PetscInt64 Bg = PetscMin(B, t->Ntr - b * B), lo = Bg * t->rank / t->size, hi = Bg * (t->rank + 1) / t->size;
    Order(t, epoch, b * B + lo, hi - lo, t->sidx + m); /* samples; made (sample, slot) pairs below */
    m += hi - lo;
  }
  for (PetscInt64 k = m - 1; k >= 0; k--) {
    t->sidx[2 * k] = t->sidx[k];
    t->sidx[2 * k + 1] = k;
  }
  qsort(t->sidx, (size_t)m, 2 * sizeof(PetscInt64), CmpPair);
  *n = m;
  PetscFunctionReturn(0);
}

/* the row of sample s in slot slot of ebuf: features (or the series and noise parameters with
   -noise_fresh) and targets, from its series u (in the file's precision), parameters and noise parameters */
static PetscErrorCode Place(InvTrainer t, PetscInt64 s, PetscInt64 slot, const void *u, const double *th, const double *nz)
{
  size_t rb = InvTrainerRowBytes(t), off = 2 * sizeof(PetscInt64);
  PetscInt per = t->n_obs * t->n_ch, O = t->ntargets;
  InvFeat f = t->map->feat;
  char *p = t->ebuf + rb * (size_t)slot;
  double y[16];
  float yn[16];

  PetscFunctionBegin;
  memcpy(p, &slot, sizeof(slot));
  memcpy(p + sizeof(slot), &s, sizeof(s));
  if (t->noise_fresh) {
    double np[2];
    if (t->hasnoise)
      np[0] = nz[0], np[1] = nz[1];
    else
      PetscCall(InvNoiseSampleParameters(t->noise, t->seed, s, &np[0], &np[1]));
    memcpy(p + off, u, (size_t)t->esize * (size_t)per); /* in the file's precision; converted per batch */
    off += (size_t)t->esize * (size_t)per;
    memcpy(p + off, np, sizeof(np));
    off += sizeof(np);
  } else {
    /* straight into the row (float-aligned: rows are multiples of 4 bytes); one pass from float32 values */
    PetscCall(InvFeatInputRow(f, u, (PetscBool)(t->esize == (PetscInt)sizeof(float)), t->ubuf, (float *)(void *)(p + off)));
    off += sizeof(float) * f->size;
  }
  PetscCall(InvTrainerTargets(t, 1, th, nz, y));
  PetscCall(InvFeatNormalizeTargets(f, 1, y, yn));
  memcpy(p + off, yn, sizeof(float) * O);
  PetscFunctionReturn(0);
}

/* reads this rank's share of global batches [b0, b1) of the epoch into ebuf, in batch order: the samples
   sorted by file row, read in runs of contiguous file rows (linear in the rows, whatever their spread).
   With direct reads the segment may already have been read by the reader thread; the next segment (of
   this epoch, or the next epoch's first) is then queued for it, to be read while this one trains */
PetscErrorCode InvTrainerStreamLoad(InvTrainer t, PetscInt64 b0, PetscInt64 b1, PetscInt epoch)
{
  PetscInt64 n, nbatch = (t->Ntr + t->batch - 1) / t->batch;
  PetscInt per = t->n_obs * t->n_ch;
  size_t useries = (size_t)t->esize * (size_t)per;
  PetscBool ready = PETSC_FALSE;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(INV_IORead, 0, 0, 0, 0)); /* with a prefetch: the wait for the reader thread */
  if (t->inflight) {
    ready = (PetscBool)(t->pf_b0 == b0 && t->pf_b1 == b1 && t->pf_epoch == epoch);
    PetscCall(InvTrainerDirectJoin(t));
    n = t->pf_n;
  }
  if (!ready) {
    PetscCall(Plan(t, b0, b1, epoch, &n));
    if (t->direct) {
      PetscCall(InvTrainerDirectQueue(t, n));
      PetscCall(InvTrainerDirectRead(t));
    }
  }
  PetscCall(PetscLogEventEnd(INV_IORead, 0, 0, 0, 0));
  if (t->direct)
    for (PetscInt64 k = 0; k < n; k++)
      PetscCall(Place(t, t->sidx[2 * k], t->sidx[2 * k + 1], t->raw[0] + (size_t)k * t->lay[0].rowbytes,
                      (const double *)(t->raw[1] + (size_t)k * t->lay[1].rowbytes),
                      t->hasnoise ? (const double *)(t->raw[2] + (size_t)k * t->lay[2].rowbytes) : NULL));
  else
    for (PetscInt64 i = 0, j; i < n; i = j) {
      PetscInt64 r0 = t->valid[t->sidx[2 * i]], r1 = r0; /* file rows [r0, r1] of this run */
      for (j = i + 1; j < n; j++) {
        PetscInt64 r = t->valid[t->sidx[2 * j]];
        if (r - r1 > INV_STREAM_MAX_GAP || r - r0 + 1 > t->rcap) break;
        r1 = r;
      }
      PetscCall(InvTrainerReadRange(t, r0, r1 + 1 - r0, t->rU, t->rTh, t->rNz));
      for (PetscInt64 k = i; k < j; k++) {
        PetscInt64 q = t->valid[t->sidx[2 * k]] - r0;
        PetscCall(Place(t, t->sidx[2 * k], t->sidx[2 * k + 1], t->rU + (size_t)q * useries, t->rTh + (size_t)q * t->P,
                        t->hasnoise ? t->rNz + 2 * q : NULL));
      }
    }
  t->seg_b0 = b0;
  t->seg_b1 = b1;
  if (t->direct && (b1 < nbatch || epoch + 1 < t->epochs)) { /* the next segment, read while this one trains */
    if (b1 < nbatch) {
      t->pf_b0 = b1;
      t->pf_epoch = epoch;
    } else { /* the next epoch's first: this epoch's order is no longer needed */
      t->pf_b0 = 0;
      t->pf_epoch = epoch + 1;
      EpochOrder(t, t->pf_epoch);
    }
    t->pf_b1 = PetscMin(nbatch, t->pf_b0 + t->seg_batches);
    PetscCall(Plan(t, t->pf_b0, t->pf_b1, t->pf_epoch, &t->pf_n));
    PetscCall(InvTrainerDirectQueue(t, t->pf_n));
    PetscCall(InvTrainerDirectStart(t));
  }
  PetscFunctionReturn(0);
}
