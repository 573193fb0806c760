"""The Snakemake workflow, run for real in a temporary directory.

One run of config/tiny.yaml (plus, where a mirror is available (tests/helpers.py), one MFFW pair downloaded through the
download rule from an HTTP mirror on 127.0.0.1, with the authors' published results as methods), then
checks of its tables, images and report (what a config change reruns: tests/test_reruns.py). Other tests:
a corrupted download fails its checksum and leaves nothing behind; a bad config fails before any job.
"""
from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from helpers import REPO, failure_text, planned_jobs, snakemake, write_config
from mffssim.io import read_image, read_image_set

pytestmark = pytest.mark.slow


@pytest.fixture
def run(tiny_run):
    """The tiny workflow run, shared with tests/test_reruns.py (conftest.py)."""
    return tiny_run


def test_embedded_table_content(run):
    table = pd.read_csv(run["dir"] / "results" / "tables" / "embedded.csv", index_col="method")
    assert list(table.index) == ["mffssim_paper-lap", "pixelwise-lap", "average"]
    for metric in ("psnr", "ssim", "mffssim", "qmi", "qg", "qcb", "qcv"):
        assert np.all(np.isfinite(table[f"{metric}_mean"])), metric
    assert (table["n"] == 1).all()
    # the claim of the paper on exact synthetic data: MFF-SSIM fusion beats pixel-wise fusion with the same map
    assert table.loc["mffssim_paper-lap", "psnr_mean"] > table.loc["pixelwise-lap", "psnr_mean"]
    assert table.loc["mffssim_paper-lap", "mffssim_mean"] > table.loc["pixelwise-lap", "mffssim_mean"]
    markdown = (run["dir"] / "results" / "tables" / "embedded.md").read_text()
    assert "| mffssim_paper-lap | 1 |" in markdown and "**" in markdown
    metrics = json.loads((run["dir"] / "results" / "embedded" / "camera" / "metrics.json").read_text())
    psnr = metrics["methods"]["pixelwise-lap"]["psnr"]
    assert table.loc["pixelwise-lap", "psnr_mean"] == pytest.approx(psnr)


def test_images_exist_and_load(run):
    root = run["dir"]
    data = root / "resources" / "data" / "embedded" / "camera"
    sources, depth = read_image_set(sorted(data.glob("source_*.png")))
    reference = read_image(data / "reference.png")
    for method in ("mffssim_paper-lap", "pixelwise-lap", "average"):
        fused = read_image(root / "results" / "embedded" / "camera" / method / "fused.png")
        assert fused.shape == sources.shape[1:]
        assert np.abs(fused - reference).mean() < 0.1, method
    focus_map = read_image(root / "results" / "embedded" / "camera" / "mffssim_paper-lap" / "focus_map.png")
    assert focus_map.shape[:2] == sources.shape[1:3] and set(np.unique(focus_map)) <= {0.0, 1.0}
    trace = pd.read_csv(root / "results" / "embedded" / "camera" / "mffssim_paper-lap" / "trace.csv")
    assert list(trace.columns) == ["iteration", "q"] and len(trace) >= 2
    assert trace["q"].iloc[-1] > trace["q"].iloc[0]
    for figure in ("panel_camera.png", "convergence.png"):
        image = read_image(root / "results" / "figures" / "embedded" / figure)
        assert image.shape[0] > 100 and image.std() > 0.05


def test_download_from_mirror_and_official_results(run):
    if run["mirror"] is None:
        pytest.skip("no mirror to download from (MFFSSIM_MIRROR unset and the public urls unreachable)")
    root = run["dir"]
    from mffssim.datasets import load_manifest, sha256_of

    for entry in load_manifest("mffw"):
        if entry.dest.startswith("mffw2_01/"):
            assert sha256_of(root / "resources" / "data" / "mffw" / entry.dest) == entry.sha256
    table = pd.read_csv(root / "results" / "tables" / "mffw.csv", index_col="method")
    assert list(table.index) == ["mffssim_paper-lap", "pixelwise-lap", "average", "official_ms_lap", "official_ms_resnet"]
    assert "psnr_mean" not in table.columns  # no reference for real pairs: no-reference metrics only
    assert np.all(np.isfinite(table[["qmi_mean", "qg_mean", "qcb_mean", "mffssim_mean"]].to_numpy()))
    official = read_image(root / "results" / "mffw" / "mffw2_01" / "official_ms_lap" / "fused.png")
    assert official.shape == (200, 300, 3)


def test_report(run):
    proc = snakemake(run["dir"], "--report", "report.html", configs=run["configs"])
    assert proc.returncode == 0, failure_text(proc)
    html = (run["dir"] / "report.html").read_text(errors="replace")
    assert "embedded.csv" in html and "panel_camera.png" in html


def test_corrupted_download_fails_and_leaves_nothing(tmp_path, fetch_data, serve_directory):
    mirror = tmp_path / "mirror"
    shutil.copytree(fetch_data("mffssim_examples"), mirror / "mffssim_examples")
    victim = mirror / "mffssim_examples" / "shell" / "source_2.tif"
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    url = serve_directory(mirror)  # over HTTP on 127.0.0.1, like the real mirror
    config = write_config(tmp_path / "mirror.yaml", {"download": {"mirror": url, "retries": 1}})
    workdir = tmp_path / "run"
    proc = snakemake(workdir, "resources/data/mffssim_examples.sets.tsv", configs=(config,))
    assert proc.returncode != 0
    assert "checksum" in (proc.stdout + proc.stderr).lower()
    dest = workdir / "resources" / "data" / "mffssim_examples"
    assert not (workdir / "resources" / "data" / "mffssim_examples.sets.tsv").exists()
    assert not (dest / "shell" / "source_2.tif").exists()
    assert sorted(p.name for p in (dest / "shell").iterdir()) == ["source_1.tif"]  # verified, kept; no temporary file


SCHEMA = REPO / "schemas" / "config.schema.yaml"


def _schema_leaves(schema: dict, prefix: str = ""):
    for key, sub in schema["properties"].items():
        if sub.get("type") == "object" and "properties" in sub:
            assert "description" in sub and sub.get("default") == {}, f"{prefix}{key}"
            yield from _schema_leaves(sub, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", sub


def test_schema_documents_every_key_and_matches_config_yaml():
    from snakemake.utils import validate

    schema = yaml.safe_load(SCHEMA.read_text())
    for key, sub in _schema_leaves(schema):
        assert sub.get("description") and "default" in sub, key
    filled: dict = {}
    validate(filled, str(SCHEMA))  # every key gets its default
    assert filled["fusion"]["iterations"] is None and filled["focus"]["detectors"]
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    validate(yaml.safe_load((REPO / "config.yaml").read_text()), str(SCHEMA))
    readme = (REPO / "README.md").read_text()
    readme_defaults = dict(re.findall(r"^\| `([\w.]+)` \| `(.*?)` \|", readme, re.MULTILINE))
    for key, sub in _schema_leaves(schema):  # config.yaml spells out every key, the README documents it
        assert key in readme_defaults, f"README's configuration reference lacks {key}"
        node = config
        for part in key.split("."):
            assert part in node, f"config.yaml lacks {key}"
            node = node[part]
        # one default everywhere: the schema's, config.yaml's value and the README's column
        assert node == sub["default"], f"{key}: config.yaml has {node!r}, the schema's default is {sub['default']!r}"
        assert yaml.safe_load(readme_defaults[key]) == sub["default"], f"{key}: README says {readme_defaults[key]}"
        assert type(node) is type(sub["default"]), f"{key}: config.yaml's {node!r} and the schema's default differ in type"


def test_schema_choices_match_the_library():
    """The schema's enums are the names the library accepts, so a valid config never fails in a job."""
    from mffssim import registry
    from mffssim.fusion import INITS, OPTIMIZERS
    from mffssim.metrics.evaluate import METRIC_NAMES

    props = yaml.safe_load(SCHEMA.read_text())["properties"]
    fusion = props["fusion"]["properties"]
    assert set(fusion["optimizer"]["enum"]) == set(OPTIMIZERS)
    assert set(fusion["init"]["enum"]) <= set(INITS)
    assert set(props["metrics"]["properties"]["names"]["items"]["enum"]) == set(METRIC_NAMES)
    # the names of the registry (mffssim/registry.py)
    assert set(props["datasets"]["items"]["enum"]) == set(registry.FUSABLE)
    assert fusion["methods"]["items"]["enum"] == list(registry.FUSER_NAMES)
    assert set(props["focus"]["properties"]["detectors"]["items"]["enum"]) == set(registry.DETECTOR_NAMES)
    assert set(props["metrics"]["properties"]["index_detector"]["enum"]) == set(registry.DETECTOR_NAMES)
    agreement = props["experiments"]["properties"]["agreement"]["properties"]
    assert set(agreement["datasets"]["items"]["enum"]) == set(registry.official_datasets())
    for study in ("table1", "multi_source"):
        assert set(props["experiments"]["properties"][study]["properties"]["datasets"]["items"]["enum"]) == set(registry.FUSABLE)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"fusion": {"iterations": 0}}, "['fusion']['iterations']"),
        ({"fusion": {"optimizer": "newton"}}, "['fusion']['optimizer']"),
        ({"datasets": ["embedded", "nope"]}, "['datasets']"),
        ({"focus": {"detectors": ["sobel"]}}, "['focus']['detectors']"),
        ({"fusion": {"lr": -1}}, "['fusion']['lr']"),
        ({"typo_key": 1}, "typo_key"),
    ],
)
def test_schema_names_the_bad_key(change, named):
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    for key, value in change.items():
        config[key] = {**config[key], **value} if isinstance(value, dict) and key in config else value
    with pytest.raises(WorkflowError) as error:
        validate(config, str(SCHEMA))
    assert named in str(error.value)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"fusion": {"iterations": 0}}, "iterations"),  # schema
        ({"sets": {"embedded": ["nope"]}}, "sets.embedded"),  # checks in rules/common.smk
        ({"datasets": ["folder"]}, "folder.path"),
    ],
)
def test_bad_config_fails_before_any_job(tmp_path, values, named):
    proc = snakemake(tmp_path, "-n", configs=(write_config(tmp_path / "bad.yaml", values),))
    assert proc.returncode != 0
    assert named in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "resources").exists()


def test_folder_dataset_plans_the_users_sets(tmp_path):
    from mffssim.defocus import defocus_pair
    from mffssim.io import write_image

    rng = np.random.default_rng(0)
    image = rng.random((40, 40, 3)).astype(np.float32)
    alpha = np.zeros((40, 40), np.float32)
    alpha[:, :20] = 1.0
    first, second, _ = defocus_pair(image, alpha, 2.0)
    for name in ("garden", "desk"):
        write_image(tmp_path / "photos" / name / "source_1.jpg", first)
        write_image(tmp_path / "photos" / name / "source_2.jpg", second)
    config = write_config(tmp_path / "folder.yaml", {"datasets": ["folder"], "folder": {"path": str(tmp_path / "photos")}})
    proc = snakemake(tmp_path, "-n", configs=(config,))
    assert proc.returncode == 0, failure_text(proc)
    jobs = planned_jobs(proc.stdout + proc.stderr)
    assert jobs["fuse_mffssim"] == 2 and jobs["metrics"] == 2 and "embedded_dataset" not in jobs
    assert "results/folder/garden/mffssim_paper-lap/fused.png" in proc.stdout


def test_lint_is_clean(tmp_path):
    proc = snakemake(tmp_path, "--lint")
    assert proc.returncode == 0, failure_text(proc)
    assert "Lints for" not in proc.stdout + proc.stderr
