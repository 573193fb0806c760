"""Foreground mattes for training pairs: random generated masks, and PASCAL VOC segmentation masks.

Generated masks (for images that have no segmentation) are smooth random blobs or unions of random
ellipses and polygons, binary, drawn from a numpy Generator so a seed fixes them. VOC masks mark the
object classes, background 0 and a 'void' band (index 255, colour (224, 224, 192)) about 5 px wide along
every object outline; where the true edge lies inside that band is unknown, so void pixels get the
matte value ``void`` (0.5 by default: a soft edge, which the BCE target keeps as 'undecided').
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import draw

from ..datasets import masks as datasets_masks

VOC_VOID_INDEX = 255
VOC_VOID_COLOUR = (224, 224, 192)


def blob_mask(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Binary ``(H, W)`` float32 mask of smooth random blobs, with a random blob size and foreground share.

    The smoothing scale (6 %..25 % of the shorter side) sets the blob size; 30..70 % of the image is foreground.
    """
    scale = rng.uniform(0.06, 0.25) * min(shape)
    coverage = rng.uniform(0.3, 0.7)
    return datasets_masks.blob_mask(shape, rng, scale=scale, coverage=coverage).astype(np.float32)


def shape_mask(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Binary ``(H, W)`` float32 mask: the union of 1..3 random ellipses and polygons."""
    height, width = shape
    mask = np.zeros(shape, dtype=bool)
    for _ in range(rng.integers(1, 4)):
        if rng.random() < 0.5:
            rows, cols = draw.ellipse(
                rng.uniform(0, height), rng.uniform(0, width),
                rng.uniform(0.1, 0.5) * height, rng.uniform(0.1, 0.5) * width,
                shape=shape, rotation=rng.uniform(0, np.pi),
            )
        else:
            n = rng.integers(3, 8)
            centre = rng.uniform(0, 1, 2) * (height, width)
            angles = np.sort(rng.uniform(0, 2 * np.pi, n))
            radii = rng.uniform(0.15, 0.5, n) * min(shape)
            rows, cols = draw.polygon(centre[0] + radii * np.sin(angles), centre[1] + radii * np.cos(angles),
                                      shape=shape)
        mask[rows, cols] = True
    return mask.astype(np.float32)


def random_mask(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A generated foreground mask: blobs or shapes with equal chance (binary float32 ``(H, W)``)."""
    return blob_mask(shape, rng) if rng.random() < 0.5 else shape_mask(shape, rng)


def voc_matte(labels: np.ndarray, *, void: float = 0.5) -> np.ndarray:
    """Matte from a VOC class/instance index image: 0 -> 0, 255 (void) -> ``void``, any object -> 1."""
    labels = np.asarray(labels)
    matte = (labels > 0).astype(np.float32)
    matte[labels == VOC_VOID_INDEX] = void
    return matte


def read_voc_mask(path: str | os.PathLike, *, void: float = 0.5) -> np.ndarray:
    """Read a VOC segmentation mask as a float32 ``(H, W)`` matte in [0, 1].

    Accepts the official palette PNG (mode 'P', indices 0 = background, 255 = void) and an RGB rendering
    of the VOC palette (black = background, (224, 224, 192) = void, any other colour = an object), as the
    ``voc_seg_samples`` files are.
    """
    path = Path(path)
    if not 0.0 <= void <= 1.0:
        raise ValueError(f"void must lie in [0, 1], got {void}")
    try:
        with Image.open(path) as image:
            mode = image.mode
            array = np.asarray(image.convert("RGB") if mode not in ("P", "L", "I", "I;16", "1") else image)
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: cannot be read as a segmentation mask ({error})") from None
    if array.ndim == 2:
        return voc_matte(array, void=void)
    matte = np.any(array != 0, axis=-1).astype(np.float32)
    matte[np.all(array == np.array(VOC_VOID_COLOUR, dtype=array.dtype), axis=-1)] = void
    return matte
