# A stand-in for an mpiexec that never reaps its ranks (Open MPI 4.1's launcher hang after a rank was
# SIGKILLed): starts two "ranks" (sleep), ignores SIGTERM and never waits for them. Used by
# tests/faults/faults.sh to check the harness's own verdicts (launcher hang vs a rank still running).
import signal
import subprocess
import time

RANKS = 2
LIFETIME_SECONDS = 600  # bounded: the harness kills it long before

signal.signal(signal.SIGTERM, signal.SIG_IGN)
ranks = [subprocess.Popen(["sleep", str(LIFETIME_SECONDS)]) for _ in range(RANKS)]
time.sleep(LIFETIME_SECONDS)
