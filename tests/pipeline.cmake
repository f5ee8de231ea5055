# invmap pipeline: the main job at tiny sizes (outputs, report, skip on rerun, rerun of dependants after an
# option change, signal + resume equal to an uninterrupted run, refusal to replace foreign files, bad plans).
invmap_add_cli_test(pipeline pipeline.sh PROCESSORS 2)
