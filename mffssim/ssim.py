"""The MFF-SSIM index (Eq. 3-7) and its exact closed-form gradient (Eq. 10-14), in torch.

Two variants (docs/method.md, section 2):

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

from ._checks import check_window

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

    ``cap=None`` means no upper bound (docs/method.md, section 1).

    Examples
    --------
    >>> window_size(432, 624)
    13
    >>> window_size(568, 868), window_size(2000, 3000), window_size(2000, 3000, cap=None)
    (25, 25, 301)
    >>> window_size(64, 64)  # small images: at least 3
    3
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
# Window filters and their adjoints
# ---------------------------------------------------------------------------------------------------
def integrate_(t: torch.Tensor, block: int = 16) -> torch.Tensor:
    """In place, the 2-D inclusive running sum (integral image) of every map of a stack (F, H, W).

    The running sum down the rows is a two-level scan (within blocks of ``block`` rows, then the block
    carries): on CPU torch's cumsum along a non-last dimension is several times slower than that.
    """
    t.cumsum_(2)
    if t.is_cuda or t.shape[1] < 2 * block:
        return t.cumsum_(1)
    maps, h, w = t.shape
    blocks = h // block
    v = t[:, : blocks * block].view(maps, blocks, block, w)
    for i in range(1, block):
        v[:, :, i].add_(v[:, :, i - 1])
    carry = v[:, :-1, block - 1].cumsum(1)  # total of all previous blocks
    v[:, 1:].add_(carry[:, :, None])
    for i in range(blocks * block, h):
        t[:, i].add_(t[:, i - 1])
    return t


def _shared_buffers(*shapes: tuple[int, ...], dtype, device) -> list[torch.Tensor]:
    """Uninitialised tensors of the given shapes that share one storage (for buffers never live together)."""
    storage = torch.empty(max(math.prod(shape) for shape in shapes), dtype=dtype, device=device)
    return [storage[: math.prod(shape)].view(shape) for shape in shapes]


class BoxSums:
    """Sums over every W x W window of a stack of maps (F, H, W), by integral images: O(H*W) for any W.

    :meth:`valid` sums the windows that fit in the image; :meth:`full` is its adjoint (each pixel gets
    the sum of the values of the windows covering it). The integral images are float64, so their large
    running totals lose nothing. Buffers are allocated once and reused: a result is overwritten by
    the next call of either method.
    """

    def __init__(self, maps: int, height: int, width: int, window: int, device=None):
        f64 = {"dtype": torch.float64, "device": device}
        w = window
        self.window, self.height, self.width = window, height, width
        self.valid_shape = (height - w + 1, width - w + 1)
        vh, vw = self.valid_shape
        self._integral = torch.zeros(maps, height + 1, width + 1, **f64)  # row 0 and column 0 stay zero
        self._full_integral = torch.zeros(maps, height + w, width + w, **f64)  # input inside a zero border
        # valid and full run one after the other: they share their intermediate and output buffers
        self._rows, self._full_rows = _shared_buffers((maps, vh, width + 1), (maps, height, width + w), **f64)
        self._valid, self._full = _shared_buffers((maps, vh, vw), (maps, height, width), **f64)

    def valid(self, maps: torch.Tensor) -> torch.Tensor:
        """(F, H, W) -> (F, H-W+1, W-W+1) window sums, float64."""
        w, s = self.window, self._integral
        s[:, 1:, 1:].copy_(maps)
        integrate_(s)
        torch.sub(s[:, w:], s[:, :-w], out=self._rows)
        return torch.sub(self._rows[:, :, w:], self._rows[:, :, :-w], out=self._valid)

    def full(self, maps: torch.Tensor) -> torch.Tensor:
        """Adjoint of :meth:`valid`: (F, H-W+1, W-W+1) -> (F, H, W), float64."""
        w, h, wd = self.window, self.height, self.width
        vh, vw = self.valid_shape
        s = self._full_integral
        s[:, w + vh :].zero_()  # the last integration filled the bottom and right borders with totals
        s[:, :, w + vw :].zero_()
        s[:, w : w + vh, w : w + vw].copy_(maps)
        integrate_(s)
        torch.sub(s[:, w:], s[:, :h], out=self._full_rows)
        return torch.sub(self._full_rows[:, :, w:], self._full_rows[:, :, :wd], out=self._full)


class GaussianSums:
    """Weighted sums under a normalised W x W Gaussian window: separable depthwise convolutions.

    Works on stacks of ``maps`` maps of one size: with r = W // 2, :meth:`valid` maps
    (maps, H+2r, W_img+2r) to (maps, H, W_img); :meth:`full` is its adjoint (the same symmetric filter
    with zero padding 2r).
    Outputs go to buffers allocated once (fresh large tensors every call cost page faults on CPU);
    a result is overwritten by the next call of either method.
    """

    def __init__(self, maps: int, height: int, width: int, window: int, dtype=torch.float32, device=None):
        like = {"dtype": dtype, "device": device}
        taps = gaussian_window(window, dtype=dtype, device=device)
        w, pad = window, window - 1
        self.maps, self.window = maps, window
        self._row = taps.view(1, 1, 1, w).repeat(maps, 1, 1, 1)
        self._col = taps.view(1, 1, w, 1).repeat(maps, 1, 1, 1)
        # valid and full run one after the other: they share their intermediate and output buffers
        self._valid_rows, self._full_rows = _shared_buffers(
            (1, maps, height + pad, width), (1, maps, height, width + pad), **like
        )
        self._valid, self._full = _shared_buffers((1, maps, height, width), (1, maps, height + pad, width + pad), **like)
        # full: the input lives inside a zero border along the width (padding inside conv2d along the
        # width takes a slow path on CPU), the height is zero-padded by the convolution itself
        self._padded = torch.zeros(1, maps, height, width + 2 * pad, **like)
        self.full_input = self._padded[0, :, :, pad : pad + width]

    def _conv(self, x: torch.Tensor, weight: torch.Tensor, padding: tuple[int, int], out: torch.Tensor):
        return torch.ops.aten.convolution.out(
            x, weight, None, [1, 1], list(padding), [1, 1], False, [0, 0], self.maps, out=out
        )

    def valid(self, maps: torch.Tensor) -> torch.Tensor:
        """(maps, H+2r, W_img+2r) -> (maps, H, W_img) window-weighted sums."""
        x = self._conv(maps.reshape(1, self.maps, *maps.shape[-2:]), self._row, (0, 0), self._valid_rows)
        return self._conv(x, self._col, (0, 0), self._valid)[0]

    def full(self) -> torch.Tensor:
        """Adjoint of :meth:`valid` applied to :attr:`full_input` (write the (maps, H, W) input there)."""
        x = self._conv(self._padded, self._row, (0, 0), self._full_rows)
        return self._conv(x, self._col, (self.window - 1, 0), self._full)[0]


def reflect_pad_into(out: torch.Tensor, image: torch.Tensor, pad: int) -> torch.Tensor:
    """Write ``image`` (..., H, W) reflect-padded by ``pad`` (numpy/torch 'reflect') into ``out``."""
    h, w = image.shape[-2:]
    out[..., pad : pad + h, pad : pad + w] = image
    if pad:
        rows = out[..., pad : pad + h, :]
        rows[..., :pad] = rows[..., pad + 1 : 2 * pad + 1].flip(-1)
        rows[..., pad + w :] = rows[..., w - 1 : w - 1 + pad].flip(-1)
        out[..., :pad, :] = out[..., pad + 1 : 2 * pad + 1, :].flip(-2)
        out[..., pad + h :, :] = out[..., h - 1 : h - 1 + pad, :].flip(-2)
    return out


def fold_reflect(t: torch.Tensor, pad: int) -> torch.Tensor:
    """Adjoint of reflect padding by ``pad`` on the last two dims: (..., H+2p, W+2p) -> (..., H, W).

    Every padded entry is added onto the pixel it mirrors (numpy/torch 'reflect': the edge pixel is
    not repeated). Returns a new tensor.
    """
    if pad == 0:
        return t.clone()
    for dim in (-2, -1):
        n = t.shape[dim] - 2 * pad
        core = t.narrow(dim, pad, n).clone()
        core.narrow(dim, 1, pad).add_(t.narrow(dim, 0, pad).flip(dim))
        core.narrow(dim, n - 1 - pad, pad).add_(t.narrow(dim, pad + n, pad).flip(dim))
        t = core
    return t


# ---------------------------------------------------------------------------------------------------
# Per-window SSIM and its gradient coefficients (Eq. 3, 11-14)
# ---------------------------------------------------------------------------------------------------
class _Windows:
    """Source-only window statistics, and SSIM and its gradient coefficients against a fused image.

    Statistics are maps over window positions, (K, ...) for the sources and (...) for the fused image,
    broadcast over the sources. Means are kept absolute (``mux``) and centred (``mux_c``, minus the
    global shift); the constant parts of the denominators are folded in (mux^2 + C1, var + C2).
    Intermediate maps live in buffers allocated once.
    """

    def __init__(self, mux_c: torch.Tensor, varx: torch.Tensor, shift: float, dtype):
        mux = mux_c + shift
        self.shift = shift
        self.mux_c = mux_c.to(dtype)
        self.mux = mux.to(dtype)
        self.two_mux = (2.0 * mux).to(dtype)
        self.mux_sq_c1 = (mux * mux + C1).to(dtype)
        self.varx_c2 = (varx + C2).to(dtype)
        names = ("a1", "a2", "b1", "b2", "inv_b12", "ssim", "clamped", "weight", "beta", "gamma", "alpha", "tmp")
        self._ws = {name: torch.empty_like(self.mux) for name in names}
        self._active = torch.empty(self.mux.shape, dtype=torch.bool, device=self.mux.device)
        self._muy = torch.empty_like(self.mux[0])
        self._muy_sq = torch.empty_like(self.mux[0])

    def ssim(self, muy_c: torch.Tensor, vary: torch.Tensor, cov: torch.Tensor) -> torch.Tensor:
        """SSIM (Eq. 3) per position and source, from the fused image's centred mean, variance and covariances."""
        ws = self._ws
        muy = torch.add(muy_c, self.shift, out=self._muy)
        a1 = torch.mul(self.two_mux, muy, out=ws["a1"]).add_(C1)
        a2 = torch.mul(cov, 2.0, out=ws["a2"]).add_(C2)
        b1 = torch.add(self.mux_sq_c1, torch.mul(muy, muy, out=self._muy_sq), out=ws["b1"])
        b2 = torch.add(self.varx_c2, vary, out=ws["b2"])
        inv_b12 = torch.mul(b1, b2, out=ws["inv_b12"]).reciprocal_()
        return torch.mul(a1, a2, out=ws["ssim"]).mul_(inv_b12)

    def weighted_mean(self, m: torch.Tensor | None, values: torch.Tensor, scale: float) -> torch.Tensor:
        """``scale * sum(m * values)`` (m None: all ones) accumulated in float64 (a float32 dot over a
        megapixel drifts)."""
        weighted = values if m is None else torch.mul(m, values, out=self._ws["tmp"])
        total = weighted.sum(dtype=torch.float64)
        return (total * scale).to(values.dtype)

    def clamp(self, ssim: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """SSIM clamped to [0, 1] and the mask where the clamp passes the gradient (inside, bounds included)."""
        clamped = torch.clamp(ssim, 0.0, 1.0, out=self._ws["clamped"])
        return clamped, torch.eq(clamped, ssim, out=self._active)

    def coefficients(self, weight: torch.Tensor, muy_c: torch.Tensor, active: torch.Tensor | None = None):
        """Per-position (alpha, beta, gamma) of Eq. 14 for the last :meth:`ssim`, scaled by ``weight``.

        The gradient of ``weight * SSIM`` of one window is ``(alpha + beta * x_c + gamma * y_c) * w_j`` at
        its pixel j, with ``w_j`` the window's normalised weight (1/n for the box, the Gaussian tap) and
        x_c, y_c centred pixel values. ``weight`` includes Eq. 13's factor 2; ``active`` zeroes clamped ones.
        """
        ws = self._ws
        if active is not None:
            weight = torch.mul(weight, active, out=ws["weight"])
        a1, a2, b1, b2, inv_b12, ssim = (ws[n] for n in ("a1", "a2", "b1", "b2", "inv_b12", "ssim"))
        t = torch.mul(weight, inv_b12, out=ws["tmp"])  # weight / (b1 b2)
        beta = torch.mul(t, a1, out=ws["beta"])
        alpha = torch.mul(t, a2, out=ws["alpha"]).mul_(self.mux)
        u = torch.mul(weight, ssim, out=ws["tmp"])  # weight * SSIM
        gamma = torch.div(u, b2, out=ws["gamma"]).neg_()
        alpha.addcdiv_(u.mul_(self._muy), b1, value=-1.0)
        alpha.addcmul_(beta, self.mux_c, value=-1.0)
        alpha.addcmul_(gamma, muy_c, value=-1.0)
        return alpha, beta, gamma


class _Selection:
    """Where the map is one-hot at every position, only the selected source's SSIM counts there.

    Then the per-position SSIM work is done once instead of K times: :meth:`pick` gathers the selected
    source's statistic at each position and :meth:`spread` puts a per-position coefficient back on the
    selected source. Soft maps keep all K (both methods pass through).
    """

    def __init__(self, m: torch.Tensor):
        self.one_hot = bool((((m == 0) | (m == 1)).all() & (m.sum(0) == 1).all()).item())
        if self.one_hot:
            self._index = m.argmax(0, keepdim=True)
            self._masks = m.clone()

    def pick(self, t: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """(K, ...) -> the selected source's values (1, ...), or ``t`` itself for soft maps."""
        if not self.one_hot:
            return t
        index = self._index
        return torch.gather(t, 0, index, out=out) if out is not None else torch.gather(t, 0, index)

    def spread(self, values: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """Per-source coefficients (K, ...) into ``out`` from :meth:`pick`-shaped ``values``."""
        if not self.one_hot:
            return out.copy_(values)
        return torch.mul(self._masks, values, out=out)


# ---------------------------------------------------------------------------------------------------
# The objective
# ---------------------------------------------------------------------------------------------------
class MFFSSIMObjective:
    """Precomputes everything that depends only on the sources and the map; evaluates Q and dQ/dY fast.

    ``sources`` (K, C, H, W) and ``focus_map`` (K, H, W) are torch tensors on any device, float32 or
    float64, with values in [0, 1] (not checked here; the numpy functions check); the fused images given to :meth:`value` and :meth:`value_and_grad` are (C, H, W) on the same
    device with the same dtype. Q is the MFF-SSIM index of ``variant`` ("paper" or "reference").
    The returned gradient is a new tensor; the object reuses work buffers, so it is not thread-safe.
    """

    def __init__(self, sources: torch.Tensor, focus_map: torch.Tensor, window: int, variant: str = "paper", *,
                 shift: float | None = None, count: int | None = None):
        # shift and count serve one tile of a larger frame (mffssim/band.py): the frame's shift (default:
        # the mean of these sources) and the frame's number of terms in Q (default: this image's; paper
        # variant only), so that Q and dQ/dY are the tile's share of the frame's.
        if count is not None and variant != "paper":
            raise ValueError("count: only the paper variant takes a frame's patch count")
        k, c, h, w = check_objective_inputs(self, sources, focus_map, window, variant)
        self.radius = self.window // 2
        # One shift for every image: window statistics are shift-invariant except the means, which get
        # it back; centred values keep float32 products and sums small on bright flat images.
        self.shift = float(sources.mean(dtype=torch.float64)) if shift is None else float(shift)
        self._count = count
        xc = (sources - self.shift).contiguous()
        fmap = focus_map.to(dtype=self.dtype, device=self.device)
        if variant == "paper":
            self._init_paper(xc, fmap)
        else:
            self._init_reference(xc, fmap)

    def _empty(self, *shape: int) -> torch.Tensor:
        return torch.empty(*shape, dtype=self.dtype, device=self.device)

    # --- paper variant: box window, joint colour patch, valid patches -------------------------------
    def _init_paper(self, xc: torch.Tensor, fmap: torch.Tensor) -> None:
        k, (c, h, w) = self.num_sources, self.shape
        win, r = self.window, self.radius
        n = c * win * win  # values per patch
        count = (h - win + 1) * (w - win + 1) if self._count is None else self._count  # P
        self._box = BoxSums(k + 2, h, w, win, self.device)
        # [1, y_c, x_c^1..x_c^K]: times y_c and summed over channels these give the maps whose window
        # sums are n * (mu_y, E[y^2], E[x^k y]) (centred); the gradient is a combination of them.
        self._stack = self._empty(k + 2, c, h, w)
        self._stack[0] = 1.0
        self._stack[2:] = xc
        self._maps = self._empty(k + 2, h, w)
        m = fmap[:, r : h - r, r : w - r].contiguous()  # m_ik: the map at the patch centre
        self._selection = sel = _Selection(m)
        sums = BoxSums(2 * k, h, w, win, self.device).valid(torch.cat([xc.sum(1), (xc * xc).sum(1)])) / n
        mux_c, exx = sel.pick(sums[:k]), sel.pick(sums[k:])
        self._mux64_c = mux_c.clone()
        self._windows = _Windows(mux_c, exx - mux_c * mux_c, self.shift, self.dtype)
        self._inv_n = 1.0 / n
        self._m = sel.pick(m)
        self._m_or_none = None if sel.one_hot else self._m  # one-hot: the picked weights are all 1
        self._inv_count = 1.0 / count
        self._weight = self._m * (2.0 / n / count)  # dQ/dSSIM times Eq. 13's 2/n
        self._cov64 = torch.empty_like(self._mux64_c)
        self._stats = self._empty(2 + len(self._m), h - win + 1, w - win + 1)
        self._coeff = self._empty(k + 2, h - win + 1, w - win + 1)
        self._back = self._empty(k + 2, h, w)

    def _paper(self, y: torch.Tensor, need_grad: bool):
        stack, maps = self._stack, self._maps
        c = self.shape[0]
        yc = torch.sub(y, self.shift, out=stack[1])
        torch.mul(stack[:, 0], yc[0], out=maps)  # [sum_c y, sum_c y^2, sum_c x^k y], centred
        for ch in range(1, c):
            maps.addcmul_(stack[:, ch], yc[ch])
        sums = self._box.valid(maps)  # float64, n times the window means
        exy = self._selection.pick(sums[2:], out=self._cov64).mul_(self._inv_n)
        muy_c, eyy = sums[0].mul_(self._inv_n), sums[1].mul_(self._inv_n)
        eyy.addcmul_(muy_c, muy_c, value=-1.0)  # var(y)
        exy.addcmul_(self._mux64_c, muy_c, value=-1.0)  # cov(x^k, y)
        stats = self._stats
        stats[0], stats[1], stats[2:] = muy_c, eyy, exy
        muy_c, vary, cov = stats[0], stats[1], stats[2:]
        ssim = self._windows.ssim(muy_c, vary, cov)
        q = self._windows.weighted_mean(self._m_or_none, ssim, self._inv_count)
        if not need_grad:
            return q, None
        alpha, beta, gamma = self._windows.coefficients(self._weight, muy_c)
        coeff = self._coeff
        torch.sum(alpha, 0, out=coeff[0])
        torch.sum(gamma, 0, out=coeff[1])
        self._selection.spread(beta, out=coeff[2:])
        back = self._back.copy_(self._box.full(coeff))  # each summed over the patches covering a pixel
        grad = torch.addcmul(back[0], back[1], yc)  # alpha + gamma * y_c + sum_k beta_k * x_c^k
        for i in range(2, len(back)):
            grad.addcmul_(back[i], stack[i])
        return q, grad

    # --- reference variant: Gaussian window per channel, reflect padding, clamp ---------------------
    def _init_reference(self, xc: torch.Tensor, fmap: torch.Tensor) -> None:
        k, (c, h, w) = self.num_sources, self.shape
        r = self.radius
        hp, wp = h + 2 * r, w + 2 * r
        self._gauss = GaussianSums((k + 2) * c, h, w, self.window, self.dtype, self.device)
        # [1, y_c, x_c^1..x_c^K], reflect-padded: times y_c these give the maps filtered into
        # (mu_y, E[y^2], E[x^k y]) (centred); the (padded) gradient is a combination of them.
        self._stack = self._empty(k + 2, c, hp, wp)
        self._stack[0] = 1.0
        reflect_pad_into(self._stack[2:], xc, r)
        self._prod = self._empty(k + 2, c, hp, wp)
        xp = self._stack[2:]
        m = fmap[:, None].expand(k, c, h, w).contiguous()  # the map at the window centre
        self._selection = sel = _Selection(m)
        stats = GaussianSums(2 * k * c, h, w, self.window, self.dtype, self.device).valid(torch.cat([xp, xp * xp]))
        stats = stats.view(2 * k, c, h, w)
        mux_c, exx = sel.pick(stats[:k]), sel.pick(stats[k:])
        self._windows = _Windows(mux_c, exx - mux_c * mux_c, self.shift, self.dtype)
        count = c * h * w
        self._m = sel.pick(m)
        self._m_or_none = None if sel.one_hot else self._m  # one-hot: the picked weights are all 1
        self._cov = torch.empty_like(self._m)
        self._inv_count = 1.0 / count
        self._weight = self._m * (2.0 / count)
        self._grad_padded = self._empty(c, hp, wp)

    def _reference(self, y: torch.Tensor, need_grad: bool):
        k, (c, h, w) = self.num_sources, self.shape
        stack, prod = self._stack, self._prod
        yp = reflect_pad_into(stack[1], y, self.radius).sub_(self.shift)
        torch.mul(stack, yp, out=prod)  # [y, y^2, x^k y], centred and padded
        stats = self._gauss.valid(prod).view(k + 2, c, h, w)
        muy_c, vary, cov = stats[0], stats[1], self._selection.pick(stats[2:], out=self._cov)
        vary.addcmul_(muy_c, muy_c, value=-1.0)
        cov.addcmul_(self._windows.mux_c, muy_c, value=-1.0)
        ssim = self._windows.ssim(muy_c, vary, cov)
        clamped, active = self._windows.clamp(ssim)
        q = self._windows.weighted_mean(self._m_or_none, clamped, self._inv_count)
        if not need_grad:
            return q, None
        alpha, beta, gamma = self._windows.coefficients(self._weight, muy_c, active)
        coeff = self._gauss.full_input.view(k + 2, c, h, w)
        torch.sum(alpha, 0, out=coeff[0])
        torch.sum(gamma, 0, out=coeff[1])
        self._selection.spread(beta, out=coeff[2:])
        back = self._gauss.full().view(k + 2, c, *yp.shape[-2:])  # summed over the windows covering a pixel
        grad = torch.addcmul(back[0], back[1], yp, out=self._grad_padded)
        for i in range(2, k + 2):
            grad.addcmul_(back[i], stack[i])
        return q, fold_reflect(grad, self.radius)

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
        evaluate = self._paper if self.variant == "paper" else self._reference
        return evaluate(fused.detach(), True)

    def value(self, fused: torch.Tensor) -> torch.Tensor:
        """Q (0-dim tensor) for the fused image ``fused`` (C, H, W)."""
        self._check_fused(fused)
        evaluate = self._paper if self.variant == "paper" else self._reference
        return evaluate(fused.detach(), False)[0]


def check_objective_inputs(objective, sources, focus_map, window, variant: str) -> tuple[int, int, int, int]:
    """Check an objective's arguments and set its ``window``, ``variant``, ``dtype``, ``device``, ``shape``
    (C, H, W) and ``num_sources``; returns (K, C, H, W). Shared by both engines, so they refuse alike."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    if not isinstance(sources, torch.Tensor) or sources.ndim != 4:
        raise ValueError(f"sources must be a (K, C, H, W) tensor, got {_describe(sources)}")
    if sources.dtype not in (torch.float32, torch.float64):
        raise ValueError(f"sources must be float32 or float64, got {sources.dtype}")
    k, c, h, w = sources.shape
    if k < 2:
        raise ValueError(f"sources: need K >= 2 source images, got K = {k}")
    if not isinstance(focus_map, torch.Tensor) or tuple(focus_map.shape) != (k, h, w):
        raise ValueError(f"focus_map must have shape {(k, h, w)} (K, H, W), got {_describe(focus_map)}")
    objective.window = check_window(window, h, w, name=f"{type(objective).__name__}: window")
    objective.variant = variant
    objective.dtype = sources.dtype
    objective.device = sources.device
    objective.shape = (c, h, w)
    objective.num_sources = k
    return k, c, h, w


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
    window = check_window(window, h, w)
    objective = MFFSSIMObjective(
        torch.from_numpy(np.ascontiguousarray(src.transpose(0, 3, 1, 2))),
        torch.from_numpy(fmap),
        window,
        variant,
    )
    return objective, _fused_tensor(fus)


def _fused_tensor(fused: np.ndarray) -> torch.Tensor:
    """A checked float64 (H, W, C) image as the objective's (C, H, W) tensor."""
    return torch.from_numpy(np.ascontiguousarray(fused.transpose(2, 0, 1)))


def mffssim_indexer(sources: np.ndarray, focus_map: np.ndarray, window: int, variant: str = "paper"):
    """``index(fused)``: :func:`mffssim_index` of ``fused`` against these ``sources`` and ``focus_map``, with the
    sources' terms (local statistics under the map) computed once here rather than for each fused image (a
    workflow job that scores many fused images of one set). Same arguments, checks and values."""
    objective, _ = _objective_from_arrays(sources, np.asarray(sources)[0], focus_map, window, variant)
    shape = tuple(np.shape(sources)[1:])

    def index(fused: np.ndarray) -> float:
        fus = _as_float_array(fused, "fused", 3, "(H, W, C)")
        if fus.shape != shape:
            raise ValueError(f"fused has shape {fus.shape}, the sources' images are {shape} (H, W, C)")
        return float(objective.value(_fused_tensor(fus)))

    return index


def mffssim_index(
    sources: np.ndarray, fused: np.ndarray, focus_map: np.ndarray, window: int, variant: str = "paper"
) -> float:
    """MFF-SSIM index Q of ``fused`` (H, W, C) against ``sources`` (K, H, W, C) and ``focus_map`` (K, H, W).

    Images are floats in [0, 1]; the map is one-hot or soft in [0, 1]; ``window`` is odd and fits in the
    image. Computed in float64. The variants are described in docs/method.md, section 2.

    Examples
    --------
    A fused image equal to the source the map selects everywhere scores 1; the other source scores less.

    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((2, 16, 16, 1))
    >>> m = np.stack([np.ones((16, 16)), np.zeros((16, 16))])
    >>> round(mffssim_index(x, x[0], m, 5), 6)
    1.0
    >>> round(mffssim_index(x, x[0], m, 5, variant="reference"), 6)
    1.0
    >>> round(mffssim_index(x, x[1], m, 5), 4)  # two unrelated noise images
    0.1053
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
