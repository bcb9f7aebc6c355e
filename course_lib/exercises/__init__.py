"""One module per lesson; importing it registers the lesson's exercises."""

from course_lib.exercises import attention, decoder, lookup, multihead, smoothing, training  # noqa: F401
