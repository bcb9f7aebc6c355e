"""What learners import: the checks, the data, the plots and the sliders of the course."""

from course_lib.check import check
from course_lib.data import noisy_series, step_series
from course_lib.plots import heatmap, plot_series
from course_lib.widgets import needs_exercise
from course_lib.widgets.smoothing import smoothing_explorer

__all__ = [
    "check",
    "heatmap",
    "needs_exercise",
    "noisy_series",
    "plot_series",
    "smoothing_explorer",
    "step_series",
]
