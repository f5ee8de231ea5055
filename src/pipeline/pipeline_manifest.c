/* The manifest DIR/pipeline.tsv: what each stage of the last runs did (status, seconds, options), and
   how the run was made (command, versions, machine). The skip rule reads it: a stage is complete when
   its output exists and the manifest records it done with the same options. Rewritten atomically
   (rank 0) after every stage; read by share/report/report.py. */
#include "pipelineimpl.h"
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static PetscErrorCode ManifestName(InvPipeline p, char name[], size_t len)
{
  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(name, len, "%s/pipeline.tsv", p->dir));
  PetscFunctionReturn(0);
}

/* Every rank reads the (small) manifest; a missing manifest means a fresh directory. */
PetscErrorCode InvPipelineManifestRead(InvPipeline p)
{
  char name[PETSC_MAX_PATH_LEN], *line = NULL;
  size_t cap = 0;
  FILE *f;

  PetscFunctionBegin;
  PetscCall(ManifestName(p, name, sizeof(name)));
  f = fopen(name, "r");
  if (!f) PetscFunctionReturn(0);
  while (getline(&line, &cap, f) > 0) {
    char *save = NULL, *kind, *nm, *cmd, *status, *secs, *out, *opts;
    line[strcspn(line, "\n")] = 0;
    kind = strtok_r(line, "\t", &save);
    if (!kind || strcmp(kind, "stage")) continue;
    nm = strtok_r(NULL, "\t", &save);
    cmd = strtok_r(NULL, "\t", &save);
    status = strtok_r(NULL, "\t", &save);
    secs = strtok_r(NULL, "\t", &save);
    out = strtok_r(NULL, "\t", &save);
    opts = strtok_r(NULL, "\t", &save);
    if (!nm || !cmd || !status || !secs || !out || !opts) continue;
    PetscCall(PetscRealloc(sizeof(InvPipelineRecord) * (p->nrec + 1), &p->rec));
    PetscCall(PetscStrncpy(p->rec[p->nrec].name, nm, sizeof(p->rec[p->nrec].name)));
    PetscCall(PetscStrncpy(p->rec[p->nrec].status, status, sizeof(p->rec[p->nrec].status)));
    p->rec[p->nrec].seconds = atof(secs);
    PetscCall(PetscStrallocpy(opts, &p->rec[p->nrec].opts));
    p->nrec++;
  }
  free(line);
  fclose(f);
  PetscFunctionReturn(0);
}

PetscErrorCode InvPipelineManifestWrite(InvPipeline p)
{
  char name[PETSC_MAX_PATH_LEN], tmp[PETSC_MAX_PATH_LEN + 8];
  PetscMPIInt rank;
  int err = 0;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(p->comm, &rank));
  PetscCall(ManifestName(p, name, sizeof(name)));
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", name));
  if (rank == 0) {
    FILE *f = fopen(tmp, "w");
    if (!f)
      err = errno;
    else {
      fprintf(f, "# invmap pipeline manifest. meta lines: key, value. stage lines: name, command, status, seconds, output, options\n");
      if (p->meta) fputs(p->meta, f);
      for (PetscInt s = 0; s < p->nstages; s++) {
        InvPipelineStage *st = &p->stage[s];
        fprintf(f, "stage\t%s\t%s\t%s\t%.3f\t%s\t%s\n", st->name, st->cmd, st->status, st->seconds, st->out, st->opts ? st->opts : "-");
      }
      if (fclose(f) != 0) err = errno;
      if (!err && rename(tmp, name) != 0) err = errno;
    }
  }
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, p->comm));
  PetscCheck(!err, p->comm, PETSC_ERR_FILE_WRITE, "Cannot write the pipeline manifest %s: %s", name, strerror(err));
  PetscFunctionReturn(0);
}
