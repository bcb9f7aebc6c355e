import numpy as np

from course_lib import casefile
from course_lib.checking import CheckCase


def test_cases_survive_json_exactly():
    rng = np.random.default_rng(0)
    case = CheckCase(
        "case 1",
        {"x": rng.normal(size=(2, 3)), "n": 3, "scale": 0.1, "mask": np.array([True, False])},
        (rng.normal(size=4), np.arange(3)),
        {"wrong": (np.full(4, np.nan), np.zeros(3, dtype=np.int64))},
    )
    decoded = casefile.load_text(casefile.dumps({"ex": [case]}))["ex"][0]
    assert decoded.name == "case 1"
    assert decoded.inputs["n"] == 3 and decoded.inputs["scale"] == 0.1
    np.testing.assert_array_equal(decoded.inputs["x"], case.inputs["x"])
    assert decoded.inputs["mask"].dtype == bool
    for got, want in zip(decoded.expected, case.expected, strict=True):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype
    assert np.isnan(decoded.mistake_outputs["wrong"][0]).all()
