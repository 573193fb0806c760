"""Every command the README shows is run: the workflow commands as dry runs (`snakemake -n`, so a stale
target, config file or option fails here), `mffssim fuse` for real on small images, the install commands
checked against pyproject.toml (they need the network, which tests do not have).

Each command line of the README's ```bash blocks runs in bash, in a scratch folder that holds the
repository's config/, with `snakemake` and `mffssim` defined as shell functions around this checkout.
"""
from __future__ import annotations

import re
import shlex
import subprocess
import sys

import numpy as np
import pytest

from helpers import REPO

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

pytestmark = pytest.mark.slow

README = (REPO / "README.md").read_text()
INSTALLS = ("python3 -m venv", "pip install")


def _commands() -> list[str]:
    """The command lines of the README's bash blocks (continuation lines joined, comments dropped)."""
    lines = []
    for block in re.findall(r"^```bash\n(.*?)^```", README, re.S | re.M):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("pip install") and " && " in line:  # the install is checked, what follows it runs
                line = line.split(" && ", 1)[1]
            if line:
                lines.append(line)
    return lines


COMMANDS = _commands()
WORKFLOW = [c for c in COMMANDS if "snakemake" in c and not c.startswith(INSTALLS)]
FUSE = [c for c in COMMANDS if c.startswith("mffssim ")]


def test_the_readme_shows_commands():
    assert len(WORKFLOW) >= 8 and len(FUSE) >= 2, COMMANDS
    # every command is one of the kinds this module runs or checks (the test command is this very suite)
    assert all(c in WORKFLOW or c in FUSE or c.startswith(INSTALLS) or c == "python3 -m pytest -q"
               for c in COMMANDS), COMMANDS


def test_install_commands_name_existing_extras():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    named = re.findall(r'pip install -e "\.\[([\w,]+)\]"', README)
    assert named, "the README installs no extra"
    for group in named:
        for extra in group.split(","):
            assert extra in extras, f"README installs the extra {extra!r}, pyproject.toml has {sorted(extras)}"
    pins = re.findall(r"pip install torch==([\d.]+)", README)
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert all(f"torch=={pin}" in project for pin in pins), (pins, project)


def _shell(scratch, command: str, *, dry: bool) -> subprocess.CompletedProcess:
    snakemake = f"{shlex.quote(sys.executable)} -m snakemake --snakefile {shlex.quote(str(REPO / 'Snakefile'))}"
    prelude = (
        f'snakemake() {{ {snakemake} --directory "$PWD/run" {"-n " if dry else ""}"$@"; }}\n'
        f'mffssim() {{ {shlex.quote(sys.executable)} -m mffssim.cli "$@"; }}\n'
        "set -e\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(scratch)}
    return subprocess.run(["bash", "-c", prelude + command], cwd=scratch, capture_output=True, text=True,
                          timeout=300, env=env)


@pytest.fixture
def scratch(tmp_path):
    """A folder with the repository's config/, a user's photo folder for the `folder` data set and a folder for
    their own fused images (the ranking)."""
    from mffssim.io import write_image

    (tmp_path / "config").symlink_to(REPO / "config")
    rng = np.random.default_rng(0)
    sharp = rng.random((40, 48, 3)).astype(np.float32)
    photos = tmp_path / "photos" / "desk"
    photos.mkdir(parents=True)
    for k in (1, 2):
        blurred = sharp.copy()
        blurred[:, (k - 1) * 24:k * 24] = sharp[:, (k - 1) * 24:k * 24].mean()
        write_image(photos / f"source_{k}.png", blurred)
        write_image(tmp_path / ("photo_near.jpg" if k == 1 else "photo_far.jpg"), blurred)
    (tmp_path / "mine" / "lytro").mkdir(parents=True)  # a user's own fused images (none yet: all sets missing)
    for name in ("a", "b", "c"):
        write_image(tmp_path / f"{name}.tif", np.clip(sharp + rng.normal(0, 0.05, sharp.shape), 0, 1))
    return tmp_path


@pytest.mark.parametrize("command", WORKFLOW)
def test_workflow_command_plans(scratch, command):
    command = command.replace("/path/to/dir", str(scratch / "photos")).replace("/path/to/mine", str(scratch / "mine"))
    proc = _shell(scratch, command, dry=True)
    assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"


@pytest.mark.parametrize("command", FUSE)
def test_fuse_command_runs(scratch, command):
    proc = _shell(scratch, command, dry=False)
    assert proc.returncode == 0, f"{command}\n{proc.stderr[-3000:]}"
    outputs = re.findall(r"-o (\S+)", command) + re.findall(r"--save-map (\S+)", command)
    assert outputs and all((scratch / name).is_file() for name in outputs), outputs
