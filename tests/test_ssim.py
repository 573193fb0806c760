"""MFF-SSIM index and gradient: against a naive per-patch implementation and torch autograd.

The naive code below loops over patches (window centres) in float64, straight from Eq. 3-7, 11-14 and
docs/method.md's variant table; the autograd code is a plain differentiable torch version. Neither shares
code with mffssim.ssim.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from mffssim.ssim import MFFSSIMObjective, mffssim_gradient, mffssim_index, window_size

C1, C2 = 0.01**2, 0.03**2


# --------------------------------------------------------------------------------------------------
# Naive references (python loops over patches, float64)
# --------------------------------------------------------------------------------------------------
def _ssim_and_grad(x, y, weights):
    """SSIM of two patches under normalised ``weights`` (same shape) and its gradient w.r.t. y (Eq. 11-13)."""
    mux, muy = np.sum(weights * x), np.sum(weights * y)
    varx = np.sum(weights * (x - mux) ** 2)
    vary = np.sum(weights * (y - muy) ** 2)
    cov = np.sum(weights * (x - mux) * (y - muy))
    a1, a2 = 2 * mux * muy + C1, 2 * cov + C2
    b1, b2 = mux**2 + muy**2 + C1, varx + vary + C2
    d_muy = weights
    d_vary = 2 * weights * (y - muy)
    d_cov = weights * (x - mux)
    d_a1, d_a2, d_b1, d_b2 = 2 * mux * d_muy, 2 * d_cov, 2 * muy * d_muy, d_vary
    grad = (a2 * d_a1 + a1 * d_a2) / (b1 * b2) - a1 * a2 * (b2 * d_b1 + b1 * d_b2) / (b1 * b2) ** 2
    return a1 * a2 / (b1 * b2), grad


def naive_paper(sources, fused, fmap, w):
    """Q and dQ/dY of the paper variant: uniform window, joint C*W^2 patch, valid patches, m at the centre."""
    k_count, h, wd, c = sources.shape
    r = w // 2
    weights = np.full((w, w, c), 1.0 / (c * w * w))
    q, grad, patches = 0.0, np.zeros_like(fused), 0
    for a in range(h - w + 1):
        for b in range(wd - w + 1):
            patches += 1
            y = fused[a : a + w, b : b + w]
            for k in range(k_count):
                s, g = _ssim_and_grad(sources[k, a : a + w, b : b + w], y, weights)
                q += fmap[k, a + r, b + r] * s
                grad[a : a + w, b : b + w] += fmap[k, a + r, b + r] * g
    return q / patches, grad / patches


def naive_paper_eq14(sources, fused, fmap, w):
    """dQ/dY of the paper variant written as Eq. 14 and Eq. 10 (R_i^T as a scatter-add)."""
    k_count, h, wd, c = sources.shape
    r, n = w // 2, c * w * w
    grad, patches = np.zeros_like(fused), (h - w + 1) * (wd - w + 1)
    for a in range(h - w + 1):
        for b in range(wd - w + 1):
            y = fused[a : a + w, b : b + w]
            muy, vary = y.mean(), y.var()
            for k in range(k_count):
                x = sources[k, a : a + w, b : b + w]
                mux, varx = x.mean(), x.var()
                cov = np.mean((x - mux) * (y - muy))
                a1, a2 = 2 * mux * muy + C1, 2 * cov + C2
                b1, b2 = mux**2 + muy**2 + C1, varx + vary + C2
                term = (mux * a2 + a1 * (x - mux)) / (b1 * b2) - a1 * a2 * (muy * b2 + b1 * (y - muy)) / (
                    b1**2 * b2**2
                )
                grad[a : a + w, b : b + w] += 2.0 / n * fmap[k, a + r, b + r] * term
    return grad / patches


def _gaussian_2d(w, sigma=1.5):
    offsets = np.arange(w) - w // 2
    g = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * sigma**2))
    return g / g.sum()


def naive_reference(sources, fused, fmap, w):
    """Q and dQ/dY of the reference variant: Gaussian window per channel, reflect border, clamp to [0, 1]."""
    k_count, h, wd, c = sources.shape
    r = w // 2
    weights = _gaussian_2d(w)
    rows = np.pad(np.arange(h), r, mode="reflect")  # padded index -> pixel it mirrors
    cols = np.pad(np.arange(wd), r, mode="reflect")
    xp = sources[:, rows][:, :, cols]
    yp = fused[rows][:, cols]
    q, grad_padded = 0.0, np.zeros_like(yp)
    for i in range(h):
        for j in range(wd):
            for ch in range(c):
                y = yp[i : i + w, j : j + w, ch]
                for k in range(k_count):
                    s, g = _ssim_and_grad(xp[k, i : i + w, j : j + w, ch], y, weights)
                    q += fmap[k, i, j] * min(max(s, 0.0), 1.0)
                    if 0.0 <= s <= 1.0:  # the clamp passes no gradient outside [0, 1]
                        grad_padded[i : i + w, j : j + w, ch] += fmap[k, i, j] * g
    grad = np.zeros_like(fused)
    np.add.at(grad, (rows[:, None], cols[None, :]), grad_padded)  # each padded pixel onto its mirror
    count = h * wd * c
    return q / count, grad / count


# --------------------------------------------------------------------------------------------------
# Plain differentiable torch versions (autograd gives the gradient)
# --------------------------------------------------------------------------------------------------
def autograd_paper(sources, fused, fmap, w):
    x = torch.from_numpy(sources).permute(0, 3, 1, 2)  # (K, C, H, W)
    y = torch.from_numpy(fused).permute(2, 0, 1).clone().requires_grad_(True)
    r = w // 2
    xs = F.unfold(x, w)  # (K, C*w*w, P)
    ys = F.unfold(y[None], w)  # (1, C*w*w, P)
    mux, muy = xs.mean(1), ys.mean(1)
    varx = ((xs - mux[:, None]) ** 2).mean(1)
    vary = ((ys - muy[:, None]) ** 2).mean(1)
    cov = ((xs - mux[:, None]) * (ys - muy[:, None])).mean(1)
    ssim = (2 * mux * muy + C1) * (2 * cov + C2) / ((mux**2 + muy**2 + C1) * (varx + vary + C2))
    m = torch.from_numpy(fmap)[:, r : fmap.shape[1] - r, r : fmap.shape[2] - r].reshape(len(fmap), -1)
    q = (m * ssim).sum() / ssim.shape[1]
    q.backward()
    return q.item(), y.grad.permute(1, 2, 0).numpy()


def autograd_reference(sources, fused, fmap, w):
    k_count, h, wd, c = sources.shape
    r = w // 2
    x = torch.from_numpy(sources).permute(0, 3, 1, 2)
    y = torch.from_numpy(fused).permute(2, 0, 1).clone().requires_grad_(True)
    kernel = torch.from_numpy(_gaussian_2d(w)).expand(c, 1, w, w)

    def blur(t):  # (N, C, H, W) -> reflect pad + Gaussian per channel
        return F.conv2d(F.pad(t, (r, r, r, r), mode="reflect"), kernel, groups=c)

    yb = y[None].expand(k_count, c, h, wd)
    mux, muy = blur(x), blur(yb)
    varx = blur(x * x) - mux**2
    vary = blur(yb * yb) - muy**2
    cov = blur(x * yb) - mux * muy
    ssim = (2 * mux * muy + C1) * (2 * cov + C2) / ((mux**2 + muy**2 + C1) * (varx + vary + C2))
    m = torch.from_numpy(fmap)[:, None]
    q = (m * ssim.clamp(0, 1)).sum(0).mean()
    q.backward()
    return q.item(), y.grad.permute(1, 2, 0).numpy()


# --------------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------------
def make_case(k, h, w, c, soft, seed):
    """Random sources, a fused image near their mean and a one-hot or soft map, float64 in [0, 1]."""
    rng = np.random.default_rng(seed)
    base = rng.random((h, w, c))
    sources = np.clip(base + 0.3 * rng.standard_normal((k, h, w, c)), 0, 1)
    fused = np.clip(sources.mean(0) + 0.05 * rng.standard_normal((h, w, c)), 0, 1)
    if soft:
        fmap = rng.random((k, h, w))
        fmap /= fmap.sum(0)
    else:
        fmap = np.eye(k)[rng.integers(0, k, (h, w))].transpose(2, 0, 1)
    return sources, fused, fmap


CASES = [
    pytest.param(k, h, w, c, soft, win, id=f"K{k}-{h}x{w}x{c}-{'soft' if soft else 'onehot'}-W{win}")
    for k in (2, 3)
    for (h, w, win) in ((9, 11, 3), (10, 12, 5))
    for c in (1, 3)
    for soft in (False, True)
]


def assert_close(actual, expected, rtol=1e-5):
    scale = np.abs(expected).max()
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * 1e-2 * scale)


@pytest.mark.parametrize("k,h,w,c,soft,win", CASES)
def test_paper_matches_naive_and_autograd(k, h, w, c, soft, win):
    sources, fused, fmap = make_case(k, h, w, c, soft, seed=k * 1000 + h * 100 + c * 10 + win + soft)
    q, grad = mffssim_gradient(sources, fused, fmap, win, "paper")
    q_naive, grad_naive = naive_paper(sources, fused, fmap, win)
    assert q == pytest.approx(q_naive, rel=1e-5, abs=1e-12)
    assert mffssim_index(sources, fused, fmap, win, "paper") == pytest.approx(q_naive, rel=1e-5, abs=1e-12)
    assert_close(grad, grad_naive)
    assert_close(grad, naive_paper_eq14(sources, fused, fmap, win))
    q_auto, grad_auto = autograd_paper(sources, fused, fmap, win)
    assert q == pytest.approx(q_auto, rel=1e-5, abs=1e-12)
    assert_close(grad, grad_auto)


@pytest.mark.parametrize("k,h,w,c,soft,win", CASES)
def test_reference_matches_naive_and_autograd(k, h, w, c, soft, win):
    sources, fused, fmap = make_case(k, h, w, c, soft, seed=k * 1000 + h * 100 + c * 10 + win + soft)
    q, grad = mffssim_gradient(sources, fused, fmap, win, "reference")
    q_naive, grad_naive = naive_reference(sources, fused, fmap, win)
    assert q == pytest.approx(q_naive, rel=1e-5, abs=1e-12)
    assert mffssim_index(sources, fused, fmap, win, "reference") == pytest.approx(q_naive, rel=1e-5, abs=1e-12)
    assert_close(grad, grad_naive)
    q_auto, grad_auto = autograd_reference(sources, fused, fmap, win)
    assert q == pytest.approx(q_auto, rel=1e-5, abs=1e-12)
    assert_close(grad, grad_auto)


def test_cases_exercise_negative_and_clamped_ssim():
    """The random cases above must reach SSIM < 0, or the clamp and 'SSIM < 0 kept' go untested."""
    sources, fused, fmap = make_case(2, 10, 12, 3, False, seed=1)
    x = torch.from_numpy(sources).permute(0, 3, 1, 2)
    y = torch.from_numpy(fused).permute(2, 0, 1)
    objective = MFFSSIMObjective(x, torch.from_numpy(fmap), 3, "reference")
    objective.value(y)
    assert (objective._windows._ws["ssim"] < 0).any()
    assert (objective._windows._ws["ssim"] > 0).any()


@pytest.mark.parametrize("variant", ["paper", "reference"])
def test_window_of_one_and_whole_image(variant):
    sources, fused, fmap = make_case(2, 7, 9, 3, True, seed=5)
    for win in (1, 7):
        q, grad = mffssim_gradient(sources, fused, fmap, win, variant)
        naive = naive_paper if variant == "paper" else naive_reference
        q_naive, grad_naive = naive(sources, fused, fmap, win)
        assert q == pytest.approx(q_naive, rel=1e-5, abs=1e-12)
        assert_close(grad, grad_naive)


@pytest.mark.parametrize("variant", ["paper", "reference"])
def test_perfect_fusion_is_the_maximum(variant):
    """Y equal to the in-focus source everywhere the map says: Q = 1 and the gradient vanishes."""
    rng = np.random.default_rng(3)
    sources = rng.random((2, 16, 16, 3))
    fmap = np.stack([np.ones((16, 16)), np.zeros((16, 16))])
    q, grad = mffssim_gradient(sources, sources[0], fmap, 5, variant)
    assert q == pytest.approx(1.0, abs=1e-12)
    assert np.abs(grad).max() < 1e-12


@pytest.mark.parametrize("variant", ["paper", "reference"])
def test_gradient_matches_finite_differences(variant):
    sources, fused, fmap = make_case(3, 12, 13, 3, True, seed=11)
    _, grad = mffssim_gradient(sources, fused, fmap, 5, variant)
    rng = np.random.default_rng(0)
    eps = 1e-6
    for _ in range(5):
        idx = tuple(int(rng.integers(0, n)) for n in fused.shape)
        up, down = fused.copy(), fused.copy()
        up[idx] += eps
        down[idx] -= eps
        fd = (mffssim_index(sources, up, fmap, 5, variant) - mffssim_index(sources, down, fmap, 5, variant)) / (2 * eps)
        assert grad[idx] == pytest.approx(fd, rel=1e-5, abs=1e-9)


# --------------------------------------------------------------------------------------------------
# The torch objective: buffers, dtypes, devices
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["paper", "reference"])
def test_objective_reuses_buffers_safely(variant):
    sources, fused, fmap = make_case(2, 20, 24, 3, False, seed=7)
    x = torch.from_numpy(sources).permute(0, 3, 1, 2)
    y1 = torch.from_numpy(fused).permute(2, 0, 1).contiguous()
    y2 = (y1 * 0.9 + 0.05).contiguous()
    objective = MFFSSIMObjective(x, torch.from_numpy(fmap), 5, variant)
    q1, g1 = objective.value_and_grad(y1)
    kept = g1.clone()
    q2, g2 = objective.value_and_grad(y2)
    assert torch.equal(g1, kept)  # the first gradient is not overwritten by the second call
    assert not torch.equal(g1, g2)
    q1_again, g1_again = objective.value_and_grad(y1)
    assert float(q1_again) == float(q1) and torch.equal(g1_again, g1)
    assert float(objective.value(y2)) == float(q2)
    assert g1.shape == y1.shape and g1.dtype == y1.dtype


@pytest.mark.parametrize("variant", ["paper", "reference"])
def test_float32_matches_float64(variant):
    sources, fused, fmap = make_case(2, 40, 48, 3, False, seed=8)
    results = {}
    for dtype in (torch.float32, torch.float64):
        x = torch.from_numpy(sources).permute(0, 3, 1, 2).to(dtype)
        y = torch.from_numpy(fused).permute(2, 0, 1).to(dtype).contiguous()
        q, g = MFFSSIMObjective(x, torch.from_numpy(fmap).to(dtype), 7, variant).value_and_grad(y)
        assert q.dtype == dtype and g.dtype == dtype
        results[dtype] = (float(q), g.double())
    (q32, g32), (q64, g64) = results[torch.float32], results[torch.float64]
    assert q32 == pytest.approx(q64, rel=1e-5)
    assert float((g32 - g64).abs().max()) < 1e-4 * float(g64.abs().max())


def nearly_flat_pair(size, seed):
    """Two bright, nearly flat sources (a faint texture on 0.8), one blurred on each half."""
    rng = np.random.default_rng(seed)
    texture = torch.from_numpy(rng.standard_normal((1, 1, size, size)))
    texture = F.avg_pool2d(texture, 5, stride=1, padding=2)  # smooth it a little
    sharp = 0.8 + 0.02 * texture[0, 0] / texture.abs().max()
    blurred = F.avg_pool2d(sharp[None, None], 9, stride=1, padding=4, count_include_pad=False)[0, 0]
    left = torch.zeros(size, size, dtype=torch.bool)
    left[:, : size // 2] = True
    s1 = torch.where(left, blurred, sharp)
    s2 = torch.where(left, sharp, blurred)
    sources = torch.stack([s1, s2])[:, None]  # (2, 1, H, W)
    fmap = torch.stack([~left, left]).double()
    return sources, fmap


@pytest.mark.parametrize("variant,size", [("paper", 1024), ("reference", 512)])
def test_float32_accurate_on_large_flat_image(variant, size):
    """Running float32 sums of x^2 over a megapixel would swamp the faint texture's variance; the shift and
    float64 sums keep it."""
    sources, fmap = nearly_flat_pair(size, seed=2)
    fused = sources.mean(0)
    out = {}
    for dtype in (torch.float32, torch.float64):
        objective = MFFSSIMObjective(sources.to(dtype), fmap.to(dtype), 13, variant)
        q, g = objective.value_and_grad(fused.to(dtype))
        out[dtype] = (float(q), g.double())
    (q32, g32), (q64, g64) = out[torch.float32], out[torch.float64]
    assert 0.0 < q64 < 0.999  # the texture is visible to the index: not a trivially flat case
    assert q32 == pytest.approx(q64, rel=1e-5)
    assert float((g32 - g64).abs().max()) < 1e-3 * float(g64.abs().max())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("variant", ["paper", "reference"])
def test_cuda_matches_cpu(variant):
    sources, fused, fmap = make_case(2, 40, 48, 3, True, seed=9)
    x = torch.from_numpy(sources).permute(0, 3, 1, 2).contiguous()
    y = torch.from_numpy(fused).permute(2, 0, 1).contiguous()
    m = torch.from_numpy(fmap)
    q_cpu, g_cpu = MFFSSIMObjective(x, m, 7, variant).value_and_grad(y)
    q_gpu, g_gpu = MFFSSIMObjective(x.cuda(), m.cuda(), 7, variant).value_and_grad(y.cuda())
    assert g_gpu.is_cuda
    assert float(q_gpu) == pytest.approx(float(q_cpu), rel=1e-10)
    assert torch.allclose(g_gpu.cpu(), g_cpu, rtol=1e-8, atol=1e-12)


# --------------------------------------------------------------------------------------------------
# window_size
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "height,width,kwargs,expected",
    [
        (432, 624, {}, 13),
        (624, 432, {}, 13),
        (568, 868, {}, 25),
        (520, 520, {}, 13),  # 13.52 -> 2*6+1
        (100, 100, {}, 3),  # floor(0.25) = 0 -> at least 3
        (2000, 2000, {}, 25),  # capped
        (2000, 2000, {"cap": None}, 201),
        (2000, 2000, {"cap": 101}, 101),
        (432, 624, {"ratio": 1.5e-5}, 5),
        (432, 624, {"ratio": 9.5e-5}, 25),
    ],
)
def test_window_size(height, width, kwargs, expected):
    assert window_size(height, width, **kwargs) == expected


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 5000),
    st.integers(1, 5000),
    st.floats(1e-7, 1e-3),
    st.one_of(st.none(), st.integers(1, 60).map(lambda i: 2 * i + 1)),
)
def test_window_size_is_odd_and_bounded(height, width, ratio, cap):
    size = window_size(height, width, ratio=ratio, cap=cap)
    assert size % 2 == 1 and size >= 3
    assert cap is None or size <= cap
    assert size == min(max(2 * math.floor(ratio * height * width / 2) + 1, 3), cap or size)


@pytest.mark.parametrize(
    "args,kwargs,message",
    [
        ((0, 10), {}, "height"),
        ((10, -1), {}, "width"),
        ((10.5, 10), {}, "height"),
        ((10, 10), {"ratio": 0}, "ratio"),
        ((10, 10), {"ratio": float("nan")}, "ratio"),
        ((10, 10), {"cap": 24}, "cap"),
        ((10, 10), {"cap": 1}, "cap"),
    ],
)
def test_window_size_errors(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        window_size(*args, **kwargs)


# --------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------
def _good():
    return make_case(2, 10, 12, 3, False, seed=0)


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda s, y, m, w: (s[0], y, m, w), r"sources must be a 4-D array \(K, H, W, C\)"),
        (lambda s, y, m, w: (s[:1], y, m[:1], w), "K >= 2"),
        (lambda s, y, m, w: (s, y[..., :1], m, w), "fused has shape"),
        (lambda s, y, m, w: (s, y[:, :, 0], m, w), "fused must be a 3-D array"),
        (lambda s, y, m, w: (s, y, m[:, :9], w), "focus_map has shape"),
        (lambda s, y, m, w: (s, y, m[:1], w), "focus_map has shape"),
        (lambda s, y, m, w: (s, y, m * 2, w), r"focus_map must lie in \[0, 1\]"),
        (lambda s, y, m, w: (s * 2, y, m, w), r"sources must lie in \[0, 1\]"),
        (lambda s, y, m, w: (s, np.full_like(y, np.nan), m, w), "fused holds NaN"),
        (lambda s, y, m, w: (s, y, m, 4), "odd"),
        (lambda s, y, m, w: (s, y, m, 0), "odd"),
        (lambda s, y, m, w: (s, y, m, 3.0), "odd"),
        (lambda s, y, m, w: (s, y, m, 11), "larger than the 12x10 image"),
    ],
)
@pytest.mark.parametrize("function", [mffssim_index, mffssim_gradient])
def test_bad_input_raises_clear_errors(change, message, function):
    sources, fused, fmap = _good()
    with pytest.raises(ValueError, match=message):
        function(*change(sources, fused, fmap, 3))


def test_bad_variant():
    sources, fused, fmap = _good()
    with pytest.raises(ValueError, match="variant"):
        mffssim_index(sources, fused, fmap, 3, variant="matlab")


def test_objective_rejects_bad_tensors():
    x = torch.rand(2, 3, 10, 12)
    m = torch.rand(2, 10, 12)
    with pytest.raises(ValueError, match=r"\(K, C, H, W\)"):
        MFFSSIMObjective(x[0], m, 3)
    with pytest.raises(ValueError, match="focus_map"):
        MFFSSIMObjective(x, m[:, :5], 3)
    with pytest.raises(ValueError, match="float32 or float64"):
        MFFSSIMObjective(x.half(), m, 3)
    objective = MFFSSIMObjective(x, m, 3)
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        objective.value(torch.rand(3, 10, 11))
    with pytest.raises(ValueError, match="float64"):
        objective.value_and_grad(torch.rand(3, 10, 12, dtype=torch.float64))


@pytest.mark.parametrize("variant", ["paper", "reference"])
def test_indexer_equals_mffssim_index(variant):
    """mffssim_indexer (the sources' terms made once, as a metrics job scoring a set's images uses it) gives
    mffssim_index's values for several fused images, and names a fused image of the wrong shape."""
    from mffssim.ssim import mffssim_indexer

    rng = np.random.default_rng(3)
    sources = rng.random((2, 20, 24, 3))
    first = (rng.random((20, 24)) > 0.5).astype(np.float64)
    focus_map = np.stack([first, 1 - first])
    index = mffssim_indexer(sources, focus_map, 5, variant)
    for w in (0.2, 0.5, 0.9):
        fused = w * sources[0] + (1 - w) * sources[1]
        assert index(fused) == mffssim_index(sources, fused, focus_map, 5, variant)
    with pytest.raises(ValueError, match="fused has shape"):
        index(sources[0][:, :-1])
