# New models (issue 14): plugins (cmake --install, the example plugin built out of tree with find_package(invmap),
# `invmap model`'s derivative check, refusals, the plugin's model end to end on 2 ranks) and the three-parameter
# FitzHugh-Nagumo through the whole pipeline, and Hodgkin-Huxley (explicit and implicit paths, MAP).
invmap_add_cli_test(model_plugin model_plugin.sh LABELS plugin)
invmap_add_cli_test(model_fhn3 model_fhn3.sh LABELS plugin)
invmap_add_cli_test(model_hh model_hh.sh LABELS plugin)
