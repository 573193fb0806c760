"""``evaluate``: every requested quality metric of one fused image, as the workflow's metrics rule uses it.

No-reference metrics compare the fused image with its sources; the toolbox defines them for two sources.
For K > 2 sources a metric is the mean of its value over all K (K - 1) / 2 source pairs (i < j): it reduces
to the toolbox value for K = 2, treats every source alike, and keeps each metric's range and direction
(lower is still better for QCV). Full-reference metrics compare the fused image with the reference.
"""
from __future__ import annotations

from itertools import combinations
from typing import Callable, Sequence

import numpy as np

from .fsim import fsim
from .gradient import qg
from .information import qmi, qncie
from ._common import gray_255
from .perceptual import qcb, qcv
from .phasecong import PhaseCongruency, phase_congruency
from .qp import qp, qp_from_features
from .reference import psnr, ssim
from .structural import qe, qy

NO_REFERENCE: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], float]] = {
    "qmi": qmi,
    "qncie": qncie,
    "qg": qg,
    "qe": qe,
    "qy": qy,
    "qcb": qcb,
    "qcv": qcv,
    "qp": qp,
}
FULL_REFERENCE: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {"psnr": psnr, "ssim": ssim, "fsim": fsim}
METRIC_NAMES = tuple(FULL_REFERENCE) + tuple(NO_REFERENCE)


def _source_list(sources: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    """Sources as a list of K >= 2 arrays of one shape."""
    images = [np.asarray(image) for image in sources]
    if len(images) < 2:
        raise ValueError(f"sources: need at least 2 source images, got {len(images)}")
    for k, image in enumerate(images[1:], start=2):
        if image.shape != images[0].shape:
            raise ValueError(f"sources: source {k} has shape {image.shape}, source 1 has {images[0].shape}")
    return images


def source_features(sources: np.ndarray | Sequence[np.ndarray]) -> list[PhaseCongruency]:
    """The per-source features that ``evaluate`` can reuse across fused images of one image set: each
    source's phase congruency with its moments (what QP needs; the other metrics' source terms are cheap).

    Pass the result as ``evaluate(..., features=...)``; the values are the same as without it.
    """
    return [phase_congruency(gray_255(image, f"source {k}")) for k, image in enumerate(_source_list(sources), 1)]


def save_features(path, features: Sequence[PhaseCongruency]) -> None:
    """Write ``source_features`` to an ``.npz`` (float64 arrays, so reloading gives identical metrics)."""
    arrays = {}
    for k, pc in enumerate(features):
        arrays.update({f"pc_{k}": pc.pc, f"max_{k}": pc.max_moment, f"min_{k}": pc.min_moment})
    with open(path, "wb") as handle:
        np.savez(handle, n=np.array(len(features)), **arrays)


def load_features(path) -> list[PhaseCongruency]:
    """Read what ``save_features`` wrote."""
    with np.load(path) as data:
        return [PhaseCongruency(data[f"pc_{k}"], data[f"max_{k}"], data[f"min_{k}"]) for k in range(int(data["n"]))]


def _chosen(metrics: Sequence[str] | None, has_reference: bool) -> list[str]:
    """The metric names to compute, in order: all that apply when ``metrics`` is None or empty."""
    if not metrics:
        return list(FULL_REFERENCE if has_reference else ()) + list(NO_REFERENCE)
    if isinstance(metrics, str):
        raise ValueError(f"metrics: expected a list of names, got the string {metrics!r}")
    unknown = [name for name in metrics if name not in METRIC_NAMES]
    if unknown:
        raise ValueError(f"metrics: unknown name(s) {unknown}; valid names are {', '.join(METRIC_NAMES)}")
    names = list(dict.fromkeys(metrics))
    return [name for name in names if has_reference or name not in FULL_REFERENCE]


def evaluate(
    sources: np.ndarray | Sequence[np.ndarray],
    fused: np.ndarray,
    reference: np.ndarray | None = None,
    metrics: Sequence[str] | None = None,
    *,
    features: Sequence[PhaseCongruency] | None = None,
) -> dict[str, float]:
    """Quality metrics of ``fused`` as a dict name -> value (Python floats), in the order of ``metrics``.

    ``sources``: a (K, H, W, C) array or a list of K arrays (any input the metrics accept: uint8, uint16,
    float in [0, 1]; (H, W), (H, W, 1) or (H, W, 3)); ``fused`` and ``reference`` likewise, same H and W.
    ``metrics``: names from ``METRIC_NAMES``; None or empty means all that apply (the no-reference ones,
    plus psnr, ssim and fsim when a reference is given). Full-reference names are skipped when there is no
    reference, so one list serves data sets with and without ground truth. An unknown name raises a
    ValueError listing the valid ones. K > 2 sources: each no-reference metric is the mean over all source
    pairs (module docstring). ``features``: ``source_features(sources)``, computed once per image set and
    reused for each of its fused images (same values, less work).

    >>> import numpy as np
    >>> x = np.linspace(0, 1, 64 * 64).reshape(64, 64)
    >>> evaluate([x, x], x, metrics=["qmi", "psnr"])
    {'qmi': 2.0}
    """
    images = _source_list(sources)
    fused = np.asarray(fused)
    if fused.shape[:2] != images[0].shape[:2]:
        raise ValueError(f"fused: size {fused.shape[:2]} differs from the sources' {images[0].shape[:2]}")
    if reference is not None:
        reference = np.asarray(reference)
        if reference.shape[:2] != fused.shape[:2]:
            raise ValueError(f"reference: size {reference.shape[:2]} differs from the fused image's {fused.shape[:2]}")
    if features is not None and len(features) != len(images):
        raise ValueError(f"features: {len(features)} sources' features for {len(images)} sources")
    results: dict[str, float] = {}
    for name in _chosen(metrics, reference is not None):
        if name in FULL_REFERENCE:
            results[name] = float(FULL_REFERENCE[name](reference, fused))
        elif name == "qp" and features is not None:  # sizes were checked above (one shape for all sources)
            pf = phase_congruency(gray_255(fused, "f"))
            values = [qp_from_features(pa, pb, pf) for pa, pb in combinations(features, 2)]
            results[name] = float(np.mean(values))
        else:
            metric = NO_REFERENCE[name]
            values = [metric(a, b, fused) for a, b in combinations(images, 2)]
            results[name] = float(np.mean(values))
    return results
