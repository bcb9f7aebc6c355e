"""nbgrader settings for the course (``grader.course.config.nbgrader_settings``). The grader loads this
file; nbgrader's own CLI can use it too (`nbgrader generate_assignment --config
grader/course/nbgrader_config.py ...`). For an instructor's course graded by nbgrader itself (formgrader's
Autograde button), see ``grader.grading.preprocessor``."""

from grader.course.config import nbgrader_settings

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

c.CourseDirectory.course_id = "attention-from-smoothing-to-gpt"
nbgrader_settings(c)
