"""The exercise registry: every graded exercise of the course, defined once.

Learner checks (``course_lib.check``), the hidden tests and the grader's verification all read these
definitions. An exercise says which learner object it checks, how to make its test cases, how to compare
outputs, how many points it is worth and which known mistakes it can name. What the registry does *not*
hold is the right answer: reference implementations (the solution notebooks) and the implementations of the
known mistakes live with the grader, which instructors keep to themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Case = dict[str, Any]
"""The keyword arguments of one call of the learner's function."""


CATALOGUE: dict[str, str] = {
    "softmax_axis": "softmax over the wrong axis",
    "scale": "missing scale, or sqrt(d_model) instead of sqrt(d_head)",
    "mask_after_softmax": "mask applied after the softmax",
    "mask_filled_with_zero": "masked scores filled with 0",
    "mask_triangle": "tril/triu swapped (or the mask inverted)",
    "fully_masked_rows": "fully masked rows (uniform weights or nan)",
    "overflow": "no max-subtraction: overflow",
    "split_heads": "heads split by view without transpose",
    "merge_heads": "heads merged in the wrong order",
    "head_slices": "loop version: wrong head slice, heads concatenated in the wrong order",
    "layer_norm_variance": "LayerNorm with unbiased variance or eps outside the sqrt",
    "targets_not_shifted": "targets not shifted",
    "training_mode": "dropout or training mode left on",
}
"""The course's catalogue of common mistakes (COURSE_DESIGN.md, "Mistakes to diagnose"). An exercise lists
the entries that can occur in it (``Exercise.catalogue``); each is named by one or more of its mistakes
(``Mistake.kind``), and ``python -m grader validate`` prints the coverage."""


@dataclass(frozen=True)
class Mistake:
    """A known wrong answer and the words that tell a learner what went wrong."""

    id: str
    diagnosis: str
    kind: str | None = None
    """The CATALOGUE entry this mistake is an instance of, if any."""
    random_output: bool = False
    """Recognised by its output being random (the same inputs give another result when run again), not by
    an output of its own."""


DROPOUT_LEFT_ON = Mistake(
    "dropout_left_on",
    "Your result changes from one run to the next on the same input: something random is switched on "
    "while the module is in eval mode. Most likely dropout: `F.dropout(x, p)` drops values even in eval "
    "mode unless you pass `training=self.training`; use an `nn.Dropout(p)` layer instead (it follows "
    "`.eval()`), or leave dropout out, as the exercise does.",
    kind="training_mode",
    random_output=True,
)


@dataclass(frozen=True)
class Exercise:
    id: str
    lesson: str
    target: str
    """Name of the function the learner writes in the notebook."""
    points: int
    make_cases: Callable[[np.random.Generator], list[Case]]
    """Test cases drawn from a random generator; the visible ones use ``VISIBLE_SEED``."""
    output: str
    """What the function returns, in words (shape, dtype), repeated in failure messages."""
    mistakes: tuple[Mistake, ...] = ()
    rtol: float = 1e-6
    atol: float = 1e-9
    forbidden: tuple[str, ...] = ()
    """Library functions the answer may not call, because the exercise asks the learner to write them."""
    uses: tuple[str, ...] = ()
    """Ids of earlier exercises whose functions the learner's answer is meant to call."""
    given: tuple[str, ...] = ()
    """Names the answer calls that a cell of the notebook tagged "given" defines (code handed out ready)."""
    catalogue: tuple[str, ...] = ()
    """The CATALOGUE entries that can occur in this exercise; each must be named by one of its mistakes."""
    probe: Callable[[Any], Any] | None = None
    judge: Callable[[Any], str | None] | None = None
    """For an exercise with no single right output (a trained model): ``probe(learner)`` measures it (run
    where the learner's code runs) and ``judge(measurement)`` says what is wrong, or None (run anywhere)."""
    call: Callable[[Any, Case], Any] | None = None
    """How to run the learner's object on a case; by default ``learner(**case)``. Module exercises use it to
    build the learner's class with injected weights and call it on tensors."""

    def run(self, learner: Any, case: Case) -> Any:
        return learner(**case) if self.call is None else self.call(learner, case)

    @property
    def answer_cell_id(self) -> str:
        """The nbgrader ``grade_id`` of the answer cell where the learner writes ``target``."""
        return f"answer_{self.id}"

    @property
    def test_cell_id(self) -> str:
        """The nbgrader ``grade_id`` of the test cell that grades this exercise."""
        return f"test_{self.id}"

    def mistake(self, mistake_id: str) -> Mistake:
        for known in self.mistakes:
            if known.id == mistake_id:
                return known
        raise KeyError(f"exercise {self.id!r} has no known mistake {mistake_id!r}")

    def mistake_named_in(self, message: str) -> str | None:
        """The id of the known mistake whose diagnosis a check's message gives, if any."""
        return next((known.id for known in self.mistakes if known.diagnosis in message), None)


VISIBLE_SEED = 20261122

EXERCISES: dict[str, Exercise] = {}


def register(exercise: Exercise) -> Exercise:
    if exercise.id in EXERCISES:
        raise ValueError(f"exercise id {exercise.id!r} is registered twice")
    EXERCISES[exercise.id] = exercise
    return exercise


def get_exercise(exercise_id: str) -> Exercise:
    _load_lessons()
    try:
        return EXERCISES[exercise_id]
    except KeyError:
        known = ", ".join(sorted(EXERCISES))
        raise KeyError(f"no exercise called {exercise_id!r}; the course has: {known}") from None


def lesson_exercises(lesson: str) -> list[Exercise]:
    _load_lessons()
    return [exercise for exercise in EXERCISES.values() if exercise.lesson == lesson]


def all_exercises() -> list[Exercise]:
    _load_lessons()
    return list(EXERCISES.values())


def _load_lessons() -> None:
    # Importing the lesson modules registers their exercises.
    from course_lib import exercises  # noqa: F401
