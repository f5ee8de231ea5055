#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs missing dependencies, builds with warnings as errors,
# runs the unit and CLI tests under AddressSanitizer + UndefinedBehaviorSanitizer in an optimised build,
# the commands under valgrind memcheck, then every test (ctest, MPI tests at 1, 2 and 3 ranks, and the
# SLURM jobs on a one-node SLURM that tests/slurm_jobs.sh starts and stops, hence --with-slurm). ctest's
# summary is the last thing printed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --with-slurm
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
jobs=$(nproc)

echo "== format check (clang-format) =="
files=$(git ls-files '*.c' '*.h' '*.h.in' | grep -v '\.in$' || true)
if [[ -n "$files" ]] && ! clang-format --dry-run -Werror $files 2>/dev/null; then
  echo "clang-format: these files need formatting:"; clang-format --dry-run $files 2>&1 | grep -oE '^[^:]+\.(c|h)' | sort -u
  exit 1
fi

echo "== sanitizer build (ASan + UBSan, -O2 -g), unit and CLI tests =="
# Optimised (RelWithDebInfo): some heap errors only show once the optimiser reorders or vectorises.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINVMAP_SANITIZE=ON -DINVMAP_WERROR=ON >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
# Open MPI and PETSc keep allocations until exit; leaks are valgrind's part (below), not this build's.
# Every sanitizer report fails its test: unit tests abort; CLI tests run through tests/sanitized.sh,
# which catches reports of any rank even in commands expected to fail. mpirun passes these variables to
# its ranks. Not here: the SLURM test (label slurm), which starts daemons and reruns, inside jobs, the
# commands that the CLI tests already cover, and would add minutes.
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -L 'unit|cli' -LE slurm -j"$jobs" --output-on-failure >build-asan/ctest.log 2>&1 ||
  { cat build-asan/ctest.log; exit 1; }
tail -n 3 build-asan/ctest.log

echo "== fuzz targets (clang + libFuzzer, ASan + UBSan): replay of the corpora and regression inputs =="
# Each target of tests/fuzz runs once over every file of tests/fuzz/corpus/<target> (no fuzzing; bench/fuzz.sh fuzzes).
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINVMAP_FUZZ=ON -DINVMAP_WERROR=ON >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_targets >/dev/null
ctest --test-dir build-fuzz -L fuzz -j"$jobs" --output-on-failure >build-fuzz/ctest.log 2>&1 || { cat build-fuzz/ctest.log; exit 1; }
tail -n 3 build-fuzz/ctest.log

echo "== valgrind memcheck of the commands (portable build: valgrind cannot decode AVX-512) =="
cmake -S . -B build-vg -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINVMAP_NATIVE=OFF -DINVMAP_WERROR=ON >/dev/null
cmake --build build-vg -j"$jobs" --target invmap >/dev/null
bash tests/valgrind_commands.sh build-vg/invmap

echo "== release build (-Wall -Wextra -Werror), all tests =="
cmake -S . -B build-ci -DCMAKE_BUILD_TYPE=Release -DINVMAP_WERROR=ON >/dev/null
cmake --build build-ci -j"$jobs" >/dev/null
ctest --test-dir build-ci -j"$jobs" --output-on-failure --timeout 900
