# Stand-ins for an MPI launcher, used by tests/faults/faults.sh:
# - no arguments: an mpiexec that never reaps its ranks (Open MPI 4.1's launcher hang after a rank was
#   SIGKILLed): starts two "ranks" (sleep), ignores SIGTERM and never waits for them; checks the harness's own
#   verdicts (launcher hang vs a rank still running);
# - "rank CMD ...": starts one rank (CMD, with the environment variable by which a launcher marks its ranks) and
#   waits for it; the test SIGKILLs this process, so that the rank's launcher dies under it.
import os
import signal
import subprocess
import sys
import time

RANKS = 2
LIFETIME_SECONDS = 600  # bounded: the harness kills it long before

if len(sys.argv) > 2 and sys.argv[1] == "rank":
    env = dict(os.environ, PMI_RANK="0")
    sys.exit(subprocess.run(sys.argv[2:], env=env, timeout=LIFETIME_SECONDS).returncode)

signal.signal(signal.SIGTERM, signal.SIG_IGN)
ranks = [subprocess.Popen(["sleep", str(LIFETIME_SECONDS)]) for _ in range(RANKS)]
time.sleep(LIFETIME_SECONDS)
