"""One module per lesson; importing it registers the lesson's exercises."""

import course_lib.exercises.cross_attention  # noqa: F401
from course_lib.exercises import attention, decoder, lookup, multihead, smoothing, training  # noqa: F401
