"""Row operations shared by the fused kernels: each is a loop over the columns of one row that the
compiler vectorises (no branch inside, unit stride)."""
from __future__ import annotations

import numba
import numpy as np

C1 = 0.01**2
C2 = 0.03**2


@numba.njit(cache=True, error_model="numpy")
def add_rows(target, first, a, b, c, d, count):
    """target (=, or += unless ``first``) the sum of the first ``count`` (1 to 4) of the rows a, b, c, d
    (of target's length at least): several rows per pass, so each pass reads several values per one it
    writes. The unused rows are read and weighted by 0 (x + 0 * y is x), so the loop has no branch."""
    wb = 1.0 if count > 1 else 0.0
    wc = 1.0 if count > 2 else 0.0
    wd = 1.0 if count > 3 else 0.0
    n = target.shape[0]
    if first:
        for j in range(n):
            target[j] = a[j] + wb * b[j] + wc * c[j] + wd * d[j]
    else:
        for j in range(n):
            target[j] += a[j] + wb * b[j] + wc * c[j] + wd * d[j]


@numba.njit(cache=True, error_model="numpy")
def _level_row(src, tmp, level, offset, n):
    """The block sums of 4^level values (``src`` itself at level 0, else ``tmp[level - 1]``), flattened,
    from position ``offset`` on, n long."""
    if level == 0:
        return src[offset : offset + n]
    return tmp[level - 1, offset : offset + n]


@numba.njit(cache=True, error_model="numpy")
def box_plan(window):
    """The blocks that make up a window of ``window`` values for :func:`box_sums`: their levels (a block
    of level l holds 4^l values) and offsets, from the largest block down (the base-4 digits of W)."""
    top = 0
    while 4 ** (top + 1) <= window:
        top += 1
    levels = np.empty(4 * (top + 1), dtype=np.int64)
    offsets = np.empty(4 * (top + 1), dtype=np.int64)
    count, offset = 0, 0
    for level in range(top, -1, -1):
        for _ in range((window // 4**level) % 4):
            levels[count], offsets[count] = level, offset
            count += 1
            offset += 4**level
    return levels[:count], offsets[:count]


@numba.njit(cache=True, error_model="numpy")
def box_sums(src, n, levels, offsets, out, tmp):
    """out[f, j] = sum of src[f, j : j + W] for j < n, for every map f of ``src`` (F, length), the window
    W given by :func:`box_plan`'s ``levels`` and ``offsets``; ``out`` is (F, length) too, its columns from
    n on are left with unused values.

    Block sums of 4, 16, 64, ... values are built level by level (each from the previous one, four reads
    per value); the window's blocks are then added four per pass: W = 13 (31 in base 4) takes two passes
    over the row, W = 25 (121) three. ``tmp`` (levels[0] or more, F * length) holds the block sums. Each
    pass runs over all maps at once, on the flattened arrays (one long loop instead of one per map): the
    sums that straddle two maps land in columns past the valid ones and are never used. (Loops index
    slices with their own counter from 0: an index numba cannot prove non-negative gets a wraparound test
    that stops the loop from vectorising.)
    """
    maps, length = src.shape
    flat, target = src.ravel(), out.ravel()
    for top in range(levels[0]):
        block = 4**top
        valid = (maps - 1) * length + length - 4 * block + 1
        add_rows(tmp[top, :valid], True, _level_row(flat, tmp, top, 0, valid), _level_row(flat, tmp, top, block, valid),
                 _level_row(flat, tmp, top, 2 * block, valid), _level_row(flat, tmp, top, 3 * block, valid), 4)
    count, size = levels.shape[0], (maps - 1) * length + n
    for i in range(0, count, 4):
        last = min(count, i + 4) - 1  # the unused rows repeat the last one, with weight 0
        add_rows(target[:size], i == 0, _level_row(flat, tmp, levels[i], offsets[i], size),
                 _level_row(flat, tmp, levels[min(i + 1, last)], offsets[min(i + 1, last)], size),
                 _level_row(flat, tmp, levels[min(i + 2, last)], offsets[min(i + 2, last)], size),
                 _level_row(flat, tmp, levels[last], offsets[last], size), last - i + 1)


@numba.njit(cache=True, fastmath=True)
def row_total(values, n):
    """sum(values[:n]) (reassociated: the order is fixed by the code, not by the thread count)."""
    total = 0.0
    for j in range(n):
        total += values[j]
    return total


@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def ssim_terms(s0, s1, sx, mxc, varx_c2, inv_n, shift):
    """One window's SSIM and the terms of its Eq. 14 coefficients, from the centred sums (see
    :func:`ssim_row`): (ssim, 1 / (b1 b2), a1, a2, b1, b2, mx, muy, muy_c)."""
    muy_c = s0 * inv_n
    vary = s1 * inv_n - muy_c * muy_c
    muy = muy_c + shift
    mx = mxc + shift
    cov = sx * inv_n - mxc * muy_c
    a1 = 2.0 * mx * muy + C1
    a2 = 2.0 * cov + C2
    b1 = mx * mx + muy * muy + C1
    b2 = varx_c2 + vary
    inv = 1.0 / (b1 * b2)
    return a1 * a2 * inv, inv, a1, a2, b1, b2, mx, muy, muy_c


@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def ssim_values(s0, s1, sx, mux_c, varx_c2, weight, inv_n, shift, first, clamp, ssim_w):
    """weight * SSIM per window of a row into ``ssim_w`` (written when ``first``, else added to), without
    the gradient; the arguments are :func:`ssim_row`'s. Loop-invariant flags are selects, not branches,
    so the loop vectorises."""
    for j in range(ssim_w.shape[0]):
        ssim = ssim_terms(s0[j], s1[j], sx[j], mux_c[j], varx_c2[j], inv_n, shift)[0]
        value = weight[j] * (min(max(ssim, 0.0), 1.0) if clamp else ssim)
        ssim_w[j] = value + (0.0 if first else ssim_w[j])


@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def ssim_row(s0, s1, sx, mux_c, varx_c2, weight, inv_n, shift, g_scale, first, clamp, ssim_w, alpha, gamma, beta):
    """Per window of a row: weight * SSIM into ``ssim_w`` and the Eq. 14 coefficients.

    ``s0, s1, sx`` are n times the window means of y_c, y_c^2 and x_c y_c (centred; n = 1 / inv_n),
    ``mux_c`` and ``varx_c2`` the source's centred mean and variance plus C2, ``weight`` its weight in Q.
    ``first``: write ssim_w, alpha and gamma, else add to them (the sources of a soft map add up);
    ``beta`` is always written. The gradient coefficients carry ``g_scale`` times the weight. ``clamp``:
    SSIM is clamped to [0, 1] and the coefficients are zero where the clamp is active (the reference
    variant). The flags are selects inside the loop, so it vectorises.
    """
    for j in range(ssim_w.shape[0]):
        ssim, inv, a1, a2, b1, b2, mx, muy, muy_c = ssim_terms(s0[j], s1[j], sx[j], mux_c[j], varx_c2[j], inv_n,
                                                               shift)
        mxc = mux_c[j]
        wq = weight[j]
        inside = 0.0 <= ssim <= 1.0
        w = wq * g_scale if inside or not clamp else 0.0
        value = wq * (min(max(ssim, 0.0), 1.0) if clamp else ssim)
        tw = w * inv
        b = tw * a1
        u = w * ssim
        g = -u * b1 * inv  # -u / b2
        a = tw * a2 * mx - u * muy * b2 * inv - b * mxc - g * muy_c
        ssim_w[j] = value + (0.0 if first else ssim_w[j])
        alpha[j] = a + (0.0 if first else alpha[j])
        gamma[j] = g + (0.0 if first else gamma[j])
        beta[j] = b


@numba.njit(cache=True, error_model="numpy")
def window_row(sums, row, sel, mux_c, varx_c2, m, ones, inv_n, shift, g_scale, need_grad, clamp, coef, sx, beta,
               ssim_w):
    """One row of windows: weight * SSIM into ``ssim_w`` (summed over the sources of a soft map) and, with
    ``need_grad``, the Eq. 14 coefficients into ``coef`` (K+2, n): alpha, gamma and beta_k per source.

    ``sums`` (K+2, n) are the window sums of y_c, y_c^2 and x_c^k y_c times ``inv_n``'s inverse; row ``row``
    of ``mux_c``, ``varx_c2`` and ``m`` (picks, rows, n) holds the sources' statistics and weights, and of
    ``sel`` (rows, n) the selected source of a one-hot map (``sel`` empty: a soft map, every source a pick;
    a one-hot map's weights are ``ones``, a row of n ones). ``sx`` and ``beta`` are work rows.
    """
    picks = mux_c.shape[0]
    one_hot = sel.shape[0] > 0
    k_count = coef.shape[0] - 2
    n = ssim_w.shape[0]
    row_sel = sel[row] if one_hot else sel.ravel()[:0]  # C-contiguous either way: the loops vectorise
    for pick in range(picks):
        if one_hot:  # the selected source's sums
            select_row(sums[2:], row_sel, sx)
            src = sx
        else:
            src = sums[2 + pick]
        weight = ones if one_hot else m[pick, row]
        if need_grad:
            ssim_row(sums[0], sums[1], src, mux_c[pick, row], varx_c2[pick, row], weight, inv_n, shift, g_scale,
                     pick == 0, clamp, ssim_w, coef[0], coef[1], beta if one_hot else coef[2 + pick])
        else:
            ssim_values(sums[0], sums[1], src, mux_c[pick, row], varx_c2[pick, row], weight, inv_n, shift,
                        pick == 0, clamp, ssim_w)
    if need_grad and one_hot:
        for kk in range(k_count):
            out = coef[2 + kk]
            for j in range(n):
                out[j] = beta[j] if row_sel[j] == kk else 0.0


@numba.njit(cache=True, error_model="numpy")
def select_row(rows, index, out):
    """out[j] = rows[index[j], j] (rows: K >= 2): a select per row, so the loops vectorise; the first pass
    takes rows 0 and 1."""
    r0, r1 = rows[0], rows[1]
    for j in range(out.shape[0]):
        out[j] = r1[j] if index[j] == 1 else r0[j]
    for kk in range(2, rows.shape[0]):
        rk = rows[kk]
        for j in range(out.shape[0]):
            out[j] = rk[j] if index[j] == kk else out[j]


@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def gradient_pixels(x, y, c, row, shift, back, acc, grad):
    """Channel ``c`` of image row ``row`` of dQ/dY: back[0] + back[1] * y_c + sum_k back[2+k] * x_c^k, from
    the adjoint window sums ``back`` (K+2, width) of the coefficients alpha, gamma, beta_k.

    The first pass takes sources 0 and 1 (there are always two) and, for K = 2, writes the gradient; each
    further source is one more pass through the work row ``acc``."""
    k_count = x.shape[0]
    yr, out, b0, b1, b2, b3 = y[c, row], grad[c, row], back[0], back[1], back[2], back[3]
    x0, x1 = x[0, c, row], x[1, c, row]
    if k_count == 2:
        for col in range(out.shape[0]):
            out[col] = (b0[col] + b1[col] * (np.float64(yr[col]) - shift) + b2[col] * (np.float64(x0[col]) - shift)
                        + b3[col] * (np.float64(x1[col]) - shift))
        return
    for col in range(out.shape[0]):
        acc[col] = (b0[col] + b1[col] * (np.float64(yr[col]) - shift) + b2[col] * (np.float64(x0[col]) - shift)
                    + b3[col] * (np.float64(x1[col]) - shift))
    for k in range(2, k_count - 1):
        xr, bk = x[k, c, row], back[2 + k]
        for col in range(out.shape[0]):
            acc[col] += bk[col] * (np.float64(xr[col]) - shift)
    xr, bk = x[k_count - 1, c, row], back[k_count + 1]
    for col in range(out.shape[0]):
        out[col] = acc[col] + bk[col] * (np.float64(xr[col]) - shift)


@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def gradient_three(x, y, c, row, shift, back, grad):
    """Channels c, c+1, c+2 of image row ``row`` of dQ/dY for K = 2 when the channels share the
    coefficients (the paper variant's joint colour window): :func:`gradient_pixels` in one pass, which
    reads the adjoint sums ``back`` once for the three channels."""
    b0, b1, b2, b3 = back[0], back[1], back[2], back[3]
    ya, yb, yc = y[c, row], y[c + 1, row], y[c + 2, row]
    xa, xb, xc = x[0, c, row], x[0, c + 1, row], x[0, c + 2, row]
    za, zb, zc = x[1, c, row], x[1, c + 1, row], x[1, c + 2, row]
    oa, ob, oc = grad[c, row], grad[c + 1, row], grad[c + 2, row]
    for col in range(oa.shape[0]):
        s0, s1, s2, s3 = b0[col], b1[col], b2[col], b3[col]
        oa[col] = (s0 + s1 * (np.float64(ya[col]) - shift) + s2 * (np.float64(xa[col]) - shift)
                   + s3 * (np.float64(za[col]) - shift))
        ob[col] = (s0 + s1 * (np.float64(yb[col]) - shift) + s2 * (np.float64(xb[col]) - shift)
                   + s3 * (np.float64(zb[col]) - shift))
        oc[col] = (s0 + s1 * (np.float64(yc[col]) - shift) + s2 * (np.float64(xc[col]) - shift)
                   + s3 * (np.float64(zc[col]) - shift))


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
