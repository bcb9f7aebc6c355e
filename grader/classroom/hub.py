"""``python -m grader hub FOLDER --instructor NAME``: the course for a class on one machine.

JupyterHub (behind its proxy, configurable-http-proxy) gives every learner their own JupyterLab with this
checkout's Python (course_lib, nbgrader and its Assignments tab). Two ways to let people in:

- ``--authenticator pam`` (for a class): learners log in with their Unix password (JupyterHub's
  PAMAuthenticator) and JupyterHub's LocalProcessSpawner runs each server as that Unix user, so nbgrader's
  exchange knows who submitted from the files' owner, and no learner can read another's home or the course.
  Run as root; the checkout and its Python must be readable by every user (checked before the hub starts).
- ``--authenticator dummy`` (for tests): JupyterHub's DummyAuthenticator takes any password, so it listens
  on loopback only, and its SimpleLocalProcessSpawner runs every server as the user who started the hub,
  each in a home of its own under ``FOLDER/homes/``. As all files then have one owner, nbgrader is told who
  a learner is by JupyterHub's user name, as nbgrader itself does in containers where every user is
  ``jovyan`` (Zero to JupyterHub), and its collect step does not compare owners.

FOLDER gets, before the hub starts (again on every start; lessons already released stay as they are):

- ``exchange/``: nbgrader's exchange, a shared folder every user may write (mode 1777: the sticky bit keeps
  a learner from renaming or deleting what others put there; nbgrader sets the modes inside);
- in the instructor's home, ``attention-course/`` (for tests ``FOLDER/homes/<instructor>/course/``): their
  nbgrader course, owned by them and closed to everyone else, with the six lessons generated from
  ``solutions/`` and released to the exchange by nbgrader itself, as the instructor; its
  ``nbgrader_config.py`` takes the course's nbgrader settings with ``use_verified_execute``, so that
  formgrader's Autograde button verifies as the grader does;
- ``jupyter/learner/`` and ``jupyter/instructor/``: what each server finds first on its Jupyter config path:
  nbgrader's course id and exchange, for the instructor also the course; for learners, formgrader and the
  Create Assignment toolbar switched off;
- ``hub/``: JupyterHub's own state (its database, cookie secret, ``classroom.json`` with these settings),
  readable by root alone.

Grading runs in the sandbox, after collecting (formgrader's Collect, or ``nbgrader collect LESSON`` in
~/attention-course): for the class, ``python -m grader autograde --course ~/attention-course`` in the
instructor's JupyterLab terminal; for one notebook, formgrader's Autograde button. Both write into the
course's gradebook and feedback folder, so formgrader's Release Feedback and the learners' Fetch Feedback
work as in any nbgrader course.
"""

from __future__ import annotations

import argparse
import functools
import grp
import ipaddress
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from grader.paths import NBGRADER_CONFIG, ROOT, lessons, solution_notebook

HUB_CONFIG = Path(__file__).with_name("jupyterhub_config.py")
SETTINGS_ENV = "ATTENTION_CLASSROOM"
"""Where jupyterhub_config.py finds ``classroom.json``."""
# The Makefile installs the proxy here (`make hub-install`): an npm package cannot come through pip.
PROXY_IN_VENV = Path(sys.prefix) / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
# Learners see neither formgrader nor the tools that turn a notebook into an assignment.
LEARNER_DISABLED_LAB_PLUGINS = (
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:course-list",
)
# A classroom's servers do not ask every learner whether to fetch JupyterLab's news: with no feed the
# question stays, so the plugin that asks it is switched off too.
QUIET_LAB = {"LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"}}
QUIET_LAB_PLUGINS = ("@jupyterlab/apputils-extension:announcements",)


class HubError(RuntimeError):
    """The classroom cannot be set up as asked; the message says what to do."""


@dataclass
class Classroom:
    folder: Path
    instructor: str
    learners: list[str] = field(default_factory=list)
    """Usernames allowed in as learners (besides the members of ``learners_group``)."""
    learners_group: str | None = None
    authenticator: str = "pam"
    ip: str = "127.0.0.1"
    port: int = 8000
    hub_port: int = 0
    proxy_api_port: int = 0
    proxy: str = ""
    python: str = sys.executable

    @property
    def course(self) -> Path:
        """The instructor's nbgrader course, in their home: formgrader works only on a course inside the
        folder the instructor's server shows (nbgrader's 'bad setup' otherwise)."""
        if self.for_tests:
            return self.folder / "homes" / self.instructor / "course"
        return Path(pwd.getpwnam(self.instructor).pw_dir) / "attention-course"

    @property
    def exchange(self) -> Path:
        return self.folder / "exchange"

    @property
    def state(self) -> Path:
        return self.folder / "hub"

    @property
    def for_tests(self) -> bool:
        """Any password, every server as the current user (see the module's text)."""
        return self.authenticator == "dummy"

    def config_dir(self, role: str) -> Path:
        return self.folder / "jupyter" / role

    def settings(self) -> dict:
        settings = {
            key: str(value) if isinstance(value, Path) else value for key, value in asdict(self).items()
        }
        return {**settings, "course": str(self.course)}


def add_hub_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, metavar="FOLDER", help="the class's folder, e.g. /srv/attention")
    parser.add_argument(
        "--instructor", required=True, help="the instructor's Unix username (gets formgrader)"
    )
    parser.add_argument("--learners-group", help="Unix group whose members may log in as learners")
    parser.add_argument(
        "--learner",
        action="append",
        default=[],
        metavar="NAME",
        help="a learner's Unix username (repeatable)",
    )
    parser.add_argument(
        "--authenticator",
        choices=("pam", "dummy"),
        default="pam",
        help="pam: Unix passwords (default); dummy: any password, for tests on loopback only",
    )
    parser.add_argument("--ip", default="127.0.0.1", help="address the hub listens on (%(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="port the hub listens on (%(default)s)")
    parser.add_argument(
        "--prepare-only", action="store_true", help="set up FOLDER and release the lessons, start nothing"
    )


def hub_command(args: argparse.Namespace) -> int:
    classroom = Classroom(
        args.folder.resolve(),
        args.instructor,
        learners=args.learner,
        learners_group=args.learners_group,
        authenticator=args.authenticator,
        ip=args.ip,
        port=args.port,
    )
    try:
        prepare(classroom)
    except HubError as error:
        print(f"hub: {error}", file=sys.stderr)
        return 1
    if args.prepare_only:
        print(f"prepared {classroom.folder}; start the hub with the same command without --prepare-only")
        return 0
    print(
        f"starting JupyterHub on http://{classroom.ip}:{classroom.port}/ (instructor: {classroom.instructor})"
    )
    sys.stdout.flush()
    os.chdir(classroom.state)
    os.environ[SETTINGS_ENV] = str(classroom.state / "classroom.json")
    # The hub takes this process's place, so that a signal to it (Ctrl-C, a service manager) reaches
    # JupyterHub, which then stops the proxy and every learner's server.
    os.execv(sys.executable, [sys.executable, "-m", "jupyterhub", "-f", str(HUB_CONFIG)])


def prepare(classroom: Classroom) -> None:
    """Check the machine and the users, lay out FOLDER and release the lessons (see the module's text)."""
    _check_can_run(classroom)
    classroom.proxy = _proxy_command()
    classroom.hub_port = classroom.hub_port or _free_loopback_port()
    classroom.proxy_api_port = classroom.proxy_api_port or _free_loopback_port()
    for folder, mode in (
        (classroom.folder, 0o755),
        (classroom.exchange, 0o1777),
        (classroom.state, 0o700),
        (classroom.folder / "jupyter", 0o755),
        (classroom.course, 0o700),
    ):
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(mode)
    _write_config_dirs(classroom)
    (classroom.state / "classroom.json").write_text(json.dumps(classroom.settings(), indent=1) + "\n")
    instructor = None
    if not classroom.for_tests:
        _check_checkout_readable()
        instructor = pwd.getpwnam(classroom.instructor)
        for path in (classroom.course, *classroom.course.rglob("*")):
            os.chown(path, instructor.pw_uid, instructor.pw_gid)
    _release_lessons(classroom, instructor)


def _check_can_run(classroom: Classroom) -> None:
    if classroom.instructor in classroom.learners:
        raise HubError(f"{classroom.instructor!r} cannot be the instructor and a learner")
    if classroom.for_tests:
        if not ipaddress.ip_address(classroom.ip).is_loopback:
            raise HubError(
                "--authenticator dummy lets anyone in with any password: it listens on loopback only, "
                f"not {classroom.ip}"
            )
        if not classroom.learners:
            raise HubError("--authenticator dummy lets in only the learners named with --learner NAME")
        return
    if os.geteuid() != 0:
        raise HubError(
            "run the hub as root: JupyterHub starts each learner's server as that learner's Unix user "
            "(e.g. sudo .venv/bin/python -m grader hub ...)"
        )
    if not (classroom.learners or classroom.learners_group):
        raise HubError(
            "say who the learners are: --learners-group GROUP (their Unix group) or --learner NAME"
        )
    for name in (classroom.instructor, *classroom.learners):
        try:
            pwd.getpwnam(name)
        except KeyError:
            raise HubError(
                f"{name!r} is not a user of this machine; every class member needs a Unix account "
                f"(useradd --create-home {name})"
            ) from None
    if classroom.learners_group:
        try:
            grp.getgrnam(classroom.learners_group)
        except KeyError:
            raise HubError(
                f"{classroom.learners_group!r} is not a group of this machine (groupadd)"
            ) from None


def _proxy_command() -> str:
    found = PROXY_IN_VENV if PROXY_IN_VENV.exists() else shutil.which("configurable-http-proxy")
    if found is None:
        raise HubError(
            "JupyterHub's proxy, configurable-http-proxy (npm), is not installed: `make hub-install` "
            f"installs it into {PROXY_IN_VENV.parent.parent.parent} (it needs Node.js and npm)"
        )
    return str(found)


@functools.cache
def course_id() -> str:
    """nbgrader's course id, as the course's nbgrader settings set it: the exchange files lessons under it."""
    from traitlets.config import PyFileConfigLoader

    config = PyFileConfigLoader(NBGRADER_CONFIG.name, path=str(NBGRADER_CONFIG.parent)).load_config()
    return config.CourseDirectory.course_id


def _free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def nbgrader_settings(classroom: Classroom, role: str) -> str:
    lines = [
        f"# Written by `python -m grader hub` for the {role}s of the class.",
        "c = get_config()  # noqa: F821",
    ]
    if role == "instructor":
        lines += [
            "# The course's nbgrader settings, with the grader's verification inside nbgrader's autograde",
            "# (formgrader's Autograde button grades as `python -m grader autograde` does), then the folder.",
            "from grader.grading.preprocessor import use_verified_execute  # noqa: E402",
            "use_verified_execute(c)",
            f"c.CourseDirectory.root = {str(classroom.course)!r}",
        ]
    lines += [
        f"c.CourseDirectory.course_id = {course_id()!r}",
        f"c.Exchange.root = {str(classroom.exchange)!r}",
    ]
    if classroom.for_tests and role == "learner":
        lines += [
            "# Every server runs as one Unix user here: a learner is who JupyterHub says they are.",
            "import os  # noqa: E402",
            'c.CourseDirectory.student_id = os.environ["JUPYTERHUB_USER"]',
        ]
    if classroom.for_tests and role == "instructor":
        lines += [
            "# Every file has one owner here, so collect cannot tell learners apart by it.",
            "c.ExchangeCollect.check_owner = False",
        ]
    return "\n".join(lines) + "\n"


def _write_config_dirs(classroom: Classroom) -> None:
    (classroom.course / "nbgrader_config.py").write_text(nbgrader_settings(classroom, "instructor"))
    for role in ("learner", "instructor"):
        folder = classroom.config_dir(role)
        (folder / "labconfig").mkdir(parents=True, exist_ok=True)
        (folder / "nbgrader_config.py").write_text(nbgrader_settings(classroom, role))
        server = json.loads(json.dumps(QUIET_LAB))
        disabled = {plugin: True for plugin in QUIET_LAB_PLUGINS}
        if role == "learner":
            server["ServerApp"] = {"jpserver_extensions": {"nbgrader.server_extensions.formgrader": False}}
            disabled |= {plugin: True for plugin in LEARNER_DISABLED_LAB_PLUGINS}
        (folder / "jupyter_server_config.json").write_text(json.dumps(server, indent=1) + "\n")
        (folder / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": disabled}, indent=1) + "\n"
        )


def _check_checkout_readable() -> None:
    """Every class member's server runs this checkout's Python and imports course_lib from it: try that as
    'nobody', the user with the fewest rights."""
    probe = subprocess.run(
        [sys.executable, "-c", "import course_lib, nbgrader, jupyterhub"],
        user="nobody",
        cwd="/",
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        raise HubError(
            f"a class member could not run {sys.executable} with course_lib from {ROOT}: keep the checkout "
            "and its Python where every user can read them (not under /root; chmod -R a+rX) and install "
            f"it there (make hub-install).\n{probe.stderr.strip()}"
        )


def _release_lessons(classroom: Classroom, instructor: pwd.struct_passwd | None) -> None:
    """nbgrader's generate_assignment and release_assignment for each lesson not yet in the exchange, run
    as the ``instructor`` (None: the current user), so that the course and its gradebook are theirs."""
    released = classroom.exchange / course_id() / "outbound"
    pending = [lesson for lesson in lessons() if not (released / lesson).is_dir()]
    if not pending:
        return
    for lesson in pending:
        source = classroom.course / "source" / lesson / f"{lesson}.ipynb"
        source.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(solution_notebook(lesson), source)
        if instructor is not None:
            for path in (source.parent.parent, source.parent, source):
                os.chown(path, instructor.pw_uid, instructor.pw_gid)
    as_instructor = {}
    if instructor is not None:
        as_instructor = {"user": instructor.pw_uid, "group": instructor.pw_gid, "extra_groups": []}
    run = subprocess.run(
        [sys.executable, "-m", "grader.classroom.hub", str(classroom.course), *pending],
        cwd=classroom.course,
        env={
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "HOME": instructor.pw_dir if instructor else os.environ.get("HOME", "/"),
        },
        capture_output=True,
        text=True,
        **as_instructor,
    )
    if run.returncode != 0:
        raise HubError(f"releasing the lessons as {classroom.instructor} failed:\n{run.stdout}{run.stderr}")


def release_lessons(course: Path, pending: list[str]) -> None:
    """In the instructor's course: generate and release each lesson with nbgrader (run as the instructor)."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    api = NbGraderAPI(config=config)
    for lesson in pending:
        for step in (api.generate_assignment, api.release_assignment):
            result = step(lesson)
            if not result.get("success"):
                detail = result.get("error") or result.get("log")
                raise SystemExit(f"nbgrader {step.__name__} {lesson} failed:\n{detail}")
        print(f"released {lesson} to the exchange")


if __name__ == "__main__":
    release_lessons(Path(sys.argv[1]), sys.argv[2:])
