"""What lessons 01-03 say about their own outputs still holds.

Each test reads the printed output of a tagged cell of an executed solution notebook (or recomputes what a
slider shows with the reference functions) and checks the sentence of the lesson that states it.
"""

import re

import numpy as np
import pytest

from course_lib import noisy_series, smoothing_explorer
from course_lib.data import SARAH_WORDS
from course_lib.widgets.smoothing import _distance
from grader.reference import load_reference
from tests.conftest import executed_solution, tagged_output


def _text(lesson: str) -> str:
    """The lesson's markdown, with every run of white space made one space (sentences span lines)."""
    notebook, _ = executed_solution(lesson)
    return " ".join(" ".join(c.source for c in notebook.cells if c.cell_type == "markdown").split())


def _output(lesson: str, tag: str) -> str:
    notebook, _ = executed_solution(lesson)
    return tagged_output(notebook, tag)


def _number(pattern: str, text: str) -> float:
    """The number the regular expression's one group captures in ``text``."""
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in the output:\n{text}"
    return float(found.group(1))


# Lesson 01 ------------------------------------------------------------------------------------------------


def test_01_the_moving_average_is_less_than_half_as_far_from_the_signal():
    printed = _output("01_smoothing", "claim-moving-average-distance")
    raw = _number(r"raw readings ([\d.]+)", printed)
    averaged = _number(r"moving average ([\d.]+)", printed)
    assert "less than half as far from the hidden signal as the raw readings" in _text("01_smoothing")
    assert averaged < raw / 2


def test_01_the_naive_gaussian_underflows_to_zeros_and_nan():
    printed = _output("01_smoothing", "claim-naive-nan")
    assert "[0. 0. 0. 0. 0.]" in printed
    assert printed.count("nan") == 5
    # The sentence's numbers: 0.5 / 0.01 = 50 sigmas, 0.5**2 / (2 * 0.01**2) = 1250.
    text = _text("01_smoothing")
    assert "a query at time 0.5 is 50 $\\sigma$ from its nearest reading, and $e^{-1250}$ is 0" in text
    assert round(0.5 / 0.01) == 50 and round(0.5**2 / (2 * 0.01**2)) == 1250
    assert np.exp(-1250.0) == 0.0


def test_01_weights_by_similarity_keep_the_jump_and_weights_by_time_blur_it():
    printed = _output("01_smoothing", "claim-step-jump")
    rise = {name: _number(rf"{name} +rise from step 39 to 40: ([-\d.]+)", printed)
            for name in ("by time", "by similarity")}
    distance = {name: _number(rf"{name} .*distance to the clean step: ([\d.]+)", printed)
                for name in ("readings", "by time", "by similarity")}
    assert rise["by similarity"] > 0.8, "'keeps most of it' (of a rise of 1)"
    assert rise["by time"] < 0.25, "'only a small part of it is left'"
    assert distance["by similarity"] == min(distance.values()), "'the closest of the three lines'"


def test_01_slider_ends_behave_as_the_text_says():
    gaussian_weights = load_reference("01_smoothing")["gaussian_weights"]
    times, clean, noisy = noisy_series()
    sigma_slider = smoothing_explorer(times, noisy, gaussian_weights, clean=clean).children[0].children[0]
    assert (sigma_slider.min, sigma_slider.max) == (0.3, 15.0)
    text = _text("01_smoothing")
    assert "over 99 % at sigma = 0.3" in text and "at sigma = 15 the smoothed line is further" in text

    sharp = gaussian_weights(times, times, 0.3)
    assert np.diag(sharp).min() > 0.99, "every point keeps over 99 % of its weight for itself"

    wide = gaussian_weights(times, times, 15.0)
    assert _distance(wide @ noisy, clean) > _distance(noisy, clean), "at sigma = 15 it is further off"
    middle = wide[len(times) // 2]
    assert (middle > 0.01 * middle.max()).sum() >= 24, "'each point averages over dozens of neighbours'"


def test_01_bed_is_four_words_after_lies():
    lies, bed = SARAH_WORDS.index("lies"), SARAH_WORDS.index("bed")
    assert bed - lies == 4
    text = _text("01_smoothing")
    assert "is *bed*, four words later (lies · still · on · the · bed)" in text
    assert " · ".join(SARAH_WORDS[lies : bed + 1]) == "lies · still · on · the · bed"
    assert {"on", "the"} <= set(SARAH_WORDS[lies + 1 : bed]), "'two of the words in between, on and the'"


@pytest.mark.parametrize("lesson", ["01_smoothing", "02_lookup", "03_qkv"])
def test_lesson_runs_in_seconds(lesson):
    _, seconds = executed_solution(lesson)
    assert seconds < 60
