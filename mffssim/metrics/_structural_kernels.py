"""numba kernel for the SSIM maps of QE and QY (``mffssim.metrics.structural``).

An SSIM map from the two images' window statistics is about ten numpy passes over the map (each with its
temporary array); ``ssim_map`` makes one, with the same operations in the same order, so the values are
those of the numpy expressions bit for bit. No ``fastmath`` (it would contract to fused multiply-adds).
"""
from __future__ import annotations

import numba


@numba.njit(cache=True, nogil=True, error_model="numpy")
def ssim_map(product_mean, mean_x, mean_y, var_x, var_y, flat_x, flat_y, c, out):
    """``out`` = (2 mu_x mu_y + c) / (mu_x^2 + mu_y^2 + c) (2 cov + c) / (var_x + var_y + c) per window, with
    cov = mean(x y) - mu_x mu_y, or 0 where either window is flat."""
    rows, cols = out.shape
    for i in range(rows):
        for j in range(cols):
            mx, my = mean_x[i, j], mean_y[i, j]
            cov = 0.0 if flat_x[i, j] or flat_y[i, j] else product_mean[i, j] - mx * my
            luminance = (2 * mx * my + c) / (mx * mx + my * my + c)
            out[i, j] = luminance * (2 * cov + c) / (var_x[i, j] + var_y[i, j] + c)
