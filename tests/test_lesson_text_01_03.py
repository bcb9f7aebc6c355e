"""What lessons 01-03 say about their own outputs still holds.

Each test reads the printed output of a tagged cell of an executed solution notebook (or recomputes what a
slider shows with the reference functions) and checks the sentence of the lesson that states it.
"""

import re

import numpy as np
import pytest

from course_lib import (
    noisy_series,
    points_2d,
    query_explorer,
    smoothing_explorer,
    step_series,
    temperature_explorer,
    video_library,
)
from course_lib.data import MEANING_FEATURES, SARAH_WORDS, hand_set_projections, sarah_sentence
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


def lookup_reference():
    return load_reference("02_lookup")


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
    rise = {
        name: _number(rf"{name} +rise from step 39 to 40: ([-\d.]+)", printed)
        for name in ("by time", "by similarity")
    }
    distance = {
        name: _number(rf"{name} .*distance to the clean step: ([\d.]+)", printed)
        for name in ("readings", "by time", "by similarity")
    }
    _, step_clean, _ = step_series()
    assert np.diff(step_clean).max() == 1.0 and np.argmax(np.diff(step_clean)) == 39, "'rises by exactly 1'"
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
    assert "lies, is *bed*, four words later (lies · still · on · the · bed)" in text
    assert " · ".join(SARAH_WORDS[lies : bed + 1]) == "lies · still · on · the · bed"
    assert {"on", "the"} <= set(SARAH_WORDS[lies + 1 : bed]), "'two of the words in between, on and the'"


# Lesson 02 ------------------------------------------------------------------------------------------------


def test_02_the_blended_length_goes_from_near_the_mean_to_the_best_match():
    printed = _output("02_lookup", "claim-blended-minutes")
    titles, _, minutes = video_library()
    mean = _number(r"plain mean of the eight lengths: ([\d.]+)", printed)
    assert mean == pytest.approx(minutes.mean(), abs=0.0051)
    assert abs(_number(r"temperature 10.0: about +([\d.]+)", printed) - mean) < 0.5, "'within half a minute'"
    cold = _number(r"temperature +0.1: about +([\d.]+)", printed)
    assert cold == minutes[titles.index("Cat plays the piano"), 0] == 3.0, "'to two decimals, the 3 minutes'"
    text = _text("02_lookup")
    assert "at temperature 0.1 it is, to two decimals, the 3 minutes of *Cat plays the piano*" in text
    assert "at temperature 10 it is within half a minute of the plain mean" in text


def test_02_at_the_lowest_temperature_the_top_weight_is_exactly_one():
    printed = _output("02_lookup", "claim-float-one-hot")
    assert "exactly 1.0: True" in printed
    runner_up = _number(r"the next largest weight: +([\d.e+-]+)", printed)
    assert runner_up == pytest.approx(np.exp(-100.0), rel=1e-6), "'the others, e^-100 of it or less'"
    assert "softmax([0, -inf]) = [1. 0.]" in printed
    titles, keys, _ = video_library()
    slider = (
        temperature_explorer(
            np.ones(4), keys, titles, lookup_reference()["similarity_scores"], lookup_reference()["softmax"]
        )
        .children[0]
        .children[0]
    )
    assert 10.0**slider.min == 0.01, "'the slider's lowest temperature, 0.01'"
    assert "the top weight is exactly 1.0 in float64" in _text("02_lookup")


def test_02_section_5s_temperature_makes_scores_that_overflow_np_exp():
    notebook, _ = executed_solution("02_lookup")
    (source,) = [c.source for c in notebook.cells if "cold = soft_lookup(Q, K, V" in c.source]
    assert "temperature=1e-3" in source and "rng = np.random.default_rng(0)" in source
    rng = np.random.default_rng(0)
    queries, keys = rng.normal(size=(5, 3)), rng.normal(size=(7, 3))
    assert np.abs(queries @ keys.T).max() > 3, "'turns a score of 3 into 3000': the scores reach 3"
    with np.errstate(over="ignore"):
        assert np.isinf(np.exp(3000.0)), "'Scores that large': np.exp overflows"
    assert "section 5 divides scores by a temperature of 0.001" in _text("02_lookup")


def test_02_a_tie_makes_the_cold_soft_lookup_the_mean_of_the_tied_values():
    printed = _output("02_lookup", "claim-tie")
    tied = re.search(r"tied for the best score: \[(.*)\]", printed).group(1).count("'") // 2
    assert tied >= 2, "the demonstration needs a tie"
    soft = _number(r"soft lookup at temperature 0.001: ([\d.]+)", printed)
    assert soft == _number(r"the mean of their lengths: ([\d.]+)", printed)
    hard = _number(r"hard lookup: +([\d.]+)", printed)
    assert hard == _number(r"the first one's length: ([\d.]+)", printed) != soft


def test_02_gaussian_weights_are_a_softmax_of_dot_products():
    printed = _output("02_lookup", "claim-kernel-regression")
    differences = [float(x) for x in re.findall(r"largest difference ([\d.e+-]+)", printed)]
    exact_minus_d, dot_products, no_key_term, smoothing = differences
    assert max(exact_minus_d, dot_products, smoothing) < 1e-12
    assert no_key_term > 0.5, "leaving out the key's own term changes the weights"


def test_02_a_longer_query_is_a_lower_temperature():
    reference = lookup_reference()
    _, keys = points_2d()
    query = np.array([[0.7, -0.4]])
    for scale in (2.0, 5.0):
        np.testing.assert_allclose(
            reference["softmax"](reference["similarity_scores"](scale * query, keys) / 1.0),
            reference["softmax"](reference["similarity_scores"](query, keys) / (1.0 / scale)),
        )
    assert "doubling the query doubles every score, just as halving the temperature" in _text("02_lookup")


def test_02_names_the_three_sliders_of_the_query_explorer():
    labels, keys = points_2d()
    reference = lookup_reference()
    controls = query_explorer(keys, labels, reference["similarity_scores"], reference["softmax"]).children[0]
    assert [c.description for c in controls.children] == ["query x", "query y", "temperature"]
    assert "**query x** and **query y**; the third slider is the temperature again" in _text("02_lookup")


# Lesson 03 ------------------------------------------------------------------------------------------------


def _weights(line: str) -> dict[str, float]:
    """The ``{'word': weight, ...}`` a lesson-03 cell printed on ``line``."""
    return {word: float(w) for word, w in re.findall(r"'(\w+)': ([\d.]+)", line)}


def _features(printed: str) -> list[tuple[float, float]]:
    """(lying down, telling lies) after attention, for each word a cell reports, in order."""
    after = {
        feature: [float(v) for v in re.findall(rf"{feature} .*after(?: attention)? ([\d.]+)", printed)]
        for feature in ("lying down", "telling lies")
    }
    assert after["lying down"] and len(after["lying down"]) == len(after["telling lies"]), printed
    return list(zip(after["lying down"], after["telling lies"], strict=True))


def test_03_lies_looks_mostly_at_still_and_bed_and_leans_to_lying_down():
    printed = _output("03_qkv", "claim-lies-context")
    weights = _weights(printed.splitlines()[0])
    assert weights["bed"] + weights["still"] > 0.8, "'it looks mostly at still and bed'"
    ((down, lie),) = _features(printed)
    assert down > 10 * lie, "'clearly more about lying down than about telling lies'"
    assert "[1. 1. 1. 1. 1. 1. 1.]" in printed


def test_03_the_unscaled_softmax_saturates_at_d_512_and_the_scaled_one_does_not():
    printed = _output("03_qkv", "claim-saturation")
    rows = {
        int(d): (float(spread), float(unscaled), float(scaled))
        for d, spread, unscaled, scaled in re.findall(
            r"^ *(\d+) +([\d.]+) +([\d.]+)% +([\d.]+)%$", printed, re.M
        )
    }
    assert sorted(rows) == [4, 64, 512], printed
    spread, unscaled, scaled = rows[512]
    assert abs(spread - 23) < 1 and round(np.sqrt(512)) == 23, "'with d = 512 that is about 23'"
    assert unscaled > 50 and scaled == 0.0, "'for most queries ... and for none of the thousand'"
    assert all(row[2] < row[1] for row in rows.values())
    assert "At $d = 512$ the top key takes more than 90 % of the weight for most queries" in _text("03_qkv")


def test_03_with_the_causal_mask_lies_stays_undecided_and_feeling_leans_to_lying_down():
    printed = _output("03_qkv", "claim-causal-disambiguation")
    lies_line, feeling_line = (line for line in printed.splitlines() if "looks at" in line)
    assert set(_weights(lies_line)) == {"Sarah", "lies"}, "'lies sees only Sarah and itself'"
    (lies_down, lies_lie), (feeling_down, feeling_lie) = _features(printed)
    assert lies_down == lies_lie, "'lies keeps lying down and telling lies level'"
    assert feeling_down > 5 * feeling_lie, "'feeling gathers much more lying down than telling lies'"
    reference = load_reference("03_qkv")
    words, x = sarah_sentence()
    q, k, v = reference["project_qkv"](x, *hand_set_projections())
    out, weights = reference["scaled_dot_product_attention"](q, k, v, reference["causal_mask"](len(words)))
    feeling, bed, down = words.index("feeling"), words.index("bed"), MEANING_FEATURES.index("lying down")
    assert weights[feeling, bed] * v[bed, down] > out[feeling, down] / 2, "'most of it from bed'"


def test_03_unscaled_entropies_stay_low_and_scaled_ones_high():
    printed = _output("03_qkv", "claim-entropy")
    maximum = _number(r"log\(10\) = ([\d.]+)", printed)
    assert maximum == round(np.log(10), 2)
    unscaled, scaled = (
        np.array(re.search(rf"entropy, {name}: *\[([^\]]*)\]", printed).group(1).split(), dtype=float)
        for name in ("unscaled", "scaled")
    )
    assert unscaled.max() < np.log(10) / 3, "'every entropy stays below a third of that maximum'"
    assert (unscaled == 0).any(), "'some rows are one-hot to two decimals'"
    assert scaled.min() > np.log(10) / 2, "'scaled, every entropy is more than half of it'"


def test_03_a_real_permutation_keeps_every_output_without_a_mask_and_only_the_last_with_it():
    printed = _output("03_qkv", "claim-permutation")
    shuffled = re.search(r"shuffled words: (.*)", printed).group(1).split()
    assert sorted(shuffled) == sorted(SARAH_WORDS) and shuffled != list(SARAH_WORDS)
    assert '*"the bed lies still on Sarah, feeling"*' in _text("03_qkv")
    assert shuffled == "the bed lies still on Sarah feeling".split()
    kept = {
        label: re.findall(r"'(\w+)'", rest)
        for label, rest in re.findall(r"^(.*?):\s+the words whose (.*)$", printed, re.M)
    }
    assert sorted(kept["without a mask"]) == sorted(SARAH_WORDS)
    assert kept["with the causal mask"] == ["feeling"]

