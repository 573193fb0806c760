"""The embedded dataset: synthetic multi-focus image sets made offline from images scikit-image ships.

Every set has an exact all-in-focus ``reference`` and an exact one-hot ``focus_map``. Recipe (sigmas
are for ``size`` = 192, the shorter image side, and scale linearly with it):

* ``camera`` (gray), ``coins`` (gray), ``horse``, ``astronaut``, ``coffee`` (colour): K = 2 by Eq. 16
  (:func:`mffssim.defocus.defocus_pair`), foreground sigma and background sigma each drawn from
  U(2.0, 4.5). Masks: the cameraman (largest Otsu dark object), the coins (Otsu bright objects not
  touching the border), the horse silhouette filled with brown-tinted ``gravel`` over green-tinted
  ``grass``, smooth random blobs (noise blurred by 12 px, 30-50 % coverage) on ``astronaut``, ``coffee``.
* ``chelsea_k3``: K = 3 layers (background, blob layer, nearer blob layer) rendered by
  :func:`mffssim.defocus.defocus_layers`; sigma = step x layer distance from the focal layer, step in
  U(1.5, 2.5).
* ``motorcycle_k2``, ``motorcycle_k3``: depth-driven, from ``stereo_motorcycle``'s left view and its
  disparity split into K layers by multi-Otsu; sigma = sigma_max x |disparity - focal disparity| /
  disparity range (layer means), sigma_max in U(3.0, 5.0).

Sources are ordered near focus first (source 1 = foreground sharp, the K = 2 map convention). Each set
draws from its own generator seeded by (seed, set id), so a set's bytes do not depend on which other
sets are made.
"""
from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..defocus import defocus_layers, defocus_pair
from ..io import atomic_write, write_focus_map, write_image
from .manifest import EMBEDDED_SETS
from .masks import blob_mask, depth_layers, fill_invalid, object_mask

DEFAULT_SIZE = 192
SIGMA_RANGE = (2.0, 4.5)  # Eq. 16 sets, foreground and background each (at size 192)
LAYER_STEP_RANGE = (1.5, 2.5)  # chelsea_k3: sigma per layer of distance from the focal layer
DEPTH_SIGMA_RANGE = (3.0, 5.0)  # motorcycle sets: sigma at the full disparity range


@dataclass
class EmbeddedSet:
    """One synthetic image set in memory, already quantised to 8 bits (equal to what its files hold)."""

    set_id: str
    sources: np.ndarray  # (K, H, W, C) float32 in [0, 1]
    reference: np.ndarray  # (H, W, C)
    focus_map: np.ndarray  # (K, H, W) one-hot, 1 where source k is the sharpest
    # image, mask, model, sigmas[k][j]: the blur of layer j (far -> near) in source k, seed, size
    recipe: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- images
def _shipped(name: str) -> np.ndarray:
    """A scikit-image sample image that ships with the package (no download), float32 (H, W, C) in [0, 1]."""
    import skimage.data

    image = np.asarray(getattr(skimage.data, name)())
    image = image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else image.astype(np.float32)
    return image[:, :, None] if image.ndim == 2 else image[:, :, :3]


def _resize(array: np.ndarray, shape: tuple[int, int], order: int = 1) -> np.ndarray:
    """Resize the first two axes to ``shape`` (anti-aliased when shrinking, for order > 0)."""
    from skimage.transform import resize

    out = resize(
        array, shape + array.shape[2:], order=order, anti_aliasing=order > 0, preserve_range=True, mode="reflect"
    )
    return out.astype(np.float32)


def _short_side_shape(shape: tuple[int, ...], size: int) -> tuple[int, int]:
    """The (H, W) whose shorter side is ``size`` with the aspect ratio of ``shape``."""
    h, w = shape[:2]
    scale = size / min(h, w)
    return max(size, round(h * scale)), max(size, round(w * scale))


def _short_side(array: np.ndarray, size: int) -> np.ndarray:
    """Resize so the shorter side is ``size`` pixels, keeping the aspect ratio."""
    return _resize(array, _short_side_shape(array.shape, size))


def _cover(array: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize to cover ``shape`` and crop the centre."""
    h, w = array.shape[:2]
    scale = max(shape[0] / h, shape[1] / w)
    big = _resize(array, (max(shape[0], round(h * scale)), max(shape[1], round(w * scale))))
    top, left = (big.shape[0] - shape[0]) // 2, (big.shape[1] - shape[1]) // 2
    return big[top:top + shape[0], left:left + shape[1]]


def _mask_to(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a boolean mask (area-averaged, then thresholded at one half)."""
    return _resize(mask.astype(np.float32), shape) > 0.5


# ----------------------------------------------------------------------------- recipes
def _uniform(rng: np.random.Generator, bounds: tuple[float, float], scale: float) -> float:
    return float(rng.uniform(*bounds)) * scale


def _pair_set(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator, scale: float, what: dict):
    """Eq. 16 pair from a foreground mask; sigmas drawn from :data:`SIGMA_RANGE`."""
    if not mask.any() or mask.all():
        raise RuntimeError(f"embedded set {what}: the foreground mask is empty or covers everything")
    sigma_fg, sigma_bg = _uniform(rng, SIGMA_RANGE, scale), _uniform(rng, SIGMA_RANGE, scale)
    source_1, source_2, focus_map = defocus_pair(image, mask.astype(np.float32), sigma_fg, sigma_bg)
    recipe = dict(what, model="eq16", sigmas=[[sigma_bg, 0.0], [0.0, sigma_fg]])
    return np.stack([source_1, source_2]), image, focus_map, recipe


def _layer_set(image: np.ndarray, labels: np.ndarray, sigma_table: np.ndarray, what: dict):
    """K sources from far -> near layer labels; ``sigma_table[k, j]`` blurs layer j in source k.

    Source k focuses layer ``L-1-k`` (near first); the map is that layer's mask.
    """
    n = sigma_table.shape[0]
    layers = np.stack([(labels == j).astype(np.float32) for j in range(n)])
    if (layers.reshape(n, -1).sum(axis=1) == 0).any():
        raise RuntimeError(f"embedded set {what}: a depth layer is empty")
    sources = np.stack([defocus_layers(image, layers, sigma_table[k]) for k in range(n)])
    focus_map = layers[::-1].copy()
    recipe = dict(what, model="layers", sigmas=sigma_table.tolist())
    return sources, image, focus_map, recipe


def _camera(rng, size, scale):
    image = _short_side(_shipped("camera"), size)
    mask = object_mask(image[:, :, 0], dark=True)
    return _pair_set(image, mask, rng, scale, {"image": "camera", "mask": "otsu dark object"})


def _coins(rng, size, scale):
    image = _short_side(_shipped("coins"), size)
    mask = object_mask(image[:, :, 0], dark=False, keep=30, opening=True, drop_border=True)
    return _pair_set(image, mask, rng, scale, {"image": "coins", "mask": "otsu bright objects"})


def _horse(rng, size, scale):
    horse = _shipped("horse")[:, :, 0] < 0.5  # the silhouette is black on white
    shape = _short_side_shape(horse.shape, size)
    silhouette = _mask_to(horse, shape)
    coat = _cover(_shipped("gravel"), shape) * np.array([0.75, 0.5, 0.3], dtype=np.float32)
    grass = _cover(_shipped("grass"), shape) * np.array([0.6, 0.85, 0.4], dtype=np.float32)
    image = np.where(silhouette[:, :, None], coat, grass).astype(np.float32)
    what = {"image": "brown-tinted gravel on green-tinted grass", "mask": "horse silhouette"}
    return _pair_set(image, silhouette, rng, scale, what)


def _blobs(name: str) -> Callable:
    def make(rng, size, scale):
        image = _short_side(_shipped(name), size)
        mask = blob_mask(image.shape[:2], rng, scale=12.0 * scale, coverage=float(rng.uniform(0.3, 0.5)))
        return _pair_set(image, mask, rng, scale, {"image": name, "mask": "smooth random blobs"})
    return make


def _chelsea_k3(rng, size, scale):
    image = _short_side(_shipped("chelsea"), size)
    middle = blob_mask(image.shape[:2], rng, scale=14.0 * scale, coverage=0.35)
    near = blob_mask(image.shape[:2], rng, scale=9.0 * scale, coverage=0.2)
    labels = np.where(near, 2, np.where(middle, 1, 0))
    step = _uniform(rng, LAYER_STEP_RANGE, scale)
    focal = np.array([2, 1, 0])  # source k focuses layer focal[k]
    table = step * np.abs(np.arange(3)[None, :] - focal[:, None])
    return _layer_set(image, labels, table, {"image": "chelsea", "mask": "two blob layers"})


def _motorcycle(n_layers: int) -> Callable:
    def make(rng, size, scale):
        import skimage.data

        left, _, disparity = skimage.data.stereo_motorcycle()
        image = _short_side(left.astype(np.float32) / 255.0, size)
        disparity = _resize(fill_invalid(disparity), image.shape[:2])
        labels = depth_layers(disparity, n_layers, smooth=max(3, int(round(7 * scale)) | 1))
        means = np.array([disparity[labels == j].mean() for j in range(n_layers)])
        sigma_max = _uniform(rng, DEPTH_SIGMA_RANGE, scale)
        focal = means[::-1]  # source k focuses layer n-1-k (near first)
        table = sigma_max * np.abs(means[None, :] - focal[:, None]) / (means.max() - means.min())
        return _layer_set(image, labels, table, {"image": "stereo_motorcycle", "mask": f"{n_layers} disparity layers"})
    return make


_RECIPES: dict[str, Callable] = {
    "camera": _camera, "coins": _coins, "horse": _horse, "astronaut": _blobs("astronaut"),
    "coffee": _blobs("coffee"), "chelsea_k3": _chelsea_k3,
    "motorcycle_k2": _motorcycle(2), "motorcycle_k3": _motorcycle(3),
}


# ----------------------------------------------------------------------------- public
def _check(seed: int, size: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 32:
        raise ValueError(f"size (the shorter image side) must be an integer >= 32, got {size!r}")


def _quantise(array: np.ndarray) -> np.ndarray:
    return (np.round(np.clip(array, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)


def make_embedded_set(set_id: str, *, seed: int = 0, size: int = DEFAULT_SIZE) -> EmbeddedSet:
    """Make one embedded set in memory (8-bit quantised); ``size`` is the shorter image side in pixels."""
    _check(seed, size)
    if set_id not in _RECIPES:
        raise ValueError(f"unknown embedded set {set_id!r}; known sets: {', '.join(EMBEDDED_SETS)}")
    rng = np.random.default_rng([int(seed), zlib.crc32(set_id.encode())])
    sources, reference, focus_map, recipe = _RECIPES[set_id](rng, int(size), size / DEFAULT_SIZE)
    recipe.update(seed=int(seed), size=int(size))
    return EmbeddedSet(set_id, _quantise(sources), _quantise(reference), focus_map.astype(np.float32), recipe)


def make_embedded_dataset(
    dest_dir: str | os.PathLike, *, seed: int = 0, size: int = DEFAULT_SIZE, sets: Sequence[str] | None = None
) -> list[str]:
    """Write embedded sets as ``<dest_dir>/<set_id>/source_k.png``, ``reference.png``, ``focus_map.png``
    (8-bit), and ``recipe.json`` (what was done: image, mask, model, sigma per source and layer).

    ``sets`` picks some of :data:`EMBEDDED_SETS` (default: all, in that order); returns the ids written.
    Deterministic: the same seed and size give byte-identical files.
    """
    _check(seed, size)
    chosen = list(EMBEDDED_SETS if sets is None else sets)
    unknown = [s for s in chosen if s not in _RECIPES]
    if unknown:
        named = ", ".join(map(repr, unknown))
        raise ValueError(f"unknown embedded set(s) {named}; known sets: {', '.join(EMBEDDED_SETS)}")
    root = Path(dest_dir)
    for set_id in chosen:
        made = make_embedded_set(set_id, seed=seed, size=size)
        folder = root / set_id
        for k, source in enumerate(made.sources, start=1):
            write_image(folder / f"source_{k}.png", source, bit_depth=8)
        write_image(folder / "reference.png", made.reference, bit_depth=8)
        write_focus_map(folder / "focus_map.png", made.focus_map)
        text = json.dumps(made.recipe, indent=1, sort_keys=True) + "\n"
        atomic_write(folder / "recipe.json", lambda tmp, text=text: tmp.write_text(text, encoding="utf-8"))
    return chosen
