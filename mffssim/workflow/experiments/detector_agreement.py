"""Our detectors' focus maps against the authors' published ones (``mffssim_official_results``: Lytro,
MFFW, Grayscale): our ResNet map against their MS-ResNet map, our Laplacian map against their MS-Lap map,
and their two maps against each other (how far apart the authors' own detectors are).

Agreement is the share of pixels where two binary maps pick the same source. Where the two sources are
alike (flat areas, or both equally sharp), either source is right, so the ResNet agreement is also given
on the *informative* pixels: those where the 7 x 7 mean of |X1 - X2| (averaged over colour channels, in
gray levels of the 0-255 scale) exceeds 2. Each data set's published pairs are split into a fixed tuning
half (config ``experiments.detector_agreement.tune``), on which detector settings may be chosen, and the
other half, on which they are reported; means and minima are given for each half and for all pairs.
"""
from __future__ import annotations

import math
import os
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import ndimage

from mffssim.workflow.experiments.agreement import map_agreement
from mffssim.workflow.experiments.report_io import markdown_table, write_rows, write_text

INFORMATIVE_WINDOW = 7
INFORMATIVE_LEVELS = 2.0
# per-pair columns (percent) and what each compares
MEASURES = {
    "resnet_all": "our ResNet = their MS-ResNet, all pixels",
    "resnet_informative": "our ResNet = their MS-ResNet, informative pixels",
    "lap_all": "our Laplacian = their MS-Lap, all pixels",
    "theirs_resnet_lap": "their MS-ResNet = their MS-Lap, all pixels",
}
SPLITS = ("tune", "report", "all")


def informative_pixels(sources: np.ndarray, *, window: int = INFORMATIVE_WINDOW,
                       levels: float = INFORMATIVE_LEVELS) -> np.ndarray:
    """Boolean ``(H, W)``: where the ``window`` x ``window`` mean of |X1 - X2| (channels averaged, on the
    0-255 scale, reflected at the border) exceeds ``levels``; ``sources`` is ``(2, H, W[, C])`` in [0, 1]."""
    sources = np.asarray(sources, dtype=np.float64)
    if sources.ndim not in (3, 4) or sources.shape[0] != 2:
        raise ValueError(f"need a pair of sources (2, H, W[, C]), got shape {sources.shape}")
    difference = np.abs(sources[0] - sources[1]) * 255.0
    if difference.ndim == 3:
        difference = difference.mean(axis=2)
    return ndimage.uniform_filter(difference, size=window, mode="reflect") > levels


def pair_record(dataset: str, set_id: str, sources: np.ndarray, maps: Mapping[str, np.ndarray], *,
                split: str) -> dict:
    """One pair's agreements (%). ``maps`` holds ``(2, H, W)`` maps ``resnet``, ``lap`` (ours) and
    ``their_resnet``, ``their_lap``; a measure whose maps are not all given is nan. ``split`` is ``tune``
    or ``report``."""
    if split not in SPLITS[:2]:
        raise ValueError(f"{dataset}/{set_id}: split must be 'tune' or 'report', got {split!r}")
    informative = informative_pixels(sources)

    def agree(ours: str, theirs: str, where: np.ndarray | None = None) -> float:
        if ours not in maps or theirs not in maps:
            return math.nan
        return map_agreement(maps[ours], maps[theirs], where)

    return {
        "dataset": dataset, "set": set_id, "split": split,
        "resnet_all": agree("resnet", "their_resnet"),
        "resnet_informative": agree("resnet", "their_resnet", informative),
        "lap_all": agree("lap", "their_lap"),
        "theirs_resnet_lap": agree("their_resnet", "their_lap"),
        "informative_share": float(np.mean(informative) * 100.0),
    }


def summarise(records: Iterable[Mapping]) -> list[dict]:
    """Per data set and split (tune, report, all): pairs, then mean and min of each measure."""
    table = pd.DataFrame(list(records))
    if table.empty:
        raise ValueError("no detector agreement records")
    rows = []
    for dataset, group in table.groupby("dataset", sort=False):
        for split in SPLITS:
            part = group if split == "all" else group[group["split"] == split]
            if part.empty:
                continue
            row = {"dataset": dataset, "split": split, "pairs": len(part)}
            for measure in MEASURES:
                values = part[measure].astype(float)
                row[f"{measure}_mean"], row[f"{measure}_min"] = float(values.mean()), float(values.min())
            rows.append(row)
    return rows


def split_of(dataset: str, set_id: str, tune: Mapping[str, Sequence[str]]) -> str:
    """``tune`` when config lists the pair in the tuning half of its data set, else ``report``."""
    return "tune" if set_id in (tune.get(dataset) or ()) else "report"


def markdown(records: Sequence[Mapping], summary: Sequence[Mapping], settings: Mapping | None = None) -> str:
    """The summary (per data set and split) and the per-pair table, with what each column compares."""
    lines = ["# Our focus maps against the authors' published maps", ""]
    lines += [f"- `{column}`: {text} (%)" for column, text in MEASURES.items()]
    lines += [f"- informative pixels: the {INFORMATIVE_WINDOW} x {INFORMATIVE_WINDOW} mean of |X1 - X2| "
              f"exceeds {INFORMATIVE_LEVELS:g} gray levels (0-255); `informative_share` is their share (%)",
              "- split `tune`: the pairs detector settings may be chosen on; `report`: the other half", ""]
    if settings:
        lines += ["Detector: " + ", ".join(f"{k} {v}" for k, v in settings.items()), ""]
    lines += ["## Per data set", "", markdown_table(summary, digits={"pairs": 0}, default_digits=2), "",
              "## Per pair", "", markdown_table(list(records), default_digits=2)]
    return "\n".join(lines)


def write_detector_agreement(records: Sequence[Mapping], csv_path: str | os.PathLike,
                             means_csv_path: str | os.PathLike, md_path: str | os.PathLike,
                             settings: Mapping | None = None) -> list[dict]:
    """Write the per-pair csv, the per-data-set summary csv and the markdown (atomically); return the summary."""
    summary = summarise(records)
    write_rows(list(records), csv_path)
    write_rows(summary, means_csv_path)
    write_text(md_path, markdown(records, summary, settings))
    return summary

