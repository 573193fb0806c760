"""numba kernels for QP's local correlations (``mffssim.metrics.qp``).

QP filters 15 maps per fused image with an 11 x 11 Gaussian window and combines them pixel by pixel. scipy's
``correlate1d`` reads each line through a buffer, which for an 11-tap window costs about four times a
vectorised loop, and the per-pixel correlation coefficient is a dozen numpy passes. ``filter_same`` here
computes exactly what ``mffssim.metrics.reference.filter_same`` (two ``correlate1d`` passes, zero padding)
computes, with scipy's own order of operations for a symmetric window, so the results are bit for bit the
same; ``best_correlation`` folds one source's coefficient map into the running pixelwise best.

No ``fastmath``: contracting to fused multiply-adds would change the last bits.
"""
from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, error_model="numpy")
def filter_same(image, taps, out):
    """``out`` = ``image`` correlated with ``taps`` down the columns, then along the rows, zero padding,
    'same' size: MATLAB's ``filter2(taps' * taps, image, 'same')``.

    ``taps`` must be symmetric with an odd length (QP's Gaussian window is). Each output value is computed as
    scipy's ``correlate1d`` computes it for a symmetric filter: centre x_0 w_0 first, then
    (x_-d + x_d) w_-d for d from the outermost tap inwards, values outside the image being 0.
    """
    rows, cols = image.shape
    half = taps.shape[0] // 2
    vertical = np.empty((rows, cols))
    for i in range(rows):
        _centre(image[i], taps[half], vertical[i])
        for d in range(half, 0, -1):
            _add_pair(image, i - d, i + d, taps[half - d], vertical[i])
    padded = np.zeros(cols + 2 * half)
    for i in range(rows):
        padded[half : half + cols] = vertical[i]
        _centre(padded[half : half + cols], taps[half], out[i])
        for d in range(half, 0, -1):
            _add_shifted(padded, half - d, half + d, taps[half - d], out[i])


@numba.njit(cache=True, nogil=True, inline="always")
def _centre(values, weight, out):
    """out = values w (the first term of each sum)."""
    for j in range(out.shape[0]):
        out[j] = values[j] * weight


@numba.njit(cache=True, nogil=True, inline="always")
def _add_pair(image, up, down, weight, out):
    """out += (image[up] + image[down]) w over one row, a row outside the image counting as zeros."""
    rows = image.shape[0]
    if 0 <= up and down < rows:
        above, below = image[up], image[down]
        for j in range(out.shape[0]):
            out[j] += (above[j] + below[j]) * weight
    elif 0 <= up:
        above = image[up]
        for j in range(out.shape[0]):
            out[j] += (above[j] + 0.0) * weight
    elif down < rows:
        below = image[down]
        for j in range(out.shape[0]):
            out[j] += (0.0 + below[j]) * weight
    else:
        for j in range(out.shape[0]):
            out[j] += (0.0 + 0.0) * weight


@numba.njit(cache=True, nogil=True, inline="always")
def _add_shifted(padded, left, right, weight, out):
    """out[j] += (padded[left + j] + padded[right + j]) w (one tap pair of the pass along a row)."""
    for j in range(out.shape[0]):
        out[j] += (padded[left + j] + padded[right + j]) * weight


@numba.njit(cache=True, nogil=True, error_model="numpy")
def best_correlation(product_mean, mu_x, var_x, mu_f, var_f, mask, stabiliser, best, first):
    """Fold one masked source feature X's correlation with F into ``best`` (the pixelwise maximum so far;
    ``first``: start it): rho = (cov + C) / (sqrt|var_X var_F| + C) with cov = mean(X F) - mu_X mu_F, and 0
    outside X's ``mask``. The same operations as the numpy expressions they replace, in the same order."""
    rows, cols = best.shape
    for i in range(rows):
        for j in range(cols):
            value = 0.0
            if mask[i, j]:
                cov = product_mean[i, j] - mu_x[i, j] * mu_f[i, j]
                value = (cov + stabiliser) / (math.sqrt(abs(var_x[i, j] * var_f[i, j])) + stabiliser)
            if first or value > best[i, j]:
                best[i, j] = value
