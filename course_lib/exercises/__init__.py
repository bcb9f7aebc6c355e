"""One module per lesson; importing it registers the lesson's exercises."""

from course_lib.exercises import attention, lookup, multihead, smoothing  # noqa: F401
