"""Tables like the paper's Table I: per-image metrics aggregated to methods x metrics (mean, std), best marked.

The workflow writes one ``metrics.json`` per image set (every method's metrics); :func:`read_metrics` collects them,
:func:`summarise` aggregates per method, :func:`to_markdown` renders the table with the best value
of each column in bold (lower is better for QCV and CE), and :func:`write_table` writes the csv and markdown.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from mffssim.io import atomic_write
from mffssim.metrics.convention import LOWER_IS_BETTER
from mffssim.workflow.formatting import format_mean_std, metric_digits

# canonical column order (full-reference first, then the MFF-SSIM index, then no-reference metrics)
METRIC_ORDER = ("psnr", "ssim", "fsim", "mffssim", "qmi", "qncie", "qg", "qe", "qy", "qcb", "qcv", "qp", "ag", "ce", "ei",
                "en", "fmi", "psnr_mfifb", "qc", "qw", "sd", "sf", "te", "ssim_mfifb", "vif")
METRIC_LABELS = {
    "psnr": "PSNR (dB)",
    "ssim": "SSIM",
    "fsim": "FSIM",
    "mffssim": "MFF-SSIM Q",
    "qmi": "QMI",
    "qncie": "QNCIE",
    "qg": "QG",
    "qe": "QE",
    "qy": "QY",
    "qcb": "QCB",
    "qcv": "QCV",
    "qp": "QP",
    "ag": "AG",
    "ce": "CE",
    "ei": "EI",
    "en": "EN",
    "fmi": "FMI",
    "psnr_mfifb": "PSNR (MFIFB)",
    "qc": "QC",
    "qw": "QW",
    "sd": "SD",
    "sf": "SF",
    "te": "TE",
    "ssim_mfifb": "SSIM (MFIFB)",
    "vif": "VIF",
}


def read_metrics(paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """Read per-set ``metrics.json`` files (``{"set": id, "methods": {method: {metric: value}}}``) into a
    long table with columns ``set``, ``method``, ``metric``, ``value``. Raises ``ValueError`` naming a bad file."""
    rows = []
    for path in paths:
        path = Path(path)
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"{path}: cannot read metrics ({error})") from None
        if not isinstance(record, dict) or not {"set", "methods"} <= set(record):
            raise ValueError(f"{path}: expected keys 'set' and 'methods'")
        if not isinstance(record["methods"], dict):
            raise ValueError(f"{path}: 'methods' must map method names to {{metric: value}}")
        for method, values in record["methods"].items():
            if not isinstance(values, dict):
                raise ValueError(f"{path}: method {method!r} must map metric names to numbers")
            for metric, value in values.items():
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    raise ValueError(f"{path}: method {method!r}, metric {metric!r} is not a number: {value!r}")
                rows.append((str(record["set"]), str(method), str(metric), float(value)))
    return pd.DataFrame(rows, columns=["set", "method", "metric", "value"])


def _metric_key(metric: str) -> tuple[int, str]:
    return (METRIC_ORDER.index(metric), "") if metric in METRIC_ORDER else (len(METRIC_ORDER), metric)


def summarise(records: pd.DataFrame, methods: Sequence[str] | None = None) -> pd.DataFrame:
    """Aggregate a long table (:func:`read_metrics`) to one row per method.

    Columns: ``n`` (image sets), then ``<metric>_mean`` and ``<metric>_std`` (sample standard deviation,
    NaN for a single set) per metric in canonical order. Rows follow ``methods`` when given (methods
    without records are an error), else first appearance.
    """
    missing = {"set", "method", "metric", "value"} - set(records.columns)
    if missing:
        raise ValueError(f"records lack column(s) {sorted(missing)}")
    if records.empty:
        raise ValueError("no metric records to summarise")
    present = list(dict.fromkeys(records["method"]))
    if methods is None:
        methods = present
    absent = [m for m in methods if m not in present]
    if absent:
        raise ValueError(f"no metric records for method(s) {absent}")
    duplicated = records.duplicated(["set", "method", "metric"])
    if duplicated.any():
        first = records[duplicated].iloc[0]
        raise ValueError(f"duplicate record for set {first['set']!r}, method {first['method']!r}, metric {first['metric']!r}")
    grouped = records.groupby(["method", "metric"])["value"]
    stats = grouped.agg(mean=lambda v: v.mean(skipna=False), std=lambda v: v.std(ddof=1, skipna=False))
    metrics = sorted(records["metric"].unique(), key=_metric_key)
    table = pd.DataFrame(index=pd.Index(list(methods), name="method"))
    table["n"] = records.groupby("method")["set"].nunique().reindex(table.index).astype(int)
    for metric in metrics:
        for stat in ("mean", "std"):
            column = stats[stat].xs(metric, level="metric") if metric in stats.index.get_level_values("metric") else None
            table[f"{metric}_{stat}"] = column.reindex(table.index) if column is not None else np.nan
    return table


def table_metrics(summary: pd.DataFrame) -> list[str]:
    """The metric names of a summary table, in column order."""
    return [c[: -len("_mean")] for c in summary.columns if c.endswith("_mean")]


def best_methods(summary: pd.DataFrame) -> dict[str, list[str]]:
    """For each metric, the method(s) with the best mean (highest; lowest for QCV and CE). Ties are all returned."""
    best = {}
    for metric in table_metrics(summary):
        means = summary[f"{metric}_mean"].astype(float)
        finite = means[np.isfinite(means)]
        if finite.empty:
            best[metric] = []
            continue
        target = finite.min() if metric in LOWER_IS_BETTER else finite.max()
        best[metric] = [m for m, v in finite.items() if math.isclose(v, target, rel_tol=1e-12, abs_tol=0.0)]
    return best


def to_markdown(summary: pd.DataFrame, *, digits: int = 4) -> str:
    """Render a summary as a markdown table: mean ± std per cell, the best of each column in bold."""
    metrics = table_metrics(summary)
    best = best_methods(summary)
    header = ["method", "n"] + [
        METRIC_LABELS.get(m, m) + (" ↓" if m in LOWER_IS_BETTER else " ↑") for m in metrics
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * len(metrics)) + "|"]
    for method, row in summary.iterrows():
        cells = [str(method), str(int(row["n"]))]
        for metric in metrics:
            text = format_mean_std(float(row[f"{metric}_mean"]), float(row[f"{metric}_std"]), metric_digits(metric, digits))
            cells.append(f"**{text}**" if method in best[metric] else text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def skipped_markdown(skipped: Mapping[str, str] | None) -> str:
    """The configured methods a table leaves out, one markdown line each with the reason ("" when none).

    >>> print(skipped_markdown({"enfuse": "the enfuse program is not on PATH"}), end="")
    Configured methods not in this table:
    <BLANKLINE>
    - `enfuse`: the enfuse program is not on PATH
    """
    if not skipped:
        return ""
    lines = ["Configured methods not in this table:", ""] + [f"- `{m}`: {reason}" for m, reason in skipped.items()]
    return "\n".join(lines) + "\n"


def read_scene_warnings(paths: Iterable[str | os.PathLike]) -> dict[str, str]:
    """The same-scene check's warning of each set whose ``metrics.json`` holds one (key ``scene``), by set id."""
    warnings = {}
    for path in paths:
        record = json.loads(Path(path).read_text())
        if record.get("scene"):
            warnings[str(record["set"])] = str(record["scene"])
    return warnings


def scene_markdown(warnings: Mapping[str, str] | None) -> str:
    """The sets whose sources do not look like one scene (:mod:`mffssim.scene`), one markdown line each with
    the check's warning ("" when none).

    >>> print(scene_markdown({"s1": "b.png: does not look like the same scene as a.png (scene score 0.07, below 0.50)"}), end="")
    Sets whose sources do not look like one scene (fused all the same; their rows mean little):
    <BLANKLINE>
    - `s1`: b.png: does not look like the same scene as a.png (scene score 0.07, below 0.50)
    """
    if not warnings:
        return ""
    lines = ["Sets whose sources do not look like one scene (fused all the same; their rows mean little):", ""]
    return "\n".join(lines + [f"- `{s}`: {warning}" for s, warning in warnings.items()]) + "\n"


def write_table(summary: pd.DataFrame, csv_path: str | os.PathLike, md_path: str | os.PathLike, *, title: str | None = None,
                skipped: Mapping[str, str] | None = None, scenes: Mapping[str, str] | None = None) -> None:
    """Write a summary as csv (numbers, plus a ``best`` column naming the metrics each method wins) and as
    markdown (:func:`to_markdown`, under an optional title, then the configured methods ``skipped``, with
    their reasons: :func:`skipped_markdown`, and the sets whose sources do not look like one scene, with the
    check's warning: :func:`scene_markdown`), atomically."""
    best = best_methods(summary)
    table = summary.copy()
    table["best"] = [";".join(m for m in table_metrics(summary) if method in best[m]) for method in table.index]
    atomic_write(csv_path, lambda tmp: table.to_csv(tmp, float_format="%.10g"))
    text = (f"# {title}\n\n" if title else "") + to_markdown(summary)
    notes = "\nmean ± sample std over n image sets; best of each column in bold (↑ higher is better, ↓ lower).\n"
    if skipped:
        notes += "\n" + skipped_markdown(skipped)
    if scenes:
        notes += "\n" + scene_markdown(scenes)
    atomic_write(md_path, lambda tmp: Path(tmp).write_text(text + notes))
