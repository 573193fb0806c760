"""The default solver against ground truth: on synthetic pairs with an exact all-in-focus reference it is
not worse than running every iteration, nor than the pixel-wise fusion it improves on.

This is the check that would have caught the early stop returning an overshot iterate (up to 9 dB lost
on NYU-D-100 pairs); `snakemake quality` runs the same comparison on real ground-truth data sets.
"""
from __future__ import annotations

import numpy as np
import pytest

from mffssim.datasets import EMBEDDED_SETS, make_embedded_set
from mffssim.focus import laplacian_focus_map
from mffssim.fusion import fuse, pixelwise_fuse
from mffssim.metrics.reference import psnr
from mffssim.ssim import window_size

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SIZE = 96  # short side: W = 3, a fraction of a second per run
MARGIN_DB = 0.05


def _psnr_8bit(reference: np.ndarray, image: np.ndarray) -> float:
    """PSNR of the image as it would be written (8-bit), like the workflow's tables."""
    return psnr(reference, np.round(image * 255) / 255)


@pytest.mark.parametrize("init", ["pixelwise", "mean"])
@pytest.mark.parametrize("set_id", EMBEDDED_SETS)
def test_default_solver_matches_every_iteration_and_beats_pixelwise(set_id, init):
    made = make_embedded_set(set_id, size=SIZE)
    window = window_size(*made.sources.shape[1:3])
    focus_map = laplacian_focus_map(made.sources, window)
    default = fuse(made.sources, focus_map, window=window, init=init, device="cpu")
    every = fuse(made.sources, focus_map, window=window, init=init, tol=None, device="cpu")
    assert every.iterations == 100 and default.iterations <= 100
    assert default.q >= default.trace[0]
    got = _psnr_8bit(made.reference, default.image)
    full = _psnr_8bit(made.reference, every.image)
    pixelwise = _psnr_8bit(made.reference, pixelwise_fuse(made.sources, focus_map))
    assert got >= full - MARGIN_DB, f"default {got:.3f} dB, every iteration {full:.3f} dB"
    if full > pixelwise:
        assert got >= pixelwise - MARGIN_DB, f"default {got:.3f} dB, pixel-wise {pixelwise:.3f} dB"
