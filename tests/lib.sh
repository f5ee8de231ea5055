# Shared helpers for invmap's CLI tests (sourced by tests/*.sh). Expects INVMAP, MPIEXEC, PYTHON.
set -euo pipefail
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
: "${PYTHON:=/usr/bin/python3}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/invmap-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# run NP args...: invmap under mpiexec with NP ranks
run() { local np=$1; shift; $MPIEXEC -n "$np" "$INVMAP" "$@"; }

# expect_error NAME PATTERN OUTFILE -- NP args...: the command must fail, print PATTERN on stderr,
# and leave neither OUTFILE nor OUTFILE.partial behind.
expect_error() {
  local name=$1 pattern=$2 out=$3; shift 4
  local np=$1; shift
  local rc=0
  $MPIEXEC -n "$np" "$INVMAP" "$@" >"$WORK/stdout" 2>"$WORK/stderr" || rc=$?
  if [[ $rc -eq 0 ]]; then fail "$name: exit status 0"; return; fi
  if ! grep -qiE -- "$pattern" "$WORK/stderr"; then fail "$name: stderr lacks /$pattern/:"; sed 's/^/    /' "$WORK/stderr" | head -5 >&2; return; fi
  if [[ -n "$out" && ( -e "$out" || -e "$out.partial" ) ]]; then fail "$name: left $out or $out.partial behind"; return; fi
  pass "$name (exit $rc): $(grep -iE -m1 -- "$pattern" "$WORK/stderr")"
}

finish() {
  if ((failures)); then echo "$failures check(s) failed"; exit 1; fi
  echo "all checks passed"
}
