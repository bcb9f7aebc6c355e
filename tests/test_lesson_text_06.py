"""What lesson 06's text says about its own outputs holds: each claim beside a tagged cell is checked on the
numbers that cell printed when the solution notebook ran (once per session, see tests/conftest.py)."""

import itertools
import re

import nbformat
import pytest

from course_lib import DEMO_PROMPT, make_corpus
from grader.paths import ROOT
from tests.conftest import executed_solution, tagged_output

LESSON = "06_gpt"


@pytest.fixture(scope="module")
def notebook():
    return executed_solution(LESSON)[0]


@pytest.fixture(scope="module")
def text() -> str:
    source = nbformat.read(ROOT / "solutions" / f"{LESSON}.ipynb", as_version=4)
    return "\n".join(cell.source for cell in source.cells if cell.cell_type == "markdown")


def _printed(notebook, tag: str) -> str:
    """What the cell tagged ``tag`` printed, without its progress bars (tqdm writes them to stderr)."""
    (cell,) = [cell for cell in notebook.cells if tag in cell.metadata.get("tags", [])]
    return "".join(output.text for output in cell.outputs if output.get("name") == "stdout")


def _numbers(line: str) -> list[float]:
    return [float(number) for number in re.findall(r"-?\d+(?:\.\d+)?", line)]


def _line(output: str, start: str) -> str:
    (line,) = [line for line in output.splitlines() if start in line]
    return line


def _percentages(line: str) -> list[float]:
    return [float(number) / 100 for number in re.findall(r"(-?\d+(?:\.\d+)?)%", line)]


def test_the_corpus_is_what_the_text_says(text):
    corpus = make_corpus(seed=0)
    assert 1000 <= len(corpus.train) < 10_000  # "thousands of short sentences"
    assert len(corpus.vocabulary) == 100 and "$V = 100$" in text


def test_no_heldout_pair_is_in_the_training_text_and_all_their_parts_are(notebook):
    output = tagged_output(notebook, "heldout_design")
    n_pairs = _numbers(output.splitlines()[0])[0]
    assert _numbers(_line(output, "held-out pairs found in the training text"))[-1] == 0
    assert _numbers(_line(output, "their actions found there")) == [n_pairs, n_pairs]
    assert _numbers(_line(output, "their settings found there")) == [n_pairs, n_pairs]
    elsewhere, other_action = _line(output, "in training:").removeprefix("in training:").split(" / ")
    assert "lies still" in elsewhere and "on the bed" not in elsewhere
    assert "on the bed" in other_action and "lies still" not in other_action


def test_training_starts_near_log_v(notebook):
    first, log_v, last = _numbers(_line(tagged_output(notebook, "training"), "loss of the first batch"))
    assert abs(first - log_v) < 0.5 and last < first


def test_the_loss_gap_is_not_at_the_feeling_word(notebook):
    output = tagged_output(notebook, "loss_gap")
    training, heldout = _numbers(_line(output, "whole text"))
    feeling_training, feeling_heldout, lowest = _numbers(_line(output, "at the feeling word"))
    assert heldout > training + 0.05  # there is a gap in the whole text
    assert abs(feeling_heldout - feeling_training) < 0.05  # "within a few hundredths"
    assert 0 <= feeling_training - lowest < 0.1 and 0 <= feeling_heldout - lowest < 0.1  # "close to"


def test_the_gpt_clears_the_bar_and_the_bigram_gets_about_a_fifth(notebook):
    output = tagged_output(notebook, "accuracy")
    (bigram,) = _percentages(_line(output, "bigram baseline"))
    (gpt,) = _percentages(_line(output, "your GPT"))
    assert 0.15 <= bigram <= 0.25  # "about a fifth"
    assert 0.9 - bigram > 0.6  # clearing the bar beats it "by more than 60 percentage points"
    assert gpt >= 0.9 and "clears the bar: True" in output


def test_sarah_lies_still_on_the_bed_feeling_tired(notebook):
    output = tagged_output(notebook, "demo")
    top_three = [line.split()[0] for line in output.splitlines()[1:4]]
    assert set(top_three) == {"tired", "sleepy", "exhausted"}
    assert _line(output, "greedy completion").split()[-2] in top_three


def test_a_head_of_the_last_layer_looks_at_bed_more_than_at_anything_else(notebook):
    layer, head, weight = _bed_head(notebook)
    assert layer == 1 and weight > 50  # over half its weight: more than on any other word


def _bed_head(notebook) -> tuple[int, int, int]:
    """Layer, head and percentage of weight of the head that looks most at 'bed' from 'feeling'."""
    output = tagged_output(notebook, "attention_on_bed")
    (found,) = re.findall(r"most weight on 'bed' from 'feeling': layer (\d+), head (\d+), (\d+)%", output)
    return tuple(int(number) for number in found)


def _table(output: str) -> dict[str, list[float]]:
    return {
        re.split(r"\s{2,}", line.strip())[0]: _percentages(line)
        for line in output.splitlines()
        if "%" in line
    }


def test_changing_the_setting_costs_little_and_changing_the_action_turns_the_answer(notebook):
    rows = _table(tagged_output(notebook, "word_changes"))
    kinds = ["rest", "win", "loss", "fear", "hunger"]
    asked = dict(zip(kinds, rows["as asked"], strict=False))
    assert asked["rest"] > 0.9
    for label in ("setting: neutral", "setting: fear"):
        assert 0 <= rows[label][-1] < 0.05  # "at most a few points"
    action = dict(zip(kinds, rows["action: fear"], strict=False))
    assert action["fear"] > 0.9 and rows["action: fear"][-1] > 0.9


def test_no_single_head_is_indispensable_but_the_last_layer_is(notebook):
    rows = _table(tagged_output(notebook, "knockouts"))
    base_p, base_accuracy = rows["nothing"]
    single = {label: row for label, row in rows.items() if label.startswith("layer")}
    assert len(single) == 8
    for p, _, accuracy, _ in single.values():
        assert accuracy >= 0.9 and p >= 0.9  # "at least 90%", "still sure"
    p, p_drop, accuracy, accuracy_drop = rows["all heads of layer 0"]
    assert p_drop < 0.02 and accuracy_drop < 0.02  # "at almost no cost"
    assert rows["all heads of layer 1"][2] < 0.7  # "far below the bar"
    layer, head, _ = _bed_head(notebook)
    _, p_drop, _, accuracy_drop = single[f"layer {layer}, head {head}"]
    assert p_drop < 0.05 and accuracy_drop < 0.05  # "changes little"


def test_high_temperatures_give_nonsense_a_real_share(notebook):
    output = tagged_output(notebook, "temperatures")
    assert _percentages(_line(output, "temperature 3.0"))[1] > 0.2


def test_the_text_says_what_it_should(text):
    assert "attention weights are not explanations" in text
    assert "## What this does not yet do" in text
    assert "everyone who runs this gets the same model" not in text
    seconds = re.findall(r"about (\d+) s on a\s+2-core computer", text)
    assert len(seconds) == 2 and len(set(seconds)) == 1, seconds


def test_the_cached_model_writes_the_same_tokens(notebook):
    output = tagged_output(notebook, "kv_same")
    assert "greedy, the same tokens: True" in output
    assert "sampled, the same tokens: True" in output


def test_without_the_cache_the_positions_grow_with_the_square_of_the_length(notebook):
    rows = [_numbers(line) for line in tagged_output(notebook, "kv_speed").splitlines()[1:]]
    prompt_length = len(DEMO_PROMPT.split())
    assert [row[0] for row in rows] == [64, 128, 256]
    for n_new, plain, cached, plain_seconds, cached_seconds, speed_up in rows:
        assert plain == sum(prompt_length + step for step in range(int(n_new)))
        assert cached == prompt_length + n_new - 1
        assert speed_up == pytest.approx(plain_seconds / cached_seconds, abs=0.1, rel=0.1)
        assert speed_up < plain / cached  # "the time falls by much less than the work"
    for shorter, longer in itertools.pairwise(rows):
        assert 3.5 < longer[1] / shorter[1] < 4  # "about quadruples"
        assert 1.85 < longer[2] / shorter[2] <= 2  # "about doubles"


def test_the_ablations_show_what_the_text_says(notebook):
    rows = {}
    for line in _printed(notebook, "ablations").splitlines():
        if "%" in line:
            label = re.split(r"\s{2,}", line.strip())[0]
            (accuracy,) = _percentages(line)
            rows[label] = (accuracy, *_numbers(line.split("%")[1]))
    reference = rows["reference (learned, 4 heads, 2 blocks)"]
    assert len(rows) == 5 and reference[0] >= 0.9
    # Positions: the feelings stay right, the loss on the whole text rises; sinusoidal lies between.
    assert rows["no positions"][0] >= 0.9
    assert rows["no positions"][1] > reference[1] + 0.02
    assert reference[1] < rows["sinusoidal positions"][1] < rows["no positions"][1]
    for label in ("no positions", "sinusoidal positions"):  # "no more than a few hundredths" at the feeling
        assert abs(rows[label][2] - reference[2]) < 0.05
    # One head "about as well as four".
    assert rows["one head"][0] >= 0.9 and abs(rows["one head"][1] - reference[1]) < 0.02
    # One block "falls short, in accuracy and in loss".
    assert rows["one block"][0] < reference[0] and rows["one block"][1] > reference[1] + 0.02


def test_top_k_cuts_the_nonsense_and_top_p_keeps_most_words_at_a_high_temperature(notebook):
    output = tagged_output(notebook, "top_cut")
    no_cut, top_k, top_p = (_line(output, label) for label in ("no cut", "top-k 5", "top-p 0.9"))
    assert _numbers(top_k)[2] == 5  # "leaves five words"
    assert _percentages(no_cut)[1] > 0.4 and _percentages(top_k)[1] < 0.1  # "nearly half to a few percent"
    assert _numbers(top_p)[2] > 50  # "keeps most of the vocabulary"


def test_the_character_model_starts_near_log_v_and_its_heldout_loss_falls(notebook):
    line = _line(_printed(notebook, "real_text"), "held-out loss")
    steps, first, log_v, last = _numbers(line)
    assert steps > 0 and abs(first - log_v) < 0.5 and last < first - 0.5
    assert "REAL_TEXT_SECONDS = " in notebook.cells[1].source  # the budget, at the top
