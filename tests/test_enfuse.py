"""The workflow's enfuse rule (rules/fusion.smk: fuse_enfuse) with the enfuse program on PATH (`.ci/run` installs
the Debian package enfuse): a gray pair and a colour three-source set of the tiny config, fused, at the sources'
size and bit depth, better than every source against the reference, and the same bytes when run again."""
from __future__ import annotations

import shutil

import pytest
from skimage.metrics import peak_signal_noise_ratio

from mffssim.io import read_image, read_image_and_depth
from helpers import failure_text, snakemake, write_config

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("enfuse") is None, reason="the enfuse program is not on PATH (apt-get install enfuse)"),
]
SETS = ("camera", "motorcycle_k3")  # gray K = 2; colour K = 3


def test_enfuse_rule_fuses_the_tiny_sets(tmp_path):
    extra = write_config(tmp_path / "enfuse.yaml", {"fusion": {"methods": ["enfuse"]}, "sets": {"embedded": list(SETS)}})
    workdir = tmp_path / "run"
    targets = [f"results/embedded/{name}/enfuse/fused.png" for name in SETS]
    proc = snakemake(workdir, *targets, configs=(extra,), timeout=300)
    assert proc.returncode == 0, failure_text(proc)
    first = {}
    for name in SETS:
        data = workdir / "resources" / "data" / "embedded" / name
        fused, depth = read_image_and_depth(workdir / f"results/embedded/{name}/enfuse/fused.png")
        source, source_depth = read_image_and_depth(data / "source_1.png")
        assert fused.shape == source.shape and depth == source_depth, name
        reference = read_image(data / "reference.png")
        sources = sorted(data.glob("source_*.png"))
        best = max(peak_signal_noise_ratio(reference, read_image(p), data_range=1.0) for p in sources)
        assert peak_signal_noise_ratio(reference, fused, data_range=1.0) > best, name
        first[name] = (workdir / f"results/embedded/{name}/enfuse/fused.png").read_bytes()
    proc = snakemake(workdir, *targets, "--forcerun", "fuse_enfuse", configs=(extra,), timeout=300)
    assert proc.returncode == 0, failure_text(proc)
    for name in SETS:  # float output: no random dithering
        assert (workdir / f"results/embedded/{name}/enfuse/fused.png").read_bytes() == first[name], name
