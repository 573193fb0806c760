"""The band solver: Algorithm 1 with the pixels far from the focus map's boundaries frozen, evaluated on tiles.

With a one-hot map and the pixel-wise start Y = X^(label), every pixel farther than ``radius`` (Chebyshev
distance) from a pixel of another label is *frozen* at its start value; the others, the *moving set*,
are optimised. A window whose pixels are all frozen holds one label only (``radius >= 1``), so Y equals
the selected source over it: SSIM = 1 and no gradient, whatever the moving pixels do. So Q is the
count of those windows plus the SSIMs of the windows that reach a moving pixel, and dQ/dY at the moving
pixels needs only the latter. The window centres are split into square tiles; only the tiles whose
windows reach a moving pixel (*active* tiles) are evaluated, each on its footprint (the tile's centres
plus the window radius) by :class:`mffssim.ssim.MFFSSIMObjective` with the frame's shift and patch count,
so its Q and gradient are the tile's share of the frame's.

Freezing changes the answer (the full-frame path may move every pixel a little); the full-frame path
with the same frozen pixels (``fuse(solver="full", band_radius=r)``) gives the same trace and image up to
float32 round-off, which the tests check. Paper variant only (the reference variant's reflect-padded
Gaussian windows keep the full-frame path).

The optimiser works on the moving pixels only, packed into a (C, n) tensor: memory and the cost of an
optimiser step follow the band, not the frame. What stays whole-frame: the sources, the fused image
(C, H, W) and the map.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage

from .ssim import MFFSSIMObjective

# tile (rows, columns) of window centres when none is given; None: the whole width. Measured on a 4 MP
# upscaled PCB pair (1 thread, 10 steps, CPU seconds): strips of 128 rows 4.7, of 32 or 512 rows 5.2 and
# 5.4, tiles of 256 x 512 5.0, of 128 x 128 8.8, the full frame 6.9: on Laplacian maps the band reaches
# nearly every tile anyway, and long rows suit the running sums
DEFAULT_TILE = (128, None)


def moving_mask(labels: np.ndarray, radius: int) -> np.ndarray:
    """Pixels within Chebyshev distance ``radius`` of a pixel of another label: bool (H, W).

    ``labels`` (H, W) are integer source indices (the one-hot map's argmax). ``radius`` 0 is empty.
    """
    if radius < 0:
        raise ValueError(f"band_radius: must be a non-negative integer, got {radius!r}")
    if radius == 0:
        return np.zeros(labels.shape, bool)
    size = 2 * radius + 1
    high = ndimage.maximum_filter(labels, size, mode="nearest")
    low = ndimage.minimum_filter(labels, size, mode="nearest")
    return high != low


def _edges(lo: int, hi: int, size: int) -> list[int]:
    """Tile boundaries over [lo, hi): steps of ``size``; a last piece shorter than size/2 joins the one before."""
    edges = list(range(lo, hi, size)) + [hi]
    if len(edges) > 2 and edges[-1] - edges[-2] < size // 2:
        del edges[-2]
    return edges


@dataclass
class _Tile:
    r0: int  # window centres [r0, r1) x [c0, c1); footprint [r0 - r, r1 + r) x [c0 - r, c1 + r)
    r1: int
    c0: int
    c1: int
    present: np.ndarray  # labels at the centres (0-based source indices), at least two
    local: torch.Tensor  # flat footprint indices of its moving pixels
    packed: torch.Tensor  # their positions in the packed (C, n) vector


class BandObjective:
    """Q and dQ/dY of the moving pixels, packed (C, n), for one-hot maps and the paper variant.

    ``sources`` (K, H, W, C) float32 in [0, 1], ``labels`` (H, W) the 0-based source per pixel, ``moving``
    (H, W) bool. :attr:`start` is the packed pixel-wise start; :meth:`value_and_grad` takes a packed
    iterate; :meth:`image` writes one into the whole fused image. ``cache_bytes`` bounds the tile objectives
    kept between steps (beyond it a tile's objective is rebuilt at each evaluation: slower, same values).
    """

    def __init__(self, sources: np.ndarray, labels: np.ndarray, moving: np.ndarray, window: int, *,
                 tile: int | None = None, dtype=torch.float32, device=None, shift: float | None = None,
                 cache_bytes: float = math.inf):
        count, height, width, channels = sources.shape
        r = window // 2
        self.window, self.radius, self.shape = window, r, (channels, height, width)
        self.dtype, self.device = dtype, torch.device("cpu") if device is None else torch.device(device)
        self.sources, self.labels, self.num_sources = sources, labels, count
        self.patches = (height - window + 1) * (width - window + 1)
        self.shift = float(torch.from_numpy(sources).mean(dtype=torch.float64)) if shift is None else shift
        rows, cols = DEFAULT_TILE if tile is None else (tile, tile) if isinstance(tile, (int, np.integer)) else tile
        self.tile_size = (max(int(rows or height), 8), max(int(cols or width), 8))
        start = np.take_along_axis(sources, labels[None, :, :, None].astype(np.intp), 0)[0]  # Eq. 1, one-hot
        self._image = torch.from_numpy(np.ascontiguousarray(start.transpose(2, 0, 1))).to(self.device, dtype)
        flat = np.flatnonzero(moving)
        self.moving_pixels = int(flat.size)
        self._index = torch.from_numpy(flat).to(self.device)
        self.start = self._image.view(channels, -1)[:, self._index].clone()
        position = np.full(height * width, -1, np.int64)
        position[flat] = np.arange(flat.size)
        # a tile is active when a window centred in it reaches a moving pixel: the moving set dilated by r
        reach = ndimage.maximum_filter(moving.view(np.uint8), 2 * r + 1, mode="constant") > 0 if flat.size else moving
        row_edges = _edges(r, height - r, self.tile_size[0])
        col_edges = _edges(r, width - r, self.tile_size[1])
        self.tiles_total = (len(row_edges) - 1) * (len(col_edges) - 1)
        self.tiles: list[_Tile] = []
        active_windows = 0
        for a in range(len(row_edges) - 1):
            for b in range(len(col_edges) - 1):
                r0, r1, c0, c1 = row_edges[a], row_edges[a + 1], col_edges[b], col_edges[b + 1]
                if not reach[r0:r1, c0:c1].any():
                    continue
                rows, cols = slice(r0 - r, r1 + r), slice(c0 - r, c1 + r)
                present = np.unique(labels[r0:r1, c0:c1])
                if present.size == 1:  # the objective wants two sources: add one with zero weight
                    present = np.array([present[0], (present[0] + 1) % count])
                pos = position.reshape(height, width)[rows, cols].ravel()
                local = np.flatnonzero(pos >= 0)
                self.tiles.append(_Tile(r0, r1, c0, c1, present, torch.from_numpy(local).to(self.device),
                                        torch.from_numpy(pos[local]).to(self.device)))
                active_windows += (r1 - r0) * (c1 - c0)
        self.frozen_windows = self.patches - active_windows  # SSIM 1 each, whatever the moving pixels do
        self.computed_share = active_windows / self.patches
        self.cache_bytes = cache_bytes
        self._cache: dict[int, MFFSSIMObjective] = {}
        self._cached_bytes = 0
        self._shared: dict = {}
        self.rebuilt = 0

    # --- tile objectives ---------------------------------------------------------------------------
    def _build(self, t: _Tile) -> MFFSSIMObjective:
        r = self.radius
        rows, cols = slice(t.r0 - r, t.r1 + r), slice(t.c0 - r, t.c1 + r)
        x = torch.from_numpy(np.ascontiguousarray(self.sources[:, rows, cols][t.present].transpose(0, 3, 1, 2)))
        m = torch.from_numpy(self.labels[rows, cols][None] == t.present[:, None, None])
        objective = MFFSSIMObjective(x.to(self.device, self.dtype), m.to(self.device, self.dtype), self.window,
                                     "paper", shift=self.shift, count=self.patches)
        self._share_buffers(objective)
        return objective

    def _share_buffers(self, objective: MFFSSIMObjective) -> None:
        """Point the objective's work buffers (live only during one evaluation) at ones shared by the tiles
        of the same footprint shape and source count."""
        key = (objective.num_sources, objective.shape)
        shared = self._shared.setdefault(key, {})
        for name in ("_box", "_maps", "_cov64", "_stats", "_coeff", "_back"):
            setattr(objective, name, shared.setdefault(name, getattr(objective, name)))
        windows = objective._windows
        windows._ws = shared.setdefault("_ws", windows._ws)
        for name in ("_active", "_muy", "_muy_sq"):
            setattr(windows, name, shared.setdefault("w" + name, getattr(windows, name)))

    @staticmethod
    def _kept_bytes(objective: MFFSSIMObjective) -> int:
        tensors = [objective._stack, objective._mux64_c, objective._m, objective._weight,
                   objective._selection._index, objective._selection._masks]
        windows = objective._windows
        tensors += [windows.mux_c, windows.mux, windows.two_mux, windows.mux_sq_c1, windows.varx_c2]
        return sum(t.nelement() * t.element_size() for t in tensors)

    def _objective(self, i: int) -> MFFSSIMObjective:
        objective = self._cache.get(i)
        if objective is None:
            objective = self._build(self.tiles[i])
            size = self._kept_bytes(objective)
            if self._cached_bytes + size <= self.cache_bytes:
                self._cache[i] = objective
                self._cached_bytes += size
            else:
                self.rebuilt += 1
        return objective

    # --- evaluation --------------------------------------------------------------------------------
    def image(self, packed: torch.Tensor) -> torch.Tensor:
        """The whole fused image (C, H, W) with the packed moving pixels written in (a view, reused)."""
        channels = self.shape[0]
        self._image.view(channels, -1).index_copy_(1, self._index, packed)
        return self._image

    def value_and_grad(self, packed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Q (0-dim tensor) and dQ/dY at the moving pixels (C, n) for the packed iterate ``packed``."""
        image = self.image(packed)
        r, channels = self.radius, self.shape[0]
        grad = torch.zeros_like(packed)
        total = self.frozen_windows / self.patches
        for i, t in enumerate(self.tiles):
            q, g = self._objective(i).value_and_grad(image[:, t.r0 - r : t.r1 + r, t.c0 - r : t.c1 + r])
            total += float(q)
            if t.local.numel():
                grad.index_add_(1, t.packed, g.reshape(channels, -1)[:, t.local])
        return torch.tensor(total, dtype=torch.float64).to(self.dtype), grad

    @property
    def cached_bytes(self) -> int:
        return self._cached_bytes
