"""QG, the gradient-based Q^AB/F of Xydeas & Petrovic (2000), as in the toolbox's ``metricXydeas``.

Two variants: ``"corrected"`` (Yu Liu's 2019 correction, used by the MFIF survey and by its MATLAB tables)
and ``"original"`` (Zheng Liu's first version). Gradients are exact Sobel correlations with zero padding;
an FFT would change the exact-zero tests below.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._common import gray_triple, sobel

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

    ``raw_f``: the ratio g_F / g_S (where S is stronger) uses F's magnitude before its zeros become 1e-5.
    The toolbox does so for source A only (it floors g_F between the A and B blocks): where g_F = 0 < g_S,
    G^AF = 0 but G^BF = 1e-5 / g_B. That keeps the MATLAB values to 2e-15 instead of 1e-11, and makes QG
    symmetric in A and B only to about 1e-11.
    """
    stronger = g_s > g_f
    g_s, g_f_floored = _floor_zero(g_s), _floor_zero(g_f)
    strength = np.where(stronger, (g_f if raw_f else g_f_floored) / g_s, g_s / g_f_floored)
    difference = np.abs(a_s - a_f)
    if original:
        orientation = np.abs(difference - np.pi / 2) * 2 / np.pi
    else:
        orientation = 1 - difference * 2 / np.pi
    q_g = p.gamma_g / (1 + np.exp(p.kappa_g * (strength - p.sigma_g)))
    q_a = p.gamma_a / (1 + np.exp(p.kappa_a * (orientation - p.sigma_a)))
    return q_g * q_a


def qg(a: np.ndarray, b: np.ndarray, f: np.ndarray, variant: str = "corrected") -> float:
    """QG = Q^AB/F (Xydeas & Petrovic 2000): edge strength and orientation preserved in F, 0..1, higher is better.

    ``variant="corrected"`` (default; Yu Liu's toolbox, the values in the MFIF survey): Gamma_g = 0.9994,
    kappa_g = -15, sigma_g = 0.5, Gamma_a = 0.9879, kappa_a = -22, sigma_a = 0.8, orientation term
    A = 1 - 2|alpha_S - alpha_F|/pi, and one global ratio sum(Q^AF w_A + Q^BF w_B) / sum(w_A + w_B), w = g.
    ``variant="original"`` (Zheng Liu's first version): Gamma = 1, kappa_g = -10, kappa_a = -20,
    sigma_a = 0.75, A = |(|alpha_S - alpha_F|) - pi/2| 2/pi, and the mean of per-pixel ratios
    (Q^AF w_A + Q^BF w_B)/(w_A + w_B).

    Zero gradients: as in the toolbox, exact zeros of gx and of the magnitudes are replaced by 1e-5, so no
    ratio is ever 0/0; the toolbox's order of those replacements is kept, which makes swapping A and B
    change QG by up to ~1e-11 (see ``_preservation``). A pixel flat in both sources gets weights 1e-5 each; in the original variant its
    ratio is the plain mean (Q^AF + Q^BF)/2. The best possible value, reached by identical inputs and by
    three all-zero images, is Q_g(1) Q_alpha(1) = 0.97479 (corrected) or 0.98670 (original), not 1.
    """
    if variant not in ("corrected", "original"):
        raise ValueError(f"variant: expected 'corrected' or 'original', got {variant!r}")
    original = variant == "original"
    params = _ORIGINAL if original else _CORRECTED
    a, b, f = gray_triple(a, b, f)
    (g_a, a_a), (g_b, a_b), (g_f, a_f) = (_magnitude_and_angle(image) for image in (a, b, f))
    q_af = _preservation(g_a, a_a, g_f, a_f, params, original, raw_f=True)
    q_bf = _preservation(g_b, a_b, g_f, a_f, params, original, raw_f=False)
    w_a, w_b = _floor_zero(g_a), _floor_zero(g_b)
    if original:
        return float(np.mean((q_af * w_a + q_bf * w_b) / (w_a + w_b)))
    return float(np.sum(q_af * w_a + q_bf * w_b) / np.sum(w_a + w_b))
