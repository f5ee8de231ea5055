# Tests of invmap evaluate (issue 5): metrics vs numpy, 1 vs 2 ranks, bad input.
invmap_add_cli_test(evaluate_cli evaluate_cli.sh LABELS evaluate)
