"""Detector depth and width ablation (the paper's Fig. 8): train the ResNet focus detector with B residual
blocks at a base width F, and with F filters at a base depth B, through :mod:`mffssim.detector` (the same
training and held-out evaluation as the workflow's detector), and tabulate pixel accuracy, IoU and loss
on the held-out pairs.

The paper varied B over 3..10 at F = 128 and F over 8..256 at B = 8, trained 50 epochs on VOC 2012, and
scored MS-ResNet's PSNR / SSIM on MFFW (against manual fusions that are not public); here the detector's
own held-out scores stand in for them.
"""
from __future__ import annotations

import math
import os
from typing import Any, Mapping, Sequence

from mffssim.io import save_figure
from mffssim.workflow.experiments.report_io import markdown_table

ROW_FIELDS = ("width", "blocks", "parameters", "epochs", "samples_per_epoch", "accuracy", "mean_iou",
              "heldout_loss", "final_loss", "train_seconds", "train_cpu_seconds")


def ablation_grid(depths: Sequence[int], widths: Sequence[int], base_width: int, base_blocks: int) -> list[tuple[int, int]]:
    """The (width, blocks) pairs to train: every depth at ``base_width`` and every width at
    ``base_blocks`` (their shared point once), sorted."""
    grid = {(int(base_width), int(b)) for b in depths} | {(int(w), int(base_blocks)) for w in widths}
    if any(w < 1 or b < 0 for w, b in grid):
        raise ValueError(f"widths must be >= 1 and depths >= 0, got {sorted(grid)}")
    return sorted(grid)


def variant_settings(settings: Mapping[str, Any], width: int, blocks: int, **overrides: Any) -> dict[str, Any]:
    """The DetectorConfig mapping of one grid point: ``settings`` (the workflow's detector block) with
    the width, the blocks and ``overrides`` (e.g. the study's epochs and samples_per_epoch) replaced."""
    merged = dict(settings)
    merged.update({k: v for k, v in overrides.items() if v is not None})
    merged["width"], merged["blocks"] = int(width), int(blocks)
    return merged


def train_variant(settings: Mapping[str, Any], out_dir: str | os.PathLike, *, device: str = "auto",
                  threads: int | None = None, progress: bool = False) -> dict[str, Any]:
    """Train and evaluate one grid point into ``out_dir`` (weights.pt, loss.csv, evaluation.csv); return
    its row (the held-out scores of :func:`mffssim.detector.train_and_evaluate` plus the parameter count).

    Training resumes from ``out_dir/checkpoints`` only when the settings that wrote them are these (a
    changed number of epochs or samples starts afresh rather than extend another run)."""
    import json
    import shutil
    from pathlib import Path

    from mffssim.detector import FocusNet, count_parameters, train_and_evaluate

    checkpoints = Path(out_dir) / "checkpoints"
    stamp, wanted = checkpoints / "settings.json", json.dumps(dict(settings), sort_keys=True, default=list)
    if checkpoints.exists() and (not stamp.is_file() or stamp.read_text() != wanted):
        shutil.rmtree(checkpoints)
    checkpoints.mkdir(parents=True, exist_ok=True)
    stamp.write_text(wanted)
    row = train_and_evaluate(dict(settings), out_dir, device=device, threads=threads, progress=progress)
    row["parameters"] = count_parameters(FocusNet(row["width"], row["blocks"]))
    return row


def ablation_table(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows reduced to ROW_FIELDS, sorted by (blocks, width); the parameter count filled in where missing
    (the evaluation.csv that train_and_evaluate writes has none)."""
    from mffssim.detector import FocusNet, count_parameters

    table = []
    for row in sorted(rows, key=lambda r: (r["blocks"], r["width"])):
        entry = {k: row.get(k) for k in ROW_FIELDS}
        if entry["parameters"] is None:
            entry["parameters"] = count_parameters(FocusNet(int(row["width"]), int(row["blocks"])))
        table.append(entry)
    return table


def ablation_figure(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike, *, base_width: int, base_blocks: int) -> None:
    """Top: accuracy, mean IoU and held-out loss against the depth B (at the base width); bottom: against
    the width F (at the base depth, log axis)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = (("accuracy", "pixel accuracy"), ("mean_iou", "mean IoU"), ("heldout_loss", "held-out BCE loss"))
    figure, axes = plt.subplots(2, len(metrics), figsize=(11, 6), squeeze=False)
    series = (
        ("blocks", sorted((r for r in rows if r["width"] == base_width), key=lambda r: r["blocks"]), f"residual blocks B (F = {base_width})"),
        ("width", sorted((r for r in rows if r["blocks"] == base_blocks), key=lambda r: r["width"]), f"filters F (B = {base_blocks})"),
    )
    for row_index, (key, members, label) in enumerate(series):
        for column, (metric, name) in enumerate(metrics):
            axis = axes[row_index, column]
            values = [float(r[metric]) for r in members]
            axis.plot([r[key] for r in members], values, "o-", color="tab:blue" if row_index == 0 else "tab:green")
            if key == "width" and len(members) > 1:
                axis.set_xscale("log", base=2)
            axis.set_xlabel(label, fontsize=8)
            axis.set_ylabel(name, fontsize=8)
            axis.tick_params(labelsize=7)
            axis.grid(alpha=0.3)
    figure.suptitle("Detector depth (top) and width (bottom), held-out synthetic pairs (Fig. 8)", fontsize=10)
    figure.tight_layout()
    save_figure(figure, path, dpi=110)


def summary_markdown(rows: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> str:
    table = ablation_table(rows)
    best = max(table, key=lambda r: float(r["accuracy"]))
    text = [
        "# Detector depth and width ablation (Fig. 8)",
        "",
        f"FocusNet trained through mffssim.detector: depths {list(settings.get('depths', []))} at width "
        f"{settings.get('base_width')}, widths {list(settings.get('widths', []))} at depth {settings.get('base_blocks')}; "
        f"{settings.get('epochs')} epochs of {settings.get('samples_per_epoch')} synthetic pairs "
        f"(source `{settings.get('source')}`, crops {settings.get('crop')} px, batch {settings.get('batch_size')}, "
        f"Adam lr {settings.get('lr')}), each scored on the same held-out pairs (images never trained on): pixel "
        "accuracy and mean IoU of the two in-focus regions, and the BCE loss.",
        "",
        markdown_table(table, digits={"heldout_loss": 4, "final_loss": 4, "train_seconds": 1, "train_cpu_seconds": 1}),
        f"Best held-out accuracy: F = {best['width']}, B = {best['blocks']} ({float(best['accuracy']):.4f}).",
        "",
        "Reductions against the paper: a CPU-sized grid and training (paper: B = 3..10 at F = 128 and F = 8..256 "
        "at B = 8, 50 epochs on the 2913 VOC 2012 images, batch 6, lr 1e-4); scores on held-out synthetic pairs "
        "instead of MS-ResNet's PSNR / SSIM on MFFW (the manual fusions are not public). At this scale training "
        "noise is of the order of the differences between grid points: read trends, not single points.",
        "",
        "Figure: detector_ablation.png. Data: detector_ablation.csv; each grid point's weights and loss curve "
        "under F<width>_B<blocks>/.",
        "",
    ]
    if any(not math.isfinite(float(r["accuracy"])) for r in table):
        text.insert(-1, "Some grid points have no finite accuracy: see their logs.")
    return "\n".join(text)
