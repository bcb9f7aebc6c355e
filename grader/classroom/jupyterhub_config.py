"""JupyterHub's configuration for the course on one machine. ``python -m grader hub`` starts JupyterHub with
this file and the class's settings in ``FOLDER/hub/classroom.json`` (see grader/classroom/hub.py)."""

import json
import os
from pathlib import Path

from grader.classroom.hub import SETTINGS_ENV

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file
classroom = json.loads(Path(os.environ[SETTINGS_ENV]).read_text())
state = Path(classroom["folder"]) / "hub"
python_bin = Path(classroom["python"]).parent

c.JupyterHub.bind_url = f"http://{classroom['ip']}:{classroom['port']}"
# The hub's API and the proxy's, for the learners' servers and the hub alone: on loopback.
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = classroom["hub_port"]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{classroom['proxy_api_port']}"
c.ConfigurableHTTPProxy.command = [classroom["proxy"]]
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")

c.JupyterHub.authenticator_class = classroom["authenticator"]
c.Authenticator.admin_users = {classroom["instructor"]}
c.Authenticator.allowed_users = {classroom["instructor"], *classroom["learners"]}
if classroom["learners_group"]:
    c.LocalAuthenticator.allowed_groups = {classroom["learners_group"]}

# Each class member's own JupyterLab with this checkout's Python: run as their Unix user, or, for tests, all
# as the hub's user, each in a home of its own.
if classroom["authenticator"] == "dummy":
    c.JupyterHub.spawner_class = "simple"
    c.SimpleLocalProcessSpawner.home_dir_template = str(Path(classroom["folder"]) / "homes" / "{username}")
    if os.geteuid() == 0:  # a test run as root (CI): Jupyter refuses root unless told it may
        c.Spawner.args = ["--allow-root"]
else:
    c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(python_bin / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {
    "PATH": f"{python_bin}:/usr/local/bin:/usr/bin:/bin",
    # The instructor's config folder holds the course (formgrader), the learners' switches formgrader off.
    "JUPYTER_CONFIG_PATH": lambda spawner: str(
        Path(classroom["folder"])
        / "jupyter"
        / ("instructor" if spawner.user.name == classroom["instructor"] else "learner")
    ),
}
# A class logging in at once, on a small machine: servers get time to start.
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
