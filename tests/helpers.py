"""Helpers shared by the test modules (imported as ``from helpers import ...``; pytest puts tests/ on the
path): running the workflow with Snakemake in a temporary directory and reading what it planned."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "config" / "tiny.yaml"


def snakemake(workdir: Path, *args: str, configs: tuple[Path, ...] = (), tiny: bool = True,
              timeout: float = 900) -> subprocess.CompletedProcess:
    """Run snakemake on the repository's Snakefile in ``workdir`` with config/tiny.yaml (unless ``tiny`` is
    false: config.yaml alone) plus ``configs``."""
    configs = ((TINY,) if tiny else ()) + tuple(configs)
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
        "--cores", "2", *args,
    ]
    if configs:
        command += ["--configfile", *map(str, configs)]  # --configfile last: it takes a list
    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)


def write_config(path: Path, values: dict) -> Path:
    """Write ``values`` as a YAML config file; return its path."""
    path.write_text(yaml.safe_dump(values))
    return path


def planned_jobs(output: str) -> dict[str, int]:
    """Rule -> job count from the 'Job stats' table of a dry run ({} when nothing is to be done)."""
    if "Job stats:" not in output:
        return {}
    table = output.split("Job stats:", 1)[1]
    counts = {}
    for line in table.splitlines()[3:]:
        match = re.match(r"^(\w+)\s+(\d+)\s*$", line)
        if not match or match.group(1) == "total":
            break
        counts[match.group(1)] = int(match.group(2))
    return counts


def failure_text(proc: subprocess.CompletedProcess) -> str:
    """A failed run's exit status and the ends of its stdout and stderr, for an assertion message."""
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-6000:]}"
