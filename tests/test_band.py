"""The band solver (mffssim/band.py) against the full-frame path, the solver choice, and the streamed
Laplacian labels (mffssim/focus.py), on small seeded frames."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from mffssim.band import moving_mask
from mffssim.focus import frame_energy, laplacian_focus_map, laplacian_labels, one_hot
from mffssim.fusion import fuse
from mffssim.ssim import mffssim_index

pytestmark = pytest.mark.usefixtures("one_torch_thread")
WINDOW = 5


def _scene(count=2, h=48, w=56, channels=3, seed=0):
    """``count`` sources of one random texture, each sharp on blobs of its own label, blurred elsewhere."""
    rng = np.random.default_rng(seed)
    sharp = ndimage.gaussian_filter(rng.random((h, w, channels)), (0.8, 0.8, 0))
    blurred = ndimage.gaussian_filter(sharp, (2.0, 2.0, 0), mode="mirror")
    noise = ndimage.gaussian_filter(rng.random((h, w)), 4.0)
    labels = np.minimum((count * (noise - noise.min()) / np.ptp(noise)).astype(int), count - 1)
    sources = np.stack([np.where((labels == k)[..., None], sharp, blurred) for k in range(count)])
    return np.clip(sources, 0, 1).astype(np.float32), one_hot(labels, count)


@pytest.mark.parametrize(("count", "tile"), [(2, 16), (3, (12, 1000)), (2, 100)])
def test_band_equals_full_frame_with_the_same_frozen_pixels(count, tile):
    sources, fmap = _scene(count)
    options = dict(window=WINDOW, iterations=25, tol=None, keep="last", device="cpu", band_radius=3)
    full = fuse(sources, fmap, solver="full", **options)
    band = fuse(sources, fmap, solver="band", tile=tile, **options)
    assert band.solver["solver"] == "band" and full.solver["solver"] == "full"
    assert 0 < band.solver["moving_share"] < 1
    np.testing.assert_allclose(band.trace, full.trace, rtol=0, atol=2e-6)
    np.testing.assert_allclose(band.image, full.image, rtol=0, atol=1e-5)
    # the frozen pixels kept their pixel-wise value, and Q is the index of the returned image
    frozen = ~moving_mask(fmap.argmax(0), 3)
    start = np.take_along_axis(sources, fmap.argmax(0)[None, ..., None], 0)[0]
    assert np.array_equal(band.image[frozen], start[frozen])
    assert not np.allclose(band.image[~frozen], start[~frozen])
    assert abs(band.q - mffssim_index(sources, band.image, fmap, WINDOW)) < 1e-5


def test_band_keeps_the_best_iterate_and_stops_like_the_full_frame():
    sources, fmap = _scene(2, seed=3)
    options = dict(window=WINDOW, iterations=60, device="cpu", band_radius=4)
    full = fuse(sources, fmap, solver="full", **options)
    band = fuse(sources, fmap, solver="band", tile=20, **options)
    assert band.iterations == full.iterations and band.stopped_early == full.stopped_early
    np.testing.assert_allclose(band.trace, full.trace, rtol=0, atol=2e-6)
    assert band.q >= band.trace[0]


def test_freezing_changes_the_answer_of_the_unfrozen_full_frame():
    sources, fmap = _scene(2, seed=1)
    free = fuse(sources, fmap, window=WINDOW, iterations=25, tol=None, device="cpu")
    frozen = fuse(sources, fmap, window=WINDOW, iterations=25, tol=None, device="cpu", band_radius=1)
    assert free.solver["solver"] == "full" and free.solver["band_radius"] is None
    assert free.q > frozen.q  # fewer free pixels, lower optimum


def test_auto_solver_choice_and_refusals():
    sources, fmap = _scene(2)
    small = fuse(sources, fmap, window=WINDOW, iterations=2, device="cpu")
    assert small.solver["solver"] == "full" and "under" in small.solver["reason"]
    soft = np.full(fmap.shape, 0.5, np.float32)
    with pytest.raises(ValueError, match="one-hot"):
        fuse(sources, soft, window=WINDOW, iterations=2, device="cpu", solver="band")
    with pytest.raises(ValueError, match="paper variant"):
        fuse(sources, fmap, window=WINDOW, iterations=2, device="cpu", solver="band", variant="reference")
    with pytest.raises(ValueError, match="pixelwise"):
        fuse(sources, fmap, window=WINDOW, iterations=2, device="cpu", solver="band", init="mean")
    with pytest.raises(ValueError, match="band_radius"):
        fuse(sources, fmap, window=WINDOW, iterations=2, device="cpu", solver="band", band_radius=None)
    with pytest.raises(ValueError, match="band_radius"):
        fuse(sources, fmap, window=WINDOW, iterations=2, device="cpu", band_radius=0)


def test_moving_mask_marks_pixels_within_the_radius_of_a_label_change():
    labels = np.zeros((9, 12), int)
    labels[:, 6:] = 1
    mask = moving_mask(labels, 2)
    assert mask[:, 4:8].all() and not mask[:, :4].any() and not mask[:, 8:].any()
    assert not moving_mask(np.zeros((5, 5), int), 3).any()


def test_streamed_labels_equal_the_focus_map_and_ties_go_to_the_last_source():
    sources, _ = _scene(3, seed=2)
    labels, count = laplacian_labels(iter(sources), WINDOW)
    assert count == 3 and labels.dtype == np.uint8
    assert np.array_equal(one_hot(labels, 3), laplacian_focus_map(sources, WINDOW))
    flat = np.full((3, 10, 10, 1), 0.5, np.float32)
    assert (laplacian_labels(flat, 3)[0] == 2).all()


def test_wide_window_energy_is_the_exact_direct_sum_in_fixed_point():
    frame = np.random.default_rng(4).random((40, 50, 3))
    fixed = frame_energy(frame, 31)
    assert fixed.dtype == np.int64
    response = np.mean([ndimage.correlate(frame[..., c], np.array([[1, 1, 1], [1, -8, 1], [1, 1, 1]]) / 16,
                                          mode="mirror") ** 2 for c in range(3)], axis=0)
    direct = ndimage.uniform_filter(response, 31, mode="nearest") * 31 * 31
    np.testing.assert_allclose(fixed / 2.0**40, direct, rtol=1e-9)
    twins = np.stack([frame, frame])  # identical frames: exact ties, the last wins
    assert (laplacian_labels(twins, 31)[0] == 1).all()


def test_max_memory_budget_errors_and_limits_the_cache():
    from mffssim._memory import MemoryBudgetError, resident_bytes

    sources, fmap = _scene(2)
    with pytest.raises(MemoryBudgetError, match="max_memory: 1 MiB cannot be met: the full-frame solver"):
        fuse(sources, fmap, window=WINDOW, iterations=2, device="cpu", max_memory_mb=1)
    with pytest.raises(MemoryBudgetError, match="the band solver"):
        fuse(sources, fmap, window=WINDOW, iterations=2, device="cpu", solver="band", max_memory_mb=1)
    # a budget just above what is in use: the cache gets what is left, reported in the result
    tight = resident_bytes() / 2**20 + 64
    result = fuse(sources, fmap, window=WINDOW, iterations=3, device="cpu", solver="band", max_memory_mb=tight)
    assert 0 < result.solver["cache_mb"] <= 64


def test_tiles_rebuilt_beyond_the_cache_give_the_same_values():
    import torch

    from mffssim.band import BandObjective

    sources, fmap = _scene(3)
    labels = fmap.argmax(0)
    moving = moving_mask(labels, 3)
    cached = BandObjective(sources, labels, moving, WINDOW, tile=16)
    rebuilt = BandObjective(sources, labels, moving, WINDOW, tile=16, cache_bytes=0)
    y = (cached.start + 0.05 * torch.rand(cached.start.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    for _ in range(2):
        (q1, g1), (q2, g2) = cached.value_and_grad(y), rebuilt.value_and_grad(y)
        assert float(q1) == float(q2) and torch.equal(g1, g2)
    assert cached.rebuilt == 0 and rebuilt.rebuilt == 2 * len(rebuilt.tiles) and rebuilt.cached_bytes == 0


def test_cli_max_memory_error_and_solver_line(tmp_path, capsys):
    from mffssim.cli import main
    from mffssim.io import write_image

    sources, _ = _scene(2)
    paths = [tmp_path / f"s{k}.png" for k in (1, 2)]
    for path, image in zip(paths, sources):
        write_image(path, image)
    out = tmp_path / "fused.png"
    assert main(["fuse", *map(str, paths), "-o", str(out), "--max-memory", "1", "--window", "5"]) == 1
    assert "max_memory: 1 MiB cannot be met" in capsys.readouterr().err and not out.exists()
    assert main(["fuse", *map(str, paths), "-o", str(out), "--window", "5", "--iterations", "3"]) == 0
    assert "56x48: solver full (auto: frame under 8 MP)" in capsys.readouterr().err and out.exists()


def test_8_bit_sources_are_kept_as_codes_with_the_same_values():
    import torch

    from mffssim.band import BandObjective

    sources, fmap = _scene(2, seed=5)
    sources = (np.round(sources * 255).astype(np.uint8).astype(np.float32) / 255.0).astype(np.float32)
    labels = fmap.argmax(0)
    moving = moving_mask(labels, 3)
    cached = BandObjective(sources, labels, moving, WINDOW, tile=16)
    rebuilt = BandObjective(sources, labels, moving, WINDOW, tile=16, cache_bytes=0)
    y = cached.start.clone()
    for _ in range(2):  # the second evaluation loads the codes into the live objectives
        (q1, g1), (q2, g2) = cached.value_and_grad(y), rebuilt.value_and_grad(y)
        assert float(q1) == float(q2) and torch.equal(g1, g2)
    assert all(state.sources.dtype == torch.uint8 for state in cached._cache.values())
    options = dict(window=WINDOW, iterations=10, tol=None, keep="last", device="cpu", band_radius=3)
    full, band = fuse(sources, fmap, solver="full", **options), fuse(sources, fmap, solver="band", tile=16, **options)
    np.testing.assert_allclose(band.trace, full.trace, rtol=0, atol=2e-6)


def test_coded_8_bit_sources_fuse_like_their_float_values(tmp_path):
    from mffssim.io import read_image_set, write_image
    from mffssim.stack import decode, read_coded_stack

    sources, fmap = _scene(3, seed=6)
    paths = [tmp_path / f"s{k}.png" for k in range(3)]
    for path, image in zip(paths, sources):
        write_image(path, image)
    codes, depth = read_coded_stack(paths)
    floats, _ = read_image_set(paths)
    assert depth == 8 and codes.codes.dtype == np.uint8 and np.array_equal(decode(codes.codes), floats)
    options = dict(window=WINDOW, iterations=12, tol=None, keep="last", device="cpu")
    full_codes, full_floats = fuse(codes, **options), fuse(floats, **options)
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):  # a plain uint8 array is not taken for codes
        fuse(codes.codes, **options)
    np.testing.assert_array_equal(full_codes.image, full_floats.image)  # decoded: the same computation
    np.testing.assert_array_equal(full_codes.focus_map, full_floats.focus_map)
    band_codes = fuse(codes, solver="band", tile=16, **options)
    band_floats = fuse(floats, solver="band", tile=16, **options)
    np.testing.assert_allclose(band_codes.trace, band_floats.trace, rtol=0, atol=2e-6)
    np.testing.assert_allclose(band_codes.image, band_floats.image, rtol=0, atol=1e-5)
    write_image(tmp_path / "deep.png", sources[0], 16)
    assert read_coded_stack([tmp_path / "deep.png", paths[1]]) == (None, 16)
