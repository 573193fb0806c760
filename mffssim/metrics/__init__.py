"""Image-fusion quality metrics equal to the MATLAB toolboxes the field reports.

No reference (sources a, b and fused f): ``qmi``, ``qncie``, ``qg``, ``qp``, ``qe``, ``qy``, ``qcb``, ``qcv``
(Zheng Liu's toolbox as corrected in Yu Liu's MFIF survey). Full reference: ``psnr``, ``ssim``, ``fsim``.
``evaluate`` computes a chosen set for one fused image, for any number of sources.

Every metric accepts uint8, uint16 (taken as round(x / 257)) or float in [0, 1] (round(255 x)) images,
(H, W), (H, W, 1) or (H, W, 3); colour is reduced to gray with MATLAB's rounded ``rgb2gray``, as the
toolbox scripts do. Each returns a Python float. Definitions and the measured agreement with MATLAB are
in docs/metrics.md.
"""
from __future__ import annotations

from .evaluate import FULL_REFERENCE, METRIC_NAMES, NO_REFERENCE, evaluate, load_features, save_features, source_features
from .fsim import fsim
from .gradient import qg
from .information import qmi, qncie
from .perceptual import qcb, qcv
from .qp import qp
from .reference import psnr, ssim
from .structural import qe, qy

__all__ = [
    "FULL_REFERENCE",
    "METRIC_NAMES",
    "NO_REFERENCE",
    "evaluate",
    "fsim",
    "load_features",
    "psnr",
    "qcb",
    "qcv",
    "qe",
    "qg",
    "qmi",
    "qncie",
    "qp",
    "qy",
    "save_features",
    "source_features",
    "ssim",
]
