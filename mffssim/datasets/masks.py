"""Foreground masks and depth layers for the embedded synthetic dataset.

All masks are boolean ``(H, W)``; layer maps are integer labels ``0 .. L-1`` ordered far -> near.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage


def _largest_components(mask: np.ndarray, keep: int = 1) -> np.ndarray:
    """The ``keep`` largest 8-connected components of a boolean mask."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    if count == 0:
        return mask
    sizes = ndimage.sum_labels(mask, labels, index=np.arange(1, count + 1))
    chosen = np.argsort(sizes)[::-1][:keep] + 1
    return np.isin(labels, chosen)


def object_mask(
    gray: np.ndarray, *, dark: bool, keep: int = 1, opening: bool = False, drop_border: bool = False
) -> np.ndarray:
    """Segment the ``keep`` largest dark (or bright) objects of a gray image by Otsu's threshold.

    Optionally the threshold mask is opened (3x3, removes thin bridges) and objects touching the image
    border are dropped; then the largest components are kept, their outlines closed (5x5) and holes filled.
    """
    from skimage.filters import threshold_otsu
    from skimage.segmentation import clear_border

    gray = np.asarray(gray, dtype=np.float32)
    threshold = threshold_otsu(gray)
    mask = gray < threshold if dark else gray > threshold
    if opening:
        mask = ndimage.binary_opening(mask, structure=np.ones((3, 3)))
    if drop_border:
        mask = clear_border(mask)
    mask = _largest_components(mask, keep)
    mask = ndimage.binary_closing(mask, structure=np.ones((5, 5)))
    return ndimage.binary_fill_holes(mask)


def blob_mask(shape: tuple[int, int], rng: np.random.Generator, *, scale: float, coverage: float) -> np.ndarray:
    """Smooth random blobs: white noise blurred by ``scale`` pixels, thresholded to cover ``coverage``
    of the image (0 < coverage < 1)."""
    if not 0.0 < coverage < 1.0:
        raise ValueError(f"coverage must lie in (0, 1), got {coverage}")
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=scale, mode="reflect")
    return field > np.quantile(field, 1.0 - coverage)


def fill_invalid(values: np.ndarray) -> np.ndarray:
    """Replace non-finite entries (e.g. occluded disparities) by the nearest finite one."""
    values = np.asarray(values, dtype=np.float32)
    invalid = ~np.isfinite(values)
    if not invalid.any():
        return values
    if invalid.all():
        raise ValueError("no finite value to fill from")
    indices = ndimage.distance_transform_edt(invalid, return_distances=False, return_indices=True)
    return values[tuple(indices)]


def depth_layers(disparity: np.ndarray, n_layers: int, *, smooth: int = 7) -> np.ndarray:
    """Split a disparity map into ``n_layers`` labels ordered far (small disparity) -> near.

    Thresholds are multi-Otsu's (natural gaps of the disparity histogram); speckle is removed by a
    ``smooth`` x ``smooth`` majority vote.
    """
    from skimage.filters import threshold_multiotsu

    disparity = fill_invalid(disparity)
    labels = np.digitize(disparity, threshold_multiotsu(disparity, classes=n_layers))
    votes = np.stack([ndimage.uniform_filter((labels == k).astype(np.float32), smooth) for k in range(n_layers)])
    return np.argmax(votes, axis=0)
