"""``python -m grader hub`` refuses, with a message saying what to do, to bring up a classroom it cannot run
safely or at all; nothing is started or written then (grader/classroom/hub.py). The hub itself runs in
tests/browser/test_classroom_browser.py."""

from __future__ import annotations

import os
import pwd

import pytest

from grader.cli import main

# An existing account for the instructor: the user running the tests.
ME = pwd.getpwuid(os.getuid()).pw_name
UNKNOWN = "attention-nobody-here"
ROOT_NEEDED = "run the hub as root: JupyterHub starts each learner's server as that learner's Unix user"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--authenticator", "dummy", "--learner", "alice", "--ip", "0.0.0.0"],
            "--authenticator dummy lets anyone in with any password: it listens on loopback only, not 0.0",
        ),
        (
            ["--authenticator", "dummy"],
            "--authenticator dummy lets in only the learners named with --learner",
        ),
        (["--authenticator", "dummy", "--learner", ME], f"{ME!r} cannot be the instructor and a learner"),
        (
            ["--learner", UNKNOWN],
            f"{UNKNOWN!r} is not a user of this machine; every class member needs a Unix",
        ),
        ([], "say who the learners are: --learners-group GROUP (their Unix group) or --learner NAME"),
        (["--learners-group", "attention-no-such-group"], "'attention-no-such-group' is not a group of this"),
    ],
)
def test_a_classroom_that_cannot_run_is_refused_with_the_reason(tmp_path, capsys, arguments, message):
    with pytest.raises(KeyError):
        pwd.getpwnam(UNKNOWN)
    if "dummy" not in arguments and os.geteuid() != 0:
        message = ROOT_NEEDED  # a classroom of Unix users is checked further only as root
    status = main(["hub", str(tmp_path / "class"), "--instructor", ME, *arguments])
    assert status == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "class").exists()
