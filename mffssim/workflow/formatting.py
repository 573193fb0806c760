"""Numbers as the workflow's tables print them: one home for the digits per metric and the text of a
missing value, used by the per-data-set tables, Table I, the summary and the ablation studies.

>>> format_metric(31.4159, "psnr"), format_metric(0.912345, "ssim"), format_metric(float("nan"), "qg")
('31.42', '0.9123', 'n/a')
"""
from __future__ import annotations

import math

DEFAULT_DIGITS = 4
METRIC_DIGITS = {"psnr": 2, "psnr_mfifb": 2, "ag": 3, "ei": 2, "sd": 2, "sf": 3}  # decimals where not DEFAULT_DIGITS
# (dB values are read to 0.01; AG, EI, SD and SF are grey-level magnitudes, tens and ones)
MISSING = "n/a"


def metric_digits(metric: str, default: int = DEFAULT_DIGITS) -> int:
    """The decimals a metric is printed with (``default`` for one without its own)."""
    return METRIC_DIGITS.get(metric, default)


def format_number(value, digits: int = DEFAULT_DIGITS, *, missing: str = MISSING, infinite: bool = False) -> str:
    """``value`` with ``digits`` decimals; ``missing`` for None and NaN, and for an infinity unless
    ``infinite`` (then ``inf`` / ``-inf``: PSNR of an image against itself)."""
    if value is None:
        return missing
    value = float(value)
    if math.isinf(value) and infinite:
        return "inf" if value > 0 else "-inf"
    if not math.isfinite(value):
        return missing
    return f"{value:.{digits}f}"


def format_metric(value, metric: str, default: int = DEFAULT_DIGITS) -> str:
    """``value`` of ``metric`` with the metric's digits (:func:`metric_digits`); ``n/a`` when not finite."""
    return format_number(value, metric_digits(metric, default))


def format_mean_std(mean, std, digits: int = DEFAULT_DIGITS) -> str:
    """``mean ± std`` (``mean`` alone when std is not finite; ``n/a`` when the mean is not)."""
    if not math.isfinite(float(mean)):
        return MISSING
    if not math.isfinite(float(std)):
        return format_number(mean, digits)
    return f"{format_number(mean, digits)} ± {format_number(std, digits)}"
