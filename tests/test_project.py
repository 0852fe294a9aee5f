"""The set-up a newcomer relies on: dependency lists agree, pins exist, CI runs the README's command."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement.strip().strip('"'), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject_requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [r for group in project["optional-dependencies"].values() for r in group]
    return project["dependencies"] + extras


def test_environment_yml_names_the_same_packages_as_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    env_names = {_name(r) for r in pip_section if not r.startswith("-")}
    assert env_names == {_name(r) for r in _pyproject_requirements()}
    assert any(r.startswith("-e") for r in pip_section), "environment.yml must install the project"
    assert "python=3.11" in env["dependencies"]


def test_constraints_pin_every_direct_dependency():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt line {line!r} is not an exact pin"
            pins[_name(name)] = version
    missing = {_name(r) for r in _pyproject_requirements()} - pins.keys()
    assert not missing, f"constraints.txt does not pin {sorted(missing)}"
    assert pins["torch"] == "2.13.0"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```(?:bash|sh)?\n(.*?)```", readme, re.S).group(1)
    assert [c.strip() for c in first_block.strip().splitlines()] == ["make", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "set -e" in ci


def test_makefile_has_the_documented_targets():
    makefile = (ROOT / "Makefile").read_text()
    for target in ["all", "setup", "book", "course", "solutions", "lab", "test", "bench", "clean"]:
        assert re.search(rf"^{target}:", makefile, re.M), f"Makefile lacks target {target}"
