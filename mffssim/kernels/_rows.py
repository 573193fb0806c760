"""Row operations shared by the fused kernels: each is a loop over the columns of one row that the
compiler vectorises (no branch inside, unit stride)."""
from __future__ import annotations

import numba
import numpy as np

C1 = 0.01**2
C2 = 0.03**2


@numba.njit(cache=True, error_model="numpy")
def box_sums(src, n, window, out, tmp):
    """out[f, j] = sum of src[f, j : j + window] for j < n, for every map f of ``src`` (F, length).

    The window is split into blocks of 1, 4, 16, ... values by the base-4 digits of its size; each
    level's block sums come from the previous level's in one pass, so W = 13 takes five passes over the
    row and W = 25 six. ``tmp`` (2, F, length) holds the block sums. (Every loop indexes slices with its
    own counter from 0: an index numba cannot prove non-negative gets a wraparound test that stops the
    loop from vectorising.)
    """
    maps, length = src.shape
    cur = src
    block, offset, first, level = 1, 0, True, 0
    while True:
        for _ in range((window // block) % 4):
            for f in range(maps):
                target = out[f, :n]
                part = cur[f, offset : offset + n]
                if first:
                    for j in range(n):
                        target[j] = part[j]
                else:
                    for j in range(n):
                        target[j] += part[j]
            first = False
            offset += block
        if 4 * block > window:
            return
        nxt = tmp[level % 2]
        valid = length - 4 * block + 1
        for f in range(maps):
            target = nxt[f, :valid]
            a = cur[f, 0:valid]
            b = cur[f, block : block + valid]
            c = cur[f, 2 * block : 2 * block + valid]
            d = cur[f, 3 * block : 3 * block + valid]
            for j in range(valid):
                target[j] = a[j] + b[j] + c[j] + d[j]
        cur = nxt
        block *= 4
        level += 1


@numba.njit(cache=True, fastmath=True)
def row_total(values, n):
    """sum(values[:n]) (reassociated: the order is fixed by the code, not by the thread count)."""
    total = 0.0
    for j in range(n):
        total += values[j]
    return total


@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def ssim_row(s0, s1, sx, mux_c, varx_c2, weight, inv_n, shift, g_scale, need_grad, first, clamp, ssim_w, alpha,
             gamma, beta):
    """Per window of a row: weight * SSIM into ``ssim_w`` and, with ``need_grad``, the Eq. 14 coefficients.

    ``s0, s1, sx`` are n times the window means of y_c, y_c^2 and x_c y_c (centred; n = 1 / inv_n),
    ``mux_c`` and ``varx_c2`` the source's centred mean and variance plus C2, ``weight`` its weight in Q
    (None-like: an empty array means 1). ``first``: write ssim_w, alpha and gamma, else add to them (the
    sources of a soft map add up); ``beta`` is always written. The gradient coefficients carry
    ``g_scale`` times the weight. ``clamp``: SSIM is clamped to [0, 1] and the coefficients are zero
    where the clamp is active (the reference variant).
    """
    n = ssim_w.shape[0]
    weighted = weight.shape[0] > 0
    for j in range(n):
        muy_c = s0[j] * inv_n
        vary = s1[j] * inv_n - muy_c * muy_c
        muy = muy_c + shift
        mxc = mux_c[j]
        mx = mxc + shift
        cov = sx[j] * inv_n - mxc * muy_c
        a1 = 2.0 * mx * muy + C1
        a2 = 2.0 * cov + C2
        b1 = mx * mx + muy * muy + C1
        b2 = varx_c2[j] + vary
        inv = 1.0 / (b1 * b2)
        ssim = a1 * a2 * inv
        wq = weight[j] if weighted else 1.0
        w = wq * g_scale
        if clamp:
            value = wq * min(max(ssim, 0.0), 1.0)
            w = w if 0.0 <= ssim <= 1.0 else 0.0
        else:
            value = wq * ssim
        tw = w * inv
        b = tw * a1
        u = w * ssim
        g = -u * b1 * inv  # -u / b2
        a = tw * a2 * mx - u * muy * b2 * inv - b * mxc - g * muy_c
        if first:
            ssim_w[j] = value
            if need_grad:
                alpha[j] = a
                gamma[j] = g
        else:
            ssim_w[j] += value
            if need_grad:
                alpha[j] += a
                gamma[j] += g
        if need_grad:
            beta[j] = b


@numba.njit(cache=True, error_model="numpy")
def window_row(sums, row, sel, mux_c, varx_c2, m, inv_n, shift, g_scale, need_grad, clamp, coef, sx, beta, ssim_w):
    """One row of windows: weight * SSIM into ``ssim_w`` (summed over the sources of a soft map) and, with
    ``need_grad``, the Eq. 14 coefficients into ``coef`` (K+2, n): alpha, gamma and beta_k per source.

    ``sums`` (K+2, n) are the window sums of y_c, y_c^2 and x_c^k y_c times ``inv_n``'s inverse; row ``row``
    of ``mux_c``, ``varx_c2`` and ``m`` (picks, rows, n) holds the sources' statistics and weights, and of
    ``sel`` (rows, n) the selected source of a one-hot map (``sel`` empty: a soft map, every source a pick).
    ``sx`` and ``beta`` are work rows.
    """
    picks = mux_c.shape[0]
    one_hot = sel.shape[0] > 0
    k_count = coef.shape[0] - 2
    n = ssim_w.shape[0]
    no_weight = np.empty(0)
    row_sel = sel[row] if one_hot else sel[0:0, 0]
    for pick in range(picks):
        if one_hot:  # the selected source's sums
            for j in range(n):
                sx[j] = sums[2, j]
            for kk in range(1, k_count):
                sk = sums[2 + kk]
                for j in range(n):
                    if row_sel[j] == kk:
                        sx[j] = sk[j]
            src = sx
        else:
            src = sums[2 + pick]
        ssim_row(sums[0], sums[1], src, mux_c[pick, row], varx_c2[pick, row], no_weight if one_hot else m[pick, row],
                 inv_n, shift, g_scale, need_grad, pick == 0, clamp, ssim_w, coef[0], coef[1],
                 beta if one_hot else coef[2 + pick])
    if need_grad and one_hot:
        for kk in range(k_count):
            out = coef[2 + kk]
            for j in range(n):
                out[j] = beta[j] if row_sel[j] == kk else 0.0


@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def gradient_pixels(x, y, c, row, shift, back, acc, grad):
    """Channel ``c`` of image row ``row`` of dQ/dY: back[0] + back[1] * y_c + sum_k back[2+k] * x_c^k, from
    the adjoint window sums ``back`` (K+2, width) of the coefficients alpha, gamma, beta_k."""
    k_count, width = x.shape[0], x.shape[3]
    yr, out, b0, b1 = y[c, row], grad[c, row], back[0], back[1]
    for col in range(width):
        acc[col] = b0[col] + b1[col] * (np.float64(yr[col]) - shift)
    for k in range(k_count):
        xr, bk = x[k, c, row], back[2 + k]
        for col in range(width):
            acc[col] += bk[col] * (np.float64(xr[col]) - shift)
    for col in range(width):
        out[col] = acc[col]


@numba.njit(cache=True)
def strip_rows(strip: int, size: int, rows: int) -> tuple[int, int]:
    """Rows [r0, r1) of strip number ``strip`` of ``size`` rows in an image of ``rows`` rows."""
    return strip * size, min(rows, (strip + 1) * size)


@numba.njit(cache=True)
def in_order(parts) -> float:
    """The strips' shares added in strip order (so the total does not depend on which thread made which)."""
    total = 0.0
    for value in parts:
        total += value
    return total
