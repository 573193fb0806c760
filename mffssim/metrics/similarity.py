"""SSIM-based fusion metrics of the MFIFB benchmark: Qc (Cvejic), Qw (the benchmark's ``metricsQw``) and its
source-based SSIM, as the benchmark's MATLAB code computes them.

Local statistics use 'valid' Gaussian windows (separable, as ``mffssim.metrics.structural``). Qc divides by
covariances with C1 = C2 = 2e-16, so windows flat in an image decide its value through round-off in MATLAB;
here such a window has exactly zero variance and covariance (``structural._window_stats``), see ``qc``.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_image_size
from ._common import gray_triple, local_mean
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

def qc(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """Qc, Cvejic's similarity-based fusion metric (Cvejic et al., Int. J. Signal Process. 2005), higher is better.

    Per 7 x 7 Gaussian window (sigma 1.5, 'valid'), SSIM with C1 = C2 = 2e-16 of (A, F) and (B, F) and the
    covariances s_AF, s_BF; with mu = s_AF / (s_AF + s_BF), the window's value is mu SSIM(A,F) + (1 - mu)
    SSIM(B,F), 0 where mu < 0 and 1 where mu > 1; windows where mu is undefined (0/0) are left out of the mean.

    Flat windows: MATLAB computes variances as E[x^2] - mu^2, so in a window whose pixels are all equal they
    are round-off residues and decide the value there (it can leave [0, 1], e.g. 3.8 or -18 on images with flat
    areas). Here such a window has variance and covariance exactly 0 (its SSIM structure term is 1, and mu is
    0/0 where both covariances vanish), which is what the formula means; values therefore match MATLAB only up
    to those windows' share (docs/metrics.md gives the measured agreement).
    """
    a, b, f = gray_triple(a, b, f)
    check_image_size(a, 11, "Qc")
    wa, wb, wf = (_window_stats(image, _QC_TAPS) for image in (a, b, f))
    ssim_af, ssim_bf = _ssim_map(wa, wf, _QC_TAPS, _QC_C), _ssim_map(wb, wf, _QC_TAPS, _QC_C)
    cov_af = np.where(wa.flat | wf.flat, 0.0, local_mean(a * f, _QC_TAPS) - wa.mean * wf.mean)
    cov_bf = np.where(wb.flat | wf.flat, 0.0, local_mean(b * f, _QC_TAPS) - wb.mean * wf.mean)
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
