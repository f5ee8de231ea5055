/* Scratch directories: InvScratchRemove removes one, InvScratchRemoveAll (the driver's error path)
   removes every registered directory with its files and forgets them; InvScratchRemoveStale removes the
   directories of a dead process on this host and keeps those of live processes and of other hosts. */
#include <invmap/sys.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>

static PetscErrorCode MakeDir(const char *dir, PetscBool nested)
{
  char path[PETSC_MAX_PATH_LEN];
  FILE *f;

  PetscFunctionBegin;
  PetscCall(PetscMkdir(dir));
  if (nested) {
    PetscCall(PetscSNPrintf(path, sizeof(path), "%s/sub", dir));
    PetscCall(PetscMkdir(path));
    PetscCall(PetscSNPrintf(path, sizeof(path), "%s/sub/file", dir));
  } else
    PetscCall(PetscSNPrintf(path, sizeof(path), "%s/file", dir));
  f = fopen(path, "w");
  PetscCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot create %s", path);
  fputs("x", f);
  fclose(f);
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  char base[PETSC_MAX_PATH_LEN], a[PETSC_MAX_PATH_LEN], b[PETSC_MAX_PATH_LEN];
  PetscBool exists;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(PetscGetTmp(PETSC_COMM_SELF, base, sizeof(base)));
  PetscCall(PetscSNPrintf(a, sizeof(a), "%s/invmap-test-scratch-a-%d", base, (int)getpid()));
  PetscCall(PetscSNPrintf(b, sizeof(b), "%s/invmap-test-scratch-b-%d", base, (int)getpid()));
  PetscCall(MakeDir(a, PETSC_TRUE));
  PetscCall(MakeDir(b, PETSC_FALSE));
  PetscCall(InvScratchRegister(a));
  PetscCall(InvScratchRegister(b));
  PetscCall(InvScratchRemove(b));
  PetscCall(PetscTestDirectory(b, 'r', &exists));
  PetscCheck(!exists, PETSC_COMM_SELF, PETSC_ERR_PLIB, "InvScratchRemove left %s", b);
  PetscCall(InvScratchRemove(b));     /* already gone: no error */
  PetscCall(MakeDir(b, PETSC_FALSE)); /* no longer registered: RemoveAll must keep it */
  InvScratchRemoveAll();
  PetscCall(PetscTestDirectory(a, 'r', &exists));
  PetscCheck(!exists, PETSC_COMM_SELF, PETSC_ERR_PLIB, "InvScratchRemoveAll left %s", a);
  PetscCall(PetscTestDirectory(b, 'r', &exists));
  PetscCheck(exists, PETSC_COMM_SELF, PETSC_ERR_PLIB, "InvScratchRemoveAll removed the unregistered %s", b);
  { /* stale scratch: a dead owner (a child that has exited and been reaped), a live one (this process), another host */
    char tag[PETSC_MAX_PATH_LEN], host[256], dead[PETSC_MAX_PATH_LEN], live[PETSC_MAX_PATH_LEN], other[PETSC_MAX_PATH_LEN];
    PetscInt nrm;
    pid_t child = fork();
    PetscCheck(child >= 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "fork failed");
    if (!child) _exit(0);
    PetscCheck(waitpid(child, NULL, 0) == child, PETSC_COMM_SELF, PETSC_ERR_SYS, "waitpid failed");
    PetscCall(PetscGetHostName(host, sizeof(host)));
    PetscCall(InvScratchOwnerTag(tag, sizeof(tag)));
    PetscCall(PetscSNPrintf(dead, sizeof(dead), "%s/invmap-stale-%s-%ld-1-0", base, host, (long)child));
    PetscCall(PetscSNPrintf(live, sizeof(live), "%s/invmap-stale-%s-0", base, tag));
    PetscCall(PetscSNPrintf(other, sizeof(other), "%s/invmap-stale-%s.elsewhere-%ld-1-0", base, host, (long)child));
    PetscCall(MakeDir(dead, PETSC_TRUE));
    PetscCall(MakeDir(live, PETSC_FALSE));
    PetscCall(MakeDir(other, PETSC_FALSE));
    PetscCall(InvScratchRemoveStale(base, "invmap-stale-", &nrm));
    PetscCall(PetscTestDirectory(dead, 'r', &exists));
    PetscCheck(!exists && nrm == 1, PETSC_COMM_SELF, PETSC_ERR_PLIB, "InvScratchRemoveStale left %s (removed %d)", dead, (int)nrm);
    PetscCall(PetscTestDirectory(live, 'r', &exists));
    PetscCheck(exists, PETSC_COMM_SELF, PETSC_ERR_PLIB, "InvScratchRemoveStale removed the live run's %s", live);
    PetscCall(PetscTestDirectory(other, 'r', &exists));
    PetscCheck(exists, PETSC_COMM_SELF, PETSC_ERR_PLIB, "InvScratchRemoveStale removed another host's %s", other);
    PetscCall(PetscRMTree(live));
    PetscCall(PetscRMTree(other));
  }
  PetscCall(PetscRMTree(b));
  for (int i = 0; i < 16; i++) PetscCall(InvScratchRegister(a)); /* the table is full after 16 */
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  PetscCheck(InvScratchRegister(a) != 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "a 17th scratch directory was accepted");
  PetscCall(PetscPopErrorHandler());
  InvScratchRemoveAll();
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "scratch directories: removed on request and after errors; unregistered ones kept\n"));
  PetscCall(PetscFinalize());
  return 0;
}
