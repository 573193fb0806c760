"""FSIM and FSIMc (Zhang et al., IEEE TIP 2011), matching the authors' MATLAB ``FeatureSIM.m``.

L. Zhang, L. Zhang, X. Mou, D. Zhang, "FSIM: A Feature Similarity Index for Image Quality
Assessment", IEEE Trans. Image Processing 20(8), 2011.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from mffssim.metrics._common import check_same_shape, to_255
from mffssim.metrics.phasecong import phase_congruency
from mffssim.metrics.reference import box_downsample, downsample_factor

T1, T2, T3, T4 = 0.85, 160.0, 200.0, 200.0  # stabilisers: PC, gradient, I and Q similarity
LAMBDA = 0.03  # exponent of the chromatic term
# Zhang's phasecong2: 4 scales, 4 orientations, no frequency-spread weighting, PC = energy / amplitude
# without epsilon, no moments.
PC_PARAMS = dict(nscale=4, norient=4, min_wavelength=6, mult=2, sigma_onf=0.55, d_theta_on_sigma=1.2,
                 k=2.0, cutoff=None, pc_epsilon=0.0, moments=False)
SCHARR_X = np.array([[3.0, 0.0, -3.0], [10.0, 0.0, -10.0], [3.0, 0.0, -3.0]]) / 16


def _yiq(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Y, I, Q of an RGB image on the 0-255 scale with FeatureSIM.m's coefficients (Y not rounded)."""
    r, g, b = image[..., 0], image[..., 1], image[..., 2]
    return (0.299 * r + 0.587 * g + 0.114 * b, 0.596 * r - 0.274 * g - 0.322 * b,
            0.211 * r - 0.523 * g + 0.312 * b)


def _gradient_magnitude(y: np.ndarray) -> np.ndarray:
    """Scharr gradient magnitude, MATLAB ``conv2(y, k, 'same')`` with zero padding."""
    gx = ndimage.convolve(y, SCHARR_X, mode="constant")
    gy = ndimage.convolve(y, SCHARR_X.T, mode="constant")
    return np.sqrt(gx**2 + gy**2)


def _similarity(u: np.ndarray, v: np.ndarray, t: float) -> np.ndarray:
    """(2 u v + t) / (u^2 + v^2 + t)."""
    return (2 * u * v + t) / (u**2 + v**2 + t)


def _real_power(x: np.ndarray, exponent: float) -> np.ndarray:
    """Real part of MATLAB's complex x^exponent: |x|^exponent cos(exponent pi) where x < 0."""
    return np.abs(x) ** exponent * np.where(x < 0, np.cos(exponent * np.pi), 1.0)


def fsim(ref: np.ndarray, img: np.ndarray, chromatic: bool = False) -> float:
    """FSIM (or FSIMc with ``chromatic=True``) of ``img`` against ``ref``; 1 for identical images.

    Inputs: uint8, uint16 or float in [0, 1], both gray or both RGB.  RGB pairs use the float
    luminance Y = 0.299 R + 0.587 G + 0.114 B (not rounded); FSIMc adds the I and Q channels.
    Both images are first downsampled by F = max(1, round(min(H, W) / 256)) (F x F box average with
    zero padding, every F-th pixel), as FeatureSIM.m does.  A gray pair has no chrominance, so FSIMc
    equals FSIM (MATLAB's I = Q = 1).  FSIM weights pixels by max(PC_ref, PC_img); when both images
    have no phase congruency anywhere (e.g. constant images; MATLAB gives NaN) every pixel weighs
    the same instead.
    """
    x, y = to_255(ref, "ref"), to_255(img, "img")
    check_same_shape(x, y, names=("ref", "img"))
    if x.ndim != y.ndim:
        raise ValueError(f"img: {'colour' if y.ndim == 3 else 'gray'} image, but ref is "
                         f"{'colour' if x.ndim == 3 else 'gray'}; FSIM needs both gray or both colour")
    factor = downsample_factor(x.shape)
    if x.ndim == 3:
        channels = [[box_downsample(c, factor, "constant") for c in _yiq(im)] for im in (x, y)]
    else:
        channels = [[box_downsample(im, factor, "constant")] for im in (x, y)]
    (y1, *chroma1), (y2, *chroma2) = channels

    pc1, pc2 = (phase_congruency(c, **PC_PARAMS).pc for c in (y1, y2))
    similarity = _similarity(pc1, pc2, T1) * _similarity(_gradient_magnitude(y1), _gradient_magnitude(y2), T2)
    if chromatic and chroma1:
        similarity = similarity * _real_power(
            _similarity(chroma1[0], chroma2[0], T3) * _similarity(chroma1[1], chroma2[1], T4), LAMBDA)
    weight = np.maximum(pc1, pc2)
    total = weight.sum()
    if total == 0.0:
        return float(similarity.mean())
    return float((similarity * weight).sum() / total)
