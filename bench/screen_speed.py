"""How much does screening a class for shared work add to grading it?

Screens a generated class of N lesson-03 submissions (answers written independently in the natural styles
of tests/test_similarity.py, a few renamed copies among them, wrong numbers on some hidden cases) exactly
as the batch's writer does at the end (``grader.batch.screening.screen_class``), and times it. Then grades
two small classes of lesson 03 with ``python -m grader autograde`` (sandbox and verification on,
screening off) to measure what one more notebook costs, and from that estimates grading N notebooks.
Prints both times and the share screening adds.
Run from the repository root (it reuses the tests' class generator):
`.venv/bin/python -m bench.screen_speed [--submissions 200] [--workers 2]`.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.batch.screening import screen_class
from grader.paths import ROOT
from grader.results import ExerciseResult, SubmissionResult
from tests.conftest import make_submission, solution_answers
from tests.test_similarity import LESSON, honest_class, renamed_and_reflowed


def generated_class(size: int) -> tuple[list[SubmissionResult], dict[tuple[str, str], dict[str, str]]]:
    answers = honest_class(size, seed=7)
    learners = sorted(answers)
    copied_from = dict(zip(learners[: size // 20], learners[size // 20 : size // 10], strict=False))
    for copier, original in copied_from.items():
        answers[copier] = renamed_and_reflowed(answers[original])
    rng = random.Random(3)
    wrong = {
        (learner, exercise) for learner in learners for exercise in answers[learner] if rng.random() < 0.3
    }
    results = []
    for learner in learners:
        # A wrong answer's numbers are its own; a copy's are its original's.
        source = copied_from.get(learner, learner)
        exercises = [
            ExerciseResult(
                exercise,
                0.0 if (source, exercise) in wrong else 1.0,
                1.0,
                "",
                output_digest=f"{source}/{exercise}" if (source, exercise) in wrong else None,
            )
            for exercise in answers[learner]
        ]
        results.append(SubmissionResult(learner, LESSON, exercises=exercises))
    return results, {(learner, LESSON): answers[learner] for learner in learners}


def grading_seconds(count: int, workers: int) -> float:
    with tempfile.TemporaryDirectory(prefix="attention-bench-") as scratch:
        submissions = Path(scratch) / "submitted"
        for number in range(count):
            make_submission(submissions, f"learner{number:03d}", LESSON, solution_answers(LESSON))
        command = [sys.executable, "-m", "grader", "autograde", str(submissions), "--out", f"{scratch}/out"]
        started = time.perf_counter()
        subprocess.run(
            [*command, "--workers", str(workers), "--no-similarity"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    results, answers = generated_class(args.submissions)
    started = time.perf_counter()
    pairs = screen_class(results, answers)
    screening = time.perf_counter() - started
    few, more = 4, 10
    seconds_few, seconds_more = grading_seconds(few, args.workers), grading_seconds(more, args.workers)
    per_notebook = (seconds_more - seconds_few) / (more - few)
    grading = seconds_few + (args.submissions - few) * per_notebook
    listed = f"{len(pairs)} pair(s) listed"
    print(f"screening {args.submissions} submissions of {LESSON}: {screening:.2f} s, {listed}")
    timed = f"{seconds_few:.1f} s and {seconds_more:.1f} s"
    print(f"grading {few} and {more} of them ({args.workers} workers): {timed}")
    print(f"so about {per_notebook:.2f} s per notebook, {grading:.0f} s for {args.submissions}")
    print(f"screening adds {100 * screening / grading:.1f} % to grading the class")


if __name__ == "__main__":
    main()
