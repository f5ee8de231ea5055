#!/usr/bin/env bash
# Fault injection, long version: bench/faults.sh SEED COUNT [COMMANDS] [KINDS]
# For each command (simulate, train, map, pipeline; or the comma list COMMANDS) and each fault kind
# (kill_mpirun, kill_rank, term, usr1, int; or KINDS) it runs COUNT faults at moments drawn from SEED: after
# the K-th progress line of the run (K uniform over the lines an uninterrupted run prints) and a further 0 to
# FAULT_JITTER_MS (default 90, below 1000) milliseconds (so the moments follow the run's progress whatever the machine's load;
# the harness's runs print a line every few tens of milliseconds, and a longer jitter lands most faults after the
# run has ended). After each
# fault the checks of tests/faults/common.sh: every process ends within FAULT_END_LIMIT s, every file with a final
# name reads in full, the documented continuation (-resume / rerun) completes, and the outputs equal the
# uninterrupted run's (bitwise except timing data; /cov to 1e-12, see tests/faults/check.py). Prints the table
# (faults injected, survived, those that came after the run had already ended, and those after which Open
# MPI's mpiexec hung although every rank had ended: see tests/faults/common.sh). Exit 1 if any check failed.
# Environment: INVMAP (default build/invmap), MPIEXEC (default mpiexec), FAULT_KEEP=DIR keeps failed work dirs.
set -uo pipefail
SEED=${1:?usage: bench/faults.sh SEED COUNT [COMMANDS] [KINDS]}
COUNT=${2:?usage: bench/faults.sh SEED COUNT [COMMANDS] [KINDS]}
root=$(cd "$(dirname "$0")/.." && pwd)
: "${INVMAP:=$root/build/invmap}"
: "${MPIEXEC:=mpiexec}" # Open MPI's default binding, as users run it
export INVMAP MPIEXEC
source "$root/tests/lib.sh"
set +e
source "$root/tests/faults/common.sh"
IFS=, read -r -a commands <<<"${3:-simulate,train,map,pipeline}"
IFS=, read -r -a kinds <<<"${4:-$(IFS=,; echo "${FAULT_KINDS[*]}")}"
RANDOM=$SEED
JITTER=${FAULT_JITTER_MS:-90}
[[ $JITTER =~ ^[0-9]+$ ]] && ((JITTER < 1000)) || { echo "bench/faults.sh: FAULT_JITTER_MS must be an integer in [0, 999], got $JITTER" >&2; exit 2; }

fault_setup
for ((i = 0; i < COUNT; i++)); do
  for c in "${commands[@]}"; do
    for k in "${kinds[@]}"; do # a moment: after a random progress line and a random fraction of a second more
      fault_one "$c" "$k" "line:$((RANDOM % $(fault_progress_lines "$c") + 1))+$(printf '0.%03d' $((RANDOM % (JITTER + 1))))"
    done
  done
done
fault_table
finish
