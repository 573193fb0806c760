"""The tiny workflow (config/tiny.yaml) run through a real SLURM cluster gives the same results as a local run.

Needs a cluster whose `sinfo` shows an idle node (CI starts a one-node one with `.ci/start-slurm.sh`) and the
snakemake-executor-plugin-slurm package; skips with the reason when there is no cluster. On a multi-node
cluster, run pytest with `--basetemp` on a filesystem the compute nodes share.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mffssim.io import read_image

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "config" / "tiny.yaml"
PROFILE = REPO / "profiles" / "slurm"
TIMEOUT_S = 900  # the whole SLURM run; a hung status check must not hang CI
IMAGE_SUFFIXES = {".png", ".tif", ".tiff", ".jpg", ".jpeg"}
pytestmark = pytest.mark.slow


def _profile_partition() -> str | None:
    resources = yaml.safe_load((PROFILE / "config.yaml").read_text()).get("default-resources") or {}
    return resources.get("slurm_partition")


def _no_cluster_reason() -> str | None:
    """Why the SLURM test cannot run here, or None when an idle node is there to run it."""
    if shutil.which("sinfo") is None:
        return "no SLURM cluster: `sinfo` is not on PATH (CI starts one with `sudo bash .ci/start-slurm.sh`)"
    try:
        proc = subprocess.run(["sinfo", "-h", "-o", "%R %T"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "no SLURM cluster: `sinfo` did not answer within 30 s"
    if proc.returncode != 0:
        return f"no SLURM cluster: `sinfo` failed ({proc.stderr.strip() or proc.returncode})"
    rows = [line.split() for line in proc.stdout.splitlines() if line.strip()]
    partition = _profile_partition()
    usable = [r for r in rows if r[1] in ("idle", "mixed") and (partition is None or r[0] == partition)]
    if not usable:
        where = f"in partition {partition!r} (profiles/slurm)" if partition else ""
        return f"no idle SLURM node {where}; sinfo shows: {proc.stdout.strip() or 'nothing'}"
    return None


def snakemake_command(workdir: Path, config: Path, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
        "--configfile", str(config), *args,
    ]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _fail(name: str, returncode: int, out: str) -> str:
    return f"{name} run: exit {returncode}\n{out[-8000:]}"


def _cancel_jobs(prefix: str) -> None:
    """Cancel whatever this test's SLURM jobs left queued (after a timeout or a failure)."""
    proc = subprocess.run(["squeue", "-h", "-o", "%i %j"], capture_output=True, text=True, timeout=30)
    ids = [line.split()[0] for line in proc.stdout.splitlines() if line.split()[1:2] and line.split()[1].startswith(prefix)]
    if ids:
        subprocess.run(["scancel", *ids], capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The tiny workflow through SLURM and locally (both at once, to save wall time), in two directories."""
    reason = _no_cluster_reason()
    if reason:
        pytest.skip(reason)
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        pytest.fail("a SLURM cluster is up but snakemake-executor-plugin-slurm is not installed (pip install -e '.[test]')")
    root = tmp_path_factory.mktemp("slurm")
    slurm_dir, local_dir = root / "slurm", root / "local"
    # Both runs read one frozen copy of the config: SLURM jobs re-read the config file when they start.
    config = root / "tiny.yaml"
    shutil.copyfile(TINY, config)
    prefix = f"mffssimtest{uuid.uuid4().hex[:8]}"
    slurm_log = (root / "slurm.log").open("w+")
    # `timeout` ends Snakemake (and with it its jobs) if the run hangs, e.g. on a status check that never returns.
    slurm = subprocess.Popen(
        ["timeout", "-k", "20", str(TIMEOUT_S),
         *snakemake_command(slurm_dir, config, "--workflow-profile", str(PROFILE), "--slurm-jobname-prefix", prefix)],
        stdout=slurm_log, stderr=subprocess.STDOUT, env=_env(), cwd=root,
    )
    try:
        # Same thread count as the SLURM jobs get: every rule's `threads` (fusion.threads = 1 in the config).
        local = subprocess.run(
            snakemake_command(local_dir, config, "--cores", "2"), capture_output=True, text=True, timeout=TIMEOUT_S, env=_env(), cwd=root,
        )
        assert local.returncode == 0, _fail("local", local.returncode, local.stdout + local.stderr)
        returncode = slurm.wait(timeout=TIMEOUT_S + 60)
    finally:
        if slurm.poll() is None:
            slurm.kill()
        _cancel_jobs(prefix)
    slurm_log.seek(0)
    out = slurm_log.read()
    slurm_log.close()
    assert returncode != 124, _fail(f"SLURM (killed by timeout after {TIMEOUT_S} s)", returncode, out)
    assert returncode == 0, _fail("SLURM", returncode, out)
    return {"slurm": slurm_dir, "local": local_dir, "log": out}


def test_jobs_went_through_slurm(runs):
    log = runs["log"]
    submitted = log.count("has been submitted with SLURM jobid")
    assert submitted >= 9, log[-4000:]  # every job of the tiny config but the local target `all`
    assert "SLURM run ID" in log and "Complete log" in log


def _result_files(workdir: Path) -> set[Path]:
    """Outputs to compare: results and made data, not the run-time benchmarks."""
    files = {p.relative_to(workdir) for d in ("results", "resources") for p in (workdir / d).rglob("*") if p.is_file()}
    return {p for p in files if p.parts[:2] != ("results", "benchmarks")}


# measured run times (fusion.json's solver seconds): they differ between any two runs
TIMING_KEYS = {"seconds"}


def _assert_json_close(a, b, where: str) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for key in a.keys() - TIMING_KEYS:
            _assert_json_close(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_json_close(x, y, f"{where}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert b == pytest.approx(a, rel=1e-6, abs=1e-6, nan_ok=True), where
    else:
        assert a == b, where


def _assert_tables_close(a: Path, b: Path) -> None:
    sep = "\t" if a.suffix == ".tsv" else ","
    left, right = pd.read_csv(a, sep=sep), pd.read_csv(b, sep=sep)
    assert list(left.columns) == list(right.columns) and left.shape == right.shape, a
    for column in left.columns:
        if pd.api.types.is_numeric_dtype(left[column]):
            np.testing.assert_allclose(right[column], left[column], rtol=1e-6, atol=1e-6, err_msg=f"{a}: {column}")
        else:
            assert left[column].equals(right[column]), f"{a}: {column}"


def test_results_equal_a_local_run(runs):
    local, slurm = runs["local"], runs["slurm"]
    files = _result_files(local)
    assert files == _result_files(slurm)
    assert any(p.suffix == ".png" for p in files) and any(p.suffix == ".csv" for p in files)
    for name in sorted(files):
        a, b = local / name, slurm / name
        if name.suffix in IMAGE_SUFFIXES:
            # equal after 8-bit quantisation
            qa, qb = (np.round(read_image(p) * 255).astype(np.uint8) for p in (a, b))
            assert qa.shape == qb.shape and np.array_equal(qa, qb), name
        elif name.suffix in (".csv", ".tsv"):
            _assert_tables_close(a, b)
        elif name.suffix == ".json":
            _assert_json_close(json.loads(a.read_text()), json.loads(b.read_text()), str(name))
        elif name.suffix == ".npz":  # the sources' cached features (rule source_features): the same arrays
            with np.load(a) as left, np.load(b) as right:
                assert sorted(left.files) == sorted(right.files), name
                for key in left.files:
                    np.testing.assert_allclose(right[key], left[key], rtol=1e-6, atol=1e-6, err_msg=f"{name}: {key}")
        else:
            assert a.read_text() == b.read_text(), name
