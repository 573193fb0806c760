"""fuse (Algorithm 1 and its optimisers) and the pixel-wise / average baselines, on tiny images."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from mffssim.focus import laplacian_focus_map
from mffssim.fusion import FusionResult, average_fuse, fuse, pixelwise_fuse
from mffssim.ssim import MFFSSIMObjective, mffssim_index

WINDOW = 5


# Tiny images run faster on one torch thread (conftest.py).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _pair(channels=3, count=2, h=20, w=24, seed=0):
    """``count`` sources of a random texture, source k sharp on the k-th vertical band, blurred elsewhere."""
    rng = np.random.default_rng(seed)
    sharp = ndimage.gaussian_filter(rng.random((h, w, channels)), (0.7, 0.7, 0))
    blurred = ndimage.gaussian_filter(sharp, (2.0, 2.0, 0), mode="mirror")
    sources = np.stack([blurred] * count)
    bands = np.array_split(np.arange(w), count)
    for k, cols in enumerate(bands):
        sources[k][:, cols] = sharp[:, cols]
    return np.clip(sources, 0, 1).astype(np.float32), sharp.astype(np.float32)


def _objective(sources, fmap, variant="paper", dtype=torch.float32):
    x = torch.from_numpy(sources).permute(0, 3, 1, 2).to(dtype).contiguous()
    return MFFSSIMObjective(x, torch.from_numpy(fmap).to(dtype), WINDOW, variant)


@pytest.mark.parametrize("variant", ["paper", "reference"])
def test_default_fuse_improves_q_nearly_monotonically(variant):
    sources, _ = _pair()
    result = fuse(sources, window=WINDOW, variant=variant, iterations=40, tol=None, init="mean", device="cpu")
    assert isinstance(result, FusionResult)
    assert result.image.shape == (20, 24, 3) and result.image.dtype == np.float32
    assert result.focus_map.shape == (2, 20, 24) and result.window == WINDOW
    assert result.iterations == 40 and len(result.trace) == 41 and not result.stopped_early
    trace = result.trace
    assert trace[-1] > trace[0] + 0.01
    # "monotonic-ish": Adam's large first steps may overshoot a little, the decay then settles at the top
    assert np.max(trace[:-1] - trace[1:]) < 0.01
    assert trace[-1] >= trace.max() - 1e-5
    assert np.all(np.diff(trace[20:]) >= -1e-6)
    # trace[0] is Q of the mean image, trace[-1] Q of the returned image, as mffssim_index computes them
    fmap = laplacian_focus_map(sources, WINDOW)
    np.testing.assert_array_equal(result.focus_map, fmap)
    q0 = mffssim_index(sources, average_fuse(sources), fmap, WINDOW, variant=variant)
    q_end = mffssim_index(sources, result.image, fmap, WINDOW, variant=variant)
    assert trace[0] == pytest.approx(q0, abs=1e-5)
    assert trace[-1] == pytest.approx(q_end, abs=1e-5)


def test_output_is_clamped_to_the_unit_box():
    # saturated sources: the unconstrained optimum leaves [0, 1], so the clamp is active
    sources, _ = _pair(seed=1)
    sources = np.clip((sources - 0.5) * 6 + 0.5, 0, 1).astype(np.float32)
    for optimizer, lr in [("adam-cosine", 0.2), ("adam", 0.1), ("gd", 1e4)]:
        result = fuse(sources, window=WINDOW, optimizer=optimizer, lr=lr, iterations=15, tol=None, device="cpu")
        assert result.image.min() >= 0.0 and result.image.max() <= 1.0
        assert np.any(result.image == 0.0) and np.any(result.image == 1.0), optimizer


@pytest.mark.parametrize("variant,dtype", [("paper", "float32"), ("reference", "float64")])
def test_adam_equals_a_torch_adam_loop_on_the_closed_form_gradient(variant, dtype):
    sources, _ = _pair(seed=2)
    fmap = laplacian_focus_map(sources, WINDOW)
    iterations = 25
    result = fuse(sources, fmap, window=WINDOW, variant=variant, optimizer="adam", lr=1e-3,
                  iterations=iterations, tol=None, init="mean", keep="last", device="cpu", dtype=dtype,
                  engine="torch")
    # the authors' loop: loss (1 - Q)/2 through the closed-form gradient, torch.optim.Adam, clamp
    torch_dtype = getattr(torch, dtype)
    objective = _objective(sources, fmap, variant, torch_dtype)
    y = torch.from_numpy(average_fuse(sources)).permute(2, 0, 1).to(torch_dtype).contiguous()
    adam = torch.optim.Adam([y], lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    trace = []
    for _ in range(iterations):
        q, grad = objective.value_and_grad(y)
        trace.append(float(q))
        y.grad = -0.5 * grad
        adam.step()
        with torch.no_grad():
            y.clamp_(0, 1)
    trace.append(float(objective.value(y)))
    # bit-identical: the same operations in the same order
    np.testing.assert_array_equal(result.trace, trace)
    np.testing.assert_array_equal(result.image, y.permute(1, 2, 0).numpy().astype(np.float32))


def test_adam_follows_the_adam_formula_with_bias_correction():
    # one step of Adam from zero moments moves every pixel by lr * sign(-dL/dY) (bias correction)
    sources, _ = _pair(seed=3)
    fmap = laplacian_focus_map(sources, WINDOW)
    start = average_fuse(sources)
    _, grad = _objective(sources, fmap, dtype=torch.float64).value_and_grad(
        torch.from_numpy(start).permute(2, 0, 1).double().contiguous()
    )
    grad = grad.permute(1, 2, 0).numpy()
    result = fuse(sources, fmap, window=WINDOW, optimizer="adam", lr=1e-3, iterations=1, tol=None,
                  init="mean", keep="last", device="cpu", dtype="float64")
    g = -0.5 * grad  # dL/dY
    expected = np.clip(start - 1e-3 * g / (np.abs(g) + 1e-8), 0, 1)
    np.testing.assert_allclose(result.image, expected, atol=1e-7)


def test_gd_is_algorithm_1_literally():
    sources, _ = _pair(seed=4)
    fmap = laplacian_focus_map(sources, WINDOW)
    start = average_fuse(sources)
    _, grad = _objective(sources, fmap, dtype=torch.float64).value_and_grad(
        torch.from_numpy(start).permute(2, 0, 1).double().contiguous()
    )
    grad = grad.permute(1, 2, 0).numpy()
    lr = 0.01 / np.abs(grad).max()  # the largest pixel moves by 0.01
    result = fuse(sources, fmap, window=WINDOW, optimizer="gd", lr=lr, iterations=1, tol=None,
                  init="mean", device="cpu", dtype="float64")
    np.testing.assert_allclose(result.image, np.clip(start + lr * grad, 0, 1), atol=1e-7)
    assert result.trace[1] > result.trace[0]
    # the paper's beta = 1e-3 barely moves Y: the per-pixel gradient of a mean over P patches is O(1/P)
    paper = fuse(sources, fmap, window=WINDOW, optimizer="gd", lr=1e-3, iterations=5, tol=None, init="mean",
                 device="cpu")
    assert np.max(np.abs(paper.image - start)) < 1e-3


def test_tol_stops_early_and_none_runs_every_iteration():
    sources, _ = _pair(seed=5)
    stopped = fuse(sources, window=WINDOW, optimizer="adam", iterations=500, tol=1.0, init="mean", device="cpu")
    # the stop is first tested after two windows of iterates (MIN_STOP_ITERATION)
    assert stopped.stopped_early and stopped.iterations == 20 and len(stopped.trace) == 21
    full = fuse(sources, window=WINDOW, optimizer="adam", iterations=30, tol=None, device="cpu")
    assert not full.stopped_early and full.iterations == 30
    # a realistic tol stops once Q has flattened, not before it has risen
    converged = fuse(sources, window=WINDOW, iterations=200, tol=1e-5, init="mean", device="cpu")
    assert converged.stopped_early and 20 <= converged.iterations < 200
    assert converged.q > converged.trace[0] + 0.01


def test_three_sources():
    sources, sharp = _pair(count=3, w=30, seed=6)
    result = fuse(sources, window=WINDOW, iterations=40, tol=None, device="cpu")
    assert result.focus_map.shape == (3, 20, 30)
    assert result.trace[-1] > result.trace[0]
    # the fused image is closer to the all-sharp image than the mean of the sources is
    assert np.abs(result.image - sharp).mean() < np.abs(average_fuse(sources) - sharp).mean()


@pytest.mark.parametrize("gray_shape", ["KHW", "KHW1"])
def test_gray_sources(gray_shape):
    sources, _ = _pair(channels=1, seed=7)
    if gray_shape == "KHW":
        sources = sources[..., 0]
    result = fuse(sources, window=WINDOW, iterations=20, tol=None, device="cpu")
    assert result.image.shape == (20, 24, 1)
    assert result.trace[-1] > result.trace[0]


def test_init_options():
    sources, _ = _pair(seed=8)
    fmap = laplacian_focus_map(sources, WINDOW)
    pixelwise = fuse(sources, fmap, window=WINDOW, init="pixelwise", iterations=0, device="cpu")
    np.testing.assert_array_equal(pixelwise.image, pixelwise_fuse(sources, fmap))
    assert pixelwise.iterations == 0 and len(pixelwise.trace) == 1
    given = fuse(sources, fmap, window=WINDOW, init=sources[0], iterations=0, device="cpu")
    np.testing.assert_array_equal(given.image, sources[0])


def test_pixelwise_and_average_fuse():
    sources, _ = _pair(count=3, w=30, seed=9)
    labels = np.random.default_rng(0).integers(0, 3, size=(20, 30))
    fmap = (labels[None] == np.arange(3)[:, None, None]).astype(np.float32)
    fused = pixelwise_fuse(sources, fmap)
    expected = np.take_along_axis(sources, labels[None, :, :, None], axis=0)[0]
    np.testing.assert_allclose(fused, expected, atol=1e-7)
    np.testing.assert_allclose(average_fuse(sources), sources.mean(0), atol=1e-7)
    soft = np.full((3, 20, 30), 1 / 3, np.float32)
    np.testing.assert_allclose(pixelwise_fuse(sources, soft), sources.mean(0), atol=1e-6)


def test_bad_arguments_raise_clear_errors():
    sources, _ = _pair()
    cases = [
        (dict(sources=sources[:1]), "K >= 2"),
        (dict(window=4), "odd positive"),
        (dict(window=25), "larger than"),
        (dict(focus_map=np.ones((2, 5, 5))), "focus_map"),
        (dict(detector="resnet"), "resnet"),
        (dict(detector="sobel"), "detector"),
        (dict(optimizer="sgd"), "optimizer"),
        (dict(variant="matlab"), "variant"),
        (dict(init="zeros"), "init"),
        (dict(iterations=-1), "iterations"),
        (dict(lr=0.0), "lr"),
        (dict(tol=-1.0), "tol"),
        (dict(device="tpu"), "device"),
        (dict(sources=sources * 2), r"\[0, 1\]"),
    ]
    for kwargs, message in cases:
        args = {"sources": sources, "iterations": 1, "device": "cpu", **kwargs}
        with pytest.raises(ValueError, match=message):
            fuse(args.pop("sources"), **args)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            fuse(sources, window=WINDOW, iterations=1, device="cuda")


def _smooth_mild_pair():
    """A smooth scene with mild defocus (like NYU-D-100's nyud_017): the mean of the sources already has a
    high Q, and adam-cosine's first large steps (each pixel moves by about lr) fall below it for 10+ steps."""
    from skimage import data, transform

    from mffssim.defocus import defocus_pair

    image = transform.resize(data.astronaut(), (64, 64), anti_aliasing=True).astype(np.float32)
    image = ndimage.gaussian_filter(image, (3.0, 3.0, 0))
    yy, xx = np.mgrid[:64, :64]
    alpha = (((yy - 32) ** 2 + (xx - 32) ** 2) < 16**2).astype(np.float32)
    source_1, source_2, _ = defocus_pair(image, alpha, 1.0)
    return np.clip(np.stack([source_1, source_2]), 0, 1).astype(np.float32), image


def test_early_stop_waits_for_recovery_and_never_returns_a_worse_image():
    # a regression of an earlier default (Adam's fixed eps, lr 2e-2, tol 1e-6): it stopped at step 10 (best Q
    # so far = the start's) and returned the overshot last iterate, Q 0.9959 below the mean image's 0.9993
    sources, sharp = _smooth_mild_pair()
    fmap = laplacian_focus_map(sources, 7)
    options = dict(window=7, init="mean", optimizer="adam", lr=0.02, iterations=100, device="cpu")
    result = fuse(sources, fmap, tol=1e-6, **options)
    assert result.trace[1:11].max() < result.trace[0]  # the case: ten overshooting steps
    assert result.iterations >= 20
    assert result.q >= result.trace[0] and result.q == result.trace.max()
    q_image = mffssim_index(sources, result.image, fmap, 7)
    assert result.q == pytest.approx(q_image, abs=1e-5)
    full = fuse(sources, fmap, tol=None, **options)
    from mffssim.metrics.reference import psnr

    assert psnr(sharp, result.image) >= psnr(sharp, full.image) - 0.05


def test_keep_best_and_keep_last():
    sources, _ = _smooth_mild_pair()
    fmap = laplacian_focus_map(sources, 7)
    # 5 steps of Adam at adam-cosine's first lr overshoot: every iterate is below the start, so "best" is the
    # start itself
    options = dict(window=7, init="mean", optimizer="adam", lr=0.02, iterations=5, tol=None, device="cpu")
    best = fuse(sources, fmap, **options)
    assert best.returned_iteration == 0 and best.q == best.trace[0]
    np.testing.assert_array_equal(best.image, average_fuse(sources))
    last = fuse(sources, fmap, keep="last", **options)
    assert last.returned_iteration == 5 and last.q == last.trace[-1] < last.trace[0]
    np.testing.assert_array_equal(last.trace, best.trace)  # the trace is every iterate's Q either way
    q_last = mffssim_index(sources, last.image, fmap, 7)
    assert last.q == pytest.approx(q_last, abs=1e-5)


@pytest.mark.parametrize(
    "trace,stops",
    [
        ([0.9] + [0.95] * 10, False),  # fewer than two windows of iterates
        ([0.9] + [0.95] * 20, True),  # flat iterates: converged
        ([0.99] + [0.95] * 20, False),  # no iterate has reached the start yet: still recovering
        ([0.99] + [0.95] * 10 + [0.991] * 10, False),  # recovered, and a large gain over the window before
        ([0.99] + [0.992] * 10 + [0.9920001] * 10, True),  # gain below tol
    ],
)
def test_converged_compares_iterates_with_iterates(trace, stops):
    from mffssim.fusion import _converged

    assert _converged(torch.tensor(trace, dtype=torch.float64), tol=1e-6) is stops


def test_default_optimizer_scales_eps_to_the_largest_gradient():
    # adam-cosine's first step: a pixel at the largest |dL/dY| moves by lr / (1 + EPS_SHARE), one with a
    # thousandth of it by lr * 1e-3 / (1e-3 + EPS_SHARE) (gradient-ascent-like), not by a full lr as with
    # Adam's fixed eps; the same pair under plain "adam" moves both by lr / (1 + 1e-8 / |g|) ~ lr
    from mffssim.fusion import EPS_SHARE, _Adam, _AdamCosine

    class Fixed:
        def value_and_grad(self, y):
            return torch.tensor(0.0, dtype=torch.float64), torch.zeros_like(y)

    grad_q = torch.tensor([[[2e-5, 2e-8]]], dtype=torch.float64)  # dQ/dY; dL/dY = -dQ/dY / 2
    moved = {}
    for name, cls in (("cosine", _AdamCosine), ("adam", _Adam)):
        y = torch.full((1, 1, 2), 0.5, dtype=torch.float64)
        cls(y, 0.02, 60).step(Fixed(), grad_q.clone())
        moved[name] = (y - 0.5).flatten().tolist()
    lr, big, small = 0.02, 1e-5, 1e-8
    assert moved["cosine"] == pytest.approx([lr * big / (big + EPS_SHARE * big),
                                             lr * small / (small + EPS_SHARE * big)], rel=1e-9)
    assert moved["adam"] == pytest.approx([lr * big / (big + 1e-8), lr * small / (small + 1e-8)], rel=1e-9)
    assert moved["cosine"][1] < 1e-2 * moved["adam"][1]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fused_adam_cosine_step_equals_the_torch_step(dtype):
    # the fused engine's optimiser step (one numba pass, float64 arithmetic) against the torch step, five steps
    # on gradients spanning 1e-30 .. 1e-5 (tiny ones: the subnormal flush and the square root's floor)
    from mffssim.fusion import _AdamCosine, _FusedAdamCosine

    rng = np.random.default_rng(3)
    grads = [torch.from_numpy(rng.standard_normal((3, 17, 19)) * 10.0 ** rng.uniform(-30, -5, (3, 17, 19)))
             .to(dtype) for _ in range(5)]

    class Replay:
        def __init__(self):
            self.calls = 0

        def value_and_grad(self, y):
            self.calls += 1
            return torch.tensor(0.0, dtype=torch.float64), grads[min(self.calls, 4)].clone()

    start = torch.from_numpy(rng.random((3, 17, 19))).to(dtype)
    images = []
    for cls in (_AdamCosine, _FusedAdamCosine):
        y, replay = start.clone(), Replay()
        steps, grad = cls(y, 0.02, 5), grads[0].clone()
        for _ in range(5):
            _, grad = steps.step(replay, grad)
        images.append(y)
    tolerance = 1e-6 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(images[1], images[0], rtol=0, atol=tolerance)
    assert not torch.equal(images[0], start)
