"""``python -m grader report OUT`` on a synthetic OUT: no grading, only grades.csv and results.json."""

import base64
import csv
import json
import math
from collections import Counter

import markupsafe
import pytest
from PIL import Image

from course_lib.registry import get_exercise, lesson_exercises
from tests.conftest import run_grader

LESSONS = ("01_smoothing", "02_lookup")
UNSUBMITTED_LESSON = "03_qkv"
"""In the gradebook (every student has nbgrader's 0 row) but nobody handed it in."""
STUDENTS = ("alice", "bob", "carol", "dave", "erin")
FLAG = "smooth: the notebook's own test passed, but its outputs fail the visible cases (possible tampering)"
NOTE = "graded <b>with</b> a correct softmax"
PROBLEM = "not graded: the file is not valid JSON (Expecting value at line 1, column 12)"

# (student, lesson) -> what happened per exercise: "pass", "zero" (wrong, nothing named), "half" (part of
# the points), or a mistake id; a missing exercise is not in results.json at all.
OUTCOMES = {
    ("alice", "01_smoothing"): {
        "moving_average_weights": "pass",
        "gaussian_weights": "pass",
        "smooth": "pass",
    },
    ("bob", "01_smoothing"): {
        "moving_average_weights": "pass",
        "gaussian_weights": "normalised_over_columns",
        "smooth": "zero",
    },
    ("carol", "01_smoothing"): {
        "moving_average_weights": "window_too_narrow",
        "gaussian_weights": "normalised_over_columns",
        "smooth": "weights_transposed",
    },
    ("dave", "01_smoothing"): {
        "moving_average_weights": "pass",
        "gaussian_weights": "sigma_as_variance",
        "smooth": "half",
    },
    ("erin", "01_smoothing"): {
        "moving_average_weights": "pass",
        "gaussian_weights": "normalised_over_columns",
        "smooth": "pass",
    },
    ("alice", "02_lookup"): {
        "similarity_scores": "pass",
        "softmax": "pass",
        "soft_lookup": "pass",
        "hard_lookup": "pass",
    },
    ("bob", "02_lookup"): {
        "similarity_scores": "transposed",
        "softmax": "ignores_axis",
        "soft_lookup": "pass",
        "hard_lookup": "argmin",
    },
    ("carol", "02_lookup"): {
        "similarity_scores": "pass",
        "softmax": "ignores_axis",
        "soft_lookup": "zero",
        "hard_lookup": "pass",
    },
    ("erin", "02_lookup"): {},  # could not be graded: a problem and no exercises
}
FLAGGED = {("bob", "01_smoothing"): FLAG}
PROBLEMS = {("erin", "02_lookup"): PROBLEM}
NOTES = {("carol", "02_lookup"): NOTE}


def _exercise_result(exercise, outcome: str) -> dict:
    score = {"pass": exercise.points, "half": exercise.points / 2}.get(outcome, 0.0)
    entry = {"exercise_id": exercise.id, "score": float(score), "max_score": float(exercise.points)}
    if outcome in ("pass", "zero", "half"):
        return entry | {"message": "✔ all cases pass" if outcome == "pass" else "wrong values"}
    return entry | {"message": exercise.mistake(outcome).diagnosis + " (case 2)", "mistake": outcome}


def _submission(student: str, lesson: str, outcomes: dict[str, str]) -> dict:
    exercises = [_exercise_result(e, outcomes[e.id]) for e in lesson_exercises(lesson) if e.id in outcomes]
    submission = {
        "student_id": student,
        "assignment": lesson,
        "score": sum(exercise["score"] for exercise in exercises),
        "max_score": float(_max_score(lesson)),
        "exercises": exercises,
        "problem": PROBLEMS.get((student, lesson)),
        "flags": [FLAGGED[student, lesson]] if (student, lesson) in FLAGGED else [],
    }
    if (student, lesson) in NOTES:
        submission["notes"] = [NOTES[student, lesson]]
    return submission


def _max_score(lesson: str) -> int:
    return sum(exercise.points for exercise in lesson_exercises(lesson))


def _grades_rows(results: list[dict]) -> list[dict]:
    """As nbgrader's CsvExportPlugin writes them: every student x every assignment in the gradebook, 0 and
    no timestamp where nbgrader holds no submission (not handed in, or a notebook it could not read)."""
    graded = {(r["student_id"], r["assignment"]): r for r in results if not r["problem"]}
    rows = []
    for lesson in (*LESSONS, UNSUBMITTED_LESSON):
        for student in STUDENTS:
            result = graded.get((student, lesson))
            score = result["score"] if result else 0.0
            rows.append(
                {
                    "assignment": lesson,
                    "duedate": "None",
                    "timestamp": "None" if result else "",
                    "student_id": student,
                    "last_name": "None",
                    "first_name": "None",
                    "email": "None",
                    "raw_score": score,
                    "late_submission_penalty": 0.0,
                    "score": score,
                    "max_score": float(_max_score(lesson)),
                }
            )
    return rows


def _write_out(out, results: list[dict], grades: list[dict]):
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    columns = "assignment,duedate,timestamp,student_id,last_name,first_name,email,raw_score,"
    columns += "late_submission_penalty,score,max_score"
    with open(out / "grades.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns.split(","))
        writer.writeheader()
        writer.writerows(grades)
    return out


def _report(out):
    return run_grader("report", out, timeout=300)


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    results = [_submission(student, lesson, outcomes) for (student, lesson), outcomes in OUTCOMES.items()]
    out = _write_out(tmp_path_factory.mktemp("out"), results, _grades_rows(results))
    run = _report(out)
    assert run.returncode == 0, run.stdout + run.stderr
    return out


def _summary(out) -> dict:
    return json.loads((out / "report" / "summary.json").read_text())


def _results(out) -> list[dict]:
    return json.loads((out / "results.json").read_text())


def test_one_page_that_embeds_every_png(reported):
    folder = reported / "report"
    assert [page.name for page in folder.glob("*.html")] == ["index.html"]
    page = (folder / "index.html").read_text()
    pngs = sorted(folder.glob("*.png"))
    assert {png.stem for png in pngs} == {"scores", "pass_rates", "mistakes"}
    for png in pngs:
        assert base64.b64encode(png.read_bytes()).decode() in page, png.name
    assert page.count("<img ") == len(pngs)


def test_every_png_is_a_valid_image(reported):
    for png in (reported / "report").glob("*.png"):
        with Image.open(png) as image:
            image.verify()
            assert image.format == "PNG" and min(image.size) > 100, png.name


def test_histograms_count_the_handed_in_scores_of_grades_csv(reported):
    handed_in = {(result["student_id"], result["assignment"]) for result in _results(reported)}
    with open(reported / "grades.csv", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if (row["student_id"], row["assignment"]) in handed_in]
    expected = {}
    for row in rows:
        bins = math.ceil(float(row["max_score"]))
        counts = expected.setdefault(row["assignment"], [0] * bins)
        counts[min(int(float(row["score"])), bins - 1)] += 1
    histograms = _summary(reported)["score_histograms"]
    assert {lesson: histogram["counts"] for lesson, histogram in histograms.items()} == expected
    assert histograms["01_smoothing"]["bin_edges"] == list(range(_max_score("01_smoothing") + 1))


def test_headline_counts_students_submissions_and_scores(reported):
    summary = _summary(reported)
    assert summary["students"] == len(STUDENTS)
    assert summary["submissions"] == len(OUTCOMES)
    lessons = {entry["lesson"]: entry for entry in summary["lessons"]}
    smoothing_scores = sorted(r["score"] for r in _results(reported) if r["assignment"] == "01_smoothing")
    assert lessons["01_smoothing"]["mean"] == pytest.approx(sum(smoothing_scores) / len(smoothing_scores))
    assert lessons["01_smoothing"]["median"] == smoothing_scores[2]
    assert lessons["02_lookup"]["not_handed_in"] == 1  # dave
    assert lessons["02_lookup"]["problems"] == 1
    assert lessons[UNSUBMITTED_LESSON]["submissions"] == 0 and lessons[UNSUBMITTED_LESSON]["mean"] is None
    assert list(lessons)[:3] == [*LESSONS, UNSUBMITTED_LESSON]


def test_pass_rates_follow_results_json_in_course_order(reported):
    results = _results(reported)
    expected = []
    for lesson in LESSONS:
        submissions = [r for r in results if r["assignment"] == lesson]
        for exercise in lesson_exercises(lesson):
            passed = sum(
                1
                for submission in submissions
                for e in submission["exercises"]
                if e["exercise_id"] == exercise.id and e["score"] == exercise.points
            )
            expected.append((lesson, exercise.id, passed, len(submissions), passed / len(submissions)))
    pass_rates = _summary(reported)["pass_rates"]
    assert [tuple(entry.values()) for entry in pass_rates] == expected


def test_mistakes_are_counted_and_explained(reported):
    expected = Counter(
        (e["exercise_id"], e["mistake"]) for r in _results(reported) for e in r["exercises"] if "mistake" in e
    )
    mistakes = _summary(reported)["mistakes"]
    assert {(m["exercise_id"], m["mistake_id"]): m["count"] for m in mistakes} == expected
    assert [m["count"] for m in mistakes] == sorted(expected.values(), reverse=True)
    assert (mistakes[0]["exercise_id"], mistakes[0]["mistake_id"]) == (
        "gaussian_weights",
        "normalised_over_columns",
    )
    page = (reported / "report" / "index.html").read_text()
    for mistake in mistakes:
        diagnosis = get_exercise(mistake["exercise_id"]).mistake(mistake["mistake_id"]).diagnosis
        assert mistake["diagnosis"] == diagnosis
        assert _escaped(diagnosis) in page


def test_flagged_lists_flags_problems_and_notes(reported):
    flagged = _summary(reported)["flagged"]
    assert [(f["student_id"], f["assignment"]) for f in flagged] == [
        ("bob", "01_smoothing"),
        ("carol", "02_lookup"),
        ("erin", "02_lookup"),
    ]
    assert (
        flagged[0]["flags"] == [FLAG] and flagged[1]["notes"] == [NOTE] and flagged[2]["problem"] == PROBLEM
    )
    page = (reported / "report" / "index.html").read_text()
    for text in (FLAG, NOTE, PROBLEM):
        assert _escaped(text) in page
    assert "<b>with</b>" not in page


def _escaped(text: str) -> str:
    return str(markupsafe.escape(text))


@pytest.mark.parametrize("missing", ["results.json", "grades.csv"])
def test_a_missing_input_is_named_with_the_command_that_writes_it(tmp_path, missing):
    out = _write_out(tmp_path / "out", [], [])
    (out / missing).unlink()
    run = _report(out)
    assert run.returncode == 1
    assert str(out / missing) in run.stderr and "python -m grader autograde" in run.stderr
    assert not (out / "report" / "index.html").exists()


def test_an_empty_class_gets_a_page_that_says_so(tmp_path):
    out = _write_out(tmp_path / "out", [], [])
    run = _report(out)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no submissions" in run.stdout
    assert "No submissions." in (out / "report" / "index.html").read_text()
    assert list((out / "report").glob("*.png")) == []
    assert _summary(out)["submissions"] == 0 and _summary(out)["score_histograms"] == {}


def test_a_submission_missing_from_grades_csv_is_warned_about(tmp_path):
    results = [_submission("alice", "01_smoothing", OUTCOMES["alice", "01_smoothing"])]
    out = _write_out(tmp_path / "out", results, [])
    run = _report(out)
    assert run.returncode == 0, run.stdout + run.stderr
    summary = _summary(out)
    assert len(summary["warnings"]) == 1 and "alice / 01_smoothing" in summary["warnings"][0]
    assert summary["score_histograms"] == {}
    assert (
        "alice / 01_smoothing is in results.json but not in grades.csv"
        in (out / "report" / "index.html").read_text()
    )


def test_skipped_files_are_listed_apart_and_not_counted_as_submissions(tmp_path):
    results = [_submission("alice", "01_smoothing", OUTCOMES["alice", "01_smoothing"])]
    skipped = {"skipped": "alice/01_smoothing/copy.ipynb", "reason": "in a folder for 01_smoothing, ..."}
    out = _write_out(tmp_path / "out", [*results, skipped], _grades_rows(results))
    run = _report(out)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 file(s) skipped" in run.stdout
    summary = _summary(out)
    assert summary["submissions"] == 1
    assert summary["skipped"] == [{"file": skipped["skipped"], "reason": skipped["reason"]}]
    page = (out / "report" / "index.html").read_text()
    assert "Skipped files" in page and _escaped(skipped["skipped"]) in page


# What some wrong answers got right: (student, lesson, exercise) -> (cases passed, kinds of the cases failed).
CASE_OUTCOMES = {
    ("bob", "01_smoothing", "smooth"): (3, ["large_values"]),
    ("carol", "01_smoothing", "smooth"): (2, ["large_values", "queries_differ_from_keys"]),
    ("dave", "01_smoothing", "smooth"): (4, ["queries_differ_from_keys"]),
    ("bob", "02_lookup", "softmax"): (0, ["batched", "large_values"]),  # wrong on every case: not counted
    ("carol", "02_lookup", "softmax"): (5, ["batched"]),
}


@pytest.fixture(scope="module")
def screened(tmp_path_factory):
    """A class with case outcomes, a learner graded twice and a screening with one pair."""
    results = [_submission(student, lesson, outcomes) for (student, lesson), outcomes in OUTCOMES.items()]
    for result in results:
        for exercise in result["exercises"]:
            passed, kinds = CASE_OUTCOMES.get(
                (result["student_id"], result["assignment"], exercise["exercise_id"]), (7, [])
            )
            exercise |= {"cases_passed": passed, "cases": 7, "failed_case_kinds": kinds}
    out = _write_out(tmp_path_factory.mktemp("out"), results, _grades_rows(results))
    first_try = _submission(
        "dave", "01_smoothing", {**OUTCOMES["dave", "01_smoothing"], "smooth": "weights_transposed"}
    )
    journal = [
        {"student_id": "dave", "assignment": "01_smoothing", "notebook_sha256": "1", "result": first_try},
        {
            "student_id": "dave",
            "assignment": "01_smoothing",
            "notebook_sha256": "2",
            "result": _results(out)[3],
        },
        {
            "student_id": "alice",
            "assignment": "01_smoothing",
            "notebook_sha256": "3",
            "result": _results(out)[0],
        },
        {
            "student_id": "alice",
            "assignment": "01_smoothing",
            "notebook_sha256": "3",
            "result": _results(out)[0],
        },
    ]
    (out / "journal.jsonl").write_text("".join(json.dumps(entry) + "\n" for entry in journal))
    pair = {
        "lesson": "02_lookup",
        "first": "bob",
        "second": "carol",
        "strength": 2.0,
        "reasons": ["the same unusual wrong numbers on every hidden case of softmax"],
        "exercises": ["softmax"],
        "answers": {"softmax": ["return np.exp(x) / np.exp(x).sum()", "e = np.exp(x)\nreturn e / e.sum()"]},
    }
    (out / "similarity.json").write_text(json.dumps({"screened": True, "pairs": [pair]}))
    run = _report(out)
    assert run.returncode == 0, run.stdout + run.stderr
    return out


def test_mistakes_give_their_share_of_the_learners_who_handed_the_exercise_in(reported):
    handed_in = Counter(e["exercise_id"] for r in _results(reported) for e in r["exercises"])
    for mistake in _summary(reported)["mistakes"]:
        assert mistake["share"] == mistake["count"] / handed_in[mistake["exercise_id"]]
    normalised = next(
        m for m in _summary(reported)["mistakes"] if m["mistake_id"] == "normalised_over_columns"
    )
    assert normalised["share"] == 3 / 5  # bob, carol and erin, of the five who handed gaussian_weights in


def test_hard_cases_count_the_partly_right_answers_failing_each_kind(screened):
    partly_right = [
        e
        for r in _results(screened)
        for e in r["exercises"]
        if e["score"] < e["max_score"] and e["cases_passed"] > 0
    ]
    expected = {
        (exercise_id, kind): (
            sum(kind in e["failed_case_kinds"] for e in partly_right if e["exercise_id"] == exercise_id),
            sum(e["exercise_id"] == exercise_id for e in partly_right),
        )
        for exercise_id, kind in {(e["exercise_id"], k) for e in partly_right for k in e["failed_case_kinds"]}
    }
    kinds = _summary(screened)["case_kinds"]
    assert {
        (k["exercise_id"], k["kind"]): (k["failing"], k["partly_right_answers"]) for k in kinds
    } == expected
    # smooth: bob, carol and dave lost points; two of the three fail a case with large values.
    assert expected["smooth", "large_values"] == (2, 3)
    assert ("softmax", "large_values") not in expected  # only bob's, which fails every case
    page = (screened / "report" / "index.html").read_text()
    assert (
        "Hard cases" in page
        and _escaped(f"{kinds[0]['failing']} / {kinds[0]['partly_right_answers']}") in page
    )
    assert "inputs of 50 or more in size" in page


def test_a_learner_graded_again_shows_what_changed(screened):
    history = _summary(screened)["history"]
    assert [(h["student_id"], h["scores"]) for h in history] == [
        (
            "dave",
            [
                _submission(
                    "dave",
                    "01_smoothing",
                    {**OUTCOMES["dave", "01_smoothing"], "smooth": "weights_transposed"},
                )["score"],
                _results(screened)[3]["score"],
            ],
        )
    ]  # alice's notebook graded twice unchanged is one attempt
    assert history[0]["changes"] == [
        {"gained": [], "lost": [], "mistakes_fixed": ["smooth: weights_transposed"], "new_mistakes": []}
    ]
    assert "attempt 2: fixed smooth: weights_transposed" in (screened / "report" / "index.html").read_text()


def test_pairs_worth_a_look_are_shown_with_their_code_side_by_side(screened):
    page = (screened / "report" / "index.html").read_text()
    assert "Worth a look: similar work" in page and "02_lookup: bob and carol" in page
    assert "the same unusual wrong numbers on every hidden case of softmax" in page
    assert (
        _escaped("return np.exp(x) / np.exp(x).sum()") in page
        and _escaped("e = np.exp(x)\nreturn e / e.sum()") in page
    )
    assert "no finding of copying" in page


def test_a_class_not_screened_says_so(reported, tmp_path):
    assert (
        "graded before screening for similar work existed" in (reported / "report" / "index.html").read_text()
    )
    out = _write_out(tmp_path / "out", [], [])
    (out / "similarity.json").write_text(json.dumps({"screened": False}))
    (out / "results.json").write_text(
        json.dumps([_submission("alice", "01_smoothing", OUTCOMES["alice", "01_smoothing"])])
    )
    assert _report(out).returncode == 0
    assert "Screening for similar work was turned off" in (out / "report" / "index.html").read_text()
