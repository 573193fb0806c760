"""Input handling shared by every metric: the 0-255 integer scale and MATLAB's rgb2gray.

The MATLAB toolboxes read 8-bit files, so every metric here first brings its inputs to that scale:
uint8 as is, uint16 as round(x / 257), float in [0, 1] as round(255 x).
"""
from __future__ import annotations

import numpy as np

# First row of MATLAB's inverse NTSC matrix, as rgb2gray uses it (not the rounded 0.299/0.587/0.114).
RGB2GRAY_WEIGHTS = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])


def to_255(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Return ``image`` as float64 integers 0..255, shape ``(H, W)`` (gray) or ``(H, W, 3)`` (colour)."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3):
        raise ValueError(f"{name}: expected (H, W), (H, W, 1) or (H, W, 3), got shape {array.shape}")
    if array.shape[0] < 2 or array.shape[1] < 2:
        raise ValueError(f"{name}: image of shape {array.shape} is too small")
    if array.dtype == np.uint8:
        return array.astype(np.float64)
    if array.dtype == np.uint16:
        return np.round(array.astype(np.float64) / 257.0)
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name}: holds NaN or infinite values")
        if array.min() < 0.0 or array.max() > 1.0:
            raise ValueError(f"{name}: float images must lie in [0, 1], found [{array.min():g}, {array.max():g}]")
        return np.round(array.astype(np.float64) * 255.0)
    raise ValueError(f"{name}: unsupported dtype {array.dtype} (uint8, uint16 or float in [0, 1])")


def rgb2gray_matlab(image255: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray`` on a uint8 image: weighted sum, rounded half up, kept on the 0..255 scale."""
    if image255.ndim == 2:
        return image255
    return np.floor(image255 @ RGB2GRAY_WEIGHTS + 0.5)


def gray_255(image: np.ndarray, name: str = "image") -> np.ndarray:
    """``to_255`` followed by MATLAB's rounded rgb2gray for colour input: the fusion toolbox's luminance."""
    return rgb2gray_matlab(to_255(image, name))


def check_same_shape(*images: np.ndarray, names: tuple[str, ...]) -> None:
    """Raise a ValueError naming the first image whose height and width differ from the first one's."""
    first = images[0].shape[:2]
    for image, name in zip(images[1:], names[1:]):
        if image.shape[:2] != first:
            raise ValueError(f"{name}: size {image.shape[:2]} differs from {names[0]} {first}")
