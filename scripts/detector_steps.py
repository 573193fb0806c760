"""Shared by the detector scripts: the K-way focus map that a sequential pairwise fusion amounts to."""
from __future__ import annotations

import numpy as np


def compose_step_maps(steps: list[np.ndarray]) -> np.ndarray:
    """``(K, H, W)`` map from the K - 1 step maps ``(2, H, W)`` of ((X1 + X2) + X3) + ...

    Source 1 keeps the pixels every step gave to the running fusion; source k > 1 those step k - 1 gave it
    and no later step took away. One-hot steps give a one-hot map; K = 2 returns the one step's map.
    """
    if not steps:
        raise ValueError("need at least one step map")
    kept = np.ones_like(steps[0][0])
    layers = []
    for step in reversed(steps):  # the last step decides first
        layers.append(kept * step[1])
        kept = kept * step[0]
    layers.append(kept)
    return np.stack(layers[::-1]).astype(np.float32)
