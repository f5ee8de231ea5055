# Fault injection (tests/faults/): kills and signals at fixed progress lines during simulate, train, map and
# pipeline on 2 ranks, then intact files, resume and outputs equal to an uninterrupted run's; disk full and
# read-only output directories. bench/faults.sh is the long, random version.
invmap_add_cli_test(faults faults/faults.sh LABELS faults)
