# invmap pipeline: the main job at tiny sizes (outputs, report, skip on rerun, rerun of dependants after an
# option change, signal + resume equal to an uninterrupted run, refusal to replace foreign files, bad plans).
invmap_add_cli_test(pipeline pipeline.sh PROCESSORS 2)
invmap_add_cli_test(pipeline_laplace pipeline_laplace.sh PROCESSORS 2)
# The README's command as users run it (no argument after `pipeline`, Open MPI's default binding) at tiny
# sizes: exit 0 and no allocator/sanitizer message (the heap overflow of the run description, issue: heap
# corruption at exit).
invmap_add_cli_test(pipeline_readme_run pipeline_readme_run.sh PROCESSORS 2)
