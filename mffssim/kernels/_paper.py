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

C1 = 0.01**2
C2 = 0.03**2


@numba.njit(cache=True, fastmath={"contract"})
def _product_row(x, y, t, shift, out, yrow):
    """Row ``t``'s products [sum_c y, sum_c y^2, sum_c x^k y] (centred) into ``out`` (K+2, width)."""
    k_count, channels, _, width = x.shape
    for f in range(k_count + 2):
        for col in range(width):
            out[f, col] = 0.0
    for c in range(channels):
        for col in range(width):
            v = np.float64(y[c, t, col]) - shift
            yrow[col] = v
            out[0, col] += v
            out[1, col] += v * v
        for k in range(k_count):
            for col in range(width):
                out[2 + k, col] += (np.float64(x[k, c, t, col]) - shift) * yrow[col]


@numba.njit(cache=True, fastmath={"contract"})
def _window_row(colsum, window, sums):
    """Sliding sums of ``window`` columns of every map of ``colsum`` (F, width) into ``sums`` (F, width-W+1)."""
    maps, valid = sums.shape
    for f in range(maps):
        s = 0.0
        for col in range(window):
            s += colsum[f, col]
        sums[f, 0] = s
        for j in range(1, valid):
            s += colsum[f, j + window - 1] - colsum[f, j - 1]
            sums[f, j] = s


@numba.njit(cache=True, fastmath={"contract"})
def _gradient_row(x, y, p, shift, csum, window, back, grad):
    """Pixel row ``p`` of dQ/dY from the column sums ``csum`` (K+2, width-W+1) of the coefficients of the
    windows covering it: the adjoint (full) sliding sum along the row, then alpha + gamma*y + beta.x."""
    k_count, channels, _, width = x.shape
    maps, valid = csum.shape
    for g in range(maps):
        s = 0.0
        for col in range(width):
            if col < valid:
                s += csum[g, col]
            if col >= window:
                s -= csum[g, col - window]
            back[g, col] = s
    for c in range(channels):
        for col in range(width):
            acc = back[0, col] + back[1, col] * (np.float64(y[c, p, col]) - shift)
            for k in range(k_count):
                acc += back[2 + k, col] * (np.float64(x[k, c, p, col]) - shift)
            grad[c, p, col] = acc


@numba.njit(cache=True)
def _leave(cring, csum, row, first):
    """Take coefficient row ``row`` (kept in ``cring``) out of the column sums, unless it is before ``first``."""
    if row < first:
        return
    slot = row % cring.shape[0]
    maps, valid = csum.shape
    for g in range(maps):
        for j in range(valid):
            csum[g, j] -= cring[slot, g, j]


@numba.njit(cache=True, fastmath={"contract"})
def _strip(x, y, shift, window, sel, mux_c, varx_c2, m, q_scale, g_scale, r0, r1, need_grad, grad):
    """Q's share of the windows whose top row lies in [r0, r1), and dQ/dY on rows [r0, r1)."""
    k_count, channels, height, width = x.shape
    vh, vw = height - window + 1, width - window + 1
    picks = mux_c.shape[0]
    one_hot = sel.shape[0] > 0
    maps = k_count + 2
    inv_n = 1.0 / (channels * window * window)
    wa = max(0, r0 - window + 1) if need_grad else r0  # first window row this strip computes
    wb = min(vh, r1)
    ring = np.zeros((window, maps, width))
    colsum = np.zeros((maps, width))
    sums = np.empty((maps, vw))
    yrow = np.empty(width)
    cring = np.zeros((window, maps, vw))
    csum = np.zeros((maps, vw))
    back = np.empty((maps, width))
    q = 0.0
    if wb > wa:
        for t in range(wa, wb + window - 1):  # image rows entering the windows
            slot = t % window
            if t - window >= wa:
                for f in range(maps):
                    for col in range(width):
                        colsum[f, col] -= ring[slot, f, col]
            _product_row(x, y, t, shift, ring[slot], yrow)
            for f in range(maps):
                for col in range(width):
                    colsum[f, col] += ring[slot, f, col]
            i = t - window + 1  # the window row now complete
            if i < wa:
                continue
            _window_row(colsum, window, sums)
            owned = i >= r0
            cslot = i % window
            crow = cring[cslot]
            for j in range(vw):
                muy_c = sums[0, j] * inv_n
                vary = sums[1, j] * inv_n - muy_c * muy_c
                muy = muy_c + shift
                alpha_sum = 0.0
                gamma_sum = 0.0
                for pick in range(picks):
                    k = sel[i, j] if one_hot else pick
                    mxc = mux_c[pick, i, j]
                    mx = mxc + shift
                    cov = sums[2 + k, j] * inv_n - mxc * muy_c
                    a1 = 2.0 * mx * muy + C1
                    a2 = 2.0 * cov + C2
                    b1 = mx * mx + muy * muy + C1
                    b2 = varx_c2[pick, i, j] + vary
                    inv = 1.0 / (b1 * b2)
                    ssim = a1 * a2 * inv
                    weight = m[pick, i, j]
                    if owned:
                        q += weight * ssim
                    if need_grad:
                        w = weight * g_scale
                        tw = w * inv
                        beta = tw * a1
                        u = w * ssim
                        gamma = -u * b1 * inv  # -u / b2
                        alpha = tw * a2 * mx - u * muy * b2 * inv - beta * mxc - gamma * muy_c
                        alpha_sum += alpha
                        gamma_sum += gamma
                        if one_hot:
                            for kk in range(k_count):
                                crow[2 + kk, j] = beta if kk == k else 0.0
                        else:
                            crow[2 + k, j] = beta
                if need_grad:
                    crow[0, j] = alpha_sum
                    crow[1, j] = gamma_sum
            if not need_grad:
                continue
            # pixel row i is covered by the coefficient rows max(wa, i-W+1) .. i
            for g in range(maps):
                for j in range(vw):
                    csum[g, j] += crow[g, j]
            if i >= r0:
                _gradient_row(x, y, i, shift, csum, window, back, grad)
            _leave(cring, csum, i - window + 1, wa)
    if need_grad:
        for p in range(wb, r1):  # the last W - 1 rows of the image: no window starts there
            if p >= r0:
                _gradient_row(x, y, p, shift, csum, window, back, grad)
            _leave(cring, csum, p - window + 1, wa)
    return q * q_scale


@numba.njit(cache=True, parallel=True)
def paper_value_and_grad(x, y, shift, window, sel, mux_c, varx_c2, m, q_scale, g_scale, strip, need_grad, grad):
    """Q and (``need_grad``) dQ/dY into ``grad`` (C, H, W) for the paper variant.

    ``x`` (K, C, H, W) and ``y`` (C, H, W) are the raw images (float32 or float64), ``shift`` the constant
    subtracted from every value. Per window (H-W+1, W-W+1) and pick (one per source for soft maps, one for
    one-hot maps where ``sel`` (H-W+1, W-W+1) holds the selected source): ``mux_c`` the source's centred
    mean, ``varx_c2`` its variance plus C2, ``m`` its weight in Q. Q = q_scale * sum m * SSIM; the
    gradient weight of a window is m * g_scale.
    """
    height = x.shape[2]
    strips = (height + strip - 1) // strip
    parts = np.zeros(strips)
    for s in numba.prange(strips):
        r0 = s * strip
        r1 = min(height, r0 + strip)
        parts[s] = _strip(x, y, shift, window, sel, mux_c, varx_c2, m, q_scale, g_scale, r0, r1, need_grad, grad)
    total = 0.0
    for s in range(strips):
        total += parts[s]
    return total
