# Tests of invmap map (issue 4): adjoint gradients, Hessians, multistart vs grid search, bad input, CLI.
invmap_add_unit_test(test_map_gradient ${CMAKE_CURRENT_SOURCE_DIR}/test_map_gradient.c RANKS 1 LABELS map)
invmap_add_unit_test(test_map_hessian ${CMAKE_CURRENT_SOURCE_DIR}/test_map_hessian.c RANKS 1 LABELS map)
invmap_add_unit_test(test_map_multistart ${CMAKE_CURRENT_SOURCE_DIR}/test_map_multistart.c RANKS 1 LABELS map)
invmap_add_unit_test(test_map_bad_input ${CMAKE_CURRENT_SOURCE_DIR}/test_map_bad_input.c RANKS 1 LABELS map)
invmap_add_cli_test(map_cli map_cli.sh LABELS map)
invmap_add_unit_test(test_map_soa ${CMAKE_CURRENT_SOURCE_DIR}/test_map_soa.c RANKS 1 2 LABELS map)
invmap_add_cli_test(map_resume map_resume.sh LABELS map)
invmap_add_unit_test(test_map_chisq ${CMAKE_CURRENT_SOURCE_DIR}/test_map_chisq.c RANKS 1 LABELS map)
# one J (include/invmap/objective.h): MAP's and evaluate's objective bitwise equal on the same inputs
invmap_add_unit_test(test_objective_shared ${CMAKE_CURRENT_SOURCE_DIR}/test_objective_shared.c RANKS 1 LABELS map evaluate)
