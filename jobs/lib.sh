# shellcheck shell=bash
# Common part of invmap's SLURM jobs (sourced by jobs/*.sbatch; see docs/slurm.md).
#
# The executable: a build with the default -march=native runs only on CPUs like the build machine's and
# dies of SIGILL on older compute nodes. On a cluster with mixed or older nodes than the login node,
# configure with -DINVMAP_NATIVE=OFF (docs/slurm.md, "Build first").
#
# Each job script finds this file first: under SLURM the script runs from a copy in slurmd's spool
# directory, so $0 does not point into jobs/. It tries $INVMAP_JOBS, the directory of the submitted
# script (scontrol show job: Command=), the directory of $0 and $SLURM_SUBMIT_DIR/jobs.
#
# Provides:
#   inv_run CMD ARGS...          run `invmap CMD ARGS...` on the job's ranks (mpirun or srun)
#   inv_run_resumable CMD ARGS...
#                                the same for commands that checkpoint and exit 75 on SIGUSR1/SIGTERM
#                                (simulate, train, map, pipeline): the job's SIGUSR1 (SLURM's
#                                --signal=B:USR1@T before the time limit, or scancel --batch
#                                --signal=USR1) and SIGTERM are forwarded to the ranks as SIGUSR1; on
#                                exit status 75 the job requeues itself (scontrol requeue) and exits 75,
#                                and the requeued run resumes (the script adds -resume). Returns 0 when
#                                invmap succeeds; exits with its status otherwise.
#   inv_done FILE...             true (and says so) when every FILE exists and has no FILE.partial
#   inv_launch PROGRAM ARGS...   run any MPI program on the job's ranks
#   inv_need VAR...              exit with a message if a variable is unset or empty
# Environment:
#   INVMAP            the executable (default: build/invmap of this checkout)
#   INVMAP_LAUNCHER   mpirun (default) or srun (srun --mpi=pmix: Debian's Open MPI needs PMIx)
#   INVMAP_MPIRUN_ARGS  extra mpirun options (default --bind-to none: without cgroups, jobs sharing a node
#                     would otherwise all bind to the same first cores)
#   INVMAP_SRUN_ARGS  extra srun options
#   RANKS             ranks outside SLURM (default 1); under SLURM the job's --ntasks (INV_NP overrides both,
#                     for one launch inside a job)
#   INVMAP_MAX_REQUEUE  give up after this many requeues (default 50)
set -uo pipefail

INVMAP_JOBS=${INVMAP_JOBS:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
INVMAP_ROOT=${INVMAP_ROOT:-$(dirname "$INVMAP_JOBS")}
INVMAP=${INVMAP:-$INVMAP_ROOT/build/invmap}
INVMAP_LAUNCHER=${INVMAP_LAUNCHER:-mpirun}
INVMAP_MAX_REQUEUE=${INVMAP_MAX_REQUEUE:-50}
export INVMAP_JOBS INVMAP_ROOT INVMAP

inv_log() { echo "[$(date '+%F %T')] ${SLURM_JOB_NAME:-job} ${SLURM_JOB_ID:+$SLURM_JOB_ID }$*"; }

inv_ntasks() { echo "${INV_NP:-${SLURM_NTASKS:-${RANKS:-1}}}"; }

# inv_launch_cmd PROGRAM ARGS...: set the array _inv_cmd to the MPI launch line for this job
inv_launch_cmd() {
  local np
  np=$(inv_ntasks)
  case $INVMAP_LAUNCHER in
    srun)
      # shellcheck disable=SC2206
      _inv_cmd=(srun --mpi=pmix -n "$np" ${INVMAP_SRUN_ARGS:-} "$@") ;;
    mpirun)
      _inv_cmd=(mpirun)
      [[ $(id -u) -eq 0 ]] && _inv_cmd+=(--allow-run-as-root)
      # shellcheck disable=SC2206
      _inv_cmd+=(-n "$np" ${INVMAP_MPIRUN_ARGS---bind-to none} "$@") ;;
    none) _inv_cmd=("$@") ;;
    *)
      echo "INVMAP_LAUNCHER=$INVMAP_LAUNCHER: use mpirun, srun or none" >&2
      exit 2 ;;
  esac
}

# inv_launch PROGRAM ARGS...: run an MPI program on the job's ranks
inv_launch() {
  inv_launch_cmd "$@"
  "${_inv_cmd[@]}"
}

inv_check_exe() {
  [[ -x $INVMAP ]] || { echo "invmap executable not found: $INVMAP (build it, or set INVMAP)" >&2; exit 2; }
}

inv_run() {
  inv_check_exe
  inv_log "start: $INVMAP_LAUNCHER ($(inv_ntasks) ranks) invmap $*"
  local rc=0
  inv_launch "$INVMAP" "$@" || rc=$?
  inv_log "end: invmap $1 exit status $rc"
  return $rc
}

_inv_signalled=0
_inv_pid=""
_inv_forward() { # trap handler: record the signal, pass SIGUSR1 on to the launcher (which forwards it to the ranks)
  _inv_signalled=$1
  inv_log "got SIG$1: asking invmap to checkpoint (SIGUSR1)"
  [[ -n $_inv_pid ]] && kill -USR1 "$_inv_pid" 2>/dev/null
  return 0
}

# inv_run_resumable CMD ARGS...: returns 0 on success; otherwise exits with invmap's status, after
# requeueing the job on 75
inv_run_resumable() {
  inv_check_exe
  inv_log "start: $INVMAP_LAUNCHER ($(inv_ntasks) ranks) invmap $* (restart ${SLURM_RESTART_COUNT:-0})"
  trap '_inv_forward USR1' USR1
  trap '_inv_forward TERM' TERM
  inv_launch_cmd "$INVMAP" "$@"
  "${_inv_cmd[@]}" & # the launcher itself (not a subshell), so that kill reaches it
  _inv_pid=$!
  local rc=0 r
  while :; do # a trap interrupts `wait` (status > 128): wait again until the launcher has really ended
    wait "$_inv_pid"
    r=$?
    ((r == 127)) && break # already collected: rc holds its status
    rc=$r
    ((r > 128)) && kill -0 "$_inv_pid" 2>/dev/null && continue
    if ((r > 128)) && [[ $_inv_signalled != 0 ]]; then # ended while the trap ran: collect its own status
      wait "$_inv_pid"
      r=$?
      ((r != 127)) && rc=$r
    fi
    break
  done
  _inv_pid=""
  trap - USR1 TERM
  if [[ $_inv_signalled != 0 && $rc -ne 0 && $rc -ne 75 ]]; then
    # the signal came before invmap could handle it (start-up) or killed a launcher: what is on disk
    # (atomic checkpoints, <output>.partial) is still valid, so treat it as an interruption
    inv_log "invmap exited $rc after SIG$_inv_signalled: treating it as interrupted"
    rc=75
  fi
  inv_log "end: invmap $1 exit status $rc"
  ((rc == 0)) && return 0
  ((rc == 75)) && inv_requeue
  exit "$rc"
}

# inv_requeue: put this job back in the queue (same job id, same script, arguments and environment)
inv_requeue() {
  if [[ -z ${SLURM_JOB_ID:-} ]]; then
    inv_log "interrupted: checkpoint written; rerun the same command to resume"
    return 0
  fi
  if ((${SLURM_RESTART_COUNT:-0} >= INVMAP_MAX_REQUEUE)); then
    inv_log "interrupted, but requeued ${SLURM_RESTART_COUNT} times already (INVMAP_MAX_REQUEUE): not requeueing"
    return 0
  fi
  inv_log "checkpointed; requeueing job $SLURM_JOB_ID"
  scontrol requeue "$SLURM_JOB_ID" || inv_log "scontrol requeue failed: resubmit the job to resume"
}

# inv_done FILE...: every FILE is complete (exists, no FILE.partial)
inv_done() {
  local f
  for f in "$@"; do
    [[ -f $f && ! -e $f.partial ]] || return 1
  done
  inv_log "$* complete: nothing to do"
  return 0
}

# inv_need VAR...: fail with a message if an environment variable is unset or empty
inv_need() {
  local v
  for v in "$@"; do
    [[ -n ${!v:-} ]] || { echo "${SLURM_JOB_NAME:-job}: set $v (see the header of the script and docs/slurm.md)" >&2; exit 2; }
  done
}
