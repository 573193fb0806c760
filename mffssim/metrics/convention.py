"""The two conventions a table's metrics can follow: the MFIF survey's toolbox (``survey``) or the MFIFB
benchmark's code (``mfifb``, MEFB's ``metrics*.m``).

``survey``: every metric sees MATLAB's rounded ``rgb2gray`` luminance of colour images (the toolbox's scripts),
and QG is Yu Liu's corrected Q^AB/F.

``mfifb``: every metric is computed on R, G and B separately and the three values are averaged (the wrapper each
of the benchmark's ``metrics*.m`` files has); QG is the benchmark's own Q^AB/F (``qg(..., variant="mefb")``).
Two gray sources with a colour fused image: the fused image's first channel is scored, except by AG, which
averages the gradient of the fused image's unrounded ``rgb2gray`` (weights 0.298936 / 0.587043 / 0.114021).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ._common import RGB2GRAY_WEIGHTS, check_same_shape, to_255

CONVENTIONS = ("survey", "mfifb")
# what each convention means, in the line a table or ranking names it with
CONVENTION_NOTES = {"survey": "the MFIF survey's toolbox, on the luminance",
                    "mfifb": "the MFIFB benchmark's code, per colour channel"}
# the MFIFB benchmark's 20 metrics, in the order of its tables (AG, CE, EI, EN, NMI, FMI, PSNR, Qab/f, Qcb,
# Qcv, Qc, Qncie, Qp, Qw, Qy, SF, SD, TE, SSIM, VIF)
MFIFB_METRICS = ("ag", "ce", "ei", "en", "qmi", "fmi", "psnr_mfifb", "qg", "qcb", "qcv", "qc", "qncie", "qp", "qw",
                 "qy", "sf", "sd", "te", "ssim_mfifb", "vif")
# the metrics whose lower values are better (every other one: higher is better)
LOWER_IS_BETTER = frozenset({"qcv", "ce"})


def convention_line(convention: str) -> str:
    """The sentence a table or ranking names its metrics' convention with."""
    return f"Metrics convention: `{convention}` ({CONVENTION_NOTES[check_convention(convention)]})."


def check_convention(convention: str) -> str:
    """``convention`` itself, or a ValueError naming the valid ones."""
    if convention not in CONVENTIONS:
        raise ValueError(f"convention: expected one of {', '.join(CONVENTIONS)}, got {convention!r}")
    return convention


def fused_gray_mfifb(fused255: np.ndarray) -> np.ndarray:
    """The benchmark's AG input for a colour fused image of gray sources: MATLAB ``rgb2gray`` of the double
    image, which (unlike on uint8) is not rounded."""
    return fused255 @ RGB2GRAY_WEIGHTS


def channel_triples(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The gray uint8 triples the benchmark scores for one colour or gray triple: one per channel of F.

    Gray sources with a colour F give one triple with F's first channel. Colour sources need a colour F, and a
    gray and a colour source cannot be mixed (the benchmark's code fails there): both raise a ValueError.
    """
    a, b, f = to_255(a, "a"), to_255(b, "b"), to_255(f, "f")
    check_same_shape(a, b, f, names=("a", "b", "f"))
    if a.ndim != b.ndim:
        raise ValueError(f"b: {'colour' if b.ndim == 3 else 'gray'} source with a "
                         f"{'colour' if a.ndim == 3 else 'gray'} source a (the mfifb convention needs both alike)")
    if a.ndim == 3 and f.ndim == 2:
        raise ValueError("f: gray fused image of colour sources (the mfifb convention scores channel by channel)")
    if f.ndim == 3 and a.ndim == 2:
        f = f[:, :, 0]
    triples = [(a, b, f)] if f.ndim == 2 else [(a[:, :, k], b[:, :, k], f[:, :, k]) for k in range(3)]
    return [tuple(x.astype(np.uint8) for x in triple) for triple in triples]


def per_channel(metric: Callable[[np.ndarray, np.ndarray, np.ndarray], float], a: np.ndarray, b: np.ndarray,
                f: np.ndarray) -> float:
    """``metric`` under the mfifb convention: the mean of its values on :func:`channel_triples`."""
    return float(np.mean([metric(*triple) for triple in channel_triples(a, b, f)]))
