# Options (usability): unknown options refused with suggestions (commands and pipeline plan), help layout,
# predict -net, CSV columns that name no parameter, a foreign output refused before the pipeline runs.
invmap_add_cli_test(options_check options_check.sh)
