"""The README's commands work with only the extras the README installs for them.

A development machine has every extra (and pytest's dependencies), so a module that a command imports but no
extra declares goes unseen there and fails on a user's fresh install, as the report step once did (it needs
pygments, which only the test extra brought in). ``helpers.as_installed`` runs a command as on a fresh machine:
every Python process it starts can import only the distributions that ``pip install mffssim[extras]`` brings
(pyproject.toml's requirements, followed through the installed packages' own), and the rest is refused as
absent. The session's tiny workflow run (conftest.py) already runs that way with the ``workflow`` extra; here
its report, and ``mffssim fuse`` with the core dependencies alone.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from helpers import REPO, as_installed, failure_text, installable_closure, snakemake


def test_the_closure_follows_the_extras():
    core, workflow, test = (installable_closure(e) for e in ((), ("workflow",), ("test",)))
    assert {"numpy", "torch", "scikit-image"} <= core and "snakemake" not in core
    assert {"snakemake", "pandas", "pygments", "jinja2"} <= workflow and "pytest" not in workflow
    assert {"pytest", "pygments"} <= test


def test_a_refused_module_is_absent(tmp_path):
    env = as_installed((), {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}, tmp_path)
    probe = ("import numpy, pkgutil, torch\nprint('listed:', {m.name for m in pkgutil.iter_modules()} & {'numpy', "
             "'snakemake'})\ntry:\n    import snakemake\nexcept ModuleNotFoundError as e:\n    print(e)")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "listed: {'numpy'}" in proc.stdout and "No module named 'snakemake'" in proc.stdout


def _without_reports_extra() -> str:
    """pyproject.toml as it was when the report step failed on a fresh install: plain `snakemake` in the
    workflow extra."""
    text = (REPO / "pyproject.toml").read_text()
    assert '"snakemake[reports]>=8.0"' in text
    return text.replace('"snakemake[reports]>=8.0"', '"snakemake>=8.0"')


@pytest.mark.slow
def test_report_needs_only_the_workflow_extra(tiny_run, tmp_path):
    """`snakemake --report` after the run, as the README gives it; and the check catches the old omission."""
    out = tmp_path / "report.html"
    proc = snakemake(tiny_run["dir"], "--report", str(out), configs=tiny_run["configs"], fresh=("workflow",))
    assert proc.returncode == 0, failure_text(proc)
    assert out.stat().st_size > 0
    # the same command, with the workflow extra as it was before Snakemake's `reports` extra joined it, fails
    # as the user's fresh install did
    env = as_installed(("workflow",), {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}, tmp_path / "old",
                       pyproject=_without_reports_extra())
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--cores", "1",
               "--report", str(tmp_path / "old.html")]
    command += ["--configfile", str(REPO / "config" / "tiny.yaml"), *map(str, tiny_run["configs"])]
    proc = subprocess.run(command, cwd=tiny_run["dir"], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode != 0 and "pygments must be installed" in proc.stdout + proc.stderr
    assert not (tmp_path / "old.html").exists()


def test_fuse_needs_only_the_core_dependencies(tmp_path):
    """`mffssim fuse` after a plain `pip install`."""
    from mffssim.io import write_image

    rng = np.random.default_rng(0)
    sharp = rng.random((40, 48, 3)).astype(np.float32)
    for k in (1, 2):
        blurred = sharp.copy()
        blurred[:, (k - 1) * 24:k * 24] = sharp[:, (k - 1) * 24:k * 24].mean()
        write_image(tmp_path / f"s{k}.png", blurred)
    env = as_installed((), {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(REPO)}, tmp_path)
    command = [sys.executable, "-m", "mffssim.cli", "fuse", "s1.png", "s2.png", "-o", "out.png", "--iterations", "3"]
    proc = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "out.png").is_file()
