"""Foreground mattes for training pairs: random generated masks, PASCAL VOC segmentation masks, and
mattes derived from a synthetic multi-focus pair and its all-in-focus reference (:func:`derived_matte`).

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
from scipy import ndimage
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


# derived mattes: the window of the local mean difference and the margin, in gray levels (0-255)
DERIVED_WINDOW = 7
DERIVED_LEVELS = 1.0


def derived_matte(reference: np.ndarray, source_1: np.ndarray, source_2: np.ndarray, *,
                  window: int = DERIVED_WINDOW, levels: float = DERIVED_LEVELS) -> tuple[np.ndarray, float]:
    """Binary float32 ``(H, W)`` matte (1 where source 1 is in focus) of a synthetic pair, and the share of
    pixels it could not decide.

    The rule: ``d_k`` is the ``window`` x ``window`` mean of |source_k - reference| in gray levels (0-255,
    inputs are gray ``(H, W)`` in [0, 1]); source 1 is in focus where ``d_2 - d_1 > levels``, source 2
    where ``d_1 - d_2 > levels``. In the synthetic pairs of MF-VOC and NYU-D-100 the in-focus region is the
    reference itself (``d = 0`` up to JPEG noise) and the blurred one differs wherever it has texture; where
    neither source is closer (flat areas, which blur leaves unchanged) the pixel is *ambiguous* and takes
    the label of the nearest decided pixel, so the matte stays a whole region as a segmentation mask is.
    Raises ``ValueError`` when no pixel is decided.
    """
    reference, source_1, source_2 = (np.asarray(a, dtype=np.float64) for a in (reference, source_1, source_2))
    if reference.ndim != 2 or source_1.shape != reference.shape or source_2.shape != reference.shape:
        raise ValueError(f"need three gray (H, W) images of one shape, got {reference.shape}, {source_1.shape}, "
                         f"{source_2.shape}")
    distance_1 = ndimage.uniform_filter(np.abs(source_1 - reference) * 255.0, window, mode="reflect")
    distance_2 = ndimage.uniform_filter(np.abs(source_2 - reference) * 255.0, window, mode="reflect")
    first, second = distance_2 - distance_1 > levels, distance_1 - distance_2 > levels
    decided = first | second
    if not decided.any():
        raise ValueError("no pixel is closer to the reference in one source than in the other")
    ambiguous = float(1.0 - decided.mean())
    if ambiguous:
        nearest = ndimage.distance_transform_edt(~decided, return_distances=False, return_indices=True)
        first = first[nearest[0], nearest[1]]
    return first.astype(np.float32), ambiguous
