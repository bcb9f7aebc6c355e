"""What a class got wrong, beyond its scores: each named mistake and how many made it, and the kinds of
test case that partly right answers fail."""

from __future__ import annotations

from collections import Counter

from course_lib.case_kinds import kind_name
from course_lib.registry import get_exercise


def mistakes(results: list[dict], exercise_order: list[str]) -> list[dict]:
    """Diagnosed mistakes, most frequent first; ties in course order."""
    diagnosed = [
        exercise for result in results for exercise in result["exercises"] if exercise.get("mistake")
    ]
    counts = Counter((exercise["exercise_id"], exercise["mistake"]) for exercise in diagnosed)
    handed_in = Counter(exercise["exercise_id"] for result in results for exercise in result["exercises"])
    messages = {(exercise["exercise_id"], exercise["mistake"]): exercise["message"] for exercise in diagnosed}
    rank = {exercise_id: position for position, exercise_id in enumerate(exercise_order)}
    entries = [
        {
            "exercise_id": exercise_id,
            "mistake_id": mistake_id,
            "count": count,
            "share": count / handed_in[exercise_id],
            "diagnosis": _diagnosis(exercise_id, mistake_id, messages[exercise_id, mistake_id]),
        }
        for (exercise_id, mistake_id), count in counts.items()
    ]
    return sorted(
        entries, key=lambda e: (-e["count"], rank.get(e["exercise_id"], len(rank)), e["mistake_id"])
    )


def case_kinds(results: list[dict], exercise_order: list[str]) -> list[dict]:
    """Per exercise and kind of case, how many of its partly right answers (wrong, but right on at least
    one case) fail a case of that kind: most often first. An answer that fails every case (unwritten, or
    wrong throughout) says nothing about one kind of case."""
    partly_right = [
        exercise
        for result in results
        for exercise in result["exercises"]
        if exercise["score"] < exercise["max_score"] and 0 < exercise.get("cases_passed", 0)
    ]
    answers = Counter(exercise["exercise_id"] for exercise in partly_right)
    failing = Counter(
        (exercise["exercise_id"], kind) for exercise in partly_right for kind in exercise["failed_case_kinds"]
    )
    rank = {exercise_id: position for position, exercise_id in enumerate(exercise_order)}
    entries = [
        {
            "exercise_id": exercise_id,
            "kind": kind,
            "kind_name": kind_name(kind),
            "failing": count,
            "partly_right_answers": answers[exercise_id],
            "share": count / answers[exercise_id],
        }
        for (exercise_id, kind), count in failing.items()
    ]
    return sorted(entries, key=lambda e: (-e["share"], rank.get(e["exercise_id"], len(rank)), e["kind"]))


def _diagnosis(exercise_id: str, mistake_id: str, message_seen: str) -> str:
    try:
        return get_exercise(exercise_id).mistake(mistake_id).diagnosis
    except KeyError:
        # A mistake the registry does not (or no longer) know: the learner's message is the best words.
        return message_seen
