"""Image-statistics fusion metrics of the MFIFB benchmark: AG, EI, EN, SD, SF (the fused image alone), CE and
its PSNR (fused image against each source), as the benchmark's MATLAB code (MEFB's ``metrics*.m``) computes them.

Every function takes sources ``a``, ``b`` and fused ``f`` like the other metrics (uint8, uint16 or float in
[0, 1]; colour becomes MATLAB's rounded ``rgb2gray``) and returns the value of one gray triple. The benchmark's
per-channel colour convention is applied by ``mffssim.metrics.convention``.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from ._common import gray_triple

_BINS = 256
_SOBEL = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])  # MATLAB fspecial('sobel')


def average_gradient(image: np.ndarray) -> float:
    """AG of one 2-D image: sum of sqrt((dx^2 + dy^2)/2) over (H - 1)(W - 1), with MATLAB's ``gradient``
    (central differences inside, one-sided at the borders), as ``numpy.gradient`` computes them."""
    dy, dx = np.gradient(image)
    height, width = image.shape
    return float(np.sum(np.sqrt((dx * dx + dy * dy) / 2)) / ((height - 1) * (width - 1)))


def ag(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """AG, average gradient of the fused image (Cui et al., Optics Communications 2015), higher is better.

    mean over pixels of sqrt((dF/dx^2 + dF/dy^2)/2), the sum divided by (H - 1)(W - 1) as the benchmark does.
    """
    return average_gradient(gray_triple(a, b, f)[2])


def edge_intensity(image: np.ndarray) -> float:
    """EI of one 2-D image: mean Sobel magnitude, replicated borders (MATLAB ``imfilter(..., 'replicate')``)."""
    gx = ndimage.correlate(image, _SOBEL, mode="nearest")
    gy = ndimage.correlate(image, _SOBEL.T, mode="nearest")
    return float(np.mean(np.sqrt(gx * gx + gy * gy)))


def ei(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """EI, edge intensity of the fused image (Rajalingam & Priya, IJESI 2018), higher is better.

    Mean of the Sobel gradient magnitude of F, with replicated borders.
    """
    return edge_intensity(gray_triple(a, b, f)[2])


def _histogram(image: np.ndarray) -> np.ndarray:
    """Probabilities of the 256 levels of an image of integers 0..255 (non-integers are floored, as MATLAB's loop)."""
    counts = np.bincount(np.floor(image).astype(np.int64).ravel(), minlength=_BINS)
    return counts / image.size


def en(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """EN, Shannon entropy of the fused image's 256-level histogram in bits (Aardt, J. Appl. Remote Sens. 2008),
    higher is better."""
    p = _histogram(gray_triple(a, b, f)[2])
    p = p[p > 0]
    return float(-np.sum(p * np.log2(p)))


def sd(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """SD, population standard deviation of the fused image (Rao, Meas. Sci. Technol. 1997), higher is better."""
    fused = gray_triple(a, b, f)[2]
    return float(np.sqrt(np.sum((fused - fused.mean()) ** 2) / fused.size))


def sf(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """SF, spatial frequency of the fused image (Eskicioglu & Fisher 1995, as the benchmark cites it via Chen &
    Varshney 2007), higher is better: sqrt(RF + CF), both squared-difference sums divided by H W."""
    fused = gray_triple(a, b, f)[2]
    rows = np.sum(np.diff(fused, axis=1) ** 2) / fused.size
    cols = np.sum(np.diff(fused, axis=0) ** 2) / fused.size
    return float(np.sqrt(rows + cols))


def _relative_entropy(source: np.ndarray, fused: np.ndarray) -> float:
    """sum_k P_S(k) log2(P_S(k) / P_F(k)) over the levels where both histograms are non-zero."""
    p, q = _histogram(source), _histogram(fused)
    both = (p > 0) & (q > 0)
    return float(np.sum(p[both] * np.log2(p[both] / q[both])))


def ce(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """CE, cross entropy between the sources' and the fused histograms (Bulanon et al., Biosyst. Eng. 2009),
    >= 0, LOWER is better: the mean of the relative entropies of A and B with respect to F, in bits.

    As the benchmark's code, levels absent from either histogram are skipped (so CE stays finite).
    """
    a, b, f = gray_triple(a, b, f)
    return (_relative_entropy(a, f) + _relative_entropy(b, f)) / 2.0


def psnr_mfifb(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """The MFIFB benchmark's PSNR (Jagalingam & Hegde, Aquatic Procedia 2015, as coded there), higher is better.

    20 log10(255 / sqrt(E)), E = (e(A, F) + e(B, F)) / 2 with e(S, F) = sqrt(sum (S - F)^2) / (H W): the
    benchmark's code puts this root-sum-square over the pixel count where the mean squared error would be,
    so its values are not the usual PSNR (they run about 20 dB higher). Identical images give ``inf``.
    """
    a, b, f = gray_triple(a, b, f)
    error = (np.sqrt(np.sum((a - f) ** 2)) + np.sqrt(np.sum((b - f) ** 2))) / (2.0 * f.size)
    return float("inf") if error == 0.0 else float(20.0 * np.log10(255.0 / np.sqrt(error)))
