"""The reference variant's fused kernel: Q and dQ/dY for the Gaussian window per channel, reflect padding
and the clamp of SSIM to [0, 1].

Reflect padding followed by the W-tap filter is, along each axis, one banded matrix: window centre p
takes ``weights[p, e]`` of pixel ``p + e - r`` (:func:`reflect_weights`; the taps in the interior, the
mirrored taps folded onto their pixels near the edges). The gradient needs its transpose (the adjoint
filter with the reflection folded back), so no padded image is ever formed.

Per strip of image rows: the products of each image row (y_c, y_c^2, x_c^k y_c per channel; centred by
the shift) are filtered along the row into a ring of W rows; the filter down the ring gives every
window's statistics in a row of window centres; SSIM, the clamp and the Eq. 14 coefficients follow;
the coefficients, filtered back along the row into a second ring, filtered back down that ring and
multiplied with the pixel's centred values, are a gradient row. Every accumulator is float64. The
strips are a fixed partition and each one recomputes the r window rows on either side that its pixels
need, so the result does not depend on the number of threads.
"""
from __future__ import annotations

import numba
import numpy as np

from ._rows import row_total, ssim_row


def reflect_weights(taps: np.ndarray, size: int) -> np.ndarray:
    """(size, W) float64: the weight of pixel ``p + e - r`` in the window centred on ``p`` along one axis,
    for numpy's 'reflect' padding by r = W // 2 (the edge pixel is not repeated; needs size > r)."""
    window = len(taps)
    r = window // 2
    weights = np.zeros((size, window))
    for p in range(size):
        for d in range(window):
            t = p + d - r
            t = -t if t < 0 else (2 * (size - 1) - t if t >= size else t)
            weights[p, t - p + r] += taps[d]
    return weights


@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _filter_row(src, cols_t, out):
    """Along the row: out[f, q] = sum_e cols_t[e, q] * src[f, q + e - r] (the reflect filter)."""
    maps, width = src.shape
    window = cols_t.shape[0]
    r = window // 2
    for f in range(maps):
        for q in range(width):
            out[f, q] = 0.0
        for e in range(window):
            lo = max(0, r - e)
            hi = min(width, width + r - e)
            for q in range(lo, hi):
                out[f, q] += cols_t[e, q] * src[f, q + e - r]


@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _adjoint_row(src, cols_t, out):
    """The transpose of :func:`_filter_row`: out[f, q + e - r] += cols_t[e, q] * src[f, q]."""
    maps, width = src.shape
    window = cols_t.shape[0]
    r = window // 2
    for f in range(maps):
        for q in range(width):
            out[f, q] = 0.0
        for e in range(window):
            lo = max(0, r - e)
            hi = min(width, width + r - e)
            for q in range(lo, hi):
                out[f, q + e - r] += cols_t[e, q] * src[f, q]


@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _load_row(x, y, t, shift, cols_t, prod, out):
    """Image row ``t``'s products per channel, filtered along the row, into ``out`` (C, K+2, width)."""
    k_count, channels, _, width = x.shape
    for c in range(channels):
        for col in range(width):
            v = np.float64(y[c, t, col]) - shift
            prod[0, col] = v
            prod[1, col] = v * v
            for k in range(k_count):
                prod[2 + k, col] = (np.float64(x[k, c, t, col]) - shift) * v
        _filter_row(prod, cols_t, out[c])


@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _strip(x, y, shift, rows, cols_t, sel, mux_c, varx_c2, m, q_scale, g_scale, r0, r1, need_grad, grad):
    """Q's share of the windows centred on rows [r0, r1), and dQ/dY on rows [r0, r1)."""
    k_count, channels, height, width = x.shape
    window = rows.shape[1]
    r = window // 2
    picks = mux_c.shape[0]
    one_hot = sel.shape[0] > 0
    maps = k_count + 2
    pa = max(0, r0 - r) if need_grad else r0
    pb = min(height, r1 + r) if need_grad else r1
    ring = np.zeros((window, channels, maps, width))
    prod = np.empty((maps, width))
    stats = np.empty((maps, width))
    coef = np.empty((channels, maps, width))
    cring = np.zeros((window, channels, maps, width))
    back = np.empty((maps, width))
    sx = np.empty(width)
    ssim_w = np.empty(width)
    beta = np.empty(width)
    no_weight = np.empty(0)
    q = 0.0
    loaded = max(0, pa - r)  # next image row to load
    for p in range(pa, pb):
        while loaded <= min(height - 1, p + r):
            _load_row(x, y, loaded, shift, cols_t, prod, ring[loaded % window])
            loaded += 1
        owned = r0 <= p < r1
        for c in range(channels):
            for f in range(maps):
                for col in range(width):
                    stats[f, col] = 0.0
            for e in range(window):
                t = p + e - r
                if 0 <= t < height:
                    wt = rows[p, e]
                    src = ring[t % window, c]
                    for f in range(maps):
                        for col in range(width):
                            stats[f, col] += wt * src[f, col]
            for pick in range(picks):
                if one_hot:
                    for col in range(width):
                        sx[col] = stats[2, col]
                    for kk in range(1, k_count):
                        for col in range(width):
                            if sel[c, p, col] == kk:
                                sx[col] = stats[2 + kk, col]
                    src = sx
                else:
                    src = stats[2 + pick]
                ssim_row(stats[0], stats[1], src, mux_c[pick, c, p], varx_c2[pick, c, p],
                         no_weight if one_hot else m[pick, c, p], 1.0, shift, g_scale, need_grad, pick == 0, True,
                         ssim_w, coef[c, 0], coef[c, 1], beta if one_hot else coef[c, 2 + pick])
            if owned:
                q += row_total(ssim_w, width)
            if need_grad and one_hot:
                for kk in range(k_count):
                    out = coef[c, 2 + kk]
                    for col in range(width):
                        out[col] = beta[col] if sel[c, p, col] == kk else 0.0
            if need_grad:
                _adjoint_row(coef[c], cols_t, cring[p % window, c])
        if need_grad and r0 <= p - r < r1:
            _gradient_row(x, y, p - r, shift, rows, cring, pa, pb, back, grad)
    if need_grad:
        for j in range(max(r0, pb - r), r1):  # the rows whose windows end at the bottom edge
            _gradient_row(x, y, j, shift, rows, cring, pa, pb, back, grad)
    return q * q_scale


@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _gradient_row(x, y, j, shift, rows, cring, pa, pb, back, grad):
    """Image row ``j`` of dQ/dY: the row-filtered coefficients of the window rows around it, filtered back
    down the ring, times the pixel's centred values."""
    k_count, channels, _, width = x.shape
    window = rows.shape[1]
    r = window // 2
    maps = k_count + 2
    for c in range(channels):
        for g in range(maps):
            for col in range(width):
                back[g, col] = 0.0
        for p in range(max(pa, j - r), min(pb, j + r + 1)):
            wt = rows[p, j - p + r]
            src = cring[p % window, c]
            for g in range(maps):
                for col in range(width):
                    back[g, col] += wt * src[g, col]
        for col in range(width):
            acc = back[0, col] + back[1, col] * (np.float64(y[c, j, col]) - shift)
            for k in range(k_count):
                acc += back[2 + k, col] * (np.float64(x[k, c, j, col]) - shift)
            grad[c, j, col] = acc


@numba.njit(cache=True, parallel=True, error_model="numpy")
def reference_value_and_grad(x, y, shift, rows, cols, sel, mux_c, varx_c2, m, q_scale, g_scale, strip, need_grad,
                             grad):
    """Q and (``need_grad``) dQ/dY into ``grad`` (C, H, W) for the reference variant.

    ``rows`` (H, W) and ``cols`` (width, W) are :func:`reflect_weights` of the taps along each axis. Per
    window centre (C, H, W) and pick (every source for soft maps; for one-hot maps one, the source in
    ``sel``): the centred mean ``mux_c``, variance plus C2 ``varx_c2`` and weight ``m``.
    """
    height = x.shape[2]
    cols_t = np.ascontiguousarray(cols.T)
    strips = (height + strip - 1) // strip
    parts = np.zeros(strips)
    for s in numba.prange(strips):
        r0 = s * strip
        r1 = min(height, r0 + strip)
        parts[s] = _strip(x, y, shift, rows, cols_t, sel, mux_c, varx_c2, m, q_scale, g_scale, r0, r1, need_grad,
                          grad)
    total = 0.0
    for s in range(strips):
        total += parts[s]
    return total
