"""What learners import: the checks, the data, the plots and the sliders of the course.

Names are loaded on first use (PEP 562), so that a lesson, or a grading job, pays only for what it
imports: ``from course_lib import check`` does not load torch, matplotlib or the widgets.
"""

from importlib import import_module
from typing import Any

# Bound here, not lazily: the function shares its name with its module, and importing the module
# (``from course_lib.check import run_check``) sets the package's attribute to the module.
from course_lib.check import check  # noqa: F401 (exported through __all__)

_EXPORTS = {
    "DEMO_PROMPT": "course_lib.corpus",
    "FEELINGS": "course_lib.corpus",
    "make_corpus": "course_lib.corpus",
    "KEY_FEATURES": "course_lib.data",
    "MEANING_FEATURES": "course_lib.data",
    "VIDEO_FEATURES": "course_lib.data",
    "hand_set_projections": "course_lib.data",
    "noisy_series": "course_lib.data",
    "points_2d": "course_lib.data",
    "sarah_sentence": "course_lib.data",
    "step_series": "course_lib.data",
    "video_library": "course_lib.data",
    "heatmap": "course_lib.plots",
    "plot_series": "course_lib.plots",
    "BigramBaseline": "course_lib.training",
    "LossPlot": "course_lib.training",
    "model_accuracy": "course_lib.training",
    "needs_exercise": "course_lib.widgets",
    "attention_explorer": "course_lib.widgets.attention",
    "scale_explorer": "course_lib.widgets.attention",
    "head_explorer": "course_lib.widgets.heads",
    "query_explorer": "course_lib.widgets.lookup",
    "temperature_explorer": "course_lib.widgets.lookup",
    "position_explorer": "course_lib.widgets.positions",
    "completion_explorer": "course_lib.widgets.sampling",
    "smoothing_explorer": "course_lib.widgets.smoothing",
}

__all__ = sorted([*_EXPORTS, "check"])


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'course_lib' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
