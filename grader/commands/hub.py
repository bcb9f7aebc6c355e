"""``python -m grader hub FOLDER --instructor NAME ...``: the course on JupyterHub for a class on one
machine (``grader.classroom.hub``)."""

from grader.classroom.hub import hub_command as hub

__all__ = ["hub"]
