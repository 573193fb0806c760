"""The workflow's registration: aligned data sets (`align.datasets`), `folder.align`, and focus-stack's
result as a comparison method (rules/align.smk)."""
from __future__ import annotations

import numpy as np
import pytest
from skimage import data, transform

from helpers import failure_text, planned_jobs, snakemake, write_config

pytestmark = pytest.mark.slow


def test_focus_stacks_are_planned_with_and_without_alignment(tmp_path):
    config = write_config(tmp_path / "stacks.yaml", {
        "datasets": ["focus_stack_examples"], "sets": {}, "align": {"datasets": ["focus_stack_examples"]},
        "fusion": {"methods": ["mffssim_paper", "official"]}, "focus": {"detectors": ["lap"]},
    })
    proc = snakemake(tmp_path, "-n", configs=(config,))
    assert proc.returncode == 0, failure_text(proc)
    jobs = planned_jobs(proc.stdout + proc.stderr)
    assert jobs["align_set"] == 2 and jobs["fuse_mffssim"] == 4 and jobs["download_dataset"] == 1
    assert jobs["comparison_result"] == 2  # pcb only (depthmap has no published result), both data sets
    out = proc.stdout
    for dataset in ("focus_stack_examples", "focus_stack_examples_aligned"):
        assert f"results/{dataset}/pcb/focus_stack/fused.png" in out
        assert f"results/tables/{dataset}.csv" in out
    assert "results/focus_stack_examples/depthmap/focus_stack/fused.png" not in out


def test_folder_align_registers_before_fusion(tmp_path):
    from mffssim.align import corner_error, read_transforms, warp_frame
    from mffssim.defocus import gaussian_blur
    from mffssim.io import read_image, write_image

    sharp = transform.resize(data.astronaut(), (96, 128), anti_aliasing=True).astype(np.float32)
    band = np.zeros((96, 128, 1), np.float32)
    band[:, :64] = 1
    first = sharp * band + gaussian_blur(sharp, 2.0) * (1 - band)
    second = sharp * (1 - band) + gaussian_blur(sharp, 2.0) * band
    moved = np.array([[0.98, 0, 2.0], [0, 0.98, -1.5], [0, 0, 1]])  # focus breathing and a small shift
    write_image(tmp_path / "photos" / "desk" / "source_1.png", first)
    write_image(tmp_path / "photos" / "desk" / "source_2.png", warp_frame(second, np.linalg.inv(moved)))
    config = write_config(tmp_path / "folder.yaml", {
        "datasets": ["folder"], "sets": {}, "folder": {"path": str(tmp_path / "photos"), "align": True},
        "fusion": {"methods": ["mffssim_paper", "average"], "iterations": 20},
        "metrics": {"names": ["qg"]},
    })
    proc = snakemake(tmp_path, configs=(config,))
    assert proc.returncode == 0, failure_text(proc)
    aligned = tmp_path / "resources" / "data" / "aligned" / "folder" / "desk"
    alignment = read_transforms(aligned / "transforms.tsv")
    x0, y0, w, h = alignment.crop
    assert w < 128 and h < 96  # frame 2 covers less than the anchor: cropped
    assert corner_error(alignment.transforms[1], moved, (96, 128)) < 0.5
    fused = read_image(tmp_path / "results" / "folder" / "desk" / "mffssim_paper-lap" / "fused.png")
    assert fused.shape == (h, w, 3)
    assert "common area" in (tmp_path / "logs" / "align" / "folder" / "desk.log").read_text()
