"""What learners import: the checks, the data, the plots and the sliders of the course."""

from course_lib.check import check
from course_lib.data import VIDEO_FEATURES, noisy_series, points_2d, step_series, video_library
from course_lib.plots import heatmap, plot_series
from course_lib.widgets import needs_exercise
from course_lib.widgets.lookup import query_explorer, temperature_explorer
from course_lib.widgets.smoothing import smoothing_explorer

__all__ = [
    "VIDEO_FEATURES",
    "check",
    "heatmap",
    "needs_exercise",
    "noisy_series",
    "plot_series",
    "points_2d",
    "query_explorer",
    "smoothing_explorer",
    "step_series",
    "temperature_explorer",
    "video_library",
]
