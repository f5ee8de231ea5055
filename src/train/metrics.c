/* Accuracy metrics of docs/science.md section 4: Median-APE and R^2 per parameter, and the median relative
   2-norm error, over samples distributed on a communicator (medians gathered on rank 0). */
#include <invmap/train.h>
#include <math.h>

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static PetscErrorCode GlobalMedian(MPI_Comm comm, PetscInt n, const double *v, double *med)
{
  PetscMPIInt size, rank, nl = (PetscMPIInt)n, *counts = NULL, *displs = NULL;
  double *all = NULL;
  PetscInt64 total = 0;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (!rank) PetscCall(PetscMalloc2(size, &counts, size, &displs));
  PetscCallMPI(MPI_Gather(&nl, 1, MPI_INT, counts, 1, MPI_INT, 0, comm));
  if (!rank) {
    for (PetscMPIInt r = 0; r < size; r++) displs[r] = (PetscMPIInt)total, total += counts[r];
    PetscCall(PetscMalloc1(total + 1, &all));
  }
  PetscCallMPI(MPI_Gatherv(v, nl, MPI_DOUBLE, all, counts, displs, MPI_DOUBLE, 0, comm));
  if (!rank) {
    qsort(all, (size_t)total, sizeof(double), cmp_double);
    *med = total == 0 ? NAN : (total % 2 ? all[total / 2] : 0.5 * (all[total / 2 - 1] + all[total / 2]));
    PetscCall(PetscFree(all));
    PetscCall(PetscFree2(counts, displs));
  }
  PetscCallMPI(MPI_Bcast(med, 1, MPI_DOUBLE, 0, comm));
  PetscFunctionReturn(0);
}

PetscErrorCode InvMetricsCompute(MPI_Comm comm, PetscInt n, PetscInt p, const double *pred, const double *truth, double *mape, double *r2,
                                 double *mape_norm)
{
  double *e, *s;
  PetscInt64 nl = n, ng;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(n + 1, &e));
  PetscCall(PetscCalloc1(3 * p, &s));
  PetscCallMPI(MPI_Allreduce(&nl, &ng, 1, MPIU_INT64, MPI_SUM, comm));
  for (PetscInt k = 0; k < p; k++) {
    for (PetscInt i = 0; i < n; i++) {
      double t = truth[i * p + k], d = pred[i * p + k] - t;
      e[i] = fabs(d) / fabs(t);
      s[3 * k] += d * d;
      s[3 * k + 1] += t;
      s[3 * k + 2] += t * t;
    }
    PetscCall(GlobalMedian(comm, n, e, &mape[k]));
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, s, (PetscMPIInt)(3 * p), MPI_DOUBLE, MPI_SUM, comm));
  for (PetscInt k = 0; k < p; k++) {
    double mean = s[3 * k + 1] / (double)ng, sst = s[3 * k + 2] - (double)ng * mean * mean;
    r2[k] = 1.0 - s[3 * k] / sst;
  }
  for (PetscInt i = 0; i < n; i++) {
    double dn = 0, tn = 0;
    for (PetscInt k = 0; k < p; k++) {
      double t = truth[i * p + k], d = pred[i * p + k] - t;
      dn += d * d;
      tn += t * t;
    }
    e[i] = sqrt(dn / tn);
  }
  PetscCall(GlobalMedian(comm, n, e, mape_norm));
  PetscCall(PetscFree(e));
  PetscCall(PetscFree(s));
  PetscFunctionReturn(0);
}
