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

from .ssim import C1, MFFSSIMObjective

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
    """Tile boundaries over [lo, hi): pieces of equal length between size * 3/4 and size * 4/3 when one such
    length divides hi - lo (then every tile has one shape and one objective serves them all), else steps of
    ``size`` with a last piece shorter than size/2 joined to the one before."""
    span = hi - lo
    for pieces in sorted(range(1, span + 1), key=lambda n: abs(span / n - size)):
        if not 0.75 * size <= span / pieces <= 4 * size / 3:
            break
        if span % pieces == 0:
            return list(range(lo, hi + 1, span // pieces))
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


# the float32 values of 8-bit images as mffssim.io reads them (k / 255): a tile whose sources hold only these
# keeps them as uint8 codes
_BYTE_VALUES = torch.from_numpy(np.arange(256, dtype=np.float32) / 255.0)


@dataclass
class _TileState:
    """What a tile's objective holds that differs from the other tiles of its shape (see BandObjective._load)."""

    sources: torch.Tensor | None  # (K', C, h, w): uint8 codes of _BYTE_VALUES, the centred float sources, or
    # None: cut from the BandObjective's coded sources at each load
    mux64_c: torch.Tensor  # (1, h - W + 1, w - W + 1) float64: the selected source's centred window means
    varx_c2: torch.Tensor  # its window variances + C2
    index: torch.Tensor  # uint8 (int16 beyond 256 sources): which of the tile's K' sources each window selects
    tile: _Tile | None = None

    @property
    def nbytes(self) -> int:
        kept = (self.mux64_c, self.varx_c2, self.index) + (() if self.sources is None else (self.sources,))
        return sum(t.nelement() * t.element_size() for t in kept)


class BandObjective:
    """Q and dQ/dY of the moving pixels, packed (C, n), for one-hot maps and the paper variant.

    ``sources`` (K, H, W, C) float32 in [0, 1] (or uint8 codes of 8-bit values, :mod:`mffssim.stack`: then
    the tiles cut their sources from the codes at each load and keep none), ``labels`` (H, W) the 0-based
    source per pixel, ``moving``
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
        self.coded = sources.dtype == np.uint8
        if shift is None and self.coded:  # the mean of the float values, from a histogram of the codes
            histogram = np.bincount(sources.ravel(), minlength=256)
            shift = float(histogram @ _BYTE_VALUES.numpy().astype(np.float64) / sources.size)
        self.shift = float(torch.from_numpy(sources).mean(dtype=torch.float64)) if shift is None else shift
        rows, cols = DEFAULT_TILE if tile is None else (tile, tile) if isinstance(tile, (int, np.integer)) else tile
        self.tile_size = (max(int(rows or height), 8), max(int(cols or width), 8))
        start = np.take_along_axis(sources, labels[None, :, :, None].astype(np.intp), 0)[0]  # Eq. 1, one-hot
        start = _BYTE_VALUES.numpy()[start] if self.coded else start
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
                    present = np.array([int(present[0]), (int(present[0]) + 1) % count])
                pos = position.reshape(height, width)[rows, cols].ravel()
                local = np.flatnonzero(pos >= 0)
                # int64: torch's index_add_ along dim 1 measured 27x slower with int32 indices
                self.tiles.append(_Tile(r0, r1, c0, c1, present, torch.from_numpy(local).to(self.device),
                                        torch.from_numpy(pos[local]).to(self.device)))
                active_windows += (r1 - r0) * (c1 - c0)
        self.frozen_windows = self.patches - active_windows  # SSIM 1 each, whatever the moving pixels do
        self.computed_share = active_windows / self.patches
        self.cache_bytes = cache_bytes
        self._cache: dict[int, MFFSSIMObjective] = {}
        self._cached_bytes = 0
        self._templates: dict = {}  # (sources, footprint shape) -> the live objective of that shape
        self._loaded: dict = {}  # (sources, footprint shape) -> the tile loaded in its template
        self.rebuilt = 0

    # --- tile objectives ---------------------------------------------------------------------------
    # One live MFFSSIMObjective (the *template*) per footprint shape and source count; each tile keeps only
    # what differs between tiles (its centred sources, its sources' window means and variances, the selected
    # source per window: 37 bytes per footprint pixel for K = 2, C = 3, instead of about 100) and is loaded into
    # the template before its evaluation. With a one-hot map the template's other per-window maps (the map
    # at the centres, all ones, and the weights) are the same for every tile of its shape.
    def _build(self, t: _Tile) -> tuple[MFFSSIMObjective, torch.Tensor]:
        """The tile's objective and its sources (K', C, h, w) as given to it."""
        r = self.radius
        rows, cols = slice(t.r0 - r, t.r1 + r), slice(t.c0 - r, t.c1 + r)
        x = self._footprint(t).to(self.dtype)
        m = torch.from_numpy(self.labels[rows, cols][None] == t.present[:, None, None])
        objective = MFFSSIMObjective(x, m.to(self.device, self.dtype), self.window, "paper", shift=self.shift,
                                     count=self.patches)
        return objective, x

    def _footprint(self, t: _Tile) -> torch.Tensor:
        """The tile's sources over its footprint, (K', C, h, w) float (decoded from the codes if coded)."""
        r = self.radius
        cut = self.sources[:, t.r0 - r : t.r1 + r, t.c0 - r : t.c1 + r][t.present]
        if self.coded:
            cut = _BYTE_VALUES.numpy()[cut]
        return torch.from_numpy(np.ascontiguousarray(cut.transpose(0, 3, 1, 2))).to(self.device)

    def _state(self, objective: MFFSSIMObjective, x: torch.Tensor, t: _Tile) -> _TileState:
        sources = None if self.coded else objective._stack[2:].clone()  # coded: cut again at each load
        if sources is not None and x.dtype == torch.float32:
            codes = torch.round(x * 255.0).clamp_(0, 255).to(torch.uint8)
            if torch.equal(_BYTE_VALUES.to(x.device)[codes.long()], x):
                sources = codes
        return _TileState(sources, objective._mux64_c.clone(),
                          objective._windows.varx_c2.clone(),
                          objective._selection._index.to(torch.uint8 if objective.num_sources <= 256 else torch.int16),
                          t)

    def _load(self, template: MFFSSIMObjective, state: _TileState) -> None:
        """Make ``template`` the objective of the tile whose state is ``state`` (the operations of its
        construction, so the values are the same to the bit)."""
        if state.sources is None:  # coded sources: cut and decode the footprint again
            x = self._footprint(state.tile)
            torch.sub(x.to(self.dtype), template.shift, out=template._stack[2:])
        elif state.sources.dtype == torch.uint8:  # the same float32 subtraction as the objective's own
            torch.sub(_BYTE_VALUES.to(self.device)[state.sources.long()], template.shift, out=template._stack[2:])
        else:
            template._stack[2:].copy_(state.sources)
        template._mux64_c.copy_(state.mux64_c)
        selection = template._selection
        selection._index.copy_(state.index)
        labels = torch.arange(selection._masks.shape[0], device=self.device).view(-1, 1, 1)
        selection._masks.copy_(torch.eq(state.index, labels))
        windows = template._windows
        mux = state.mux64_c + windows.shift
        windows.mux_c.copy_(state.mux64_c)
        windows.mux.copy_(mux)
        windows.two_mux.copy_(2.0 * mux)
        windows.mux_sq_c1.copy_(mux * mux + C1)
        windows.varx_c2.copy_(state.varx_c2)

    def _objective(self, i: int) -> MFFSSIMObjective:
        t = self.tiles[i]
        state = self._cache.get(i)
        if state is None:
            objective, x = self._build(t)
            key = (objective.num_sources, objective.shape)
            template = self._templates.setdefault(key, objective)
            state = self._state(objective, x, t)
            del x
            size = state.nbytes
            if self._cached_bytes + size <= self.cache_bytes:
                self._cache[i] = state
                self._cached_bytes += size
            else:
                self.rebuilt += 1
            if template is objective:
                self._loaded[key] = i
                return objective
        else:
            key = (len(t.present), (self.shape[0], t.r1 - t.r0 + 2 * self.radius, t.c1 - t.c0 + 2 * self.radius))
            template = self._templates[key]
        if self._loaded.get(key) != i:
            self._load(template, state)
            self._loaded[key] = i
        return template

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
