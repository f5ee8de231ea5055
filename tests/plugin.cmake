# Models as plugins (issue 14): cmake --install, the example plugin built out of tree with find_package(invmap),
# `invmap model`'s derivative check, refusals, and the plugin's model end to end on 2 ranks.
invmap_add_cli_test(model_plugin model_plugin.sh LABELS plugin)
