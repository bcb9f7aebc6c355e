"""Which library functions an exercise's answer may not call: the ones it asks the learner to write.

Found by reading the answer's source (never by running it): an attribute such as ``F.layer_norm`` or
``torch.nn.functional.layer_norm``, or a name imported with ``from ... import layer_norm``. The learner's
own definitions with the same name (``class LayerNorm``) are not uses.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any


def forbidden_uses(source: str, forbidden: tuple[str, ...]) -> list[str]:
    """The forbidden names ``source`` uses, as written (e.g. ``F.layer_norm``), in order of appearance."""
    if not forbidden:
        return []
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in forbidden:
            found.append(ast.unparse(node))
        elif isinstance(node, ast.ImportFrom):
            found += [
                f"from {node.module} import {alias.name}" for alias in node.names if alias.name in forbidden
            ]
    return sorted(set(found), key=found.index)


def source_of(learner: Any) -> str:
    """The learner's source code, where Python can find it (functions and classes defined in a notebook)."""
    try:
        return inspect.getsource(learner)
    except (OSError, TypeError):
        pass
    # Python cannot always find a class defined in a notebook cell, but it finds its methods.
    methods = vars(learner).values() if isinstance(learner, type) else ()
    return "\n".join(
        textwrap.dedent(_source_or_empty(method)) for method in methods if inspect.isfunction(method)
    )


def _source_or_empty(function: Any) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return ""
