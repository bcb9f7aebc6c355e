"""The sliders redraw: moving them changes the picture the explorer shows, and learner errors become text."""

import numpy as np

from course_lib import (
    attention_explorer,
    hand_set_projections,
    head_explorer,
    needs_exercise,
    noisy_series,
    points_2d,
    position_explorer,
    query_explorer,
    sarah_sentence,
    scale_explorer,
    smoothing_explorer,
    temperature_explorer,
    video_library,
)
from grader.reference import load_reference

TIMES, CLEAN, NOISY = noisy_series()


def _image(out):
    shown = [o for o in out.outputs if "image/png" in o.get("data", {})]
    return shown[-1]["data"]["image/png"] if shown else None


def test_smoothing_explorer_redraws_when_sliders_move():
    gaussian_weights = load_reference("01_smoothing")["gaussian_weights"]
    explorer = smoothing_explorer(TIMES, NOISY, gaussian_weights, clean=CLEAN)
    (sigma, point), out = explorer.children[0].children, explorer.children[1]
    first = _image(out)
    sigma.value = 9.0
    after_sigma = _image(out)
    point.value = 3
    after_point = _image(out)
    assert first and after_sigma and after_point
    assert first != after_sigma, "moving sigma did not redraw"
    assert after_sigma != after_point, "moving the inspected point did not redraw"
    assert len(out.outputs) == 1, "old figures pile up instead of being replaced"


def test_explorer_tells_the_learner_to_write_the_function_first():
    def unwritten(query_times, key_times, sigma):
        raise NotImplementedError()

    out = smoothing_explorer(TIMES, NOISY, unwritten).children[1]
    assert "uses `unwritten`: write it in the exercise above" in out.outputs[-1]["text"]


def test_explorer_reports_a_learner_error_with_its_inputs():
    def broken(query_times, key_times, sigma):
        raise ValueError("shapes do not match")

    out = smoothing_explorer(TIMES, NOISY, broken).children[1]
    assert "`broken` raised ValueError: shapes do not match" in out.outputs[-1]["text"]


def _lookup_reference():
    return load_reference("02_lookup")


def test_temperature_explorer_redraws_and_sharpens():
    reference = _lookup_reference()
    titles, keys, _ = video_library()
    explorer = temperature_explorer(
        np.array([1.0, 1.0, 0.0, 0.0]), keys, titles, reference["similarity_scores"], reference["softmax"]
    )
    (temperature,), out = explorer.children[0].children, explorer.children[1]
    warm = _image(out)
    temperature.value = 0.05
    cold = _image(out)
    assert warm and cold and warm != cold


def test_query_explorer_redraws_for_each_slider():
    reference = _lookup_reference()
    labels, keys = points_2d()
    explorer = query_explorer(keys, labels, reference["similarity_scores"], reference["softmax"])
    controls, out = explorer.children[0].children, explorer.children[1]
    seen = {_image(out)}
    for control, value in zip(controls, (-1.5, 2.0, 0.1), strict=True):
        control.value = value
        seen.add(_image(out))
    assert None not in seen and len(seen) == 4, "every slider move must change the picture"


def test_lookup_explorers_name_the_unwritten_function():
    reference = _lookup_reference()
    labels, keys = points_2d()

    def softmax(x, axis=-1):
        raise NotImplementedError()

    out = query_explorer(keys, labels, reference["similarity_scores"], softmax).children[1]
    assert "uses `softmax`" in out.outputs[-1]["text"]


def test_attention_explorer_redraws_for_word_and_mask():
    reference = load_reference("03_qkv")
    words, x = sarah_sentence()
    explorer = attention_explorer(
        words,
        x,
        hand_set_projections(),
        reference["project_qkv"],
        reference["scaled_dot_product_attention"],
        reference["causal_mask"],
        word="lies",
    )
    (word, causal), out = explorer.children[0].children, explorer.children[1]
    seen = [_image(out)]
    word.value = "feeling"
    seen.append(_image(out))
    causal.value = True
    seen.append(_image(out))
    assert None not in seen and len(set(seen)) == 3


def test_scale_explorer_redraws_for_dimension_and_scaling():
    explorer = scale_explorer(load_reference("03_qkv")["softmax"])
    (dim, scaled), out = explorer.children[0].children, explorer.children[1]
    seen = [_image(out)]
    dim.value = 512
    seen.append(_image(out))
    scaled.value = True
    seen.append(_image(out))
    assert None not in seen and len(set(seen)) == 3


def test_needs_exercise_prints_the_names_and_drops_half_drawn_figures(capsys):
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    with needs_exercise("causal_mask"):
        plt.subplots()
        raise NotImplementedError()
    assert set(plt.get_fignums()) == before
    assert "`causal_mask`" in capsys.readouterr().out


def test_head_explorer_shows_each_head_and_layer():
    rng = np.random.default_rng(0)
    maps = rng.dirichlet(np.ones(5), size=(2, 3, 5))  # (layers, heads, seq, seq), rows sum to 1
    explorer = head_explorer(list("abcde"), maps)
    (layer, head), out = explorer.children[0].children, explorer.children[1]
    seen = [_image(out)]
    head.value = 2
    seen.append(_image(out))
    layer.value = 1
    seen.append(_image(out))
    assert None not in seen and len(set(seen)) == 3
    single = head_explorer(list("abcde"), maps[0])
    assert len(single.children[0].children) == 1, "one layer: only the head selector"


def test_position_explorer_follows_the_dimension_slider():
    table = np.sin(np.arange(20)[:, None] / (1.0 + np.arange(6))[None, :])
    explorer = position_explorer(table)
    (dimension,), out = explorer.children[0].children, explorer.children[1]
    first = _image(out)
    dimension.value = 5
    assert first and _image(out) and first != _image(out)


def test_completion_explorer_redraws_for_temperature_top_k_top_p_and_draw():
    from course_lib import completion_explorer, make_corpus
    from course_lib.training import BigramBaseline

    corpus = make_corpus(seed=0)
    model = BigramBaseline(__import__("torch").tensor(corpus.train_ids()), len(corpus.vocabulary))
    model.context_length = 8
    generate = load_reference("06_gpt")["generate"]
    explorer = completion_explorer(model, corpus, generate, "Sarah lies still on the bed , feeling")
    (temperature, draw, top_k, top_p), out = explorer.children[0].children, explorer.children[1]
    seen = [_image(out)]
    for control, value in ((temperature, 2.5), (draw, 3), (top_k, 3), (top_p, 0.5)):
        control.value = value
        seen.append(_image(out))
    assert None not in seen and len(set(seen)) == 5


def test_loss_plot_redraws_every_few_steps():
    from course_lib import LossPlot

    plot = LossPlot(every=2)
    plot.add(0, 4.0)
    assert plot.widget.outputs == ()
    plot.add(1, 3.0)
    first = _image(plot.widget)
    plot.add(2, 2.0)
    plot.add(3, 1.0)
    assert first and _image(plot.widget) != first
