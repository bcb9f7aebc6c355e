"""nbgrader settings for the course. The grader loads this file; nbgrader's own CLI can use it too
(`nbgrader generate_assignment --config grader/course/nbgrader_config.py ...`)."""

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.converters import Autograde
from nbgrader.preprocessors import ClearHiddenTests, Execute, GetGrades

from grader.settings import Limits

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

c.CourseDirectory.course_id = "attention-from-smoothing-to-gpt"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
# The grader's own cell limit, so that nbgrader run on its own stops a cell where the grader would.
c.Execute.timeout = Limits().cell_seconds
# The outputs are all in by then, and a kernel that is asked to quit takes a tenth of a second to do so.
c.Execute.shutdown_kernel = "immediate"
# nbgrader's feedback page, its templates compiled once rather than for every page.
c.GenerateFeedback.exporter_class = "grader.course.feedback.FeedbackExporter"
# nbgrader's feedback shows each test cell whole, its hidden part included (nbgrader issue #917): cleared
# here as in the released notebook, so a page never shows what the learner was not meant to see.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
# GuardedExecute caps each cell's output while it arrives and says so; nbgrader's LimitOutput would then
# cut it again at 1,000 lines and drop every output after them, that note included.
c.LimitOutput.max_lines = -1
# nbgrader's autograde steps, with GuardedExecute for its Execute: a kernel that dies or hangs then costs
# only the points after it, instead of the whole notebook.
c.Autograde.autograde_preprocessors = [
    "grader.course.execute.GuardedExecute" if step is Execute else step
    for step in Autograde.class_traits()["autograde_preprocessors"].default()
]
