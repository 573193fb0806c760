"""Focus maps from a trained FocusNet, tiled for large images, and MS-ResNet sequential fusion (K > 2).

Tiling is exact: each tile is run with a halo of ``FocusNet.halo`` = 2B + 2 pixels (one per 3x3
convolution), so the reflection padding at a tile's inner edge cannot reach the kept core; at the image
border the tile's padding is the image's own. Tiled and untiled maps agree up to float round-off.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable, Sequence

import numpy as np
import torch

from mffssim.detector.data import to_gray
from mffssim.detector.network import FocusNet
from mffssim.detector.train import load_model, resolve_device


def _tiles(length: int, tile: int):
    """``(start, stop)`` cores covering ``range(length)`` in steps of ``tile``."""
    return [(start, min(start + tile, length)) for start in range(0, length, tile)]


def focus_probability(gray_1: np.ndarray, gray_2: np.ndarray, model: FocusNet, *, tile: int | None = 1024,
                      device: str | torch.device = "auto") -> np.ndarray:
    """Float32 ``(H, W)`` probability that source 1 is in focus, from two gray ``(H, W)`` images.

    ``tile`` is the edge of the core computed per network call (None: the whole image at once); memory
    grows with ``(tile + 2 * halo)**2 * width``.
    """
    device = resolve_device(device)
    gray_1, gray_2 = (np.asarray(g, dtype=np.float32) for g in (gray_1, gray_2))
    if gray_1.ndim != 2 or gray_1.shape != gray_2.shape:
        raise ValueError(f"need two gray (H, W) images of one shape, got {gray_1.shape} and {gray_2.shape}")
    height, width = gray_1.shape
    if min(height, width) < 2:
        raise ValueError(f"images must be at least 2x2 pixels (reflection padding), got {gray_1.shape}")
    if tile is not None and tile < 1:
        raise ValueError(f"tile must be >= 1 or None, got {tile}")
    tile = max(height, width) if tile is None else int(tile)
    halo = model.halo
    model = model.to(device).eval()
    out = np.empty((height, width), dtype=np.float32)
    with torch.no_grad():
        for top, bottom in _tiles(height, tile):
            for left, right in _tiles(width, tile):
                # the extended window, at least 2 px so reflection padding is defined
                r0, r1 = max(0, top - halo), min(height, bottom + halo)
                c0, c1 = max(0, left - halo), min(width, right + halo)
                r0, c0 = min(r0, r1 - 2), min(c0, c1 - 2)
                x1 = torch.from_numpy(np.ascontiguousarray(gray_1[r0:r1, c0:c1]))[None, None].to(device)
                x2 = torch.from_numpy(np.ascontiguousarray(gray_2[r0:r1, c0:c1]))[None, None].to(device)
                probability = model(x1, x2)[0, 0].cpu().numpy()
                out[top:bottom, left:right] = probability[top - r0:bottom - r0, left - c0:right - c0]
    return out


def detect_focus_map(sources: np.ndarray | Sequence[np.ndarray], weights: str | os.PathLike | FocusNet, *,
                     device: str | torch.device = "auto", tile: int | None = 1024) -> np.ndarray:
    """One-hot float32 ``(2, H, W)`` focus map of a pair of sources ``(2, H, W[, C])`` in [0, 1].

    ``map[0] = 1`` where the network's probability for source 1 exceeds 0.5, else ``map[1] = 1``. Colour
    sources are converted to gray with the network's luma weights (``model.gray``: the authors' weights
    take ITU-R 601, ours ITU-R 709). For K > 2 use :func:`fuse_sequential`.
    """
    if len(sources) != 2:
        raise ValueError(f"the ResNet detector compares two sources, got {len(sources)}; "
                         "use fuse_sequential for K > 2")
    model = load_model(weights, device)
    gray_1, gray_2 = (to_gray(source, model.gray) for source in sources)
    probability = focus_probability(gray_1, gray_2, model, tile=tile, device=device)
    first = (probability > 0.5).astype(np.float32)
    return np.stack([first, 1.0 - first])


def _fused_image(result: Any) -> np.ndarray:
    """The fused ``(H, W, C)`` image from what the fusion function returned: an array, or a
    :class:`mffssim.FusionResult` (its ``image``)."""
    if isinstance(result, np.ndarray):
        return result
    if hasattr(result, "image"):
        return np.asarray(result.image)
    raise TypeError(f"fusion returned {type(result).__name__}, which holds no fused image")


def fuse_sequential(sources: np.ndarray | Sequence[np.ndarray], weights: str | os.PathLike | FocusNet, *,
                    device: str | torch.device = "auto", tile: int | None = 1024,
                    fuse: Callable[..., Any] | None = None, **fuse_kwargs: Any
                    ) -> tuple[np.ndarray, list[np.ndarray]]:
    """MS-ResNet for K >= 2 sources, one pair at a time as the paper does: ((X1 + X2) + X3) + ...

    At step k the running fused image and source k + 1 are mapped by the detector and fused by ``fuse``
    (default :func:`mffssim.fuse`, called as ``fuse(pair, focus_map=map, **fuse_kwargs)``, with the
    detector's ``device`` unless ``fuse_kwargs`` names one). Returns the final fused ``(H, W, C)`` image
    and each step's ``(2, H, W)`` map (K - 1 of them).
    """
    if fuse is None:
        from mffssim import fuse

        fuse_kwargs.setdefault("device", str(device))
    sources = [np.asarray(s, dtype=np.float32) for s in sources]
    if len(sources) < 2:
        raise ValueError(f"fusion needs at least 2 sources, got {len(sources)}")
    if any(s.shape != sources[0].shape for s in sources):
        raise ValueError(f"sources differ in shape: {[s.shape for s in sources]}")
    model = load_model(weights, device)
    current, maps = sources[0], []
    for following in sources[1:]:
        pair = np.stack([current, following])
        focus_map = detect_focus_map(pair, model, device=device, tile=tile)
        current = _fused_image(fuse(pair, focus_map=focus_map, **fuse_kwargs)).astype(np.float32)
        maps.append(focus_map)
    return current, maps


def compose_step_maps(steps: Sequence[np.ndarray]) -> np.ndarray:
    """``(K, H, W)`` map from the K - 1 step maps ``(2, H, W)`` of a sequential fusion ((X1 + X2) + X3) + ...

    Source 1 keeps the pixels every step gave to the running fusion; source k > 1 those step k - 1 gave it
    and no later step took away. One-hot steps give a one-hot map; one step is returned as it is.
    """
    if len(steps) == 0:
        raise ValueError("need at least one step map")
    kept = np.ones_like(steps[0][0])
    layers = []
    for step in reversed(steps):  # the last step decides first
        layers.append(kept * step[1])
        kept = kept * step[0]
    layers.append(kept)
    return np.stack(layers[::-1]).astype(np.float32)


def fuse_sequential_result(sources: np.ndarray | Sequence[np.ndarray], weights: str | os.PathLike | FocusNet, *,
                           device: str | torch.device = "auto", tile: int | None = 1024,
                           fuse: Callable[..., Any] | None = None, **fuse_kwargs: Any) -> Any:
    """:func:`fuse_sequential` as one :class:`~mffssim.fusion.FusionResult` (the ``mffssim fuse --detector
    resnet`` result for K > 2): the final image, the map composed from the steps' maps
    (:func:`compose_step_maps`), the steps' total iterations and seconds, the rest (trace, Q, window...)
    of the last step.

    ``fuse`` (default :func:`mffssim.fuse`) must return a FusionResult; it is called as
    ``fuse(pair, focus_map=map, **fuse_kwargs)``, with the detector's ``device`` unless ``fuse_kwargs``
    names one.
    """
    if fuse is None:
        from mffssim import fuse
    fuse_kwargs.setdefault("device", str(device))
    results = []

    def step(pair, focus_map):
        results.append(fuse(pair, focus_map=focus_map, **fuse_kwargs))
        return results[-1]

    image, maps = fuse_sequential(sources, weights, device=device, tile=tile, fuse=step)
    return dataclasses.replace(
        results[-1], image=image, focus_map=compose_step_maps(maps),
        iterations=sum(r.iterations for r in results), seconds=sum(r.seconds for r in results),
    )
