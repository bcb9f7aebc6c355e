"""The instructor's command line: ``python -m grader VERB``, its verbs release, validate, collect, autograde,
report, lms-export and hub.

This module only parses; what each verb does is in ``grader.commands``, imported when it runs (``report``
need not load nbgrader, nor ``release`` torch). The limits' options are generated from
``grader.settings.Limits``."""

from __future__ import annotations

import argparse
from importlib import import_module
from pathlib import Path

from grader.classroom.hub import add_hub_arguments
from grader.settings import Limits, add_options, from_options


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    release = commands.add_parser(
        "release", help="regenerate notebooks/ and the visible cases from solutions/"
    )
    release.add_argument("--check", action="store_true", help="only report files that are out of date")

    validate = commands.add_parser(
        "validate", help="solutions earn full marks, released notebooks 0, every known mistake is caught"
    )
    validate.add_argument("lessons", nargs="*", help="lesson ids (default: all)")

    _add_autograde(commands.add_parser("autograde", help="grade submitted notebooks"))

    report = commands.add_parser("report", help="summary page of a graded class: OUT/report/index.html")
    report.add_argument("out", type=Path, help="the --out folder of autograde")

    _add_lms_export(
        commands.add_parser(
            "lms-export",
            help="a graded class's grades and feedback, in files Canvas's or Moodle's import takes",
        )
    )
    add_hub_arguments(commands.add_parser("hub", help="bring the course up for a class on JupyterHub"))

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
    return parser


def _add_lms_export(export: argparse.ArgumentParser) -> None:
    export.add_argument("out", type=Path, help="the --out folder of autograde")
    export.add_argument("--lms", choices=("canvas", "moodle"), required=True)
    export.add_argument("--into", type=Path, required=True, metavar="FOLDER", help="where the files go")
    export.add_argument(
        "--match-on",
        help="what the student ids are: canvas: id (default), sis-user-id, sis-login-id; "
        "moodle: participant (default), username, idnumber, email",
    )
    export.add_argument(
        "--roster", type=Path, help="the LMS's own gradebook export (.csv), to match learners on"
    )


def _add_autograde(autograde: argparse.ArgumentParser) -> None:
    autograde.add_argument(
        "submissions",
        type=Path,
        nargs="?",
        help="folder of <student_id>/<assignment>/<assignment>.ipynb, or an LMS's .zip of one lesson",
    )
    autograde.add_argument(
        "--course",
        metavar="DIR",
        type=Path,
        help="grade the submitted/ folder of this nbgrader course into its own gradebook, autograded/ and "
        "feedback/ (instead of SUBMISSIONS; without either, the course nbgrader itself would find here)",
    )
    autograde.add_argument("--lesson", help="the lesson an LMS's .zip holds, e.g. 01_smoothing")
    autograde.add_argument(
        "--lms",
        metavar="NAMING",
        help="how the .zip names files: canvas, moodle, blackboard or a regex (default: what fits)",
    )
    autograde.add_argument(
        "--out",
        type=Path,
        help="where grades.csv, results.json, feedback/ and the report go (with --course, by default "
        f"DIR/{COURSE_OUT})",
    )
    autograde.add_argument(
        "--workers", type=int, help="notebooks graded at once on this machine (default: the number of cores)"
    )
    autograde.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="grade on the workers of this Dask cluster (e.g. tcp://10.0.0.5:8786) instead of locally",
    )
    autograde.add_argument(
        "--regrade", action="store_true", help="grade everything again instead of resuming the batch in --out"
    )
    autograde.add_argument(
        "--no-similarity",
        dest="similarity",
        action="store_false",
        help="do not screen the class for shared work (no pairs worth a look in the report)",
    )
    add_options(autograde, Limits)


def nbgrader_course() -> Path | None:
    """The nbgrader course that ``nbgrader autograde`` run here would grade: its config files read as
    nbgrader reads them (Jupyter's config path, then this folder); the folder their
    ``CourseDirectory.root`` names, else this folder if it holds an nbgrader_config.py; None without one."""
    from nbgrader.apps.baseapp import NbGrader

    app = NbGrader(log_level="ERROR")
    app.load_config_file()
    root = app.config.CourseDirectory.get("root") if "CourseDirectory" in app.config else None
    if root:
        return Path(root)
    return Path.cwd() if (Path.cwd() / "nbgrader_config.py").is_file() else None


COURSE_OUT = "attention_grading"
"""Where, in an nbgrader course graded in place, the grader's own outputs go unless --out says."""


def main(argv: list[str] | None = None) -> int:
    arguments = parser()
    args = arguments.parse_args(argv)
    if args.command == "autograde":
        if args.submissions is not None and args.course is not None:
            arguments.error("autograde takes SUBMISSIONS or --course DIR, not both")
        if args.submissions is None and args.course is None:
            args.course = nbgrader_course()
            if args.course is None:
                arguments.error(
                    "autograde needs SUBMISSIONS or --course DIR: no nbgrader course was found here (an "
                    "nbgrader_config.py in this folder, or one on Jupyter's config path that sets "
                    "c.CourseDirectory.root, as nbgrader looks for them)"
                )
            print(f"grading the nbgrader course {args.course} (found as nbgrader finds it)")
        if args.course is not None:
            args.submissions = args.course / "submitted"
            args.out = args.out or args.course / COURSE_OUT
        elif args.out is None:
            arguments.error("autograde SUBMISSIONS needs --out OUT")
    command = import_module(f"grader.commands.{args.command.replace('-', '_')}")
    if args.command == "hub":
        return command.hub(args)
    if args.command == "lms-export":
        return command.lms_export(args.out, args.lms, args.into, args.match_on, args.roster)
    if args.command == "release":
        return command.release(check=args.check)
    if args.command == "validate":
        return command.validate(args.lessons)
    if args.command == "report":
        return command.report(args.out)
    if args.command == "collect":
        return command.collect(args.archive, args.lesson, args.into, args.lms or args.pattern)
    return command.autograde(
        args.submissions,
        args.out,
        from_options(args, Limits),
        workers=args.workers,
        scheduler=args.scheduler,
        regrade=args.regrade,
        lesson=args.lesson,
        naming=args.lms,
        screen_similarity=args.similarity,
        course=args.course,
    )
