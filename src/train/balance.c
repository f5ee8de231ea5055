/* Balanced global batches: at the start of every epoch the training samples are redistributed with one
   MPI_Alltoallv so that each rank holds, in order, exactly its contiguous share of every global batch of
   the epoch's permutation (a batch of Bg samples gives rank r the positions [Bg r / P, Bg (r + 1) / P)).
   The set of samples in each global batch does not depend on the number of ranks. */
#include "trainerimpl.h"

/* rank that processes position j of the permutation, and the slot of j in that rank's epoch buffer */
static int Dest(InvTrainer t, PetscInt64 j, PetscInt64 *slot)
{
  PetscInt64 B = t->batch, b = j / B, s = j % B, Bg = PetscMin(B, t->Ntr - b * B);
  int r = 0, P = t->size;

  while (r + 1 < P && Bg * (r + 1) / P <= s) r++;
  *slot = b * (B * (r + 1) / P - B * r / P) + (s - Bg * r / P);
  return r;
}

/* bytes of one row: slot, global index, payload (features, or with -noise_fresh the clean series in the
   file's precision and the noise parameters), targets */
size_t InvTrainerRowBytes(InvTrainer t)
{
  size_t payload =
      t->noise_fresh ? (size_t)t->esize * (size_t)(t->n_obs * t->n_ch) + 2 * sizeof(double) : sizeof(float) * (size_t)t->map->feat->size;
  return 2 * sizeof(PetscInt64) + payload + sizeof(float) * (size_t)t->nty;
}

PetscErrorCode InvTrainerEpochCount(InvTrainer t, PetscInt64 *n)
{
  PetscInt64 B = t->batch, full = t->Ntr / B, Bl = t->Ntr - full * B;

  PetscFunctionBegin;
  *n = full * (B * (t->rank + 1) / t->size - B * t->rank / t->size) + (Bl * (t->rank + 1) / t->size - Bl * t->rank / t->size);
  PetscFunctionReturn(0);
}

PetscErrorCode InvTrainerRedistribute(InvTrainer t)
{
  size_t rb = InvTrainerRowBytes(t), off;
  PetscInt64 nl = t->tr1 - t->tr0, nrecv = 0;
  PetscMPIInt *sc, *sd, *rc, *rd, P = t->size;
  char *sbuf, *rbuf;
  MPI_Datatype row;
  InvFeat f = t->map->feat;
  size_t useries = (size_t)t->esize * (size_t)(t->n_obs * t->n_ch);

  PetscFunctionBegin;
  for (PetscInt64 j = 0; j < t->Ntr; j++) t->ipos[t->perm[j]] = j;
  PetscCall(PetscCalloc4(P, &sc, P, &sd, P, &rc, P, &rd));
  for (PetscInt64 i = 0; i < nl; i++) {
    PetscInt64 slot;
    sc[Dest(t, t->ipos[t->tr0 + i], &slot)]++;
  }
  for (int r = 1; r < P; r++) sd[r] = sd[r - 1] + sc[r - 1];
  PetscCall(PetscMalloc1(rb * (size_t)nl + 1, &sbuf));
  InvTrainerTrack(t, (double)rb * (double)nl);
  {
    PetscMPIInt *fill;
    PetscCall(PetscCalloc1(P, &fill));
    for (PetscInt64 i = 0; i < nl; i++) {
      PetscInt64 g = t->tr0 + i, slot;
      int d = Dest(t, t->ipos[g], &slot);
      char *p = sbuf + rb * (size_t)(sd[d] + fill[d]++);
      memcpy(p, &slot, sizeof(slot));
      memcpy(p + sizeof(slot), &g, sizeof(g));
      off = 2 * sizeof(PetscInt64);
      if (t->noise_fresh) {
        memcpy(p + off, t->Utr + (size_t)i * useries, useries);
        off += useries;
        memcpy(p + off, t->noise_par + 2 * i, 2 * sizeof(double));
        off += 2 * sizeof(double);
      } else {
        memcpy(p + off, t->Xtr + i * f->size, sizeof(float) * f->size);
        off += sizeof(float) * f->size;
      }
      memcpy(p + off, t->Ytr + i * t->nty, sizeof(float) * t->nty);
    }
    PetscCall(PetscFree(fill));
  }
  PetscCallMPI(MPI_Alltoall(sc, 1, MPI_INT, rc, 1, MPI_INT, t->comm));
  for (int r = 0; r < P; r++) rd[r] = (PetscMPIInt)nrecv, nrecv += rc[r];
  PetscCheck(nrecv == t->nepoch, PETSC_COMM_SELF, PETSC_ERR_PLIB, "Redistribution: received %lld samples, expected %lld", (long long)nrecv,
             (long long)t->nepoch);
  PetscCall(PetscMalloc1(rb * (size_t)nrecv + 1, &rbuf));
  InvTrainerTrack(t, (double)rb * (double)nrecv);
  PetscCallMPI(MPI_Type_contiguous((int)rb, MPI_BYTE, &row));
  PetscCallMPI(MPI_Type_commit(&row));
  PetscCallMPI(MPI_Alltoallv(sbuf, sc, sd, row, rbuf, rc, rd, row, t->comm));
  PetscCallMPI(MPI_Type_free(&row));
  for (PetscInt64 k = 0; k < nrecv; k++) {
    PetscInt64 slot;
    memcpy(&slot, rbuf + rb * (size_t)k, sizeof(slot));
    PetscCheck(slot >= 0 && slot < t->nepoch, PETSC_COMM_SELF, PETSC_ERR_PLIB, "Redistribution: bad slot");
    memcpy(t->ebuf + rb * (size_t)slot, rbuf + rb * (size_t)k, rb);
  }
  PetscCall(PetscFree(sbuf));
  PetscCall(PetscFree(rbuf));
  InvTrainerTrack(t, -(double)rb * (double)(nl + nrecv));
  PetscCall(PetscFree4(sc, sd, rc, rd));
  PetscFunctionReturn(0);
}

/* idx, Xb, Yb <- slots [slot0, slot0 + n) of the epoch buffer (fresh noise drawn here with -noise_fresh) */
PetscErrorCode InvTrainerEpochBatch(InvTrainer t, PetscInt64 slot0, int n, PetscInt epoch)
{
  size_t rb = InvTrainerRowBytes(t);
  InvFeat f = t->map->feat;
  PetscInt per = t->n_obs * t->n_ch;

  PetscFunctionBegin;
  for (int i = 0; i < n; i++) {
    const char *p = t->ebuf + rb * (size_t)(slot0 + i);
    size_t off = 2 * sizeof(PetscInt64);
    memcpy(&t->idx[i], p + sizeof(PetscInt64), sizeof(PetscInt64));
    if (t->noise_fresh) {
      double np[2];
      InvTrainerSeriesToDouble(t, p + off, t->ubuf);
      off += (size_t)t->esize * (size_t)per;
      memcpy(np, p + off, sizeof(np));
      off += sizeof(np);
      PetscCall(InvNoiseApply(t->noise, t->seed, t->idx[i], epoch + 1, np[0], np[1], per, t->ubuf, t->dbuf));
      PetscCall(InvFeatTransform(f, t->dbuf, t->Xb + (size_t)i * f->size));
      PetscCall(InvFeatNormalizeInput(f, 1, t->Xb + (size_t)i * f->size));
    } else {
      memcpy(t->Xb + (size_t)i * f->size, p + off, sizeof(float) * f->size);
      off += sizeof(float) * f->size;
    }
    memcpy(t->Yb + (size_t)i * t->nty, p + off, sizeof(float) * t->nty);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvTrainerEpochSetUp(InvTrainer t)
{
  PetscFunctionBegin;
  PetscCall(InvTrainerEpochCount(t, &t->nepoch));
  if (t->stream) PetscFunctionReturn(0); /* stream.c allocates its buffers at the first epoch */
  PetscCall(PetscMalloc1(InvTrainerRowBytes(t) * (size_t)t->nepoch + 1, &t->ebuf));
  InvTrainerTrack(t, (double)InvTrainerRowBytes(t) * (double)t->nepoch);
  PetscCall(PetscMalloc2(t->Ntr, &t->perm, t->Ntr, &t->ipos));
  PetscFunctionReturn(0);
}
