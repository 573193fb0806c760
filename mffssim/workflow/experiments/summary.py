"""``results/experiments/SUMMARY.md``: one page from every experiment's outputs.

:func:`build_summary` reads what the experiment rules wrote (Table I csv per data set, the agreement tables,
the K > 2 table, and each ablation study's own ``summary.md``) and writes the numbers that matter, then what
differs from the paper and why. It only reads files: nothing is recomputed here.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from mffssim import registry
from mffssim.io import atomic_write
from mffssim.workflow.formatting import format_metric

from .agreement import agreement_means
from .tables import PAPER_COUNTERPARTS, PAPER_TABLE1, TABLE1_LABELS, method_name

# the methods and metrics of the Table I excerpt, in this order where present: MS-Lap and MS-ResNet (both
# indices), the baselines with the Laplacian map or none, the authors' published images
EXCERPT_METHODS = (
    registry.method_ids(["mffssim_reference", "mffssim_paper"], ["lap"])
    + registry.method_ids(["mffssim_reference", "mffssim_paper"], ["resnet"])
    + registry.method_ids(["pixelwise", "average", "enfuse", "official"], ["lap"])
)
EXCERPT_METRICS = ("psnr", "ssim", "qmi", "qg", "qcb", "mffssim")


def read_table1(path: str | os.PathLike) -> pd.DataFrame:
    """A Table I csv (:func:`mffssim.workflow.experiments.tables.write_table1`): our rows only, indexed by method."""
    table = pd.read_csv(path, index_col="method")
    if "source" in table.columns:
        table = table[table["source"] == "ours"]
    return table


def table1_excerpt(tables: Mapping[str, pd.DataFrame]) -> str:
    """One compact table over the data sets: the main methods' means of the main metrics."""
    lines = []
    for dataset, table in tables.items():
        metrics = [m for m in EXCERPT_METRICS if f"{m}_mean" in table.columns]
        methods = [m for m in EXCERPT_METHODS if m in table.index]
        if not methods:
            continue
        n = int(table["n"].max())
        lines += [f"**{dataset}** ({n} pair{'s' if n != 1 else ''}; full table: `table1/{dataset}.md`)", "",
                  "| method | " + " | ".join(TABLE1_LABELS.get(m, m) for m in metrics) + " |",
                  "|---|" + "---:|" * len(metrics)]
        for method in methods:
            cells = [format_metric(float(table.loc[method, f"{m}_mean"]), m) for m in metrics]
            lines.append(f"| {method_name(method)} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def paper_lines(table: pd.DataFrame, dataset: str = "mffw") -> str:
    """The paper's MS-Lap / MS-ResNet no-reference numbers against ours and the authors' images, one line each."""
    paper = PAPER_TABLE1.get(dataset)
    if not paper:
        return ""
    lines = []
    n_ours = int(table["n"].max())
    for name, methods in PAPER_COUNTERPARTS.items():
        row = paper["rows"][name]
        parts = []
        for metric in ("qmi", "qg", "qcb"):
            ours = [f"{method_name(m)} {format_metric(float(table.loc[m, f'{metric}_mean']), metric)}"
                    for m in methods[:2] if m in table.index and f"{metric}_mean" in table.columns]
            parts.append(f"{TABLE1_LABELS[metric]}: paper {format_metric(row[metric], metric)}"
                         + (f"; {'; '.join(ours)}" if ours else ""))
        lines.append(f"- {name} (paper over {paper['n_sets']} pairs, ours over {n_ours}): " + " · ".join(parts))
    return "\n".join(lines)


def agreement_section(table: pd.DataFrame) -> str:
    means = agreement_means(table)
    lines = ["| data set | pairs | mean PSNR (dB) | target | met | mean map agreement (%) | target | met |",
             "|---|---:|---:|---|---|---:|---|---|"]
    for _, row in means.iterrows():
        met = lambda ok: "–" if ok is None or (isinstance(ok, float) and math.isnan(ok)) else ("yes" if ok else "**no**")  # noqa: E731
        target = lambda v, u: "none" if math.isnan(v) else f"≥ {v:g}{u}"  # noqa: E731
        lines.append(f"| {row['dataset']} | {row['pairs']} | {row['psnr_mean']:.2f} | {target(row['psnr_target'], ' dB')} | "
                     f"{met(row['psnr_ok'])} | {row['map_mean']:.3f} | {target(row['map_target'], ' %')} | {met(row['map_ok'])} |")
    below = table[(table["psnr_ok"] == False) | (table["map_ok"] == False)]  # noqa: E712
    if len(below):
        pairs = ", ".join(f"{r['dataset']}/{r['set']} ({r['psnr']:.1f} dB, {r['map_agreement']:.2f} %)" for _, r in below.iterrows())
        lines += ["", f"Pairs below a target: {pairs}. Per-pair table and reasons: `agreement/agreement.md`."]
    return "\n".join(lines)


def multi_source_section(table: pd.DataFrame) -> str:
    """Per K > 2 set: MS-Lap and MS-ResNet side by side on the main metrics (full table in multi_source/)."""
    metrics = [m for m in EXCERPT_METRICS if m in table.columns]
    shown = registry.method_ids(["mffssim_reference"], ["lap", "resnet"]) + registry.method_ids(["pixelwise", "average"], ["lap"])
    lines = ["| set | K | method | " + " | ".join(TABLE1_LABELS.get(m, m) for m in metrics) + " |",
             "|---|---:|---|" + "---:|" * len(metrics)]
    for _, row in table[table["method"].isin(shown)].iterrows():
        lines.append(f"| {row['set']} | {int(row['K'])} | {method_name(row['method'])} | "
                     + " | ".join(format_metric(float(row[m]), m) for m in metrics) + " |")
    return "\n".join(lines)


def skipped_section(skipped: Mapping[str, Mapping[str, str]]) -> str:
    """The configured methods each data set's Table I leaves out, and why (data set -> {method: reason})."""
    lines = ["Configured methods left out of Table I:", ""]
    for dataset, methods in skipped.items():
        lines += [f"- {dataset}: `{method}`: {reason}" for method, reason in methods.items()]
    return "\n".join(lines)


def _demote(text: str) -> str:
    """A study's markdown with its headings pushed two levels down, to nest under the summary's."""
    return "\n".join("##" + line if line.startswith("#") else line for line in text.strip().splitlines())


def build_summary(
    *,
    table1: Mapping[str, str | os.PathLike],
    agreement: str | os.PathLike | None = None,
    multi_source: str | os.PathLike | None = None,
    studies: Sequence[str | os.PathLike] = (),
    settings: Mapping[str, str] | None = None,
    differences: Sequence[str] = (),
    skipped: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """The markdown of SUMMARY.md.

    ``table1``: data set -> Table I csv; ``agreement``: the per-pair agreement csv; ``multi_source``: the
    K > 2 csv; ``studies``: each ablation study's ``summary.md`` (included whole, headings demoted);
    ``settings``: what the run used (name -> text); ``differences``: the run-specific ways it differs from
    the paper (CPU-sized reductions), listed before the standing ones; ``skipped``: data set -> {method:
    reason} of the configured methods its Table I leaves out (:func:`skipped_section`).
    """
    parts = ["# The paper's experiments: summary", ""]
    if settings:
        parts += ["Run: " + "; ".join(f"{k}: {v}" for k, v in settings.items()) + ".", ""]
    tables = {dataset: read_table1(path) for dataset, path in table1.items()}
    if tables:
        parts += ["## Table I (mean over the image sets of two sources)", "", table1_excerpt(tables)]
        if "mffw" in tables:
            parts += ["The paper's MFFW numbers against ours:", "", paper_lines(tables["mffw"]), ""]
    if skipped and any(skipped.values()):
        parts += [skipped_section(skipped), ""]
    if agreement is not None:
        parts += ["## Agreement with the authors' published MS-Lap images", "",
                  agreement_section(pd.read_csv(agreement)), ""]
    if multi_source is not None:
        parts += ["## K > 2 sources (Fig. 12)", "", multi_source_section(pd.read_csv(multi_source)),
                  "", "Figure: `multi_source/figure.png`; all methods: `multi_source/table.md`.", ""]
    for study in studies:
        parts += [_demote(Path(study).read_text()), ""]
    parts += ["## What differs from the paper, and why", ""]
    parts += [f"- {line}" for line in list(differences) + list(STANDING_DIFFERENCES)]
    return "\n".join(parts).rstrip() + "\n"


STANDING_DIFFERENCES = (
    "MFFW: the paper averages over 13 pairs; the authors published results for 10 of them (mffw2_07, _10, "
    "_12 missing), so every MFFW mean here is over those 10 (or the configured subset).",
    "MFFW's manual fusions and annotated maps are not available offline: PSNR/SSIM/FSIM (and the paper's "
    "MOS user study) cannot be recomputed on MFFW; they appear only where a data set has a reference "
    "(embedded, NYU-D-100, MF-VOC).",
    "Metrics are our ports of Liu's toolbox in the copy of Liu et al.'s 2020 survey, matched to MATLAB to "
    "1e-13 (docs/metrics*.md); the paper's own metric code is not published. NMI is our QMI (0..2 scale). "
    "The authors' published images scored by our metrics (rows 'authors' published images') separate the "
    "effect of the metric code and the pair set from that of the fused images.",
    "MS-ResNet: our network is trained by this workflow at the configured size on the configured images; "
    "the paper's has 128 filters and 8 blocks trained 50 epochs on PASCAL VOC 2012, which needs a GPU and "
    "the full VOC download (config/experiments_full.yaml notes how).",
    "The paper compares eight published methods (BF, BRW, CBF, GFF, CNN, ECNN, DPRL, MMF-Net); their code is "
    "not part of this project. Pixel-wise fusion with the same map (Eq. 1), the average, enfuse and the "
    "authors' own images are the comparisons here.",
)


AUTHORS_SOLVER = {"optimizer": "adam", "lr": 1.0e-3, "iterations": 1000, "tol": None}
PAPER_DETECTOR = {"width": 128, "blocks": 8, "epochs": 50}


def run_settings(facts: Mapping) -> dict[str, str]:
    """The run's settings as short texts (``facts``: the mapping the workflow passes, see rules/experiments.smk)."""
    fusion, detector, agreement = facts["fusion"], facts["detector"], facts["agreement"]
    settings = {
        "Table I and K > 2 solver": f"{fusion['optimizer']}, {fusion['iterations']} iterations, lr "
                                    f"{fusion['lr'] if fusion['lr'] is not None else 'default'}, tol {fusion['tol']}",
        "detectors": ", ".join(facts["detectors"]),
    }
    if "resnet" in facts["detectors"]:
        settings["ResNet"] = (f"F = {detector['width']}, B = {detector['blocks']}, {detector['epochs']} epochs x "
                              f"{detector['samples_per_epoch']} pairs from '{detector['source']}'")
    if facts.get("agreement_pairs"):
        settings["agreement solver"] = (f"{agreement['variant']} variant, {agreement['optimizer']} lr {agreement['lr']}, "
                                        f"{agreement['iterations']} iterations, tol {agreement['tol']}, {agreement['dtype']}")
    return settings


def run_differences(facts: Mapping) -> list[str]:
    """How this run is cut down from the paper's scale: solver, subsets, detector size (empty at full scale)."""
    lines = []
    fusion = facts["fusion"]
    if any(fusion[k] != v for k, v in AUTHORS_SOLVER.items() if k != "tol") or fusion["tol"] is not None:
        lines.append(
            f"Table I and K > 2 fuse with {fusion['optimizer']}, at most {fusion['iterations']} iterations"
            + (f", stopping once Q gains < {fusion['tol']:g} per 10 iterations" if fusion["tol"] is not None else "")
            + " (the authors: Adam, lr 1e-3, 1000 iterations). adam-cosine reaches the Q of their 1000 steps in about "
            "a tenth of them (mffssim.fusion), so this saves CPU time without changing the method; "
            "config/experiments_full.yaml runs the authors' solver."
        )
    subsets = [f"{d} {used} of {total}" for d, (used, total) in facts.get("table1_sets", {}).items() if used < total]
    if subsets:
        lines.append("Table I over a CPU-sized subset of pairs (config `sets`): " + ", ".join(subsets) + ".")
    pairs = [f"{d} {used} of {total}" for d, (used, total) in facts.get("agreement_pairs", {}).items() if used < total]
    if pairs:
        lines.append("Agreement on a subset of the published pairs (config `experiments.agreement.sets`; a "
                     "1000-iteration fusion of a 520x520 colour pair costs minutes on a CPU core): " + ", ".join(pairs) + ".")
    agreement = facts.get("agreement", {})
    if facts.get("agreement_pairs") and (agreement.get("variant") != "reference" or any(
            agreement.get(k) != v for k, v in AUTHORS_SOLVER.items())):
        lines.append("The agreement run does not use the authors' settings (reference variant, Adam lr 1e-3, 1000 "
                     "iterations, no early stop): its PSNR against their images does not measure agreement with the authors' code.")
    detector = facts["detector"]
    if "resnet" in facts["detectors"] and any(detector[k] < v for k, v in PAPER_DETECTOR.items()):
        lines.append(f"MS-ResNet's network here: F = {detector['width']} filters, B = {detector['blocks']} blocks, "
                     f"{detector['epochs']} epochs of {detector['samples_per_epoch']} pairs from '{detector['source']}' "
                     "(the paper: 128, 8, 50 epochs over VOC 2012's 2913 images), so its maps are coarser and "
                     "MS-ResNet's numbers are not the paper's network's.")
    return lines


def write_summary(path: str | os.PathLike, text: str) -> None:
    """Write SUMMARY.md atomically."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))
