"""An instructor's own nbgrader course graded in place (``autograde --course DIR``): grades in its
gradebook, autograded notebooks and feedback where nbgrader keeps them, its manual grades kept."""

import json

import pytest
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.utils import notebook_hash
from traitlets.config import Config

from course_lib.registry import get_exercise, lesson_exercises
from grader.course import Course
from tests.conftest import make_submission, run_grader, solution_answers

LESSON = "01_smoothing"
TIMESTAMP = "2026-11-30 09:15:00.000000 UTC"
SECRET = "b5c2f4a0e1d3"  # what nbgrader's submit writes beside the notebook, one per submission
WRONG = ("(2 * sigma**2)", "(2 * sigma)")  # sigma_as_variance in gaussian_weights


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    Course(root).add_lesson(LESSON)  # what `nbgrader generate_assignment` leaves: source, release, gradebook
    wrong = solution_answers(LESSON)
    wrong["answer_gaussian_weights"] = wrong["answer_gaussian_weights"].replace(*WRONG)
    for student, answers in (("alice", solution_answers(LESSON)), ("bob", wrong)):
        notebook = make_submission(root / "submitted", student, LESSON, answers)
        (notebook.parent / "timestamp.txt").write_text(TIMESTAMP)
        (notebook.parent / "submission_secret.txt").write_text(SECRET)
    graded = run_grader("autograde", "--course", root)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    return root


def _scores(root) -> dict[str, float]:
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        return {student: gradebook.find_submission(LESSON, student).score for student in ("alice", "bob")}


def test_the_courses_own_gradebook_holds_the_grades(course):
    points = sum(exercise.points for exercise in lesson_exercises(LESSON))
    assert _scores(course) == {"alice": points, "bob": points - get_exercise("gaussian_weights").points}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        assert str(gradebook.find_submission(LESSON, "bob").timestamp).startswith("2026-11-30 09:15")
        # Graded in full: formgrader lists nothing as waiting for a person.
        assert not any(gradebook.find_submission(LESSON, s).needs_manual_grade for s in ("alice", "bob"))


def test_autograded_notebooks_and_feedback_are_where_nbgrader_keeps_them(course):
    assert (course / "autograded" / "alice" / LESSON / f"{LESSON}.ipynb").is_file()
    page = (course / "feedback" / "bob" / LESSON / f"{LESSON}.html").read_text()
    assert get_exercise("gaussian_weights").mistake("sigma_as_variance").diagnosis.split(",")[0] in page
    assert 'id="attention-summary"' in page
    results = json.loads((course / "attention_grading" / "results.json").read_text())
    assert {result["student_id"] for result in results} == {"alice", "bob"}


def test_a_manual_grade_survives_a_regrade(course):
    before = _scores(course)["bob"]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        grade = gradebook.find_grade("test_gaussian_weights", LESSON, LESSON, "bob")
        grade.manual_score = 1.5  # partial credit, given in formgrader
        gradebook.db.commit()
    regraded = run_grader("autograde", "--course", course, "--regrade")
    assert regraded.returncode == 0, regraded.stdout + regraded.stderr
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        assert gradebook.find_grade("test_gaussian_weights", LESSON, LESSON, "bob").manual_score == 1.5
    assert _scores(course)["bob"] == before + 1.5  # the cell's 0 from the grader, plus the manual 1.5
    # The learner's feedback counts it as nbgrader does, and says whose it is.
    page = (course / "feedback" / "bob" / LESSON / f"{LESSON}.html").read_text()
    points = get_exercise("gaussian_weights").points
    assert f"1.5 / {points:g}, given by your instructor (the automatic check: 0)" in page
    assert f"<h2>{LESSON}: {before + 1.5:g} / " in page


def test_formgrader_shows_each_diagnosis_beside_its_answer(course):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        comments = {
            student: {
                comment.name: comment.auto_comment
                for comment in gradebook.find_submission_notebook(LESSON, LESSON, student).comments
            }
            for student in ("alice", "bob")
        }
    diagnosis = get_exercise("gaussian_weights").mistake("sigma_as_variance").diagnosis
    assert diagnosis in comments["bob"]["answer_gaussian_weights"]
    assert set(comments["alice"].values()) == {None}


def test_nbgrader_releases_the_feedback_where_each_learner_fetches_it(course, tmp_path):
    """nbgrader's release_feedback files each page under the hash of its submission's secret, which
    fetch_feedback looks up: the secret and timestamp have to travel with the feedback."""
    api = NbGraderAPI(
        config=Config(
            {
                "CourseDirectory": {"root": str(course), "course_id": "course"},
                "Exchange": {"root": str(tmp_path)},
            }
        )
    )
    released = api.release_feedback(LESSON, "bob")
    assert released["success"], released
    page = tmp_path / "course" / "feedback" / f"{notebook_hash(secret=SECRET, notebook_id=LESSON)}.html"
    assert page.read_text() == (course / "feedback" / "bob" / LESSON / f"{LESSON}.html").read_text()


def test_the_course_is_found_where_nbgrader_finds_its_config(tmp_path, monkeypatch):
    """`python -m grader autograde` with neither SUBMISSIONS nor --course grades the course nbgrader would:
    the root an nbgrader_config.py on Jupyter's config path names, else this folder if it has one."""
    from grader.cli import nbgrader_course

    elsewhere, config_dir, course = tmp_path / "elsewhere", tmp_path / "jupyter", tmp_path / "course"
    for folder in (elsewhere, config_dir, course):
        folder.mkdir()
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.jupyter of the machine's
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(config_dir))
    monkeypatch.chdir(elsewhere)
    assert nbgrader_course() is None
    config = f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\n"
    (config_dir / "nbgrader_config.py").write_text(config)
    assert nbgrader_course() == course
    (config_dir / "nbgrader_config.py").unlink()
    (course / "nbgrader_config.py").write_text("c = get_config()\n")
    monkeypatch.chdir(course)
    assert nbgrader_course() == course


def test_without_a_course_to_find_autograde_says_what_it_needs(tmp_path, monkeypatch, capsys):
    from grader.cli import main

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit:
        main(["autograde"])
    assert exit.value.code == 2
    assert "no nbgrader course was found here" in capsys.readouterr().err
