"""Inference: exact tiling, one-hot maps, sequential MS-ResNet fusion for K > 2, evaluation scores."""
import numpy as np
import pytest
import torch

from mffssim.detector.data import SyntheticPairs, embedded_scenes
from mffssim.detector.evaluate import confusion, evaluate_detector, score_focus_map, scores, write_table
from mffssim.detector.inference import detect_focus_map, focus_probability, fuse_sequential
from mffssim.detector.network import FocusNet


def _model(width=4, blocks=2, seed=0):
    """A random network whose BatchNorm running statistics are not the identity."""
    torch.manual_seed(seed)
    model = FocusNet(width, blocks)
    with torch.no_grad():
        for _ in range(3):
            model(torch.rand(2, 1, 12, 12), torch.rand(2, 1, 12, 12))
    return model.eval()


@pytest.mark.parametrize("tile", [7, 16, 40])
def test_tiled_equals_untiled(tile):
    rng = np.random.default_rng(0)
    a, b = rng.random((2, 45, 61), dtype=np.float32)
    model = _model()
    whole = focus_probability(a, b, model, tile=None, device="cpu")
    tiled = focus_probability(a, b, model, tile=tile, device="cpu")
    np.testing.assert_allclose(tiled, whole, atol=1e-6, rtol=0)
    decided = np.abs(whole - 0.5) > 1e-5
    np.testing.assert_array_equal(tiled[decided] > 0.5, whole[decided] > 0.5)


def test_a_halo_too_small_would_show():
    """The equality above is not vacuous: cutting tiles without the halo changes the result."""
    rng = np.random.default_rng(1)
    a, b = rng.random((2, 32, 32), dtype=np.float32)
    model = _model()
    whole = focus_probability(a, b, model, tile=None, device="cpu")
    with torch.no_grad():
        left = model(torch.from_numpy(a[None, None, :, :16].copy()), torch.from_numpy(b[None, None, :, :16].copy()))
    assert np.abs(left[0, 0].numpy() - whole[:, :16]).max() > 1e-4


def test_detect_focus_map_is_one_hot_and_takes_colour():
    rng = np.random.default_rng(2)
    sources = rng.random((2, 20, 24, 3), dtype=np.float32)
    model = _model()
    focus_map = detect_focus_map(sources, model, device="cpu", tile=8)
    assert focus_map.shape == (2, 20, 24) and focus_map.dtype == np.float32
    np.testing.assert_array_equal(focus_map.sum(axis=0), 1)
    gray = sources @ np.array([0.2125, 0.7154, 0.0721], dtype=np.float32)
    expected = focus_probability(gray[0], gray[1], model, device="cpu") > 0.5
    np.testing.assert_array_equal(focus_map[0] == 1, expected)
    with pytest.raises(ValueError, match="fuse_sequential"):
        detect_focus_map(sources[:1].repeat(3, axis=0), model)


def _select(pair, focus_map):
    """Pixel-wise fusion: take each pixel from the source the map chooses."""
    return np.einsum("khw,khwc->hwc", focus_map, pair)


def test_fuse_sequential_fuses_one_by_one():
    rng = np.random.default_rng(3)
    sources = rng.random((3, 18, 22, 1), dtype=np.float32)
    model = _model()
    fused, maps = fuse_sequential(sources, model, device="cpu", fuse=_select)
    assert len(maps) == 2 and fused.shape == (18, 22, 1)
    step_1 = _select(sources[:2], detect_focus_map(sources[:2], model, device="cpu"))
    np.testing.assert_array_equal(maps[0], detect_focus_map(sources[:2], model, device="cpu"))
    np.testing.assert_array_equal(maps[1], detect_focus_map(np.stack([step_1, sources[2]]), model, device="cpu"))
    np.testing.assert_array_equal(fused, _select(np.stack([step_1, sources[2]]), maps[1]))
    with pytest.raises(ValueError, match="at least 2"):
        fuse_sequential(sources[:1], model, fuse=_select)


def test_fuse_sequential_with_the_engine():
    mffssim = pytest.importorskip("mffssim")
    try:
        fuse = mffssim.fuse
    except (AttributeError, ImportError) as error:
        pytest.skip(f"the fusion engine is not available yet ({error})")
    rng = np.random.default_rng(4)
    sources = rng.random((3, 24, 24, 1), dtype=np.float32)
    model = _model()
    fused, maps = fuse_sequential(sources, model, device="cpu", iterations=3)
    assert fused.shape == (24, 24, 1) and len(maps) == 2
    assert np.all((fused >= 0) & (fused <= 1))
    first = fuse(sources[:2], focus_map=maps[0], iterations=3, device="cpu").image
    np.testing.assert_array_equal(maps[1], detect_focus_map(np.stack([first, sources[2]]), model, device="cpu"))
    last = fuse(np.stack([first, sources[2]]), focus_map=maps[1], iterations=3, device="cpu")
    np.testing.assert_array_equal(fused, last.image)


def test_scores_from_confusion():
    target = np.array([[1, 1, 0, 0, 0.5]])
    predicted = np.array([[0.9, 0.2, 0.1, 0.7, 0.9]])
    counts = confusion(predicted, target)
    np.testing.assert_array_equal(counts, [[1, 1], [1, 1]])  # the 0.5 (void) pixel is not scored
    result = scores(counts)
    assert result["accuracy"] == 0.5 and result["iou_source_1"] == pytest.approx(1 / 3)
    assert result["pixels"] == 4
    true = np.stack([target[0] > 0.5, target[0] <= 0.5]).astype(np.float32)[:, None]
    assert score_focus_map(true, true)["accuracy"] == 1.0
    with pytest.raises(ValueError, match="two \\(2, H, W\\) maps"):
        score_focus_map(true[:1], true[:1])


def test_evaluate_detector_and_table(tmp_path):
    data = SyntheticPairs(embedded_scenes(["coins"]), samples=3, crop=20, seed=0)
    result = evaluate_detector(_model(), data, device="cpu")
    assert result["pixels"] == 3 * 20 * 20 and 0 <= result["accuracy"] <= 1
    write_table([{"network": "tiny", **result}], tmp_path / "t.csv", tmp_path / "t.md")
    assert (tmp_path / "t.csv").read_text().startswith("network,pixels,accuracy")
    assert "| tiny | 1200 |" in (tmp_path / "t.md").read_text()
