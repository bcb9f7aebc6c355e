"""The instructor's command line: ``python -m grader {release,validate,collect,autograde,report}``."""

from __future__ import annotations

import argparse
from pathlib import Path

from grader.classroom import commands as classroom
from grader.sandbox import Limits

LIMIT_HELP = {
    "cpu_seconds": "CPU seconds one submission's kernel may use",
    "memory_mb": "address space of one kernel, in MiB",
    "processes": "processes and threads a sandbox may add",
    "file_size_mb": "largest file learner code may write, in MiB",
    "cell_seconds": "wall-clock limit of one notebook cell, in seconds",
    "job_seconds": "wall-clock limit of one verification process, in seconds",
    "notebook_seconds": "wall-clock limit of all the cells of one notebook together, in seconds",
}


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
        "submissions",
        type=Path,
        help="folder of <student_id>/<assignment>/<assignment>.ipynb, or an LMS's .zip of one lesson",
    )
    autograde.add_argument("--lesson", help="the lesson an LMS's .zip holds, e.g. 01_smoothing")
    autograde.add_argument(
        "--lms",
        metavar="NAMING",
        help="how the .zip names files: canvas, moodle, blackboard or a regex (default: what fits)",
    )
    autograde.add_argument("--out", type=Path, required=True, help="where grades.csv and feedback/ go")
    autograde.add_argument(
        "--workers",
        type=int,
        default=None,
        help="notebooks graded at once on this machine (default: the number of cores)",
    )
    autograde.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="grade on the workers of this Dask cluster (e.g. tcp://10.0.0.5:8786) instead of locally",
    )
    autograde.add_argument(
        "--regrade",
        action="store_true",
        help="grade everything again instead of resuming the batch already in --out",
    )
    defaults = Limits()
    for name, help_text in LIMIT_HELP.items():
        option = "--" + name.replace("_", "-")
        autograde.add_argument(
            option, type=int, default=getattr(defaults, name), help=help_text + " (%(default)s)"
        )

    report = commands.add_parser("report", help="summary page of a graded class: OUT/report/index.html")
    report.add_argument("out", type=Path, help="the --out folder of autograde")
    collect = commands.add_parser("collect", help="an LMS's zip of submissions -> SUBMISSIONS")
    collect.add_argument(
        "archive", metavar="ARCHIVE", type=Path, help="an LMS's 'download all submissions' .zip"
    )
    collect.add_argument("--lesson", required=True, help="the lesson id, e.g. 01_smoothing")
    collect.add_argument(
        "--into", metavar="FOLDER", type=Path, required=True, help="gets <student_id>/<lesson>/"
    )
    naming = collect.add_mutually_exclusive_group()
    naming.add_argument("--lms", help="canvas, moodle or blackboard (default: the one that fits)")
    naming.add_argument("--pattern", help="a regex with (?P<student_id>...) and (?P<file_id>...)")
    classroom.add_commands(commands)

    args = parser.parse_args(argv)
    if args.command in classroom.COMMANDS:
        return classroom.run_command(args)
    if args.command == "release":
        from grader.release import release as run_release

        return run_release(check=args.check)
    if args.command == "validate":
        from grader.validate import validate as run_validate

        return run_validate(args.lessons)
    if args.command == "report":
        from grader.report import report as run_report

        return run_report(args.out)
    if args.command == "collect":
        from grader.collect import collect_command

        return collect_command(args.archive, args.lesson, args.into, args.lms or args.pattern)
    from grader.autograde import autograde as run_autograde

    limits = Limits(**{name: getattr(args, name) for name in LIMIT_HELP})
    return run_autograde(
        args.submissions,
        args.out,
        limits,
        workers=args.workers,
        scheduler=args.scheduler,
        regrade=args.regrade,
        lesson=args.lesson,
        naming=args.lms,
    )
