"""Everything that talks to nbgrader: the course folder and its gradebook (``folder``), its configuration
(``config``, ``nbgrader_config.py``), the guarded Execute step (``execute``), the sandboxed kernel
(``kernel``) and the feedback page (``feedback``)."""

from grader.course.config import KernelSandbox
from grader.course.folder import Course, NbgraderError

__all__ = ["Course", "KernelSandbox", "NbgraderError"]
