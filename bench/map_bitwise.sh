#!/bin/bash
# Not a test: whether two builds (e.g. a change and the commit before it) give bitwise the same MAP outputs. Every
# dataset of invmap map's output except /wall_time is compared exactly (h5diff without tolerance), on 1 and 2 ranks,
# for -map_hessian gn (default), fd and none, multistart.
# Usage: bench/map_bitwise.sh <build dir> <baseline build dir> [N problems, default 24]
set -euo pipefail
B=${1:?build dir}
BASE=${2:?baseline build dir}
N=${3:-24}
MPI="mpiexec --allow-run-as-root --oversubscribe --bind-to none"
W=$(mktemp -d /tmp/map_bitwise.XXXXXX)
trap 'rm -rf "$W"' EXIT
$MPI -n 2 "$B/invmap" simulate -n "$N" -obs_n 250 -seed 4 -o "$W/obs.h5" -quiet
fail=0
for hess in gn fd none; do
  for np in 1 2; do
    for b in "$BASE" "$B"; do
      tag=$([ "$b" = "$BASE" ] && echo base || echo new)
      $MPI -n $np "$b/invmap" map -i "$W/obs.h5" -o "$W/$tag.h5" -map_starts 2 -map_hessian $hess -quiet
    done
    for d in $(h5ls "$W/base.h5" | awk '{print $1}'); do
      [ "$d" = wall_time ] && continue
      if ! h5diff "$W/base.h5" "$W/new.h5" "/$d" "/$d" > /dev/null; then
        echo "DIFFERS: -map_hessian $hess, $np ranks: /$d"
        fail=1
      fi
    done
    echo "-map_hessian $hess, $np ranks: compared $(h5ls "$W/base.h5" | wc -l) datasets"
    rm -f "$W/base.h5" "$W/new.h5"
  done
done
[ $fail = 0 ] && echo "bitwise identical (all datasets but /wall_time)"
exit $fail
