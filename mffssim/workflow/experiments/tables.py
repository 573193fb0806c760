"""Table I of the paper per data set, with the paper's own MFFW numbers beside ours, and the K > 2 table and
figure (Fig. 12).

The workflow scores every fused image once (``results/<dataset>/<set>/metrics.json``, rule ``metrics``);
:func:`table1` aggregates the two-source sets of a data set with :func:`mffssim.workflow.tables.summarise` and
:func:`table1_markdown` renders it in the paper's layout: methods as rows; reference-based metrics (PSNR,
SSIM, FSIM), then no-reference ones (NMI, Xydeas, Chen-Blum), then the MFF-SSIM index; the best value of a
column in bold and the second best in italics (the paper underlines it). For MFFW the paper's MS-Lap and
MS-ResNet rows (over its 13 pairs) are printed beside ours (over the pairs we have), with our metrics of
the authors' published images as the bridge between the two.

Metric names: the paper's NMI is our ``qmi``, Xydeas is ``qg`` (Q^AB/F), Chen-Blum is ``qcb``.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from mffssim import registry
from mffssim.io import atomic_write, save_figure
from mffssim.metrics.convention import convention_line
from mffssim.workflow.formatting import format_metric
from mffssim.workflow.tables import LOWER_IS_BETTER, skipped_markdown, summarise, table_metrics

# The paper's Table I (MFFW, 13 pairs): MOS, PSNR (dB), SSIM, FSIM against the dataset's manual fusions;
# NMI, Xydeas, Chen-Blum without reference. Keys are our metric names.
PAPER_TABLE1 = {
    "mffw": {
        "n_sets": 13,
        "rows": {
            "BF": {"mos": 7.3846, "psnr": 34.0595, "ssim": 0.9833, "fsim": 0.9809, "qmi": 1.1104, "qg": 0.5941, "qcb": 0.7456},
            "BRW": {"mos": 7.3846, "psnr": 35.4858, "ssim": 0.9865, "fsim": 0.9839, "qmi": 1.0415, "qg": 0.6165, "qcb": 0.7268},
            "CBF": {"mos": 6.6923, "psnr": 32.7452, "ssim": 0.9741, "fsim": 0.9694, "qmi": 0.8648, "qg": 0.5244, "qcb": 0.6554},
            "GFF": {"mos": 8.4615, "psnr": 35.1882, "ssim": 0.9848, "fsim": 0.9851, "qmi": 0.9371, "qg": 0.6022, "qcb": 0.7186},
            "CNN": {"mos": 8.5385, "psnr": 35.1722, "ssim": 0.9829, "fsim": 0.9831, "qmi": 1.0638, "qg": 0.6615, "qcb": 0.7362},
            "ECNN": {"mos": 7.9015, "psnr": 35.0610, "ssim": 0.9845, "fsim": 0.9829, "qmi": 1.1353, "qg": 0.6135, "qcb": 0.7321},
            "DPRL": {"mos": 7.3723, "psnr": 32.8121, "ssim": 0.9796, "fsim": 0.9751, "qmi": 1.1214, "qg": 0.6159, "qcb": 0.7124},
            "MMF-Net": {"mos": 7.3077, "psnr": 31.8415, "ssim": 0.9764, "fsim": 0.9709, "qmi": 0.9174, "qg": 0.4243, "qcb": 0.6644},
            "MS-ResNet": {"mos": 8.6154, "psnr": 36.4105, "ssim": 0.9882, "fsim": 0.9888, "qmi": 0.9848, "qg": 0.5858, "qcb": 0.7233},
            "MS-Lap": {"mos": 8.9231, "psnr": 35.6802, "ssim": 0.9860, "fsim": 0.9880, "qmi": 1.0151, "qg": 0.6082, "qcb": 0.7335},
        },
    },
}
# our methods that stand for the paper's: our run (authors' code's index), the authors' published images
# scored by our metrics, and our run of the index as the paper writes it
PAPER_COUNTERPARTS = {
    "MS-Lap": ("mffssim_reference-lap", "official_ms_lap", "mffssim_paper-lap"),
    "MS-ResNet": ("mffssim_reference-resnet", "official_ms_resnet", "mffssim_paper-resnet"),
}
# the paper's column order and names (MOS is a user study: not ours to reproduce)
TABLE1_COLUMNS = ("psnr", "ssim", "fsim", "qmi", "qg", "qcb", "mffssim")
TABLE1_LABELS = {
    "psnr": "PSNR (dB)", "ssim": "SSIM", "fsim": "FSIM", "qmi": "NMI (QMI)", "qg": "Xydeas (QG)",
    "qcb": "Chen-Blum (QCB)", "mffssim": "MFF-SSIM Q", "mos": "MOS",
}
REFERENCE_METRICS = ("psnr", "ssim", "fsim")
# the paper's names for our method ids (any other id: the registry's label, mffssim.registry.method_label)
METHOD_NAMES = {
    "mffssim_reference-lap": "MS-Lap (ours, authors' index)",
    "mffssim_paper-lap": "MS-Lap (ours, paper's equations)",
    "mffssim_reference-resnet": "MS-ResNet (ours, authors' index)",
    "mffssim_paper-resnet": "MS-ResNet (ours, paper's equations)",
    "mffssim_reference-given": "MFF-SSIM, given map (authors' index)",
    "mffssim_paper-given": "MFF-SSIM, given map (paper's equations)",
    "pixelwise-lap": "Pixel-wise Eq. 1, Lap map",
    "pixelwise-resnet": "Pixel-wise Eq. 1, ResNet map",
    "pixelwise-given": "Pixel-wise Eq. 1, given map",
    "average": "Average",
    "enfuse": "enfuse",
    "official_ms_lap": "MS-Lap, authors' published images",
    "official_ms_resnet": "MS-ResNet, authors' published images",
}
NMI_NOTE = (
    "NMI is our QMI, Hossny et al.'s normalisation 2·[MI(A,F)/(H(A)+H(F)) + MI(B,F)/(H(B)+H(F))] (range 0..2; "
    "Liu's toolbox metricMI(A,B,F,1), docs/metrics_noref.md). The paper does not name its normalisation, but "
    "its NMI values (0.86-1.14, above 1 for four methods) can only come from a 0..2 scale, i.e. this one, "
    "not the 0..1 variants (MI/sqrt(H·H) or the half of ours)."
)


def method_name(method: str) -> str:
    """The display name of a method id: the paper's (:data:`METHOD_NAMES`), else the registry's label, else
    the id itself (not a method id of the registry)."""
    if method in METHOD_NAMES:
        return METHOD_NAMES[method]
    return registry.method_label(method) if registry.is_method_id(method) else method


def table1(records: pd.DataFrame, methods: Sequence[str] | None = None) -> pd.DataFrame:
    """Aggregate a long table of metrics (:func:`mffssim.workflow.tables.read_metrics`) to Table I: one row per method,
    ``n`` and ``<metric>_mean`` / ``<metric>_std`` columns (:func:`mffssim.workflow.tables.summarise`)."""
    return summarise(records, methods=methods)


def _ranked(values: pd.Series, lower_is_better: bool) -> tuple[list[str], list[str]]:
    """The methods with the best and with the second-best finite value (ties share a rank)."""
    finite = values[np.isfinite(values.astype(float))].astype(float)
    distinct = sorted(set(finite), reverse=not lower_is_better)
    pick = lambda target: [m for m, v in finite.items() if math.isclose(v, target, rel_tol=1e-12, abs_tol=0.0)]  # noqa: E731
    return (pick(distinct[0]) if distinct else [], pick(distinct[1]) if len(distinct) > 1 else [])


def _columns(summary: pd.DataFrame) -> list[str]:
    present = table_metrics(summary)
    return [m for m in TABLE1_COLUMNS if m in present] + [m for m in present if m not in TABLE1_COLUMNS]


def table1_markdown(summary: pd.DataFrame, dataset: str, *, paper: Mapping | None = None) -> str:
    """Table I of one data set in the paper's layout (mean over the image sets), with the paper's rows for
    its own methods and a side-by-side comparison when ``paper`` (an entry of :data:`PAPER_TABLE1`) is given."""
    columns = _columns(summary)
    n_sets = int(summary["n"].max()) if len(summary) else 0
    ranks = {m: _ranked(summary[f"{m}_mean"], m in LOWER_IS_BETTER) for m in columns}
    reference = [m for m in columns if m in REFERENCE_METRICS]
    rest = [m for m in columns if m not in REFERENCE_METRICS]
    lines = [f"# Table I: {dataset}, {n_sets} image set{'s' if n_sets != 1 else ''} of two sources", ""]
    groups = []
    if reference:
        groups.append(f"reference-based: {', '.join(TABLE1_LABELS.get(m, m) for m in reference)}")
    groups.append(f"no reference: {', '.join(TABLE1_LABELS.get(m, m) for m in rest)}")
    lines.append("Columns, as in the paper: " + "; ".join(groups) + ". Mean over the image sets; best of a column "
                 "in **bold**, second best in *italics* (the paper underlines it); every metric is higher-is-better"
                 + (" except QCV" if "qcv" in columns else "") + ".")
    lines.append("")
    header = ["Methods", "n"] + [TABLE1_LABELS.get(m, m) for m in columns]
    lines += ["| " + " | ".join(header) + " |", "|---|---:|" + "---:|" * len(columns)]
    for method, row in summary.iterrows():
        cells = [method_name(str(method)), str(int(row["n"]))]
        for metric in columns:
            text = format_metric(float(row[f"{metric}_mean"]), metric)
            best, second = ranks[metric]
            cells.append(f"**{text}**" if method in best else f"*{text}*" if method in second else text)
        lines.append("| " + " | ".join(cells) + " |")
    if paper:
        lines += ["", _paper_rows(paper), "", paper_comparison_markdown(summary, paper)]
    lines += ["", NMI_NOTE, ""]
    return "\n".join(lines)


def _paper_rows(paper: Mapping) -> str:
    n = paper["n_sets"]
    shown = [m for m in ("mos",) + TABLE1_COLUMNS if any(m in r for r in paper["rows"].values())]
    lines = [f"The paper's Table I ({n} pairs; PSNR/SSIM/FSIM against MFFW's manual fusions, which are not "
             "public offline; MOS is its user study):", ""]
    lines += ["| Methods (paper) | n | " + " | ".join(TABLE1_LABELS.get(m, m) for m in shown) + " |",
              "|---|---:|" + "---:|" * len(shown)]
    for name, values in paper["rows"].items():
        cells = [format_metric(float(values.get(m, math.nan)), m) for m in shown]
        lines.append(f"| {name} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def paper_comparison(summary: pd.DataFrame, paper: Mapping) -> pd.DataFrame:
    """Long table: for each of the paper's own methods and metric, the paper's value and ours.

    Columns ``paper_method``, ``metric``, ``paper`` (its value, over its ``n_sets``), then one column per
    counterpart method of ours present in ``summary`` (:data:`PAPER_COUNTERPARTS`), and ``n_ours``.
    """
    rows = []
    columns = table_metrics(summary)
    for name, ours in PAPER_COUNTERPARTS.items():
        values = paper["rows"].get(name)
        if values is None:
            continue
        present = [m for m in ours if m in summary.index]
        for metric in [m for m in TABLE1_COLUMNS if m in values or m in columns]:
            row = {"paper_method": name, "metric": metric, "paper": float(values.get(metric, math.nan)),
                   "n_paper": int(paper["n_sets"])}
            for method in present:
                key = f"{metric}_mean"
                row[method] = float(summary.loc[method, key]) if key in summary.columns else math.nan
                row[f"n_{method}"] = int(summary.loc[method, "n"])
            rows.append(row)
    return pd.DataFrame(rows)


def paper_comparison_markdown(summary: pd.DataFrame, paper: Mapping) -> str:
    """The paper's MS-Lap and MS-ResNet values beside ours, one row per metric."""
    table = paper_comparison(summary, paper)
    if table.empty:
        return ""
    lines = [f"The paper's numbers beside ours (the paper's over its {paper['n_sets']} pairs; ours over the "
             f"{int(summary['n'].max())} pairs we have; the authors' published images scored by our metrics "
             "separate what the metric code changes from what the images change):", ""]
    for name, group in table.groupby("paper_method", sort=False):
        ours = [m for m in PAPER_COUNTERPARTS[name] if m in group.columns]
        lines += [f"| {name}: metric | paper (n = {paper['n_sets']}) | "
                  + " | ".join(f"{method_name(m)} (n = {int(group[f'n_{m}'].iloc[0])})" for m in ours) + " |",
                  "|---|---:|" + "---:|" * len(ours)]
        for _, row in group.iterrows():
            metric = row["metric"]
            cells = [format_metric(row["paper"], metric)] + [format_metric(row[m], metric) for m in ours]
            lines.append(f"| {TABLE1_LABELS.get(metric, metric)} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_table1(summary: pd.DataFrame, csv_path: str | os.PathLike, md_path: str | os.PathLike, dataset: str, *,
                 skipped: Mapping[str, str] | None = None, convention: str = "survey") -> None:
    """Write Table I of a data set: csv (the summary, means and sample stds; plus the paper's rows as
    ``paper:<method>`` where known) and markdown (:func:`table1_markdown`, the metrics' ``convention``, then
    the configured methods ``skipped`` with their reasons), atomically."""
    paper = PAPER_TABLE1.get(dataset)
    table = summary.copy()
    table.insert(0, "source", "ours")
    if paper:
        extra = pd.DataFrame(
            [{"source": "paper", "n": paper["n_sets"], **{f"{m}_mean": v for m, v in values.items()}}
             for values in paper["rows"].values()],
            index=pd.Index([f"paper:{name}" for name in paper["rows"]], name=table.index.name),
        )
        table = pd.concat([table, extra])
    atomic_write(csv_path, lambda tmp: table.to_csv(tmp, float_format="%.10g", index_label="method"))
    text = table1_markdown(summary, dataset, paper=paper)
    text = text.rstrip("\n") + f"\n\n{convention_line(convention)}\n"
    if skipped:
        text = text.rstrip("\n") + "\n\n" + skipped_markdown(skipped)
    atomic_write(md_path, lambda tmp: Path(tmp).write_text(text))


# --------------------------------------------------------------------------------------------- K > 2
def multi_source_table(records: pd.DataFrame, n_sources: Mapping[str, int]) -> pd.DataFrame:
    """One row per (set, method) of the K > 2 sets: ``set``, ``K``, ``method``, then one column per metric.

    ``records``: long table (:func:`mffssim.workflow.tables.read_metrics`) whose ``set`` is ``<dataset>/<set_id>``;
    ``n_sources``: that key -> K. No-reference metrics are means over the K (K - 1) / 2 source pairs.
    """
    missing = sorted(set(records["set"]) - set(n_sources))
    if missing:
        raise ValueError(f"no source count for set(s) {missing}")
    wide = records.pivot_table(index=["set", "method"], columns="metric", values="value", aggfunc="first", sort=False)
    metrics = [m for m in TABLE1_COLUMNS if m in wide.columns] + [m for m in wide.columns if m not in TABLE1_COLUMNS]
    wide = wide[metrics].reset_index()
    wide.insert(1, "K", [int(n_sources[s]) for s in wide["set"]])
    wide.columns.name = None
    return wide


def multi_source_markdown(table: pd.DataFrame, convention: str = "survey") -> str:
    """The K > 2 table: one block per set, best of each metric within the set in bold; the metrics' convention."""
    metrics = [c for c in table.columns if c not in ("set", "K", "method")]
    lines = ["# K > 2 sources (Fig. 12)", "",
             "MS-Lap fuses with one K-way Laplacian map; MS-ResNet fuses two images at a time, "
             "((X1 ⊕ X2) ⊕ X3) ⊕ …, since the network compares pairs. No-reference metrics are the mean over "
             "the K(K−1)/2 source pairs; PSNR/SSIM/FSIM only where the set has a reference (embedded sets). "
             "Best of each set in **bold**. " + convention_line(convention), ""]
    lines += ["| set | K | method | " + " | ".join(TABLE1_LABELS.get(m, m) for m in metrics) + " |",
              "|---|---:|---|" + "---:|" * len(metrics)]
    for set_id, group in table.groupby("set", sort=False):
        best = {m: _ranked(group.set_index("method")[m], m in LOWER_IS_BETTER)[0] for m in metrics}
        for _, row in group.iterrows():
            cells = []
            for metric in metrics:
                text = format_metric(float(row[metric]), metric)
                cells.append(f"**{text}**" if row["method"] in best[metric] and text != "n/a" else text)
            lines.append(f"| {set_id} | {int(row['K'])} | {method_name(row['method'])} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_multi_source(table: pd.DataFrame, csv_path: str | os.PathLike, md_path: str | os.PathLike,
                       convention: str = "survey") -> None:
    """Write the K > 2 table as csv and markdown (naming the metrics' ``convention``), atomically."""
    atomic_write(csv_path, lambda tmp: table.to_csv(tmp, index=False, float_format="%.10g"))
    text = multi_source_markdown(table, convention)
    atomic_write(md_path, lambda tmp: Path(tmp).write_text(text))


def multi_source_figure(rows: Sequence[tuple[str, np.ndarray, np.ndarray, Mapping[str, np.ndarray]]],
                        path: str | os.PathLike, *, dpi: int = 100) -> None:
    """Fig. 12 for every K > 2 set: one row per set with its K sources, its K-way focus map (label image,
    one colour per source) and the fused images.

    ``rows``: ``(title, sources (K, H, W, C), focus_map (K, H, W), {name: fused (H, W, C)})`` per set.
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    from mffssim.workflow.figures import show_image

    if not rows:
        raise ValueError("multi_source_figure needs at least one image set")
    columns = max(len(r[1]) + 1 + len(r[3]) for r in rows)
    cell = 2.2
    heights = [max(np.shape(r[1])[1] / np.shape(r[1])[2], 0.4) for r in rows]
    figure = Figure(figsize=(cell * columns, cell * sum(heights) + 0.4 * len(rows)), layout="constrained")
    axes = figure.subplots(len(rows), columns, squeeze=False, height_ratios=heights)
    for axis in axes.flat:
        axis.set_axis_off()
    palette = colormaps["tab10"]
    for r, (title, sources, focus_map, fused) in enumerate(rows):
        sources = np.asarray(sources, dtype=np.float32)
        count = sources.shape[0]
        if np.shape(focus_map) != (count,) + sources.shape[1:3]:
            raise ValueError(f"{title}: focus map shape {np.shape(focus_map)} does not match sources {sources.shape}")
        for k in range(count):
            axes[r, k].set_axis_on()
            show_image(axes[r, k], sources[k], f"{title}: source {k + 1}" if k == 0 else f"source {k + 1}")
        labels = np.argmax(np.asarray(focus_map), axis=0)
        colours = np.array([palette(k % 10)[:3] for k in range(count)], dtype=np.float32)
        axes[r, count].set_axis_on()
        show_image(axes[r, count], colours[labels], "map (colour = source)")
        for j, (name, image) in enumerate(fused.items()):
            axis = axes[r, count + 1 + j]
            axis.set_axis_on()
            show_image(axis, image, name)
    save_figure(figure, path, dpi=dpi)
