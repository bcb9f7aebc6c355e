"""The feedback pages' exporter: the page nbconvert makes, with its templates compiled only once."""

import re

import jinja2
import nbformat
from nbconvert.exporters import HTMLExporter

from grader.course.feedback import FeedbackExporter

NOTEBOOK = nbformat.v4.new_notebook(
    cells=[
        nbformat.v4.new_markdown_cell("# Smoothing\nA *weighted* average."),
        nbformat.v4.new_code_cell("weights = [0.25, 0.5, 0.25]\nsum(weights)"),
    ]
)


def _page(exporter_class) -> str:
    page, _ = exporter_class().from_notebook_node(NOTEBOOK)
    return re.sub(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", "<uuid>", page)


def test_the_page_is_the_one_nbconvert_makes():
    assert _page(FeedbackExporter) == _page(HTMLExporter)


def test_a_new_exporter_reuses_the_compiled_templates(monkeypatch):
    _page(FeedbackExporter)
    compiled = []
    original = jinja2.Environment.compile

    def counting(self, *args, **kwargs):
        compiled.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    _page(FeedbackExporter)
    assert compiled == []
    _page(HTMLExporter)
    assert compiled  # nbconvert's own exporter compiles them all again
