"""Input handling shared by every metric: the 0-255 integer scale and MATLAB's rgb2gray.

The MATLAB toolboxes read 8-bit files, so every metric here first brings its inputs to that scale:
uint8 as is, uint16 as round(x / 257), float in [0, 1] as round(255 x).
"""
from __future__ import annotations

import importlib
from types import ModuleType

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import ndimage

from ._memo import memo

# First row of MATLAB's inverse NTSC matrix, as rgb2gray uses it (not the rounded 0.299/0.587/0.114).
RGB2GRAY_WEIGHTS = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])


def numba_kernels(name: str) -> ModuleType:
    """The module ``mffssim.metrics.<name>`` of numba kernels, imported on first use: numba's import costs
    about 0.2 CPU-s, which a process that never needs the kernels should not pay. numba is configured as
    ``mffssim.kernels`` configures it (cache folder, threading layer) before its first import."""
    from ..kernels import _configure_numba  # pylint: disable=import-outside-toplevel

    _configure_numba()
    return importlib.import_module(f"{__package__}.{name}")


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


def gray_triple(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sources ``a``, ``b`` and fused ``f`` as 2-D float64 luminance on the 0..255 integer scale, same size.

    The results are read-only and shared (``mffssim.metrics._memo``): every metric of one image reuses them.
    """
    images = tuple(memo("gray_255", lambda x, n=name: gray_255(x, n), np.asarray(x))
                   for x, name in ((a, "a"), (b, "b"), (f, "f")))
    check_same_shape(*images, names=("a", "b", "f"))
    return images


def normalized_triple(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``normalize1`` of each of ``gray_triple(a, b, f)`` (read-only, shared like it)."""
    return tuple(memo("normalize1", normalize1, image) for image in gray_triple(a, b, f))


def normalize1(image255: np.ndarray) -> np.ndarray:
    """The toolbox's ``normalize1``: per-image min-max stretch to integers 0..255, round(255 (x - min)/(max - min)).

    Rounding is MATLAB's (halves away from zero, e.g. 24.5 -> 25), not numpy's round-half-to-even.

    MATLAB leaves an all-zero image as is and returns NaN for any other constant image; here every constant
    image maps to all zeros (no range to stretch), so the metrics that use it never see NaN.
    """
    low, high = float(image255.min()), float(image255.max())
    if high == low:
        return np.zeros_like(image255, dtype=np.float64)
    return np.floor((image255 - low) / (high - low) * 255.0 + 0.5)  # MATLAB round: halves go up


def running_sum(values):
    """Sum in index order, one element at a time, as MATLAB/Octave loops and ``sum`` add (numpy's ``sum`` adds
    pairwise). Over a 2-D array's rows, it sums them elementwise."""
    total = 0.0
    for value in values:
        total = total + value
    return total


def filter2_same(kernel: np.ndarray, image: np.ndarray) -> np.ndarray:
    """MATLAB ``filter2(kernel, image, 'same')``: 2-D correlation, zero padding, output the size of ``image``.

    For an even kernel size MATLAB's 'same' keeps the centre at index ``(k - 1) // 2`` from the top-left;
    scipy's origin is shifted to match.
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    origin = tuple(-((n - 1) % 2) for n in kernel.shape)
    return ndimage.correlate(image, kernel, mode="constant", cval=0.0, origin=origin)


def local_mean(image: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """MATLAB ``filter2(outer(taps, taps), image, 'valid')`` for a separable window, done as two 1-D passes.

    'valid' keeps the (H - k + 1) x (W - k + 1) positions where the k x k window lies inside the image.
    """
    k = len(taps)
    rows = sliding_window_view(image, k, axis=0) @ taps
    return sliding_window_view(rows, k, axis=1) @ taps


def _window_any(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """True for every 'valid' height x width window of ``mask`` that holds a True value."""
    rows = ndimage.maximum_filter1d(mask.view(np.uint8), height, axis=0)
    rows = rows[height // 2 : height // 2 + mask.shape[0] - height + 1]
    cols = ndimage.maximum_filter1d(rows, width, axis=1)
    return cols[:, width // 2 : width // 2 + mask.shape[1] - width + 1].view(bool)


def window_is_flat(image: np.ndarray, size: int) -> np.ndarray:
    """True for each 'valid' size x size window of ``image`` whose pixels are all equal.

    A window is flat when none of its horizontal or vertical neighbour pairs differ.
    """
    across = _window_any(image[:, 1:] != image[:, :-1], size, size - 1)
    down = _window_any(image[1:, :] != image[:-1, :], size - 1, size)
    return ~(across | down)


SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])  # toolbox 'horizontal' kernel
SOBEL_Y = SOBEL_X.T.copy()  # rows (-1 -2 -1), (0 0 0), (1 2 1)


def sobel(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Toolbox Sobel responses ``(gx, gy)``: exact spatial correlation, zero padding, 'same' size."""
    return filter2_same(SOBEL_X, image), filter2_same(SOBEL_Y, image)


def freqspace_radius(shape: tuple[int, int], scale: float) -> np.ndarray:
    """Radial frequency of MATLAB ``freqspace(shape, 'meshgrid')`` scaled by (W/scale, H/scale), in fft order.

    Per axis f_k = (k - floor(n/2)) * (2/n); u = f_col W/scale, v = f_row H/scale, r = sqrt(u^2 + v^2).
    The result is ``ifftshift``-ed so it multiplies an unshifted spectrum directly.
    """
    height, width = shape
    fu = (np.arange(width) - width // 2) * (2.0 / width) * (width / scale)
    fv = (np.arange(height) - height // 2) * (2.0 / height) * (height / scale)
    radius = np.sqrt(fu[np.newaxis, :] ** 2 + fv[:, np.newaxis] ** 2)
    return np.fft.ifftshift(radius)


def csf_filter(image: np.ndarray, response: np.ndarray) -> np.ndarray:
    """Filter ``image`` by the real, even frequency ``response`` (unshifted layout); real part of the result."""
    half = response[:, : image.shape[1] // 2 + 1]
    return np.fft.irfft2(np.fft.rfft2(image) * half, s=image.shape)
