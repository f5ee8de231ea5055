#!/bin/bash
# Benchmark of invmap map (issue 4), not a test: wall time per MAP estimate single-start and multistart
# on 1 and 2 ranks, forward+adjoint solves per estimate, the Laplace Hessian cost per sample (gn, fd,
# soa), and optionally the rate of reaching the global minimum (grid search + local refinement).
# The machine is shared and noisy: every configuration runs REPS times, interleaved with a baseline build
# (e.g. the commit before a change) when one is given, and the medians are reported.
# Usage: bench/bench_map.sh [build dir] [N] [REPS] [baseline build dir] [N for the global-minimum check, 0: skip]
set -euo pipefail
B=${1:-build}
N=${2:-256}
REPS=${3:-3}
BASE=${4:-}
NC=${5:-0}
MPI="mpiexec --allow-run-as-root --oversubscribe --bind-to none"
LOG=$(mktemp /tmp/bench_map.XXXXXX)
echo "# $(date -u)  $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg); N=$N, $REPS repetitions, build $B${BASE:+, baseline $BASE}"
echo "# timing (covariance off, -map_hessian none), FHN, 1000 observations, AR(1) noise"
for r in $(seq 1 "$REPS"); do
  for b in $BASE $B; do
    for np in 1 2; do
      $MPI -n $np "$b/bench/bench_map" -bench_n "$N" -map_hessian none | sed "s|^|$b |" >> "$LOG"
    done
  done
  for np in 1 2; do $MPI -n $np "$B/bench/bench_map" -bench_n "$N" -bench_hessian | sed "s|^|$B |" >> "$LOG"; done
done
/usr/bin/python3 - "$LOG" << 'EOF2'
import re, sys, statistics as st
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"(\S+) (single-start|multistart \d+)\s+ranks (\d+).*?([\d.]+) ms per estimate per core\s+([\d.]+) forward\+adjoint \+ ([\d.]+) forward-only", line)
    if m:
        rows.setdefault((m[1], m[2], m[3]), []).append((float(m[4]), float(m[5]), float(m[6])))
        continue
    m = re.match(r"(\S+) hessian (\S+)\s+ranks (\d+).*?([\d.]+) ms per sample per core", line)
    if m:
        rows.setdefault((m[1], "hessian " + m[2], m[3]), []).append((float(m[4]),))
        continue
    if "agreement" in line:
        print("#", line.split(" ", 1)[1].strip())
print("%-28s %-14s %5s %22s %s" % ("build", "mode", "ranks", "median ms/est/core", "runs; solves per estimate (fwd+adj, fwd-only)"))
for (b, mode, np), v in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
    ms = [x[0] for x in v]
    extra = "" if len(v[0]) == 1 else "; %.1f + %.1f" % (v[0][1], v[0][2])
    print("%-28s %-14s %5s %22.1f %s%s" % (b, mode, np, st.median(ms), " ".join("%.1f" % x for x in ms), extra))
EOF2
if [ "$NC" -gt 0 ]; then
  echo "# global-minimum success rate (reference: 61 x 81 grid + refinement of the 12 best grid minima)"
  $MPI -n 2 "$B/bench/bench_map" -bench_n "$NC" -map_hessian none -bench_check
fi
echo "# one batched forward+adjoint evaluation per member, by batch size"
for b in 1 16 64 256; do "$B/bench/bench_map_eval" -b $b -reps 3 > "$LOG.eval" && head -2 "$LOG.eval"; done
rm -f "$LOG" "$LOG.eval"
