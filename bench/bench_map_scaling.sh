#!/bin/bash
# Benchmark, not a test: MAP strong scaling (issue 11): wall time of bench_map's single-start estimate
# (-map_hessian none) on 1 and 2 ranks for each N, for a build and optionally a baseline build, interleaved
# (A B A B ...) so that load changes hit both; medians, the 2-rank speed-up of each build and the new/baseline
# ratio. On a shared machine a 2-rank speed-up is bounded by the free cores: the load average is printed.
# Usage: bench/bench_map_scaling.sh [build dir] [baseline build dir or ""] [REPS] [N ...]   (default N: 64 512)
# MODE=cpu (environment): instead, the process CPU time of the solve, all in single processes: the full N on 1 rank,
# and each half of it (-bench_part 0,2 and 1,2: the shares of 2 ranks); 2-rank speed-up bound = full / max(halves),
# what 2 free cores would give without communication costs. Robust to load; needs a bench_map with -bench_part.
set -euo pipefail
B=${1:-build}
BASE=${2:-}
REPS=${3:-5}
shift $(($# < 3 ? $# : 3))
NS=${*:-64 512}
MPI="mpiexec --allow-run-as-root --oversubscribe --bind-to none"
LOG=$(mktemp /tmp/bench_map_scaling.XXXXXX)
trap 'rm -f "$LOG"' EXIT
echo "# $(date -u)  $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg); N: $NS; $REPS repetitions; build $B${BASE:+, baseline $BASE}"
MODE=${MODE:-wall}
for r in $(seq 1 "$REPS"); do
  for n in $NS; do
    for np in 1 2; do
      for b in $BASE $B; do
        if [ "$MODE" = cpu ]; then
          run() { "$b/bench/bench_map" -bench_n "$n" -map_hessian none -bench_multi 0 "$@" | grep -o "cpu [0-9.]*" | cut -d' ' -f2; }
          if [ $np = 1 ]; then w=$(run); else w=$(printf "%s\n%s\n" "$(run -bench_part 0,2)" "$(run -bench_part 1,2)" | sort -g | tail -1); fi
        else
          w=$($MPI -n $np "$b/bench/bench_map" -bench_n "$n" -map_hessian none -bench_multi 0 | grep -o "wall [0-9.]*" | cut -d' ' -f2)
        fi
        echo "$b $n $np $w" >> "$LOG"
      done
    done
  done
done
echo "# mode $MODE (wall: wall time of the run; cpu: process CPU time, for 2 ranks the larger half's)"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$LOG" "$B" "$BASE" << 'EOF2'
import sys, statistics as st
rows = {}
for line in open(sys.argv[1]):
    b, n, np, w = line.split()
    rows.setdefault((b, int(n), int(np)), []).append(float(w))
new, base = sys.argv[2], sys.argv[3]
print("%-40s %5s %5s %10s  %s" % ("build", "N", "ranks", "median s", "runs"))
med = {}
for k in sorted(rows, key=lambda k: (k[1], k[2], k[0] != base)):
    med[k] = st.median(rows[k])
    print("%-40s %5d %5d %10.3f  %s" % (k[0], k[1], k[2], med[k], " ".join("%.2f" % x for x in rows[k])))
for n in sorted({k[1] for k in rows}):
    for b in [x for x in (base, new) if x]:
        if (b, n, 1) in med and (b, n, 2) in med:
            print("N %d %s: 2-rank speed-up %.2fx" % (n, b, med[(b, n, 1)] / med[(b, n, 2)]))
    if base:
        for np in (1, 2):
            print("N %d ranks %d: new/baseline %.3f" % (n, np, med[(new, n, np)] / med[(base, n, np)]))
EOF2
