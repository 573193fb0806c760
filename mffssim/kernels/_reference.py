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

from ._rows import gradient_pixels, in_order, row_total, strip_rows, window_row


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
def _combine(out, first, sources, weights, count, lo, hi, shift):
    """out[f, q] (=, or += unless ``first``) sum over i < count of weights[i] * sources[i][f, q + shift[i]]
    for q in [lo, hi): up to four rows per pass, so each pass reads four values per one it writes. (The
    loops index slices with their own counter from 0, which numba can prove non-negative: a shifted index
    gets a wraparound test that stops the loop from vectorising.)"""
    maps = out.shape[0]
    n_out = hi - lo
    i = 0
    while i < count:
        n = min(4, count - i)
        ib, ic, id_ = i + min(1, n - 1), i + min(2, n - 1), i + min(3, n - 1)
        wa = weights[i]
        wb = weights[ib] if n > 1 else 0.0
        wc = weights[ic] if n > 2 else 0.0
        wd = weights[id_] if n > 3 else 0.0
        for f in range(maps):
            target = out[f, lo:hi]
            a = sources[i][f, lo + shift[i] : hi + shift[i]]
            b = sources[ib][f, lo + shift[ib] : hi + shift[ib]]
            c = sources[ic][f, lo + shift[ic] : hi + shift[ic]]
            d = sources[id_][f, lo + shift[id_] : hi + shift[id_]]
            if first:
                for q in range(n_out):
                    target[q] = wa * a[q] + wb * b[q] + wc * c[q] + wd * d[q]
            else:
                for q in range(n_out):
                    target[q] += wa * a[q] + wb * b[q] + wc * c[q] + wd * d[q]
        first = False
        i += n


@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _filter_row(src, cols, taps, shifts, out):
    """Along the row: out[f, q] = sum_e cols[q, e] * src[f, q + e - r] (the reflect filter): the taps on
    the interior columns, the folded weights on the r columns at either edge."""
    maps, width = src.shape
    window = cols.shape[1]
    r = window // 2
    sources = [src] * window
    _combine(out, True, sources, taps, window, r, width - r, shifts)
    for q in list(range(0, min(r, width))) + list(range(max(r, width - r), width)):
        for f in range(maps):
            acc = 0.0
            for e in range(window):
                t = q + e - r
                if 0 <= t < width:
                    acc += cols[q, e] * src[f, t]
            out[f, q] = acc


@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _adjoint_row(src, cols, taps, shifts, out):
    """The transpose of :func:`_filter_row`: out[f, j] = sum_q cols[q, j - q + r] * src[f, q]. The taps are
    symmetric, so away from the edges it is the same filter."""
    maps, width = src.shape
    window = cols.shape[1]
    r = window // 2
    sources = [src] * window
    _combine(out, True, sources, taps, window, 2 * r, width - 2 * r, shifts)
    for j in list(range(0, min(2 * r, width))) + list(range(max(2 * r, width - 2 * r), width)):
        for f in range(maps):
            acc = 0.0
            for q in range(max(0, j - r), min(width, j + r + 1)):
                acc += cols[q, j - q + r] * src[f, q]
            out[f, j] = acc


@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _load_row(x, y, t, shift, cols, taps, shifts, prod, out):
    """Image row ``t``'s products per channel, filtered along the row, into ``out`` (C, K+2, width)."""
    k_count, channels, _, width = x.shape
    for c in range(channels):
        yr, p0, p1 = y[c, t], prod[0], prod[1]
        for col in range(width):
            v = np.float64(yr[col]) - shift
            p0[col] = v
            p1[col] = v * v
        for k in range(k_count):
            xr, pk = x[k, c, t], prod[2 + k]
            for col in range(width):
                pk[col] = (np.float64(xr[col]) - shift) * p0[col]
        _filter_row(prod, cols, taps, shifts, out[c])


@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _strip(x, y, shift, rows, cols, sel, mux_c, varx_c2, m, q_scale, g_scale, r0, r1, need_grad, grad):
    """Q's share of the windows centred on rows [r0, r1), and dQ/dY on rows [r0, r1)."""
    k_count, channels, height, width = x.shape
    window = rows.shape[1]
    r = window // 2
    maps = k_count + 2
    pa = max(0, r0 - r) if need_grad else r0
    pb = min(height, r1 + r) if need_grad else r1
    ring = np.zeros((window, channels, maps, width))
    prod = np.empty((maps, width))
    stats = np.empty((maps, width))
    coef = np.empty((channels, maps, width))
    cring = np.zeros((window, channels, maps, width))
    back = np.empty((maps, width))
    acc = np.empty(width)
    sx = np.empty(width)
    ssim_w = np.empty(width)
    beta = np.empty(width)
    ones = np.ones(width)
    taps = cols[min(r, width - 1)].copy()  # an interior column's weights: the taps
    shifts = np.arange(window) - r
    zeros = np.zeros(window, dtype=np.int64)
    q = 0.0
    loaded = max(0, pa - r)  # next image row to load
    for p in range(pa, pb):
        while loaded <= min(height - 1, p + r):
            _load_row(x, y, loaded, shift, cols, taps, shifts, prod, ring[loaded % window])
            loaded += 1
        owned = r0 <= p < r1
        for c in range(channels):
            # down the ring: rows outside the image have weight 0 (any loaded row stands in for them)
            _combine(stats, True, [ring[min(max(p + e - r, 0), height - 1) % window, c] for e in range(window)],
                     rows[p], window, 0, width, zeros)
            window_row(stats, c * height + p, sel, mux_c, varx_c2, m, ones, 1.0, shift, g_scale, need_grad, True,
                       coef[c], sx, beta, ssim_w)
            if owned:
                q += row_total(ssim_w, width)
            if need_grad:
                _adjoint_row(coef[c], cols, taps, shifts, cring[p % window, c])
        if need_grad and r0 <= p - r < r1:
            _gradient_row(x, y, p - r, shift, rows, cring, pa, pb, back, acc, zeros, grad)
    if need_grad:
        for j in range(max(r0, pb - r), r1):  # the rows whose windows end at the bottom edge
            _gradient_row(x, y, j, shift, rows, cring, pa, pb, back, acc, zeros, grad)
    return q * q_scale


@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _gradient_row(x, y, j, shift, rows, cring, pa, pb, back, acc, zeros, grad):
    """Image row ``j`` of dQ/dY: the row-filtered coefficients of the window rows around it, filtered back
    down the ring, times the pixel's centred values."""
    k_count, channels, _, width = x.shape
    window = rows.shape[1]
    r = window // 2
    lo, hi = max(pa, j - r), min(pb, j + r + 1)
    weights = np.empty(hi - lo)
    for p in range(lo, hi):
        weights[p - lo] = rows[p, j - p + r]
    for c in range(channels):
        _combine(back, True, [cring[p % window, c] for p in range(lo, hi)], weights, hi - lo, 0, width, zeros)
        gradient_pixels(x, y, c, j, shift, back, acc, grad)


@numba.njit(cache=True, parallel=True, error_model="numpy")
def reference_value_and_grad(x, y, shift, rows, cols, sel, mux_c, varx_c2, m, q_scale, g_scale, strip, need_grad,
                             grad):
    """Q and (``need_grad``) dQ/dY into ``grad`` (C, H, W) for the reference variant.

    ``rows`` (H, W) and ``cols`` (width, W) are :func:`reflect_weights` of the taps along each axis. Per
    window centre (C*H, W: channel c's rows follow channel c-1's) and pick (every source for soft maps;
    for one-hot maps one, the source in ``sel``): the centred mean ``mux_c``, variance plus C2 ``varx_c2``
    and weight ``m``.
    """
    height = x.shape[2]
    parts = np.zeros((height + strip - 1) // strip)
    for s in numba.prange(len(parts)):
        r0, r1 = strip_rows(s, strip, height)
        parts[s] = _strip(x, y, shift, rows, cols, sel, mux_c, varx_c2, m, q_scale, g_scale, r0, r1, need_grad,
                          grad)
    return in_order(parts)
