/* The experiment's options as a list of (name, value) pairs, and the prefixed selection that becomes a
   stage's own options (-net_cnn_train_epochs 60 -> -train_epochs 60 for stage train_cnn). */
#include "pipelineimpl.h"
#include <ctype.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

static PetscBool IsOptionName(const char *tok)
{
  return (tok[0] == '-' && isalpha((unsigned char)tok[1])) ? PETSC_TRUE : PETSC_FALSE;
}

/* Parses the string of PetscOptionsGetAll (the database as "-name [value] -name [value] ..."). Options
   files were expanded when they were read, so -options_file itself is dropped. Later entries win. */
PetscErrorCode InvOptionListFromDatabase(PetscOptions db, InvOptionList *list)
{
  char *all, *save = NULL, *tok;
  PetscInt cap;

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetAll(db, &all));
  cap = 1;
  for (const char *c = all; *c; c++)
    if (*c == ' ') cap++;
  PetscCall(PetscCalloc2(cap, &list->name, cap, &list->value));
  list->n = 0;
  for (tok = strtok_r(all, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
    if (IsOptionName(tok)) {
      PetscCall(PetscStrallocpy(tok, &list->name[list->n]));
      list->n++;
    } else if (list->n > 0 && !list->value[list->n - 1]) {
      PetscCall(PetscStrallocpy(tok, &list->value[list->n - 1]));
    }
  }
  PetscCall(PetscFree(all));
  /* drop -options_file entries */
  for (PetscInt i = 0; i < list->n; i++) {
    PetscBool of;
    PetscCall(PetscStrcasecmp(list->name[i], "-options_file", &of));
    if (of) {
      PetscCall(PetscFree(list->name[i]));
      PetscCall(PetscFree(list->value[i]));
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode InvOptionListDestroy(InvOptionList *list)
{
  PetscFunctionBegin;
  for (PetscInt i = 0; i < list->n; i++) {
    PetscCall(PetscFree(list->name[i]));
    PetscCall(PetscFree(list->value[i]));
  }
  PetscCall(PetscFree2(list->name, list->value));
  list->n = 0;
  PetscFunctionReturn(0);
}

/* The value of option name ("-pipeline_sets"), "" for a flag without value, NULL when absent. */
PetscErrorCode InvOptionListGet(const InvOptionList *list, const char name[], const char **value)
{
  PetscFunctionBegin;
  *value = NULL;
  for (PetscInt i = 0; i < list->n; i++) {
    PetscBool same;
    if (!list->name[i]) continue;
    PetscCall(PetscStrcasecmp(list->name[i], name, &same));
    if (same) *value = list->value[i] ? list->value[i] : "";
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode StrJoin(char **s, const char add[], PetscBool space)
{
  size_t n = *s ? strlen(*s) : 0, m = strlen(add);
  char *t;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(n + m + 2, &t));
  if (n) {
    memcpy(t, *s, n);
    if (space) t[n++] = ' ';
  }
  memcpy(t + n, add, m + 1);
  PetscCall(PetscFree(*s));
  *s = t;
  PetscFunctionReturn(0);
}

/* Appends add to the string *s (allocated or NULL), separated by one space. */
PetscErrorCode InvStrAppend(char **s, const char add[])
{
  PetscFunctionBegin;
  PetscCall(StrJoin(s, add, PETSC_TRUE));
  PetscFunctionReturn(0);
}

/* Appends add to the string *s (allocated or NULL) as it is. */
PetscErrorCode InvStrCat(char **s, const char add[])
{
  PetscFunctionBegin;
  PetscCall(StrJoin(s, add, PETSC_FALSE));
  PetscFunctionReturn(0);
}

PetscErrorCode InvStrAppendf(char **s, const char fmt[], ...)
{
  char buf[4 * PETSC_MAX_PATH_LEN];
  va_list ap;
  int len;

  PetscFunctionBegin;
  va_start(ap, fmt);
  len = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  PetscCheck(len >= 0 && (size_t)len < sizeof(buf), PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "Stage option string too long: %.64s...", buf);
  PetscCall(InvStrAppend(s, buf));
  PetscFunctionReturn(0);
}

/* Appends "-rest value" to *s for every option "-<prefix>rest value" of the experiment, in order. */
PetscErrorCode InvOptionListAppendPrefixed(const InvOptionList *list, const char prefix[], char **s)
{
  size_t plen = strlen(prefix);

  PetscFunctionBegin;
  for (PetscInt i = 0; i < list->n; i++) {
    const char *nm = list->name[i];
    if (!nm || strncasecmp(nm + 1, prefix, plen)) continue;
    PetscCheck(nm[1 + plen], PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "Option %s names no stage option after the prefix -%s", nm, prefix);
    PetscCall(InvStrAppendf(s, "-%s", nm + 1 + plen));
    if (list->value[i]) PetscCall(InvStrAppend(s, list->value[i]));
  }
  PetscFunctionReturn(0);
}
