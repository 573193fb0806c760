"""numba kernel for QG's edge preservation (``mffssim.metrics.gradient``).

Q^SF of one source is about fifteen numpy passes over the image (masks, floors, ratios, two sigmoids), each
with its temporary array; ``edge_preservation`` makes one pass with the same operations in the same order.
Its exponentials are the C library's where numpy may use its own vectorised ones, so values can differ from
the numpy expressions in the last bit. No ``fastmath`` (it would contract to fused multiply-adds).
"""
from __future__ import annotations

import math

import numba

TINY = 1e-5  # the toolbox's stand-in for an exact zero (as gradient._TINY)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def edge_preservation(g_s, a_s, g_f, a_f, params, original, raw_f, out):
    """``out`` = Q_g Q_alpha per pixel of source S in F (``gradient._preservation`` documents the terms;
    ``params`` = (Gamma_g, kappa_g, sigma_g, Gamma_a, kappa_a, sigma_a))."""
    gamma_g, kappa_g, sigma_g, gamma_a, kappa_a, sigma_a = params
    rows, cols = out.shape
    for i in range(rows):
        for j in range(cols):
            gs, gf = g_s[i, j], g_f[i, j]
            gs_floor = TINY if gs == 0 else gs
            gf_floor = TINY if gf == 0 else gf
            if gs > gf:
                strength = (gf if raw_f else gf_floor) / gs_floor
            else:
                strength = gs_floor / gf_floor
            difference = abs(a_s[i, j] - a_f[i, j])
            if original:
                orientation = abs(difference - math.pi / 2) * 2 / math.pi
            else:
                orientation = 1 - difference * 2 / math.pi
            q_g = gamma_g / (1 + math.exp(kappa_g * (strength - sigma_g)))
            q_a = gamma_a / (1 + math.exp(kappa_a * (orientation - sigma_a)))
            out[i, j] = q_g * q_a
