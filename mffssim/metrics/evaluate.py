"""``evaluate``: every requested quality metric of one fused image, as the workflow's metrics rule uses it.

Two conventions (``mffssim.metrics.convention``): ``survey`` (the MFIF survey's toolbox: gray luminance,
corrected QG; the default) and ``mfifb`` (the MFIFB benchmark's code: every no-reference metric per colour
channel, its own Q^AB/F). Full-reference metrics are the same under both.

No-reference metrics compare the fused image with its sources; the toolbox defines them for two sources.
For K > 2 sources a metric is the mean of its value over all K (K - 1) / 2 source pairs (i < j): it reduces
to the toolbox value for K = 2, treats every source alike, and keeps each metric's range and direction
(lower is still better for QCV). Full-reference metrics compare the fused image with the reference.
"""
from __future__ import annotations

from functools import partial
from itertools import combinations
from typing import Callable, Sequence

import numpy as np

from ._common import gray_255, to_255
from ._memo import freeze
from .convention import MFIFB_METRICS, channel_triples, check_convention, fused_gray_mfifb, per_channel
from .fmi import THINNING, fmi
from .fsim import fsim
from .gradient import qg
from .information import qmi, qncie, te
from .perceptual import qcb, qcv
from .phasecong import PhaseCongruency, phase_congruency
from .qp import qp, qp_from_features
from .reference import psnr, ssim
from .similarity import qc, qw, ssim_mfifb
from .statistics import ag, average_gradient, ce, ei, en, psnr_mfifb, sd, sf
from .structural import qe, qy
from .vif import vif

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
# the MFIFB benchmark's metrics that the survey's toolbox lacks (no reference; not in the survey's default set)
MFIFB_EXTRA: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], float]] = {
    "ag": ag,
    "ce": ce,
    "ei": ei,
    "en": en,
    "fmi": fmi,
    "psnr_mfifb": psnr_mfifb,
    "sd": sd,
    "sf": sf,
    "te": te,
    "qc": qc,
    "qw": qw,
    "vif": vif,
    "ssim_mfifb": ssim_mfifb,
}
FULL_REFERENCE: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {"psnr": psnr, "ssim": ssim, "fsim": fsim}
ALL_NO_REFERENCE = {**NO_REFERENCE, **MFIFB_EXTRA}
METRIC_NAMES = tuple(FULL_REFERENCE) + tuple(NO_REFERENCE) + tuple(MFIFB_EXTRA)
# Sources' features as ``source_features`` returns them: one PhaseCongruency per source (survey: of its
# luminance) or one list of them per source (mfifb: one per channel)
Features = Sequence[PhaseCongruency] | Sequence[Sequence[PhaseCongruency]]


def _source_list(sources: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    """Sources as a list of K >= 2 arrays of one shape."""
    images = [np.asarray(image) for image in sources]
    if len(images) < 2:
        raise ValueError(f"sources: need at least 2 source images, got {len(images)}")
    for k, image in enumerate(images[1:], start=2):
        if image.shape != images[0].shape:
            raise ValueError(f"sources: source {k} has shape {image.shape}, source 1 has {images[0].shape}")
    return images


def _channels(image: np.ndarray, name: str) -> list[np.ndarray]:
    """The 2-D planes the mfifb convention scores of one source: its channels (colour) or itself (gray)."""
    array = to_255(image, name)
    return [array] if array.ndim == 2 else [array[:, :, k] for k in range(3)]


def source_features(sources: np.ndarray | Sequence[np.ndarray], convention: str = "survey") -> list:
    """The per-source features that ``evaluate`` can reuse across fused images of one image set: each
    source's phase congruency with its moments (what QP needs; the other metrics' source terms are cheap),
    of its luminance (``survey``) or of each of its channels (``mfifb``: a list per source).

    Pass the result as ``evaluate(..., features=..., convention=...)`` with the same convention; the values
    are the same as without it.
    """
    images = enumerate(_source_list(sources), 1)
    if check_convention(convention) == "survey":
        return [phase_congruency(gray_255(image, f"source {k}")) for k, image in images]
    return [[phase_congruency(plane) for plane in _channels(image, f"source {k}")] for k, image in images]


def save_features(path, features: Features) -> None:
    """Write ``source_features`` to an ``.npz`` (float64 arrays, so reloading gives identical metrics)."""
    arrays = {}
    nested = bool(features) and not isinstance(features[0], PhaseCongruency)
    for k, per_source in enumerate(features):
        for c, pc in enumerate(per_source if nested else [per_source]):
            key = f"{k}_{c}" if nested else f"{k}"
            arrays.update({f"pc_{key}": pc.pc, f"max_{key}": pc.max_moment, f"min_{key}": pc.min_moment})
        if nested:
            arrays[f"channels_{k}"] = np.array(len(per_source))
    with open(path, "wb") as handle:
        np.savez(handle, n=np.array(len(features)), **arrays)


def load_features(path) -> list:
    """Read what ``save_features`` wrote (a list per source where it holds one entry per channel)."""
    def read(data, key: str) -> PhaseCongruency:
        return PhaseCongruency(data[f"pc_{key}"], data[f"max_{key}"], data[f"min_{key}"])

    with np.load(path) as data:
        n = int(data["n"])
        if "channels_0" in data:
            return [[read(data, f"{k}_{c}") for c in range(int(data[f"channels_{k}"]))] for k in range(n)]
        return [read(data, f"{k}") for k in range(n)]


def _chosen(metrics: Sequence[str] | None, has_reference: bool, convention: str = "survey") -> list[str]:
    """The metric names to compute, in order: all that apply when ``metrics`` is None or empty (the survey's
    toolbox set, or the MFIFB benchmark's 20 metrics under ``mfifb``)."""
    if not metrics:
        default = NO_REFERENCE if convention == "survey" else MFIFB_METRICS
        return list(FULL_REFERENCE if has_reference else ()) + list(default)
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
    features: Features | None = None,
    convention: str = "survey",
    fmi_thinning: str = "matlab",
) -> dict[str, float]:
    """Quality metrics of ``fused`` as a dict name -> value (Python floats), in the order of ``metrics``.

    ``sources``: a (K, H, W, C) array or a list of K arrays (any input the metrics accept: uint8, uint16,
    float in [0, 1]; (H, W), (H, W, 1) or (H, W, 3)); ``fused`` and ``reference`` likewise, same H and W.
    ``metrics``: names from ``METRIC_NAMES``; None or empty means all that apply (the survey's no-reference
    ones, or under ``convention="mfifb"`` the MFIFB benchmark's 20, plus psnr, ssim and fsim when a
    reference is given). ``convention``: "survey" or "mfifb" (module docstring); ``fmi_thinning``: FMI's
    edge thinning, "matlab" or "octave" (``mffssim.metrics.fmi``). Full-reference names are skipped when there is no
    reference, so one list serves data sets with and without ground truth. An unknown name raises a
    ValueError listing the valid ones. K > 2 sources: each no-reference metric is the mean over all source
    pairs (module docstring). ``features``: ``source_features(sources)``, computed once per image set and
    reused for each of its fused images (same values, less work), with the same ``convention``.

    >>> import numpy as np
    >>> x = np.linspace(0, 1, 64 * 64).reshape(64, 64)
    >>> evaluate([x, x], x, metrics=["qmi", "psnr"])
    {'qmi': 2.0}
    """
    check_convention(convention)
    if fmi_thinning not in THINNING:
        raise ValueError(f"fmi_thinning: expected 'matlab' or 'octave', got {fmi_thinning!r}")
    # frozen copies: the memo then hashes each input once per call, not once per metric (``_memo``)
    images = [freeze(image) for image in _source_list(sources)]
    fused = freeze(np.asarray(fused))
    if fused.shape[:2] != images[0].shape[:2]:
        raise ValueError(f"fused: size {fused.shape[:2]} differs from the sources' {images[0].shape[:2]}")
    if reference is not None:
        reference = np.asarray(reference)
        if reference.shape[:2] != fused.shape[:2]:
            raise ValueError(f"reference: size {reference.shape[:2]} differs from the fused image's {fused.shape[:2]}")
    if features is not None:
        _check_features(features, len(images), convention)
    results: dict[str, float] = {}
    for name in _chosen(metrics, reference is not None, convention):
        if name in FULL_REFERENCE:
            results[name] = float(FULL_REFERENCE[name](reference, fused))
        elif name == "qp" and features is not None:  # sizes were checked above (one shape for all sources)
            results[name] = _qp_cached(features, images[0], fused, convention)
        else:
            metric = _no_reference(name, convention, fmi_thinning)
            values = [metric(a, b, fused) for a, b in combinations(images, 2)]
            results[name] = float(np.mean(values))
    return results


def _check_features(features: Features, n_sources: int, convention: str) -> None:
    """A ValueError when ``features`` do not fit the sources or were made under the other convention."""
    if len(features) != n_sources:
        raise ValueError(f"features: {len(features)} sources' features for {n_sources} sources")
    per_channel_made = not isinstance(features[0], PhaseCongruency)
    if per_channel_made != (convention == "mfifb"):
        made = "mfifb" if per_channel_made else "survey"
        raise ValueError(f"features: computed under the {made} convention, used under {convention}")


def _qp_cached(features: Features, source: np.ndarray, fused: np.ndarray, convention: str) -> float:
    """QP from the sources' cached phase congruency: of the luminance, or per channel (mfifb; ``source``, any
    one source, tells which channels of ``fused`` are scored)."""
    if convention == "survey":
        pf = phase_congruency(gray_255(fused, "f"))
        return float(np.mean([qp_from_features(pa, pb, pf) for pa, pb in combinations(features, 2)]))
    fused_pcs = [phase_congruency(f.astype(np.float64)) for _, _, f in channel_triples(source, source, fused)]
    values = [np.mean([qp_from_features(*pcs) for pcs in zip(pa, pb, fused_pcs)]) for pa, pb in combinations(features, 2)]
    return float(np.mean(values))


def _no_reference(name: str, convention: str, fmi_thinning: str) -> Callable[[np.ndarray, np.ndarray, np.ndarray], float]:
    """The function computing no-reference metric ``name`` of one source pair under ``convention``."""
    metric = ALL_NO_REFERENCE[name]
    if name == "fmi":
        metric = partial(fmi, thinning=fmi_thinning)
    if convention == "survey":
        return metric
    if name == "qg":
        return partial(per_channel, partial(qg, variant="mefb"))
    if name == "ag":
        return _ag_mfifb
    return partial(per_channel, metric)


def _ag_mfifb(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """AG under the mfifb convention: per channel, but the unrounded rgb2gray of a colour F of gray sources."""
    fused = to_255(f, "f")
    if fused.ndim == 3 and to_255(a, "a").ndim == 2:
        channel_triples(a, b, f)  # the same checks as every other metric
        return average_gradient(fused_gray_mfifb(fused))
    return per_channel(ag, a, b, f)
