"""Streamed stacks (mffssim/stack.py), 16-bit label maps, and --max-memory."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from mffssim.cli import main, parse_memory
from mffssim.focus import laplacian_focus_map
from mffssim.fusion import fuse, label_map
from mffssim.io import read_focus_map, read_label_map, write_focus_map, write_image, write_label_map
from mffssim.stack import fuse_files, stream_label_map


def _stack(tmp_path, count=5, height=40, width=52, seed=0):
    rng = np.random.default_rng(seed)
    sharp = ndimage.gaussian_filter(rng.random((height, width, 3)), (1, 1, 0))
    depth = np.kron(rng.integers(0, count, (4, 4)), np.ones((height // 4 + 1, width // 4 + 1), int))[:height, :width]
    paths = []
    for k in range(count):
        blur = ndimage.gaussian_filter(sharp, (1.5, 1.5, 0))
        frame = np.where((depth == k)[..., None], sharp, blur)
        path = tmp_path / f"source_{k + 1}.png"
        write_image(path, frame, 8)
        paths.append(path)
    return paths


def test_streamed_stack_equals_in_memory(tmp_path):
    from mffssim.io import read_image_set

    paths = _stack(tmp_path)
    sources, _ = read_image_set(paths)
    window = 5
    in_memory = fuse(sources, None, window=window, iterations=30, device="cpu", tile=16)
    labels, shape, depth, mean = stream_label_map(paths, window)
    np.testing.assert_array_equal(labels, label_map(laplacian_focus_map(sources, window)))
    assert shape == sources.shape[1:] and depth == 8
    assert mean == pytest.approx(float(sources.mean(dtype=np.float64)), rel=1e-12)
    streamed = fuse_files(paths, window=window, iterations=30, tile=16)
    assert streamed.settings["streamed"] and streamed.focus_map is None
    np.testing.assert_array_equal(streamed.trace, in_memory.trace)
    np.testing.assert_array_equal(streamed.image, in_memory.image)
    assert streamed.returned_iteration == in_memory.returned_iteration
    given = fuse_files(paths, window=window, iterations=30, tile=16, labels=labels)
    np.testing.assert_array_equal(given.trace, in_memory.trace)


def test_energy_strips_equal_whole_frame(tmp_path):
    from mffssim.focus import laplacian_energy
    from mffssim.stack import frame_energy

    frame = np.random.default_rng(1).random((37, 23, 3)).astype(np.float32)
    whole = laplacian_energy(np.stack([frame, frame]), 7)[0]
    strips = np.concatenate([e for _, _, e in frame_energy(frame, 7, rows=5)])
    np.testing.assert_array_equal(strips, whole)


@pytest.mark.parametrize("count", [3, 300])
def test_label_map_round_trip(tmp_path, count):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, count, (20, 30))
    labels[0, :count] = np.arange(count)[:30] if count > 30 else np.arange(count)
    path = tmp_path / "map.png"
    write_label_map(path, labels, count)
    back = read_label_map(path, count)
    np.testing.assert_array_equal(back, labels)
    assert back.dtype == (np.uint8 if count <= 256 else np.uint16)
    one_hot = (labels[None] == np.arange(count)[:, None, None]).astype(np.float32)
    write_focus_map(tmp_path / "map2.png", one_hot)
    assert (tmp_path / "map2.png").read_bytes() == path.read_bytes()
    np.testing.assert_array_equal(read_focus_map(path, count), one_hot)


def test_label_map_two_sources(tmp_path):
    labels = np.array([[0, 1], [1, 0]])
    write_label_map(tmp_path / "m.png", labels, 2)
    np.testing.assert_array_equal(read_label_map(tmp_path / "m.png", 2), labels)
    np.testing.assert_array_equal(read_focus_map(tmp_path / "m.png", 2)[1], labels)


@pytest.mark.parametrize("text, expected", [("4G", 4 * 2**30), ("4GB", 4 * 2**30), ("512M", 512 * 2**20),
                                            ("512MiB", 512 * 2**20), ("1.5g", int(1.5 * 2**30)), ("2000", 2000 * 2**20)])
def test_parse_memory(text, expected):
    assert parse_memory(text) == expected


@pytest.mark.parametrize("text", ["", "G", "-1G", "0M", "4X", "nan", "inf G"])
def test_parse_memory_refuses(text):
    with pytest.raises(ValueError):
        parse_memory(text)


def test_max_memory_errors(tmp_path, capsys):
    paths = _stack(tmp_path, count=3)
    out = tmp_path / "fused.png"
    assert main(["fuse", *map(str, paths), "-o", str(out), "--max-memory", "lots"]) == 2
    assert "--max-memory" in capsys.readouterr().err
    assert main(["fuse", *map(str, paths), "-o", str(out), "--max-memory", "1M", "-q"]) == 1
    err = capsys.readouterr().err
    assert "--max-memory" in err and "needs at least" in err and not out.exists()
    assert main(["fuse", *map(str, paths), "-o", str(out), "--max-memory", "8G", "--iterations", "5", "-q",
                 "--save-map", str(tmp_path / "map.png")]) == 0
    assert out.exists() and read_label_map(tmp_path / "map.png", 3).shape == (40, 52)
