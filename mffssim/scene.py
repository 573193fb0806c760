"""Whether the sources of a fusion show one scene: a cheap check that names a frame which does not.

Fusing photographs of different scenes gives a meaningless image without any error, so ``mffssim fuse``,
``mffssim align`` and the workflow's fusions score their frames first. Focus changes the fine detail of a
frame, not its coarse structure, so each frame is reduced to what defocus leaves alone
(:func:`scene_features`): its gray image area-averaged to a ``GRID`` x ``GRID`` grid (whatever its size,
so frames of different sizes compare), blurred by a Gaussian of ``BLUR`` grid pixels (more than a defocus
blur of a few percent of the frame), and the gradient of that, divided by the local gradient energy (a
Gaussian of ``CONTRAST`` grid pixels, plus ``FLOOR`` times its mean), so that the many weak edges of a
scene count as much as its few strong ones. Two frames score the cosine of their gradient fields
(:func:`pair_score`: 1 = the same structure, about 0 = unrelated; a gain or offset of the brightness does not
change it), the best over shifts of up to ``SHIFT`` grid pixels either way (a frame that breathes or moves
a little). A frame's score is its best pair score with any other frame (:func:`scene_scores`), so a focus
stack whose far ends differ a lot still passes when each frame resembles a neighbour; a frame scoring
below ``THRESHOLD`` does not look like the others (:func:`check_scene`).

The constants were chosen by measurement (``benchmarks/bench_same_scene.py``, docs/photos.md "Sources of one
scene"): every real set of the downloaded data sets scores 0.78 or more, every pair made by swapping a
source between two sets of Lytro or MFFW 0.28 or less; the check takes milliseconds.

Example
-------
>>> import numpy as np
>>> from scipy import ndimage
>>> rng = np.random.default_rng(0)
>>> scene = ndimage.gaussian_filter(rng.random((96, 96)), 4)
>>> near, far = ndimage.gaussian_filter(scene, 2), scene
>>> check_scene([near, far], names=["near.png", "far.png"]).ok
True
>>> other = ndimage.gaussian_filter(rng.random((96, 96)), 4)
>>> check = check_scene([near, other], names=["near.png", "other.png"])
>>> check.ok, check.outliers
(False, [1])
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
from scipy import ndimage

from .align import _gray
from .io import ImageError

GRID = 64  # side of the grid every frame is reduced to (pixels)
BLUR = 2.0  # Gaussian sigma of the low-pass, grid pixels
CONTRAST = 2.0  # Gaussian sigma of the local gradient energy that normalises the gradient, grid pixels
FLOOR = 0.05  # share of the mean gradient energy added before normalising (flat areas stay weak)
SHIFT = 2  # largest shift tried either way, grid pixels
THRESHOLD = 0.5  # a frame whose best score is below this does not look like the others
MIN_SIDE = 8  # frames smaller than this (pixels) are not scored


class SceneError(ImageError):
    """The sources do not look like one scene (``--strict``, workflow ``fusion.scene_check: strict``)."""


def scene_features(frame: np.ndarray) -> np.ndarray | None:
    """The coarse structure of one frame ``(H, W)`` or ``(H, W, C)`` in [0, 1]: the normalised gradient field
    ``(2, GRID, GRID)`` float64 described in the module docstring; None for a frame with no structure at all
    (a flat image) or smaller than ``MIN_SIDE``, which cannot be compared."""
    from PIL import Image

    gray = _gray(frame)
    if min(gray.shape) < MIN_SIDE or not np.all(np.isfinite(gray)):
        return None
    small = np.asarray(Image.fromarray(gray).resize((GRID, GRID), Image.BOX), dtype=np.float64)
    small = ndimage.gaussian_filter(small, BLUR, mode="nearest")
    gy, gx = np.gradient(small)
    energy = ndimage.gaussian_filter(gx * gx + gy * gy, CONTRAST, mode="nearest")
    mean = float(energy.mean())
    if not mean > 1e-12:
        return None
    scale = np.sqrt(energy + FLOOR * mean)
    return np.stack([gx / scale, gy / scale])


def pair_score(first: np.ndarray | None, second: np.ndarray | None, *, shift: int = SHIFT) -> float:
    """The best cosine of two :func:`scene_features` fields over shifts of up to ``shift`` grid pixels
    either way (on their overlap); NaN when either frame has no features."""
    if first is None or second is None:
        return float("nan")
    n = first.shape[-1]
    best = -1.0
    for dy, dx in itertools.product(range(-shift, shift + 1), repeat=2):
        a = first[:, max(0, dy):n + min(0, dy), max(0, dx):n + min(0, dx)]
        b = second[:, max(0, -dy):n + min(0, -dy), max(0, -dx):n + min(0, -dx)]
        norm = np.sqrt(float(np.vdot(a, a)) * float(np.vdot(b, b)))
        if norm > 0:
            best = max(best, float(np.vdot(a, b)) / norm)
    return best


def scene_scores(frames: Iterable[np.ndarray]) -> np.ndarray:
    """Each frame's best :func:`pair_score` with any other frame, ``(K,)`` float64; NaN for a frame that
    cannot be compared (flat, tiny). ``frames``: K >= 2 images of any sizes (a ``(K, H, W, C)`` array, a
    list, or a :class:`mffssim.stack.CodedStack`, decoded one frame at a time)."""
    from .stack import CodedStack, decode

    if isinstance(frames, CodedStack):
        frames = (decode(codes) for codes in frames.codes)
    return best_matches([scene_features(frame) for frame in frames])


def best_matches(features: Sequence[np.ndarray | None]) -> np.ndarray:
    """:func:`scene_scores` from the frames' :func:`scene_features`: each frame's best pair score, NaN where
    it has no finite one."""
    count = len(features)
    if count < 2:
        raise ValueError(f"a scene check needs at least two frames, got {count}")
    pairs = np.full((count, count), np.nan)
    for i, j in itertools.combinations(range(count), 2):
        pairs[i, j] = pairs[j, i] = pair_score(features[i], features[j])
    scores = np.full(count, np.nan)
    for k in range(count):
        others = pairs[k][np.isfinite(pairs[k])]
        if others.size:
            scores[k] = others.max()
    return scores


@dataclass(frozen=True)
class SceneCheck:
    """The verdict of :func:`check_scene`: per-frame ``scores``, the frames' ``names``, the ``threshold`` and
    the 0-based ``outliers`` (frames scoring below it; for two frames, the second stands for the pair)."""

    scores: np.ndarray
    names: list[str]
    threshold: float
    outliers: list[int]

    @property
    def ok(self) -> bool:
        """True when every frame looks like the others (or could not be scored)."""
        return not self.outliers

    @property
    def message(self) -> str:
        """One line naming the odd frame(s) and score(s); "" when ``ok``."""
        if self.ok:
            return ""
        if len(self.names) == 2:
            return (f"{self.names[1]}: does not look like the same scene as {self.names[0]} (scene score "
                    f"{self.scores[1]:.2f}, below {self.threshold:.2f})")
        odd = ", ".join(f"{self.names[k]} ({self.scores[k]:.2f})" for k in self.outliers)
        return (f"{odd}: {'does' if len(self.outliers) == 1 else 'do'} not look like any other frame of the "
                f"stack (scene score, the best match with another frame, below {self.threshold:.2f})")


def check_scene(frames: Iterable[np.ndarray], *, names: Sequence[str] | None = None,
                threshold: float = THRESHOLD) -> SceneCheck:
    """Score K >= 2 frames (:func:`scene_scores`) and flag those below ``threshold``.

    ``names`` (files, for the message) default to ``frame_1`` ... The frames need not be registered or of one
    size; run it after an alignment when there is one. A frame that cannot be scored is never flagged.
    """
    scores = scene_scores(frames)
    names = [str(n) for n in names] if names is not None else [f"frame_{k + 1}" for k in range(len(scores))]
    if len(names) != len(scores):
        raise ValueError(f"check_scene: {len(names)} names for {len(scores)} frames")
    outliers = [k for k, s in enumerate(scores) if s < threshold]
    if len(scores) == 2 and outliers:
        outliers = [1]
    return SceneCheck(scores, names, float(threshold), outliers)
