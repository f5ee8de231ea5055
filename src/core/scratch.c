/* Scratch directories (e.g. the second-order adjoint's trajectory files in /dev/shm): registered while
   in use, so that a run that stops on an error removes them instead of leaving them behind. A killed
   run (SIGKILL, OOM killer) cannot clean up, so the directory names carry an owner tag
   <host>-<pid>-<process start time>, and InvScratchRemoveStale removes the directories whose owner
   process on this host no longer exists (kill(pid, 0) fails, or the pid now belongs to a process with
   another start time); directories of live processes and of other hosts are never touched. */
#include <invmap/sys.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define INV_HOST_MAX 256

#define INV_MAX_SCRATCH 16
static char inv_scratch[INV_MAX_SCRATCH][PETSC_MAX_PATH_LEN];

PetscErrorCode InvScratchRegister(const char dir[])
{
  PetscFunctionBegin;
  for (int i = 0; i < INV_MAX_SCRATCH; i++)
    if (!inv_scratch[i][0]) {
      PetscCall(PetscStrncpy(inv_scratch[i], dir, sizeof(inv_scratch[i])));
      PetscFunctionReturn(0);
    }
  SETERRQ(PETSC_COMM_SELF, PETSC_ERR_MEM, "More than %d scratch directories in use (registering %s)", INV_MAX_SCRATCH, dir);
}

/* Remove the directory (if it exists) and forget it */
PetscErrorCode InvScratchRemove(const char dir[])
{
  PetscBool exists, same;

  PetscFunctionBegin;
  PetscCall(PetscTestDirectory(dir, 'r', &exists));
  if (exists) PetscCall(PetscRMTree(dir));
  for (int i = 0; i < INV_MAX_SCRATCH; i++) {
    PetscCall(PetscStrcmp(inv_scratch[i], dir, &same));
    if (inv_scratch[i][0] && same) inv_scratch[i][0] = 0;
  }
  PetscFunctionReturn(0);
}

/* After an error: remove whatever is still registered, ignoring further failures */
void InvScratchRemoveAll(void)
{
  for (int i = 0; i < INV_MAX_SCRATCH; i++)
    if (inv_scratch[i][0]) {
      PetscBool exists = PETSC_FALSE;
      if (!PetscTestDirectory(inv_scratch[i], 'r', &exists) && exists) (void)PetscRMTree(inv_scratch[i]);
      inv_scratch[i][0] = 0;
    }
}

/* Start time of a process (clock ticks after boot, field 22 of /proc/<pid>/stat); 0 where unknown */
static unsigned long long InvProcStartTime(long pid)
{
  char path[64], buf[1024], *p;
  unsigned long long start = 0;
  size_t n;
  FILE *f;

  (void)snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
  if (!(f = fopen(path, "r"))) return 0;
  n = fread(buf, 1, sizeof(buf) - 1, f);
  (void)fclose(f);
  buf[n] = 0;
  if (!(p = strrchr(buf, ')'))) return 0; /* the command name may hold spaces and parentheses */
  /* after ") ": state (field 3) ... starttime (field 22) */
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &start) != 1) return 0;
  return start;
}

PetscErrorCode InvScratchOwnerTag(char tag[], size_t len)
{
  char host[INV_HOST_MAX];

  PetscFunctionBegin;
  PetscCall(PetscGetHostName(host, sizeof(host)));
  PetscCall(PetscSNPrintf(tag, len, "%s-%ld-%llu", host, (long)getpid(), InvProcStartTime((long)getpid())));
  PetscFunctionReturn(0);
}

/* name = <prefix><host>-<pid>-<start>-<n>: is its owner a dead process of this host? */
static PetscBool InvScratchOwnerDead(const char name[], const char prefix[], const char host[])
{
  const char *rest = name + strlen(prefix), *dash[3] = {NULL, NULL, NULL};
  long pid;
  unsigned long long start;
  int k = 0;

  for (const char *c = rest + strlen(rest); c > rest && k < 3; c--) /* the last three '-' (host names may hold '-') */
    if (c[-1] == '-') dash[k++] = c - 1;
  if (k < 3) return PETSC_FALSE;                                                                         /* not our naming: leave it */
  if ((size_t)(dash[2] - rest) != strlen(host) || strncmp(rest, host, strlen(host))) return PETSC_FALSE; /* another host */
  if (sscanf(dash[2] + 1, "%ld-%llu-", &pid, &start) != 2 || pid <= 0) return PETSC_FALSE;
  if (kill((pid_t)pid, 0) != 0) return errno == ESRCH ? PETSC_TRUE : PETSC_FALSE; /* EPERM: alive, another user's */
  return (start && InvProcStartTime(pid) != start) ? PETSC_TRUE : PETSC_FALSE;    /* the pid was reused */
}

PetscErrorCode InvScratchRemoveStale(const char base[], const char prefix[], PetscInt *nremoved)
{
  char host[INV_HOST_MAX], path[PETSC_MAX_PATH_LEN];
  struct dirent *e;
  DIR *d;

  PetscFunctionBegin;
  if (nremoved) *nremoved = 0;
  PetscCall(PetscGetHostName(host, sizeof(host)));
  if (!(d = opendir(base))) PetscFunctionReturn(0);
  while ((e = readdir(d))) {
    PetscBool isdir;
    if (strncmp(e->d_name, prefix, strlen(prefix)) || !InvScratchOwnerDead(e->d_name, prefix, host)) continue;
    PetscCall(PetscSNPrintf(path, sizeof(path), "%s/%s", base, e->d_name));
    PetscCall(PetscTestDirectory(path, 'r', &isdir));
    if (!isdir) continue;
    PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL)); /* quietly: another run may be removing it too */
    if (!PetscRMTree(path) && nremoved) (*nremoved)++;
    PetscCall(PetscPopErrorHandler());
  }
  (void)closedir(d);
  PetscFunctionReturn(0);
}
