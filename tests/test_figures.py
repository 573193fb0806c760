"""mffssim.workflow.figures on synthetic arrays: boundary crop, panel and convergence figures."""
from __future__ import annotations

import numpy as np
import pytest

from mffssim.workflow.figures import boundary_crop, convergence_figure, map_to_display, panel_figure
from mffssim.io import read_image


def _two_region_map(height, width, column):
    first = np.zeros((height, width), np.float32)
    first[:, :column] = 1.0
    return np.stack([first, 1.0 - first])


def test_boundary_crop_covers_the_boundary():
    focus_map = _two_region_map(60, 100, 70)
    top, left, h, w = boundary_crop(focus_map, 20)
    assert (h, w) == (20, 20)
    assert left < 70 <= left + w  # the vertical boundary between columns 69 and 70 is inside
    assert 0 <= top and top + h <= 60 and left + w <= 100


def test_boundary_crop_finds_the_densest_region():
    labels = np.zeros((64, 64), dtype=int)
    labels[40:50, 40:50] = 1  # a small square of source 2 in the lower right
    focus_map = np.stack([(labels == 0), (labels == 1)]).astype(np.float32)
    top, left, h, w = boundary_crop(focus_map, 16)
    assert top <= 40 and top + h >= 50 and left <= 40 and left + w >= 50


def test_boundary_crop_centres_without_boundary_and_clips_to_image():
    flat = np.stack([np.ones((30, 40)), np.zeros((30, 40))]).astype(np.float32)
    assert boundary_crop(flat, 10) == (10, 15, 10, 10)
    assert boundary_crop(flat, 100) == (0, 0, 30, 40)
    with pytest.raises(ValueError, match="shape"):
        boundary_crop(np.ones((30, 40)), 10)


def test_map_to_display_k2_and_k3():
    focus_map = _two_region_map(4, 6, 3)
    assert np.array_equal(map_to_display(focus_map), focus_map[0])
    labels = np.array([[0, 1, 2]])
    three = np.stack([(labels == k) for k in range(3)]).astype(np.float32)
    assert np.allclose(map_to_display(three), [[0.0, 0.5, 1.0]])


def test_panel_figure_writes_a_png(tmp_path):
    rng = np.random.default_rng(0)
    sources = rng.random((3, 48, 64, 3)).astype(np.float32)
    labels = np.zeros((48, 64), dtype=int)
    labels[:, 20:] = 1
    labels[30:, 40:] = 2
    focus_map = np.stack([(labels == k) for k in range(3)]).astype(np.float32)
    fused = {"a": sources[0], "b": sources.mean(0)}
    path = tmp_path / "panel.png"
    crop = panel_figure(sources, focus_map, fused, path, crop=16, title="demo")
    image = read_image(path)
    assert image.shape[0] > 100 and image.shape[1] > 100 and image.shape[2] == 3
    assert image.std() > 0.05  # something is drawn
    top, left, h, w = crop
    assert (h, w) == (16, 16)
    # same inputs, same bytes (deterministic output)
    panel_figure(sources, focus_map, fused, tmp_path / "again.png", crop=16, title="demo")
    assert path.read_bytes() == (tmp_path / "again.png").read_bytes()


def test_panel_figure_gray_and_bad_input(tmp_path):
    rng = np.random.default_rng(1)
    sources = rng.random((2, 32, 32, 1)).astype(np.float32)
    focus_map = _two_region_map(32, 32, 16)
    panel_figure(sources, focus_map, {"x": sources[1]}, tmp_path / "gray.png", crop=8)
    assert (tmp_path / "gray.png").stat().st_size > 0
    with pytest.raises(ValueError, match="fused image 'bad'"):
        panel_figure(sources, focus_map, {"bad": np.zeros((8, 8, 1))}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="at least one fused"):
        panel_figure(sources, focus_map, {}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="does not match"):
        panel_figure(sources, focus_map[:, :16], {"x": sources[1]}, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_convergence_figure(tmp_path):
    path = tmp_path / "conv.png"
    traces = {"a paper": np.linspace(0.8, 0.95, 40), "b paper": [0.5, 0.7, 0.72], "a ref": [0.6, 0.9]}
    convergence_figure(traces, path, groups={"a paper": "paper", "b paper": "paper", "a ref": "ref"}, title="Q")
    image = read_image(path)
    assert image.shape[2] == 3 and image.std() > 0.05
    convergence_figure(traces, tmp_path / "ungrouped.png")
    assert path.read_bytes() != (tmp_path / "ungrouped.png").read_bytes()
    with pytest.raises(ValueError, match="at least one trace"):
        convergence_figure({}, path)
    with pytest.raises(ValueError, match="non-empty"):
        convergence_figure({"empty": []}, tmp_path / "e.png")
