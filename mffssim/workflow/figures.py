"""Figures of the workflow: a panel per image set (sources, focus map, fused images, zoomed crops at a
focus boundary, where defocus spread shows) and convergence curves of the MFF-SSIM index Q.

Matplotlib's object API with the Agg backend (no global pyplot state); files are written atomically.
"""
from __future__ import annotations

import os
from typing import Mapping, Sequence

import numpy as np

from mffssim.io import save_figure


def map_to_display(focus_map: np.ndarray) -> np.ndarray:
    """A ``(K, H, W)`` focus map as one ``(H, W)`` image in [0, 1]: K = 2 shows source 1's weight,
    K > 2 the index of the sharpest source scaled to [0, 1]."""
    focus_map = np.asarray(focus_map, dtype=np.float32)
    if focus_map.ndim != 3 or focus_map.shape[0] < 2:
        raise ValueError(f"focus_map must have shape (K>=2, H, W), got {focus_map.shape}")
    if focus_map.shape[0] == 2:
        return np.clip(focus_map[0], 0.0, 1.0)
    return np.argmax(focus_map, axis=0).astype(np.float32) / (focus_map.shape[0] - 1)


def boundary_crop(focus_map: np.ndarray, size: int) -> tuple[int, int, int, int]:
    """The ``size`` x ``size`` window (clipped to the image) holding the most focus-boundary pixels.

    Returns ``(top, left, height, width)``. Boundary pixels are those whose sharpest source differs from
    a 4-neighbour's; with no boundary the crop is centred. Ties go to the first window in raster order.
    """
    focus_map = np.asarray(focus_map)
    if focus_map.ndim != 3 or focus_map.shape[0] < 2:
        raise ValueError(f"focus_map must have shape (K>=2, H, W), got {focus_map.shape}")
    if size < 1:
        raise ValueError(f"crop size must be positive, got {size}")
    height, width = focus_map.shape[1:]
    crop_h, crop_w = min(size, height), min(size, width)
    labels = np.argmax(focus_map, axis=0)
    edge = np.zeros(labels.shape, dtype=np.float64)
    edge[1:, :] += labels[1:, :] != labels[:-1, :]
    edge[:, 1:] += labels[:, 1:] != labels[:, :-1]
    if not edge.any():
        return (height - crop_h) // 2, (width - crop_w) // 2, crop_h, crop_w
    # sum of boundary pixels in every window whose top-left corner is (i, j)
    integral = np.pad(edge.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    sums = (
        integral[crop_h:, crop_w:] - integral[:-crop_h, crop_w:] - integral[crop_h:, :-crop_w] + integral[:-crop_h, :-crop_w]
    )
    top, left = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(top), int(left), crop_h, crop_w


def show_image(axis, image: np.ndarray, title: str) -> None:
    """Draw ``image`` ((H, W), (H, W, 1) gray or (H, W, 3), values in [0, 1]) on ``axis`` with a small title, no ticks."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    axis.imshow(np.clip(image, 0.0, 1.0), cmap="gray" if image.ndim == 2 else None, vmin=0.0, vmax=1.0, interpolation="nearest")
    axis.set_title(title, fontsize=8)
    axis.set_xticks([])
    axis.set_yticks([])


def panel_figure(
    sources: np.ndarray,
    focus_map: np.ndarray,
    fused: Mapping[str, np.ndarray],
    path: str | os.PathLike,
    *,
    crop: int = 64,
    title: str | None = None,
    dpi: int = 100,
) -> tuple[int, int, int, int]:
    """Write a panel: row 1 the K sources and the focus map; row 2 each fused image with the crop
    outlined; row 3 the zoomed crops (sources' crops first). Returns the crop ``(top, left, h, w)``."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    sources = np.asarray(sources, dtype=np.float32)
    if sources.ndim != 4 or sources.shape[0] < 2:
        raise ValueError(f"sources must have shape (K>=2, H, W, C), got {sources.shape}")
    if tuple(np.shape(focus_map)) != (sources.shape[0],) + sources.shape[1:3]:
        raise ValueError(f"focus_map shape {np.shape(focus_map)} does not match sources {sources.shape}")
    if not fused:
        raise ValueError("panel_figure needs at least one fused image")
    for name, image in fused.items():
        if np.shape(image)[:2] != sources.shape[1:3]:
            raise ValueError(f"fused image {name!r} has shape {np.shape(image)}, the sources {sources.shape[1:3]}")
    n_sources = sources.shape[0]
    top, left, crop_h, crop_w = boundary_crop(focus_map, crop)
    crops = [(f"source {k + 1} (crop)", sources[k]) for k in range(n_sources)] + [
        (f"{name} (crop)", np.asarray(image)) for name, image in fused.items()
    ]
    columns = max(n_sources + 1, len(fused), len(crops) if len(crops) <= 6 else 6)
    crop_rows = -(-len(crops) // columns)
    rows = 2 + crop_rows
    height, width = sources.shape[1:3]
    cell = 2.4
    figure = Figure(figsize=(cell * columns, cell * rows * max(height / width, 0.4) + 0.6), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    for axis in axes.flat:
        axis.set_axis_off()
    for k in range(n_sources):
        axes[0, k].set_axis_on()
        show_image(axes[0, k], sources[k], f"source {k + 1}")
        axes[0, k].add_patch(Rectangle((left - 0.5, top - 0.5), crop_w, crop_h, fill=False, edgecolor="red", linewidth=1))
    axes[0, n_sources].set_axis_on()
    show_image(axes[0, n_sources], map_to_display(focus_map), "focus map")
    for j, (name, image) in enumerate(fused.items()):
        axis = axes[1, j]
        axis.set_axis_on()
        show_image(axis, image, name)
        axis.add_patch(Rectangle((left - 0.5, top - 0.5), crop_w, crop_h, fill=False, edgecolor="red", linewidth=1))
    for index, (name, image) in enumerate(crops):
        axis = axes[2 + index // columns, index % columns]
        axis.set_axis_on()
        show_image(axis, image[top : top + crop_h, left : left + crop_w], name)
    if title:
        figure.suptitle(title, fontsize=10)
    save_figure(figure, path, dpi=dpi)
    return top, left, crop_h, crop_w


def convergence_figure(
    traces: Mapping[str, Sequence[float]],
    path: str | os.PathLike,
    *,
    groups: Mapping[str, str] | None = None,
    title: str | None = None,
    dpi: int = 100,
) -> None:
    """Plot Q against the iteration, one line per labelled trace, and write the figure.

    ``groups`` maps a label to a group name (e.g. the method): lines of one group share a colour and one
    legend entry, so many image sets stay readable. Without it every line has its own legend entry.
    """
    from matplotlib.figure import Figure

    if not traces:
        raise ValueError("convergence_figure needs at least one trace")
    groups = dict(groups or {})
    names = list(dict.fromkeys(groups.get(label, label) for label in traces))
    colours = {name: f"C{i % 10}" for i, name in enumerate(names)}
    figure = Figure(figsize=(6.4, 4.0), layout="constrained")
    axis = figure.subplots()
    labelled = set()
    for label, trace in traces.items():
        values = np.asarray(trace, dtype=np.float64)
        if values.ndim != 1 or values.size == 0:
            raise ValueError(f"trace {label!r} must be a non-empty 1-D sequence")
        name = groups.get(label, label)
        axis.plot(
            np.arange(values.size), values, color=colours[name], linewidth=1, alpha=0.8,
            label=None if name in labelled else name,
        )
        labelled.add(name)
    axis.set_xlabel("iteration")
    axis.set_ylabel("MFF-SSIM index Q")
    axis.grid(True, alpha=0.3)
    if len(names) <= 20:
        axis.legend(fontsize=7)
    if title:
        axis.set_title(title, fontsize=10)
    save_figure(figure, path, dpi=dpi)
