"""The MFF-SSIM index (Eq. 3-7) and its exact closed-form gradient (Eq. 10-14), in torch.

Two variants (PAPER.md's table):

- ``"paper"``: uniform W x W window, one joint patch of C*W^2 values per position (Eq. 13), valid
  patches only, SSIM < 0 kept. Window sums are running sums (cumsum), so one evaluation costs
  O(H*W) whatever W is.
- ``"reference"``: the authors' code. Gaussian window (sigma 1.5) truncated to W x W, SSIM per channel,
  reflect padding so every pixel is a window centre, SSIM clamped to [0, 1]. Separable convolutions,
  O(H*W*W).

Per patch, the gradient of SSIM with respect to the fused patch is affine in the patch,
``alpha*1 + beta*x + gamma*y`` (Eq. 14); summing it over the overlapping patches (R_i^T, Eq. 10) is the
adjoint window filter of the per-patch maps alpha, beta, gamma, multiplied pixelwise by x and y. So one
value-and-gradient is a handful of window filters and elementwise operations: no per-patch loop, no
autograd.

float32 accuracy: every image is shifted by one constant (the sources' mean) before the statistics, the
running sums are accumulated in float64 and the variances/covariances are formed in float64, so
E[x^2] - E[x]^2 does not cancel away the signal on large flat images.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

C1 = 0.01**2
C2 = 0.03**2
VARIANTS = ("paper", "reference")
REFERENCE_SIGMA = 1.5

__all__ = [
    "C1",
    "C2",
    "VARIANTS",
    "MFFSSIMObjective",
    "gaussian_window",
    "mffssim_gradient",
    "mffssim_index",
    "window_size",
]


def window_size(height: int, width: int, ratio: float = 5e-5, cap: int | None = 25) -> int:
    """The authors' window rule: ``min(max(2*floor(ratio*H*W/2) + 1, 3), cap)``, always odd.

    ``cap=None`` means no upper bound. 624x432 -> 13, 868x568 -> 25.
    """
    for name, value in (("height", height), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"window_size: {name} must be a positive integer, got {value!r}")
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float, np.floating, np.integer)):
        raise ValueError(f"window_size: ratio must be a number, got {ratio!r}")
    if not math.isfinite(ratio) or ratio <= 0:
        raise ValueError(f"window_size: ratio must be a positive finite number, got {ratio!r}")
    size = max(2 * math.floor(ratio * height * width / 2) + 1, 3)
    if cap is not None:
        if isinstance(cap, bool) or not isinstance(cap, (int, np.integer)) or cap < 3 or cap % 2 == 0:
            raise ValueError(f"window_size: cap must be an odd integer >= 3 or None, got {cap!r}")
        size = min(size, int(cap))
    return int(size)


def gaussian_window(window: int, sigma: float = REFERENCE_SIGMA, *, dtype=torch.float64, device=None) -> torch.Tensor:
    """1-D Gaussian of ``window`` taps centred on the middle one, normalised to sum 1.

    Its outer product with itself is the authors' 2-D window (a normalised 2-D Gaussian).
    """
    offsets = torch.arange(window, dtype=torch.float64) - (window - 1) / 2
    taps = torch.exp(-(offsets**2) / (2.0 * sigma**2))
    return (taps / taps.sum()).to(dtype=dtype, device=device)


# ---------------------------------------------------------------------------------------------------
# Window filters
# ---------------------------------------------------------------------------------------------------
def _running_window_sum(t: torch.Tensor, window: int, dim: int) -> torch.Tensor:
    """Sums of ``window`` consecutive entries along ``dim`` ('valid' positions), in float64 via cumsum."""
    c = torch.cumsum(t, dim=dim, dtype=torch.float64)
    n = t.shape[dim]
    head = c.narrow(dim, window - 1, 1)
    tail = c.narrow(dim, window, n - window) - c.narrow(dim, 0, n - window)
    return torch.cat([head, tail], dim=dim)


def box_sum_valid(t: torch.Tensor, window: int) -> torch.Tensor:
    """Sum over every W x W window that fits inside the last two dims: (..., H, W) -> (..., H-W+1, W-W+1).

    O(H*W) whatever the window, accumulated in float64 (returned in float64).
    """
    return _running_window_sum(_running_window_sum(t, window, -2), window, -1)


def box_sum_full(t: torch.Tensor, window: int) -> torch.Tensor:
    """Adjoint of :func:`box_sum_valid`: (..., h, w) -> (..., h+W-1, w+W-1), in float64.

    Entry p receives the sum of the per-window values of every window that covers p.
    """
    pad = window - 1
    return box_sum_valid(F.pad(t, (pad, pad, pad, pad)), window)


def _separable(t: torch.Tensor, taps: torch.Tensor, padding: int) -> torch.Tensor:
    """Correlate the last two dims of ``t`` (N, H, W) with ``outer(taps, taps)``, zero padding ``padding``."""
    w = taps.numel()
    x = t.unsqueeze(1)
    x = F.conv2d(x, taps.view(1, 1, 1, w), padding=(0, padding))
    x = F.conv2d(x, taps.view(1, 1, w, 1), padding=(padding, 0))
    return x.squeeze(1)


def fold_reflect(t: torch.Tensor, pad: int) -> torch.Tensor:
    """Adjoint of reflect padding by ``pad`` on the last two dims: (..., H+2p, W+2p) -> (..., H, W).

    Every padded entry is added back onto the pixel it mirrors (numpy/torch 'reflect': the edge pixel
    is not repeated).
    """
    if pad == 0:
        return t
    for dim in (-2, -1):
        n = t.shape[dim] - 2 * pad
        core = t.narrow(dim, pad, n).clone()
        core.narrow(dim, 1, pad).add_(t.narrow(dim, 0, pad).flip(dim))
        core.narrow(dim, n - 1 - pad, pad).add_(t.narrow(dim, pad + n, pad).flip(dim))
        t = core
    return t


# ---------------------------------------------------------------------------------------------------
# The objective
# ---------------------------------------------------------------------------------------------------
def _check_window(window: int, height: int, width: int, what: str) -> int:
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)):
        raise ValueError(f"{what}: window must be an odd positive integer, got {window!r}")
    window = int(window)
    if window < 1 or window % 2 == 0:
        raise ValueError(f"{what}: window must be an odd positive integer, got {window}")
    if window > min(height, width):
        raise ValueError(f"{what}: window {window} is larger than the image ({height}x{width})")
    return window


class MFFSSIMObjective:
    """Precomputes everything that depends only on the sources and the map; evaluates Q and dQ/dY fast.

    ``sources`` (K, C, H, W) and ``focus_map`` (K, H, W) are torch tensors on any device, float32 or
    float64; the fused images given to :meth:`value` and :meth:`value_and_grad` are (C, H, W) on the same
    device with the same dtype. Q is the MFF-SSIM index of ``variant`` ("paper" or "reference").
    """

    def __init__(self, sources: torch.Tensor, focus_map: torch.Tensor, window: int, variant: str = "paper"):
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        if not isinstance(sources, torch.Tensor) or sources.ndim != 4:
            raise ValueError(f"sources must be a (K, C, H, W) tensor, got {_describe(sources)}")
        if not sources.is_floating_point():
            raise ValueError(f"sources must be a floating tensor, got dtype {sources.dtype}")
        k, c, h, w = sources.shape
        if k < 2:
            raise ValueError(f"sources: need K >= 2 source images, got K = {k}")
        if not isinstance(focus_map, torch.Tensor) or tuple(focus_map.shape) != (k, h, w):
            raise ValueError(f"focus_map must have shape {(k, h, w)} (K, H, W), got {_describe(focus_map)}")
        self.window = _check_window(window, h, w, "MFFSSIMObjective")
        self.variant = variant
        self.dtype = sources.dtype
        self.device = sources.device
        self.shape = (c, h, w)
        self.num_sources = k
        self.radius = self.window // 2
        # One constant shift for all images: statistics are shift-invariant except the means, which get it back.
        self.shift = float(sources.mean(dtype=torch.float64))
        self._xc = sources - self.shift  # (K, C, H, W)
        fmap = focus_map.to(dtype=self.dtype, device=self.device)
        if variant == "paper":
            self._init_paper(fmap)
        else:
            self._init_reference(fmap)

    # --- paper variant: box window, joint colour patch, valid patches -------------------------------
    def _init_paper(self, fmap: torch.Tensor) -> None:
        c, h, w = self.shape
        win, r = self.window, self.radius
        self._n = c * win * win  # values per patch
        self._count = (h - win + 1) * (w - win + 1)  # P
        sums = box_sum_valid(torch.stack([self._xc.sum(1), (self._xc * self._xc).sum(1)]), win) / self._n
        mux_c, exx = sums[0], sums[1]  # (K, h', w') float64, centred
        self._mux_c = mux_c.to(self.dtype)
        self._mux = (mux_c + self.shift).to(self.dtype)
        self._mux64_c = mux_c
        self._varx = (exx - mux_c * mux_c).to(self.dtype)
        self._m = fmap[:, r : h - r, r : w - r].contiguous()  # m_ik: the map at the patch centre

    def _paper_stats(self, yc: torch.Tensor):
        """Per-patch statistics of the (centred) fused image against every source, in the working dtype."""
        k = self.num_sources
        maps = torch.cat([yc.sum(0, keepdim=True), (yc * yc).sum(0, keepdim=True), (self._xc * yc).sum(1)])
        sums = box_sum_valid(maps, self.window) / self._n  # (K+2, h', w') float64
        muy_c, eyy, exy = sums[0], sums[1], sums[2:]
        vary = (eyy - muy_c * muy_c).to(self.dtype)
        cov = (exy - self._mux64_c * muy_c).to(self.dtype)
        muy = (muy_c + self.shift).to(self.dtype)
        return muy, muy_c.to(self.dtype), vary, cov

    def _paper_value_and_grad(self, y: torch.Tensor, need_grad: bool):
        yc = y - self.shift
        muy, muy_c, vary, cov = self._paper_stats(yc)
        mux = self._mux
        a1 = 2.0 * mux * muy + C1
        a2 = 2.0 * cov + C2
        b1 = mux * mux + muy * muy + C1
        b2 = self._varx + vary + C2
        b12 = b1 * b2
        ssim = a1 * a2 / b12
        q = (self._m * ssim).sum() / self._count
        if not need_grad:
            return q, None
        scale = self._m * (2.0 / self._n)
        beta = scale * a1 / b12  # coefficient of x (per source)
        gamma = -scale * ssim / b2  # coefficient of y
        alpha = scale * (mux * a2 / b12 - ssim * muy / b1) - beta * self._mux_c - gamma * muy_c
        coeff = torch.cat([alpha.sum(0, keepdim=True), gamma.sum(0, keepdim=True), beta])
        back = (box_sum_full(coeff, self.window) / self._count).to(self.dtype)  # (K+2, H, W)
        grad = back[0] + back[1] * yc + (back[2:, None] * self._xc).sum(0)
        return q, grad

    # --- reference variant: Gaussian window per channel, reflect padding, clamp ---------------------
    def _init_reference(self, fmap: torch.Tensor) -> None:
        c, h, w = self.shape
        r = self.radius
        self._taps = gaussian_window(self.window, dtype=self.dtype, device=self.device)
        self._count = c * h * w
        self._xp = F.pad(self._xc, (r, r, r, r), mode="reflect")  # (K, C, H+2r, W+2r)
        k = self.num_sources
        flat = torch.cat([self._xp, self._xp * self._xp]).reshape(2 * k * c, h + 2 * r, w + 2 * r)
        stats = _separable(flat, self._taps, 0).reshape(2, k, c, h, w)
        self._mux_c = stats[0]
        self._mux = stats[0] + self.shift
        self._varx = stats[1] - stats[0] * stats[0]
        self._m = fmap[:, None]  # (K, 1, H, W): the map at the window centre

    def _reference_value_and_grad(self, y: torch.Tensor, need_grad: bool):
        c, h, w = self.shape
        k, r = self.num_sources, self.radius
        yc = y - self.shift
        yp = F.pad(yc[None], (r, r, r, r), mode="reflect")[0]  # (C, H+2r, W+2r)
        maps = torch.cat([yp, yp * yp, (self._xp * yp).reshape(k * c, h + 2 * r, w + 2 * r)])
        stats = _separable(maps, self._taps, 0)
        muy_c, eyy, exy = stats[:c], stats[c : 2 * c], stats[2 * c :].reshape(k, c, h, w)
        vary = eyy - muy_c * muy_c
        cov = exy - self._mux_c * muy_c
        muy = muy_c + self.shift
        mux = self._mux
        a1 = 2.0 * mux * muy + C1
        a2 = 2.0 * cov + C2
        b1 = mux * mux + muy * muy + C1
        b2 = self._varx + vary + C2
        b12 = b1 * b2
        ssim = a1 * a2 / b12
        q = (self._m * ssim.clamp(0.0, 1.0)).sum() / self._count
        if not need_grad:
            return q, None
        active = (ssim >= 0.0) & (ssim <= 1.0)  # the clamp passes the gradient only inside [0, 1]
        scale = torch.where(active, self._m * 2.0, torch.zeros((), dtype=self.dtype, device=self.device))
        beta = scale * a1 / b12
        gamma = -scale * ssim / b2
        alpha = scale * (mux * a2 / b12 - ssim * muy / b1) - beta * self._mux_c - gamma * muy_c
        coeff = torch.cat([alpha.sum(0), gamma.sum(0), beta.reshape(k * c, h, w)])
        back = fold_reflect(_separable(coeff, self._taps, 2 * r), r) / self._count
        grad = back[:c] + back[c : 2 * c] * yc + (back[2 * c :].reshape(k, c, h, w) * self._xc).sum(0)
        return q, grad

    # --- public ------------------------------------------------------------------------------------
    def _check_fused(self, fused: torch.Tensor) -> None:
        if not isinstance(fused, torch.Tensor) or tuple(fused.shape) != self.shape:
            raise ValueError(f"fused must be a {self.shape} (C, H, W) tensor, got {_describe(fused)}")
        if fused.dtype != self.dtype or fused.device != self.device:
            raise ValueError(
                f"fused is {fused.dtype} on {fused.device}; the objective works in {self.dtype} on {self.device}"
            )

    def value_and_grad(self, fused: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Q (0-dim tensor) and dQ/dY (C, H, W) for the fused image ``fused`` (C, H, W)."""
        self._check_fused(fused)
        if self.variant == "paper":
            return self._paper_value_and_grad(fused, True)
        return self._reference_value_and_grad(fused, True)

    def value(self, fused: torch.Tensor) -> torch.Tensor:
        """Q (0-dim tensor) for the fused image ``fused`` (C, H, W)."""
        self._check_fused(fused)
        if self.variant == "paper":
            return self._paper_value_and_grad(fused, False)[0]
        return self._reference_value_and_grad(fused, False)[0]


def _describe(value) -> str:
    shape = getattr(value, "shape", None)
    return f"shape {tuple(shape)}" if shape is not None else f"{type(value).__name__}"


# ---------------------------------------------------------------------------------------------------
# numpy API
# ---------------------------------------------------------------------------------------------------
def _as_float_array(value, name: str, ndim: int, layout: str, unit_range: bool = True) -> np.ndarray:
    array = np.asarray(value)
    if array.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array {layout}, got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"{name} must hold real numbers, got dtype {array.dtype}")
    array = array.astype(np.float64, copy=False)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values")
    if unit_range and array.size and (array.min() < 0.0 or array.max() > 1.0):
        raise ValueError(f"{name} must lie in [0, 1], found [{array.min():g}, {array.max():g}]")
    return array


def _objective_from_arrays(sources, fused, focus_map, window, variant):
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    src = _as_float_array(sources, "sources", 4, "(K, H, W, C)")
    fus = _as_float_array(fused, "fused", 3, "(H, W, C)")
    fmap = _as_float_array(focus_map, "focus_map", 3, "(K, H, W)")
    k, h, w, c = src.shape
    if k < 2:
        raise ValueError(f"sources: need K >= 2 source images, got K = {k}")
    if fus.shape != (h, w, c):
        raise ValueError(f"fused has shape {fus.shape}, the sources' images are {(h, w, c)} (H, W, C)")
    if fmap.shape != (k, h, w):
        raise ValueError(f"focus_map has shape {fmap.shape}, expected {(k, h, w)} (K, H, W) for these sources")
    window = _check_window(window, h, w, "window")
    objective = MFFSSIMObjective(
        torch.from_numpy(np.ascontiguousarray(src.transpose(0, 3, 1, 2))),
        torch.from_numpy(fmap),
        window,
        variant,
    )
    return objective, torch.from_numpy(np.ascontiguousarray(fus.transpose(2, 0, 1)))


def mffssim_index(
    sources: np.ndarray, fused: np.ndarray, focus_map: np.ndarray, window: int, variant: str = "paper"
) -> float:
    """MFF-SSIM index Q of ``fused`` (H, W, C) against ``sources`` (K, H, W, C) and ``focus_map`` (K, H, W).

    Images are floats in [0, 1]; the map is one-hot or soft in [0, 1]; ``window`` is odd and fits in the
    image. Computed in float64.

    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((2, 16, 16, 1))
    >>> m = np.stack([np.ones((16, 16)), np.zeros((16, 16))])
    >>> round(mffssim_index(x, x[0], m, 5), 6)
    1.0
    """
    objective, y = _objective_from_arrays(sources, fused, focus_map, window, variant)
    return float(objective.value(y))


def mffssim_gradient(
    sources: np.ndarray, fused: np.ndarray, focus_map: np.ndarray, window: int, variant: str = "paper"
) -> tuple[float, np.ndarray]:
    """Q and its exact gradient dQ/dY (an array shaped like ``fused``), in closed form (Eq. 10-14)."""
    objective, y = _objective_from_arrays(sources, fused, focus_map, window, variant)
    q, grad = objective.value_and_grad(y)
    out_dtype = fused.dtype if isinstance(fused, np.ndarray) and np.issubdtype(fused.dtype, np.floating) else np.float64
    return float(q), grad.numpy().transpose(1, 2, 0).astype(out_dtype)
