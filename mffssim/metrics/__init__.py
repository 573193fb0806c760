"""Image-fusion quality metrics equal to the MATLAB toolboxes the field reports.

No reference (sources a, b and fused f): ``qmi``, ``qncie``, ``qg``, ``qp``, ``qe``, ``qy``, ``qcb``, ``qcv``
(Zheng Liu's toolbox as corrected in Yu Liu's MFIF survey), and the MFIFB benchmark's others: ``ag``, ``ce``,
``ei``, ``en``, ``fmi``, ``psnr_mfifb``, ``sd``, ``sf``, ``te``, ``qc``, ``qw``, ``vif``, ``ssim_mfifb``. Full
reference: ``psnr``, ``ssim``, ``fsim``. ``evaluate`` computes a chosen set for one fused image, for any number
of sources, under the survey's or the benchmark's convention (``mffssim.metrics.convention``).

Every metric accepts uint8, uint16 (taken as round(x / 257)) or float in [0, 1] (round(255 x)) images,
(H, W), (H, W, 1) or (H, W, 3); colour is reduced to gray with MATLAB's rounded ``rgb2gray``, as the
toolbox scripts do. Each returns a Python float. Definitions and the measured agreement with MATLAB are
in docs/metrics.md.
"""
from __future__ import annotations

from .convention import CONVENTIONS, LOWER_IS_BETTER, MFIFB_METRICS
from .evaluate import (ALL_NO_REFERENCE, FULL_REFERENCE, METRIC_NAMES, MFIFB_EXTRA, NO_REFERENCE, evaluate, load_features,
                       save_features, source_features)
from .fmi import fmi
from .fsim import fsim
from .gradient import qg
from .information import qmi, qncie, te
from .perceptual import qcb, qcv
from .qp import qp
from .reference import psnr, ssim
from .similarity import qc, qw, ssim_mfifb
from .statistics import ag, ce, ei, en, psnr_mfifb, sd, sf
from .structural import qe, qy
from .vif import vif

__all__ = [
    "ALL_NO_REFERENCE",
    "CONVENTIONS",
    "FULL_REFERENCE",
    "LOWER_IS_BETTER",
    "METRIC_NAMES",
    "MFIFB_EXTRA",
    "MFIFB_METRICS",
    "NO_REFERENCE",
    "ag",
    "ce",
    "ei",
    "en",
    "evaluate",
    "fmi",
    "fsim",
    "load_features",
    "psnr",
    "psnr_mfifb",
    "qc",
    "qcb",
    "qcv",
    "qe",
    "qg",
    "qmi",
    "qncie",
    "qp",
    "qw",
    "qy",
    "save_features",
    "sd",
    "sf",
    "source_features",
    "ssim",
    "ssim_mfifb",
    "te",
    "vif",
]
