# Fault injection for invmap (sourced by tests/faults/faults.sh and bench/faults.sh after tests/lib.sh).
# A run is started under mpiexec on 2 ranks, a fault is delivered at a chosen moment, and then:
#   - mpiexec and every rank must end within FAULT_END_LIMIT seconds (no hang);
#   - every file with a final name (*.h5, *.ckpt, pipeline.tsv, and invmap map's checkpoint <output>.partial,
#     which is renamed into place) opens and reads in full (check.py intact);
#   - the documented way to continue completes: -resume when the run left its state (<output>.partial for
#     simulate and map, <output>.ckpt for train), a plain rerun otherwise, the same command for the pipeline;
#   - the final outputs equal an uninterrupted run's (check.py compare: bitwise except timing data).
# Faults: kill_mpirun (SIGKILL to mpiexec), kill_rank (SIGKILL to one rank), term / usr1 / int (SIGTERM, SIGUSR1,
# SIGINT = Ctrl-C, to mpiexec, which forwards SIGUSR1 and aborts the job on SIGTERM/SIGINT).
FAULT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FAULT_KINDS=(kill_mpirun kill_rank term usr1 int)
FAULT_END_LIMIT=${FAULT_END_LIMIT:-120} # seconds from the fault to the end of every process (checkpointing included)
FAULT_POLL=0.1                          # seconds between polls (the waits are bounded by counts of polls)
declare -A FAULT_STATS                  # "<command> <kind> injected|survived|late" -> count

# fault_cmd NAME: the invmap arguments of command NAME (writes into the current directory)
fault_cmd() {
  case $1 in
  simulate) echo "simulate -n 12000 -obs_n 200 -seed 3 -chunk 600 -progress 0 -o sim.h5" ;; # ~20 chunks lasting seconds (one step per member made simulate 2x faster)
  train) echo "train -i tr.h5 -o net.h5 -nn_arch dense -nn_dense 64,64 -train_epochs 40 -train_batch 16 -train_seed 3 -train_val_frac 0.2 -train_checkpoint_every 1" ;;
  map) echo "map -i te.h5 -n 48 -map_starts 2 -map_screen 16 -map_batch 16 -map_checkpoint_seconds 0.5 -map_progress 0 -o map.h5" ;;
  pipeline) echo "pipeline -pipeline_dir P -set_train_n 600 -set_test_n 40 -pipeline_nets dense -net_dense_train_epochs 4 -pipeline_map_n 8 -pipeline_map_runs mean -maps_map_screen 16 -maps_map_starts 1 -maps_map_checkpoint_seconds 0.5 -pipeline_report 0" ;;
  esac
}
# fault_outputs NAME: its final outputs, compared with the uninterrupted run's
fault_outputs() {
  case $1 in
  simulate) echo sim.h5 ;;
  train) echo net.h5 ;;
  map) echo map.h5 ;;
  pipeline) echo P/train.h5 P/test.h5 P/dense.h5 P/pred_dense_noisy.h5 P/map_mean.h5 ;;
  esac
}
# fault_progress NAME: a line the command prints as it progresses (the short test delivers after the k-th)
fault_progress() {
  case $1 in
  simulate) echo "^simulate: [0-9]+/" ;;
  train) echo "^epoch +[0-9]+/" ;;
  map) echo "^map: rank 0: [0-9]+/" ;;
  pipeline) echo "^== [a-z_]+: invmap" ;;
  esac
}

# fault_progress_lines NAME: how many progress lines an uninterrupted run prints (about)
fault_progress_lines() {
  case $1 in
  simulate) echo 20 ;;
  train) echo 40 ;;
  map) echo 24 ;;
  pipeline) echo 7 ;;
  esac
}

# The inputs of train and map, and the uninterrupted runs' outputs in ref/
fault_setup() {
  run 2 simulate -n 400 -obs_n 200 -seed 6 -o tr.h5 -quiet
  run 2 simulate -n 48 -obs_n 200 -seed 7 -o te.h5 -quiet
  mkdir -p ref
  for c in simulate train map pipeline; do
    (cd ref && ln -sf ../tr.h5 ../te.h5 . && run 2 $(fault_cmd $c) >"$c.log" 2>&1) || fail "uninterrupted $c failed"
  done
}

# fault_start NAME: start the command in its own session (as from a terminal: Ctrl-C reaches mpiexec only)
fault_start() {
  FAULT_LOG=$WORK/$1.run.log
  setsid $MPIEXEC -n 2 "$INVMAP" $(fault_cmd "$1") >"$FAULT_LOG" 2>&1 &
  FAULT_PID=$!
  FAULT_RANKS=""
}
# fault_wait_lines PATTERN K: until the log holds K lines matching PATTERN (0), the run has ended (1), or
# FAULT_STALL_POLLS polls have passed (2: the run stalled)
FAULT_STALL_POLLS=6000
fault_wait_lines() {
  local n k
  for ((n = 0; n < FAULT_STALL_POLLS; n++)); do
    k=$(grep -cE -- "$1" "$FAULT_LOG" 2>/dev/null) || true
    ((${k:-0} >= $2)) && return 0
    kill -0 "$FAULT_PID" 2>/dev/null || return 1
    sleep $FAULT_POLL
  done
  return 2
}
# fault_stall_report: a run that printed nothing for FAULT_STALL_POLLS polls: where its processes are (for the log)
fault_stall_report() {
  local p
  echo "    STALL: $(wc -l <"$FAULT_LOG") log lines after $((FAULT_STALL_POLLS / 10)) s; processes:" >&2
  for p in $FAULT_PID $(pgrep -P "$FAULT_PID" 2>/dev/null); do
    echo "    $(ps -o pid=,stat=,wchan:20=,args= -p "$p" 2>/dev/null | tr -s ' ')" >&2
    command -v gdb >/dev/null &&
      timeout 60 gdb -p "$p" -batch -ex "thread apply all bt 8" 2>/dev/null | grep -E '^#|^Thread' | head -40 | sed 's/^/      /' >&2
  done
  return 0
}
fault_ranks() { pgrep -P "$FAULT_PID" 2>/dev/null || true; }
# fault_running PID: the process exists and has not ended. A rank that ended after mpiexec (for example one that
# mpiexec never registered, which Open MPI reports as "PID 0") is reparented to PID 1 and stays a zombie until
# PID 1 reaps it, which a container's init may do late or never: a zombie runs nothing and holds no file open.
fault_running() {
  local state
  state=$(awk '{sub(/.*\) /, ""); print $1}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}
# fault_deliver KIND: 0 if delivered, 1 if the run had already ended
fault_deliver() {
  local ranks
  kill -0 "$FAULT_PID" 2>/dev/null || return 1
  FAULT_RANKS=$(fault_ranks)
  case $1 in
  kill_mpirun) kill -KILL "$FAULT_PID" ;;
  kill_rank)
    ranks=($FAULT_RANKS)
    ((${#ranks[@]})) || return 1
    kill -KILL "${ranks[-1]}" ;;
  term) kill -TERM "$FAULT_PID" ;;
  usr1) kill -USR1 "$FAULT_PID" ;;
  int) kill -INT "$FAULT_PID" ;;
  esac 2>/dev/null || return 1
}
# fault_ranks_ended: none of mpiexec's children is running (each has ended, or is a zombie mpiexec has not reaped)
fault_ranks_ended() {
  local r
  for r in $(pgrep -P "$FAULT_PID" 2>/dev/null); do fault_running "$r" && return 1; done
  return 0
}
# fault_end: wait (bounded) for mpiexec and the ranks; FAULT_RC = mpiexec's exit status; 1 on a hang.
# Open MPI 4.1's mpiexec sometimes never exits after a rank was SIGKILLed ("PMIX ERROR: UNREACHABLE ...
# ptl_base_connection_hdlr.c", the killed rank left an unreaped zombie): when every rank has ended and mpiexec
# is still there FAULT_LAUNCHER_GRACE seconds later, mpiexec is killed and FAULT_LAUNCHER_HANG says so. That is
# the launcher's failure, reported and counted apart; a rank still running is a hang of invmap's (status 1).
FAULT_LAUNCHER_GRACE=${FAULT_LAUNCHER_GRACE:-30}
fault_end() {
  local n r ended=0
  FAULT_HUNG="" FAULT_LAUNCHER_HANG=""
  for ((n = 0; n * 10 < FAULT_END_LIMIT * 100; n++)); do
    kill -0 "$FAULT_PID" 2>/dev/null || break
    if fault_ranks_ended; then ended=$((ended + 1)); else ended=0; fi
    ((ended * 10 >= FAULT_LAUNCHER_GRACE * 100)) && break
    sleep $FAULT_POLL
  done
  if kill -0 "$FAULT_PID" 2>/dev/null; then
    local procs
    procs=$(ps -o pid=,stat=,args= -p "$FAULT_PID" --ppid "$FAULT_PID" 2>/dev/null | tr -s ' ' | paste -sd';')
    kill -KILL -- -"$FAULT_PID" 2>/dev/null
    wait "$FAULT_PID" 2>/dev/null
    if fault_ranks_ended && ((ended)); then
      FAULT_LAUNCHER_HANG="every rank had ended, mpiexec had not exited ${FAULT_LAUNCHER_GRACE} s later and was killed ($procs)"
      FAULT_RC=137
      return 0
    fi
    FAULT_HUNG="mpiexec: $procs"
    return 1
  fi
  FAULT_RC=0
  wait "$FAULT_PID" || FAULT_RC=$?
  for r in $FAULT_RANKS; do # ranks outliving mpiexec would write into the files being resumed
    for ((n = 0; n * 10 < FAULT_END_LIMIT * 100; n++)); do
      fault_running "$r" || break
      sleep $FAULT_POLL
    done
    if fault_running "$r"; then
      FAULT_HUNG="a rank outlived mpiexec: $(ps -o pid=,stat=,args= -p "$r" 2>/dev/null | tr -s ' ')"
      return 1
    fi
  done
  return 0
}

# fault_intact: every file with a final name opens and reads in full
fault_intact() {
  local files=()
  mapfile -t files < <(find . -path ./ref -prune -o \( -name '*.h5' -o -name '*.ckpt' -o -name 'map*.h5.partial' \) -type f -print)
  ((${#files[@]})) || return 0
  "$PYTHON" "$FAULT_DIR/check.py" intact "${files[@]}"
}

# fault_continue NAME [NP]: the documented way to continue on NP ranks (default 2), until the command completes
# (at most 2 runs)
fault_continue() {
  local c=$1 np=${2:-2} out extra attempt rc
  out=$(fault_outputs "$c" | awk '{print $1}')
  for attempt in 1 2; do
    extra=""
    case $c in
    simulate | map)
      [[ -f $out && ! -e $out.partial ]] && return 0
      [[ -f $out.partial ]] && extra=-resume ;;
    train)
      [[ -f $out ]] && return 0
      [[ -f $out.ckpt ]] && extra=-resume ;;
    esac
    rc=0
    $MPIEXEC -n "$np" "$INVMAP" $(fault_cmd "$c") $extra >>"$WORK/$c.continue.log" 2>&1 || rc=$?
    ((rc == 0)) && return 0
    echo "    continue attempt $attempt ($c $extra): exit $rc: $(grep -m1 'error' "$WORK/$c.continue.log")"
  done
  return 1
}

# fault_compare NAME: the outputs equal the uninterrupted run's
fault_compare() {
  local f ok=0
  for f in $(fault_outputs "$1"); do
    "$PYTHON" "$FAULT_DIR/check.py" compare "ref/$f" "$f" || ok=1
  done
  return $ok
}

# fault_clean NAME: remove what the command wrote (the inputs tr.h5, te.h5 and ref/ stay)
fault_clean() {
  case $1 in
  simulate) rm -f sim.h5 sim.h5.* ;;
  train) rm -f net.h5 net.h5.* ;;
  map) rm -f map.h5 map.h5.* ;;
  pipeline) rm -rf P ;;
  esac
  rm -f "$WORK/$1.continue.log"
}

# fault_one NAME KIND WHEN: WHEN is "line:K" (after the K-th progress line) or "sec:S" (S seconds after the start).
# Records the outcome in FAULT_STATS and prints one line.
fault_one() {
  local c=$1 kind=$2 when=$3 what=ok delivered=1 t0 tend endok k wrc=0
  fault_clean "$c"
  fault_start "$c"
  case $when in
  line:*+*) # after the K-th progress line and S more seconds
    k=${when#line:}
    fault_wait_lines "$(fault_progress "$c")" "${k%%+*}" || wrc=$?
    sleep "${when#*+}" ;;
  line:*) fault_wait_lines "$(fault_progress "$c")" "${when#line:}" || wrc=$? ;;
  sec:*) sleep "${when#sec:}" ;;
  esac
  ((wrc == 2)) && fault_stall_report # a failure below, whatever the fault's outcome
  t0=$(date +%s.%N)
  fault_deliver "$kind" || delivered=0
  endok=0
  fault_end || endok=1
  tend=$(printf "%.1f" "$(echo "$(date +%s.%N) - $t0" | bc)")
  if ((endok)); then
    what="HANG (still running ${FAULT_END_LIMIT} s after the fault: $FAULT_HUNG)"
  elif ((wrc == 2)); then
    what="STALL (no progress line for $((FAULT_STALL_POLLS / 10)) s before the fault; processes above)"
  elif ((!delivered)); then
    FAULT_STATS["$c $kind late"]=$((${FAULT_STATS["$c $kind late"]:-0} + 1))
    fault_clean "$c"
    echo "  $c $kind @$when: not delivered: the run had ended (or had no rank yet) (exit $FAULT_RC)"
    return 0
  elif ! fault_intact; then
    what="a file with a final name is corrupt"
  elif ! fault_continue "$c"; then
    what="continuing failed"
  elif ! fault_compare "$c"; then
    what="final outputs differ from the uninterrupted run"
  fi
  FAULT_STATS["$c $kind injected"]=$((${FAULT_STATS["$c $kind injected"]:-0} + 1))
  if [[ $what == ok ]]; then
    FAULT_STATS["$c $kind survived"]=$((${FAULT_STATS["$c $kind survived"]:-0} + 1))
    if [[ -n $FAULT_LAUNCHER_HANG ]]; then
      FAULT_STATS["$c $kind launcher"]=$((${FAULT_STATS["$c $kind launcher"]:-0} + 1))
      pass "$c $kind @$when: Open MPI's mpiexec hung ($FAULT_LAUNCHER_HANG); files intact, continued, outputs equal"
    else
      pass "$c $kind @$when: exit $FAULT_RC, all processes ended ${tend} s after the fault, files intact, continued, outputs equal"
    fi
  else
    fail "$c $kind @$when (exit ${FAULT_RC:-?}): $what"
    tail -5 "$FAULT_LOG" | sed 's/^/    /' >&2
    [[ -n ${FAULT_KEEP:-} ]] && mkdir -p "$FAULT_KEEP" && cp -r "$WORK" "$FAULT_KEEP/$c-$kind-$RANDOM" 2>/dev/null # for a post-mortem
  fi
  fault_clean "$c"
}

fault_table() {
  local c k
  printf "%-9s %-12s %8s %8s %14s %14s\n" command fault injected survived "not delivered" "mpiexec hung"
  for c in simulate train map pipeline; do
    for k in "${FAULT_KINDS[@]}"; do
      [[ -z ${FAULT_STATS["$c $k injected"]:-} && -z ${FAULT_STATS["$c $k late"]:-} ]] && continue
      printf "%-9s %-12s %8d %8d %14d %14d\n" "$c" "$k" "${FAULT_STATS["$c $k injected"]:-0}" "${FAULT_STATS["$c $k survived"]:-0}" \
        "${FAULT_STATS["$c $k late"]:-0}" "${FAULT_STATS["$c $k launcher"]:-0}"
    done
  done
}
