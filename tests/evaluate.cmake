# Tests of invmap evaluate (issue 5): metric building blocks; CLI metrics vs numpy, 1 vs 2 ranks, bad input.
invmap_add_unit_test(test_evaluate_metrics ${CMAKE_CURRENT_SOURCE_DIR}/test_evaluate_metrics.c RANKS 1 LABELS evaluate)
invmap_add_cli_test(evaluate_cli evaluate_cli.sh LABELS evaluate)
# what the report's figures need: -eval_save_series, -eval_landscape (1 vs 2 ranks, J vs the objective, clean minimum)
invmap_add_cli_test(evaluate_landscape evaluate_landscape.sh LABELS evaluate)
# exact grid posteriors (-eval_posterior_n) on the linear-Gaussian test model: = Laplace = closed form, W2 and KL, refusals
invmap_add_cli_test(evaluate_posterior evaluate_posterior.sh LABELS evaluate)
