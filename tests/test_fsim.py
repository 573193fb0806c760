"""FSIM / FSIMc: the MATLAB FeatureSIM.m values published with piq's test images, and properties."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from helpers import fetch
from mffssim.metrics.fsim import _real_power, fsim

# The original MATLAB FeatureSIM.m (Zhang et al. 2011) on piq's test images, as published in
# photosynthesis-team/piq at commit 9948a52fc09ac5f7fb3618ce64b7086f5c3109da (v0.8.0), tests/test_fsim.py,
# test_fsim_simmular_to_matlab_implementation: line 107 (goldhill, gray), lines 120-121 under the comment
# "Baseline values are from original MATLAB code" (line 119) for the TID2013 pair, gray and colour (FSIMc).
# (reference file, distorted file, chromatic, MATLAB value to 5 decimals); the files are the "fsim" test
# vectors (docs/testvectors.md).
MATLAB_FSIM = [
    ("goldhill.gif", "goldhill_jpeg.gif", False, 0.89691),
    ("I01.BMP", "i01_01_5.bmp", False, 0.93674),
    ("I01.BMP", "i01_01_5.bmp", True, 0.92587),
]


def _load(name: str) -> np.ndarray:
    return np.asarray(Image.open(fetch("fsim") / name))  # GIF -> (512, 512) uint8, BMP -> (384, 512, 3)


@pytest.mark.parametrize("reference, distorted, chromatic, expected", MATLAB_FSIM,
                         ids=["goldhill-gray", "tid2013-gray", "tid2013-colour"])
def test_fsim_equals_matlab(reference, distorted, chromatic, expected):
    value = fsim(_load(reference), _load(distorted), chromatic=chromatic)
    # MATLAB's value is given to 5 decimals: ours must round to it (|delta| < 5e-6).
    assert abs(value - expected) < 5e-6, f"chromatic={chromatic} {distorted}: {value!r} vs {expected}"


def _smooth_rgb(seed: int, shape=(80, 96, 3)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (ndimage.gaussian_filter(rng.random(shape), (2, 2, 0)) * 255).astype(np.uint8)


def test_fsim_identical_is_one_and_symmetric():
    a, b = _smooth_rgb(0), _smooth_rgb(1)
    assert fsim(a, a) == pytest.approx(1.0, abs=1e-15)
    assert fsim(a, a, chromatic=True) == pytest.approx(1.0, abs=1e-15)
    value = fsim(a, b, chromatic=True)
    assert 0.0 < value < 1.0
    assert fsim(b, a, chromatic=True) == pytest.approx(value, abs=1e-15)


def test_fsim_dtype_independent():
    a, b = _smooth_rgb(0), _smooth_rgb(1)
    value = fsim(a, b, chromatic=True)
    assert fsim(a.astype(np.uint16) * 257, b.astype(np.uint16) * 257, chromatic=True) == value
    assert fsim(a / 255.0, (b / 255.0).astype(np.float32), chromatic=True) == value
    assert fsim(a[..., :1], b[..., :1]) == fsim(a[..., 0], b[..., 0])  # (H, W, 1) is gray


def test_fsimc_of_gray_images_equals_fsim():
    a, b = _smooth_rgb(0)[..., 0], _smooth_rgb(1)[..., 0]
    assert fsim(a, b, chromatic=True) == fsim(a, b)


def test_fsim_constant_images_give_no_nan():
    flat = np.full((64, 64), 100, np.uint8)
    assert fsim(flat, flat) == 1.0  # no phase congruency anywhere: unweighted mean (MATLAB: NaN)
    other = fsim(flat, np.full((64, 64), 140, np.uint8))
    assert np.isfinite(other) and 0.0 < other < 1.0  # zero-padded borders give gradients that differ


def test_fsim_downsampling_averages_aligned_two_by_two_blocks():
    # 600 x 600 -> F = round(600 / 256) = 2, and pixel k of the result averages rows/columns 2k, 2k + 1
    # (MATLAB conv2 'same' with ones(2) / 4, then 1:2:end).  A pattern that sums to 0 over those blocks
    # vanishes exactly (FSIM 1); the same pattern shifted by one pixel does not.
    base = _smooth_rgb(2, (600, 600, 1))[..., 0].astype(np.int16)
    r = np.array([1, -1, 2, -2])
    idx = np.arange(600)
    aligned = 3 * (r[idx % 4][:, None] + r[idx % 4][None, :])
    shifted = 3 * (r[(idx + 1) % 4][:, None] + r[(idx + 1) % 4][None, :])
    for pattern in (aligned, shifted):
        assert 0 <= (base + pattern).min() and (base + pattern).max() <= 255
    reference = base.astype(np.uint8)
    assert fsim(reference, (base + aligned).astype(np.uint8)) == pytest.approx(1.0, abs=1e-12)
    assert fsim(reference, (base + shifted).astype(np.uint8)) < 1.0 - 1e-6


def test_real_power_is_the_real_part_of_the_complex_power():
    x = np.array([-2.0, -0.5, 0.0, 0.3, 1.0, 1.7])
    np.testing.assert_allclose(_real_power(x, 0.03), ((x + 0j) ** 0.03).real, rtol=1e-14, atol=0)


def test_fsim_rejects_mixed_gray_and_colour():
    with pytest.raises(ValueError, match="img"):
        fsim(_smooth_rgb(0), _smooth_rgb(1)[..., 0])
