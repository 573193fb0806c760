"""Training pairs for the detector (Eq. 16): scenes (image + matte) and random synthetic pairs.

A *scene* is a gray image with an optional foreground matte (``None``: a random mask is generated for
every sample). A *pair* is ``(source_1, source_2, target)``: ``defocus_pair`` with Gaussian sigmas drawn
from ``sigma_range`` (foreground and background independently), cut from a random window that is
rescaled by a factor drawn from ``scale_range`` (textures at several scales), rotated by a multiple of
90 degrees and flipped, and with the sources swapped half of the time (target -> 1 - target)
so the network cannot learn 'source 1 is the foreground'. Sample ``i`` of epoch ``e`` depends only on
``(seed, e, i)``, so a dataset is reproducible regardless of loading order, workers or resumption.
"""
from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from skimage import color, transform
from torch.utils.data import Dataset

from mffssim.defocus import defocus_pair
from mffssim.detector.masks import DERIVED_LEVELS, DERIVED_WINDOW, derived_matte, random_mask, read_voc_mask
from mffssim.detector.network import GRAY_WEIGHTS
from mffssim.io import find_image_sets, read_image

# scikit-image images that ship with the package (no download). Training uses none of the images the
# embedded fusion sets are made of (mffssim.datasets.embedded: camera, coins, grass, gravel, astronaut,
# coffee, chelsea, stereo_motorcycle), so MS-ResNet is scored there on unseen images; the detector's own
# held-out evaluation uses five of them.
EMBEDDED_TRAIN = ("rocket", "brick", "moon", "page", "text", "immunohistochemistry", "hubble_deep_field",
                  "retina", "cell")
EMBEDDED_HELDOUT = ("camera", "coins", "astronaut", "coffee", "chelsea")


def to_gray(image: np.ndarray, gray: str = "bt709") -> np.ndarray:
    """Float32 ``(H, W)`` gray image from ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)`` in [0, 1].

    ``gray`` names the luma weights of colour images (:data:`mffssim.detector.network.GRAY_WEIGHTS`):
    ``bt709`` (scikit-image's ``rgb2gray``, this project's training) or ``bt601`` (0.299 / 0.587 / 0.114,
    kornia's ``RgbToGrayscale``, which the authors' network was trained with).
    """
    if gray not in GRAY_WEIGHTS:
        raise ValueError(f"gray must be one of {sorted(GRAY_WEIGHTS)}, got {gray!r}")
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    elif image.ndim == 3 and image.shape[2] == 3 and gray == "bt709":
        image = color.rgb2gray(image).astype(np.float32)
    elif image.ndim == 3 and image.shape[2] == 3:
        image = image @ np.asarray(GRAY_WEIGHTS[gray], dtype=np.float32)
    if image.ndim != 2:
        raise ValueError(f"expected a gray or RGB image (H, W[, 1|3]), got shape {image.shape}")
    return image


@dataclass
class Scene:
    """A training image and its matte, loaded on demand (VOC has too many images to hold in memory)."""

    name: str
    load_image: Callable[[], np.ndarray]
    load_matte: Callable[[], np.ndarray] | None = None

    def load(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Gray float32 ``(H, W)`` image and its ``(H, W)`` matte (or None: generate one per sample)."""
        image = to_gray(self.load_image())
        matte = None if self.load_matte is None else self.load_matte()
        if matte is not None and matte.shape != image.shape:
            raise ValueError(f"scene {self.name}: mask shape {matte.shape} differs from image {image.shape}")
        return image, matte


def embedded_scenes(names: Sequence[str] = EMBEDDED_TRAIN) -> list[Scene]:
    """Scenes from scikit-image's bundled images (gray, kept in memory), masks generated per sample."""
    from skimage import data as skdata

    scenes = []
    for name in names:
        if not hasattr(skdata, name):
            raise ValueError(f"embedded image {name!r} is not in skimage.data")
        array = np.asarray(getattr(skdata, name)())
        if array.ndim == 3 and array.shape[2] == 4:
            array = array[:, :, :3]
        gray = to_gray(array.astype(np.float32) / (255.0 if array.dtype == np.uint8 else 1.0))
        scenes.append(Scene(name, lambda gray=gray: gray))
    return scenes


def voc_seg_scenes(root: str | os.PathLike, *, void: float = 0.5) -> list[Scene]:
    """Scenes from a folder of ``<id>/image.png`` + ``<id>/mask.png`` (the ``voc_seg_samples`` layout)."""
    root = Path(root)
    folders = sorted(p.parent for p in root.glob("*/mask.png") if (p.parent / "image.png").is_file())
    if not folders:
        raise FileNotFoundError(f"{root}: no <id>/image.png + <id>/mask.png folders found")
    return [Scene(f.name, lambda f=f: read_image(f / "image.png"),
                  lambda f=f: read_voc_mask(f / "mask.png", void=void)) for f in folders]


def voc2012_scenes(root: str | os.PathLike, *, masks: str = "SegmentationObject", split: str | None = None,
                   void: float = 0.5) -> list[Scene]:
    """Scenes from the official VOC 2012 archive layout (``VOCdevkit/VOC2012/JPEGImages`` + masks).

    ``root`` is the extraction folder, ``VOCdevkit`` or ``VOC2012``. ``masks`` is ``SegmentationObject`` or
    ``SegmentationClass`` (2913 masks each); ``split`` (``train``, ``val``, ``trainval``) reads the id list
    from ``ImageSets/Segmentation/<split>.txt``, None takes every mask.
    """
    root = Path(root)
    base = next((c for c in (root / "VOCdevkit" / "VOC2012", root / "VOC2012", root) if (c / "JPEGImages").is_dir()),
                None)
    if base is None:
        raise FileNotFoundError(f"{root}: no VOCdevkit/VOC2012/JPEGImages folder (the official VOC 2012 layout)")
    if masks not in ("SegmentationObject", "SegmentationClass"):
        raise ValueError(f"masks must be 'SegmentationObject' or 'SegmentationClass', got {masks!r}")
    if split is None:
        ids = sorted(p.stem for p in (base / masks).glob("*.png"))
    else:
        listing = base / "ImageSets" / "Segmentation" / f"{split}.txt"
        if not listing.is_file():
            raise FileNotFoundError(f"{listing}: no such split list")
        ids = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    if not ids:
        raise FileNotFoundError(f"{base / masks}: no segmentation masks found")
    scenes = []
    for name in ids:
        image, mask = base / "JPEGImages" / f"{name}.jpg", base / masks / f"{name}.png"
        if not image.is_file() or not mask.is_file():
            raise FileNotFoundError(f"VOC 2012 id {name}: missing {image if not image.is_file() else mask}")
        scenes.append(Scene(name, lambda p=image: read_image(p), lambda p=mask: read_voc_mask(p, void=void)))
    return scenes


def _derived(reference: Path, source_1: Path, source_2: Path, window: int, levels: float) -> np.ndarray:
    try:
        return derived_matte(*(to_gray(read_image(p)) for p in (reference, source_1, source_2)),
                             window=window, levels=levels)[0]
    except ValueError as error:
        raise ValueError(f"{reference.parent}: no focus matte can be derived ({error})") from None


def reference_pair_scenes(root: str | os.PathLike, *, window: int = DERIVED_WINDOW,
                          levels: float = DERIVED_LEVELS) -> list[Scene]:
    """Scenes from a folder of synthetic pairs ``<id>/reference.* + source_1.* + source_2.*`` (the layout of
    MF-VOC and NYU-D-100): the all-in-focus reference with the matte derived from the pair
    (:func:`mffssim.detector.masks.derived_matte`)."""
    root = Path(root)
    found = find_image_sets(root).values() if root.is_dir() else ()
    scenes = [Scene(files.set_id, lambda f=files.reference: read_image(f),
                    lambda f=(files.reference, *files.sources): _derived(*f, window, levels))
              for files in found if files.reference is not None and len(files.sources) == 2]
    if not scenes:
        raise FileNotFoundError(f"{root}: no <id>/reference + source_1 + source_2 folders found")
    return scenes


def folder_scenes(root: str | os.PathLike, *, void: float = 0.5, window: int = DERIVED_WINDOW,
                  levels: float = DERIVED_LEVELS) -> list[Scene]:
    """Scenes from a folder laid out as ``voc_seg_samples`` (``<id>/image.png + mask.png``) or as MF-VOC
    (``<id>/reference + source_1 + source_2``), whichever it holds."""
    root = Path(root)
    if any(root.glob("*/mask.png")):
        return voc_seg_scenes(root, void=void)
    if any(root.glob("*/reference.*")):
        return reference_pair_scenes(root, window=window, levels=levels)
    raise FileNotFoundError(f"{root}: neither <id>/image.png + mask.png nor <id>/reference + source_1 + "
                            "source_2 folders")


# the training sources by name: embedded needs no root, the others read one
REFERENCE_PAIR_SOURCES = ("mf_voc_subset", "nyu_d_100")
SOURCES = ("embedded", "voc_seg_samples", "voc2012", *REFERENCE_PAIR_SOURCES, "folder")


def make_scenes(source: str, root: str | os.PathLike | None = None, **options) -> list[Scene]:
    """Scenes by source name: ``embedded`` (``names=``); ``voc_seg_samples``, ``voc2012``, ``mf_voc_subset``,
    ``nyu_d_100`` (mattes derived from their pairs) and ``folder`` (either layout) need ``root``."""
    if source not in SOURCES:
        raise ValueError(f"unknown training source {source!r} ({', '.join(SOURCES)})")
    if source == "embedded":
        return embedded_scenes(**options)
    if root is None:
        raise ValueError(f"training source {source!r} needs a root folder")
    readers = {"voc_seg_samples": voc_seg_scenes, "voc2012": voc2012_scenes, "folder": folder_scenes}
    return readers.get(source, reference_pair_scenes)(root, **options)


def split_by_image(scenes: Sequence[Scene], heldout_share: float, seed: int = 0) -> tuple[list[Scene], list[Scene]]:
    """``(training, held-out)`` scenes: a scene is held out when a hash of ``(seed, its name)`` falls in the
    lowest ``heldout_share`` of its range. Whole images go one way, never crops; the split of an image
    does not change when others are added."""
    if not 0.0 <= heldout_share < 1.0:
        raise ValueError(f"heldout_share must lie in [0, 1), got {heldout_share}")
    training, heldout = [], []
    for scene in scenes:
        digest = hashlib.sha256(f"{seed}:{scene.name}".encode()).digest()
        draw_ = int.from_bytes(digest[:8], "big") / 2**64
        (heldout if draw_ < heldout_share else training).append(scene)
    return training, heldout


def _window(array: np.ndarray, top: int, left: int, size: int) -> np.ndarray:
    return array[top:top + size, left:left + size]


def synthesize_pair(image: np.ndarray, matte: np.ndarray | None, rng: np.random.Generator, *, crop: int,
                    sigma_range: tuple[float, float], scale_range: tuple[float, float] = (1.0, 1.0),
                    augment: bool = True, swap: bool = True, noise: float = 0.0
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One random ``(source_1, source_2, target)`` triple of float32 ``(crop, crop)`` arrays.

    A window of ``size / scale`` pixels is cut and resized to ``size`` (image: anti-aliased linear;
    matte: nearest, so VOC labels stay 0 / void / 1), ``size`` = crop plus a margin of 3 sigma_max each
    side, so no crop border is blurred against padding. Images smaller than the window are reflect-padded.
    ``noise`` > 0 adds sensor-like Gaussian noise, its standard deviation drawn from U(0, noise), to both
    sources independently after the blur (a camera's noise is not defocused, so it is no cue to focus).
    """
    low, high = sigma_range
    if not 0 <= low <= high:
        raise ValueError(f"sigma_range must be 0 <= low <= high, got {sigma_range}")
    if not 0 < scale_range[0] <= scale_range[1]:
        raise ValueError(f"scale_range must be 0 < low <= high, got {scale_range}")
    margin = math.ceil(3 * high)
    size = crop + 2 * margin
    scale = rng.uniform(*scale_range)
    source_size = max(2, round(size / scale))
    pad = [(0, max(0, source_size - n)) for n in image.shape]
    if any(p for _, p in pad):
        image = np.pad(image, pad, mode="reflect" if min(image.shape) > 1 else "edge")
        matte = None if matte is None else np.pad(matte, pad, mode="reflect" if min(matte.shape) > 1 else "edge")
    top = rng.integers(0, image.shape[0] - source_size + 1)
    left = rng.integers(0, image.shape[1] - source_size + 1)
    window = _window(image, top, left, source_size)
    alpha = None if matte is None else _window(matte, top, left, source_size)
    if source_size != size:
        window = transform.resize(window, (size, size), order=1, anti_aliasing=True).astype(np.float32)
        if alpha is not None:
            alpha = transform.resize(alpha, (size, size), order=0, anti_aliasing=False).astype(np.float32)
    if alpha is None:
        alpha = random_mask((size, size), rng)
    sigma_fg, sigma_bg = rng.uniform(low, high, 2)
    s1, s2, focus = defocus_pair(window, alpha, float(sigma_fg), float(sigma_bg))
    inner = (slice(margin, margin + crop),) * 2
    s1, s2, target = s1[inner][:, :, 0], s2[inner][:, :, 0], focus[0][inner]
    if augment:
        k, flip = int(rng.integers(4)), bool(rng.random() < 0.5)
        s1, s2, target = (np.rot90(a, k) for a in (s1, s2, target))
        if flip:
            s1, s2, target = (a[:, ::-1] for a in (s1, s2, target))
    if noise > 0:
        level = rng.uniform(0.0, noise)
        s1, s2 = (a + rng.normal(0.0, level, a.shape).astype(np.float32) for a in (s1, s2))
    if swap and rng.random() < 0.5:
        s1, s2, target = s2, s1, 1.0 - target
    return tuple(np.ascontiguousarray(a, dtype=np.float32) for a in (s1, s2, target))


class SyntheticPairs(Dataset):
    """``samples`` random pairs per epoch from ``scenes``; item ``i`` is ``(x1, x2, target)``, each ``(1, crop, crop)``.

    Deterministic: item ``i`` of epoch ``e`` is drawn from ``numpy.random.default_rng([seed, e, i])``.
    Call ``set_epoch(e)`` to get the next epoch's fresh samples.
    """

    def __init__(self, scenes: Sequence[Scene], *, samples: int, crop: int = 64,
                 sigma_range: tuple[float, float] = (1.0, 4.0), scale_range: tuple[float, float] = (1.0, 1.0),
                 seed: int = 0, augment: bool = True, swap: bool = True, noise: float = 0.0) -> None:
        if not scenes:
            raise ValueError("SyntheticPairs needs at least one scene")
        if samples < 1 or crop < 1:
            raise ValueError(f"samples and crop must be >= 1, got samples={samples}, crop={crop}")
        self.scenes, self.samples, self.crop = list(scenes), int(samples), int(crop)
        self.sigma_range = (float(sigma_range[0]), float(sigma_range[1]))
        self.scale_range = (float(scale_range[0]), float(scale_range[1]))
        self.seed, self.augment, self.swap, self.epoch = int(seed), augment, swap, 0
        self.noise = float(noise)
        self._cache: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _scene(self, index: int) -> tuple[np.ndarray, np.ndarray | None]:
        # small scene sets (embedded, samples, MF-VOC, NYU-D-100) stay in memory; VOC 2012 is read per sample
        if len(self.scenes) > 512:
            return self.scenes[index].load()
        if index not in self._cache:
            self._cache[index] = self.scenes[index].load()
        return self._cache[index]

    def __len__(self) -> int:
        return self.samples

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if not 0 <= index < self.samples:
            raise IndexError(index)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        image, matte = self._scene(int(rng.integers(len(self.scenes))))
        triple = synthesize_pair(image, matte, rng, crop=self.crop, sigma_range=self.sigma_range,
                                 scale_range=self.scale_range, augment=self.augment, swap=self.swap,
                                 noise=self.noise)
        return tuple(torch.from_numpy(a)[None] for a in triple)
