/* CSV tables (see include/invmap/csv.h). */
#include <invmap/csv.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

static char *InvTrim(char *s)
{
  char *e;
  while (*s && isspace((unsigned char)*s)) s++;
  e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
  if (e - s >= 2 && s[0] == '"' && e[-1] == '"') { /* quoted header names */
    e[-1] = 0;
    s++;
  }
  return s;
}

/* Split a line in place on commas; returns the number of fields. */
static int InvSplit(char *line, char **fields, int maxf)
{
  int n = 0;
  char *p = line;
  while (n < maxf) {
    char *c = strchr(p, ',');
    fields[n++] = p;
    if (!c) break;
    *c = 0;
    p = c + 1;
  }
  return n;
}

/* Parse on rank 0; on error fill msg. */
static void InvTableParse(const char fname[], PetscBool header, InvTable *t, char msg[], size_t len)
{
  FILE *fp = fopen(fname, "r");
  char *line = NULL, *fields[4096];
  size_t cap = 0, rowcap = 0;
  long lineno = 0;
  int ncols = -1;

  msg[0] = 0;
  if (!fp) {
    snprintf(msg, len, "Cannot open CSV file %s: %s", fname, strerror(errno));
    return;
  }
  while (getline(&line, &cap, fp) >= 0) {
    char *s = InvTrim(line);
    int nf;
    lineno++;
    if (!*s || s[0] == '#') continue;
    nf = InvSplit(s, fields, 4096);
    if (ncols < 0) {
      ncols = nf;
      t->ncols = nf;
      if (header) {
        t->names = (char **)calloc((size_t)nf, sizeof(char *));
        for (int j = 0; j < nf; j++) {
          char *name = InvTrim(fields[j]);
          char *end;
          (void)strtod(name, &end);
          if (!*name || (end != name && *InvTrim(end) == 0)) {
            snprintf(msg, len, "%s line %ld: expected a header of column names, found '%s' in column %d", fname, lineno, name, j + 1);
            goto done;
          }
          t->names[j] = strdup(name);
        }
        continue;
      }
    }
    if (nf != ncols) {
      snprintf(msg, len, "%s line %ld: %d columns, expected %d", fname, lineno, nf, ncols);
      goto done;
    }
    if ((size_t)t->nrows >= rowcap) {
      rowcap = rowcap ? 2 * rowcap : 1024;
      t->data = (PetscReal *)realloc(t->data, rowcap * (size_t)ncols * sizeof(PetscReal));
    }
    for (int j = 0; j < nf; j++) {
      char *cell = InvTrim(fields[j]), *end;
      double v;
      errno = 0;
      v = strtod(cell, &end);
      if (!*cell || end == cell || *InvTrim(end) != 0) {
        snprintf(msg, len, "%s line %ld column %d%s%s: '%s' is not a number", fname, lineno, j + 1, t->names ? " " : "",
                 t->names ? t->names[j] : "", cell);
        goto done;
      }
      /* NaN and Inf are stored as such: callers check the columns they use. */
      t->data[(size_t)t->nrows * ncols + j] = v;
    }
    t->nrows++;
  }
  if (ncols < 0)
    snprintf(msg, len, "CSV file %s is empty", fname);
  else if (t->nrows == 0)
    snprintf(msg, len, "CSV file %s has no data rows", fname);
done:
  free(line);
  fclose(fp);
}

PetscErrorCode InvTableReadCSV(MPI_Comm comm, const char fname[], PetscBool header, InvTable *t)
{
  PetscMPIInt rank;
  char msg[1024];
  PetscInt dims[2];

  PetscFunctionBegin;
  PetscCall(PetscMemzero(t, sizeof(*t)));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) InvTableParse(fname, header, t, msg, sizeof(msg));
  PetscCallMPI(MPI_Bcast(msg, sizeof(msg), MPI_CHAR, 0, comm));
  if (msg[0]) {
    if (rank == 0) {
      InvTable tmp = *t;
      if (tmp.names)
        for (PetscInt j = 0; j < tmp.ncols; j++) free(tmp.names[j]);
      free(tmp.names);
      free(tmp.data);
    }
    SETERRQ(comm, PETSC_ERR_FILE_UNEXPECTED, "%s", msg);
  }
  /* Move rank 0's malloc'd data into PETSc memory on every rank. */
  dims[0] = t->nrows;
  dims[1] = t->ncols;
  PetscCallMPI(MPI_Bcast(dims, 2, MPIU_INT, 0, comm));
  {
    PetscReal *data;
    char **names = NULL;
    PetscCall(PetscMalloc1(dims[0] * dims[1], &data));
    if (rank == 0) PetscCall(PetscArraycpy(data, t->data, dims[0] * dims[1]));
    PetscCallMPI(MPI_Bcast(data, (PetscMPIInt)(dims[0] * dims[1]), MPIU_REAL, 0, comm));
    if (header) {
      PetscCall(PetscCalloc1(dims[1], &names));
      for (PetscInt j = 0; j < dims[1]; j++) {
        char buf[256] = "";
        if (rank == 0) PetscCall(PetscStrncpy(buf, t->names[j], sizeof(buf)));
        PetscCallMPI(MPI_Bcast(buf, sizeof(buf), MPI_CHAR, 0, comm));
        PetscCall(PetscStrallocpy(buf, &names[j]));
      }
    }
    if (rank == 0) {
      if (t->names)
        for (PetscInt j = 0; j < t->ncols; j++) free(t->names[j]);
      free(t->names);
      free(t->data);
    }
    t->nrows = dims[0];
    t->ncols = dims[1];
    t->data = data;
    t->names = names;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvTableColumn(InvTable *t, const char name[], PetscInt *col)
{
  PetscBool match;

  PetscFunctionBegin;
  *col = -1;
  if (!t->names) PetscFunctionReturn(0);
  for (PetscInt j = 0; j < t->ncols; j++) {
    PetscCall(PetscStrcmp(t->names[j], name, &match));
    if (match) {
      PetscCheck(*col < 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "Column %s appears twice in the CSV header", name);
      *col = j;
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvTableDestroy(InvTable *t)
{
  PetscFunctionBegin;
  if (t->names)
    for (PetscInt j = 0; j < t->ncols; j++) PetscCall(PetscFree(t->names[j]));
  PetscCall(PetscFree(t->names));
  PetscCall(PetscFree(t->data));
  PetscCall(PetscMemzero(t, sizeof(*t)));
  PetscFunctionReturn(0);
}

/* Rank 0 writes "<name>.partial" then renames it: a CSV is complete or absent. */
PetscErrorCode InvWriteCSV(MPI_Comm comm, const char fname[], PetscInt ncols, const char *const names[], PetscInt nrows,
                           const PetscReal data[])
{
  PetscMPIInt rank;
  char partial[PETSC_MAX_PATH_LEN];
  int err = 0;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(InvPartialName(fname, partial, sizeof(partial)));
  if (rank == 0) {
    FILE *fp = fopen(partial, "w");
    if (!fp)
      err = errno;
    else {
      for (PetscInt j = 0; j < ncols; j++) fprintf(fp, "%s%s", j ? "," : "", names[j]);
      fprintf(fp, "\n");
      for (PetscInt i = 0; i < nrows; i++) {
        for (PetscInt j = 0; j < ncols; j++) fprintf(fp, "%s%.17g", j ? "," : "", (double)data[i * ncols + j]);
        fprintf(fp, "\n");
      }
      if (fclose(fp) != 0) err = errno;
      if (err) (void)remove(partial);
    }
  }
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  PetscCheck(!err, comm, PETSC_ERR_FILE_WRITE, "Cannot write %s: %s", fname, strerror(err));
  PetscCall(InvFileCommit(comm, fname));
  PetscFunctionReturn(0);
}
