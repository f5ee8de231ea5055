# shellcheck shell=bash
# A private one-node SLURM (munged, slurmctld, slurmd) on localhost, for tests/slurm_jobs.sh and for
# trying jobs/ by hand. Source it, then:
#   slurm_start DIR    start the daemons with scratch directory DIR (config: tests/slurm/slurm.conf.in,
#                      free ports, private munge socket); exports SLURM_CONF (and SLURM_PMIX_TMPDIR);
#                      fails with a clear message
#   slurm_stop         stop exactly the daemons slurm_start started (safe to call twice, from a trap)
#   slurm_logs         print the daemons' logs
# Needs root, Debian's slurmctld, slurmd, slurm-client and munge (scripts/install-deps.sh --with-slurm).
# See docs/slurm-local.md for the configuration's origin and the pitfalls.

SLURM_CLUSTER_IN=${SLURM_CLUSTER_IN:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/slurm.conf.in}
SLURM_SBIN=${SLURM_SBIN:-/usr/sbin} # where the daemons are
SLURM_D=""
SLURM_MUNGE_D=""

slurm_free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

slurm_start() {
  SLURM_D=$1
  local missing="" p
  for p in "$SLURM_SBIN/slurmctld" "$SLURM_SBIN/slurmd" "$SLURM_SBIN/munged" "$(command -v sbatch || echo sbatch)"; do
    [[ -x $p ]] || missing+=" $p"
  done
  if [[ -n $missing ]]; then
    echo "slurm_start: SLURM is not installed (missing:$missing); install it with: bash scripts/install-deps.sh --with-slurm" >&2
    return 1
  fi
  [[ $(id -u) -eq 0 ]] || { echo "slurm_start: needs root (slurmd runs jobs as root here)" >&2; return 1; }
  mkdir -p "$SLURM_D"/{state,spool,log}
  # munged runs as user munge and insists on a socket path that everyone may traverse: its own
  # directory under /tmp, whatever the permissions above SLURM_D
  SLURM_MUNGE_D=$(mktemp -d /tmp/invmap-munge.XXXXXX)
  chmod 755 "$SLURM_MUNGE_D"
  chown munge:munge "$SLURM_MUNGE_D"
  local cpus mem port dport
  cpus=$(nproc)
  mem=1000
  port=$(slurm_free_port)
  dport=$(slurm_free_port)
  while [[ $dport == "$port" ]]; do dport=$(slurm_free_port); done
  sed -e "s#@D@#$SLURM_D#g" -e "s#@MUNGE@#$SLURM_MUNGE_D#g" -e "s#@CPUS@#$cpus#g" -e "s#@MEM@#$mem#g" -e "s#@PORT@#$port#g" -e "s#@DPORT@#$dport#g" \
    "$SLURM_CLUSTER_IN" >"$SLURM_D/slurm.conf"
  export SLURM_CONF=$SLURM_D/slurm.conf
  # srun --mpi=pmix makes /tmp/spmix_appdir_<uid>_<job>.<step>: keep it ours (two clusters on one machine
  # number their jobs alike); jobs inherit this from the submitting shell
  mkdir -p "$SLURM_D/tmp"
  export SLURM_PMIX_TMPDIR=$SLURM_D/tmp
  runuser -u munge -- "$SLURM_SBIN/munged" --socket="$SLURM_MUNGE_D/munge.socket" --pid-file="$SLURM_MUNGE_D/munged.pid" \
    --log-file="$SLURM_MUNGE_D/munged.log" --seed-file="$SLURM_MUNGE_D/munged.seed" ||
    { echo "slurm_start: munged did not start" >&2; return 1; }
  "$SLURM_SBIN/slurmctld" -f "$SLURM_CONF" || { echo "slurm_start: slurmctld did not start" >&2; return 1; }
  "$SLURM_SBIN/slurmd" -f "$SLURM_CONF" -N localhost || { echo "slurm_start: slurmd did not start" >&2; return 1; }
  local state=""
  for _ in $(seq 1 300); do # 60 s
    state=$(sinfo -h -o %T 2>/dev/null || true)
    [[ $state == idle ]] && return 0
    sleep 0.2
  done
  echo "slurm_start: the node did not become idle within 60 s (state '$state')" >&2
  return 1
}

slurm_stop() {
  [[ -n $SLURM_D ]] || return 0
  local f pid pids=()
  if [[ -n ${SLURM_CONF:-} && -f $SLURM_CONF ]]; then
    scancel --quiet --user=root 2>/dev/null || true # our private cluster's jobs only
    for _ in $(seq 1 75); do # up to 15 s for the jobs to end
      [[ -z $(squeue -h -o %i 2>/dev/null) ]] && break
      sleep 0.2
    done
  fi
  for f in "$SLURM_D/slurmd.pid" "$SLURM_D/slurmctld.pid" ${SLURM_MUNGE_D:+"$SLURM_MUNGE_D/munged.pid"}; do
    [[ -f $f ]] || continue
    pid=$(cat "$f" 2>/dev/null) || continue
    [[ -n $pid ]] && kill "$pid" 2>/dev/null && pids+=("$pid")
  done

  for _ in $(seq 1 100); do # 10 s, then SIGKILL
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null; done
  # job processes that outlived the daemons (a job that would not die): those with our SLURM_CONF and a job id
  local conf=$SLURM_D/slurm.conf env
  for f in /proc/[0-9]*/environ; do
    env=$(tr '\0' '\n' 2>/dev/null <"$f") || continue
    if grep -qxF "SLURM_CONF=$conf" <<<"$env" && grep -q '^SLURM_JOB_ID=' <<<"$env"; then
      pid=${f#/proc/}
      pid=${pid%/environ}
      echo "slurm_stop: killing leftover job process $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-80))" >&2
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  [[ -n $SLURM_MUNGE_D && -d $SLURM_MUNGE_D ]] && cp "$SLURM_MUNGE_D/munged.log" "$SLURM_D/log/" 2>/dev/null
  [[ -n $SLURM_MUNGE_D ]] && rm -rf "$SLURM_MUNGE_D"
  SLURM_D=""
  SLURM_MUNGE_D=""
  return 0
}

slurm_logs() {
  [[ -n $SLURM_D ]] || return 0
  local f
  for f in "$SLURM_D"/log/*.log ${SLURM_MUNGE_D:+"$SLURM_MUNGE_D/munged.log"}; do
    [[ -f $f ]] || continue
    echo "---- $f (last 60 lines)"
    tail -n 60 "$f"
  done
}
