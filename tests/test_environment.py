"""pyproject.toml and environment.yml list the same packages with the same version ranges."""

import re

import tomllib

from grader.paths import ROOT

CONDA_NAMES = {"torch": "pytorch"}


def _pip_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["dev"]
    parsed = {}
    for requirement in requirements:
        name, spec = re.match(r"([A-Za-z0-9_.-]+)\s*(.*)", requirement).groups()
        parsed[CONDA_NAMES.get(name.lower(), name.lower())] = spec.replace(" ", "")
    return parsed


def _conda_requirements() -> dict[str, str]:
    parsed = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        match = re.match(r"\s+-\s+([A-Za-z0-9_.-]+)\s*([<>=!][^#\s]*)?\s*$", line)
        if match and match.group(1) not in {"python", "pip", "conda-forge"}:
            parsed[match.group(1).lower()] = (match.group(2) or "").replace(" ", "")
    return parsed


def test_conda_and_pip_environments_agree():
    assert _conda_requirements() == _pip_requirements()


def test_torch_range_takes_the_cpu_wheel_not_an_unbounded_release():
    spec = _pip_requirements()["pytorch"]
    assert "<" in spec, "an unbounded torch requirement pulls a multi-GB CUDA build"
