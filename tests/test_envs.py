"""The conda environments in envs/ pin what pyproject.toml pins, so the two cannot drift apart."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

REPO = Path(__file__).resolve().parents[1]
ENV_FILES = sorted((REPO / "envs").glob("*.yaml"))
NOT_ON_PYPI = {"enblend-enfuse"}  # conda-only programs (the enfuse binary)
SELF_INSTALL = "-e ${MFFSSIM_ROOT}"  # the checkout, editable; the Snakefile sets MFFSSIM_ROOT


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _pins(specs) -> dict[str, str]:
    pins = {}
    for spec in specs:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name not in pins, f"{name} listed twice"
        pins[name] = str(requirement.specifier)
    return pins


def _env_specs(path: Path) -> tuple[list[str], list[str]]:
    """(conda dependencies, pip lines) of a conda environment file."""
    conda, pip = [], []
    for entry in yaml.safe_load(path.read_text())["dependencies"]:
        if isinstance(entry, dict):
            pip.extend(entry["pip"])
        else:
            conda.append(entry)
    return conda, pip


def test_there_are_env_files():
    assert {p.name for p in ENV_FILES} >= {"mffssim.yaml", "enfuse.yaml"}


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: p.name)
def test_env_pins_equal_pyprojects(path):
    project = _pyproject()
    # the rules run the workflow: the library's dependencies and the workflow extra's
    wanted = _pins(project["dependencies"] + project["optional-dependencies"]["workflow"])
    conda, pip = _env_specs(path)
    assert SELF_INSTALL in pip, f"{path.name} does not install the package from the checkout"
    fuzzy = [s for s in conda if re.search(r"(?<![<>=!~])=(?!=)", s)]
    assert not fuzzy, f"{path.name}: conda's one '=' is a prefix match, not pyproject's '==': {fuzzy}"
    python = [s for s in conda if canonicalize_name(Requirement(s).name) == "python"]
    assert [str(Requirement(s).specifier) for s in python] == [project["requires-python"]], path.name
    listed = [s for s in conda + pip
              if not s.startswith("-") and canonicalize_name(Requirement(s).name) not in {"python", "pip", *NOT_ON_PYPI}]
    assert _pins(listed) == wanted, f"{path.name} differs from pyproject.toml's dependencies and workflow extra"


def test_the_snakefile_points_the_envs_at_the_checkout():
    assert "MFFSSIM_ROOT=str(Path(workflow.basedir).resolve())" in (REPO / "Snakefile").read_text()
