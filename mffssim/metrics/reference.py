"""Full-reference metrics PSNR and SSIM, plus the MATLAB-style filtering helpers they share with QP/FSIM.

SSIM convention (pinned): Z. Wang's MATLAB ``ssim.m`` (2009 revision of ``ssim_index.m``, Wang et al.,
IEEE TIP 2004): automatic downsampling by F = max(1, round(min(H, W) / 256)) (F x F box average,
symmetric padding, every F-th pixel), then an 11 x 11 Gaussian window (sigma 1.5, normalised),
K1 = 0.01, K2 = 0.03, L = 255, 'valid' filtering, mean of the SSIM map.  It is the form Wang publishes
for images viewed at a normal distance, and FSIM downsamples the same way, so the reference metrics
of a table agree on scale.  Colour images are compared on MATLAB's rounded rgb2gray luminance, as
the fusion toolbox does.  ``downsample=False`` gives the 2004 ``ssim_index.m`` value, which equals
``skimage.metrics.structural_similarity(x, y, gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=255)`` on the same luminance.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from mffssim.metrics._common import check_same_shape, gray_255, to_255

K1, K2, L = 0.01, 0.03, 255.0


def matlab_round(x: float) -> int:
    """MATLAB ``round`` of a non-negative number: halves go up (numpy rounds them to even)."""
    return int(np.floor(x + 0.5))


def downsample_factor(shape: tuple[int, ...]) -> int:
    """Wang's / Zhang's automatic downsampling factor F = max(1, round(min(H, W) / 256))."""
    return max(1, matlab_round(min(shape[0], shape[1]) / 256))


def box_downsample(image: np.ndarray, factor: int, pad_mode: str) -> np.ndarray:
    """Average over F x F windows and keep every F-th pixel of the first two axes, as MATLAB's
    ``imfilter``/``conv2(x, ones(F) / F^2, 'same')`` followed by ``x(1:F:end, 1:F:end)``.

    Output pixel k averages input rows/columns kF - (F-1)//2 ... kF + F//2; outside the image the
    values come from ``np.pad`` with ``pad_mode`` ('constant' = zeros as conv2, 'symmetric' as
    imfilter's 'symmetric').
    """
    if factor == 1:
        return image
    before = (factor - 1) // 2
    out = image
    for axis in (0, 1):
        n = out.shape[axis]
        n_out = -(-n // factor)
        widths = [(0, 0)] * out.ndim
        widths[axis] = (before, max(0, n_out * factor - n - before))
        padded = np.take(np.pad(out, widths, mode=pad_mode), np.arange(n_out * factor), axis=axis)
        blocks = padded.reshape(out.shape[:axis] + (n_out, factor) + out.shape[axis + 1:])
        out = blocks.sum(axis=axis + 1) / factor
    return out


def gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """1-D factor of MATLAB's normalised ``fspecial('gaussian', size, sigma)`` (which is separable)."""
    x = np.arange(size) - (size - 1) / 2
    w = np.exp(-(x**2) / (2 * sigma**2))
    return w / w.sum()


def filter_same(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    """MATLAB ``filter2(w' * w, image, 'same')``: separable correlation with zero padding."""
    out = ndimage.correlate1d(image, window, axis=0, mode="constant")
    return ndimage.correlate1d(out, window, axis=1, mode="constant")


def psnr(ref: np.ndarray, img: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB, 10 log10(255^2 / MSE), on the 0-255 integer scale.

    The MSE runs over every value (all channels of a colour pair, like MATLAB's ``psnr``); both images
    must have the same shape.  Identical images give ``inf``.

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.zeros((4, 4), np.uint8)
    >>> psnr(ref, ref)
    inf
    >>> round(psnr(ref, np.full((4, 4), 255, np.uint8)), 6)  # the largest possible error: MSE = 255^2
    0.0
    >>> round(psnr(ref, np.full((4, 4), 1 / 255)), 2)  # floats in [0, 1] are taken as round(255 x)
    48.13
    """
    x, y = to_255(ref, "ref"), to_255(img, "img")
    if x.shape != y.shape:
        raise ValueError(f"img: shape {y.shape} differs from ref {x.shape} (PSNR needs equal channels)")
    mse = float(np.mean((x - y) ** 2))
    return float("inf") if mse == 0.0 else float(10.0 * np.log10(L**2 / mse))


def ssim(ref: np.ndarray, img: np.ndarray, *, downsample: bool = True) -> float:
    """Mean SSIM of Wang's MATLAB ``ssim.m`` on the 0-255 luminance (see the module docstring).

    Inputs: uint8, uint16 or float in [0, 1], gray or colour (colour -> rounded rgb2gray).  Constant
    images give no NaN: two equal constants give 1.  The (downsampled) image must be at least 11 x 11.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.random.default_rng(0).integers(0, 256, (32, 32), dtype=np.uint8)
    >>> ssim(image, image)
    1.0
    >>> ssim(image, 255 - image) < 0
    True
    """
    x, y = gray_255(ref, "ref"), gray_255(img, "img")
    check_same_shape(x, y, names=("ref", "img"))
    if downsample:
        factor = downsample_factor(x.shape)
        x, y = box_downsample(x, factor, "symmetric"), box_downsample(y, factor, "symmetric")
    if min(x.shape) < 11:
        raise ValueError(f"ref: image of {x.shape} pixels (after downsampling) is smaller than the "
                         "11 x 11 window")
    window = gaussian_window()

    def valid(z: np.ndarray) -> np.ndarray:
        return filter_same(z, window)[5:-5, 5:-5]

    mu_x, mu_y = valid(x), valid(y)
    var_x = valid(x * x) - mu_x**2
    var_y = valid(y * y) - mu_y**2
    cov = valid(x * y) - mu_x * mu_y
    c1, c2 = (K1 * L) ** 2, (K2 * L) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return float(ssim_map.mean())
