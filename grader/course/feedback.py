"""The feedback page a learner reads: nbgrader's, with the grader's summary of every exercise on top.

nbgrader makes a new exporter, and so a new Jinja environment, for every feedback page; compiling the
page's 27 templates again each time is a third of the page's cost. ``FeedbackExporter`` keeps them in
Jinja's bytecode cache, per template source, in a folder of the user's own that Jinja creates private and
checks before use.
"""

from __future__ import annotations

from jinja2 import Environment, FileSystemBytecodeCache, PackageLoader, select_autoescape
from nbconvert.exporters import HTMLExporter

from grader.course.folder import Course, NbgraderError
from grader.results import SubmissionResult

_compiled_templates = FileSystemBytecodeCache()
_templates = Environment(
    loader=PackageLoader("grader.course"), autoescape=select_autoescape(["j2"], default_for_string=True)
)

FEEDBACK_STYLE = (
    ".attention-message { white-space: pre-wrap; overflow-wrap: anywhere; font-family: monospace; }"
    " .output_subarea pre { white-space: pre-wrap; overflow-wrap: anywhere; }"
)
"""Messages wrap, on the summary and in the notebook's outputs below it, instead of running off the page."""


class FeedbackExporter(HTMLExporter):
    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = _compiled_templates
        return environment


def feedback_page(course: Course, result: SubmissionResult) -> str | None:
    """nbgrader's feedback page for ``result``'s notebook, graded in ``course``, with a summary of every
    exercise's points and diagnosis on top; None, and the reason in ``result.problem``, if nbgrader fails."""
    try:
        nbgrader_page = course.feedback(result.assignment, result.student_id)
    except NbgraderError as error:
        result.problem = f"feedback could not be generated: {error.last_line}"
        return None
    given = instructor_scores(course, result)
    total = sum(given.get(exercise.exercise_id, exercise.score) for exercise in result.exercises)
    summary = _templates.get_template("feedback_summary.html.j2").render(
        result=result, given=given, total=total, style=FEEDBACK_STYLE
    )
    page = nbgrader_page.read_text(encoding="utf-8")
    return page.replace("<body>", "<body>" + summary, 1) if "<body>" in page else summary + page


def instructor_scores(course: Course, result: SubmissionResult) -> dict[str, float]:
    """The scores the instructor gave by hand in formgrader, by exercise: they count instead of the
    automatic ones (nbgrader's rule), so the summary shows them."""
    from course_lib.registry import get_exercise

    grades = course.cell_grades(result.assignment, result.student_id)
    given = {}
    for exercise in result.exercises:
        _, manual = grades.get(get_exercise(exercise.exercise_id).test_cell_id, (None, None))
        if manual is not None:
            given[exercise.exercise_id] = manual
    return given
