# The SLURM jobs of jobs/ on a real one-node SLURM started by the test (label "slurm"; needs root and
# Debian's slurmctld/slurmd/munge, which scripts/install-deps.sh --with-slurm installs; fails without
# them). Runs alone: it starts daemons and its jobs use both cores. About 1-2 minutes; its own waits are
# bounded (under 10 minutes in all) so that it always stops its daemons before ctest would kill it.
invmap_add_cli_test(slurm_jobs slurm_jobs.sh LABELS slurm PROCESSORS 2)
set_tests_properties(slurm_jobs PROPERTIES RUN_SERIAL TRUE TIMEOUT 3000) # its waits end only on a hang (HANG_SECONDS in the script)
