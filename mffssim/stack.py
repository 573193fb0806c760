"""Stacks that need not fit in memory: the focus map and the band solver's sources, one frame at a time.

:func:`fuse_files` fuses K registered frames read from disk with the Laplacian map (or a given label map)
and the band solver (:mod:`mffssim.band`), never holding the K frames in float:

1. **Map.** Each frame is read, its windowed Laplacian energy computed in row strips (the same sums as
   :func:`mffssim.focus.laplacian_energy`, bit for bit) and reduced by a running argmax: a frame's energy
   replaces the best so far where it is greater *or equal*, so ties go to the last frame, as
   :func:`mffssim.focus.laplacian_focus_map` does. Held: the labels (uint8, or uint16 for K > 256) and the
   best energy (float64), H x W each.
2. **Sources.** Each frame is read again; for every tile of the solver, the footprint of each source whose
   label occurs at the tile's window centres is kept at the file's bit depth (uint8/uint16), and the
   pixel-wise start takes the frame where the label picks it. Held: about one frame's worth of integers
   per label a tile needs (not per frame of the stack).
3. **Solve**: :func:`mffssim.band.solve_band`.

Peak memory is therefore set by the frame size and the map, not by K. The result equals
:func:`mffssim.fusion.fuse` on the same frames held in memory (same labels, same start, same tiles).
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .band import TileGrid, solve_band
from .focus import _energy
from .io import ImageError, read_image_and_depth

# rows of a frame per strip of the Laplacian energy (plus the window's halo)
STRIP_ROWS = 256


def _read(path, reference: tuple | None, first: Path | None):
    """One frame as float32 (H, W, C) and its bit depth; checked against the first frame's shape and depth."""
    image, depth = read_image_and_depth(path)
    if reference is not None:
        shape, ref_depth = reference
        if image.shape[:2] != shape[:2]:
            raise ImageError(f"{path}: size {image.shape[1]}x{image.shape[0]} differs from {first} "
                             f"({shape[1]}x{shape[0]})")
        if image.shape[2] != shape[2]:
            raise ImageError(f"{path}: {image.shape[2]} channel(s) but {first} has {shape[2]}")
        if depth != ref_depth:
            raise ImageError(f"{path}: bit depth {depth} differs from {first} ({ref_depth})")
    return image, depth


def frame_energy(frame: np.ndarray, window: int, rows: int = STRIP_ROWS):
    """The windowed Laplacian energy (H, W) float64 of one frame (H, W, C), computed in strips of ``rows``
    rows; yields ``(row0, row1, energy_rows)``."""
    height = frame.shape[0]
    r = window // 2
    for a in range(0, height, rows):
        b = min(a + rows, height)
        lo, hi = max(a - r - 1, 0), min(b + r + 1, height)
        strip = frame[lo:hi].astype(np.float64)[None]
        yield a, b, _energy(strip, window)[0, a - lo : b - lo]


def stream_label_map(paths: Sequence, window: int):
    """The Laplacian focus map of frames on disk as labels (H, W), 0-based (uint8; uint16 for K > 256),
    reading one frame at a time. Returns ``(labels, shape (H, W, C), bit_depth, mean)`` where ``mean`` is
    the mean of all the frames' values (the solver's shift)."""
    best = labels = None
    reference, total = None, 0.0
    dtype = np.uint8 if len(paths) <= 256 else np.uint16
    for k, path in enumerate(paths):
        frame, depth = _read(path, reference, Path(paths[0]))
        if reference is None:
            reference = (frame.shape, depth)
            best = np.full(frame.shape[:2], -np.inf)
            labels = np.zeros(frame.shape[:2], dtype)
        total += float(frame.sum(dtype=np.float64))
        for a, b, energy in frame_energy(frame, window):
            better = energy >= best[a:b]
            labels[a:b][better] = k
            np.maximum(best[a:b], energy, out=best[a:b])
        del frame
    shape, depth = reference
    return labels, shape, depth, total / (len(paths) * math.prod(shape))


class StreamedSources:
    """The sources each tile needs, cut from frames read one at a time and kept as integers; also fills
    the pixel-wise start image."""

    def __init__(self, paths: Sequence, labels: np.ndarray, grid: TileGrid, start: torch.Tensor, mean: float):
        self.count, self._mean = len(paths), mean
        need: dict[int, list] = {}
        for t in grid.tiles:
            for k in np.unique(grid.centre_labels(labels, t)):
                need.setdefault(int(k), []).append(t)
        self._parts: dict[tuple[int, int], np.ndarray] = {}
        reference, total = None, 0.0
        for k, path in enumerate(paths):
            frame, depth = _read(path, reference, Path(paths[0]))
            reference = reference or (frame.shape, depth)
            self._scale = 255.0 if depth == 8 else 65535.0
            if depth not in (8, 16):
                raise ImageError(f"{path}: the streamed path reads 8- or 16-bit frames (this one is float)")
            total += float(frame.sum(dtype=np.float64))
            integer = np.round(frame * self._scale).astype(np.uint8 if depth == 8 else np.uint16)
            del frame
            mask = torch.from_numpy(labels == k)
            if bool(mask.any()):
                plane = torch.from_numpy(integer).permute(2, 0, 1)
                start[:, mask] = (plane[:, mask].to(torch.float32) / self._scale).to(start.dtype)
            for t in need.get(k, []):
                if t.row_slice is not None and t.col_slice is not None:
                    part = integer[t.row_slice, t.col_slice]
                else:
                    part = integer[np.ix_(t.rows, t.cols)]
                self._parts[(t.index, k)] = np.ascontiguousarray(part)
            del integer
        self.nbytes = sum(p.nbytes for p in self._parts.values())
        if mean is None:  # the mean of all the frames' values, as stream_label_map gives it
            self._mean = total / (len(paths) * math.prod(reference[0]))

    def footprint(self, t, labels: np.ndarray) -> np.ndarray:
        return np.stack([self._parts[(t.index, int(k))].astype(np.float32) / np.float32(self._scale)
                         for k in labels])

    def mean(self) -> float:
        return self._mean


def estimate_bytes(height: int, width: int, channels: int, bit_depth: int = 8) -> dict:
    """The streamed path's memory by part (bytes): whole-frame arrays, one frame being read, the kept
    sources (about 1.5 label layers), the optimiser's state where every block is active."""
    pixels = height * width
    plane = channels * pixels * 4
    return {
        "frames": plane + pixels * 8 + pixels * channels * (bit_depth // 8),  # float32 frame, energy, integers
        "image": 2 * plane + pixels * 2,  # fused image, gradient buffer, labels
        "sources": int(1.5 * pixels * channels * (bit_depth // 8)),
        "state": 4 * plane,  # Adam m and v, start and best copies (all blocks active: the worst case)
        "base": 400 * 2**20,  # the interpreter, torch and numpy
    }


def fuse_files(
    paths: Sequence,
    *,
    window: int,
    labels: np.ndarray | None = None,
    variant: str = "paper",
    optimizer: str = "adam-cosine",
    lr: float | None = None,
    iterations: int | None = None,
    tol: float | None = 1e-6,
    keep: str = "best",
    dtype: str = "float32",
    device: str = "cpu",
    tile: int | None = None,
    cache_bytes: float = math.inf,
    progress: bool = False,
):
    """Fuse frames on disk with the band solver, one frame in memory at a time (module docstring).

    ``labels`` (H, W), 0-based, is a given one-hot map; None detects the Laplacian map. Returns a
    :class:`mffssim.fusion.FusionResult` whose ``labels`` holds the map (``focus_map`` is None: K float maps
    of a long stack need not fit in memory) and whose ``settings`` hold the band share and tile counts.
    """
    from .fusion import _DEFAULT_ITERATIONS, _DEFAULT_LR, DTYPES, FusionResult

    started = time.perf_counter()
    if len(paths) < 2:
        raise ImageError(f"{paths[0] if paths else 'no file'}: multi-focus fusion needs at least two sources")
    lr = _DEFAULT_LR[optimizer] if lr is None else lr
    iterations = _DEFAULT_ITERATIONS[optimizer] if iterations is None else iterations
    if labels is None:
        labels, shape, depth, mean = stream_label_map(paths, window)
    else:
        mean, total, shape, depth = None, 0.0, None, None
    detected = time.perf_counter()
    if shape is None:
        first, depth = read_image_and_depth(paths[0])
        shape = first.shape
        del first
    height, width, channels = shape
    grid = TileGrid(height, width, window, variant, tile)
    y = torch.empty(channels, height, width, dtype=DTYPES[dtype], device=device)
    store = StreamedSources(paths, labels, grid, y, mean)
    outcome = solve_band(store, labels, y, window, variant, optimizer=optimizer, lr=float(lr),
                         iterations=int(iterations), tol=tol, keep=keep, tile=tile, cache_bytes=cache_bytes,
                         progress=progress, grid=grid)
    image = outcome.image.permute(1, 2, 0).to(device="cpu", dtype=torch.float32).numpy()
    stats = dict(outcome.stats, detect_seconds=detected - started, source_mb=round(store.nbytes / 2**20, 1),
                 frames=len(paths), streamed=True)
    return FusionResult(image=image, focus_map=None, window=window, trace=outcome.trace,
                        iterations=outcome.iterations, seconds=time.perf_counter() - started, variant=variant,
                        optimizer=optimizer, device=str(device), stopped_early=outcome.stopped_early,
                        returned_iteration=outcome.returned_iteration,
                        settings={"lr": float(lr), "tol": tol, "init": "pixelwise", "dtype": dtype, "keep": keep,
                                  **stats},
                        labels=labels, bit_depth=depth)
