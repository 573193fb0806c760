"""Fusion: Algorithm 1 (maximise the MFF-SSIM index Q over the fused image) and its optimisers;
the pixel-wise (Eq. 1) and average baselines.

Every optimiser works on the box [0, 1]: Y is clamped (projected) after each step, as the authors do.

- ``"adam"``: the authors' code. Adam (betas (0.9, 0.999), eps 1e-8; bit-identical to torch.optim.Adam) on
  the loss L = (1 - Q) / 2, whose gradient is -dQ/dY / 2. For the reference variant L is exactly the
  authors' loss.
- ``"gd"``: Algorithm 1 literally, Y <- Y + lr * dQ/dY. With the paper's lr = 1e-3 it barely moves Y
  (Q is a mean over P patches, so a pixel's gradient is O(1/P)); kept literal on purpose.
- ``"adam-cosine"`` (the default): Adam whose learning rate starts 20x larger and decays along a half
  cosine to 1/100 of it at the last iteration, and whose eps is a share (EPS_SHARE) of the current
  largest |dL/dY|: pixels with a gradient far below the strongest move in proportion to it, as in gradient
  ascent, instead of by a full step whatever their gradient (Adam's sign-like first steps). 60 iterations
  from the pixel-wise start, 150 from any other.

The equations, the early stop and which iterate is returned: docs/method.md, section 4.

Examples
--------
Two sources of one textured scene, each blurred on one half, fused with the exact focus map:

>>> import numpy as np
>>> from scipy import ndimage
>>> import mffssim
>>> sharp = np.random.default_rng(0).random((32, 32, 1)).astype(np.float32)
>>> blurred = ndimage.gaussian_filter(sharp, (2, 2, 0))
>>> left = np.zeros((32, 32, 1), bool)
>>> left[:, :16] = True
>>> sources = np.stack([np.where(left, sharp, blurred), np.where(left, blurred, sharp)])
>>> focus_map = np.stack([left[..., 0], ~left[..., 0]]).astype(np.float32)
>>> result = mffssim.fuse(sources, focus_map, window=5, iterations=20, device="cpu")
>>> result.image.shape, result.window, len(result.trace)  # trace: Q of the start and of each step
((32, 32, 1), 5, 21)
>>> bool(result.q >= result.trace[0])  # keep="best": the returned image never scores below the start
True
>>> abs(result.q - mffssim.mffssim_index(sources, result.image, focus_map, 5)) < 1e-5  # float32 vs float64
True
"""
from __future__ import annotations

import contextlib
import logging
import math
import numbers
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from ._checks import check_sources, check_window
from ._device import resolve_device
from ._memory import MB, MemoryBudgetError, band_fixed_bytes, full_frame_bytes, resident_bytes
from .band import BandObjective, moving_mask
from .focus import laplacian_labels, one_hot
from .kernels import ENGINES, fused_objective_class
from .ssim import MFFSSIMObjective, window_size
from .stack import CodedStack, decode, frames

log = logging.getLogger("mffssim.fusion")

OPTIMIZERS = ("adam-cosine", "adam", "gd")
VARIANTS = ("paper", "reference")
DETECTORS = ("lap", "resnet")
INITS = ("mean", "pixelwise")
# which iterate fuse() returns: the best one it saw (default) or the last one (the authors' code)
KEEPS = ("best", "last")
DTYPES = {"float32": torch.float32, "float64": torch.float64}
# "full": the whole frame, every pixel free; "band": freeze the pixels farther than band_radius from a
# label change and evaluate only the tiles that reach the others (mffssim/band.py); "auto": band for
# one-hot maps, the paper variant and the pixel-wise start on frames of BAND_MIN_PIXELS or more
SOLVERS = ("auto", "full", "band")
# "fused": the numba kernels of mffssim/kernels (CPU, full frame); "torch": MFFSSIMObjective (any device; the
# band solver's tiles); "auto": fused on the CPU's full frame, torch otherwise or when numba cannot run here
# measured (benchmarks/bench_large.py, 1 thread, a shared machine): at 1-4 MP the band solver needs half the
# memory of the full frame or less (4 MP: 0.9-1.2 GB against 2.4 GB) but up to a third more CPU time, so it is
# taken where the full frame's memory grows large (24 MP: 11.6 GB)
BAND_MIN_PIXELS = 8_000_000
# tol compares the best Q of the latest TOL_WINDOW iterates with the best Q of the iterates before them
TOL_WINDOW = 10
# the early stop is not tested before this many steps: the first large Adam steps may overshoot, and the
# comparison needs two windows of iterates
MIN_STOP_ITERATION = 2 * TOL_WINDOW
# the largest learning rate accepted: beyond it the float32 step sizes overflow (Adam's first step is 10 lr)
MAX_LR = 1e30
# "adam-cosine" decays its learning rate to this fraction of the first one
_COSINE_FLOOR = 1e-2
# "adam-cosine"'s eps as a share of the largest |dL/dY| at the current iterate (set before every step).
# With Adam's fixed eps (1e-8, far below this objective's O(1/pixels) gradients) every pixel with a gradient
# moves by about lr whatever the gradient's size, flat pixels included, and where the pixel-wise start is near
# the optimum the run then wanders along directions Q hardly sees, which round-off picks: on ground-truth pairs
# the two engines ended up to 4.7 dB apart in PSNR at equal Q. With eps at 0.3 of the largest gradient (and no
# early stop) 209 of 219 NYU-D-100 and MF-VOC pairs end within 0.01 dB, the others within 0.21 dB, at a higher
# mean PSNR (benchmarks/bench_ground_truth.py --compare-engines; docs/method.md, 4)
EPS_SHARE = 0.3


@dataclass
class FusionResult:
    """The outcome of :func:`fuse`.

    ``trace[0]`` is Q of the initial image and ``trace[t]`` is Q of the iterate after step t, so
    ``len(trace) == iterations + 1`` (Algorithm 1's Q^(0) ... Q^(T)). ``image`` is the iterate
    ``trace[returned_iteration]``: the best one (``keep="best"``, the default; never below the start) or
    the last one (``keep="last"``, as the authors' code returns).
    """

    image: np.ndarray  # (H, W, C) float32 in [0, 1]
    focus_map: np.ndarray  # (K, H, W) float32
    window: int
    trace: np.ndarray  # (iterations + 1,) float64
    iterations: int  # steps taken
    seconds: float  # wall time of the optimisation (objective set-up included, focus detection not)
    variant: str
    optimizer: str
    device: str
    stopped_early: bool = False  # True when tol stopped the run before `iterations` steps
    returned_iteration: int | None = None  # index in trace of the returned image; None: the last one
    settings: dict = field(default_factory=dict)
    solver: dict = field(default_factory=dict)  # which solver and engine ran and why; band: radius, tiles, shares

    @property
    def q(self) -> float:
        """Q of the returned image."""
        index = len(self.trace) - 1 if self.returned_iteration is None else self.returned_iteration
        return float(self.trace[index])


# ---------------------------------------------------------------------------------------------------
# Baselines
# ---------------------------------------------------------------------------------------------------
def average_fuse(sources: np.ndarray) -> np.ndarray:
    """The mean of the sources ``(K, H, W, C)``: float32 ``(H, W, C)`` (Algorithm 1's Y^(0))."""
    return check_sources(sources).mean(axis=0, dtype=np.float64).astype(np.float32)


def pixelwise_fuse(sources: np.ndarray, focus_map: np.ndarray) -> np.ndarray:
    """Eq. 1: ``Y = sum_k m_k X^[k]`` per pixel, float32 ``(H, W, C)``; the baseline the paper argues against.

    ``focus_map`` is ``(K, H, W)`` (one-hot, or soft weights summing to 1 per pixel).

    Examples
    --------
    >>> import numpy as np
    >>> sources = np.stack([np.zeros((2, 3, 1)), np.ones((2, 3, 1))])
    >>> focus_map = np.stack([np.eye(2, 3), 1 - np.eye(2, 3)])  # source 1 on the diagonal
    >>> pixelwise_fuse(sources, focus_map)[..., 0]
    array([[0., 1., 1.],
           [1., 0., 1.]], dtype=float32)
    """
    sources = check_sources(sources)
    focus_map = _check_map(focus_map, sources.shape)
    fused = np.einsum("khw,khwc->hwc", focus_map.astype(np.float64), sources.astype(np.float64))
    return np.clip(fused, 0.0, 1.0).astype(np.float32)


# ---------------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------------
def _check_map(focus_map: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Return the focus map as float32 ``(K, H, W)`` matching sources of ``shape`` (K, H, W, C)."""
    array = np.asarray(focus_map)
    if array.shape != tuple(shape[:3]):
        raise ValueError(f"focus_map: expected shape {tuple(shape[:3])} (K, H, W), got {array.shape}")
    array = array.astype(np.float32, copy=False)
    if not np.all(np.isfinite(array)) or array.min() < 0.0 or array.max() > 1.0:
        raise ValueError("focus_map: weights must be finite and lie in [0, 1]")
    return array


def _check_device(device):
    """resolve_device, with torch's RuntimeError for a malformed name ("cpu:x") as a ValueError."""
    try:
        return resolve_device(device)
    except RuntimeError as error:
        raise ValueError(f"device: {device!r} is not a device name torch accepts ({error})") from None


def _choose(name: str, value, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name}: expected one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def _initial_image(init, sources: np.ndarray, focus_map: np.ndarray) -> np.ndarray:
    if isinstance(init, str):
        _choose("init", init, INITS)
        return average_fuse(sources) if init == "mean" else pixelwise_fuse(sources, focus_map)
    image = np.asarray(init, dtype=np.float32)
    if image.ndim == 2:
        image = image[..., None]
    if image.shape != sources.shape[1:]:
        raise ValueError(f"init: an initial image must have shape {sources.shape[1:]}, got {image.shape}")
    if not np.all(np.isfinite(image)):
        raise ValueError("init: the initial image holds NaN or infinite values")
    return np.clip(image, 0.0, 1.0)


# ---------------------------------------------------------------------------------------------------
# Optimisers. Each one owns the update of y (in place, projected on [0, 1]) and returns Q and dQ/dY
# at the new y.
# ---------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _flushed_denormals():
    """Run the block with subnormal floats flushed to zero on the CPU, then turn that off again.

    Flat pixels have gradients of 1e-20 and less; their squares in Adam's second moment are subnormal
    float32 numbers, on which the CPU's square root is some 40 times slower: it took half of a fused-engine
    solve's time (benchmarks/bench_ground_truth.py). Values that small change no step (eps is 1e-8 or more).
    """
    flushed = torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if flushed:
            torch.set_flush_denormal(False)


class _Adam:
    """The authors' optimiser: Adam on L = (1 - Q) / 2, then clamp to [0, 1].

    The same operations, in the same order, as torch.optim.Adam's default (single-tensor) step with
    betas (0.9, 0.999), eps 1e-8, so the result is bit-identical (the tests check it), without
    torch.optim's first-use import of torch._dynamo (seconds) and with one reused buffer.
    """

    betas = (0.9, 0.999)
    eps = 1e-8

    def __init__(self, y: torch.Tensor, lr: float, iterations: int):
        self.y, self.lr, self.t = y, lr, 0
        self.m = torch.zeros_like(y)  # first moment
        self.v = torch.zeros_like(y)  # second moment
        self.denom = torch.empty_like(y)

    def step(self, objective, grad):
        beta1, beta2 = self.betas
        grad = grad.mul_(-0.5)  # dL/dY; the objective hands over a new tensor, so in place is safe
        self.t += 1
        with _flushed_denormals():
            self.m.lerp_(grad, 1 - beta1)
            self.v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            step_size = self.lr / (1 - beta1**self.t)
            self._denominator(1 - beta2**self.t)
            self.y.addcdiv_(self.m, self.denom, value=-step_size).clamp_(0.0, 1.0)
        return objective.value_and_grad(self.y)

    def _denominator(self, bias_correction2: float) -> None:
        """denom = sqrt(v / bias_correction2) + eps, as torch.optim.Adam computes it."""
        torch.sqrt(self.v, out=self.denom).div_(bias_correction2**0.5).add_(self.eps)


class _GradientAscent:
    """Algorithm 1 literally: Y <- clamp(Y + lr * dQ/dY, 0, 1)."""

    def __init__(self, y: torch.Tensor, lr: float, iterations: int):
        self.y, self.lr = y, lr

    def step(self, objective, grad):
        self.y.add_(grad, alpha=self.lr).clamp_(0.0, 1.0)
        return objective.value_and_grad(self.y)


class _AdamCosine(_Adam):
    """Adam with a large first learning rate that decays along a half cosine to lr / 100 at the last step,
    and an eps scaled to the gradient (EPS_SHARE).

    Adam moves each pixel by about lr per step whatever its gradient's scale, so lr 1e-3 needs hundreds
    of steps to carry a pixel across the 0.1-0.3 it must travel; starting near 2e-2 gets there in tens,
    and the decay then settles Y as precisely as the small constant rate does. The scaled eps keeps that
    full step for the pixels whose gradient is near the largest and scales it down for the others.
    """

    def __init__(self, y: torch.Tensor, lr: float, iterations: int):
        super().__init__(y, lr, iterations)
        self.first, self.iterations = lr, iterations

    def step(self, objective, grad):
        self._follow(0.5 * float(grad.abs().max()))  # the largest |dL/dY| = |dQ/dY| / 2 at the current iterate
        return super().step(objective, grad)

    def _follow(self, largest: float) -> None:
        """eps and lr of the coming step, from the largest |dL/dY| and the steps done so far (self.t)."""
        if largest > 0 and math.isfinite(largest):
            self.eps = EPS_SHARE * largest
        progress = self.t / max(self.iterations - 1, 1)
        final = self.first * _COSINE_FLOOR
        self.lr = final + (self.first - final) * 0.5 * (1.0 + math.cos(math.pi * progress))

    def _denominator(self, bias_correction2: float) -> None:
        """As Adam's, but v is first raised to a floor whose square root is 1e-6 eps: the result moves by
        less than 1e-6 eps, and flat pixels' v = 0 no longer meets the CPU's square root of zero, about 7x
        slower than that of a normal number (measured on torch 2.13's CPU build)."""
        torch.clamp(self.v, min=self._v_floor(bias_correction2), out=self.denom).sqrt_().div_(
            bias_correction2**0.5).add_(self.eps)

    def _v_floor(self, bias_correction2: float) -> float:
        """The floor of v below the square root: sqrt(floor / bias_correction2) = 1e-6 eps."""
        return (1e-6 * self.eps) ** 2 * bias_correction2


class _FusedAdamCosine(_AdamCosine):
    """adam-cosine's step as one numba pass over the image (mffssim/kernels/adam.py), beside the fused engine:
    the same arithmetic in float64 (the torch step's float32 rounding aside), a ninth of the memory traffic."""

    def __init__(self, y: torch.Tensor, lr: float, iterations: int):
        super().__init__(y, lr, iterations)
        from .kernels.adam import adam_step, largest_magnitude  # pylint: disable=import-outside-toplevel

        self._adam_step, self._largest = adam_step, largest_magnitude
        self._tiny = float(torch.finfo(y.dtype).tiny)
        self.denom = None  # the torch step's buffer: the numba pass needs none

    def step(self, objective, grad):
        flat = grad.view(-1).numpy()
        self._follow(0.5 * self._largest(flat))
        self.t += 1
        beta1, beta2 = self.betas
        bias2 = 1 - beta2**self.t
        self._adam_step(self.y.view(-1).numpy(), flat, self.m.view(-1).numpy(), self.v.view(-1).numpy(), -0.5,
                        beta1, beta2, self.lr / (1 - beta1**self.t), bias2**0.5, self.eps, self._v_floor(bias2),
                        self._tiny)
        return objective.value_and_grad(self.y)


class _BestIterate:
    """A copy of the best iterate seen so far (Q and step index), the start included."""

    def __init__(self, y: torch.Tensor, q: float):
        self.image, self.q, self.iteration = y.clone(), q, 0

    def offer(self, y: torch.Tensor, q: float, iteration: int) -> None:
        if q > self.q:
            self.image.copy_(y)
            self.q, self.iteration = q, iteration


def _converged(trace: torch.Tensor, tol: float) -> bool:
    """The early stop, on ``trace`` = Q^(0) .. Q^(t) with t a multiple of TOL_WINDOW.

    It compares iterates with iterates: the best of the latest TOL_WINDOW against the best of the steps
    before them (the start, Q^(0), is left out). It never fires before MIN_STOP_ITERATION steps, nor while
    no iterate has reached the start's Q yet (the optimiser is still recovering from its first steps).
    """
    t = len(trace) - 1
    if t < MIN_STOP_ITERATION:
        return False
    latest = float(trace[t - TOL_WINDOW + 1 :].max())
    before = float(trace[1 : t - TOL_WINDOW + 1].max())
    if max(latest, before) < float(trace[0]):
        return False
    return latest - before < tol


_OPTIMIZER_CLASSES = {"adam-cosine": _AdamCosine, "adam": _Adam, "gd": _GradientAscent}
# defaults per optimiser when lr / iterations are not given
_DEFAULT_LR = {"adam-cosine": 2e-2, "adam": 1e-3, "gd": 1e-3}
_DEFAULT_ITERATIONS = {"adam-cosine": 60, "adam": 1000, "gd": 1000}
# adam-cosine from any start but the pixel-wise one (the mean, an image): every pixel has further to go, and 60
# iterations ended up to 1 dB below 150 on the embedded sets (tests/test_fusion_quality.py)
_COSINE_ITERATIONS_AWAY_FROM_PIXELWISE = 150


def _default_iterations(optimizer: str, init) -> int:
    """The optimiser's iteration count when none is given; adam-cosine's depends on the start."""
    if optimizer == "adam-cosine" and not (isinstance(init, str) and init == "pixelwise"):
        return _COSINE_ITERATIONS_AWAY_FROM_PIXELWISE
    return _DEFAULT_ITERATIONS[optimizer]


# ---------------------------------------------------------------------------------------------------
# Solver choice
# ---------------------------------------------------------------------------------------------------
class _Frozen:
    """An objective whose gradient is zero outside ``mask`` (C-broadcast (H, W)): those pixels never move."""

    def __init__(self, objective: MFFSSIMObjective, mask: torch.Tensor):
        self.objective, self.mask = objective, mask

    def value_and_grad(self, y: torch.Tensor):
        q, grad = self.objective.value_and_grad(y)
        return q, grad.mul_(self.mask)


def _coded(sources) -> np.ndarray | None:
    """The uint8 codes (K, H, W, C) of a :class:`mffssim.stack.CodedStack`; None for other sources."""
    return sources.codes if isinstance(sources, CodedStack) else None


def _one_hot(focus_map: np.ndarray) -> bool:
    return bool(np.all((focus_map == 0) | (focus_map == 1)) and np.all(focus_map.sum(0) == 1))


def _choose_solver(solver: str, labels, variant: str, init, pixels: int) -> tuple[str, str]:
    """The solver to run and why (the "band" requirements are checked here)."""
    needs = []
    if labels is None:
        needs.append("a one-hot focus map")
    if variant != "paper":
        needs.append("the paper variant")
    if not (isinstance(init, str) and init == "pixelwise"):
        needs.append("init='pixelwise'")
    if solver == "band":
        if needs:
            raise ValueError(f"solver: 'band' needs {', '.join(needs)}")
        return "band", "asked"
    if solver == "full":
        return "full", "asked"
    if needs:
        return "full", f"auto: the band solver needs {', '.join(needs)}"
    if pixels < BAND_MIN_PIXELS:
        return "full", f"auto: frame under {BAND_MIN_PIXELS / 1e6:g} MP"
    return "band", f"auto: one-hot map, frame of {BAND_MIN_PIXELS / 1e6:g} MP or more"


def _band_radius(band_radius, solver: str, window: int) -> int | None:
    if isinstance(band_radius, str):
        if band_radius != "auto":
            raise ValueError(f"band_radius: expected 'auto', None or an integer >= 1, got {band_radius!r}")
        return window - 1 if solver == "band" else None
    if band_radius is None:
        if solver == "band":
            raise ValueError("band_radius: the band solver freezes pixels: give 'auto' or an integer >= 1")
        return None
    if isinstance(band_radius, bool) or not isinstance(band_radius, (int, np.integer)) or band_radius < 1:
        raise ValueError(f"band_radius: expected 'auto', None or an integer >= 1, got {band_radius!r}")
    return int(band_radius)


def _band_cache_budget(band: BandObjective, max_memory_mb: float, count: int) -> float:
    """Bytes left for the band solver's tile cache under the budget; MemoryBudgetError when none are."""
    channels, height, width = band.shape
    footprint = max(((t.r1 - t.r0) + 2 * band.radius) * ((t.c1 - t.c0) + 2 * band.radius) for t in band.tiles) \
        if band.tiles else 0
    need = resident_bytes() + band_fixed_bytes(channels, height * width, band.moving_pixels, footprint, count)
    left = max_memory_mb * MB - need
    if left < 0:
        raise MemoryBudgetError(
            f"max_memory: {max_memory_mb:g} MiB cannot be met: the band solver on {width}x{height} needs about "
            f"{need / MB:.0f} MiB without caching a tile ({resident_bytes() / MB:.0f} MiB in use already)")
    return left


def _choose_engine(engine: str, solver: str, device: torch.device) -> tuple[str, str]:
    """The engine to try and why ("auto" may still fall back to torch when numba fails: :func:`_objective`)."""
    if engine == "fused":
        if device.type != "cpu":
            raise ValueError(f"engine: 'fused' runs on the CPU, not on {device}")
        if solver == "band":
            raise ValueError("engine: the band solver runs on the torch engine: use engine='torch' or 'auto'")
        return "fused", "asked"
    if engine == "torch":
        return "torch", "asked"
    if device.type != "cpu":
        return "torch", f"auto: device {device}"
    if solver == "band":
        return "torch", "auto: the band solver's tiles"
    return "fused", "auto: CPU"


def _objective(engine: str, reason: str, x: torch.Tensor, m: torch.Tensor, window: int, variant: str):
    """The full frame's objective on ``engine``, with the engine and reason that ran. ``auto``'s fused choice
    falls back to torch with a warning when numba cannot be imported or cannot compile the kernels."""
    if engine == "fused":
        try:
            fused = fused_objective_class()
            fused.compile(variant, x.dtype)
        except Exception as error:  # pylint: disable=broad-exception-caught
            if reason == "asked":
                raise
            why = f"{type(error).__name__}: {error}".splitlines()[0]
            warnings.warn(f"engine: the fused engine cannot run here ({why}); using the torch engine",
                          RuntimeWarning, stacklevel=3)
            log.warning("engine: the fused engine cannot run here (%s); using the torch engine", why)
            engine, reason = "torch", f"auto: fused failed ({why})"
        else:
            return fused(x, m, window, variant), engine, reason
    return MFFSSIMObjective(x, m, window, variant), engine, reason


@contextlib.contextmanager
def _torch_threads(threads: int | None):
    """Run the block with torch on ``threads`` CPU threads (None: as it is), then restore its count. Beside
    the fused engine (numba's threads) torch only takes the optimiser's elementwise steps, and on a busy
    machine its threads cost more than they give (benchmarks/bench_threads.py)."""
    before = torch.get_num_threads()
    if threads is not None and threads != before:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def describe_solver(info: dict) -> str:
    """One log line for ``FusionResult.solver``: frame size, solver and why, engine and why, tiles and band shares."""
    text = f"{info['frame']}: solver {info['solver']} ({info['reason']})"
    if info.get("engine") is not None:
        text += f", engine {info['engine']} ({info['engine_reason']})"
    if info.get("band_radius") is not None:
        text += f", band radius {info['band_radius']}, moving {100 * info['moving_share']:.1f} %"
    if info["solver"] == "band":
        text += (f", {info['tiles']}/{info['tiles_total']} tiles of {info['tile'][0]}x{info['tile'][1]} "
                 f"({100 * info['computed_share']:.1f} % of the windows computed)")
    return text


# ---------------------------------------------------------------------------------------------------
# fuse
# ---------------------------------------------------------------------------------------------------
def fuse(
    sources: np.ndarray,
    focus_map: np.ndarray | None = None,
    *,
    detector: str = "lap",
    window: int | None = None,
    variant: str = "paper",
    optimizer: str = "adam-cosine",
    lr: float | None = None,
    iterations: int | None = None,
    tol: float | None = None,
    init="pixelwise",
    keep: str = "best",
    device: str = "auto",
    dtype: str = "float32",
    progress: bool = False,
    solver: str = "auto",
    band_radius: int | str | None = "auto",
    tile: int | tuple[int | None, int | None] | None = None,
    max_memory_mb: float | None = None,
    engine: str = "auto",
) -> FusionResult:
    """Fuse K registered sources by maximising the MFF-SSIM index Q (Algorithm 1).

    Parameters
    ----------
    sources : array (K, H, W, C) or (K, H, W), float in [0, 1], K >= 2; or a :class:`mffssim.stack.CodedStack`
        (8-bit frames as uint8 codes, a quarter of the memory: the map is reduced frame by frame and the band
        solver decodes each tile's sources when it needs them).
    focus_map : array (K, H, W) or None. None detects one with ``detector`` ("lap": the authors'
        Laplacian energy over the fusion window).
    window : odd int or None. None is :func:`mffssim.ssim.window_size` of the image.
    variant : "paper" (the equations) or "reference" (the authors' code); see docs/method.md.
    optimizer : "adam-cosine" (default, fastest), "adam" (the authors') or "gd" (Algorithm 1 literally).
    lr, iterations : None picks the optimiser's default (adam-cosine: 2e-2 decaying, 60 iterations from the
        pixel-wise start, 150 from any other;
        adam and gd: 1e-3, 1000). ``optimizer="adam", lr=1e-3, iterations=1000, tol=None, init="mean",
        keep="last"`` is the authors' run.
    tol : stop once the best of the latest 10 iterates beats the best iterate before them by less than
        ``tol`` (tested every 10 steps from step 20 on, and only once some iterate has reached the start's
        Q, so the first overshooting steps cannot stop the run); None (default) runs every iteration. A
        stop decided by a threshold on Q moves with round-off, so the default runs a fixed count.
    init : "pixelwise" (default: Eq. 1 with the map, which measured as good or better than the mean start
        on ground-truth pairs and moves only pixels near map boundaries), "mean" (the paper's Y^(0)) or an
        image (H, W, C).
    keep : "best" returns the iterate with the highest Q seen (the start included, so Q never falls);
        "last" returns the last iterate, as the authors' code does.
    device : "auto" (CUDA if available), "cpu" or "cuda". dtype : "float32" or "float64".
    progress : show a tqdm bar with Q.
    solver : "auto" (default), "full" or "band". "band" freezes every pixel farther than ``band_radius``
        from a change of the map's label at its pixel-wise value and evaluates Q and dQ/dY only on the
        tiles (``tile`` x ``tile`` window centres) whose windows reach the others (mffssim/band.py): one-hot
        maps, the paper variant and the pixel-wise start only. "auto" takes it for those on frames of
        BAND_MIN_PIXELS (8 MP) or more, the full frame otherwise; the choice is logged and kept in
        ``result.solver``.
    band_radius : "auto" (W - 1 on the band solver, no frozen pixel on the full frame), None (no frozen
        pixel) or an integer r >= 1 that freezes the same pixels on either solver (so
        ``solver="full", band_radius=r`` is the band solver's reference, equal to float32 round-off).
    tile : the band solver's tiles of window centres: an int (square), (rows, columns) (None: the whole
        width or height) or None (mffssim.band.DEFAULT_TILE: strips of 128 rows).
    max_memory_mb : a budget for the process's resident memory in MiB (None: none). The band solver keeps as
        many tile objectives between steps as fit (the others are rebuilt at every step: slower, same
        values); MemoryBudgetError (a MemoryError) when even without them, or for the full frame, the
        estimate exceeds it.
    engine : "auto" (default), "fused" or "torch": what evaluates Q and dQ/dY. "torch" is the torch engine
        (any device, and the band solver's tiles); "fused" the numba kernels (mffssim/kernels: CPU, full
        frame; the same Q and dQ/dY to float64 round-off, several times faster); "auto" takes the fused engine
        on the CPU's full frame and torch otherwise, and falls back to torch with a warning when numba cannot
        run. The engine and why are logged and kept in ``result.solver``.

    Returns
    -------
    FusionResult with ``.image`` (H, W, C) float32, ``.focus_map``, ``.window``, ``.trace`` (Q^(0) .. Q^(T)),
    ``.returned_iteration`` (the image's index in the trace), ``.iterations`` and timing.
    """
    codes = _coded(sources)  # a CodedStack's uint8 codes of 8-bit values (mffssim.stack): decoded where needed
    sources = codes if codes is not None else check_sources(sources)
    count, height, width, channels = sources.shape
    variant = _choose("variant", variant, VARIANTS)
    optimizer = _choose("optimizer", optimizer, OPTIMIZERS)
    keep = _choose("keep", keep, KEEPS)
    torch_dtype = DTYPES[_choose("dtype", dtype, tuple(DTYPES))]
    window = check_window(window_size(height, width) if window is None else window, height, width)
    lr = _DEFAULT_LR[optimizer] if lr is None else lr
    iterations = _default_iterations(optimizer, init) if iterations is None else iterations
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 0:
        raise ValueError(f"iterations: must be a non-negative integer, got {iterations!r}")
    if isinstance(lr, bool) or not (isinstance(lr, numbers.Real) and 0 < lr <= MAX_LR):
        raise ValueError(f"lr: must be a positive number up to {MAX_LR:g}, got {lr!r}")
    if tol is not None and not (isinstance(tol, numbers.Real) and math.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol: must be a non-negative number or None, got {tol!r}")
    torch_device = _check_device(device)

    if focus_map is None:
        detector = _choose("detector", detector, DETECTORS)
        if detector == "resnet":
            raise ValueError(
                "detector='resnet' is not available in fuse(): compute the map with "
                "mffssim.detector and pass it as focus_map"
            )
        labels, _ = laplacian_labels(frames(codes) if codes is not None else iter(sources), window)
        focus_map = one_hot(labels, count)  # one-hot by construction
    else:
        focus_map = _check_map(focus_map, sources.shape)
        labels = focus_map.argmax(0).astype(np.uint8 if count <= 256 else np.uint16) if _one_hot(focus_map) else None
    solver = _choose("solver", solver, SOLVERS)
    chosen, reason = _choose_solver(solver, labels, variant, init, height * width)
    radius = _band_radius(band_radius, chosen, window)
    if radius is not None and labels is None:
        raise ValueError("band_radius: frozen pixels need a one-hot focus map")
    if radius is not None and not (isinstance(init, str) and init == "pixelwise"):
        raise ValueError("band_radius: frozen pixels keep their pixel-wise value: use init='pixelwise'")
    engine, engine_reason = _choose_engine(_choose("engine", engine, ENGINES), chosen, torch_device)
    info = {"solver": chosen, "reason": reason, "band_radius": radius, "frame": f"{width}x{height}"}

    started = time.perf_counter()
    if chosen == "band":
        moving = moving_mask(labels, radius)
        band = BandObjective(sources, labels, moving, window, tile=tile, dtype=torch_dtype, device=torch_device)
        if max_memory_mb is not None:
            band.cache_bytes = _band_cache_budget(band, max_memory_mb, count)
        objective, y = band, band.start.clone()
        info.update(tiles=len(band.tiles), tiles_total=band.tiles_total, tile=band.tile_size,
                    moving_share=band.moving_pixels / (height * width), computed_share=band.computed_share,
                    cache_mb=None if math.isinf(band.cache_bytes) else band.cache_bytes / MB)
    else:
        band = None
        sources = decode(codes) if codes is not None else sources
        if max_memory_mb is not None:
            need = resident_bytes() + full_frame_bytes(count, channels, height * width)
            if need > max_memory_mb * MB:
                hint = (" (the band solver, solver='band', needs less)" if labels is not None and variant == "paper"
                        and isinstance(init, str) and init == "pixelwise" else "")
                raise MemoryBudgetError(
                    f"max_memory: {max_memory_mb:g} MiB cannot be met: the full-frame solver on {width}x{height}, "
                    f"K = {count} needs about {need / MB:.0f} MiB{hint}")
        x = torch.from_numpy(sources).permute(0, 3, 1, 2).to(device=torch_device, dtype=torch_dtype).contiguous()
        m = torch.from_numpy(focus_map).to(device=torch_device, dtype=torch_dtype)
        objective, engine, engine_reason = _objective(engine, engine_reason, x, m, window, variant)
        start_image = _initial_image(init, sources, focus_map)
        y = torch.from_numpy(start_image).permute(2, 0, 1).to(device=torch_device, dtype=torch_dtype).contiguous()
        if radius is not None:
            moving = moving_mask(labels, radius)
            objective = _Frozen(objective, torch.from_numpy(moving).to(device=torch_device, dtype=torch_dtype))
            info["moving_share"] = float(moving.mean())
    info.update(engine=engine, engine_reason=engine_reason)
    log.info("%s", describe_solver(info))
    optimizer_class = _OPTIMIZER_CLASSES[optimizer]
    if optimizer == "adam-cosine" and engine == "fused":
        optimizer_class = _FusedAdamCosine
    steps = optimizer_class(y, float(lr), int(iterations))

    trace = torch.empty(iterations + 1, dtype=torch.float64, device=torch_device)
    with torch.no_grad(), _torch_threads(1 if engine == "fused" else None):
        q, grad = objective.value_and_grad(y)
        trace[0] = q
        best = _BestIterate(y, float(q)) if keep == "best" else None
        done, stopped = 0, False
        with tqdm(total=iterations, disable=not progress, desc="fuse", unit="it") as bar:
            for t in range(1, iterations + 1):
                q, grad = steps.step(objective, grad)
                trace[t] = q
                done = t
                if best is not None:
                    best.offer(y, float(q), t)
                if progress:
                    bar.update(1)
                if t % TOL_WINDOW == 0 or t == iterations:
                    if progress:
                        bar.set_postfix(Q=f"{float(q):.6f}")
                    if tol is not None and t % TOL_WINDOW == 0 and _converged(trace[: t + 1], tol):
                        stopped = t < iterations
                        break
    if best is not None and best.iteration != done:
        y, returned = best.image, best.iteration
    else:
        returned = done
    if band is not None:
        y = band.image(y)
        info.update(cached_mb=band.cached_bytes / MB, rebuilt=band.rebuilt)
    image = y.permute(1, 2, 0).to(device="cpu", dtype=torch.float32).numpy().copy()
    trace_np = trace[: done + 1].cpu().numpy()
    seconds = time.perf_counter() - started
    return FusionResult(
        image=image,
        focus_map=focus_map,
        window=window,
        trace=trace_np,
        iterations=done,
        seconds=seconds,
        variant=variant,
        optimizer=optimizer,
        device=str(torch_device),
        stopped_early=stopped,
        returned_iteration=returned,
        settings={"lr": float(lr), "tol": tol, "init": init if isinstance(init, str) else "array", "dtype": dtype,
                  "keep": keep},
        solver=info,
    )
