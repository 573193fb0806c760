"""The ResNet detector joined to the workflow (rules/detector.smk) and to ``mffssim fuse --detector resnet``.

CLI: K = 2 and K = 3 sources with random-initialised tiny weights (K = 3 goes one pair at a time). Workflow:
a dry run of the default config plans training, detection and MS-ResNet (a real run with a tiny detector,
and what a detector setting reruns, are in tests/test_reruns.py).
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage

from helpers import failure_text, planned_jobs
from helpers import snakemake as run_snakemake
from mffssim import pixelwise_fuse
from mffssim.cli import main
from mffssim.detector.inference import compose_step_maps
from mffssim.detector import FocusNet, detect_focus_map, fuse_sequential, save_weights
from mffssim.io import read_focus_map, read_image, write_image


# Tiny images run faster on one torch thread (conftest.py).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ---------------------------------------------------------------------------------------------------- CLI
@pytest.fixture
def weights(tmp_path) -> str:
    torch.manual_seed(0)
    path = tmp_path / "weights.pt"
    save_weights(FocusNet(width=4, blocks=1), path)
    return str(path)


def _stack(tmp_path, k: int) -> list[str]:
    """K sources, each sharp in its own vertical band of a random texture."""
    rng = np.random.default_rng(1)
    sharp = ndimage.gaussian_filter(rng.random((24, 36)), 0.7)
    blurred = ndimage.gaussian_filter(sharp, 2.5, mode="mirror")
    paths = []
    for i in range(k):
        image = blurred.copy()
        band = slice(i * 36 // k, (i + 1) * 36 // k)
        image[:, band] = sharp[:, band]
        paths.append(str(tmp_path / f"source_{i + 1}.png"))
        write_image(paths[-1], image, 8)
    return paths


FAST = ["--iterations", "3", "--window", "5", "-q"]


def test_cli_resnet_two_sources_uses_the_detectors_map(tmp_path, weights):
    sources = _stack(tmp_path, 2)
    out, saved = tmp_path / "fused.png", tmp_path / "map.png"
    assert main(["fuse", *sources, "-o", str(out), "--detector", "resnet", "--weights", weights,
                 "--save-map", str(saved), *FAST]) == 0
    expected = detect_focus_map(np.stack([read_image(p) for p in sources]), weights, device="cpu")
    np.testing.assert_array_equal(read_focus_map(saved, 2, shape=(24, 36)), expected)
    assert read_image(out).shape[:2] == (24, 36)


def test_cli_resnet_three_sources_fuses_one_pair_at_a_time(tmp_path, weights, capsys):
    sources = _stack(tmp_path, 3)
    out, saved = tmp_path / "fused.png", tmp_path / "map.png"
    assert main(["fuse", *sources, "-o", str(out), "--detector", "resnet", "--weights", weights,
                 "--save-map", str(saved), *FAST]) == 0, capsys.readouterr().err
    images = np.stack([read_image(p) for p in sources])
    # the same steps through the library: the saved map is their composition
    _, steps = fuse_sequential(images, weights, device="cpu", window=5, iterations=3)
    composed = read_focus_map(saved, 3, shape=(24, 36))
    np.testing.assert_array_equal(composed, compose_step_maps(steps))
    assert read_image(out).shape[:2] == (24, 36)


def test_cli_resnet_three_sources_default_to_the_shipped_weights_and_name_a_bad_file(tmp_path, capsys):
    sources = _stack(tmp_path, 3)
    out = tmp_path / "fused.png"
    assert main(["fuse", *sources, "-o", str(out), "--detector", "resnet", *FAST]) == 0 and out.is_file()
    bad = tmp_path / "notes.pt"
    bad.write_text("not weights")
    assert main(["fuse", *sources, "-o", str(tmp_path / "g.png"), "--detector", "resnet", "--weights", str(bad),
                 *FAST]) == 2
    assert "notes.pt" in capsys.readouterr().err and not (tmp_path / "g.png").exists()


def test_composed_map_reproduces_sequential_pixelwise_fusion():
    rng = np.random.default_rng(2)
    sources = rng.random((4, 10, 12, 3)).astype(np.float32)
    steps, current = [], sources[0]
    for following in sources[1:]:  # random one-hot steps, fused pixel-wise one pair at a time
        first = (rng.random((10, 12)) > 0.5).astype(np.float32)
        steps.append(np.stack([first, 1 - first]))
        current = pixelwise_fuse(np.stack([current, following]), steps[-1])
    composed = compose_step_maps(steps)
    assert composed.shape == (4, 10, 12) and np.all(composed.sum(axis=0) == 1)
    np.testing.assert_allclose(pixelwise_fuse(sources, composed), current, atol=1e-6)
    np.testing.assert_array_equal(compose_step_maps(steps[:1]), steps[0])  # K = 2: the one map


# ----------------------------------------------------------------------------------------------- workflow
def snakemake(workdir: Path, *args: str, configs: tuple[Path, ...] = ()) -> subprocess.CompletedProcess:
    """Snakemake on config.yaml (the default run) plus ``configs``."""
    return run_snakemake(workdir, *args, configs=configs, tiny=False, timeout=600)


@pytest.mark.slow
def test_default_config_plans_training_detection_and_ms_resnet(tmp_path):
    from mffssim.datasets import EMBEDDED_SETS

    proc = snakemake(tmp_path, "-n")  # config.yaml alone: the default run
    assert proc.returncode == 0, failure_text(proc)
    jobs = planned_jobs(proc.stdout + proc.stderr)
    n_sets = len(EMBEDDED_SETS)
    assert jobs["train_detector"] == 1
    assert jobs["detect_resnet"] == n_sets
    assert jobs["fuse_ms_resnet"] == 2 * n_sets  # mffssim_paper-resnet and mffssim_reference-resnet
    assert jobs["fuse_pixelwise"] == 3 * n_sets  # lap, given, resnet
    assert "results/embedded/chelsea_k3/mffssim_paper-resnet/fused.png" in proc.stdout  # K = 3 too
    assert "results/detector/evaluation.md" in proc.stdout


@pytest.mark.slow
def test_a_weights_file_replaces_training_and_its_hash_is_a_param(tmp_path):
    from test_detector_authors import their_state_dict

    torch.save(their_state_dict(4, 1), tmp_path / "block8_feat128.pth")
    config = tmp_path / "weights.yaml"
    config.write_text(f"detector:\n  weights: {tmp_path / 'block8_feat128.pth'}\n")
    proc = snakemake(tmp_path, "-n", configs=(config,))
    assert proc.returncode == 0, failure_text(proc)
    jobs = planned_jobs(proc.stdout + proc.stderr)
    assert "train_detector" not in jobs and jobs["detect_resnet"] > 0
    assert "results/detector/evaluation.md" not in proc.stdout
    rules_text = (Path(__file__).parent.parent / "rules" / "detector.smk").read_text()
    assert rules_text.count("weights_sha256=detector_weights_sha256()") == 2  # both map rules
    config.write_text(f"detector:\n  weights: {tmp_path / 'missing.pth'}\n")
    proc = snakemake(tmp_path, "-n", configs=(config,))
    assert proc.returncode != 0 and "config key detector.weights" in proc.stdout + proc.stderr
    assert "missing.pth" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_target_detector_remakes_the_shipped_weights(tmp_path):
    proc = snakemake(tmp_path, "-n", "detector", configs=(Path(__file__).parent.parent / "config" / "detector.yaml",))
    assert proc.returncode == 0, failure_text(proc)
    jobs = planned_jobs(proc.stdout + proc.stderr)
    assert jobs["train_detector"] == 1 and jobs["export_detector"] == 1
    assert "results/detector/shipped/focusnet.pt" in proc.stdout and "results/detector/shipped/focusnet.json" in proc.stdout
