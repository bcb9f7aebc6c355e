"""The classroom around the grader: a course hub (JupyterHub and nbgrader's exchange) and the way back to
the learning management system (grade and feedback files its import screens take)."""
