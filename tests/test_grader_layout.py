"""The grader's layout holds: no import cycles, short functions, and modules of one idea each."""

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from grader.paths import ROOT

GRADER = ROOT / "grader"
LONG_MODULES = {
    "grader.grading.intake": "one idea: the repair of a submitted notebook's shape, step by step",
    "grader.lms.collect": "one idea: an LMS's zip laid out as nbgrader's submitted folder",
    "grader.lms.export": "one idea: a graded class in the LMSs' import files (Canvas and Moodle share the "
    "matching of learners, the list of those unmatched and the copying of feedback)",
    "grader.classroom.hub": "one idea: a class's hub set up (exchange, course, configs) and started",
}
"""Modules over 300 lines, each with why it is still one piece."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(GRADER.rglob("*.py"))}


def _imported(module: str, path: Path) -> set[str]:
    """The grader modules ``module`` imports, anywhere in it (inside functions too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # ``from grader.grading import intake`` imports the module grader.grading.intake.
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {name for name in names if name in MODULES and name != module}
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        list(TopologicalSorter(graph).static_order())
    except CycleError as error:
        return error.args[1]
    return None


def test_the_grader_has_no_import_cycles():
    graph = {module: _imported(module, path) for module, path in MODULES.items()}
    assert "grader.grading" in graph["grader.batch.worker"], "the graph should see the worker's imports"
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_a_cycle_is_found_where_there_is_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) is not None
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_grader_function_is_longer_than_60_lines():
    long = [
        f"{module}.{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for module, path in MODULES.items()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno >= 60
    ]
    assert long == []


def test_a_grader_module_over_300_lines_is_one_idea():
    long = {module for module, path in MODULES.items() if len(path.read_text().splitlines()) > 300}
    assert long <= set(LONG_MODULES), long - set(LONG_MODULES)
