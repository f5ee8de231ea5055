# Joint inference of (theta0, theta1, sigma, rho) (issue 12): share/experiments/joint.opts at tiny sizes, evaluate's
# noise targets and the report's joint table against numpy.
invmap_add_cli_test(joint_inference joint_inference.sh LABELS "evaluate;report;pipeline")
