"""The paper variant's fused kernel: Q and dQ/dY for the box window and the joint colour patch.

One pass over strips of image rows. Per strip, the products of each new image row (sum_c y_c, sum_c y_c^2,
sum_c x_c^k y_c; centred by the shift) enter running column sums, and those of the row W above leave them
(computed again from the images); a sliding sum along the row (block sums of 4, 16, ... columns, added a
few blocks per pass) gives every window's sums; each window's SSIM and its Eq. 14 coefficients (alpha,
gamma, beta_k) enter a ring of W rows with its own running column sums; a sliding sum along the row of
those is the adjoint window sum, which multiplied with the pixel's centred values is the gradient row.
Every accumulator is float64, whatever the images' dtype. Each step is a loop over a row that the compiler
vectorises: unit stride, no branch inside (loop-invariant choices are selects), several rows per pass.

The strips are a fixed partition of the rows (``strip`` rows each) and each strip recomputes the W - 1
window rows above it that its pixels need, so the result does not depend on the number of threads; the
strips' shares of Q are added in strip order by the caller.
"""
from __future__ import annotations

import numba
import numpy as np

from ._rows import box_plan, box_sums, gradient_pixels, gradient_three, in_order, row_total, strip_rows, window_row


@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _y_terms(y0, y1, y2, col, w1, w2, shift):
    """Column ``col`` of a group of up to three channel rows, centred and weighted: channels 1 and 2 count
    with weights w1, w2 (0 for a channel past the last, which repeats one)."""
    return np.float64(y0[col]) - shift, (np.float64(y1[col]) - shift) * w1, (np.float64(y2[col]) - shift) * w2


@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _enter_y(y0, y1, y2, z0, z1, z2, w1, w2, shift, drop, total0, total1):
    """One group of up to three channels of :func:`_enter_products` for sum_c y and sum_c y^2: ``y*`` the
    entering row, ``z*`` the leaving one (weight ``drop``: 1, or 0 when no row leaves)."""
    for col in range(total0.shape[0]):
        v0, v1, v2 = _y_terms(y0, y1, y2, col, w1, w2, shift)
        u0, u1, u2 = _y_terms(z0, z1, z2, col, w1, w2, shift)
        total0[col] += (v0 + v1 + v2) - (u0 + u1 + u2) * drop
        total1[col] += (v0 * v0 + v1 * v1 + v2 * v2) - (u0 * u0 + u1 * u1 + u2 * u2) * drop


@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _enter_xy(x0, x1, x2, y0, y1, y2, a0, a1, a2, z0, z1, z2, w1, w2, shift, drop, total):
    """One group of up to three channels of :func:`_enter_products` for sum_c x^k y: ``x*, y*`` the
    entering row, ``a*, z*`` the leaving one (see :func:`_enter_y`)."""
    for col in range(total.shape[0]):
        v0, v1, v2 = _y_terms(y0, y1, y2, col, w1, w2, shift)
        u0, u1, u2 = _y_terms(z0, z1, z2, col, w1, w2, shift)
        new = (np.float64(x0[col]) - shift) * v0 + (np.float64(x1[col]) - shift) * v1 + (np.float64(x2[col]) - shift) * v2
        old = (np.float64(a0[col]) - shift) * u0 + (np.float64(a1[col]) - shift) * u1 + (np.float64(a2[col]) - shift) * u2
        total[col] += new - old * drop


@numba.njit(cache=True, error_model="numpy")
def _enter_products(x, y, t, leave, shift, total):
    """Row ``t``'s products [sum_c y, sum_c y^2, sum_c x^k y] (centred) enter the running column sums
    ``total`` (K+2, width) and, when ``leave`` >= 0, row ``leave``'s leave them.

    The leaving row's products are computed again from the images, the same way, rather than kept in a
    ring of W rows: its image rows are still in the cache (the previous step made that row's gradient),
    and a ring (W * (K+2) float64 rows) would compete for the cache. One pass over the row per map
    and group of three channels (the channels inside the loop, so the products never go through memory).
    (Loops index row views with their own counter: see :func:`mffssim.kernels._rows.box_sums`.)"""
    k_count, channels = x.shape[0], x.shape[1]
    old, drop = (leave, 1.0) if leave >= 0 else (t, 0.0)
    for c in range(0, channels, 3):
        c1, c2 = min(c + 1, channels - 1), min(c + 2, channels - 1)
        w1, w2 = (1.0 if c + 1 < channels else 0.0), (1.0 if c + 2 < channels else 0.0)
        y0, y1, y2, z0, z1, z2 = y[c, t], y[c1, t], y[c2, t], y[c, old], y[c1, old], y[c2, old]
        _enter_y(y0, y1, y2, z0, z1, z2, w1, w2, shift, drop, total[0], total[1])
        for k in range(k_count):
            _enter_xy(x[k, c, t], x[k, c1, t], x[k, c2, t], y0, y1, y2, x[k, c, old], x[k, c1, old], x[k, c2, old],
                      z0, z1, z2, w1, w2, shift, drop, total[2 + k])


@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _gradient_row(x, y, p, shift, padded, plan, back, tmp, acc, grad):
    """Pixel row ``p`` of dQ/dY from ``padded`` (K+2, width+W-1): the column sums of the coefficients of
    the windows covering the row inside a border of W - 1 zeros, whose valid sliding sums along the row
    are the adjoint (full) sums; then alpha + gamma*y + sum_k beta_k*x^k."""
    box_sums(padded, x.shape[3], plan[0], plan[1], back, tmp)
    k_count, channels = x.shape[0], x.shape[1]
    grouped = channels - channels % 3 if k_count == 2 else 0  # channels taken three at a time
    for c in range(0, grouped, 3):
        gradient_three(x, y, c, p, shift, back, grad)
    for c in range(grouped, channels):
        gradient_pixels(x, y, c, p, shift, back, acc, grad)


@numba.njit(cache=True, error_model="numpy")
def _leave(ring, total, start, row, first):
    """Take row ``row`` (kept in ``ring``) out of ``total``, shifted by ``start`` columns (see
    :func:`_enter`), unless it is before ``first``."""
    if row < first:
        return
    old = ring[row % ring.shape[0]].ravel()
    size = old.shape[0] - start
    tf = total.ravel()[start:]
    for q in range(size):
        tf[q] -= old[q]


@numba.njit(cache=True, error_model="numpy")
def _enter(ring, slot, new, total, start, replace):
    """total[f, start + j] += new[f, j] (- the row in ``ring[slot]`` when ``replace``), then that slot holds
    ``new``. All maps in one loop over the flattened rows: ``new``, the ring and ``total`` have rows of the
    same length, and the last ``start`` columns of each row of ``new`` are zero (so the first ``start`` of
    the next row of ``total``, where they land, stay as they are)."""
    nf, old = new.ravel(), ring[slot].ravel()
    size = nf.shape[0] - start
    tf = total.ravel()[start:]
    for q in range(size):
        value = nf[q]
        tf[q] += value - (old[q] if replace else 0.0)
        old[q] = value


@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _strip(x, y, shift, window, sel, mux_c, varx_c2, m, q_scale, g_scale, r0, r1, need_grad, grad):
    """Q's share of the windows whose top row lies in [r0, r1), and dQ/dY on rows [r0, r1)."""
    k_count, channels, height, width = x.shape
    vh, vw = height - window + 1, width - window + 1
    maps = k_count + 2
    inv_n = 1.0 / (channels * window * window)
    wa = max(0, r0 - window + 1) if need_grad else r0  # first window row this strip computes
    wb = min(vh, r1)
    colsum = np.zeros((maps, width))
    sums = np.empty((maps, width))  # the window sums in columns < vw
    plan = box_plan(window)
    tmp = np.empty((max(1, plan[0][0]), maps * width))  # the block sums of the column sums
    tmp_b = np.empty((max(1, plan[0][0]), maps * (width + window - 1)))  # of the coefficients' column sums
    sx = np.empty(vw)
    ssim_w = np.empty(vw)
    beta = np.empty(vw)
    ones = np.ones(vw)
    crow = np.zeros((maps, width + window - 1))  # the coefficients in columns < vw, zeros after
    cring = np.zeros((window, maps, width + window - 1))
    padded = np.zeros((maps, width + window - 1))  # the coefficients' column sums inside a zero border
    back = np.empty((maps, width + window - 1))  # the adjoint sums in columns < width
    acc = np.empty(width)
    q = 0.0
    if wb <= wa:
        return q
    for t in range(wa, wb + window - 1):  # image rows entering the windows
        _enter_products(x, y, t, t - window if t - window >= wa else -1, shift, colsum)
        i = t - window + 1  # the window row now complete
        if i < wa:
            continue
        box_sums(colsum, vw, plan[0], plan[1], sums, tmp)
        window_row(sums, i, sel, mux_c, varx_c2, m, ones, inv_n, shift, g_scale, need_grad, False, crow, sx, beta, ssim_w)
        if i >= r0:
            q += row_total(ssim_w, vw)
        if not need_grad:
            continue
        # pixel row i is covered by the coefficient rows max(wa, i-W+1) .. i
        _enter(cring, i % window, crow, padded, window - 1, i - window >= wa)
        if i >= r0:
            _gradient_row(x, y, i, shift, padded, plan, back, tmp_b, acc, grad)
    if need_grad:
        for p in range(wb, r1):  # the last W - 1 rows of the image: no window starts there
            _leave(cring, padded, window - 1, p - window, wa)
            if p >= r0:
                _gradient_row(x, y, p, shift, padded, plan, back, tmp_b, acc, grad)
    return q * q_scale


@numba.njit(cache=True, parallel=True, error_model="numpy")
def paper_value_and_grad(x, y, shift, window, sel, mux_c, varx_c2, m, q_scale, g_scale, strip, need_grad, grad):
    """Q and (``need_grad``) dQ/dY into ``grad`` (C, H, W) for the paper variant.

    ``x`` (K, C, H, W) and ``y`` (C, H, W) are the raw images (float32 or float64), ``shift`` the constant
    subtracted from every value. Per window (H-W+1, W-W+1) and pick (one per source for soft maps, one for
    one-hot maps where ``sel`` (H-W+1, W-W+1) holds the selected source): ``mux_c`` the source's centred
    mean, ``varx_c2`` its variance plus C2, ``m`` its weight in Q. Q = q_scale * sum m * SSIM; the
    gradient weight of a window is m * g_scale.
    """
    height = x.shape[2]
    parts = np.zeros((height + strip - 1) // strip)
    for s in numba.prange(len(parts)):
        r0, r1 = strip_rows(s, strip, height)
        parts[s] = _strip(x, y, shift, window, sel, mux_c, varx_c2, m, q_scale, g_scale, r0, r1, need_grad, grad)
    return in_order(parts)
