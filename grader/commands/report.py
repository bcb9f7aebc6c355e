"""``python -m grader report OUT``: write the class report of a graded class, say where it is and print
its headline. Exit code 1 when OUT lacks what autograde writes, with what is missing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from grader.report import ReportInputError, write_report
from grader.report.numbers import headline_lines


def report(out: Path) -> int:
    try:
        page = write_report(out)
    except ReportInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    summary = json.loads((page.parent / "summary.json").read_text())
    print(f"report: {page}")
    for line in headline_lines(summary):
        print(f"  {line}")
    return 0
