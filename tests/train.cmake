# invmap train / invmap predict: data-parallel training (rank invariance, bitwise reproducibility,
# checkpoint/resume), prediction on HDF5 and CSV, and bad inputs.
invmap_add_unit_test(test_train_features ${CMAKE_CURRENT_SOURCE_DIR}/test_train_features.c RANKS 1 2)
add_executable(nn_tool ${CMAKE_CURRENT_SOURCE_DIR}/nn_tool.c)
target_link_libraries(nn_tool PRIVATE invmap_lib)
if(INVMAP_SANITIZE)
  target_sources(nn_tool PRIVATE ${CMAKE_SOURCE_DIR}/src/cli/sanitizer_hook.c) # its reports fail the test too
endif()
invmap_add_cli_test(train_ranks train_ranks.sh PROCESSORS 2)
invmap_add_cli_test(train_resume train_resume.sh PROCESSORS 2)
invmap_add_cli_test(train_predict train_predict.sh PROCESSORS 2)
invmap_add_cli_test(train_bad_input train_bad_input.sh PROCESSORS 2)
invmap_add_cli_test(train_stream train_stream.sh PROCESSORS 2)
invmap_add_cli_test(train_nll train_nll.sh PROCESSORS 2)
invmap_add_cli_test(train_moment train_moment.sh PROCESSORS 2)
invmap_add_cli_test(train_data train_data.sh PROCESSORS 2)
