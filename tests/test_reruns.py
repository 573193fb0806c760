"""Incremental reruns: what a config change reruns, and an interrupted run that resumes.

One base run, with a job in every stage of the workflow: config/tiny.yaml (one embedded set, 48 px) with the
Laplacian and a tiny ResNet detector (1 epoch, width 4, one block) and the MFF-SSIM and pixel-wise fusers,
15 jobs (the set's four methods are scored in one metrics job). It is made the hard way: snakemake is killed (SIGKILL to its process group, as a node failure or
a wall-time limit would) while the MFF-SSIM fusion job runs, `snakemake -n --rerun-incomplete` must then
plan the interrupted and the never-run jobs and none of the finished ones, and the resumed run (`--unlock`
first: a killed snakemake leaves its lock behind, and a run refuses to start until it is removed) must
give the images and table of an uninterrupted run (the session's tiny run, conftest.py ``tiny_run``).

Then, against that finished run, one dry run per config section with one value changed: each must plan
EXACTLY the jobs worked out from the rules' params and inputs (the comments of ``CHANGES`` say why).
The dry runs go two at a time (dry runs take no lock). Last, the session's tiny run reruns nothing either.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import REPO, TINY, failure_text, planned_jobs, snakemake, write_config

from mffssim.io import read_image

pytestmark = pytest.mark.slow

BASE = {
    "focus": {"detectors": ["lap", "resnet"]},
    "fusion": {"methods": ["mffssim_paper", "pixelwise"]},
    "detector": {"width": 4, "blocks": 1, "epochs": 1, "samples_per_epoch": 16, "batch_size": 8, "crop": 32,
                 "heldout_samples": 2, "threads": 1, "device": "cpu"},
}
# the job the base run is killed in (its log appears when its script starts: >= 1 s before it can finish)
KILLED = "results/embedded/camera/mffssim_paper-lap"
KILLED_LOG = "logs/fusion/embedded/camera/mffssim_paper-lap.log"

# --------------------------------------------------------------------- what each change must plan, and why
# after a change, every job downstream of a rerun job reruns as well; these close every chain in the base run
TAIL = {"metrics": 1, "set_panel": 1, "table": 1, "convergence": 1, "all": 1}
# the metrics of n methods of one set: one job for the set (rules/ranking.smk), which computes those n and takes
# the others' values from their folders' caches (test_adding_a_method_computes_only_its_metrics), assembled by
# the set's metrics job
def scored(n):
    return {"method_metrics": 1} if n else {}


# the jobs of one image set (lap and resnet maps, MS-Lap, MS-ResNet, pixel-wise with each map, their four
# metrics jobs and the sources' features) and the tail
ONE_SET = {"focus_map": 1, "detect_resnet": 1, "fuse_mffssim": 1, "fuse_ms_resnet": 1, "fuse_pixelwise": 2,
           "source_features": 1, **scored(4), **TAIL}
CHANGES = {
    # dataset list: a new data set is downloaded and processed, with its own table and convergence plot;
    # the embedded side is untouched (its table depends on its own sets only)
    "datasets": ({"datasets": ["embedded", "mffssim_examples"]}, {"download_dataset": 1, **ONE_SET}, ["/camera/"]),
    # a set added: its jobs plus the data set's table, plot and `all`; the data rule made every set already
    "sets": ({"sets": {"embedded": ["camera", "coins"]}}, ONE_SET, ["/camera/"]),
    # synthesis: params of embedded_dataset, so every job that reads the data; training does not (its
    # scenes are its own, seeded by detector.seed)
    "embedded.seed": ({"embedded": {"seed": 1}}, {"embedded_dataset": 1, **ONE_SET}, ["results/detector/"]),
    "embedded.size": ({"embedded": {"size": 64}}, {"embedded_dataset": 1, **ONE_SET}, ["results/detector/"]),
    # detector: the training settings (params.settings) retrain, then the ResNet map, MS-ResNet and
    # pixel-wise fusion with the ResNet map; the Laplacian side stays
    "detector.width": (
        {"detector": {"width": 8}},
        {"train_detector": 1, "detect_resnet": 1, "fuse_ms_resnet": 1, "fuse_pixelwise": 1, **scored(2), **TAIL},
        ["maps/lap.png", "-lap/"],
    ),
    # the window: params of focus_map, both MFF-SSIM fusions and every method's metrics (the index's window);
    # pixel-wise fusion follows the lap map; the ResNet map and pixel-wise fusion with it do not use the window
    "focus.window_ratio": (
        {"focus": {"window_ratio": 6.0e-5}},
        {"focus_map": 1, "fuse_mffssim": 1, "fuse_ms_resnet": 1, "fuse_pixelwise": 1, **scored(4), **TAIL},
        ["maps/resnet.png", "pixelwise-resnet/fused.png", "results/detector/"],
    ),
    # a detector added: its map and the two map-based fusers with it; metrics, table and figures list it
    "focus.detectors": (
        {"focus": {"detectors": ["lap", "given", "resnet"]}},
        {"focus_map": 1, "fuse_mffssim": 1, "fuse_pixelwise": 1, **scored(2), **TAIL},
        ["maps/lap.png", "-lap/", "resnet"],
    ),
    # iterations: both MFF-SSIM fusions (Laplacian and ResNet maps), not pixel-wise fusion
    "fusion.iterations": (
        {"fusion": {"iterations": 61}},
        {"fuse_mffssim": 1, "fuse_ms_resnet": 1, **scored(2), **TAIL},
        ["pixelwise-", "maps/"],
    ),
    # the same-scene check: a param of every fusion and of every method's metrics job (which note a warning
    # under the table); the maps do not use it
    "fusion.scene_check": (
        {"fusion": {"scene_check": "skip"}},
        {"fuse_mffssim": 1, "fuse_ms_resnet": 1, "fuse_pixelwise": 2, **scored(4), **TAIL},
        ["maps/", "results/detector/"],
    ),
    # a memory budget: both MFF-SSIM fusions (their solver's budget and mem_mb), nothing else
    "fusion.max_memory_mb": (
        {"fusion": {"max_memory_mb": 3000}},
        {"fuse_mffssim": 1, "fuse_ms_resnet": 1, **scored(2), **TAIL},
        ["pixelwise-", "maps/"],
    ),
    # a method added: its fusion and its metrics only (not the other methods'), then the set's metrics (the
    # list of methods), panel and table; no new Q trace, so the convergence plot stays
    "fusion.methods": (
        {"fusion": {"methods": ["mffssim_paper", "pixelwise", "average"]}},
        {"fuse_average": 1, **scored(1), "metrics": 1, "set_panel": 1, "table": 1, "all": 1},
        ["mffssim_paper-", "pixelwise-"],
    ),
    # metrics: every method's metrics job, the set's and the table; the figures do not read metrics.json
    "metrics.names": (
        {"metrics": {"names": ["psnr", "ssim"]}}, {**scored(4), "metrics": 1, "table": 1, "all": 1}, ["figures"],
    ),
    "metrics.index_variant": (
        {"metrics": {"index_variant": "reference"}}, {**scored(4), "metrics": 1, "table": 1, "all": 1}, ["figures"],
    ),
    # report: the panel only
    "figures.crop": ({"figures": {"crop": 32}}, {"set_panel": 1, "all": 1}, ["tables/", "metrics.json"]),
    "figures.methods": (
        {"figures": {"methods": ["mffssim_paper-lap", "mffssim_paper-resnet"]}}, {"set_panel": 1, "all": 1},
        ["tables/", "metrics.json"],
    ),
    # threads are resources, not params: no rerun (a cluster profile may change them freely)
    "threads": ({"fusion": {"threads": 2}, "detector": {"threads": 2}}, {}, []),
    # touching nothing reruns nothing
    "nothing": ({}, {}, []),
}


# ------------------------------------------------------------------------------------------ log parsing
def job_blocks(output: str) -> dict[int, tuple[str, frozenset[str]]]:
    """jobid -> (rule, its outputs) of every job a run or a dry run printed."""
    blocks = {}
    for match in re.finditer(r"^(?:local)?rule (\w+):\n(.*?)^\s+jobid: (\d+)$", output, flags=re.M | re.S):
        outputs = re.search(r"^\s+output: (.+)$", match.group(2), flags=re.M)
        blocks[int(match.group(3))] = (match.group(1), frozenset(outputs.group(1).split(", ") if outputs else ()))
    return blocks


def finished_jobids(output: str) -> set[int]:
    return {int(i) for i in re.findall(r"^Finished jobid: (\d+) ", output, flags=re.M)}


def outputs_of(jobs) -> set[str]:
    return {path for _, outputs in jobs for path in outputs}


# ------------------------------------------------------------------------------------------- the base run
def _interrupted_run(workdir: Path, configs: tuple[Path, ...], log: Path) -> int:
    """Run the workflow until the job writing KILLED has started, then SIGKILL snakemake's process group."""
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory",
               str(workdir), "--cores", "2", "--configfile", str(TINY), *map(str, configs)]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    deadline = time.monotonic() + 600
    with open(log, "w") as handle:
        proc = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            while not (workdir / KILLED_LOG).exists():
                assert proc.poll() is None, f"snakemake ended (exit {proc.returncode}) before {KILLED} started"
                assert time.monotonic() < deadline, f"{KILLED} did not start within 600 s"
                time.sleep(0.02)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # snakemake and its running jobs, with no chance to clean up
            proc.wait()
    return proc.returncode


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict:
    """The base run: interrupted in KILLED, planned with -n --rerun-incomplete, resumed to the end."""
    workdir = tmp_path_factory.mktemp("reruns")
    configs = (write_config(workdir / "base.yaml", BASE),)
    log = workdir / "interrupted.log"
    killed_with = _interrupted_run(workdir, configs, log)
    interrupted = log.read_text()
    killed_output_existed = (workdir / KILLED / "fused.png").exists()
    plan = snakemake(workdir, "-n", "--rerun-incomplete", configs=configs)
    assert plan.returncode == 0, failure_text(plan)
    unlock = snakemake(workdir, "--unlock", configs=configs)  # a killed snakemake leaves its lock behind
    assert unlock.returncode == 0, failure_text(unlock)
    resumed = snakemake(workdir, "--rerun-incomplete", configs=configs)
    assert resumed.returncode == 0, failure_text(resumed)
    return {"dir": workdir, "configs": configs, "killed_with": killed_with, "interrupted": interrupted,
            "killed_output_existed": killed_output_existed,
            "plan": plan.stdout + plan.stderr, "resumed": resumed.stdout + resumed.stderr}


@pytest.fixture(scope="module")
def plans(base) -> dict[str, subprocess.CompletedProcess]:
    """The dry run of each change in CHANGES against the finished base run, two at a time."""
    def dry_run(name: str) -> subprocess.CompletedProcess:
        change = write_config(base["dir"] / f"change_{name}.yaml", CHANGES[name][0])
        return snakemake(base["dir"], "-n", configs=base["configs"] + (change,), timeout=600)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(CHANGES, pool.map(dry_run, CHANGES)))


# ------------------------------------------------------------------------------------------------ tests
def test_the_base_run_made_the_resnet_side(base):
    """The trained detector's outputs and the MS-ResNet and pixel-wise ResNet methods exist in the finished run."""
    workdir = base["dir"]
    table = (workdir / "results" / "tables" / "embedded.csv").read_text()
    assert "mffssim_paper-resnet" in table and "pixelwise-resnet" in table
    evaluation = (workdir / "results" / "detector" / "evaluation.csv").read_text()
    assert "accuracy" in evaluation and "mean_iou" in evaluation
    assert (workdir / "results" / "detector" / "loss.png").stat().st_size > 0
    assert (workdir / "results" / "embedded" / "camera" / "mffssim_paper-resnet" / "steps" / "step_1_map.png").is_file()


def test_interrupted_run_plans_only_the_unfinished_jobs(base):
    assert base["killed_with"] == -signal.SIGKILL
    started = job_blocks(base["interrupted"])
    finished = {started[i] for i in finished_jobids(base["interrupted"])}
    unfinished = set(started.values()) - finished
    assert any(f"{KILLED}/fused.png" in outputs for _, outputs in unfinished)  # killed while it ran
    assert finished, "nothing had finished: the kill came too early to show anything"
    assert not base["killed_output_existed"]  # it writes its output last, atomically: killed, it leaves none

    planned = set(job_blocks(base["plan"]).values())
    assert not planned & finished  # no finished job is redone
    assert unfinished <= planned  # every interrupted job is
    # exactly the never-run and the interrupted jobs: the first run's plan less what finished
    everything = planned_jobs(base["interrupted"])
    assert sum(everything.values()) == 15
    for rule, _ in finished:
        everything[rule] -= 1
    assert planned_jobs(base["plan"]) == {rule: n for rule, n in everything.items() if n}
    # and the resumed run ran just those
    assert set(job_blocks(base["resumed"]).values()) == planned


def test_resumed_run_equals_an_uninterrupted_run(base, tiny_run):
    """The MFF-SSIM and pixel-wise results with the Laplacian map, which the tiny run makes with the same settings."""
    ours, theirs = base["dir"] / "results", tiny_run["dir"] / "results"
    for path in (f"{KILLED}/fused.png", f"{KILLED}/focus_map.png", "results/embedded/camera/pixelwise-lap/fused.png",
                 "results/embedded/camera/maps/lap.png"):
        path = Path(path).relative_to("results")
        np.testing.assert_array_equal(read_image(ours / path), read_image(theirs / path), err_msg=str(path))
    trace = Path(KILLED).relative_to("results") / "trace.csv"
    pd.testing.assert_frame_equal(pd.read_csv(ours / trace), pd.read_csv(theirs / trace), rtol=1e-6)
    methods = ["mffssim_paper-lap", "pixelwise-lap"]
    table = pd.read_csv(ours / "tables" / "embedded.csv", index_col="method")
    expected = pd.read_csv(theirs / "tables" / "embedded.csv", index_col="method")
    assert set(methods + ["mffssim_paper-resnet", "pixelwise-resnet"]) == set(table.index)
    values = [c for c in table.columns if c != "best"]  # `best` depends on which other methods are in the table
    pd.testing.assert_frame_equal(table.loc[methods, values], expected.loc[methods, values], rtol=1e-6)


@pytest.mark.parametrize("name", list(CHANGES))
def test_a_change_reruns_exactly_what_depends_on_it(plans, name):
    _, expected, untouched = CHANGES[name]
    proc = plans[name]
    assert proc.returncode == 0, failure_text(proc)
    output = proc.stdout + proc.stderr
    assert planned_jobs(output) == expected
    planned_outputs = outputs_of(job_blocks(output).values())
    assert not [p for p in planned_outputs for part in untouched if part in p], untouched


def test_adding_a_method_computes_only_its_metrics(base, tmp_path):
    """The promise behind scored(1): on a copy of the finished base run, adding a method (the fusion.methods
    change) reruns the set's metrics job, which computes the new method's metrics only; a rerun after one
    method's image changed computes only that method's."""
    import json
    import shutil

    workdir = tmp_path / "copy"
    shutil.copytree(base["dir"], workdir, symlinks=True)  # copy2 keeps the mtimes, so nothing else is stale
    change = write_config(workdir / "add_average.yaml", CHANGES["fusion.methods"][0])
    proc = snakemake(workdir, configs=base["configs"] + (change,))
    assert proc.returncode == 0, failure_text(proc)
    record_path = workdir / "results/embedded/camera/methods.metrics.json"
    record = json.loads(record_path.read_text())
    assert record["computed"] == ["average"]
    assert "average" in record["methods"] and "pixelwise-lap" in record["methods"]
    before = record["methods"]["pixelwise-lap"]
    fused = workdir / "results/embedded/camera/pixelwise-lap/fused.png"
    image = read_image(fused)
    from mffssim.io import write_image

    write_image(fused, np.ascontiguousarray(image[:, ::-1]))  # another image: its checksum changes
    proc = snakemake(workdir, configs=base["configs"] + (change,))
    assert proc.returncode == 0, failure_text(proc)
    record = json.loads(record_path.read_text())
    assert record["computed"] == ["pixelwise-lap"] and record["methods"]["pixelwise-lap"] != before


def test_nothing_reruns_in_the_tiny_run(tiny_run):
    """The session's tiny run too (with the downloaded MFFW pair and the authors' results where a mirror is available)."""
    proc = snakemake(tiny_run["dir"], "-n", configs=tiny_run["configs"])
    assert proc.returncode == 0, failure_text(proc)
    assert planned_jobs(proc.stdout + proc.stderr) == {}, proc.stdout[-2000:]
