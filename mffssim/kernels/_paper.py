"""The paper variant's fused kernel: Q and dQ/dY for the box window and the joint colour patch.

One pass over strips of image rows. Per strip, the products of each new image row (sum_c y_c, sum_c y_c^2,
sum_c x_c^k y_c; centred by the shift) enter a ring of W rows and running column sums; a sliding sum
along the row gives every window's sums; each window's SSIM and its Eq. 14 coefficients (alpha, gamma,
beta_k) enter a second ring with its own running column sums; a sliding sum along the row of those is
the adjoint window sum, which multiplied with the pixel's centred values is the gradient row. Every
accumulator is float64, whatever the images' dtype.

The strips are a fixed partition of the rows (``strip`` rows each) and each strip recomputes the W - 1
window rows above it that its pixels need, so the result does not depend on the number of threads; the
strips' shares of Q are added in strip order by the caller.
"""
from __future__ import annotations

import numba
import numpy as np

from ._rows import box_plan, box_sums, gradient_pixels, in_order, row_total, strip_rows, window_row


@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _product_row(x, y, t, shift, out, yrow):
    """Row ``t``'s products [sum_c y, sum_c y^2, sum_c x^k y] (centred) into ``out`` (K+2, width). (Loops
    index row views with their own counter: see :func:`mffssim.kernels._rows.box_sums`.)"""
    k_count, channels, _, width = x.shape
    o0, o1 = out[0], out[1]
    for c in range(channels):
        first = c == 0
        yr = y[c, t]
        for col in range(width):
            v = np.float64(yr[col]) - shift
            yrow[col] = v
            if first:
                o0[col] = v
                o1[col] = v * v
            else:
                o0[col] += v
                o1[col] += v * v
        for k in range(k_count):
            xr, ok = x[k, c, t], out[2 + k]
            for col in range(width):
                v = (np.float64(xr[col]) - shift) * yrow[col]
                if first:
                    ok[col] = v
                else:
                    ok[col] += v


@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _gradient_row(x, y, p, shift, padded, plan, back, tmp, acc, grad):
    """Pixel row ``p`` of dQ/dY from ``padded`` (K+2, width+W-1): the column sums of the coefficients of
    the windows covering the row inside a border of W - 1 zeros, whose valid sliding sums along the row
    are the adjoint (full) sums; then alpha + gamma*y + sum_k beta_k*x^k."""
    box_sums(padded, x.shape[3], plan[0], plan[1], back, tmp)
    for c in range(x.shape[1]):
        gradient_pixels(x, y, c, p, shift, back, acc, grad)


@numba.njit(cache=True, error_model="numpy")
def _leave(ring, total, row, first):
    """Take row ``row`` (kept in ``ring``) out of ``total``, unless it is before ``first``."""
    if row < first:
        return
    old = ring[row % ring.shape[0]]
    maps, width = total.shape
    for f in range(maps):
        tf, of = total[f], old[f]
        for col in range(width):
            tf[col] -= of[col]


@numba.njit(cache=True, error_model="numpy")
def _enter(ring, slot, new, total, replace):
    """total += new (- the row in ``ring[slot]`` when ``replace``), then that slot holds ``new``."""
    maps, width = new.shape
    old = ring[slot]
    for f in range(maps):
        tf, nf, of = total[f], new[f], old[f]
        if replace:
            for col in range(width):
                tf[col] += nf[col] - of[col]
                of[col] = nf[col]
        else:
            for col in range(width):
                tf[col] += nf[col]
                of[col] = nf[col]


@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _strip(x, y, shift, window, sel, mux_c, varx_c2, m, q_scale, g_scale, r0, r1, need_grad, grad):
    """Q's share of the windows whose top row lies in [r0, r1), and dQ/dY on rows [r0, r1)."""
    k_count, channels, height, width = x.shape
    vh, vw = height - window + 1, width - window + 1
    maps = k_count + 2
    inv_n = 1.0 / (channels * window * window)
    wa = max(0, r0 - window + 1) if need_grad else r0  # first window row this strip computes
    wb = min(vh, r1)
    ring = np.empty((window, maps, width))
    new = np.empty((maps, width))
    colsum = np.zeros((maps, width))
    sums = np.empty((maps, vw))
    plan = box_plan(window)
    tmp = np.empty((max(1, plan[0][0]), maps, width + window))
    yrow = np.empty(width)
    sx = np.empty(vw)
    ssim_w = np.empty(vw)
    beta = np.empty(vw)
    ones = np.ones(vw)
    crow = np.empty((maps, vw))
    cring = np.empty((window, maps, vw))
    padded = np.zeros((maps, width + window - 1))  # the coefficients' column sums inside a zero border
    csum = padded[:, window - 1 : window - 1 + vw]
    back = np.empty((maps, width))
    acc = np.empty(width)
    q = 0.0
    if wb <= wa:
        return q
    for t in range(wa, wb + window - 1):  # image rows entering the windows
        _product_row(x, y, t, shift, new, yrow)
        _enter(ring, t % window, new, colsum, t - window >= wa)
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
        _enter(cring, i % window, crow, csum, i - window >= wa)
        if i >= r0:
            _gradient_row(x, y, i, shift, padded, plan, back, tmp, acc, grad)
    if need_grad:
        for p in range(wb, r1):  # the last W - 1 rows of the image: no window starts there
            _leave(cring, csum, p - window, wa)
            if p >= r0:
                _gradient_row(x, y, p, shift, padded, plan, back, tmp, acc, grad)
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
