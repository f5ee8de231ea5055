#!/usr/bin/env bash
# Fuzz every libFuzzer target of tests/fuzz for a fixed budget and print, per target, the executions
# and the crashes found. Usage: bench/fuzz.sh [seconds per target (180)] [parallel jobs (1)] [targets...]
# Needs clang; builds build-fuzz (INVMAP_FUZZ=ON). Each target starts from its seed corpus
# (tests/fuzz/corpus/<target>, not modified) in out/fuzz/<target>/corpus; crash, leak, timeout and
# out-of-memory inputs land in out/fuzz/<target>/ (add the ones fixed to tests/fuzz/corpus/<target>/ as
# regression inputs). Allocations over 1 GiB fail (PETSc reports out of memory) instead of taking the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-180}
par=${2:-1}
shift $(($# < 2 ? $# : 2))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_csv fuzz_params fuzz_h5raw fuzz_map fuzz_evaluate fuzz_predict fuzz_traindata fuzz_nnmodel fuzz_checkpoint)
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINVMAP_FUZZ=ON -DINVMAP_WERROR=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_targets >/dev/null
export ASAN_OPTIONS=allocator_may_return_null=1:max_allocation_size_mb=1024:detect_leaks=1:leak_check_at_exit=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
run() {
  local t=$1 o=out/fuzz/$1
  rm -rf "$o" && mkdir -p "$o/corpus"
  cp tests/fuzz/corpus/"$t"/* "$o/corpus/" 2>/dev/null || true
  # -fork keeps fuzzing after a finding (each crash is saved); -ignore_crashes/-ignore_ooms/-ignore_timeouts
  build-fuzz/tests/fuzz/"$t" -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 -max_total_time="$secs" -max_len=4096 \
    -rss_limit_mb=4096 -timeout=60 -artifact_prefix="$o/" "$o/corpus" >"$o/log" 2>&1 || true
}
i=0
for t in "${targets[@]}"; do
  run "$t" &
  i=$((i + 1))
  if [ $((i % par)) -eq 0 ]; then wait; fi
done
wait
printf "%-18s %12s %8s %8s %8s\n" target executions crashes leaks ooms/timeouts
for t in "${targets[@]}"; do
  o=out/fuzz/$t
  execs=$(grep -oE '^#[0-9]+' "$o/log" | tail -1 | tr -d '#')
  printf "%-18s %12s %8s %8s %8s\n" "$t" "${execs:-0}" "$(ls "$o" | grep -c '^crash-' || true)" "$(ls "$o" | grep -c '^leak-' || true)" \
    "$(ls "$o" | grep -cE '^(oom|timeout)-' || true)"
done
