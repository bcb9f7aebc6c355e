"""The instructor's command line: ``python -m grader {release,validate,autograde}``."""

from __future__ import annotations

import argparse
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    release = commands.add_parser(
        "release", help="regenerate notebooks/ and the visible cases from solutions/"
    )
    release.add_argument("--check", action="store_true", help="only report files that are out of date")

    validate = commands.add_parser(
        "validate", help="solutions earn full marks, released notebooks 0, every known mistake is caught"
    )
    validate.add_argument("lessons", nargs="*", help="lesson ids (default: all)")

    autograde = commands.add_parser("autograde", help="grade submitted notebooks")
    autograde.add_argument(
        "submissions", type=Path, help="folder of <student_id>/<assignment>/<assignment>.ipynb"
    )
    autograde.add_argument("--out", type=Path, required=True, help="where grades.csv and feedback/ go")

    args = parser.parse_args(argv)
    if args.command == "release":
        from grader.release import release as run_release

        return run_release(check=args.check)
    if args.command == "validate":
        from grader.validate import validate as run_validate

        return run_validate(args.lessons)
    from grader.autograde import autograde as run_autograde

    return run_autograde(args.submissions, args.out)
