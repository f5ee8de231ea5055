# Network library: finite-difference gradient tests of every kernel, the losses and heads, and whole networks;
# presets, parameter counts, options and the optimiser.
invmap_add_unit_test(test_nn_grad test_nn_grad.c)
invmap_add_unit_test(test_nn_arch test_nn_arch.c ARGS -nn_arch dense -nn_dense 16,8)
