"""The exporter of nbgrader's feedback pages: nbconvert's HTML exporter with its compiled templates kept.

nbgrader makes a new exporter, and so a new Jinja environment, for every feedback page; compiling the
page's 27 templates again each time is a third of the page's cost. Jinja's bytecode cache keeps them, per
template source, in a folder of the user's own that Jinja creates private and checks before use.
"""

from jinja2 import FileSystemBytecodeCache
from nbconvert.exporters import HTMLExporter

_compiled_templates = FileSystemBytecodeCache()


class FeedbackExporter(HTMLExporter):
    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = _compiled_templates
        return environment
