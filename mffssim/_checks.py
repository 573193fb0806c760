"""Argument checks shared by the engine and the metrics: one home for each rule, one wording per message.

Every message starts with the name of the argument it is about (``"sources: ..."``, ``"window: ..."``),
so a caller can tell which of its arguments was refused.
"""
from __future__ import annotations

import numpy as np


def check_sources(sources, *, dtype=np.float32, unit_range: bool = True, min_size: int = 1) -> np.ndarray:
    """Return ``sources`` as ``(K, H, W, C)`` of ``dtype``; ``(K, H, W)`` is gray (C = 1).

    Raises ValueError unless there are K >= 2 sources of at least ``min_size`` x ``min_size`` pixels
    holding finite real numbers, in [0, 1] when ``unit_range``.
    """
    array = np.asarray(sources)
    if array.ndim == 3:  # (K, H, W) gray
        array = array[..., None]
    if array.ndim != 4 or array.shape[-1] < 1:
        raise ValueError(f"sources: expected an array (K, H, W, C) or (K, H, W), got shape {array.shape}")
    if array.shape[0] < 2:
        raise ValueError(f"sources: multi-focus fusion needs K >= 2 sources, got {array.shape[0]}")
    if array.shape[1] < min_size or array.shape[2] < min_size:
        raise ValueError(f"sources: images of {array.shape[2]}x{array.shape[1]} pixels are too small")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        wanted = "float values in [0, 1]" if unit_range else "real numbers"
        raise ValueError(f"sources: expected {wanted}, got dtype {array.dtype}")
    if not np.all(np.isfinite(array)):
        raise ValueError("sources: values must be finite (found NaN or infinity)")
    if unit_range:
        lo, hi = float(array.min()), float(array.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(f"sources: values must lie in [0, 1], found [{lo:g}, {hi:g}]")
    return array.astype(dtype, copy=False)


def check_window(window, height: int | None = None, width: int | None = None, *, name: str = "window") -> int:
    """Return ``window`` as an int: an odd positive integer (not a bool, not a float), at most
    ``min(height, width)`` when the image size is given. ``name`` opens the messages."""
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1 or window % 2 == 0:
        raise ValueError(f"{name}: must be an odd positive integer, got {window!r}")
    if height is not None and width is not None and window > min(height, width):
        raise ValueError(f"{name}: {window} is larger than the {width}x{height} image")
    return int(window)


def check_image_size(image: np.ndarray, size: int, metric: str, name: str = "a") -> None:
    """Raise a ValueError when ``image`` is smaller than the ``size`` x ``size`` window ``metric`` needs."""
    if min(image.shape) < size:
        raise ValueError(f"{name}: {metric} needs images of at least {size} x {size} pixels, got {image.shape}")
