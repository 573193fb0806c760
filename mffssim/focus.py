"""Focus maps: the authors' Laplacian-energy detector (Eq. 15 as coded) and map utilities.

A focus map is float32 ``(K, H, W)``, one-hot per pixel: ``map[k, i, j] = 1`` where source k is the
sharpest. The detector's window sums are direct correlations in float64, so two sources
with identical content around a pixel get bit-identical energies and the tie goes to the last source,
as the authors' published maps show (running sums would leave round-off that breaks ties at random).
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from ._checks import check_sources, check_window

# the authors' 3x3 Laplacian; multiples of 1/16, so it is exact on float32 input held in float64
LAPLACIAN = np.array([[1.0, 1.0, 1.0], [1.0, -8.0, 1.0], [1.0, 1.0, 1.0]]) / 16.0


def laplacian_energy(sources: np.ndarray, window: int) -> np.ndarray:
    """Windowed Laplacian energy per source, float64 ``(K, H, W)`` (the sum over the W x W window).

    Per channel: 3x3 Laplacian with a reflect border (mirror without repeating the edge, torch's
    'reflect'), squared; averaged over channels; summed over the window with a replicate border.
    The window sum is two direct 1-D correlations, never running sums, so it is exact per position.
    """
    array = check_sources(sources, dtype=np.float64, unit_range=False, min_size=2)
    return _energy(array, check_window(window))


def _energy(array: np.ndarray, window: int) -> np.ndarray:
    """:func:`laplacian_energy` of float64 (K, H, W, C), any K >= 1 (a row strip of one frame included:
    every output value is the same sum in the same order as on the whole array)."""
    kernel = LAPLACIAN[None, :, :, None]  # (1, 3, 3, 1): per source, per channel
    response = ndimage.correlate(array, kernel, mode="mirror")
    energy = np.mean(response * response, axis=3)  # (K, H, W)
    ones = np.ones(window)
    energy = ndimage.correlate1d(energy, ones, axis=1, mode="nearest")
    return ndimage.correlate1d(energy, ones, axis=2, mode="nearest")


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
    energy = laplacian_energy(sources, window)
    count = energy.shape[0]
    winner = count - 1 - np.argmax(energy[::-1], axis=0)  # argmax keeps the first max: reverse for the last
    return one_hot(winner, count)


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
