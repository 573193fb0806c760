"""PSNR, SSIM (Wang's ssim.m convention) and the MATLAB-style box downsampling they share with FSIM."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from helpers import fetch
from mffssim.metrics._common import gray_255
from mffssim.metrics.reference import box_downsample, downsample_factor, gaussian_window, psnr, ssim


def _smooth(seed: int, shape=(64, 72)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    sigma = (2, 2, 0)[: len(shape)]
    return (ndimage.gaussian_filter(rng.random(shape), sigma) * 255).astype(np.uint8)


def _skimage_ssim(x: np.ndarray, y: np.ndarray) -> float:
    """scikit-image with the settings of Wang's ssim_index.m (valid region, Gaussian 11 x 11, sigma 1.5)."""
    return structural_similarity(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 data_range=255)


# ---------------------------------------------------------------- PSNR

def test_psnr_hand_computed():
    ref = np.zeros((10, 10), np.uint8)
    img = ref.copy()
    img[3, 4] = 255  # MSE = 255^2 / 100 -> PSNR = 10 log10(100) = 20 dB
    assert psnr(ref, img) == pytest.approx(20.0, abs=1e-12)


def test_psnr_matches_skimage_and_identical_is_inf():
    a, b = _smooth(0, (40, 50, 3)), _smooth(1, (40, 50, 3))
    assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=255), abs=1e-12)
    assert psnr(a, a) == float("inf")


def test_psnr_dtype_independent_and_rejects_mismatch():
    a, b = _smooth(0), _smooth(1)
    value = psnr(a, b)
    assert psnr(a.astype(np.uint16) * 257, b.astype(np.uint16) * 257) == value
    assert psnr(a / 255.0, (b / 255.0).astype(np.float32)) == value
    with pytest.raises(ValueError, match="img"):
        psnr(_smooth(0, (64, 72, 3)), b)


# ---------------------------------------------------------------- SSIM

def test_ssim_without_downsampling_equals_skimage():
    a, b = _smooth(0), _smooth(1)
    assert ssim(a, b, downsample=False) == pytest.approx(_skimage_ssim(a, b), abs=1e-12)


def test_ssim_single_window_hand_computed():
    # An 11 x 11 pair has exactly one 'valid' window: SSIM from Gaussian-weighted moments.
    rng = np.random.default_rng(7)
    x = rng.integers(0, 256, (11, 11)).astype(np.uint8)
    y = np.clip(x.astype(int) + rng.integers(-30, 31, (11, 11)), 0, 255).astype(np.uint8)
    w = np.outer(gaussian_window(), gaussian_window())
    xf, yf = x.astype(float), y.astype(float)
    mx, my = (w * xf).sum(), (w * yf).sum()
    vx, vy = (w * (xf - mx) ** 2).sum(), (w * (yf - my) ** 2).sum()
    cxy = (w * (xf - mx) * (yf - my)).sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    expected = (2 * mx * my + c1) * (2 * cxy + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    assert ssim(x, y) == pytest.approx(expected, abs=1e-12)


def test_ssim_downsamples_like_wang_ssim_m():
    # 520 x 520 -> F = 2: symmetric-padded 2 x 2 box average, every 2nd pixel, then ssim_index.m.
    a, b = _smooth(2, (520, 520)), _smooth(3, (520, 520))
    assert downsample_factor(a.shape) == 2
    small_a, small_b = (box_downsample(z.astype(float), 2, "symmetric") for z in (a, b))
    assert small_a.shape == (260, 260)
    assert ssim(a, b) == pytest.approx(_skimage_ssim(small_a, small_b), abs=1e-12)
    assert ssim(a, b) != pytest.approx(ssim(a, b, downsample=False), abs=1e-4)


def test_ssim_properties():
    a, b = _smooth(0), _smooth(1)
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-15)
    assert ssim(a, b) == pytest.approx(ssim(b, a), abs=1e-15)
    flat = np.full((32, 32), 100, np.uint8)
    assert ssim(flat, flat) == 1.0
    c1 = (0.01 * 255) ** 2  # constants 100 and 140: sigma = 0, SSIM = (2 ab + C1) / (a^2 + b^2 + C1)
    expected = (2 * 100 * 140 + c1) / (100**2 + 140**2 + c1)
    assert ssim(flat, np.full((32, 32), 140, np.uint8)) == pytest.approx(expected, abs=1e-12)


def test_ssim_dtype_independent_and_colour_is_rounded_luminance():
    a, b = _smooth(0, (48, 40, 3)), _smooth(1, (48, 40, 3))
    value = ssim(a, b)
    assert ssim(a.astype(np.uint16) * 257, b.astype(np.uint16) * 257) == value
    assert ssim(a / 255.0, (b / 255.0).astype(np.float32)) == value
    assert value == ssim(gray_255(a).astype(np.uint8), gray_255(b).astype(np.uint8))


def test_ssim_rejects_small_or_mismatched_images():
    with pytest.raises(ValueError, match="11 x 11"):
        ssim(np.zeros((10, 30), np.uint8), np.zeros((10, 30), np.uint8))
    with pytest.raises(ValueError, match="img"):
        ssim(_smooth(0), _smooth(1, (64, 70)))


def test_ssim_on_a_real_fused_image_equals_skimage():
    import tifffile

    path = fetch("fusion_metrics") / "grayscale" / "g_01"

    ref, img = tifffile.imread(path / "g_01_1.tif"), tifffile.imread(path / "g_01_cnn.tif")
    assert ssim(ref, img, downsample=False) == pytest.approx(_skimage_ssim(ref, img), abs=1e-12)


# ---------------------------------------------------------------- downsampling

def _matlab_box_reference(image: np.ndarray, factor: int, pad: str) -> np.ndarray:
    """Loop form of conv2/imfilter(x, ones(F)/F^2, 'same') then x(1:F:end, 1:F:end)."""
    rows, cols = image.shape
    before = (factor - 1) // 2

    def value(i: int, j: int) -> float:
        if pad == "symmetric":  # mirror with the edge repeated
            i = -i - 1 if i < 0 else (2 * rows - i - 1 if i >= rows else i)
            j = -j - 1 if j < 0 else (2 * cols - j - 1 if j >= cols else j)
            return image[i, j]
        return image[i, j] if 0 <= i < rows and 0 <= j < cols else 0.0

    out = np.empty((len(range(0, rows, factor)), len(range(0, cols, factor))))
    for a, i in enumerate(range(0, rows, factor)):
        for b, j in enumerate(range(0, cols, factor)):
            window = [value(i - before + u, j - before + v) for u in range(factor) for v in range(factor)]
            out[a, b] = sum(window)
    return out / factor**2


@pytest.mark.parametrize("factor", [2, 3, 4])
@pytest.mark.parametrize("pad", ["constant", "symmetric"])
def test_box_downsample_matches_the_matlab_definition(factor, pad):
    image = np.random.default_rng(factor).integers(0, 256, (13, 11)).astype(float)
    np.testing.assert_allclose(box_downsample(image, factor, pad), _matlab_box_reference(image, factor, pad),
                               rtol=0, atol=1e-12)


def test_downsample_factor_rounds_halves_up_like_matlab():
    assert downsample_factor((384, 512)) == 2  # 1.5 -> 2
    assert downsample_factor((640, 700)) == 3  # 2.5 -> 3 (numpy's round would give 2)
    assert downsample_factor((100, 100)) == 1
