"""The band solver (mffssim/band.py) against the full-frame path: Q, gradient, trace, stopping, image."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from scipy import ndimage

from mffssim.band import ArraySources, TileGrid, solve_band
from mffssim.fusion import fuse, label_map, pixelwise_fuse
from mffssim.ssim import MFFSSIMObjective


def _case(height=48, width=56, channels=3, count=2, seed=0):
    """Sources of a textured scene, each sharp on its own blocks of a coarse label grid; the exact map."""
    rng = np.random.default_rng(seed)
    sharp = ndimage.gaussian_filter(rng.random((height, width, channels)), (1, 1, 0))
    coarse = rng.integers(0, count, (3, 4))
    coarse.flat[:count] = np.arange(count)  # every source owns a region
    labels = np.kron(coarse, np.ones((height // 3 + 1, width // 4 + 1), int))[:height, :width]
    sources = [np.where((labels == k)[..., None], sharp, ndimage.gaussian_filter(sharp, (2 + k, 2 + k, 0)))
               for k in range(count)]
    focus_map = np.stack([labels == k for k in range(count)]).astype(np.float32)
    return np.clip(np.stack(sources), 0, 1).astype(np.float32), focus_map


def _start_value_and_grad(sources, focus_map, window, variant, dtype, tile):
    """Q and dQ/dY at the pixel-wise start by both paths."""
    torch_dtype = {"float32": torch.float32, "float64": torch.float64}[dtype]
    start = pixelwise_fuse(sources, focus_map)
    y = torch.from_numpy(start).permute(2, 0, 1).to(torch_dtype).contiguous()
    x = torch.from_numpy(sources).permute(0, 3, 1, 2).to(torch_dtype).contiguous()
    q_full, g_full = MFFSSIMObjective(x, torch.from_numpy(focus_map).to(torch_dtype), window, variant).value_and_grad(y)
    outcome = solve_band(ArraySources(sources), label_map(focus_map), y.clone(), window, variant, optimizer="adam",
                         lr=1e-3, iterations=0, tol=None, keep="best", tile=tile)
    return float(q_full), g_full.numpy(), float(outcome.trace[0]), outcome.grad.numpy()


@pytest.mark.parametrize("variant", ["paper", "reference"])
@pytest.mark.parametrize("count", [2, 3])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_start_value_and_gradient_equal_full_frame(variant, count, dtype):
    sources, focus_map = _case(count=count)
    q_full, g_full, q_band, g_band = _start_value_and_grad(sources, focus_map, 7, variant, dtype, tile=12)
    scale = np.abs(g_full).max()
    assert scale > 0
    if dtype == "float64":
        assert q_band == pytest.approx(q_full, abs=1e-12)
        np.testing.assert_allclose(g_band, g_full, rtol=0, atol=1e-9 * scale)
    else:
        assert q_band == pytest.approx(q_full, abs=2e-7)
        np.testing.assert_allclose(g_band, g_full, rtol=0, atol=2e-4 * scale)


@pytest.mark.parametrize("variant", ["paper", "reference"])
@pytest.mark.parametrize("count", [2, 3])
@pytest.mark.parametrize("optimizer", ["adam-cosine", "adam"])
def test_trace_stopping_and_image_equal_full_frame(variant, count, optimizer):
    """float64, where the full-frame path's round-off gradients outside the band are ~1e-19 (in float32 Adam
    turns the full frame's ~1e-10 round-off gradients there into visible steps; the band computes them as 0)."""
    sources, focus_map = _case(count=count, seed=count)
    options = dict(window=7, variant=variant, optimizer=optimizer, iterations=60, tol=1e-5, device="cpu",
                   dtype="float64")
    full = fuse(sources, focus_map, solver="full", **options)
    band = fuse(sources, focus_map, solver="band", tile=12, **options)
    assert band.settings["solver"] == "band" and full.settings["solver"] == "full"
    assert band.iterations == full.iterations and band.stopped_early == full.stopped_early
    assert band.returned_iteration == full.returned_iteration
    np.testing.assert_allclose(band.trace, full.trace, rtol=0, atol=1e-8)
    np.testing.assert_allclose(band.image, full.image, rtol=0, atol=1e-5)


def test_float32_runs_agree_to_round_off_amplified_by_adam():
    sources, focus_map = _case(count=2, seed=5)
    options = dict(window=7, iterations=40, device="cpu")
    full, band = fuse(sources, focus_map, solver="full", **options), fuse(sources, focus_map, **options)
    assert band.settings["solver"] == "band"
    assert abs(band.q - full.q) < 1e-4
    assert np.abs(band.image - full.image).mean() < 1e-3


def test_clean_frame_moves_nothing_and_reports_band():
    """One label everywhere: every tile is clean, Q = 1, the start is returned untouched."""
    sources, _ = _case(count=2)
    focus_map = np.stack([np.ones(sources.shape[1:3]), np.zeros(sources.shape[1:3])]).astype(np.float32)
    result = fuse(sources, focus_map, window=5, iterations=30, device="cpu", tile=16)
    assert result.settings["band_share"] == 0.0 and result.settings["band_tiles"] == 0
    assert result.settings["tiles"] > 1
    np.testing.assert_array_equal(result.image, sources[0])
    assert result.q == 1.0


def test_band_share_grows_from_the_boundaries():
    sources, focus_map = _case(height=96, width=96, count=2)
    result = fuse(sources, focus_map, window=5, iterations=30, device="cpu", tile=16)
    assert 0 < result.settings["band_share"] <= 1
    assert result.settings["band_tiles"] <= result.settings["tiles"]


def test_soft_map_falls_back_to_full_frame(caplog):
    sources, focus_map = _case(count=2)
    soft = ndimage.uniform_filter(focus_map, (1, 5, 5))
    soft /= soft.sum(0, keepdims=True)
    with caplog.at_level(logging.INFO, logger="mffssim"):
        result = fuse(sources, soft, window=5, iterations=5, device="cpu")
    assert result.settings["solver"] == "full"
    assert "not one-hot" in caplog.text
    assert fuse(sources, focus_map, window=5, iterations=5, init="mean", device="cpu").settings["solver"] == "full"
    with pytest.raises(ValueError, match="solver"):
        fuse(sources, soft, window=5, iterations=5, device="cpu", solver="band")


def test_tile_grid_covers_every_window_once():
    for variant, window in (("paper", 7), ("reference", 7), ("paper", 3)):
        grid = TileGrid(50, 67, window, variant, tile=8)
        covered = np.zeros((50, 67), int)
        for t in grid.tiles:
            covered[t.r0 : t.r1, t.c0 : t.c1] += 1
        r = window // 2 if variant == "paper" else 0
        assert (covered[r : 50 - r, r : 67 - r] == 1).all() and covered.sum() == (50 - 2 * r) * (67 - 2 * r)
        blocks = np.zeros((50, 67), int)
        for a in range(grid.shape[0]):
            for b in range(grid.shape[1]):
                blocks[grid.block(a, b)] += 1
        assert (blocks == 1).all()
