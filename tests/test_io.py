"""mffssim.io: reading at every bit depth, atomic writing, image sets, focus-map files, set discovery."""
from __future__ import annotations

import os
import stat

import numpy as np
import pytest
import tifffile
from PIL import Image

from mffssim.io import (
    ImageError,
    atomic_write,
    find_image_sets,
    read_focus_map,
    read_image,
    read_image_and_depth,
    read_image_set,
    write_focus_map,
    write_image,
)


def _random(shape, seed=0):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


@pytest.mark.parametrize("suffix,bit_depth", [(".png", 8), (".png", 16), (".tif", 8), (".tif", 16)])
@pytest.mark.parametrize("channels", [1, 3])
def test_lossless_round_trip_keeps_the_bit_depth(tmp_path, suffix, bit_depth, channels):
    image = _random((9, 13, channels))
    path = tmp_path / f"image{suffix}"
    write_image(path, image, bit_depth)
    back, depth = read_image_and_depth(path)
    assert depth == bit_depth and back.dtype == np.float32 and back.shape == (9, 13, channels)
    top = 2**bit_depth - 1
    np.testing.assert_array_equal(back, np.round(image * top).astype(np.float32) / top)
    assert 0.0 <= back.min() and back.max() <= 1.0


def test_jpeg_is_8_bit_and_close(tmp_path):
    image = np.tile(np.linspace(0, 1, 32, dtype=np.float32), (24, 1))[:, :, None].repeat(3, axis=2)
    path = tmp_path / "image.jpg"
    write_image(path, image, bit_depth=16)  # JPEG holds 8 bits only
    back, depth = read_image_and_depth(path)
    assert depth == 8 and back.shape == (24, 32, 3)
    assert np.abs(back - image).max() < 0.03


def test_gray_2d_input_alpha_palette_and_one_bit_files(tmp_path):
    rgb = (_random((10, 12, 3), 1) * 255).astype(np.uint8)
    Image.fromarray(rgb).convert("RGBA").save(tmp_path / "rgba.png")
    np.testing.assert_array_equal(read_image(tmp_path / "rgba.png") * 255, rgb.astype(np.float32))
    Image.fromarray(rgb).convert("P").save(tmp_path / "palette.png")
    palette = np.asarray(Image.open(tmp_path / "palette.png").convert("RGB"))
    np.testing.assert_array_equal(read_image(tmp_path / "palette.png") * 255, palette.astype(np.float32))
    Image.fromarray(rgb[:, :, 0] > 100).save(tmp_path / "bits.png")
    bits, depth = read_image_and_depth(tmp_path / "bits.png")
    assert bits.shape == (10, 12, 1) and depth == 8
    np.testing.assert_array_equal(bits[:, :, 0], (rgb[:, :, 0] > 100).astype(np.float32))
    write_image(tmp_path / "gray.png", _random((10, 12)))
    assert read_image(tmp_path / "gray.png").shape == (10, 12, 1)


def test_float_tiff(tmp_path):
    image = _random((6, 7, 3), 2)
    tifffile.imwrite(tmp_path / "float.tif", image, photometric="rgb")
    back, depth = read_image_and_depth(tmp_path / "float.tif")
    assert depth == 32
    np.testing.assert_array_equal(back, image)
    tifffile.imwrite(tmp_path / "wide.tif", image * 2, photometric="rgb")
    with pytest.raises(ImageError, match=r"wide\.tif.*\[0, 1\]"):
        read_image(tmp_path / "wide.tif")
    tifffile.imwrite(tmp_path / "nan.tif", np.full((4, 4), np.nan, np.float32))
    with pytest.raises(ImageError, match=r"nan\.tif.*NaN"):
        read_image(tmp_path / "nan.tif")


def test_unreadable_files_raise_image_error_naming_the_file(tmp_path):
    with pytest.raises(ImageError, match="missing.png: no such file"):
        read_image(tmp_path / "missing.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageError, match="empty.png: file is empty"):
        read_image(tmp_path / "empty.png")
    (tmp_path / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(ImageError, match="junk.png: cannot be read"):
        read_image(tmp_path / "junk.png")
    (tmp_path / "text.jpg").write_text("hello")
    with pytest.raises(ImageError, match="text.jpg"):
        read_image(tmp_path / "text.jpg")
    with pytest.raises(ImageError, match="no such file"):
        read_image(tmp_path)  # a directory


def test_write_is_atomic_and_gets_the_umask_mode(tmp_path):
    path = tmp_path / "deep" / "er" / "image.png"
    write_image(path, _random((5, 6, 3)))
    assert path.is_file()
    assert sorted(p.name for p in path.parent.iterdir()) == ["image.png"]  # no temporary left
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    before = path.read_bytes()
    with pytest.raises(ValueError, match="NaN"):
        write_image(path, np.full((5, 6, 3), np.nan))
    with pytest.raises(ValueError, match="extension"):
        write_image(tmp_path / "image.xyz", _random((5, 6)))
    with pytest.raises(ValueError, match="bit_depth"):
        write_image(path, _random((5, 6, 3)), bit_depth=12)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["image.png"]
    assert not (tmp_path / "image.xyz").exists()


def test_atomic_write_keeps_the_old_content_when_the_writer_fails(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("old")

    def failing(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(path, failing)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["data.txt"]
    atomic_write(path, lambda tmp: tmp.write_text("new"))
    assert path.read_text() == "new"


def test_values_are_clipped_and_rounded_when_written(tmp_path):
    image = np.array([[-0.5, 0.0, 0.5, 1.0, 1.5]], np.float32)
    write_image(tmp_path / "clip.png", image)
    np.testing.assert_array_equal(read_image(tmp_path / "clip.png")[0, :, 0] * 255, [0, 0, 128, 255, 255])


def test_read_image_set_stacks_sources_and_names_the_odd_file(tmp_path):
    paths = []
    for k in range(3):
        paths.append(tmp_path / f"s{k}.png")
        write_image(paths[-1], _random((8, 9, 3), k), 16)
    stack, depth = read_image_set(paths)
    assert stack.shape == (3, 8, 9, 3) and stack.dtype == np.float32 and depth == 16
    write_image(tmp_path / "size.png", _random((8, 10, 3)), 16)
    write_image(tmp_path / "gray.png", _random((8, 9, 1)), 16)
    write_image(tmp_path / "depth.png", _random((8, 9, 3)), 8)
    for odd, message in [("size.png", "size 10x8 differs"), ("gray.png", "1 channel"), ("depth.png", "bit depth 8")]:
        with pytest.raises(ImageError, match=f"{odd}: {message}"):
            read_image_set([paths[0], tmp_path / odd])
    with pytest.raises(ImageError, match="at least two sources"):
        read_image_set([paths[0]])


def test_focus_map_files_follow_design_md(tmp_path):
    rng = np.random.default_rng(3)
    first = (rng.random((7, 11)) > 0.5).astype(np.float32)
    two = np.stack([first, 1 - first])
    write_focus_map(tmp_path / "two.png", two)
    raw, depth = read_image_and_depth(tmp_path / "two.png")
    assert depth == 8 and set(np.unique(raw * 255)) <= {0.0, 255.0}  # 255 where source 1 is sharpest
    np.testing.assert_array_equal(raw[:, :, 0], first)
    np.testing.assert_array_equal(read_focus_map(tmp_path / "two.png", 2, shape=(7, 11)), two)
    labels = rng.integers(0, 4, size=(7, 11))
    four = (labels[None] == np.arange(4)[:, None, None]).astype(np.float32)
    write_focus_map(tmp_path / "four.png", four)
    np.testing.assert_array_equal(read_image(tmp_path / "four.png")[:, :, 0] * 255, labels + 1)  # 1-based
    np.testing.assert_array_equal(read_focus_map(tmp_path / "four.png", 4), four)
    # a 16-bit two-source map is thresholded at half its maximum
    write_image(tmp_path / "sixteen.png", first * 0.6 + 0.2, bit_depth=16)
    np.testing.assert_array_equal(read_focus_map(tmp_path / "sixteen.png", 2), two)
    with pytest.raises(ImageError, match="two.png: focus map is 11x7 but the sources are 12x7"):
        read_focus_map(tmp_path / "two.png", 2, shape=(7, 12))
    with pytest.raises(ImageError, match=r"four.png: labels must lie in 1\.\.3"):
        read_focus_map(tmp_path / "four.png", 3)
    with pytest.raises(ValueError, match=r"\(K>=2, H, W\)"):
        write_focus_map(tmp_path / "bad.png", np.ones((1, 4, 4)))


def test_find_image_sets(tmp_path):
    image = _random((4, 5, 3))
    for name in ["source_2.png", "source_10.png", "source_1.png", "reference.png", "focus_map.png", "notes.txt"]:
        target = tmp_path / "set_a" / name
        target.parent.mkdir(exist_ok=True)
        if name.endswith(".png"):
            write_image(target, image)
        else:
            target.write_text("not an image")
    write_image(tmp_path / "lonely" / "source_1.png", image)  # one source: skipped
    write_image(tmp_path / "set_b" / "source_1.tif", image)
    write_image(tmp_path / "set_b" / "source_2.jpg", image)
    sets = find_image_sets(tmp_path)
    assert list(sets) == ["set_a", "set_b"]
    a = sets["set_a"]
    assert [p.name for p in a.sources] == ["source_1.png", "source_2.png", "source_10.png"]
    assert a.reference.name == "reference.png" and a.focus_map.name == "focus_map.png"
    assert sets["set_b"].reference is None and sets["set_b"].focus_map is None
    with pytest.raises(ImageError, match="no such directory"):
        find_image_sets(tmp_path / "nowhere")


def test_label_maps_beyond_255_sources_are_16_bit(tmp_path):
    from mffssim.focus import one_hot

    labels = np.random.default_rng(0).integers(0, 300, (7, 9))
    labels[0, 0] = 299  # the largest label must survive
    write_focus_map(tmp_path / "map.png", one_hot(labels, 300))
    assert Image.open(tmp_path / "map.png").mode == "I;16"
    assert np.array_equal(read_focus_map(tmp_path / "map.png", 300).argmax(0), labels)
    write_focus_map(tmp_path / "small.png", one_hot(labels % 200, 200))
    assert Image.open(tmp_path / "small.png").mode == "L"
