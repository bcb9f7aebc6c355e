"""The classroom's verbs of ``python -m grader``: ``lms-export`` (grades and feedback back to the LMS) and
``hub`` (the course on JupyterHub). grader/cli.py only hands them their subparsers and their arguments."""

from __future__ import annotations

import argparse
from pathlib import Path

COMMANDS = ("lms-export", "hub")


def add_commands(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser(
        "lms-export", help="a graded class's grades and feedback, in files Canvas's or Moodle's import takes"
    )
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

    from grader.classroom.hub import add_hub_arguments

    add_hub_arguments(commands.add_parser("hub", help="bring the course up for a class on JupyterHub"))


def run_command(args: argparse.Namespace) -> int:
    if args.command == "lms-export":
        from grader.classroom.lms_export import lms_export_command

        return lms_export_command(args.out, args.lms, args.into, args.match_on, args.roster)
    from grader.classroom.hub import hub_command

    return hub_command(args)
