/* Unknown options: an option that nothing reads is a typo until shown otherwise. The options a command
   knows are what its set-up reads (PETSc's "used" flags) plus what its -help lists, collected by running
   the command's option reading once more in help mode with PETSc's help output captured. PETSc's own
   process-wide options (-log_view, -malloc_*, ...) always pass; -invmap_allow_unused turns the error
   into a warning. */
#include <invmap/sys.h>
#include <ctype.h>
#include <stdarg.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>

#define INV_SUGGEST_MAX_DIST 3 /* edit distance beyond which a known option is no suggestion */

/* PETSc options read by PetscInitialize/PetscFinalize or by no object (prefixes of their names). */
static const char *const petsc_global[] = {"help",
                                           "version",
                                           "log",
                                           "malloc",
                                           "options_",
                                           "info",
                                           "on_error_",
                                           "objects_dump",
                                           "memory_view",
                                           "history",
                                           "viewer_",
                                           "saws",
                                           "mpi_",
                                           "petsc",
                                           "check_pointer_intensity",
                                           "checkstack",
                                           "fp_trap",
                                           "no_signal_handler",
                                           "debugger",
                                           "start_in_debugger",
                                           "stop_for_debugger",
                                           "display",
                                           "nox",
                                           "skip_petscrc",
                                           "citations",
                                           "error_output_stdout",
                                           "use_gpu_aware_mpi",
                                           "x_virtual",
                                           "invmap_",
                                           "model_list",
                                           "model_plugin", /* every command accepts it, so that one set of options serves all */
                                           "device_",
                                           "cuda_",
                                           "blas_",
                                           "omp_",
                                           "vecscatter_"};

PetscBool InvOptionIsPetscGlobal(const char name[])
{
  if (name[0] == '-') name++;
  for (size_t i = 0; i < sizeof(petsc_global) / sizeof(petsc_global[0]); i++)
    if (!strncasecmp(name, petsc_global[i], strlen(petsc_global[i]))) return PETSC_TRUE;
  return PETSC_FALSE;
}

/* help output captured while InvOptionsKnown runs */
static char *capture = NULL;
static size_t capture_len = 0, capture_cap = 0;

static PetscErrorCode CaptureHelp(MPI_Comm comm, const char fmt[], ...)
{
  char buf[4096];
  va_list ap;
  int len;

  (void)comm;
  va_start(ap, fmt);
  len = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (len < 0) return 0;
  if ((size_t)len >= sizeof(buf)) len = sizeof(buf) - 1;
  if (capture_len + len + 1 > capture_cap) {
    size_t cap = 2 * (capture_len + len + 1);
    char *c = (char *)realloc(capture, cap);
    if (!c) return PETSC_ERR_MEM;
    capture = c;
    capture_cap = cap;
  }
  memcpy(capture + capture_len, buf, len + 1);
  capture_len += len;
  return 0;
}

/* PETSc prints some help lines (the types of -*_type options) with PetscPrintf, which ends in PetscVFPrintf */
static PetscErrorCode CaptureVFPrintf(FILE *f, const char fmt[], va_list ap)
{
  char buf[4096];
  int len;

  (void)f;
  len = vsnprintf(buf, sizeof(buf), fmt, ap);
  if (len < 0) return 0;
  return CaptureHelp(MPI_COMM_SELF, "%s", buf);
}

static PetscErrorCode NamesAdd(InvOptionNames *k, const char name[], size_t len)
{
  PetscFunctionBegin;
  for (PetscInt i = 0; i < k->n; i++)
    if (strlen(k->name[i]) == len && !strncasecmp(k->name[i], name, len)) PetscFunctionReturn(0);
  if (k->n == k->cap) {
    k->cap = 2 * k->cap + 64;
    PetscCall(PetscRealloc(sizeof(char *) * k->cap, &k->name));
  }
  PetscCall(PetscMalloc1(len + 1, &k->name[k->n]));
  memcpy(k->name[k->n], name, len);
  k->name[k->n][len] = 0;
  k->n++;
  PetscFunctionReturn(0);
}

PetscErrorCode InvOptionNamesDestroy(InvOptionNames *k)
{
  PetscFunctionBegin;
  for (PetscInt i = 0; i < k->n; i++) PetscCall(PetscFree(k->name[i]));
  PetscCall(PetscFree(k->name));
  k->n = k->cap = 0;
  PetscFunctionReturn(0);
}

PetscBool InvOptionNamesHas(const InvOptionNames *k, const char name[])
{
  if (name[0] == '-') name++;
  for (PetscInt i = 0; i < k->n; i++)
    if (!strcasecmp(k->name[i] + 1, name)) return PETSC_TRUE;
  return PETSC_FALSE;
}

/* Runs fn (which creates the command's objects, reads their options and destroys them) on a copy of the
   options db (NULL: the current default database) with -help set and PETSc's help output captured. Known:
   every option the help lists and every option fn read. */
PetscErrorCode InvOptionsKnown(PetscOptions db, PetscErrorCode (*fn)(void *), void *ctx, InvOptionNames *known)
{
  PetscOptions cap;
  PetscOptionsHelpPrinted saved = PetscOptionsHelpPrintedSingleton;
  PetscErrorCode (*savedprintf)(MPI_Comm, const char[], ...) = PetscHelpPrintf;
  PetscErrorCode (*savedvf)(FILE *, const char[], va_list) = PetscVFPrintf;
  char *all;
  PetscInt n;
  char **names, **values;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  known->n = known->cap = 0;
  known->name = NULL;
  PetscCall(PetscOptionsGetAll(db, &all));
  PetscCall(PetscOptionsCreate(&cap));
  PetscCall(PetscOptionsInsertString(cap, all));
  PetscCall(PetscFree(all));
  PetscCall(PetscOptionsSetValue(cap, "-help", NULL));
  PetscCall(PetscOptionsPush(cap));
  /* a fresh record of printed help sections: each section is listed once per record */
  PetscOptionsHelpPrintedSingleton = NULL;
  capture_len = 0;
  PetscHelpPrintf = CaptureHelp;
  PetscVFPrintf = CaptureVFPrintf;
  ierr = fn(ctx);
  PetscHelpPrintf = savedprintf;
  PetscVFPrintf = savedvf;
  if (PetscOptionsHelpPrintedSingleton) PetscCall(PetscOptionsHelpPrintedDestroy(&PetscOptionsHelpPrintedSingleton));
  PetscOptionsHelpPrintedSingleton = saved;
  PetscCall(PetscOptionsPop());
  PetscCall(ierr);
  for (char *line = capture, *end; line && line < capture + capture_len; line = end + 1) {
    char *c = line;
    end = strchr(line, '\n');
    if (!end) end = capture + capture_len;
    while (c < end && *c == ' ') c++;
    if (c + 1 < end && c[0] == '-' && isalpha((unsigned char)c[1])) {
      size_t len = 1;
      while (c + len < end && (isalnum((unsigned char)c[len]) || c[len] == '_')) len++;
      PetscCall(NamesAdd(known, c, len));
    }
  }
  free(capture);
  capture = NULL;
  capture_len = capture_cap = 0;
  /* options fn read, help or not */
  PetscCall(PetscOptionsLeftGet(cap, &n, &names, &values));
  {
    char *s, *save = NULL, *tok;
    PetscInt left;
    PetscCall(PetscOptionsGetAll(cap, &s));
    for (tok = strtok_r(s, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
      if (tok[0] != '-' || !isalpha((unsigned char)tok[1])) continue;
      left = 0;
      for (PetscInt i = 0; i < n; i++)
        if (!strcasecmp(names[i], tok + 1)) left = 1;
      if (!left) PetscCall(NamesAdd(known, tok, strlen(tok)));
    }
    PetscCall(PetscFree(s));
  }
  PetscCall(PetscOptionsLeftRestore(cap, &n, &names, &values));
  PetscCall(PetscOptionsDestroy(&cap));
  PetscFunctionReturn(0);
}

static PetscInt EditDistance(const char *a, const char *b)
{
  size_t la = strlen(a), lb = strlen(b);
  PetscInt row[256], prev, tmp;

  if (lb >= sizeof(row) / sizeof(row[0])) return PETSC_MAX_INT;
  for (size_t j = 0; j <= lb; j++) row[j] = (PetscInt)j;
  for (size_t i = 1; i <= la; i++) {
    prev = row[0];
    row[0] = (PetscInt)i;
    for (size_t j = 1; j <= lb; j++) {
      tmp = row[j];
      row[j] =
          PetscMin(PetscMin(row[j] + 1, row[j - 1] + 1), prev + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1])));
      prev = tmp;
    }
  }
  return row[lb];
}

/* The known options nearest to name (with its dash), as "-a or -b", "" when none is near. */
PetscErrorCode InvOptionsSuggest(const InvOptionNames *known, const char name[], char out[], size_t len)
{
  PetscInt best = PETSC_MAX_INT, maxd = PetscMin(INV_SUGGEST_MAX_DIST, (PetscInt)strlen(name) / 3 + 1), shown = 0;

  PetscFunctionBegin;
  out[0] = 0;
  for (PetscInt i = 0; i < known->n; i++) best = PetscMin(best, EditDistance(name, known->name[i]));
  if (best > maxd) PetscFunctionReturn(0);
  for (PetscInt i = 0; i < known->n && shown < 3; i++)
    if (EditDistance(name, known->name[i]) == best) {
      if (shown) PetscCall(PetscStrlcat(out, " or ", len));
      PetscCall(PetscStrlcat(out, known->name[i], len));
      shown++;
    }
  PetscFunctionReturn(0);
}

/* The first option of db (NULL: the default database) that was not read and that fn does not know; "" if none. */
PetscErrorCode InvOptionsFindUnknown(PetscOptions db, PetscErrorCode (*fn)(void *), void *ctx, char unknown[], size_t len, char suggest[],
                                     size_t slen)
{
  PetscInt n;
  char **names, **values;
  PetscBool any = PETSC_FALSE;
  InvOptionNames known;

  PetscFunctionBegin;
  unknown[0] = suggest[0] = 0;
  PetscCall(PetscOptionsLeftGet(db, &n, &names, &values));
  for (PetscInt i = 0; i < n; i++)
    if (!InvOptionIsPetscGlobal(names[i])) any = PETSC_TRUE;
  PetscCall(PetscOptionsLeftRestore(db, &n, &names, &values));
  if (!any) PetscFunctionReturn(0);
  PetscCall(InvOptionsKnown(db, fn, ctx, &known));
  PetscCall(PetscOptionsLeftGet(db, &n, &names, &values));
  for (PetscInt i = 0; i < n && !unknown[0]; i++) {
    if (InvOptionIsPetscGlobal(names[i]) || InvOptionNamesHas(&known, names[i])) continue;
    PetscCall(PetscSNPrintf(unknown, len, "-%s", names[i]));
  }
  PetscCall(PetscOptionsLeftRestore(db, &n, &names, &values));
  if (unknown[0]) PetscCall(InvOptionsSuggest(&known, unknown, suggest, slen));
  PetscCall(InvOptionNamesDestroy(&known));
  PetscFunctionReturn(0);
}

/* Error (or, with -invmap_allow_unused, warning) for an option of the default database that nothing read. */
PetscErrorCode InvOptionsCheckUnused(MPI_Comm comm, const char what[], PetscErrorCode (*fn)(void *), void *ctx)
{
  char unknown[256], suggest[1024];
  PetscBool allow = PETSC_FALSE;

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-invmap_allow_unused", &allow, NULL));
  PetscCall(InvOptionsFindUnknown(NULL, fn, ctx, unknown, sizeof(unknown), suggest, sizeof(suggest)));
  if (!unknown[0]) PetscFunctionReturn(0);
  if (allow) {
    PetscCall(PetscPrintf(comm, "invmap %s: warning: option %s is not used (-invmap_allow_unused)\n", what, unknown));
    PetscFunctionReturn(0);
  }
  SETERRQ(comm, PETSC_ERR_ARG_WRONG, "Unknown option %s for invmap %s%s%s%s (-invmap_allow_unused accepts it)", unknown, what,
          suggest[0] ? ": did you mean " : "", suggest, suggest[0] ? "?" : "");
}
