/* Streamed reads that overlap training. When the training set's datasets are stored unfiltered, in the
   native type, contiguous or chunked by whole rows (as invmap simulate writes them), every row lies at a
   known file offset: the main thread looks the offsets up with HDF5 once, and afterwards a reader thread
   reads the rows of the next segment with pread() on a file descriptor of its own while the current
   segment trains. The thread makes no HDF5 or MPI call (the parallel HDF5 library is not thread-safe), so
   the training loop may use both while a read is in flight; the bytes are those HDF5 would deliver, so the
   weights are bitwise those of the synchronous path (-train_stream_prefetch no). Files with filters or
   other layouts are read synchronously through HDF5. With -train_stream_readahead no thread is started:
   the next segment's byte ranges are handed to the kernel with posix_fadvise(POSIX_FADV_WILLNEED), which
   reads them into the page cache in the background, and the main thread reads them (pread, from the page
   cache when the kernel was done) when the segment is due; on machines with few cores this keeps a thread
   from taking CPU from the ranks at random moments, the reads of all ranks then falling at the same point. */
#define _GNU_SOURCE /* preadv, IOV_MAX (before any system header) */
#include "trainerimpl.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <limits.h>
#include <sys/uio.h>

#define INV_READAHEAD_MERGE ((off_t)1 << 20) /* byte gap up to which consecutive reads share one posix_fadvise */

/* the layout of one dataset: direct reads possible (*ok) and where its rows lie */
static PetscErrorCode Layout(InvTrainer t, const char path[], hid_t memtype, InvRawLayout *lay, PetscBool *ok)
{
  hid_t dset, ftype, dcpl, space;
  hsize_t dims[3] = {1, 1, 1}, cdims[3] = {1, 1, 1};
  int nd;
  H5D_layout_t layout;
  htri_t same;

  PetscFunctionBegin;
  *ok = PETSC_FALSE;
  PetscCallHDF5Return(dset, H5Dopen2(t->file, path, H5P_DEFAULT));
  PetscCallHDF5Return(ftype, H5Dget_type(dset));
  PetscCallHDF5Return(same, H5Tequal(ftype, memtype));
  PetscCallHDF5(H5Tclose(ftype));
  PetscCallHDF5Return(space, H5Dget_space(dset));
  PetscCallHDF5Return(nd, H5Sget_simple_extent_ndims(space));
  PetscCallHDF5(H5Sget_simple_extent_dims(space, dims, NULL));
  PetscCallHDF5(H5Sclose(space));
  PetscCallHDF5Return(dcpl, H5Dget_create_plist(dset));
  PetscCallHDF5Return(layout, H5Pget_layout(dcpl));
  lay->rowbytes = H5Tget_size(memtype);
  for (int k = 1; k < nd; k++) lay->rowbytes *= dims[k];
  if (same > 0 && dims[0] > 0 && layout == H5D_CONTIGUOUS) {
    haddr_t a = H5Dget_offset(dset);
    if (a != HADDR_UNDEF) {
      lay->crows = (PetscInt64)dims[0];
      PetscCall(PetscMalloc1(1, &lay->addr));
      lay->addr[0] = (PetscInt64)a;
      *ok = PETSC_TRUE;
    }
  } else if (same > 0 && dims[0] > 0 && layout == H5D_CHUNKED && H5Pget_nfilters(dcpl) == 0) {
    PetscBool rows = PETSC_TRUE; /* chunks of whole rows: a chunk is a contiguous block of rows */
    PetscCallHDF5(H5Pget_chunk(dcpl, nd, cdims));
    for (int k = 1; k < nd; k++) rows = (PetscBool)(rows && cdims[k] == dims[k]);
    if (rows) {
      PetscInt64 nch = ((PetscInt64)dims[0] + (PetscInt64)cdims[0] - 1) / (PetscInt64)cdims[0];
      lay->crows = (PetscInt64)cdims[0];
      PetscCall(PetscMalloc1(nch, &lay->addr));
      *ok = PETSC_TRUE;
      for (PetscInt64 c = 0; c < nch && *ok; c++) {
        hsize_t off[3] = {(hsize_t)(c * lay->crows), 0, 0}, size;
        unsigned mask;
        haddr_t a;
        PetscCallHDF5(H5Dget_chunk_info_by_coord(dset, off, &mask, &a, &size));
        if (a == HADDR_UNDEF) *ok = PETSC_FALSE; /* never written: HDF5 would deliver fill values */
        lay->addr[c] = (PetscInt64)a;
      }
    }
  }
  PetscCallHDF5(H5Pclose(dcpl));
  PetscCallHDF5(H5Dclose(dset));
  if (!*ok) PetscCall(PetscFree(lay->addr));
  PetscFunctionReturn(0);
}

/* decide whether the reader thread can read the training set (every rank decides alike) */
PetscErrorCode InvTrainerDirectSetUp(InvTrainer t)
{
  const char *paths[INV_RAW_DATASETS] = {t->path, "/theta", "/noise"};
  hid_t types[INV_RAW_DATASETS] = {InvTrainerSeriesType(t), H5T_NATIVE_DOUBLE, H5T_NATIVE_DOUBLE};
  PetscBool ok = t->prefetch;

  PetscFunctionBegin;
  for (int d = 0; d < InvTrainerRawDatasets(t) && ok; d++) PetscCall(Layout(t, paths[d], types[d], &t->lay[d], &ok));
  if (ok) {
    t->fd = open(t->data_file, O_RDONLY | O_CLOEXEC);
    ok = (PetscBool)(t->fd >= 0);
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPIU_BOOL, MPI_LAND, t->comm));
  t->direct = ok;
  if (!ok) PetscCall(InvTrainerDirectDestroy(t));
  PetscFunctionReturn(0);
}

/* the reads of the n rows listed (sorted by file row) in sidx: rows of one chunk no more than
   INV_READ_GAP_BYTES apart become one read per dataset (preadv: the rows into their places, the unneeded
   rows between them into the discard buffer, so tiny rows such as those of /theta cost few system calls);
   row k of the list lands at row k of raw[d] */
PetscErrorCode InvTrainerDirectQueue(InvTrainer t, PetscInt64 n)
{
  PetscInt64 niov = 0;

  PetscFunctionBegin;
  PetscCheck(n <= t->raw_rows, PETSC_COMM_SELF, PETSC_ERR_PLIB, "Segment of %lld rows over the %lld of the raw buffers", (long long)n,
             (long long)t->raw_rows);
  t->nreq = 0;
  for (int d = 0; d < InvTrainerRawDatasets(t); d++) {
    const InvRawLayout *L = &t->lay[d];
    PetscInt64 prev = -2, maxgap = (PetscInt64)(INV_READ_GAP_BYTES / L->rowbytes);
    for (PetscInt64 k = 0; k < n; k++) {
      PetscInt64 r = t->valid[t->sidx[2 * k]], c = r / L->crows, g = r - prev - 1;
      PetscBool same = (PetscBool)(k > 0 && prev / L->crows == c); /* in the chunk of the previous row */
      char *dst = t->raw[d] + (size_t)k * L->rowbytes;
      InvReadReq *q = k > 0 ? &t->req[t->nreq - 1] : NULL;
      if (same && g == 0) /* the next file row: the last buffer grows (the raw rows are consecutive too) */
        t->iov[niov - 1].iov_len += L->rowbytes;
      else if (same && g <= maxgap && q->niov + 2 <= IOV_MAX) { /* read through the gap */
        t->iov[niov].iov_base = t->gap;
        t->iov[niov++].iov_len = (size_t)g * L->rowbytes;
        t->iov[niov].iov_base = dst;
        t->iov[niov++].iov_len = L->rowbytes;
        q->niov += 2;
      } else {
        q = &t->req[t->nreq++];
        q->off = (off_t)(L->addr[c] + (r - c * L->crows) * (PetscInt64)L->rowbytes);
        q->i0 = niov;
        q->niov = 1;
        t->iov[niov].iov_base = dst;
        t->iov[niov++].iov_len = L->rowbytes;
      }
      prev = r;
    }
  }
  PetscFunctionReturn(0);
}

/* the queued reads (runs in the reader thread, or in the main thread for a synchronous segment) */
static void *Reader(void *ctx)
{
  InvTrainer t = (InvTrainer)ctx;

  t->rerr = 0;
  for (PetscInt64 i = 0; i < t->nreq && !t->rerr; i++) {
    const InvReadReq *q = &t->req[i];
    struct iovec *iov = t->iov + q->i0;
    int n = q->niov;
    off_t off = q->off;
    while (n > 0) { /* a short read leaves the rest of the buffers to the next call */
      ssize_t got = preadv(t->fd, iov, n, off);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        t->rerr = got < 0 ? errno : EIO; /* 0: the file ends before the row (truncated) */
        break;
      }
      off += (off_t)got;
      for (; n > 0 && (size_t)got >= iov->iov_len; iov++, n--) got -= (ssize_t)iov->iov_len;
      if (n > 0) {
        iov->iov_base = (char *)iov->iov_base + got;
        iov->iov_len -= (size_t)got;
      }
    }
  }
  return NULL;
}

static PetscErrorCode CheckRead(InvTrainer t)
{
  PetscFunctionBegin;
  PetscCheck(!t->rerr, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "Reading the rows of %s: %s (is the file truncated or being rewritten?)",
             t->data_file, strerror(t->rerr));
  PetscFunctionReturn(0);
}

PetscErrorCode InvTrainerDirectRead(InvTrainer t)
{
  PetscFunctionBegin;
  (void)Reader(t);
  PetscCall(CheckRead(t));
  PetscFunctionReturn(0);
}

static size_t ReqBytes(InvTrainer t, const InvReadReq *q)
{
  size_t len = 0;
  for (int k = 0; k < q->niov; k++) len += t->iov[q->i0 + k].iov_len;
  return len;
}

/* -train_stream_readahead: the queued reads' byte ranges to the kernel's read-ahead, merged over small gaps */
static PetscErrorCode ReadAhead(InvTrainer t)
{
  PetscFunctionBegin;
  for (PetscInt64 i = 0, j; i < t->nreq; i = j) {
    off_t a = t->req[i].off, b = a + (off_t)ReqBytes(t, &t->req[i]);
    int rc;
    for (j = i + 1; j < t->nreq && t->req[j].off >= b && t->req[j].off - b <= INV_READAHEAD_MERGE; j++)
      b = t->req[j].off + (off_t)ReqBytes(t, &t->req[j]);
    rc = posix_fadvise(t->fd, a, b - a, POSIX_FADV_WILLNEED);
    PetscCheck(!rc, PETSC_COMM_SELF, PETSC_ERR_SYS, "posix_fadvise on %s: %s", t->data_file, strerror(rc));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvTrainerDirectStart(InvTrainer t)
{
  int rc;

  PetscFunctionBegin;
  if (t->readahead) {
    PetscCall(ReadAhead(t));
    t->deferred = PETSC_TRUE;
    t->inflight = PETSC_TRUE;
    PetscFunctionReturn(0);
  }
  rc = pthread_create(&t->reader, NULL, Reader, t);
  PetscCheck(!rc, PETSC_COMM_SELF, PETSC_ERR_SYS, "Cannot start the reader thread: %s", strerror(rc));
  t->inflight = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* wait for the reader thread (if one runs), or do the deferred reads, and check them */
PetscErrorCode InvTrainerDirectJoin(InvTrainer t)
{
  int rc;

  PetscFunctionBegin;
  if (!t->inflight) PetscFunctionReturn(0);
  if (t->deferred) {
    t->deferred = t->inflight = PETSC_FALSE;
    PetscCall(InvTrainerDirectRead(t));
    PetscFunctionReturn(0);
  }
  rc = pthread_join(t->reader, NULL);
  t->inflight = PETSC_FALSE;
  PetscCheck(!rc, PETSC_COMM_SELF, PETSC_ERR_SYS, "Cannot join the reader thread: %s", strerror(rc));
  PetscCall(CheckRead(t));
  PetscFunctionReturn(0);
}

PetscErrorCode InvTrainerDirectDestroy(InvTrainer t)
{
  PetscFunctionBegin;
  if (t->inflight && !t->deferred) (void)pthread_join(t->reader, NULL); /* an interrupted run: the reads are not needed */
  t->inflight = t->deferred = PETSC_FALSE;
  if (t->fd >= 0) PetscCheck(!close(t->fd), PETSC_COMM_SELF, PETSC_ERR_SYS, "Closing %s: %s", t->data_file, strerror(errno));
  t->fd = -1;
  for (int d = 0; d < INV_RAW_DATASETS; d++) {
    PetscCall(PetscFree(t->lay[d].addr));
    PetscCall(PetscFree(t->raw[d]));
  }
  PetscCall(PetscFree(t->req));
  PetscCall(PetscFree(t->iov));
  PetscCall(PetscFree(t->gap));
  PetscFunctionReturn(0);
}
