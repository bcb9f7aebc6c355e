"""The course for a class: on JupyterHub with nbgrader's exchange and formgrader (``hub``)."""
