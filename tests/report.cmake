# Tests of the report's figures (issue 5): share/report/figures.py on tiny invmap outputs, and its bad input.
invmap_add_cli_test(report_figures report_figures.sh LABELS report)
