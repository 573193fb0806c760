"""Focus maps: the authors' Laplacian-energy detector (Eq. 15 as coded) and map utilities.

A focus map is float32 ``(K, H, W)``, one-hot per pixel: ``map[k, i, j] = 1`` where source k is the
sharpest. The detector's window sums are direct correlations in float64, so two sources
with identical content around a pixel get bit-identical energies and the tie goes to the last source,
as the authors' published maps show (running sums would leave round-off that breaks ties at random).
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy import ndimage

from ._checks import check_sources, check_window

# the authors' 3x3 Laplacian; multiples of 1/16, so it is exact on float32 input held in float64
LAPLACIAN = np.array([[1.0, 1.0, 1.0], [1.0, -8.0, 1.0], [1.0, 1.0, 1.0]]) / 16.0
# window sums wider than this are running sums of fixed-point energies (exact in int64) instead of
# direct correlations (whose cost grows with the window)
DIRECT_MAX_WINDOW = 25
_FIXED_POINT = 2.0**40  # energies (at most 0.25 per pixel) in units of 2**-40


def laplacian_energy(sources: np.ndarray, window: int) -> np.ndarray:
    """Windowed Laplacian energy per source, float64 ``(K, H, W)`` (the sum over the W x W window).

    Per channel: 3x3 Laplacian with a reflect border (mirror without repeating the edge, torch's
    'reflect'), squared; averaged over channels; summed over the window with a replicate border.
    The window sum is two direct 1-D correlations, never running sums, so it is exact per position.
    """
    array = _frames(sources)
    window = check_window(window)
    return np.stack([frame_energy(frame, window).astype(np.float64) for frame in array])


def _frames(sources) -> np.ndarray:
    """Checked sources (K, H, W, C), float64 kept as it is, anything else as float32 (no float64 copy of K frames)."""
    dtype = np.float64 if np.asarray(sources).dtype == np.float64 else np.float32
    return check_sources(sources, dtype=dtype, unit_range=False, min_size=2)


def frame_energy(frame: np.ndarray, window: int) -> np.ndarray:
    """:func:`laplacian_energy` of one frame (H, W, C): float64 (H, W) for ``window`` up to
    DIRECT_MAX_WINDOW (direct correlations), int64 in units of 2**-40 beyond it (running sums of the
    energies rounded to that unit: exact, so equal energies stay equal, at a cost that does not grow with
    the window). One channel at a time in float64: a few (H, W) arrays, whatever K and C are.
    """
    frame = np.asarray(frame)
    if frame.ndim == 2:
        frame = frame[..., None]
    energy = np.zeros(frame.shape[:2])
    for c in range(frame.shape[2]):
        response = ndimage.correlate(frame[..., c].astype(np.float64), LAPLACIAN, mode="mirror")
        energy += response * response
    energy /= frame.shape[2]
    if window <= DIRECT_MAX_WINDOW:
        ones = np.ones(window)
        energy = ndimage.correlate1d(energy, ones, axis=0, mode="nearest")
        return ndimage.correlate1d(energy, ones, axis=1, mode="nearest")
    fixed = np.rint(energy * _FIXED_POINT).astype(np.int64)
    del energy
    for axis in (0, 1):  # a running sum per axis: bounded by one line's total, far from int64's range
        fixed = _box_sum(fixed, window, axis)
    return fixed


def _box_sum(values: np.ndarray, window: int, axis: int) -> np.ndarray:
    """Sums over ``window`` consecutive entries along ``axis`` with a replicate border (int64, exact)."""
    r = window // 2
    padded = np.pad(values, [(r, r) if a == axis else (0, 0) for a in range(values.ndim)], mode="edge")
    total = np.cumsum(padded, axis=axis)
    n = values.shape[axis]
    head = np.take(total, np.arange(window - 1, window - 1 + n), axis=axis)
    head[tuple(slice(1, None) if a == axis else slice(None) for a in range(values.ndim))] -= np.take(
        total, np.arange(0, n - 1), axis=axis)
    return head


def laplacian_labels(frames: Iterable[np.ndarray], window: int) -> tuple[np.ndarray, int]:
    """The Laplacian-energy map as labels: (uint8 or uint16 (H, W) of 0-based source indices, K).

    ``frames`` yields the K sources (H, W, C) one at a time (a list, or a reader that streams them from
    disk): a running argmax keeps one frame's energy and the best so far, so memory does not grow with K.
    Ties go to the last source, as :func:`laplacian_focus_map`.
    """
    best = labels = None
    count = 0
    for frame in frames:
        energy = frame_energy(frame, window)
        if best is None:
            best = energy
            labels = np.zeros(energy.shape, np.uint16)
        else:
            if energy.shape != best.shape:
                raise ValueError(f"sources: frame {count + 1} is {energy.shape[1]}x{energy.shape[0]}, "
                                 f"the first is {best.shape[1]}x{best.shape[0]}")
            take = energy >= best
            np.copyto(best, energy, where=take)
            labels[take] = count
        count += 1
    if count < 2:
        raise ValueError(f"sources: multi-focus fusion needs K >= 2 sources, got {count}")
    return (labels.astype(np.uint8) if count <= 256 else labels), count


def laplacian_focus_map(sources: np.ndarray, window: int) -> np.ndarray:
    """The authors' Laplacian-energy focus map: float32 one-hot ``(K, H, W)`` for sources ``(K, H, W, C)``.

    Each pixel goes to the source with the largest windowed Laplacian energy (:func:`laplacian_energy`);
    exact ties (e.g. flat areas) go to the last source. No post-processing. Any K >= 2.

    Examples
    --------
    Source 1 textured, source 2 flat: every pixel within the window of the texture goes to source 1; where
    both are flat the tie goes to the last source.

    >>> import numpy as np
    >>> texture = np.tile([[0.0, 1.0], [1.0, 0.0]], (8, 8))[..., None]  # 16 x 16 checkerboard
    >>> flat = np.full((16, 16, 1), 0.5)
    >>> focus_map = laplacian_focus_map(np.stack([texture, flat]), 3)
    >>> focus_map.shape, focus_map.dtype
    ((2, 16, 16), dtype('float32'))
    >>> bool(focus_map[0].all())
    True
    >>> bool(laplacian_focus_map(np.stack([flat, flat]), 3)[1].all())
    True
    """
    labels, count = laplacian_labels(iter(_frames(sources)), check_window(window))
    return one_hot(labels, count)


def one_hot(labels: np.ndarray, count: int) -> np.ndarray:
    """Turn integer labels ``(H, W)`` in ``0..count-1`` into a float32 one-hot map ``(count, H, W)``."""
    labels = np.asarray(labels)
    return (labels[None] == np.arange(count)[:, None, None]).astype(np.float32)


def corrupt_focus_map(
    focus_map: np.ndarray, p: float, rng: np.random.Generator | int | None = None
) -> np.ndarray:
    """Flip each pixel of a two-source focus map ``(2, H, W)`` with probability ``p`` (Fig. 7's test).

    A flipped pixel swaps its two weights (a one-hot pixel moves to the other source). ``rng`` is a
    numpy Generator or a seed. Returns a new float32 map; the input is not changed.
    """
    focus_map = np.asarray(focus_map, dtype=np.float32)
    if focus_map.ndim != 3 or focus_map.shape[0] != 2:
        raise ValueError(f"focus_map: expected a two-source map (2, H, W), got shape {focus_map.shape}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p: a flip probability must lie in [0, 1], got {p}")
    rng = np.random.default_rng(rng)
    flip = rng.random(focus_map.shape[1:]) < p
    return np.where(flip[None], focus_map[::-1], focus_map).astype(np.float32)
