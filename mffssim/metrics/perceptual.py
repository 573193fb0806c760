"""Human-perception fusion metrics: QCB (Chen & Blum 2009) and QCV (Chen & Varshney 2007).

Both filter images by a contrast sensitivity function (CSF) in the frequency domain, as the toolbox's
``metricChenBlum`` and ``metricChen`` do, after ``normalize1``. The CSF radius follows MATLAB's
``freqspace`` grid; the filters are real and even, so the filtered images are real.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import ndimage

from ._common import csf_filter, freqspace_radius, normalized_triple, sobel
from ._memo import memo

# --- QCB ---------------------------------------------------------------------------------------------

_CB_F0, _CB_F1, _CB_A = 15.3870, 1.3456, 0.7622  # DoG CSF S(r) = exp(-(r/f0)^2) - a exp(-(r/f1)^2)
_CB_K, _CB_H, _CB_Z = 1.0, 1.0, 1e-4  # masking C' = k C^p / (h C^q + Z), p = 3, q = 2
_CB_HALF = 15  # the Gaussians live on a fixed 31 x 31 grid


def _gaussian_taps(sigma: float) -> np.ndarray:
    """1-D factor of the toolbox's 31 x 31 Gaussian exp(-(x^2+y^2)/(2 s^2))/(2 pi s^2) (not renormalised)."""
    x = np.arange(-_CB_HALF, _CB_HALF + 1, dtype=np.float64)
    return np.exp(-(x * x) / (2 * sigma * sigma)) / np.sqrt(2 * np.pi * sigma * sigma)


_CB_G1, _CB_G2 = _gaussian_taps(2.0), _gaussian_taps(4.0)


def _gaussian_same(image: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Separable form of ``filter2(G, image, 'same')`` (zero padding); G is symmetric and separable."""
    rows = ndimage.correlate1d(image, taps, axis=0, mode="constant", cval=0.0)
    return ndimage.correlate1d(rows, taps, axis=1, mode="constant", cval=0.0)


@lru_cache(maxsize=4)
def _cb_response(shape: tuple[int, int]) -> np.ndarray:
    """QCB's DoG CSF on the frequency grid of an image of ``shape`` (read-only, cached per shape)."""
    radius = freqspace_radius(shape, 30.0)
    response = np.exp(-((radius / _CB_F0) ** 2)) - _CB_A * np.exp(-((radius / _CB_F1) ** 2))
    response.flags.writeable = False
    return response


def _masked_contrast(image: np.ndarray) -> np.ndarray:
    """Band-limited contrast C = |G1*I / G2*I - 1| of the CSF-filtered image, then masked C'.

    Where G2*I is exactly 0 (only for an all-zero image in practice; MATLAB gives NaN) C is taken as 0.
    """
    filtered = csf_filter(image, _cb_response(image.shape))
    narrow, wide = _gaussian_same(filtered, _CB_G1), _gaussian_same(filtered, _CB_G2)
    safe = np.where(wide == 0, 1.0, wide)
    contrast = np.where(wide == 0, 0.0, np.abs(narrow / safe - 1))
    squared = contrast * contrast  # C^q and C^p for q = 2, p = 3, by multiplication (pow is slow)
    return _CB_K * (squared * contrast) / (_CB_H * squared + _CB_Z)


def _ratio_min_max(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """min(x, y) / max(x, y) for non-negative maps, 1 where both are 0 (nothing to preserve, nothing lost)."""
    low, high = np.minimum(x, y), np.maximum(x, y)
    return np.where(high == 0, 1.0, low / np.where(high == 0, 1.0, high))


def qcb(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """QCB, Chen-Blum perceptual fusion metric (Chen & Blum 2009), 0..1, higher is better.

    Images are ``normalize1``-ed, CSF-filtered (DoG: f0 = 15.3870, f1 = 1.3456, a = 0.7622, radius on a
    W/30, H/30 frequency grid), turned into local contrast C = |G_2*I / G_4*I - 1| (31 x 31 Gaussians,
    sigma 2 and 4, zero padding) and masked, C' = C^3 / (C^2 + 1e-4). Preservation Q^SF = min/max of
    (C'_S, C'_F); QCB = mean of lambda_A Q^AF + lambda_B Q^BF with lambda_S = C'_S^2 / (C'_A^2 + C'_B^2).
    Degenerate input (MATLAB gives NaN): where C'_S = C'_F = 0, Q^SF = 1; where C'_A = C'_B = 0,
    lambda_A = lambda_B = 1/2. Identical inputs give 1; three constant images (all zero after normalize1)
    give 1.
    """
    a, b, f = normalized_triple(a, b, f)
    c_a, c_b, c_f = (memo("qcb_contrast", _masked_contrast, image) for image in (a, b, f))
    lam_a, lam_b = memo("qcb_lambdas", _cb_lambdas, c_a, c_b)
    q_af, q_bf = _ratio_min_max(c_a, c_f), _ratio_min_max(c_b, c_f)
    return float(np.mean(lam_a * q_af + lam_b * q_bf))


def _cb_lambdas(c_a: np.ndarray, c_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sources' weights lambda_S = C'_S^2 / (C'_A^2 + C'_B^2), 1/2 each where both are 0."""
    energy = c_a * c_a + c_b * c_b
    flat = energy == 0
    safe = np.where(flat, 1.0, energy)
    return np.where(flat, 0.5, c_a * c_a / safe), np.where(flat, 0.5, c_b * c_b / safe)


# --- QCV ---------------------------------------------------------------------------------------------

_CV_BLOCK = 16


def _block_sum(values: np.ndarray) -> np.ndarray:
    """Sums over non-overlapping 16 x 16 blocks, the last partial blocks zero-padded (MATLAB ``blkproc``)."""
    height, width = values.shape
    rows, cols = -(-height // _CV_BLOCK), -(-width // _CV_BLOCK)
    padded = np.zeros((rows * _CV_BLOCK, cols * _CV_BLOCK))
    padded[:height, :width] = values
    return padded.reshape(rows, _CV_BLOCK, cols, _CV_BLOCK).sum(axis=(1, 3))


def _saliency(image: np.ndarray) -> np.ndarray:
    """Block saliency lambda = sum of Sobel magnitude^5."""
    gx, gy = sobel(image)
    squared = gx * gx + gy * gy
    return _block_sum(squared * squared * np.sqrt(squared))  # g^5, alpha = 5


def qcv(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """QCV, Chen-Varshney perceptual distortion (Chen & Varshney 2007), >= 0, LOWER is better.

    Images are ``normalize1``-ed; the differences A - F and B - F are filtered by the Mannos-Sakrison CSF
    2.6 (0.0192 + 0.144 r) exp(-(0.144 r)^1.1) (radius on a W/8, H/8 frequency grid); per 16 x 16 block
    (partial blocks zero-padded, so their mean divides by 256), D_S = mean squared filtered difference and
    lambda_S = sum of Sobel magnitude^5 of S. QCV = sum(lambda_A D_A + lambda_B D_B) / sum(lambda_A + lambda_B).
    Degenerate input: when both sources have no gradient at all (all-zero after normalize1, i.e. constant),
    MATLAB gives 0/0; here every block then weighs equally, QCV = mean of (D_A + D_B)/2. Identical inputs give 0.
    """
    a, b, f = normalized_triple(a, b, f)
    lam_a, lam_b = (memo("qcv_saliency", _saliency, image) for image in (a, b))
    response = _cv_response(a.shape)
    d_a = _block_sum(csf_filter(a - f, response) ** 2) / _CV_BLOCK**2
    d_b = _block_sum(csf_filter(b - f, response) ** 2) / _CV_BLOCK**2
    total = np.sum(lam_a + lam_b)
    if total == 0:
        return float(np.mean(d_a + d_b) / 2)
    return float(np.sum(lam_a * d_a + lam_b * d_b) / total)


@lru_cache(maxsize=4)
def _cv_response(shape: tuple[int, int]) -> np.ndarray:
    """QCV's Mannos-Sakrison CSF on the frequency grid of an image of ``shape`` (read-only, cached per shape)."""
    radius = freqspace_radius(shape, 8.0)
    response = 2.6 * (0.0192 + 0.144 * radius) * np.exp(-((0.144 * radius) ** 1.1))
    response.flags.writeable = False
    return response
