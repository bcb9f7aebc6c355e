"""Claims the lessons make, tested on the reference solutions."""

import numpy as np
import pytest

from grader.reference import load_reference


@pytest.fixture(scope="module")
def lookup():
    return load_reference("02_lookup")


def test_soft_lookup_tends_to_hard_lookup_as_temperature_falls(lookup):
    rng = np.random.default_rng(3)
    queries, keys, values = rng.normal(size=(6, 3)), rng.normal(size=(9, 3)), rng.normal(size=(9, 2))
    hard = lookup["hard_lookup"](queries, keys, values)
    gaps = [np.abs(lookup["soft_lookup"](queries, keys, values, t) - hard).max() for t in (1.0, 0.1, 1e-3)]
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 1e-8


def test_soft_lookup_tends_to_the_mean_as_temperature_rises(lookup):
    rng = np.random.default_rng(4)
    queries, keys, values = rng.normal(size=(4, 3)), rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    mean = values.mean(axis=0)
    gaps = [np.abs(lookup["soft_lookup"](queries, keys, values, t) - mean).max() for t in (1.0, 100.0, 1e6)]
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 1e-5


def test_softmax_is_shift_invariant_and_survives_huge_inputs(lookup):
    softmax = lookup["softmax"]
    x = np.array([[0.5, -1.0, 2.0], [3.0, 3.0, -4.0]])
    np.testing.assert_allclose(softmax(x + 1000.0), softmax(x))
    assert np.isfinite(softmax(x * 1000.0)).all()
