#!/usr/bin/env bash
# Fault injection, long version: bench/faults.sh SEED COUNT [COMMANDS] [KINDS]
# For each command (simulate, train, map, pipeline; or the comma list COMMANDS) and each fault kind
# (kill_mpirun, kill_rank, term, usr1, int; or KINDS) it runs COUNT faults at moments drawn from SEED:
# uniformly in [0, T] seconds after the start, T = the uninterrupted run's duration on this machine. After each
# fault the checks of tests/faults/common.sh: every process ends within FAULT_END_LIMIT s, every file with a final
# name reads in full, the documented continuation (-resume / rerun) completes, and the outputs equal the
# uninterrupted run's (bitwise except timing data; /cov to 1e-12, see tests/faults/check.py). Prints the table
# (faults injected, survived, and those that came after the run had already ended). Exit 1 if any check failed.
# Environment: INVMAP (default build/invmap), MPIEXEC (default mpiexec), FAULT_KEEP=DIR keeps failed work dirs.
set -uo pipefail
SEED=${1:?usage: bench/faults.sh SEED COUNT [COMMANDS] [KINDS]}
COUNT=${2:?usage: bench/faults.sh SEED COUNT [COMMANDS] [KINDS]}
root=$(cd "$(dirname "$0")/.." && pwd)
: "${INVMAP:=$root/build/invmap}"
: "${MPIEXEC:=mpiexec --oversubscribe --bind-to none}"
export INVMAP MPIEXEC
source "$root/tests/lib.sh"
set +e
source "$root/tests/faults/common.sh"
IFS=, read -r -a commands <<<"${3:-simulate,train,map,pipeline}"
IFS=, read -r -a kinds <<<"${4:-$(IFS=,; echo "${FAULT_KINDS[*]}")}"
RANDOM=$SEED

fault_setup
declare -A T
for c in "${commands[@]}"; do # the uninterrupted duration (the moments are drawn up to it)
  fault_clean "$c"
  SECONDS=0
  start=$(date +%s.%N)
  run 2 $(fault_cmd "$c") >/dev/null 2>&1
  T[$c]=$(echo "$(date +%s.%N) - $start" | bc)
  fault_clean "$c"
  echo "uninterrupted $c: ${T[$c]} s"
done
for ((i = 0; i < COUNT; i++)); do
  for c in "${commands[@]}"; do
    for k in "${kinds[@]}"; do
      at=$(echo "scale=2; ${T[$c]} * $RANDOM / 32768" | bc)
      fault_one "$c" "$k" "sec:$at"
    done
  done
done
fault_table
finish
