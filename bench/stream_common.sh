# Shared by bench/bench_stream.sh and bench/bench_stream_compare.sh (sourced, not run): the benchmark set and
# one measured training run. The caller sets B (build dir), N (samples), PREC (single|double) and W (work dir).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPI="mpiexec -n 2"
mkdir -p $W
SET=$W/set_${N}_$PREC.h5
# The set: simulated once, resumable (an interrupted simulation leaves $SET.partial, continued with -resume)
stream_set() {
  [ -f $SET ] && return 0
  local resume=""
  [ -f $SET.partial ] && resume="-resume"
  $MPI $B/invmap simulate -n $N -seed 1 -noise_type ar1 -series_precision $PREC -o $SET -quiet $resume
}
# stream_run BIN SAMPLES OPTIONS...: one training run of SAMPLES samples per epoch with the train command line
# $T; sets RATE (samples/s over all epochs: samples x epochs / training seconds to the end of the last epoch,
# both from the model file's /history at full precision), ELAPSED (those seconds), RSS (peak RSS of each rank,
# MB) and WALL (wall seconds of the slowest rank's command). Each rank's /usr/bin/time goes to its own file:
# the ranks' outputs share one stream, where their lines could interleave.
stream_run() {
  local bin=$1 n=$2
  shift 2
  rm -f $W/time.*
  $MPI sh -c 'exec /usr/bin/time -o "$0.${OMPI_COMM_WORLD_RANK:-0}" -f "%M %e" "$@"' $W/time $bin $T "$@" > $W/run.log 2>&1 ||
    { cat $W/run.log >&2; return 1; }
  read -r RATE ELAPSED < <(/usr/bin/python3 -c 'import sys, h5py
d = h5py.File(sys.argv[1], "r")["history"]
cols = d.attrs["columns"]
e = d[-1, (cols.decode() if isinstance(cols, bytes) else cols).split(",").index("elapsed_seconds")]
print("%.0f %.3f" % (int(sys.argv[2]) * d.shape[0] / e, e))' $W/model.h5 $n)
  RSS=$(cat $W/time.* | awk '{printf " %.0f", $1 / 1024}')
  WALL=$(cat $W/time.* | awk '$2 > w {w = $2} END {print w}')
}
