"""adam-cosine's step as one pass over the image, for the fused engine.

The torch optimiser step (mffssim/fusion.py: ``_Adam``) makes nine passes over the image (lerp, two
multiply-adds, clamp, square root, divide, add, addcdiv, clamp), each reading and writing whole frames: on a
600x440 colour image they took about as long as one fused evaluation of Q and dQ/dY. Here every pixel's
moments and value are updated at once, in float64 arithmetic, stored in the arrays' own dtype. Moments
smaller than the dtype's smallest normal number are stored as zero (subnormal numbers make the CPU's
arithmetic many times slower and change no step: eps is far larger).

Both kernels are serial: one step took 1.5 CPU-ms on a 600x440 colour float32 image, against 3.7 ms for the
torch step on one thread (measured side by side on a busy 2-core machine), and a parallel version measured
slower there.
"""
from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True, error_model="numpy")
def largest_magnitude(values: np.ndarray) -> float:  # pragma: no cover - compiled
    """max |values| over a flat array (0 when empty)."""
    top = 0.0
    for i in range(values.size):
        top = max(top, abs(np.float64(values[i])))
    return top


@numba.njit(cache=True, error_model="numpy")
def adam_step(y, grad, m, v, grad_scale, beta1, beta2, step_size, bias2_sqrt, eps, floor, tiny):  # pragma: no cover
    """One Adam step on flat arrays, in place: g = grad_scale * grad; m += (1 - beta1) (g - m);
    v = beta2 v + (1 - beta2) g^2; y = clip(y - step_size m / (sqrt(max(v, floor)) / bias2_sqrt + eps), 0, 1)."""
    for i in range(y.size):
        g = grad_scale * np.float64(grad[i])
        mi = np.float64(m[i])
        mi = mi + (1.0 - beta1) * (g - mi)
        vi = beta2 * np.float64(v[i]) + (1.0 - beta2) * g * g
        mi = mi if abs(mi) >= tiny else 0.0
        vi = vi if vi >= tiny else 0.0
        m[i] = mi
        v[i] = vi
        denom = math.sqrt(max(vi, floor)) / bias2_sqrt + eps
        y[i] = min(max(np.float64(y[i]) - step_size * mi / denom, 0.0), 1.0)
