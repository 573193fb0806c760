"""``FusedObjective``: the MFF-SSIM value Q and its gradient dQ/dY on the CPU by the fused numba kernels.

It has :class:`mffssim.ssim.MFFSSIMObjective`'s interface (torch tensors in and out, (C, H, W) images)
and its results to float64 round-off: the source-only window statistics are computed once here (in
float64, by the torch engine's window sums), and each evaluation is one call of a kernel that reads the
sources and the fused image once and writes the gradient once. Every intermediate is float64, so a
float32 image gives the float64 Q and gradient of its values (the gradient is returned in the image's
dtype).
"""
from __future__ import annotations

import numpy as np
import torch

from ..ssim import C2, BoxSums, GaussianSums, check_objective_inputs, gaussian_window, reflect_pad_into
from ._paper import paper_value_and_grad
from ._reference import reference_value_and_grad, reflect_weights

# rows per strip: the unit of work of a thread; a fixed partition, so results do not depend on the threads
STRIP_ROWS = 256


def _picks(m: torch.Tensor) -> tuple[np.ndarray, bool]:
    """One-hot maps (K, ..., n) -> (the selected source's index per position as int32 (rows, n), True);
    soft -> (empty, False)."""
    one_hot = bool((((m == 0) | (m == 1)).all() & (m.sum(0) == 1).all()).item())
    if not one_hot:
        return np.zeros((0, 0), dtype=np.int32), False
    index = _argmax0(m).astype(np.int32)
    return index.reshape(-1, index.shape[-1]), True


def _argmax0(m: torch.Tensor) -> np.ndarray:
    """argmax over the first axis, by numpy: torch's CPU argmax along a leading axis of a strided view took
    0.1 s on a 600x440 map, a quarter of a whole fused solve."""
    return np.argmax(m.numpy(), axis=0)


class FusedObjective:
    """Precomputes what depends only on the sources and the map; evaluates Q and dQ/dY with one kernel call.

    ``sources`` (K, C, H, W) and ``focus_map`` (K, H, W) are CPU tensors, float32 or float64, values in
    [0, 1]; fused images are (C, H, W) of the same dtype. ``variant`` is "paper" or "reference"
    (docs/method.md, section 2). The returned gradient is a new tensor.
    """

    def __init__(self, sources: torch.Tensor, focus_map: torch.Tensor, window: int, variant: str = "paper"):
        check_objective_inputs(self, sources, focus_map, window, variant)
        if self.device.type != "cpu":
            raise ValueError(f"sources: the fused engine runs on the CPU, got a tensor on {self.device}")
        self.shift = float(sources.mean(dtype=torch.float64))
        self._x = sources.contiguous().numpy()
        x64 = sources.to(torch.float64) - self.shift
        fmap = focus_map.to(torch.float64)
        if variant == "paper":
            self._init_paper(x64, fmap)
        else:
            self._init_reference(x64, fmap)

    def _init_paper(self, xc: torch.Tensor, fmap: torch.Tensor) -> None:
        k, (c, h, w) = self.num_sources, self.shape
        win, r = self.window, self.window // 2
        n = c * win * win
        count = (h - win + 1) * (w - win + 1)
        sums = BoxSums(2 * k, h, w, win).valid(torch.cat([xc.sum(1), (xc * xc).sum(1)])) / n
        mux_c, exx = sums[:k], sums[k:]
        m = fmap[:, r : h - r, r : w - r]
        self._set_picks(m, mux_c, exx - mux_c * mux_c)
        self._q_scale, self._g_scale = 1.0 / count, 2.0 / n / count

    def _init_reference(self, xc: torch.Tensor, fmap: torch.Tensor) -> None:
        k, (c, h, w) = self.num_sources, self.shape
        r = self.window // 2
        padded = reflect_pad_into(torch.empty(k, c, h + 2 * r, w + 2 * r, dtype=torch.float64), xc, r)
        stats = GaussianSums(2 * k * c, h, w, self.window, torch.float64).valid(torch.cat([padded, padded * padded]))
        stats = stats.view(2 * k, c, h, w)
        mux_c, exx = stats[:k], stats[k:]
        self._set_picks(fmap[:, None].expand(k, c, h, w), mux_c, exx - mux_c * mux_c)
        count = c * h * w
        self._q_scale, self._g_scale = 1.0 / count, 2.0 / count
        taps = gaussian_window(self.window).numpy()
        self._rows, self._cols = reflect_weights(taps, h), reflect_weights(taps, w)

    def _set_picks(self, m: torch.Tensor, mux_c: torch.Tensor, varx: torch.Tensor) -> None:
        """Per window: the selected source's statistics (one-hot maps) or every source's (soft maps)."""
        self._sel, one_hot = _picks(m)
        if one_hot:  # the picks, back in the map's shape, select each window's source statistics
            index = torch.from_numpy(self._sel.reshape((1, *m.shape[1:])).astype(np.int64))
            mux_c, varx = torch.gather(mux_c, 0, index), torch.gather(varx, 0, index)
            m = torch.ones_like(mux_c)
        # (picks, rows, n): the reference variant's channels stacked along the rows
        self._mux_c, self._varx_c2, self._m = (
            t.reshape(t.shape[0], -1, t.shape[-1]).contiguous().numpy() for t in (mux_c, varx + C2, m))

    def _evaluate(self, fused: torch.Tensor, need_grad: bool):
        if not isinstance(fused, torch.Tensor) or tuple(fused.shape) != self.shape:
            raise ValueError(f"fused must be a {self.shape} (C, H, W) tensor")
        if fused.dtype != self.dtype or fused.device != self.device:
            raise ValueError(f"fused is {fused.dtype} on {fused.device}; the objective works in {self.dtype} on cpu")
        y = fused.detach().contiguous().numpy()
        grad = np.empty(self.shape, dtype=y.dtype) if need_grad else np.empty((0, 0, 0), dtype=y.dtype)
        if self.variant == "paper":
            q = paper_value_and_grad(self._x, y, self.shift, self.window, self._sel, self._mux_c, self._varx_c2,
                                     self._m, self._q_scale, self._g_scale, STRIP_ROWS, need_grad, grad)
        else:
            q = reference_value_and_grad(self._x, y, self.shift, self._rows, self._cols, self._sel, self._mux_c,
                                         self._varx_c2, self._m, self._q_scale, self._g_scale, STRIP_ROWS,
                                         need_grad, grad)
        return torch.tensor(q, dtype=torch.float64), (torch.from_numpy(grad) if need_grad else None)

    @classmethod
    def compile(cls, variant: str, dtype: torch.dtype) -> None:
        """Compile (or load from numba's cache) the kernels of ``variant`` for images of ``dtype``, on a
        tiny problem: the same machine code serves every image size, K, C, W and map."""
        x = torch.linspace(0.0, 1.0, 2 * 7 * 7, dtype=dtype).reshape(2, 1, 7, 7)
        m = torch.stack([torch.ones(7, 7, dtype=dtype), torch.zeros(7, 7, dtype=dtype)])
        for focus_map in (m, torch.full_like(m, 0.5)):  # one-hot and soft maps
            objective = cls(x, focus_map, 3, variant)
            objective.value_and_grad(x.mean(0))
            objective.value(x.mean(0))

    def value_and_grad(self, fused: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Q (0-dim float64 tensor) and dQ/dY (C, H, W, the image's dtype) for ``fused`` (C, H, W)."""
        return self._evaluate(fused, True)

    def value(self, fused: torch.Tensor) -> torch.Tensor:
        """Q (0-dim float64 tensor) for ``fused`` (C, H, W)."""
        return self._evaluate(fused, False)[0]
