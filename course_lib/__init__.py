"""What learners import: the checks, the data, the plots and the sliders of the course."""

from course_lib.check import check
from course_lib.corpus import DEMO_PROMPT, FEELINGS, make_corpus
from course_lib.data import (
    KEY_FEATURES,
    MEANING_FEATURES,
    VIDEO_FEATURES,
    hand_set_projections,
    noisy_series,
    points_2d,
    sarah_sentence,
    step_series,
    video_library,
)
from course_lib.plots import heatmap, plot_series
from course_lib.training import BigramBaseline, LossPlot, model_accuracy
from course_lib.widgets import needs_exercise
from course_lib.widgets.attention import attention_explorer, scale_explorer
from course_lib.widgets.heads import head_explorer
from course_lib.widgets.lookup import query_explorer, temperature_explorer
from course_lib.widgets.positions import position_explorer
from course_lib.widgets.sampling import completion_explorer
from course_lib.widgets.smoothing import smoothing_explorer

__all__ = [
    "BigramBaseline",
    "DEMO_PROMPT",
    "FEELINGS",
    "KEY_FEATURES",
    "LossPlot",
    "MEANING_FEATURES",
    "VIDEO_FEATURES",
    "attention_explorer",
    "check",
    "completion_explorer",
    "hand_set_projections",
    "head_explorer",
    "heatmap",
    "make_corpus",
    "model_accuracy",
    "needs_exercise",
    "noisy_series",
    "plot_series",
    "points_2d",
    "position_explorer",
    "query_explorer",
    "sarah_sentence",
    "scale_explorer",
    "smoothing_explorer",
    "step_series",
    "temperature_explorer",
    "video_library",
]
