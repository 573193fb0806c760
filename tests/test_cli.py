"""The ``mffssim fuse`` command, run in-process through ``main(argv)`` on tiny files."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from mffssim.cli import main
from mffssim.io import read_focus_map, read_image_and_depth, write_focus_map, write_image


# Tiny images run faster on one torch thread (conftest.py).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _sources(h=24, w=30, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    sharp = ndimage.gaussian_filter(rng.random((h, w, channels)), (0.7, 0.7, 0))
    blurred = ndimage.gaussian_filter(sharp, (2.0, 2.0, 0), mode="mirror")
    s1, s2 = sharp.copy(), sharp.copy()
    s1[:, : w // 2] = blurred[:, : w // 2]
    s2[:, w // 2 :] = blurred[:, w // 2 :]
    return np.clip(s1, 0, 1), np.clip(s2, 0, 1)


def _write_pair(folder, bit_depth=8, **kwargs):
    s1, s2 = _sources(**kwargs)
    paths = [folder / "source_1.png", folder / "source_2.png"]
    write_image(paths[0], s1, bit_depth)
    write_image(paths[1], s2, bit_depth)
    return [str(p) for p in paths]


FAST = ["--iterations", "5", "--window", "5", "-q"]


@pytest.mark.parametrize("bit_depth", [8, 16])
def test_fuse_writes_the_sources_bit_depth_and_the_map(tmp_path, bit_depth, capsys):
    sources = _write_pair(tmp_path, bit_depth)
    out = tmp_path / "new" / "folder" / "fused.png"  # a missing output folder is created
    saved = tmp_path / "map.png"
    assert main(["fuse", *sources, "-o", str(out), "--save-map", str(saved), *FAST]) == 0
    image, depth = read_image_and_depth(out)
    assert depth == bit_depth and image.shape == (24, 30, 3)
    fmap = read_focus_map(saved, 2, shape=(24, 30))
    assert fmap.shape == (2, 24, 30)
    assert fmap[0, :, -8:].all() and fmap[1, :, :8].all()  # source 1 is sharp on the right
    assert capsys.readouterr().err == ""  # -q: silent


def test_given_map_is_used_and_progress_shows_q(tmp_path, capsys):
    sources = _write_pair(tmp_path, channels=1)
    given = np.zeros((2, 24, 30), np.float32)
    given[0, :12] = 1.0
    given[1, 12:] = 1.0
    write_focus_map(tmp_path / "given.png", given)
    out, saved = tmp_path / "fused.tif", tmp_path / "saved.png"
    argv = ["fuse", *sources, "-o", str(out), "--map", str(tmp_path / "given.png"), "--save-map", str(saved),
            "--iterations", "20", "--window", "5", "--variant", "reference", "--optimizer", "adam", "--lr", "0.01"]
    assert main(argv) == 0
    np.testing.assert_array_equal(read_focus_map(saved, 2), given)
    image, depth = read_image_and_depth(out)
    assert image.shape == (24, 30, 1) and depth == 8
    err = capsys.readouterr().err
    assert "Q=" in err and "20 iterations" in err


def _bad_image(path):
    path.write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    return str(path)


def _error_cases(tmp):
    """(argv, the file the message must name) for each way the command must refuse to run."""
    good = _write_pair(tmp)
    small = tmp / "small"
    small.mkdir()
    tiny = _write_pair(small, h=4, w=6)
    other_size = tmp / "other_size.png"
    write_image(other_size, _sources(h=20, w=30)[0])
    gray = tmp / "gray.png"
    write_image(gray, _sources(channels=1)[0])
    bad = _bad_image(tmp / "broken.png")
    missing = str(tmp / "missing.png")
    bad_map = tmp / "bad_map.png"
    write_focus_map(bad_map, np.ones((2, 10, 10), np.float32))
    return [
        (["fuse", good[0], str(other_size)], str(other_size)),  # different sizes
        (["fuse", good[0], str(gray)], str(gray)),  # different channel counts
        (["fuse", good[0]], good[0]),  # one source
        (["fuse", good[0], bad], bad),  # unreadable file
        (["fuse", good[0], missing], missing),  # missing file
        (["fuse", *tiny, "--window", "7"], tiny[0]),  # 6x4 images, smaller than the window
        (["fuse", *good, "--map", str(bad_map)], str(bad_map)),  # map of another size
        (["fuse", *good, "--window", "4"], "--window"),  # even window
        (["fuse", *good, "--detector", "resnet", "--weights", bad], bad),  # not a weights file
    ]


def test_each_error_prints_one_line_naming_the_file_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "out" / "fused.png"
    for argv, named in _error_cases(tmp_path):
        argv = argv + ["-o", str(out), "--iterations", "2", "-q"]
        code = main(argv)
        err = capsys.readouterr().err
        assert code != 0, argv
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert named in lines[0], (named, lines[0])
        assert not out.exists() and not (tmp_path / "out").exists(), argv


def test_output_needs_an_image_extension(tmp_path, capsys):
    sources = _write_pair(tmp_path)
    assert main(["fuse", *sources, "-o", str(tmp_path / "fused.txt"), *FAST]) != 0
    assert "fused.txt" in capsys.readouterr().err
    assert not (tmp_path / "fused.txt").exists()


def test_help_and_usage_errors_return_a_status(capsys):
    assert main(["fuse", "--help"]) == 0
    assert "--save-map" in capsys.readouterr().out
    assert main([]) == 2  # no command
    assert main(["fuse", "a.png", "b.png"]) == 2  # no -o
    assert "-o" in capsys.readouterr().err


def test_threads_sets_torchs_thread_count_and_is_logged(tmp_path, capsys):
    import torch

    sources = _write_pair(tmp_path)
    torch.set_num_threads(2)  # the fixture restores the count afterwards
    out = tmp_path / "fused.png"
    assert main(["fuse", *sources, "-o", str(out), "--iterations", "3", "--window", "5", "--threads", "1"]) == 0
    assert torch.get_num_threads() == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith(f"{out}: Q ") and last.endswith(", 1 threads)"), last


@pytest.mark.parametrize("value", ["0", "-1", "x", "1.5"])
def test_bad_threads_is_a_usage_error(tmp_path, value, capsys):
    sources = _write_pair(tmp_path)
    out = tmp_path / "fused.png"
    assert main(["fuse", *sources, "-o", str(out), "--threads", value, *FAST]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--threads" in err[0] and "positive integer" in err[0] and value in err[0], err
    assert not out.exists()


def test_version_prints_the_package_version(capsys):
    import re
    from pathlib import Path

    import mffssim

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"mffssim {mffssim.__version__}"
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1) == mffssim.__version__


@pytest.mark.parametrize("engine", ["torch", "fused"])
def test_fuse_engine_option_is_used_and_reported(tmp_path, engine, capsys):
    sources = _write_pair(tmp_path)
    out = tmp_path / "fused.png"
    assert main(["fuse", *sources, "-o", str(out), "--iterations", "3", "--window", "5", "--engine", engine]) == 0
    assert f"engine {engine} (asked)" in capsys.readouterr().err
    assert main(["fuse", *sources, "-o", str(out), "--engine", "numba", "-q"]) == 2
