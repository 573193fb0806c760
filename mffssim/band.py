"""The band solver: Algorithm 1 on the tiles where something can move (one-hot maps, pixel-wise start).

With a one-hot map and the pixel-wise start Y = X^(label), a window whose pixels all carry its centre's
label holds exactly the selected source: SSIM = 1 and a zero gradient. Adam moves no pixel whose gradient
has always been zero (m = 0, so the step is 0). So only windows near the map's boundaries, and then near
the pixels that moved, ever count. This module splits the window centres into tiles of ``tile`` x ``tile``
and evaluates Q and dQ/dY only on the *dirty* tiles:

- a tile is dirty at the start when the labels over its footprint (its centres plus the window radius r
  around them, mirrored at the image border for the reference variant) are not all one label;
- a clean tile becomes dirty, for good, as soon as a pixel of its footprint leaves its start value (a
  gradient too small to move a float32 pixel by half a unit in the last place leaves it, and the tiles
  beyond it, as they are);
- a clean tile contributes exactly its number of windows to Q's sum and nothing to the gradient.

Per dirty tile, :class:`mffssim.ssim.MFFSSIMObjective` runs on the footprint (the frame's shift and count,
so its Q and gradient are the tile's share of the frame's; reference: the footprint is cut from the
reflect-padded frame and its gradient is added back onto the pixels it mirrors), with only the sources
whose label occurs at the tile's centres. Each step's value and gradient are the whole-frame computation's
up to float32 round-off (a different summation order), and the optimisers perform the same element-wise
operations on every pixel that can move; see docs/method.md, section 4 ("the band solver").

Memory: the fused image and a gradient buffer are whole frames (C*H*W float each); the optimiser's moments
and the best iterate exist only on the blocks that some dirty tile reaches; per dirty tile the footprint's
sources and window statistics are kept (``cache_bytes`` of them; beyond it a tile is rebuilt each step),
and the work buffers are shared by the tiles of one shape.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from .ssim import MFFSSIMObjective

# tile side (window centres) when none is given: large enough that the footprint's border (2r) costs little,
# small enough that a tile holds few map boundaries
DEFAULT_TILE = 128


@dataclass
class Tile:
    """One tile: its window centres [r0, r1) x [c0, c1), its footprint's row and column indices (reflected
    into the image), and its block (a, b) in the tile grid."""

    index: int
    a: int
    b: int
    r0: int
    r1: int
    c0: int
    c1: int
    rows: np.ndarray
    cols: np.ndarray
    row_slice: slice | None
    col_slice: slice | None

    @property
    def windows(self) -> int:
        return (self.r1 - self.r0) * (self.c1 - self.c0)


def _starts(lo: int, hi: int, size: int) -> list[int]:
    """Tile boundaries over [lo, hi): steps of ``size``; a last piece shorter than size/2 joins the one before."""
    edges = list(range(lo, hi, size)) + [hi]
    if len(edges) > 2 and edges[-1] - edges[-2] < size // 2:
        del edges[-2]
    return edges


def _reflect(index: np.ndarray, n: int) -> np.ndarray:
    """numpy/torch 'reflect' (the edge not repeated) of indices into 0..n-1 (one reflection: |overhang| < n)."""
    index = np.where(index < 0, -index, index)
    return np.where(index >= n, 2 * (n - 1) - index, index)


def _as_slice(index: np.ndarray) -> slice | None:
    if index.size and np.array_equal(index, np.arange(index[0], index[0] + index.size)):
        return slice(int(index[0]), int(index[0]) + index.size)
    return None


class TileGrid:
    """The tiles of a frame (H, W) for a window and variant, and the pixel blocks the optimiser works on.

    paper: centres are the valid windows' [r, H-r) x [r, W-r); reference: every pixel. Block (a, b) is the
    pixels of tile (a, b)'s centres, the first and last rows/columns of blocks stretched to the image edge;
    with ``tile >= 2r`` a footprint lies inside the 3 x 3 blocks around its own.
    """

    def __init__(self, height: int, width: int, window: int, variant: str, tile: int | None = None):
        r = window // 2
        self.height, self.width, self.window, self.radius, self.variant = height, width, window, r, variant
        self.size = max(int(tile or DEFAULT_TILE), 2 * r, 8)
        lo = r if variant == "paper" else 0
        row_edges = _starts(lo, height - lo, self.size)
        col_edges = _starts(lo, width - lo, self.size)
        self.row_edges, self.col_edges = row_edges, col_edges
        self.shape = (len(row_edges) - 1, len(col_edges) - 1)
        self.block_rows = [0] + row_edges[1:-1] + [height]
        self.block_cols = [0] + col_edges[1:-1] + [width]
        self.tiles: list[Tile] = []
        for a in range(self.shape[0]):
            for b in range(self.shape[1]):
                r0, r1, c0, c1 = row_edges[a], row_edges[a + 1], col_edges[b], col_edges[b + 1]
                rows = _reflect(np.arange(r0 - r, r1 + r), height)
                cols = _reflect(np.arange(c0 - r, c1 + r), width)
                self.tiles.append(Tile(len(self.tiles), a, b, r0, r1, c0, c1, rows, cols,
                                       _as_slice(rows), _as_slice(cols)))

    def tile(self, a: int, b: int) -> Tile:
        return self.tiles[a * self.shape[1] + b]

    def block(self, a: int, b: int) -> tuple[slice, slice]:
        return (slice(self.block_rows[a], self.block_rows[a + 1]), slice(self.block_cols[b], self.block_cols[b + 1]))

    def neighbours(self, a: int, b: int):
        for i in range(max(a - 1, 0), min(a + 2, self.shape[0])):
            for j in range(max(b - 1, 0), min(b + 2, self.shape[1])):
                yield i, j

    def centre_labels(self, labels: np.ndarray, t: Tile) -> np.ndarray:
        return labels[t.r0 : t.r1, t.c0 : t.c1]

    def footprint_labels(self, labels: np.ndarray, t: Tile) -> np.ndarray:
        if t.row_slice is not None and t.col_slice is not None:
            return labels[t.row_slice, t.col_slice]
        return labels[np.ix_(t.rows, t.cols)]


class ArraySources:
    """Sources held in memory, float32 (K, H, W, C) in [0, 1]: footprints are cut on demand."""

    def __init__(self, sources: np.ndarray):
        self.sources = sources
        self.count, self.height, self.width, self.channels = sources.shape

    def footprint(self, t: Tile, labels: np.ndarray) -> np.ndarray:
        """float32 (len(labels), h, w, C): the sources ``labels`` (0-based) over the tile's footprint."""
        if t.row_slice is not None and t.col_slice is not None:
            return self.sources[labels][:, t.row_slice, t.col_slice]
        return self.sources[np.ix_(labels, t.rows, t.cols)]

    def mean(self) -> float:
        return float(torch.from_numpy(self.sources).mean(dtype=torch.float64))


@dataclass
class BandOutcome:
    """What :func:`solve_band` returns (fusion.fuse wraps it in a FusionResult)."""

    image: torch.Tensor  # (C, H, W)
    trace: np.ndarray
    iterations: int
    stopped_early: bool
    returned_iteration: int
    stats: dict = field(default_factory=dict)
    grad: torch.Tensor | None = None  # dQ/dY of the last iterate evaluated (zero outside the band)


def _objective_bytes(objective: MFFSSIMObjective) -> int:
    """The bytes an objective keeps between steps (its shared work buffers not counted)."""
    total = 0
    for name in ("_stack", "_mux64_c", "_m", "_weight"):
        value = getattr(objective, name, None)
        if isinstance(value, torch.Tensor):
            total += value.nelement() * value.element_size()
    windows = objective._windows
    for name in ("mux_c", "mux", "two_mux", "mux_sq_c1", "varx_c2"):
        value = getattr(windows, name)
        total += value.nelement() * value.element_size()
    selection = objective._selection
    if selection.one_hot:
        total += selection._index.nelement() * 8 + selection._masks.nelement() * selection._masks.element_size()
    return total


class _Workspace:
    """Work buffers shared by the tile objectives of one shape: a buffer is live only during one evaluation."""

    _PAPER = ("_maps", "_cov64", "_stats", "_coeff", "_back")
    _REFERENCE = ("_prod", "_cov", "_grad_padded")

    def __init__(self):
        self.buffers: dict = {}

    def _share(self, owner, name: str) -> None:
        value = getattr(owner, name)
        key = (type(owner).__name__, name, tuple(value.shape), value.dtype, str(value.device))
        setattr(owner, name, self.buffers.setdefault(key, value))

    def adopt(self, objective: MFFSSIMObjective) -> None:
        k = objective.num_sources
        if objective.variant == "paper":
            key = ("box", k, objective.shape)
            objective._box = self.buffers.setdefault(key, objective._box)
            names = self._PAPER
        else:
            key = ("gauss", k, objective.shape)
            objective._gauss = self.buffers.setdefault(key, objective._gauss)
            names = self._REFERENCE
        for name in names:
            self._share(objective, name)
        windows = objective._windows
        ws_key = ("ws", tuple(windows.mux.shape), windows.mux.dtype)
        windows._ws = self.buffers.setdefault(ws_key, windows._ws)
        for name in ("_active", "_muy", "_muy_sq"):
            self._share(windows, name)


class _Adam:
    """torch.optim.Adam's single-tensor step (as fusion._Adam, bit for bit) on the active blocks."""

    betas = (0.9, 0.999)
    eps = 1e-8

    def __init__(self, lr: float, iterations: int, cosine: bool, floor: float):
        self.first, self.lr, self.iterations, self.cosine, self.floor = lr, lr, iterations, cosine, floor
        self.t = 0
        self._denom: dict = {}

    def new_state(self, y: torch.Tensor) -> tuple:
        return torch.zeros_like(y), torch.zeros_like(y)

    def begin(self) -> None:
        if self.cosine:
            progress = self.t / max(self.iterations - 1, 1)
            final = self.first * self.floor
            self.lr = final + (self.first - final) * 0.5 * (1.0 + math.cos(math.pi * progress))
        self.t += 1

    def step(self, y: torch.Tensor, grad: torch.Tensor, state: tuple) -> torch.Tensor:
        m, v = state
        denom = self._denom.get(m.shape)
        if denom is None:
            denom = self._denom[m.shape] = torch.empty_like(m)  # a work buffer shared by blocks of one shape
        beta1, beta2 = self.betas
        grad = grad.mul_(-0.5)
        m.lerp_(grad, 1 - beta1)
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        step_size = self.lr / (1 - beta1**self.t)
        torch.sqrt(v, out=denom).div_((1 - beta2**self.t) ** 0.5).add_(self.eps)
        y.addcdiv_(m, denom, value=-step_size).clamp_(0.0, 1.0)
        return m


class _GradientAscent:
    def __init__(self, lr: float, iterations: int):
        self.lr = lr

    def new_state(self, y: torch.Tensor) -> tuple:
        return (torch.zeros_like(y),)  # pixels that ever had a gradient

    def begin(self) -> None:
        pass

    def step(self, y: torch.Tensor, grad: torch.Tensor, state: tuple) -> torch.Tensor:
        (touched,) = state
        touched.add_(grad.abs())
        y.add_(grad, alpha=self.lr).clamp_(0.0, 1.0)
        return touched


def solve_band(
    store,
    labels: np.ndarray,
    start: torch.Tensor,
    window: int,
    variant: str,
    *,
    optimizer: str,
    lr: float,
    iterations: int,
    tol: float | None,
    keep: str,
    tile: int | None = None,
    cache_bytes: float = math.inf,
    shift: float | None = None,
    progress: bool = False,
    grid: TileGrid | None = None,
) -> BandOutcome:
    """Algorithm 1 on the dirty tiles (module docstring). ``labels`` (H, W) holds the 0-based source of each
    pixel (the one-hot map), ``start`` (C, H, W) the pixel-wise image (float32/64 on its device; it becomes
    the fused image, in place), ``store`` gives the sources over a footprint (:class:`ArraySources`,
    :class:`mffssim.stack.StreamedSources`)."""
    from .fusion import _COSINE_FLOOR, TOL_WINDOW, _converged

    channels, height, width = start.shape
    grid = TileGrid(height, width, window, variant, tile) if grid is None else grid
    dtype, device = start.dtype, start.device
    count = (height - window + 1) * (width - window + 1) if variant == "paper" else channels * height * width
    per_window = 1 if variant == "paper" else channels  # terms of Q per window centre
    shift = store.mean() if shift is None else shift
    y = start
    grad = torch.zeros_like(y)
    workspace = _Workspace()
    cached: dict[int, MFFSSIMObjective] = {}
    cached_bytes = 0
    rebuilt = 0

    def build(t: Tile) -> MFFSSIMObjective:
        centre = grid.centre_labels(labels, t)
        present = np.unique(centre)
        lookup = np.full(int(labels.max()) + 1 if labels.size else 1, -1, np.int64)
        lookup[present] = np.arange(len(present))
        x = torch.from_numpy(np.ascontiguousarray(store.footprint(t, present)))
        x = x.permute(0, 3, 1, 2).to(device=device, dtype=dtype).contiguous()
        if variant == "paper":
            fp_labels = lookup[grid.footprint_labels(labels, t)]
            m = torch.from_numpy(fp_labels[None] == np.arange(len(present))[:, None, None])
            objective = MFFSSIMObjective(x, m.to(device=device, dtype=dtype), window, "paper", shift=shift,
                                         count=count, single=True)
        else:
            m = torch.from_numpy(lookup[centre][None] == np.arange(len(present))[:, None, None])
            objective = MFFSSIMObjective(x, m.to(device=device, dtype=dtype), window, "reference", shift=shift,
                                         count=count, padded=True, single=True)
        workspace.adopt(objective)
        return objective

    def objective_of(t: Tile) -> MFFSSIMObjective:
        nonlocal cached_bytes, rebuilt
        objective = cached.get(t.index)
        if objective is None:
            objective = build(t)
            size = _objective_bytes(objective)
            if cached_bytes + size <= cache_bytes:
                cached[t.index] = objective
                cached_bytes += size
            else:
                rebuilt += 1
        return objective

    def gather(t: Tile) -> torch.Tensor:
        if t.row_slice is not None and t.col_slice is not None:
            return y[:, t.row_slice, t.col_slice]
        rows = torch.from_numpy(t.rows).to(device)
        cols = torch.from_numpy(t.cols).to(device)
        return y[:, rows][:, :, cols]

    def scatter(t: Tile, g: torch.Tensor) -> None:
        if t.row_slice is not None and t.col_slice is not None:
            grad[:, t.row_slice, t.col_slice].add_(g)
            return
        rows = torch.from_numpy(t.rows).to(device).view(1, -1, 1)
        cols = torch.from_numpy(t.cols).to(device).view(1, 1, -1)
        chans = torch.arange(channels, device=device).view(-1, 1, 1)
        grad.index_put_((chans, rows, cols), g, accumulate=True)

    # --- the initial dirty tiles: mixed labels over the footprint ------------------------------------
    dirty = np.zeros(grid.shape, bool)
    for t in grid.tiles:
        fp = grid.footprint_labels(labels, t)
        dirty[t.a, t.b] = fp.min() != fp.max()
    total_windows = sum(t.windows for t in grid.tiles)
    clean_windows = sum(t.windows for t in grid.tiles if not dirty[t.a, t.b])

    if optimizer in ("adam", "adam-cosine"):
        steps = _Adam(lr, iterations, optimizer == "adam-cosine", _COSINE_FLOOR)
    else:
        steps = _GradientAscent(lr, iterations)
    active: dict[tuple[int, int], tuple] = {}  # block -> optimiser state (and best copy)
    best: dict[tuple[int, int], torch.Tensor] = {}
    origin: dict[tuple[int, int], torch.Tensor] = {}  # the start's values of the active blocks
    keep_best = keep == "best"

    def activate(a: int, b: int) -> None:
        for key in grid.neighbours(a, b):
            if key not in active:
                block = y[(slice(None), *grid.block(*key))]
                active[key] = steps.new_state(block)
                origin[key] = block.clone()
                if keep_best:
                    best[key] = block.clone()

    for a, b in zip(*np.nonzero(dirty)):
        activate(int(a), int(b))

    def evaluate() -> float:
        total = clean_windows * per_window / count
        for key in active:
            grad[(slice(None), *grid.block(*key))].zero_()
        for a, b in zip(*np.nonzero(dirty)):
            t = grid.tile(int(a), int(b))
            q, g = objective_of(t).value_and_grad(gather(t))
            total += float(q)
            scatter(t, g)
        return float(torch.tensor(total, dtype=torch.float64).to(dtype))

    def spread() -> int:
        """Tiles whose footprint now holds a pixel that left its start value become dirty; returns how many."""
        nonlocal clean_windows
        added = []
        for (a, b) in active:
            candidates = [(i, j) for i, j in grid.neighbours(a, b) if not dirty[i, j]]
            if not candidates:
                continue
            moved = y[(slice(None), *grid.block(a, b))] != origin[(a, b)]
            rows, cols = grid.block(a, b)
            for i, j in candidates:
                t = grid.tile(i, j)
                r0, r1 = max(int(t.rows.min()), rows.start), min(int(t.rows.max()) + 1, rows.stop)
                c0, c1 = max(int(t.cols.min()), cols.start), min(int(t.cols.max()) + 1, cols.stop)
                if r0 < r1 and c0 < c1 and bool(moved[:, r0 - rows.start : r1 - rows.start,
                                                         c0 - cols.start : c1 - cols.start].any()):
                    dirty[i, j] = True
                    added.append((i, j))
        for i, j in added:
            clean_windows -= grid.tile(i, j).windows
            activate(i, j)
        return len(added)

    started = time.perf_counter()
    trace = torch.empty(iterations + 1, dtype=torch.float64)
    trace[0] = q = evaluate()
    best_q, best_iteration = q, 0
    done, stopped = 0, False
    with tqdm(total=iterations, disable=not progress, desc="fuse", unit="it") as bar:
        for t in range(1, iterations + 1):
            steps.begin()
            for key, state in active.items():
                region = (slice(None), *grid.block(*key))
                steps.step(y[region], grad[region], state)
            spread()
            trace[t] = q = evaluate()
            done = t
            if keep_best and q > best_q:
                for key, copy in best.items():
                    copy.copy_(y[(slice(None), *grid.block(*key))])
                best_q, best_iteration = q, t
            if progress:
                bar.update(1)
                bar.set_postfix(Q=f"{q:.6f}", tiles=f"{int(dirty.sum())}/{dirty.size}",
                                band=f"{1 - clean_windows / total_windows:.1%}")
            if tol is not None and t % TOL_WINDOW == 0 and _converged(trace[: t + 1], tol):
                stopped = t < iterations
                break
    if keep_best and best_iteration != done:
        for key, copy in best.items():
            y[(slice(None), *grid.block(*key))].copy_(copy)
        returned = best_iteration
    else:
        returned = done
    stats = {
        "solver": "band",
        "tile": grid.size,
        "tiles": int(dirty.size),
        "band_tiles": int(dirty.sum()),
        "band_share": float(1 - clean_windows / total_windows),
        "active_blocks": len(active),
        "cached_tiles": len(cached),
        "cache_mb": round(cached_bytes / 2**20, 1),
        "rebuilt_evaluations": rebuilt,
        "seconds": time.perf_counter() - started,
    }
    return BandOutcome(image=y, trace=trace[: done + 1].numpy(), iterations=done, stopped_early=stopped,
                       returned_iteration=returned, stats=stats, grad=grad)
