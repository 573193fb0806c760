"""Evaluation of the detector on held-out synthetic pairs: pixel accuracy and IoU against the true map.

Scores are pooled over all pixels of all pairs (micro-average). Only pixels whose true map is decided
(exactly 0 or 1) count: VOC 'void' pixels (matte 0.5) and soft matte edges are left out.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from mffssim.detector.network import FocusNet
from mffssim.detector.train import load_model, resolve_device
from mffssim.io import atomic_write


def confusion(probability: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Counts ``[[tp, fn], [fp, tn]]`` for 'source 1 in focus' (probability > 0.5 vs target == 1)."""
    probability, target = np.asarray(probability), np.asarray(target)
    if probability.shape != target.shape:
        raise ValueError(f"prediction shape {probability.shape} differs from target shape {target.shape}")
    decided = (target == 0) | (target == 1)
    predicted, truth = probability[decided] > 0.5, target[decided] == 1
    return np.array([[np.sum(predicted & truth), np.sum(~predicted & truth)],
                     [np.sum(predicted & ~truth), np.sum(~predicted & ~truth)]], dtype=np.int64)


def scores(counts: np.ndarray) -> dict[str, float]:
    """Pixel accuracy, IoU of each source's in-focus region and their mean, from ``confusion`` counts."""
    (tp, fn), (fp, tn) = np.asarray(counts, dtype=np.float64)
    total = tp + fn + fp + tn
    if total == 0:
        raise ValueError("no decided pixels to score")
    iou_1 = tp / (tp + fn + fp) if tp + fn + fp else 1.0
    iou_2 = tn / (tn + fn + fp) if tn + fn + fp else 1.0
    return {"pixels": int(total), "accuracy": float((tp + tn) / total), "iou_source_1": float(iou_1),
            "iou_source_2": float(iou_2), "mean_iou": float((iou_1 + iou_2) / 2)}


def score_focus_map(predicted: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """Scores of a two-source focus map ``(2, H, W)`` against the true one (source 1's plane decides)."""
    predicted, true = np.asarray(predicted), np.asarray(true)
    if predicted.ndim != 3 or predicted.shape[0] != 2 or predicted.shape != true.shape:
        raise ValueError(f"need two (2, H, W) maps of one shape, got {predicted.shape} and {true.shape}")
    return scores(confusion(predicted[0], true[0]))


def evaluate_detector(weights: str | os.PathLike | FocusNet, dataset: Dataset, *, device: str = "auto",
                      batch_size: int = 8) -> dict[str, float]:
    """Scores of a detector on a dataset of ``(x1, x2, target)`` triples (e.g. held-out SyntheticPairs)."""
    device = resolve_device(device)
    model = load_model(weights, device)
    counts = np.zeros((2, 2), dtype=np.int64)
    with torch.no_grad():
        for x1, x2, target in DataLoader(dataset, batch_size=batch_size):
            probability = model(x1.to(device), x2.to(device)).cpu().numpy()
            counts += confusion(probability, target.numpy())
    return scores(counts)


def write_table(rows: Sequence[dict], csv_path: str | os.PathLike, md_path: str | os.PathLike | None = None,
                *, digits: int = 4) -> None:
    """Write result rows (dicts with the same keys) as CSV and, optionally, a Markdown table."""
    if not rows:
        raise ValueError("no rows to write")
    fields = list(rows[0])

    def write_csv(tmp: Path) -> None:
        with open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)

    atomic_write(csv_path, write_csv)
    if md_path is not None:
        def cell(value) -> str:
            return f"{value:.{digits}f}" if isinstance(value, float) else str(value)

        lines = ["| " + " | ".join(fields) + " |", "|" + "---|" * len(fields)]
        lines += ["| " + " | ".join(cell(row[f]) for f in fields) + " |" for row in rows]
        atomic_write(md_path, lambda tmp: tmp.write_text("\n".join(lines) + "\n"))
