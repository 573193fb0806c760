"""QG, the gradient-based Q^AB/F of Xydeas & Petrovic (2000), as in the toolbox's ``metricXydeas``.

Three variants: ``"corrected"`` (Yu Liu's 2019 correction, used by the MFIF survey and by its MATLAB tables),
``"original"`` (Zheng Liu's first version) and ``"mefb"`` (the MFIFB benchmark's ``metricsQabf.m``). Gradients are exact Sobel correlations with zero padding;
an FFT would change the exact-zero tests below.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._common import gray_triple, numba_kernels, sobel
from ._memo import memo

_TINY = 1e-5  # the toolbox's stand-in for an exact zero gradient component or magnitude


class _Sigmoids(NamedTuple):
    gamma_g: float
    kappa_g: float
    sigma_g: float
    gamma_a: float
    kappa_a: float
    sigma_a: float


_CORRECTED = _Sigmoids(0.9994, -15.0, 0.5, 0.9879, -22.0, 0.8)
_ORIGINAL = _Sigmoids(1.0, -10.0, 0.5, 1.0, -20.0, 0.75)


def _magnitude_and_angle(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sobel magnitude g and orientation alpha = atan(gy/gx), with gx = 0 replaced by 1e-5."""
    gx, gy = sobel(image)
    magnitude = np.sqrt(gx * gx + gy * gy)
    angle = np.arctan(gy / np.where(gx == 0, _TINY, gx))
    return magnitude, angle


def _floor_zero(values: np.ndarray) -> np.ndarray:
    """Replace exact zeros by 1e-5, as the toolbox does before dividing."""
    return np.where(values == 0, _TINY, values)


def _preservation(
    g_s: np.ndarray, a_s: np.ndarray, g_f: np.ndarray, a_f: np.ndarray, p: _Sigmoids, original: bool, raw_f: bool
) -> np.ndarray:
    """Edge preservation Q^SF = Q_g Q_alpha of one source S in the fused image F.

    Exact zeros of g_S and g_F become 1e-5 before the strength ratio min(g_S, g_F) / max(g_S, g_F); Q_g and
    Q_alpha are the sigmoids of ``p`` on that ratio and on the orientation term (``qg``). One numba pass
    (``_gradient_kernels``).

    ``raw_f``: the ratio g_F / g_S (where S is stronger) uses F's magnitude before its zeros become 1e-5.
    The toolbox does so for source A only (it floors g_F between the A and B blocks): where g_F = 0 < g_S,
    G^AF = 0 but G^BF = 1e-5 / g_B. That keeps the MATLAB values to 2e-15 instead of 1e-11, and makes QG
    symmetric in A and B only to about 1e-11.
    """
    out = np.empty_like(g_f)
    numba_kernels("_gradient_kernels").edge_preservation(
        g_s, a_s, g_f, a_f, np.array(p, dtype=np.float64), original, raw_f, out)
    return out


def _mefb_edges(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The benchmark's Sobel strength and orientation of 255 x the image: ``conv2`` with its kernels, so
    x = -(our gx) and y = gy; orientation atan(y/x), pi/2 where x = 0."""
    gx, gy = sobel(255.0 * image)
    x = -gx
    angle = np.where(x == 0, np.pi / 2, np.arctan(gy / np.where(x == 0, 1.0, x)))
    return np.sqrt(x * x + gy * gy), angle


def _mefb_preservation(g_s: np.ndarray, a_s: np.ndarray, g_f: np.ndarray, a_f: np.ndarray) -> np.ndarray:
    """Q^SF of the benchmark's code: its strength ratio is g_F where g_S == g_F (0 where both are 0), not 1."""
    p = _CORRECTED
    safe_s, safe_f = np.where(g_s == 0, 1.0, g_s), np.where(g_f == 0, 1.0, g_f)
    strength = np.where(g_s > g_f, g_f / safe_s, np.where(g_s == g_f, g_f, g_s / safe_f))
    orientation = 1 - np.abs(a_s - a_f) / (np.pi / 2)
    q_g = p.gamma_g / (1 + np.exp(p.kappa_g * (strength - p.sigma_g)))
    q_a = p.gamma_a / (1 + np.exp(p.kappa_a * (orientation - p.sigma_a)))
    return q_g * q_a


def _qg_mefb(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """Q^AB/F as the MFIFB benchmark's ``metricsQabf.m`` computes it (see ``qg``)."""
    (g_a, a_a), (g_b, a_b), (g_f, a_f) = (memo("qg_mefb_edges", _mefb_edges, image) for image in (a, b, f))
    q_af, q_bf = _mefb_preservation(g_a, a_a, g_f, a_f), _mefb_preservation(g_b, a_b, g_f, a_f)
    total = np.sum(g_a + g_b)
    if total == 0:  # no gradient in either source (MATLAB: 0/0): every pixel weighs the same
        return float(np.mean(q_af + q_bf) / 2)
    return float(np.sum(q_af * g_a + q_bf * g_b) / total)


def qg(a: np.ndarray, b: np.ndarray, f: np.ndarray, variant: str = "corrected") -> float:
    """QG = Q^AB/F (Xydeas & Petrovic 2000): edge strength and orientation preserved in F, 0..1, higher is better.

    ``variant="corrected"`` (default; Yu Liu's toolbox, the values in the MFIF survey): Gamma_g = 0.9994,
    kappa_g = -15, sigma_g = 0.5, Gamma_a = 0.9879, kappa_a = -22, sigma_a = 0.8, orientation term
    A = 1 - 2|alpha_S - alpha_F|/pi, and one global ratio sum(Q^AF w_A + Q^BF w_B) / sum(w_A + w_B), w = g.
    ``variant="original"`` (Zheng Liu's first version): Gamma = 1, kappa_g = -10, kappa_a = -20,
    sigma_a = 0.75, A = |(|alpha_S - alpha_F|) - pi/2| 2/pi, and the mean of per-pixel ratios
    (Q^AF w_A + Q^BF w_B)/(w_A + w_B).
    ``variant="mefb"`` (the MFIFB benchmark): the corrected constants and global ratio, but on gradients of
    255 x the image, with orientation pi/2 where the x gradient is 0, no 1e-5 floors, and the strength ratio
    set to g_F (not 1) where g_S == g_F; if neither source has any gradient (MATLAB: NaN) every pixel weighs
    the same.

    Zero gradients: as in the toolbox, exact zeros of gx and of the magnitudes are replaced by 1e-5, so no
    ratio is ever 0/0; the toolbox's order of those replacements is kept, which makes swapping A and B
    change QG by up to ~1e-11 (see ``_preservation``). A pixel flat in both sources gets weights 1e-5 each; in the original variant its
    ratio is the plain mean (Q^AF + Q^BF)/2. The best possible value, reached by identical inputs and by
    three all-zero images, is Q_g(1) Q_alpha(1) = 0.97479 (corrected) or 0.98670 (original), not 1.
    """
    if variant not in ("corrected", "original", "mefb"):
        raise ValueError(f"variant: expected 'corrected', 'original' or 'mefb', got {variant!r}")
    a, b, f = gray_triple(a, b, f)
    if variant == "mefb":
        return _qg_mefb(a, b, f)
    original = variant == "original"
    params = _ORIGINAL if original else _CORRECTED
    (g_a, a_a), (g_b, a_b), (g_f, a_f) = (memo("qg_edges", _magnitude_and_angle, image) for image in (a, b, f))
    q_af = _preservation(g_a, a_a, g_f, a_f, params, original, raw_f=True)
    q_bf = _preservation(g_b, a_b, g_f, a_f, params, original, raw_f=False)
    w_a, w_b = _floor_zero(g_a), _floor_zero(g_b)
    if original:
        return float(np.mean((q_af * w_a + q_bf * w_b) / (w_a + w_b)))
    return float(np.sum(q_af * w_a + q_bf * w_b) / np.sum(w_a + w_b))
