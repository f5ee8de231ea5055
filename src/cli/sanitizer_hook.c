/* Sanitizer builds only (INVMAP_SANITIZE=ON): every AddressSanitizer or UndefinedBehaviorSanitizer report
   ends with a one-line summary, which the runtime passes to __sanitizer_report_error_summary. This override
   also appends the line to the file named by INVMAP_SANITIZER_SUMMARY_FILE, so that tests/sanitized.sh
   fails a test on any report of any rank, even one in a command the test expects to fail and whose stderr
   it discards. (With GCC, UBSan reports ignore log_path when ASan is linked too, hence this hook.) The
   runtime calls it in the middle of a report: plain POSIX calls only, no PETSc, no allocation. */
#if defined(__SANITIZE_ADDRESS__)
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INV_SANITIZER_SUMMARY_ENV  "INVMAP_SANITIZER_SUMMARY_FILE"
#define INV_SANITIZER_SUMMARY_MODE 0644

void __sanitizer_report_error_summary(const char *summary);

/* Writes the line and a newline, or says on stderr that it could not (nothing more can be done here). */
static void WriteLine(int fd, const char *line)
{
  static const char failed[] = "invmap: could not write a sanitizer summary line\n";

  if (write(fd, line, strlen(line)) < 0 || write(fd, "\n", 1) < 0) {
    if (write(STDERR_FILENO, failed, sizeof(failed) - 1) < 0) return;
  }
}

void __sanitizer_report_error_summary(const char *summary)
{
  const char *path = getenv(INV_SANITIZER_SUMMARY_ENV);
  int fd;

  WriteLine(STDERR_FILENO, summary); /* what the runtime's own version does */
  if (!path || !path[0]) return;
  fd = open(path, O_WRONLY | O_CREAT | O_APPEND, INV_SANITIZER_SUMMARY_MODE);
  if (fd < 0) {
    WriteLine(STDERR_FILENO, "invmap: cannot open $" INV_SANITIZER_SUMMARY_ENV " to record a sanitizer report");
    return;
  }
  WriteLine(fd, summary);
  close(fd);
}
#else
typedef int InvSanitizerHookUnused; /* keeps the translation unit non-empty in ordinary builds */
#endif
