"""Structural-similarity fusion metrics: QE (Piella & Heijmans 2003) and QY (Yang et al. 2008).

Both weigh local SSIM maps of (A, F) and (B, F) by the local variances of A and B, as Yu Liu's corrected
``metricPeilla`` (switch 3) and ``metricYang`` do. The images stay on the 0..255 scale (no normalize1);
local statistics use 'valid' windows, so the maps are (H - k + 1) x (W - k + 1) for a k x k window.

Flat windows. MATLAB's ``filter2`` factors a separable window by SVD, so the variance of a window whose
pixels are all equal is not 0 but a round-off residue (~1e-16 c^2 for value c), and the result in such
windows depends on those residues. Here a constant window has exactly zero variance, which is what the
toolbox formulas mean; what that implies for each metric is stated in its docstring and in
docs/metrics_noref.md (QE: equal to MATLAB within 1e-7; QY: see there).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._checks import check_image_size
from ._common import filter2_same, gray_triple, local_mean, numba_kernels, window_is_flat
from ._memo import memo

_PREWITT_X = np.array([[1.0, 0.0, -1.0], [1.0, 0.0, -1.0], [1.0, 0.0, -1.0]])
_PREWITT_Y = _PREWITT_X.T.copy()  # rows (1 1 1), (0 0 0), (-1 -1 -1)


class _Window(NamedTuple):
    """Local statistics of one image over the 'valid' k x k windows."""

    image: np.ndarray
    mean: np.ndarray
    var: np.ndarray  # exactly 0 where the window is flat
    flat: np.ndarray


def _window_stats(image: np.ndarray, taps: np.ndarray) -> _Window:
    """Weighted local mean and variance; a window whose pixels are all equal gets variance exactly 0
    (instead of the E[x^2] - mu^2 round-off residue, which would decide the value with tiny C1, C2)."""
    flat = window_is_flat(image, len(taps))
    mean = local_mean(image, taps)
    var = np.where(flat, 0.0, local_mean(image * image, taps) - mean * mean)
    return _Window(image, mean, var, flat)


def _ssim_map(x: _Window, y: _Window, taps: np.ndarray, c: float) -> np.ndarray:
    """SSIM map of Wang's ``ssim_index`` with C1 = C2 = c; the covariance is 0 where either window is flat.
    The per-window formula runs as one numba pass (``_structural_kernels``, the same values)."""
    out = np.empty_like(x.mean)
    numba_kernels("_structural_kernels").ssim_map(
        local_mean(x.image * y.image, taps), x.mean, y.mean, x.var, y.var, x.flat, y.flat, float(c), out)
    return out


def _lambda(var_a: np.ndarray, var_b: np.ndarray) -> np.ndarray:
    """lambda = var_a / (var_a + var_b), 1/2 where both variances are 0."""
    total = var_a + var_b
    return np.where(total == 0, 0.5, var_a / np.where(total == 0, 1.0, total))


# --- QE ---------------------------------------------------------------------------------------------

_QE_TAPS = np.full(8, 1.0 / 8.0)  # 8 x 8 box window, normalised (1/64 each; exact in binary)
_QE_C = (1e-6 * 255.0) ** 2  # K1 = K2 = 1e-6, L = 255: SSIM reduces to UIQI


def _qe_stats(image: np.ndarray) -> _Window:
    """QE's 8 x 8 window statistics of one image (kept per image by ``memo``)."""
    return memo("qe_window", lambda x: _window_stats(x, _QE_TAPS), image)


def _qe_weights(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per window of the two sources: lambda and the normalised saliency c(w) / sum c (``_weighted_quality``)."""
    wa, wb = _qe_stats(a), _qe_stats(b)
    both_zero = wa.flat & wb.flat & (wa.mean == 0) & (wb.mean == 0)
    var_a, var_b = wa.var + 0.5 * both_zero, wb.var + 0.5 * both_zero
    lam = _lambda(var_a, var_b)
    saliency = np.maximum(var_a, var_b)
    total = np.sum(saliency)
    if total == 0:  # no structure anywhere in either source: every window weighs the same
        saliency, total = np.ones_like(saliency), saliency.size
    return lam, saliency / total


def _weighted_quality(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """Piella's weighted fusion quality index Q_W on 8 x 8 windows.

    Saliency c(w) = max(var_A, var_B). The toolbox adds 1/2 to both variances where they sum to exactly 0;
    in MATLAB that happens where both windows are all zero, and elsewhere only where round-off happens to
    cancel (other flat windows keep a ~1e-16 c^2 residue and weigh ~0). So the 1/2 goes to all-zero windows,
    and other windows flat in both sources weigh 0 (on c_02 the chance cancellations leave a 1e-7 residue).
    The sources' terms (``_qe_weights``) are kept for the next fused image of the same sources.
    """
    lam, weight = memo("qe_weights", _qe_weights, a, b)
    wa, wb, wf = (_qe_stats(image) for image in (a, b, f))
    ssim_af, ssim_bf = _ssim_map(wf, wa, _QE_TAPS, _QE_C), _ssim_map(wf, wb, _QE_TAPS, _QE_C)
    return float(np.sum(weight * (lam * ssim_af + (1 - lam) * ssim_bf)))


def _prewitt_magnitude(image: np.ndarray) -> np.ndarray:
    """Prewitt edge magnitude ('same' correlation, zero padding)."""
    gx, gy = filter2_same(_PREWITT_X, image), filter2_same(_PREWITT_Y, image)
    return np.sqrt(gx * gx + gy * gy)


def qe(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """QE, Piella's edge-dependent fusion quality index: Q_W(A, B, F) * Q_W(edges)^1, higher is better (<= 1).

    Q_W = sum_w c(w) [lambda(w) Q0(A,F|w) + (1 - lambda(w)) Q0(B,F|w)], Q0 = SSIM with K1 = K2 = 1e-6
    (UIQI) on 8 x 8 box windows ('valid'), lambda = var_A / (var_A + var_B), c = max(var_A, var_B) normalised
    to sum 1; the edge images are Prewitt magnitudes (zero padding). Windows flat in both sources weigh 0,
    except all-zero ones, which weigh 1/2 with lambda = 1/2 (MATLAB's behaviour, see ``_weighted_quality``).
    Degenerate input: identical inputs give 1; if neither source has any structure (e.g. constant
    sources) every window weighs the same, so no NaN: three equal constant images give 1.
    """
    a, b, f = gray_triple(a, b, f)
    check_image_size(a, 8, "QE")
    intensity = _weighted_quality(a, b, f)
    edges = _weighted_quality(*(memo("prewitt", _prewitt_magnitude, image) for image in (a, b, f)))
    return float(intensity * edges)


# --- QY ---------------------------------------------------------------------------------------------

_QY_C = 2e-16  # C1 = C2: tiny, so SSIM is (almost) the index without stabilising constants


def _gaussian_taps(size: int, sigma: float) -> np.ndarray:
    """Normalised 1-D Gaussian; its outer product is ``fspecial('gaussian', size, sigma)`` up to rounding."""
    x = np.arange(size) - (size - 1) / 2
    taps = np.exp(-(x * x) / (2 * sigma * sigma))
    return taps / taps.sum()


_QY_TAPS = _gaussian_taps(7, 1.5)


def qy(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """QY, Yang's SSIM-based fusion metric (Yang et al. 2008), higher is better (<= 1).

    SSIM with a 7 x 7 Gaussian window (sigma 1.5), 'valid', C1 = C2 = 2e-16. Per window: where
    SSIM(A, B) >= 0.75, lambda SSIM(A,F) + (1 - lambda) SSIM(B,F) with lambda = var_A / (var_A + var_B)
    (1/2 where both are 0, the toolbox rule since commit 267c081); elsewhere max(SSIM(A,F), SSIM(B,F)).
    QY is the mean. A window flat in both images compared has SSIM = (2 mu_x mu_y + C1)/(mu_x^2 + mu_y^2 + C1)
    (the structure term is C2/C2 = 1); MATLAB's value there is set by round-off (module doc), which is why
    QY differs from the MFIF table by up to ~2e-4 on images with flat areas. Degenerate input: no NaN;
    identical inputs give 1; three equal constant images give 1.
    """
    a, b, f = gray_triple(a, b, f)
    check_image_size(a, 7, "QY")
    ssim_ab, lam = memo("qy_sources", _qy_sources, a, b)
    wa, wb, wf = (_qy_stats(image) for image in (a, b, f))
    ssim_af, ssim_bf = _ssim_map(wa, wf, _QY_TAPS, _QY_C), _ssim_map(wb, wf, _QY_TAPS, _QY_C)
    quality = np.where(ssim_ab >= 0.75, lam * ssim_af + (1 - lam) * ssim_bf, np.maximum(ssim_af, ssim_bf))
    return float(np.mean(quality))


def _qy_stats(image: np.ndarray) -> _Window:
    """QY's 7 x 7 Gaussian window statistics of one image (kept per image by ``memo``)."""
    return memo("qy_window", lambda x: _window_stats(x, _QY_TAPS), image)


def _qy_sources(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """QY's terms of the two sources alone: SSIM(A, B) and lambda per window."""
    wa, wb = _qy_stats(a), _qy_stats(b)
    return _ssim_map(wa, wb, _QY_TAPS, _QY_C), _lambda(wa.var, wb.var)
