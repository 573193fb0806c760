"""VIFF, the visual-information-fidelity fusion metric of Han et al. (Information Fusion 14(2), 2013), as the
authors' MATLAB code (shipped with the MFIFB benchmark as ``metricsVIF.m``) computes it.

Per source S and scale (4 scales, Gaussian windows of 17, 9, 5, 3 taps with sigma = taps / 5, 'valid' filtering,
every other pixel kept between scales), Sheikh & Bovik's Gaussian-scale-mixture channel model gives the gain g,
the distortion variance and from them the visual information with (VID) and without (VIND) distortion. At each
position the source with the smaller gain is kept; a scale's fidelity is sum(VID + C) / sum(VIND + C), and VIFF is
their weighted sum with weights (1, 0, 0.15, 1) / 2.15.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._checks import check_image_size
from ._common import gray_triple, local_mean

_NOISE = 0.005 * 255.0 * 255.0  # the visual noise variance sigma_n^2
_C = 1e-7
_WEIGHTS = np.array([1.0, 0.0, 0.15, 1.0]) / 2.15
_TINY = 1e-10


def _taps(size: int) -> np.ndarray:
    """1-D factor of the normalised ``fspecial('gaussian', size, size / 5)``."""
    x = np.arange(size) - (size - 1) / 2
    taps = np.exp(-(x * x) / (2 * (size / 5.0) ** 2))
    return taps / taps.sum()


_SCALES = tuple(_taps(2 ** (4 - k) + 1) for k in range(4))  # 17, 9, 5 and 3 taps


class _Scale(NamedTuple):
    """One scale's maps of a (source, fused) pair."""

    vid: np.ndarray
    vind: np.ndarray
    gain: np.ndarray


def _channel_model(ref: np.ndarray, dist: np.ndarray) -> list[_Scale]:
    """The per-scale VID, VIND and gain maps of source ``ref`` and fused ``dist`` (the code's ``ComVidVindG``)."""
    scales = []
    for k, taps in enumerate(_SCALES):
        if k > 0:
            ref, dist = local_mean(ref, taps)[::2, ::2], local_mean(dist, taps)[::2, ::2]
        mu1, mu2 = local_mean(ref, taps), local_mean(dist, taps)
        var1 = np.maximum(local_mean(ref * ref, taps) - mu1 * mu1, 0.0)
        var2 = np.maximum(local_mean(dist * dist, taps) - mu2 * mu2, 0.0)
        cov = local_mean(ref * dist, taps) - mu1 * mu2
        gain = cov / (var1 + _TINY)
        noise = var2 - gain * cov
        flat_ref = var1 < _TINY
        gain[flat_ref], noise[flat_ref], var1[flat_ref] = 0.0, var2[flat_ref], 0.0
        flat_dist = var2 < _TINY
        gain[flat_dist], noise[flat_dist] = 0.0, 0.0
        negative = gain < 0
        noise[negative], gain[negative] = var2[negative], 0.0
        noise = np.maximum(noise, _TINY)
        vid = np.log10(1 + gain * gain * var1 / (noise + _NOISE))
        vind = np.log10(1 + var1 / _NOISE)
        scales.append(_Scale(vid, vind, gain))
    return scales


def vif(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """VIFF (Han et al. 2013): visual information fidelity of F to the sources, 0..~1, higher is better.

    Module docstring for the model. The noise threshold 1e-10 and the flooring of negative variances are the
    authors' code's. Images need at least 41 x 41 pixels (the smallest whose four scales all have a window).
    """
    a, b, f = gray_triple(a, b, f)
    check_image_size(a, 41, "VIF")
    fidelity = []
    for one, two in zip(_channel_model(a, f), _channel_model(b, f)):
        first = one.gain < two.gain
        vid = np.where(first, one.vid, two.vid)
        vind = np.where(first, one.vind, two.vind)
        fidelity.append(np.sum(vid + _C) / np.sum(vind + _C))
    return float(np.dot(fidelity, _WEIGHTS))
