"""Registration of focus stacks: focus breathing (scale) and hand-held shots (shift, rotation).

Real focus stacks are not registered: refocusing changes the magnification by a few per cent and a
hand-held camera shifts and turns between shots, so fusing the frames as they are ghosts. This module
estimates, per frame, a similarity (default), affine or homography transform onto an **anchor** frame
(default: the middle one) and resamples the frames onto it.

Estimation is intensity-based and made to work across different focus, where blur hides the point
features a keypoint matcher needs:

* each frame is turned into a **band-passed** gray image (a difference of Gaussians, normalised), in which
  a defocused and a sharp view of one edge still correlate (a symmetric blur does not move the best
  translation);
* a coarse **translation** comes from phase correlation on the coarsest level of an image pyramid; the
  transform is then refined level by level by Gauss-Newton on the sum of squared differences of the
  band-passed images (a forward-additive Lucas-Kanade; contrast differences are normalised away at each
  step, as in ECC);
* the band-passed images of a sharp and a defocused view of one scene are not alike, and their
  least-squares fit is biased in scale (shrinking the blurred view makes it more like the sharp one), by
  a few tenths of a pixel at the frame corners. So the last refinement, at the finest level, is made on
  **blur-matched** images: the frame resampled onto its neighbour, then, pixel by pixel, whichever of the
  two is the sharper blurred by the Gaussian that makes them most alike in a small window
  (:func:`match_blur`); the residual transform is fitted with Huber weights, so content the two do not
  share (a border, a moving object) pulls little;
* long stacks are **chained**: each frame is registered to its neighbour towards the anchor (the most
  similar focus) and the transforms are composed.

An alignment that cannot be trusted raises :class:`AlignmentError` naming the frame: a final correlation
of the band-passed images below ``min_score`` (unrelated images, too little texture), or an implausible
transform (scale outside 0.75-1.33, rotation above 10 degrees, a shift beyond a quarter of the frame).

Conventions: pixel coordinates are ``(x, y)`` = (column, row), with the origin at the centre of the top-left
pixel. ``Alignment.transforms[k]`` is a 3x3 matrix ``H`` mapping the homogeneous coordinates ``(x, y, 1)`` of
frame k to the anchor frame's coordinates (``H`` of the anchor is the identity). The **common area** is the
largest axis-aligned rectangle of the anchor frame that every warped frame covers; :func:`warp_frames`
crops to it by default. Transform files (:func:`write_transforms`) are described in ``docs/photos.md``.

Example (``frames``: float32 ``(K, H, W, C)`` in [0, 1])::

    alignment = align_stack(frames)
    aligned = warp_frames(frames, alignment)  # (K, h, w, C), cropped to the common area
"""
from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy import ndimage

MODELS = ("translation", "similarity", "affine", "homography")
_PARAMS = {"translation": 2, "similarity": 4, "affine": 6, "homography": 8}
# plausibility limits of an estimated transform (focus breathing and a hand-held camera stay well inside)
MAX_SCALE_CHANGE = 0.25
MAX_ROTATION_DEG = 10.0
MAX_SHIFT_FRACTION = 0.25
MIN_SCORE = 0.35  # the least correlation of the band-passed frames over their overlap after alignment
# blur matching: the relative defocus tried per pixel (Gaussian sigma, pixels of the finest level), the
# window over which the candidates are compared, and the Huber constant of the robust final refinement
MATCH_SIGMAS = (0.75, 1.25, 1.75, 2.5, 3.5, 5.0)
MATCH_WINDOW = 8.0
HUBER_K = 1.345


class AlignmentError(ValueError):
    """A frame could not be registered (too little texture, unrelated images, an implausible transform)."""


@dataclass
class Alignment:
    """The result of :func:`align_stack`.

    transforms: float64 ``(K, 3, 3)``, frame k's ``(x, y, 1)`` -> anchor coordinates.
    anchor: index (0-based) of the anchor frame. shape: ``(H, W)`` of the frames.
    crop: ``(x0, y0, width, height)`` of the common area in anchor coordinates (pixels).
    scores: correlation of each frame's band-passed image with its neighbour's after alignment (1 for the anchor).
    gains, offsets: ``(K, C)`` brightness matching (``gain * frame + offset``); ones and zeros when not matched.
    """

    transforms: np.ndarray
    anchor: int
    shape: tuple[int, int]
    crop: tuple[int, int, int, int]
    model: str = "similarity"
    scores: np.ndarray | None = None
    gains: np.ndarray | None = None
    offsets: np.ndarray | None = None
    names: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------ images
def _gray(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 3:
        if image.shape[2] == 3:
            return image @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return image.mean(axis=2)
    return image


def _half(image: np.ndarray) -> np.ndarray:
    """Halve an ``(H, W)`` or ``(H, W, C)`` image (2x2 mean); a pixel centre x of the result is 2x + 0.5 of the input."""
    h, w = (image.shape[0] // 2) * 2, (image.shape[1] // 2) * 2
    im = image[:h, :w]
    return 0.25 * (im[0::2, 0::2] + im[1::2, 0::2] + im[0::2, 1::2] + im[1::2, 1::2])


def _dog(image: np.ndarray) -> np.ndarray:
    """Difference of Gaussians (sigma 1 and 4) of a gray image."""
    return ndimage.gaussian_filter(image, 1.0) - ndimage.gaussian_filter(image, 4.0)


def _bandpass(image: np.ndarray) -> np.ndarray:
    """Difference of Gaussians (sigma 1 and 4), scaled to unit standard deviation."""
    band = _dog(image)
    return (band / (band.std() + 1e-8)).astype(np.float32)


def _halvings(shape: tuple[int, ...], max_side: int, min_side: int = 48) -> list[int]:
    """The pyramid's levels as halving counts relative to full resolution, coarsest first: the finest is at most
    ``max_side`` pixels a side, and a level is added while its halving keeps ``min_side`` pixels a side."""
    (h, w), factor = shape[:2], 0
    while max(h, w) > max_side:
        h, w, factor = h // 2, w // 2, factor + 1
    counts = [factor]
    while min(h, w) // 2 >= min_side:
        h, w, factor = h // 2, w // 2, factor + 1
        counts.append(factor)
    return counts[::-1]


def _reductions(gray: np.ndarray, halvings: Sequence[int]) -> dict[int, np.ndarray]:
    """``gray`` halved to each count of ``halvings``, all in one chain of 2x2 reductions."""
    found, image, done = {}, gray, 0
    for count in sorted(set(halvings)):
        for _ in range(count - done):
            image = _half(image)
        found[count], done = image, count
    return found


def _scale_matrix(halvings: int) -> np.ndarray:
    """Full-resolution coordinates -> coordinates after ``halvings`` 2x2 reductions."""
    s = 0.5 ** halvings
    return np.array([[s, 0, 0.5 * s - 0.5], [0, s, 0.5 * s - 0.5], [0, 0, 1.0]])


# ------------------------------------------------------------------------------ Gauss-Newton refinement
def _matrix(p: np.ndarray, model: str) -> np.ndarray:
    """Warp matrix (fixed -> moving coordinates, centred) from the parameters."""
    if model == "translation":
        return np.array([[1, 0, p[0]], [0, 1, p[1]], [0, 0, 1.0]])
    if model == "similarity":
        return np.array([[1 + p[0], -p[1], p[2]], [p[1], 1 + p[0], p[3]], [0, 0, 1.0]])
    if model == "affine":
        return np.array([[1 + p[0], p[1], p[2]], [p[3], 1 + p[4], p[5]], [0, 0, 1.0]])
    return np.array([[1 + p[0], p[1], p[2]], [p[3], 1 + p[4], p[5]], [p[6], p[7], 1.0]])


def _params(matrix: np.ndarray, model: str) -> np.ndarray:
    m = matrix / matrix[2, 2]
    if model == "translation":
        return np.array([m[0, 2], m[1, 2]])
    if model == "similarity":
        return np.array([0.5 * (m[0, 0] + m[1, 1]) - 1, 0.5 * (m[1, 0] - m[0, 1]), m[0, 2], m[1, 2]])
    if model == "affine":
        return np.array([m[0, 0] - 1, m[0, 1], m[0, 2], m[1, 0], m[1, 1] - 1, m[1, 2]])
    return np.array([m[0, 0] - 1, m[0, 1], m[0, 2], m[1, 0], m[1, 1] - 1, m[1, 2], m[2, 0], m[2, 1]])


def _huber_weights(residual: np.ndarray, k: float = HUBER_K) -> np.ndarray:
    """IRLS weights of the Huber loss: 1 for residuals within ``k`` robust standard deviations (1.4826 MAD),
    ``k sigma / |r|`` beyond, so outliers (content one frame has and the other lacks) pull linearly."""
    scale = 1.4826 * float(np.median(np.abs(residual))) + 1e-12
    return np.minimum(1.0, k * scale / np.maximum(np.abs(residual), 1e-12))


def _refine(fixed: np.ndarray, moving: np.ndarray, warp: np.ndarray, model: str, iterations: int = 40, *,
            mask: np.ndarray | None = None, robust: bool = False) -> tuple[np.ndarray, float]:
    """Refine ``warp`` (fixed pixel coords -> moving pixel coords, 3x3) by Gauss-Newton; return it and the
    correlation of the two band-passed images over their overlap.

    ``mask``: boolean ``fixed.shape``, the fixed pixels that may be used (default: all). ``robust``: Huber
    weights (iteratively reweighted least squares) instead of plain least squares.
    """
    h, w = fixed.shape
    mh, mw = moving.shape
    cx, cy = (w - 1) / 2, (h - 1) / 2
    norm = max(w, h) / 2  # centred, normalised coordinates keep the normal equations well conditioned
    to_c = np.array([[1 / norm, 0, -cx / norm], [0, 1 / norm, -cy / norm], [0, 0, 1.0]])
    from_c = np.linalg.inv(to_c)
    step = 2 if fixed.size > 400_000 else 1  # a sample of the pixels is plenty for the few parameters
    ys, xs = np.mgrid[0:h:step, 0:w:step]
    u = ((xs - cx) / norm).ravel()
    v = ((ys - cy) / norm).ravel()
    f = fixed[::step, ::step].ravel().astype(np.float64)
    usable = None if mask is None else np.asarray(mask, dtype=bool)[::step, ::step].ravel()
    gfy, gfx = np.gradient(fixed.astype(np.float64))
    gfx, gfy = gfx[::step, ::step].ravel(), gfy[::step, ::step].ravel()
    moving = moving.astype(np.float64)
    gmy, gmx = np.gradient(moving)
    p = _params(to_c @ warp @ from_c, model)
    score = 0.0
    for _ in range(iterations):
        m = _matrix(p, model)
        den = m[2, 0] * u + m[2, 1] * v + 1.0
        mu = (m[0, 0] * u + m[0, 1] * v + m[0, 2]) / den
        mv = (m[1, 0] * u + m[1, 1] * v + m[1, 2]) / den
        mx, my = mu * norm + cx, mv * norm + cy
        inside = (mx >= 1) & (mx <= mw - 2) & (my >= 1) & (my <= mh - 2)
        if usable is not None:
            inside &= usable
        if inside.mean() < 0.2:
            return warp, -1.0
        coords = np.stack([my[inside], mx[inside]])
        sampled = ndimage.map_coordinates(moving, coords, order=1, prefilter=False)
        gx = ndimage.map_coordinates(gmx, coords, order=1, prefilter=False)
        gy = ndimage.map_coordinates(gmy, coords, order=1, prefilter=False)
        fi = f[inside]
        # contrast normalisation (ECC-like): the moving samples scaled to the fixed ones' spread
        sm, fm = sampled - sampled.mean(), fi - fi.mean()
        gain = (sm @ fm) / (sm @ sm + 1e-12)
        score = float((sm @ fm) / math.sqrt((sm @ sm) * (fm @ fm) + 1e-12))
        r = gain * sm - fm
        # efficient second-order: mean of the moving gradient (warped) and the fixed one
        gx = 0.5 * (gain * gx + gfx[inside]) * norm
        gy = 0.5 * (gain * gy + gfy[inside]) * norm
        uu, vv = u[inside], v[inside]
        if model == "translation":
            jac = np.stack([gx, gy], axis=1)
        elif model == "similarity":
            jac = np.stack([gx * uu + gy * vv, -gx * vv + gy * uu, gx, gy], axis=1)
        else:
            cols = [gx * uu, gx * vv, gx, gy * uu, gy * vv, gy]
            if model == "homography":
                cols += [-(gx * mu[inside] + gy * mv[inside]) * uu, -(gx * mu[inside] + gy * mv[inside]) * vv]
            jac = np.stack(cols, axis=1)
        weights = _huber_weights(r) if robust else np.ones_like(r)
        hess = jac.T @ (jac * weights[:, None])
        try:
            dp = -np.linalg.solve(hess + 1e-9 * np.trace(hess) * np.eye(len(p)), jac.T @ (weights * r))
        except np.linalg.LinAlgError:
            break
        p = p + dp
        if np.abs(dp).max() * norm < 1e-3:
            break
    return from_c @ _matrix(p, model) @ to_c, score


def _sample_on(image: np.ndarray, warp: np.ndarray, shape: tuple[int, int], margin: float = 2.0
               ) -> tuple[np.ndarray, np.ndarray]:
    """``image`` resampled (cubic B-spline) at ``warp @ (x, y, 1)`` for every pixel of a ``shape`` grid, and
    the mask of the grid pixels whose source lies at least ``margin`` pixels inside the image."""
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    den = warp[2, 0] * xs + warp[2, 1] * ys + warp[2, 2]
    mx = (warp[0, 0] * xs + warp[0, 1] * ys + warp[0, 2]) / den
    my = (warp[1, 0] * xs + warp[1, 1] * ys + warp[1, 2]) / den
    values = ndimage.map_coordinates(image.astype(np.float64), np.stack([my, mx]), order=3, mode="nearest")
    ih, iw = image.shape
    valid = (mx >= margin) & (mx <= iw - 1 - margin) & (my >= margin) & (my <= ih - 1 - margin)
    return values.astype(np.float32), valid


def match_blur(first: np.ndarray, second: np.ndarray, *, sigmas: Sequence[float] = MATCH_SIGMAS,
               window: float = MATCH_WINDOW) -> tuple[np.ndarray, np.ndarray]:
    """Blur whichever of two registered gray images is the sharper, pixel by pixel, until they match.

    Across a focus stack one frame is sharp where its neighbour is defocused; a least-squares fit of a
    sharp and a blurred view is biased in scale (blur widens a feature, shrinking the blurred view makes it
    more alike), which costs a few tenths of a pixel at the frame corners. Each pixel takes the candidate
    (no blur, or one image blurred by a sigma of ``sigmas``) whose band-passed images differ least in a
    Gaussian ``window``; the other image stays as it is there. Returns the two matched images (float32).
    """
    first = np.asarray(first, dtype=np.float32)
    second = np.asarray(second, dtype=np.float32)
    if first.shape != second.shape or first.ndim != 2:
        raise ValueError(f"match_blur: expected two gray images of one shape, got {first.shape} and {second.shape}")
    if window <= 0 or not sigmas or min(sigmas) <= 0:
        raise ValueError(f"match_blur: window and sigmas must be positive, got window {window} and sigmas {tuple(sigmas)}")
    band1, band2 = _dog(first), _dog(second)
    best = ndimage.gaussian_filter((band1 - band2) ** 2, window)
    out1, out2 = first.copy(), second.copy()
    for sigma in sigmas:
        for blur_first in (True, False):
            blurred = ndimage.gaussian_filter(first if blur_first else second, sigma)
            band = _dog(blurred)
            cost = ndimage.gaussian_filter((band - band2) ** 2 if blur_first else (band1 - band) ** 2, window)
            better = cost < best
            best = np.where(better, cost, best)
            if blur_first:
                out1, out2 = np.where(better, blurred, out1), np.where(better, second, out2)
            else:
                out1, out2 = np.where(better, first, out1), np.where(better, blurred, out2)
    return out1, out2


def _score(fixed: np.ndarray, moving: np.ndarray, warp: np.ndarray) -> float:
    """Correlation of two band-passed images over their overlap once ``moving`` is sampled through ``warp``."""
    sampled, valid = _sample_on(moving, warp, fixed.shape, margin=1.0)
    if valid.mean() < 0.2:
        return -1.0
    a, b = fixed[valid].astype(np.float64), sampled[valid].astype(np.float64)
    a, b = a - a.mean(), b - b.mean()
    return float((a @ b) / math.sqrt((a @ a) * (b @ b) + 1e-12))


def _blur_matched_refine(fixed: np.ndarray, moving: np.ndarray, warp: np.ndarray, model: str) -> np.ndarray:
    """Final refinement at the finest level: ``moving`` (gray) is resampled onto ``fixed`` through ``warp``,
    the two are blur-matched (:func:`match_blur`), and a residual transform between them is fitted with
    Huber weights (pixels the frames do not share, such as a moved frame's repeated border, are outliers);
    returns the corrected ``warp`` (fixed -> moving pixel coordinates)."""
    sampled, valid = _sample_on(moving, warp, fixed.shape)
    if valid.mean() < 0.2:
        return warp
    matched_fixed, matched_moving = match_blur(fixed, sampled)
    residual, score = _refine(_bandpass(matched_fixed), _bandpass(matched_moving), np.eye(3), model,
                              mask=valid, robust=True)
    return warp if score < 0 else warp @ residual


def _phase_shift(fixed: np.ndarray, moving: np.ndarray) -> np.ndarray:
    """Translation (dx, dy) such that moving(x + d) ~ fixed(x), by phase correlation."""
    from skimage.registration import phase_cross_correlation

    def windowed(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """The image tapered to its borders, zero-padded at the bottom and right to ``shape``."""
        out = np.zeros(shape, np.float64)
        out[:image.shape[0], :image.shape[1]] = image * np.outer(np.hanning(image.shape[0]), np.hanning(image.shape[1]))
        return out

    shape = (max(fixed.shape[0], moving.shape[0]), max(fixed.shape[1], moving.shape[1]))  # images of two sizes
    with warnings.catch_warnings():  # a flat image: no peak, the refinement and its score tell
        warnings.simplefilter("ignore")
        shift, _, _ = phase_cross_correlation(windowed(moving, shape), windowed(fixed, shape), upsample_factor=4,
                                              normalization=None)
    return np.array([shift[1], shift[0]])


def estimate_transform(moving: np.ndarray, fixed: np.ndarray, *, model: str = "similarity",
                       max_side: int = 1024, init: np.ndarray | None = None, blur_matching: bool = True
                       ) -> tuple[np.ndarray, float]:
    """Estimate the 3x3 matrix mapping ``moving``'s pixel coordinates onto ``fixed``'s, and its score.

    ``moving``, ``fixed``: images of one scene ``(H, W)`` or ``(H, W, C)``, possibly focused differently.
    ``max_side``: the finest pyramid level is at most this many pixels a side (the transform is scaled back
    to full resolution). ``init``: an optional first guess (moving -> fixed). ``blur_matching``: end with
    a robust refinement of blur-matched images at the finest level (default; see :func:`match_blur`), which
    removes the bias a difference of focus puts into the plain fit. The score is the correlation of the
    band-passed images (not blur-matched) over their overlap after alignment (1: identical). No
    plausibility check here (:func:`align_stack` makes them).
    """
    if model not in MODELS:
        raise ValueError(f"model: expected one of {', '.join(MODELS)}, got {model!r}")
    fixed_gray = _gray(fixed)
    halvings = _halvings(fixed_gray.shape, max_side)
    # both images at the fixed one's halvings, so the levels pair up when the two sizes differ
    fixed_grays, moving_grays = _reductions(fixed_gray, halvings), _reductions(_gray(moving), halvings)
    fixed_levels = [(_bandpass(fixed_grays[factor]), factor) for factor in halvings]
    moving_levels = [(_bandpass(moving_grays[factor]), factor) for factor in halvings]
    coarse = fixed_levels[0][1]
    s = _scale_matrix(coarse)
    if init is None:
        shift = _phase_shift(fixed_levels[0][0], moving_levels[0][0])
        warp = np.array([[1, 0, shift[0]], [0, 1, shift[1]], [0, 0, 1.0]])  # fixed -> moving, coarse level
    else:
        warp = s @ np.linalg.inv(init) @ np.linalg.inv(s)
    score = 0.0
    previous = coarse
    for (f, factor), (m, _) in zip(fixed_levels, moving_levels):
        if factor != previous:  # carry the warp one level finer
            t = _scale_matrix(previous - factor)  # finer -> coarser coordinates
            warp = np.linalg.inv(t) @ warp @ t
            previous = factor
        # a translation first at the coarsest level, where a few per cent of scale are a pixel or two
        if factor == coarse and init is None and model != "translation":
            warp, score = _refine(f, m, warp, "translation", iterations=20)
        warp, score = _refine(f, m, warp, model)
    if blur_matching and score >= 0:
        warp = _blur_matched_refine(fixed_grays[previous], moving_grays[previous], warp, model)
        score = _score(fixed_levels[-1][0], moving_levels[-1][0], warp)
    full = _scale_matrix(previous)
    moving_to_fixed = np.linalg.inv(np.linalg.inv(full) @ warp @ full)
    return moving_to_fixed / moving_to_fixed[2, 2], score


# ------------------------------------------------------------------------------------------ stacks
def describe(matrix: np.ndarray) -> tuple[float, float, float, float]:
    """(scale, rotation in degrees, dx, dy) of a (near-)similarity matrix."""
    m = matrix / matrix[2, 2]
    scale = math.sqrt(abs(np.linalg.det(m[:2, :2])))
    rotation = math.degrees(math.atan2(m[1, 0] - m[0, 1], m[0, 0] + m[1, 1]))
    return scale, rotation, float(m[0, 2]), float(m[1, 2])


def similarity_matrix(scale: float, degrees: float, dx: float, dy: float, shape: tuple[int, int]) -> np.ndarray:
    """The 3x3 matrix that scales by ``scale`` and turns by ``degrees`` about the centre of a ``shape``
    (height, width) frame, then shifts by (dx, dy): e.g. a known focus-breathing move in tests and benchmarks."""
    h, w = shape
    centre = np.array([[1, 0, (w - 1) / 2], [0, 1, (h - 1) / 2], [0, 0, 1.0]])
    a = np.deg2rad(degrees)
    turn = np.array([[scale * np.cos(a), -scale * np.sin(a), 0], [scale * np.sin(a), scale * np.cos(a), 0], [0, 0, 1]])
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1.0]]) @ centre @ turn @ np.linalg.inv(centre)


def _check_plausible(matrix: np.ndarray, shape: tuple[int, int], what: str) -> None:
    scale, rotation, _, _ = describe(matrix)
    h, w = shape
    corners = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]], dtype=float).T
    moved = matrix @ corners
    moved = moved[:2] / moved[2]
    shift = float(np.abs(moved - corners[:2]).max())
    if not (1 - MAX_SCALE_CHANGE < scale < 1 / (1 - MAX_SCALE_CHANGE)) or abs(rotation) > MAX_ROTATION_DEG \
            or shift > MAX_SHIFT_FRACTION * max(h, w) + abs(scale - 1) * max(h, w):
        raise AlignmentError(
            f"{what}: implausible transform (scale {scale:.3f}, rotation {rotation:.1f} degrees, corners moved up to "
            f"{shift:.0f} px); the frames may not show one scene"
        )


def align_stack(frames, *, anchor: int | None = None, model: str = "similarity", chain: bool = True,
                max_side: int = 1024, min_score: float = MIN_SCORE, match_brightness: bool = False,
                crop: bool = True, names: Sequence[str] | None = None, log=None, blur_matching: bool = True
                ) -> Alignment:
    """Register every frame of a stack ``(K, H, W[, C])`` to the anchor frame.

    anchor: 0-based index (default ``(K - 1) // 2``, the middle). chain: register each frame to its
    neighbour towards the anchor and compose (default; the neighbours' focus is the most alike), else each
    frame directly to the anchor. match_brightness: fit a gain and offset per frame and channel to the
    anchor over the common area (low-passed, so focus does not matter). crop: the common area (the largest
    rectangle every frame covers); otherwise the whole anchor frame. ``names`` name the frames in errors.
    ``log``: a callable taking one line of progress (default: none). blur_matching: see
    :func:`estimate_transform` (default on; off is faster and less accurate across focus).
    Raises :class:`AlignmentError` naming the frame when a transform cannot be trusted.
    """
    frames = np.asarray(frames)
    count = frames.shape[0]
    if count < 2:
        raise ValueError(f"frames: need at least two frames, got {count}")
    if model not in MODELS:
        raise ValueError(f"model: expected one of {', '.join(MODELS)}, got {model!r}")
    anchor = (count - 1) // 2 if anchor is None else int(anchor)
    if not 0 <= anchor < count:
        raise ValueError(f"anchor: must lie in 0..{count - 1}, got {anchor}")
    names = list(names) if names is not None else [f"frame {k + 1}" for k in range(count)]
    shape = frames.shape[1:3]
    transforms = np.tile(np.eye(3), (count, 1, 1))
    scores = np.ones(count)
    order = list(range(anchor - 1, -1, -1)) + list(range(anchor + 1, count))
    for k in order:
        target = (k + 1 if k < anchor else k - 1) if chain else anchor
        matrix, score = estimate_transform(frames[k], frames[target], model=model, max_side=max_side,
                                           blur_matching=blur_matching)
        what = f"{names[k]}" + (f" (to {names[target]})" if chain else "")
        if score < min_score:
            raise AlignmentError(
                f"{what}: alignment failed, the band-passed frames correlate only {score:.2f} after registration "
                f"(at least {min_score} expected: too little texture, or not the same scene)"
            )
        _check_plausible(matrix, shape, what)
        transforms[k] = transforms[target] @ matrix
        transforms[k] /= transforms[k][2, 2]
        scores[k] = score
        if log is not None:
            s, r, dx, dy = describe(transforms[k])
            log(f"{names[k]}: scale {s:.4f}, rotation {r:+.3f} deg, shift ({dx:+.1f}, {dy:+.1f}) px, score {score:.3f}")
    for k in range(count):
        _check_plausible(transforms[k], shape, names[k])
    box = common_area(transforms, shape) if crop else (0, 0, shape[1], shape[0])
    if box[2] < 8 or box[3] < 8:
        raise AlignmentError(f"{names[0]}: the frames share no usable common area ({box[2]}x{box[3]} px)")
    channels = frames.shape[3] if frames.ndim == 4 else 1
    alignment = Alignment(transforms, anchor, tuple(shape), box, model, scores,
                          np.ones((count, channels)), np.zeros((count, channels)), names)
    if match_brightness:
        _fit_brightness(frames, alignment)
    return alignment


def _valid(matrix: np.ndarray, shape: tuple[int, int], step: int = 1) -> np.ndarray:
    """Mask of the anchor pixels (every ``step``-th) whose source pixel lies inside the frame."""
    h, w = shape
    inverse = np.linalg.inv(matrix)
    ys, xs = np.mgrid[0:h:step, 0:w:step].astype(np.float64)
    den = inverse[2, 0] * xs + inverse[2, 1] * ys + inverse[2, 2]
    fx = (inverse[0, 0] * xs + inverse[0, 1] * ys + inverse[0, 2]) / den
    fy = (inverse[1, 0] * xs + inverse[1, 1] * ys + inverse[1, 2]) / den
    return (fx >= 0) & (fx <= w - 1) & (fy >= 0) & (fy <= h - 1)


def common_area(transforms: np.ndarray, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """``(x0, y0, width, height)``: a large axis-aligned rectangle of the anchor that every frame covers.

    The intersection of the warped frames is shrunk from its bounding box, one border row or column at a
    time (the one with most uncovered pixels), until it holds no uncovered pixel.
    """
    mask = np.ones(shape, dtype=bool)
    for matrix in transforms:
        mask &= _valid(matrix, shape)
    if not mask.any():
        return 0, 0, 0, 0
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    while top < bottom and left < right:
        box = mask[top:bottom, left:right]
        bad = {"top": (~box[0]).sum(), "bottom": (~box[-1]).sum(), "left": (~box[:, 0]).sum(), "right": (~box[:, -1]).sum()}
        worst = max(bad, key=bad.get)
        if bad[worst] == 0:
            break
        if worst == "top":
            top += 1
        elif worst == "bottom":
            bottom -= 1
        elif worst == "left":
            left += 1
        else:
            right -= 1
    return int(left), int(top), int(max(right - left, 0)), int(max(bottom - top, 0))


WARP_ORDER = 5  # quintic B-spline: a resampled-and-back picture keeps 44 dB PSNR (cubic: 42, bicubic: 39)


def warp_frame(frame: np.ndarray, matrix: np.ndarray, shape: tuple[int, int] | None = None, *,
               order: int = WARP_ORDER) -> np.ndarray:
    """Resample ``frame`` (``(H, W[, C])``) onto the anchor grid through ``matrix`` (frame -> anchor).

    B-spline interpolation of ``order`` (default 5; scipy.ndimage, per channel); pixels outside the frame
    repeat its border; values are clipped to [0, 1]. Returns float32 of ``shape`` (default: the frame's own).
    """
    frame = np.asarray(frame, dtype=np.float32)
    shape = frame.shape[:2] if shape is None else tuple(shape)
    inverse = np.linalg.inv(matrix)  # anchor (x, y) -> frame (x, y)
    inverse = inverse / inverse[2, 2]
    swap = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1.0]])
    rowcol = swap @ inverse @ swap  # the same map in (row, column) order
    planes = frame if frame.ndim == 3 else frame[:, :, None]
    out = np.empty(shape + (planes.shape[2],), np.float32)
    for c in range(planes.shape[2]):
        if np.allclose(rowcol[2, :2], 0.0):
            ndimage.affine_transform(planes[:, :, c], rowcol[:2, :2], offset=rowcol[:2, 2], output_shape=shape,
                                     output=out[:, :, c], order=order, mode="nearest")
        else:  # a homography: the sampling positions, then the spline
            ys, xs = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float64)
            den = rowcol[2, 0] * ys + rowcol[2, 1] * xs + rowcol[2, 2]
            coords = np.stack([(rowcol[0, 0] * ys + rowcol[0, 1] * xs + rowcol[0, 2]) / den,
                               (rowcol[1, 0] * ys + rowcol[1, 1] * xs + rowcol[1, 2]) / den])
            out[:, :, c] = ndimage.map_coordinates(planes[:, :, c], coords, order=order, mode="nearest")
    np.clip(out, 0.0, 1.0, out=out)
    return out if frame.ndim == 3 else out[:, :, 0]


def warp_frames(frames, alignment: Alignment, *, crop: bool = True, order: int = WARP_ORDER) -> np.ndarray:
    """The frames resampled onto the anchor (brightness-matched when the alignment says so), cropped to
    ``alignment.crop`` unless ``crop=False``; float32 ``(K, h, w[, C])``."""
    frames = np.asarray(frames)
    x0, y0, w, h = alignment.crop if crop else (0, 0, alignment.shape[1], alignment.shape[0])
    out = []
    for k, frame in enumerate(frames):
        warped = frame.astype(np.float32) if k == alignment.anchor and np.allclose(alignment.transforms[k], np.eye(3)) \
            else warp_frame(frame, alignment.transforms[k], alignment.shape, order=order)
        if alignment.gains is not None and (np.any(alignment.gains[k] != 1) or np.any(alignment.offsets[k] != 0)):
            shaped = warped if warped.ndim == 3 else warped[:, :, None]
            shaped = np.clip(shaped * alignment.gains[k] + alignment.offsets[k], 0.0, 1.0).astype(np.float32)
            warped = shaped if warped.ndim == 3 else shaped[:, :, 0]
        out.append(warped[y0:y0 + h, x0:x0 + w])
    return np.stack(out)


def _fit_brightness(frames: np.ndarray, alignment: Alignment) -> None:
    """Gain and offset per frame and channel onto the anchor, fitted on low-passed images of the common area."""
    step = max(1, max(alignment.shape) // 512)
    x0, y0, w, h = alignment.crop
    def low(image):
        image = image if image.ndim == 3 else image[:, :, None]
        small = image[::step, ::step]
        return ndimage.gaussian_filter(small, (4, 4, 0))[y0 // step:(y0 + h) // step, x0 // step:(x0 + w) // step]
    reference = low(frames[alignment.anchor].astype(np.float32))
    for k in range(frames.shape[0]):
        if k == alignment.anchor:
            continue
        warped = low(warp_frame(frames[k], alignment.transforms[k], alignment.shape, order=1))
        for c in range(reference.shape[2]):
            a, b = warped[:, :, c].ravel(), reference[:, :, c].ravel()
            gain, offset = np.polyfit(a, b, 1) if a.std() > 1e-6 else (1.0, float(b.mean() - a.mean()))
            alignment.gains[k, c], alignment.offsets[k, c] = gain, offset


def register_image(image: np.ndarray, anchor_frame: np.ndarray, alignment: Alignment, *, model: str = "similarity",
                   crop: bool = True, min_score: float = MIN_SCORE) -> tuple[np.ndarray, np.ndarray]:
    """Bring another picture of the scene (another program's fused result) onto an alignment's grid.

    ``image`` is registered to ``anchor_frame`` (the anchor as it was read, before warping), resampled and
    cropped like :func:`warp_frames`. Returns the image and its 3x3 matrix (image -> anchor coordinates).
    AlignmentError when it does not match.
    """
    matrix, score = estimate_transform(image, anchor_frame, model=model)
    if score < min_score:
        raise AlignmentError(f"the image matches the anchor frame only to {score:.2f} (at least {min_score} expected)")
    _check_plausible(matrix, np.asarray(image).shape[:2], "the image")
    warped = warp_frame(image, matrix, alignment.shape)
    x0, y0, w, h = alignment.crop if crop else (0, 0, alignment.shape[1], alignment.shape[0])
    return warped[y0:y0 + h, x0:x0 + w], matrix


# ------------------------------------------------------------------------------------- checks, errors
def corner_error(estimated: np.ndarray, true: np.ndarray, shape: tuple[int, int]) -> float:
    """RMS distance (pixels) between the frame corners mapped by two transforms."""
    h, w = shape
    corners = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]], dtype=float).T
    a, b = estimated @ corners, true @ corners
    a, b = a[:2] / a[2], b[:2] / b[2]
    return float(np.sqrt(((a - b) ** 2).sum(axis=0).mean()))


def misregistration(frames, *, max_side: int = 256) -> float:
    """A cheap check: how far (pixels, full resolution) the corners of the last frame lie from the first's
    once the two are registered at ``max_side`` pixels a side (similarity). NaN when they cannot be compared."""
    frames = np.asarray(frames)
    try:
        matrix, score = estimate_transform(frames[-1], frames[0], model="similarity", max_side=max_side,
                                           blur_matching=False)
    except (ValueError, np.linalg.LinAlgError):
        return float("nan")
    if score < MIN_SCORE:
        return float("nan")
    return corner_error(matrix, np.eye(3), frames.shape[1:3])


# ------------------------------------------------------------------------------------ transform files
TRANSFORMS_HEADER = "# mffssim transforms v1"


def format_transforms(alignment: Alignment) -> str:
    """The text of a transforms file (see :func:`write_transforms`)."""
    names = alignment.names or [f"frame_{k + 1}" for k in range(len(alignment.transforms))]
    x0, y0, w, h = alignment.crop
    lines = [
        TRANSFORMS_HEADER,
        "# h11..h33: the 3x3 matrix H (row by row) mapping (x, y, 1) of the frame to the anchor frame's pixel",
        "# coordinates (x = column, y = row, origin at the centre of the top-left pixel); crop: x0 y0 width height",
        "# of the common area in anchor coordinates; gain/offset: brightness matching per channel (gain*v+offset)",
        f"anchor\t{alignment.anchor + 1}",
        f"model\t{alignment.model}",
        f"size\t{alignment.shape[1]}\t{alignment.shape[0]}",
        f"crop\t{x0}\t{y0}\t{w}\t{h}",
        "frame\tname\th11\th12\th13\th21\th22\th23\th31\th32\th33\tscore\tgain\toffset",
    ]
    for k, matrix in enumerate(alignment.transforms):
        numbers = "\t".join(repr(float(v)) for v in (matrix / matrix[2, 2]).ravel())
        score = float(alignment.scores[k]) if alignment.scores is not None else 1.0
        gains = ",".join(repr(float(g)) for g in (alignment.gains[k] if alignment.gains is not None else [1.0]))
        offsets = ",".join(repr(float(o)) for o in (alignment.offsets[k] if alignment.offsets is not None else [0.0]))
        lines.append(f"{k + 1}\t{names[k]}\t{numbers}\t{score!r}\t{gains}\t{offsets}")
    return "\n".join(lines) + "\n"


def write_transforms(path: str | os.PathLike, alignment: Alignment) -> None:
    """Write the transforms file atomically: ``#`` comment lines, then ``anchor``, ``model``, ``size``,
    ``crop`` lines, a header line and one tab-separated row per frame (1-based index, name, the 9 matrix
    entries row by row, score, gains and offsets comma-separated per channel)."""
    from .io import atomic_write

    text = format_transforms(alignment)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def read_transforms(path: str | os.PathLike) -> Alignment:
    """Read a file of :func:`write_transforms`; ValueError naming the file and line when it is malformed."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot be read as a transforms file ({error})") from None
    if not lines or lines[0].strip() != TRANSFORMS_HEADER:
        raise ValueError(f"{path}: not a transforms file (first line must be {TRANSFORMS_HEADER!r})")
    keys: dict[str, list[str]] = {}
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        try:
            if fields[0] in ("anchor", "model", "size", "crop"):
                keys[fields[0]] = fields[1:]
            elif fields[0] == "frame":
                continue
            else:
                if len(fields) != 14:
                    raise ValueError(f"expected 14 fields, got {len(fields)}")
                matrix = np.array([float(v) for v in fields[2:11]]).reshape(3, 3)
                if not np.all(np.isfinite(matrix)):
                    raise ValueError("matrix entries must be finite")
                rows.append((int(fields[0]), fields[1], matrix, float(fields[11]),
                             [float(v) for v in fields[12].split(",")], [float(v) for v in fields[13].split(",")]))
        except (ValueError, IndexError) as error:
            raise ValueError(f"{path}:{number}: {error}") from None
    missing = [k for k in ("anchor", "model", "size", "crop") if k not in keys]
    if missing or len(rows) < 2:
        raise ValueError(f"{path}: incomplete transforms file (missing {', '.join(missing) or 'frame rows'})")
    rows.sort(key=lambda r: r[0])
    try:
        width, height = (int(v) for v in keys["size"])
        crop = tuple(int(v) for v in keys["crop"])
        anchor = int(keys["anchor"][0]) - 1
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    return Alignment(
        transforms=np.stack([r[2] for r in rows]), anchor=anchor, shape=(height, width), crop=crop,  # type: ignore[arg-type]
        model=keys["model"][0], scores=np.array([r[3] for r in rows]),
        gains=np.array([r[4] for r in rows]), offsets=np.array([r[5] for r in rows]), names=[r[1] for r in rows],
    )
