"""FMI, feature mutual information (Haghighat et al., Computers & Electrical Engineering 37(5), 2011), in the
fast form of Haghighat & Razian (AICT 2014) with the defaults of the MFIFB benchmark's ``metricsFMI.m``: the
features are the binary Sobel edge maps of MATLAB's ``edge(image)``, compared in 3 x 3 windows.

Vectorised by a property of those defaults: a window of a binary edge map is one of 512 patterns, and the
code's per-window value depends only on the two patterns it compares. So each distinct (source pattern, fused
pattern) pair present in the images is computed once, with the code's own arithmetic in the code's order, and
the map is gathered from those values.

Edge thinning. MATLAB's ``edge`` keeps a pixel above the threshold when it is a local maximum of the squared
gradient magnitude across the edge: left/right neighbours where |gx| >= |gy|, above/below where |gy| >= |gx|
(non-strict on the left/upper side). GNU Octave's ``edge`` keeps it when it is strictly above both horizontal
or both vertical neighbours, whatever the gradient's direction. Both are offered (``thinning``).
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from ._common import SOBEL_X, SOBEL_Y, gray_triple, running_sum

THINNING = ("matlab", "octave")
_EPS100 = 100 * np.finfo(np.float64).eps  # MATLAB's tolerance in the direction test
_BITS = np.arange(9)


def _check_thinning(thinning: str) -> None:
    if thinning not in THINNING:
        raise ValueError(f"thinning: expected 'matlab' or 'octave', got {thinning!r}")


def sobel_edges(image: np.ndarray, thinning: str = "matlab") -> np.ndarray:
    """Binary Sobel edge map of a 2-D image on the 0..255 scale, as ``edge(image)`` (method 'sobel', default
    threshold, thinning on): squared magnitude b = gx^2 + gy^2 of the Sobel/8 gradients (replicated borders),
    kept where b > 4 mean(b) and the pixel survives ``thinning`` ("matlab" or "octave", module docstring)."""
    _check_thinning(thinning)
    gx = ndimage.correlate(image, SOBEL_X / 8.0, mode="nearest")
    gy = ndimage.correlate(image, SOBEL_Y / 8.0, mode="nearest")
    b = gx * gx + gy * gy
    padded = np.pad(b, 1, mode="constant", constant_values=-np.inf)  # a missing neighbour never blocks
    left, right = padded[1:-1, :-2], padded[1:-1, 2:]
    up, down = padded[:-2, 1:-1], padded[2:, 1:-1]
    if thinning == "octave":
        across = (b > left) & (b > right)
        along = (b > up) & (b > down)
    else:
        ax, ay = np.abs(gx), np.abs(gy)
        across = (ax >= ay - _EPS100) & (left <= b) & (b > right)
        along = (ay >= ax - _EPS100) & (up <= b) & (b > down)
    return (b > 4.0 * np.mean(b)) & (across | along)


def window_codes(edges: np.ndarray) -> np.ndarray:
    """The 9-bit pattern of every 'valid' 3 x 3 window of a binary map; bit k is the window's k-th pixel in
    MATLAB's column-major order (k = 3 column + row), the order the code builds its distributions in."""
    height, width = edges.shape
    codes = np.zeros((height - 2, width - 2), dtype=np.int64)
    for k in _BITS:
        col, row = divmod(int(k), 3)
        codes |= edges[row : row + height - 2, col : col + width - 2].astype(np.int64) << k
    return codes


def _distribution(codes: np.ndarray) -> np.ndarray:
    """(P, 9) distributions of patterns: the pixels over their sum; a constant pattern counts as all ones."""
    bits = ((codes[:, None] >> _BITS) & 1).astype(np.float64)
    bits[(codes == 0) | (codes == 511)] = 1.0
    return bits / bits.sum(axis=1, keepdims=True)


def _running_sum(values: np.ndarray) -> np.ndarray:
    """Sum over axis 1 in index order, one element at a time, as the code's loops add."""
    return running_sum(values.T)


def _bound(cdf_f: np.ndarray, cdf_x: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """(P, 10, 10) Frechet bound H(i, j) of the two CDFs, zero-padded at index 0: upper 0.5 (F + X - |F - X|)
    where ``upper``, lower 0.5 (F + X - 1 + |F + X - 1|) elsewhere, with the code's arithmetic."""
    f, x = cdf_f[:, :, None], cdf_x[:, None, :]
    high = 0.5 * (f + x - np.abs(f - x))
    low = 0.5 * (f + x - 1 + np.abs(f + x - 1))
    grid = np.zeros((cdf_f.shape[0], 10, 10))
    grid[:, 1:, 1:] = np.where(upper[:, None, None], high, low)
    return grid


def _entropy_terms(p: np.ndarray) -> np.ndarray:
    """-p log2|p| where p != 0, else 0 (the real part the code takes of a negative joint probability's term)."""
    safe = np.where(p == 0, 1.0, np.abs(p))
    return np.where(p == 0, 0.0, -p * np.log2(safe))


def _pattern_fmi(x_codes: np.ndarray, f_codes: np.ndarray) -> np.ndarray:
    """The code's per-window normalised feature MI of source patterns ``x_codes`` and fused ``f_codes``."""
    px, pf = _distribution(x_codes), _distribution(f_codes)
    cdf_x, cdf_f = np.cumsum(px, axis=1), np.cumsum(pf, axis=1)
    tx, tf = px - (_running_sum(px) / 9)[:, None], pf - (_running_sum(pf) / 9)[:, None]
    dot = _running_sum(tx * tf)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.where(dot == 0, 0.0, dot / np.sqrt(_running_sum(tx * tx) * _running_sum(tf * tf)))
    index = np.arange(1, 10, dtype=np.float64)
    sd_x = np.sqrt(_running_sum(index * index * px) - _running_sum(index * px) ** 2)
    sd_f = np.sqrt(_running_sum(index * index * pf) - _running_sum(index * pf) ** 2)
    upper = corr >= 0
    bound = _bound(cdf_f, cdf_x, upper)
    cov = np.zeros(len(corr))
    for i in range(1, 10):
        for j in range(1, 10):
            cov = cov + (bound[:, i, j] - cdf_f[:, i - 1] * cdf_x[:, j - 1])
    degenerate = (sd_x == 0) | (sd_f == 0) | (upper & (corr == 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        mix = np.where(degenerate, 0.0, corr / (cov / (sd_f * sd_x)))
    # the code's order: (1, 1), the first column, the first row, then the rest row by row
    order = [(1, 1)] + [(i, 1) for i in range(2, 10)] + [(1, j) for j in range(2, 10)]
    order += [(i, j) for i in range(2, 10) for j in range(2, 10)]
    joint = np.zeros(len(corr))
    for i, j in order:
        mass = bound[:, i, j] - bound[:, i - 1, j] - bound[:, i, j - 1] + bound[:, i - 1, j - 1]
        joint = joint + _entropy_terms(mix * mass + (1 - mix) * pf[:, i - 1] * px[:, j - 1])
    h_x, h_f = _running_sum(_entropy_terms(px)), _running_sum(_entropy_terms(pf))
    mi = h_x + h_f - joint
    value = np.where(mi == 0, 0.0, 2 * mi / np.where(mi == 0, 1.0, h_x + h_f))
    return np.where(x_codes == f_codes, 1.0, value)


# the code's value of every (source pattern, fused pattern) pair met so far (NaN: not yet computed); a pure
# function of the two patterns, so it is filled as pairs appear and kept for the process
_TABLE = np.full((512, 512), np.nan)


def _pair_values(x_codes: np.ndarray, f_codes: np.ndarray) -> np.ndarray:
    """Per-window values of pattern pairs, each distinct pair computed once per process (``_TABLE``)."""
    values = _TABLE[x_codes, f_codes]
    missing = np.isnan(values)
    if missing.any():
        keys = np.unique(x_codes[missing] * 512 + f_codes[missing])
        _TABLE[keys // 512, keys % 512] = _pattern_fmi(keys // 512, keys % 512)
        values = _TABLE[x_codes, f_codes]
    return values


def fmi_from_edges(edges_a: np.ndarray, edges_b: np.ndarray, edges_f: np.ndarray) -> float:
    """FMI of three binary edge maps of one size (:func:`sobel_edges`), lets a caller reuse the sources' maps.

    One quirk of the code is kept: when A's window differs from F's and F's window is all zeros, the code has
    already replaced F's window by ones when it compares B with F.
    """
    codes_a, codes_b, codes_f = (window_codes(edges) for edges in (edges_a, edges_b, edges_f))
    f_for_b = np.where((codes_f == 0) & (codes_a != 0), 511, codes_f)
    values = _pair_values(codes_a, codes_f) + _pair_values(codes_b, f_for_b)
    return float(np.mean(values / 2))


def fmi(a: np.ndarray, b: np.ndarray, f: np.ndarray, thinning: str = "matlab") -> float:
    """FMI (Haghighat et al. 2011), feature mutual information of edge maps, 0..1, higher is better.

    Features: ``sobel_edges`` (MATLAB's ``edge`` defaults; ``thinning`` "matlab", the default, or "octave");
    per 3 x 3 'valid' window, each map's pattern is a distribution over the 9 pixels, their joint distribution
    is Nelsen's mixture of the Frechet bound and the product weighted by their correlation, and the window's
    value is 2 MI / (H(S) + H(F)) (1 where the windows are equal); FMI = mean over windows of the mean of the
    A and B values. Images need at least 3 x 3 pixels.
    """
    a, b, f = gray_triple(a, b, f)
    return fmi_from_edges(*(sobel_edges(image, thinning) for image in (a, b, f)))
