#!/usr/bin/env bash
# Runs one CLI test script (tests/*.sh) of a sanitizer build (INVMAP_SANITIZE=ON) so that any
# AddressSanitizer or UndefinedBehaviorSanitizer report turns the test red, wherever it happens: in an
# MPI rank launched by the script, in a command that the script expects to fail (whose non-zero exit
# alone would pass), or in a helper such as tests/nn_tool. Every sanitized process writes its reports
# to files under a private directory (ASan: log_path; both: the summary line through invmap's
# __sanitizer_report_error_summary hook; mpirun passes the environment to its local ranks), and the test
# fails when any report is there, whatever the script's own exit status. The reports are printed then.
# Usage: sanitized.sh SCRIPT [ARGS...]
set -uo pipefail
script=$1
shift
reports=$(mktemp -d "${TMPDIR:-/tmp}/invmap-sanitizer.XXXXXX")
trap 'rm -rf "$reports"' EXIT
# Defaults first, the caller's options next (they win), log_path last (it must stay ours).
# detect_leaks=0: Open MPI and PETSc keep allocations until exit; invmap's own leaks are valgrind's
# job (tests/valgrind_commands.sh). abort_on_error=1: stop at the first report.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:${ASAN_OPTIONS:-}:log_path=$reports/asan"
# UBSan (GCC) ignores log_path when ASan is linked too; print_summary=1 makes it pass its summary line to
# invmap's hook (src/cli/sanitizer_hook.c), which appends it to INVMAP_SANITIZER_SUMMARY_FILE, as ASan's too.
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}:print_summary=1"
export INVMAP_SANITIZER_SUMMARY_FILE="$reports/summaries"
rc=0
bash "$script" "$@" || rc=$?
# The one line that is not a report: ASan's notice, once per process, that the MAP's coroutines switch
# stacks (swapcontext). Every other line in these files is a report.
benign="WARNING: ASan doesn't fully support makecontext/swapcontext functions"
shopt -s nullglob
found=()
for f in "$reports"/*; do
  grep -qvF "$benign" "$f" && found+=("$f")
done
if ((${#found[@]})); then
  echo "FAIL: sanitizer reports in ${#found[@]} file(s) (script exit status $rc):" >&2
  for f in "${found[@]}"; do
    echo "==== $(basename "$f")" >&2
    grep -vF "$benign" "$f" >&2
  done
  exit 1
fi
exit "$rc"
