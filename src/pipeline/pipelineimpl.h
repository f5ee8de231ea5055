/* Private state of InvPipeline: the plan (stages in run order with their options and dependencies) and the
   manifest of what earlier runs of the same pipeline directory completed. */
#pragma once
#include <invmap/pipeline.h>

#define INV_PIPE_MAX_STAGES 256
#define INV_PIPE_NAME_LEN   64
#define INV_PIPE_LIST_LEN   4096
#define INV_PIPE_MAX_DEPS   64

typedef struct {
  char name[INV_PIPE_NAME_LEN];     /* e.g. simulate_train, train_cnn, predict_cnn_noisy */
  char cmd[16];                     /* invmap command, or "report" */
  char *opts;                       /* the stage's options, one string "-key value ..." */
  char out[PETSC_MAX_PATH_LEN];     /* the file (or directory, for the report) whose existence marks completion */
  char out2[PETSC_MAX_PATH_LEN];    /* another output it writes (evaluate's CSV, the report directory), or "" */
  char prefixes[INV_PIPE_LIST_LEN]; /* the experiment's option prefixes that made its options, comma-separated */
  PetscInt deps[INV_PIPE_MAX_DEPS]; /* stages whose outputs this stage reads */
  PetscInt ndeps;
  PetscBool ran;   /* ran in this invocation: dependants run again too */
  char status[16]; /* done, reused, interrupted, failed, planned */
  double seconds;
} InvPipelineStage;

typedef struct {
  char name[INV_PIPE_NAME_LEN];
  char status[16];
  double seconds;
  char *opts;
} InvPipelineRecord;

/* The experiment's options as (name, value) pairs, names with their leading dash. */
typedef struct {
  PetscInt n;
  char **name, **value;
} InvOptionList;

struct _p_InvPipeline {
  MPI_Comm comm;
  InvPipelineCommandFn runcmd;
  InvPipelineOptionsFn knownfn;
  char name[INV_PIPE_NAME_LEN];
  char dir[PETSC_MAX_PATH_LEN];
  char share[PETSC_MAX_PATH_LEN];
  char python[PETSC_MAX_PATH_LEN];
  char sets[INV_PIPE_LIST_LEN], nets[INV_PIPE_LIST_LEN], views[INV_PIPE_LIST_LEN], mapruns[INV_PIPE_LIST_LEN];
  char laplace[2][INV_PIPE_LIST_LEN]; /* -pipeline_laplace_clean, -pipeline_laplace_noisy: nets trained on Laplace targets */
  char trainset[INV_PIPE_NAME_LEN], testset[INV_PIPE_NAME_LEN], mapview[INV_PIPE_NAME_LEN];
  char mapsets[INV_PIPE_LIST_LEN];        /* data sets of the MAP runs and their comparison ("": the test set) */
  char defaults_file[PETSC_MAX_PATH_LEN]; /* the default experiment merged under the user's options, or "" */
  PetscInt map_n;
  PetscBool report, dry_run, figures;
  PetscBool allow_unused;                  /* -invmap_allow_unused: unknown options are warned about, not refused */
  char test_wait_stage[INV_PIPE_NAME_LEN]; /* -invmap_test_wait_signal_stage: this stage's first safe point waits for a signal */
  PetscInt landscape_row;
  InvOptionList exp; /* the experiment: default file (if merged) overridden by the user's options */
  InvPipelineStage stage[INV_PIPE_MAX_STAGES];
  PetscInt nstages;
  InvPipelineRecord *rec; /* manifest of earlier runs */
  PetscInt nrec;
  double started;
  char *meta; /* manifest lines describing this run: command, versions, machine */
  PetscBool setup;
};

PETSC_INTERN PetscErrorCode InvOptionListFromDatabase(PetscOptions, InvOptionList *);
PETSC_INTERN PetscErrorCode InvOptionListDestroy(InvOptionList *);
PETSC_INTERN PetscErrorCode InvOptionListGet(const InvOptionList *, const char[], const char **);
PETSC_INTERN PetscErrorCode InvOptionListAppendPrefixed(const InvOptionList *, const char[], char **);
PETSC_INTERN PetscErrorCode InvStrAppend(char **, const char[]);
PETSC_INTERN PetscErrorCode InvStrCat(char **, const char[]);
PETSC_INTERN PetscErrorCode InvStrAppendf(char **, const char[], ...) PETSC_ATTRIBUTE_FORMAT(2, 3);

PETSC_INTERN PetscErrorCode InvPipelineBuildPlan(InvPipeline);
PETSC_INTERN PetscErrorCode InvPipelineManifestRead(InvPipeline);
PETSC_INTERN PetscErrorCode InvPipelineCheckPlan(InvPipeline);
/* A stage's own options database: its experiment options, then the pipeline's additions (extra, may be "") */
PETSC_INTERN PetscErrorCode InvPipelineStageDatabase(const InvPipelineStage *, const char extra[], PetscOptions *);
PETSC_INTERN InvPipelineRecord *InvPipelineFindRecord(InvPipeline, const char[]);
PETSC_INTERN PetscErrorCode InvPipelineManifestWrite(InvPipeline);
PETSC_INTERN PetscErrorCode InvPipelineRunReport(InvPipeline, InvPipelineStage *, PetscBool *);
PETSC_INTERN PetscErrorCode InvPipelineDescribeRun(InvPipeline);
