"""Alpha-matte defocus synthesis (Eq. 16 of the paper, as docs/method.md reads it).

From an all-in-focus image I and a foreground matte alpha, source 1 keeps the foreground sharp and
blurs the background; source 2 blurs the foreground and keeps the background sharp. The blurred
foreground is wider than alpha and spills over the sharp background: the defocus spread effect.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from scipy import ndimage

_EPS = 1e-6


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Blur each channel of a ``(H, W)`` or ``(H, W, C)`` float image with a Gaussian (reflect border)."""
    image = np.asarray(image, dtype=np.float32)
    if sigma <= 0:
        return image.copy()
    spatial = (sigma, sigma) + (0,) * (image.ndim - 2)
    return ndimage.gaussian_filter(image, sigma=spatial, mode="reflect", truncate=3.0).astype(np.float32)


def defocus_pair(
    image: np.ndarray, alpha: np.ndarray, sigma_foreground: float, sigma_background: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Make two multi-focus sources from an image ``(H, W, C)`` and a matte ``alpha`` ``(H, W)`` in [0, 1].

    Returns ``(source_1, source_2, focus_map)``: source 1 has the foreground in focus, source 2 the
    background; ``focus_map`` is ``(2, H, W)`` with ``focus_map[0] = alpha`` (1 -> source 1).

    X1 = alpha*I + (1 - alpha) * G*((1-alpha) I) / G*(1-alpha)   (background blurred, no dark halo)
    X2 = G*(alpha I) + (1 - G*alpha) * I                         (foreground blurred, spills over)
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[:, :, None]
    alpha = np.clip(np.asarray(alpha, dtype=np.float32), 0.0, 1.0)
    if alpha.shape != image.shape[:2]:
        raise ValueError(f"alpha has shape {alpha.shape}, the image {image.shape[:2]}")
    if sigma_background is None:
        sigma_background = sigma_foreground
    a = alpha[:, :, None]

    background = (1.0 - a) * image
    blurred_background = gaussian_blur(background, sigma_background) / np.maximum(
        gaussian_blur(1.0 - a, sigma_background), _EPS
    )
    source_1 = a * image + (1.0 - a) * blurred_background

    blurred_foreground = gaussian_blur(a * image, sigma_foreground)
    blurred_alpha = gaussian_blur(a, sigma_foreground)
    source_2 = blurred_foreground + (1.0 - blurred_alpha) * image

    focus_map = np.stack([alpha, 1.0 - alpha]).astype(np.float32)
    return (
        np.clip(source_1, 0.0, 1.0).astype(np.float32),
        np.clip(source_2, 0.0, 1.0).astype(np.float32),
        focus_map,
    )


def defocus_layers(image: np.ndarray, layers: np.ndarray, sigmas, *,
                   blur: Callable[[np.ndarray, float], np.ndarray] = gaussian_blur) -> np.ndarray:
    """Render one source of a layered scene: each depth layer blurred by its own sigma (0 = in focus).

    ``layers`` is ``(L, H, W)``, masks ordered far -> near that partition the image; ``sigmas`` gives one
    Gaussian sigma per layer. Layers are composited back to front; layer j brings its own texture,
    blurred and normalised (``G*(a_j I) / G*a_j``, no dark halo), with coverage ``G*U_j``, where ``U_j``
    is layer j and everything nearer. So an out-of-focus layer spills over what lies behind it, and an
    in-focus layer (sigma 0) cuts what lies behind it sharply. With two layers this is exactly Eq. 16:
    ``defocus_layers(I, [1-a, a], [s, 0])`` is ``defocus_pair``'s source 1, ``[0, s]`` its source 2.
    ``blur(image, sigma)``: the defocus kernel (default the Gaussian; a benchmark passes a lens's pillbox).
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[:, :, None]
    layers = np.clip(np.asarray(layers, dtype=np.float32), 0.0, 1.0)
    sigmas = [float(s) for s in sigmas]
    if layers.ndim != 3 or layers.shape[1:] != image.shape[:2]:
        raise ValueError(f"layers must have shape (L, {image.shape[0]}, {image.shape[1]}), got {layers.shape}")
    if len(sigmas) != layers.shape[0]:
        raise ValueError(f"need one sigma per layer: {layers.shape[0]} layers, {len(sigmas)} sigmas")
    if not np.allclose(layers.sum(axis=0), 1.0, atol=1e-3):
        raise ValueError("layers must partition the image (their masks must sum to 1 at every pixel)")
    cover = np.cumsum(layers[::-1], axis=0)[::-1]  # cover[j] = layer j and every nearer layer
    canvas = image
    for mask, covered, sigma in zip(layers, cover, sigmas):
        a, u = mask[:, :, None], covered[:, :, None]
        if sigma <= 0:
            texture, coverage = image, u
        else:
            weight = blur(a, sigma)
            texture = np.where(weight > _EPS, blur(a * image, sigma) / np.maximum(weight, _EPS), image)
            coverage = blur(u, sigma)
        canvas = coverage * texture + (1.0 - coverage) * canvas
    return np.clip(canvas, 0.0, 1.0).astype(np.float32)
