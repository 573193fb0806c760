"""SSIM-based fusion metrics of the MFIFB benchmark: Qc (Cvejic), Qw (the benchmark's ``metricsQw``) and its
source-based SSIM, as the benchmark's MATLAB code computes them.

Local statistics use 'valid' Gaussian windows (separable, as ``mffssim.metrics.structural``). Qc divides by
covariances with C1 = C2 = 2e-16, so windows flat in an image decide its value through round-off in MATLAB;
by default such a window has exactly zero variance and covariance (``structural._window_stats``), and
``roundoff="octave"`` reproduces GNU Octave's round-off instead, see ``qc``.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_image_size
from ._common import gray_triple, local_mean, running_sum
from .reference import K1, K2, L, gaussian_window, ssim
from .structural import _prewitt_magnitude, _ssim_map, _window_stats

_SSIM_TAPS = gaussian_window(11, 1.5)
_QC_TAPS = gaussian_window(7, 1.5)
_QC_C = 2e-16


# --- Qw ---------------------------------------------------------------------------------------------

def _wang_ssim(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wang's ``ssim_index`` with its defaults (11 x 11 Gaussian, sigma 1.5, K = (0.01, 0.03), L = 255, 'valid'):
    (SSIM map, variance map of x, variance map of y), variances as E[x^2] - mu^2 like the MATLAB code."""
    mu_x, mu_y = local_mean(x, _SSIM_TAPS), local_mean(y, _SSIM_TAPS)
    var_x = local_mean(x * x, _SSIM_TAPS) - mu_x * mu_x
    var_y = local_mean(y * y, _SSIM_TAPS) - mu_y * mu_y
    cov = local_mean(x * y, _SSIM_TAPS) - mu_x * mu_y
    c1, c2 = (K1 * L) ** 2, (K2 * L) ** 2
    ssim_map = (2 * mu_x * mu_y + c1) * (2 * cov + c2) / ((mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2))
    return ssim_map, var_x, var_y


def qw(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """Qw as the MFIFB benchmark's ``metricsQw.m`` computes it: Piella's weighted fusion quality index (Piella &
    Heijmans, ICIP 2003) of the Prewitt edge-magnitude images only, higher is better (<= 1).

    The code hard-codes ``sw = 3``, Piella's edge-dependent index with alpha = 1, but leaves out its intensity
    factor, so the value is Q_W(A', B', F') of the edge images X' = |Prewitt(X)| (zero padding): per 11 x 11
    Gaussian window, Wang's SSIM (K = 0.01, 0.03, L = 255) of (F', A') and (F', B'), lambda = var_A' /
    (var_A' + var_B'), weight max(var_A', var_B') normalised to sum 1; where var_A' + var_B' is exactly 0, 1/2 is
    added to both. Not Piella's Q_W of the images, and not ``qe`` (which multiplies by the intensity index and
    uses 8 x 8 box windows with K = 1e-6).
    """
    a, b, f = gray_triple(a, b, f)
    check_image_size(a, 11, "Qw")
    edges_a, edges_b, edges_f = (_prewitt_magnitude(image) for image in (a, b, f))
    _, var_a, var_b = _wang_ssim(edges_a, edges_b)
    both_flat = (var_a + var_b) == 0
    var_a, var_b = var_a + 0.5 * both_flat, var_b + 0.5 * both_flat
    lam = var_a / (var_a + var_b)
    ssim_af, ssim_bf = _wang_ssim(edges_f, edges_a)[0], _wang_ssim(edges_f, edges_b)[0]
    saliency = np.maximum(var_a, var_b)
    return float(np.sum(saliency / np.sum(saliency) * (lam * ssim_af + (1 - lam) * ssim_bf)))


# --- Qc ---------------------------------------------------------------------------------------------

def _octave_window(size: int, sigma: float) -> np.ndarray:
    """``fspecial('gaussian', size, sigma)`` normalised twice, as Octave computes it and ``ssim_yang`` renormalises it."""
    x = np.arange(size) - (size - 1) / 2
    window = np.exp(-(x[None, :] ** 2 + x[:, None] ** 2) / (2 * sigma * sigma))
    window = window / running_sum(window.ravel(order="F"))
    return window / running_sum([running_sum(column) for column in window.T])


_QC_OCTAVE_WINDOW = _octave_window(7, 1.5)


def _octave_valid(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Octave's ``filter2(window, image, 'valid')`` in its order of operations: ``conv2`` with the rotated window,
    which adds one kernel entry's products at a time, kernel columns outer and rows inner (``dconv2i``)."""
    kernel = np.rot90(window, 2)
    rows, cols = kernel.shape
    height, width = image.shape[0] - rows + 1, image.shape[1] - cols + 1
    out = np.zeros((height, width))
    for j in range(cols):
        for i in range(rows):
            out = out + kernel[i, j] * image[rows - 1 - i : rows - 1 - i + height, cols - 1 - j : cols - 1 - j + width]
    return out


def _qc_maps_octave(x: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(SSIM map, covariance map) of ``ssim_yang`` with Octave's arithmetic, variances as E[x^2] - mu^2."""
    mu_x, mu_f = _octave_valid(x, _QC_OCTAVE_WINDOW), _octave_valid(f, _QC_OCTAVE_WINDOW)
    var_x = _octave_valid(x * x, _QC_OCTAVE_WINDOW) - mu_x * mu_x
    var_f = _octave_valid(f * f, _QC_OCTAVE_WINDOW) - mu_f * mu_f
    cov = _octave_valid(x * f, _QC_OCTAVE_WINDOW) - mu_x * mu_f
    ssim_map = (2 * mu_x * mu_f + _QC_C) * (2 * cov + _QC_C) / ((mu_x * mu_x + mu_f * mu_f + _QC_C) * (var_x + var_f + _QC_C))
    return ssim_map, cov


def _qc_maps_exact(x: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(SSIM map, covariance map) with exact zeros in flat windows (``structural._window_stats``)."""
    wx, wf = _window_stats(x, _QC_TAPS), _window_stats(f, _QC_TAPS)
    cov = np.where(wx.flat | wf.flat, 0.0, local_mean(x * f, _QC_TAPS) - wx.mean * wf.mean)
    return _ssim_map(wx, wf, _QC_TAPS, _QC_C), cov


def qc(a: np.ndarray, b: np.ndarray, f: np.ndarray, roundoff: str = "exact") -> float:
    """Qc, Cvejic's similarity-based fusion metric (Cvejic et al., Int. J. Signal Process. 2005), higher is better.

    Per 7 x 7 Gaussian window (sigma 1.5, 'valid'), SSIM with C1 = C2 = 2e-16 of (A, F) and (B, F) and the
    covariances s_AF, s_BF; with mu = s_AF / (s_AF + s_BF), the window's value is mu SSIM(A,F) + (1 - mu)
    SSIM(B,F), 0 where mu < 0 and 1 where mu > 1; windows where mu is undefined (0/0) are left out of the mean.

    Round-off (``roundoff``). The code computes variances as E[x^2] - mu^2, so in a window whose pixels are all
    equal they are round-off residues, and where the two covariances (nearly) cancel those residues decide the
    value (it can leave [0, 1], e.g. 3.8 or -18 on images with flat areas). ``"exact"`` (the default): such a
    window has variance and covariance exactly 0 (its SSIM structure term is 1, and mu is 0/0 where both
    covariances vanish), which is what the formula means. ``"octave"``: the code's arithmetic in GNU Octave's
    order of operations (``filter2`` as Octave's ``conv2`` accumulates it), which reproduces Octave's values,
    round-off included; MATLAB's differ again there (it factors separable windows). docs/metrics.md gives
    how far apart the two are.
    """
    if roundoff not in ("exact", "octave"):
        raise ValueError(f"roundoff: expected 'exact' or 'octave', got {roundoff!r}")
    a, b, f = gray_triple(a, b, f)
    check_image_size(a, 11, "Qc")
    maps = _qc_maps_octave if roundoff == "octave" else _qc_maps_exact
    (ssim_af, cov_af), (ssim_bf, cov_bf) = maps(a, f), maps(b, f)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = cov_af / (cov_af + cov_bf)
        value = share * ssim_af + (1 - share) * ssim_bf
    value = np.where(share < 0, 0.0, np.where(share > 1, 1.0, value))
    value = value[~np.isnan(value)]
    return float(np.mean(value)) if value.size else 1.0


# --- SSIM of the benchmark --------------------------------------------------------------------------

def ssim_mfifb(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """The MFIFB benchmark's SSIM: SSIM(A, F) + SSIM(B, F), 0..2, higher is better (Wang et al., IEEE TIP 2004).

    Wang's ``ssim_index`` (11 x 11 Gaussian, sigma 1.5, K = 0.01, 0.03, L = 255, 'valid', no downsampling), as
    the author's VIFB code ``metricsSsim.m`` sums it; ``ssim(..., downsample=False)`` of each source with F.
    No published value of the benchmark's own code exists to compare with; it equals the sum of scikit-image's
    ``structural_similarity`` with the same settings (tests/test_mfifb_metrics.py).
    """
    return ssim(a, f, downsample=False) + ssim(b, f, downsample=False)
