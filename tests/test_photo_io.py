"""Photos: EXIF orientation read upright, ICC profile and EXIF kept, JPEG quality, focus-map previews."""
from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms, ImageOps

from mffssim.cli import main
from mffssim.io import (
    PhotoMetadata, focus_map_preview, image_orientation, read_image, read_image_and_depth, read_photo_metadata,
    write_focus_map_preview, write_image,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")
ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _exif(orientation=1, make="TestCam"):
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[271] = make
    exif[306] = "2024:01:02 03:04:05"
    return exif


def _pixels(h=6, w=9, seed=0):
    return (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_read_upright(tmp_path, suffix, orientation):
    path = tmp_path / f"o{suffix}"
    Image.fromarray(_pixels()).save(path, exif=_exif(orientation).tobytes(), **({"quality": 100} if suffix == ".jpg" else {}))
    with Image.open(path) as image:
        upright = np.asarray(ImageOps.exif_transpose(image))
    assert image_orientation(path) == orientation
    got = np.round(read_image(path) * 255).astype(np.uint8)
    assert got.shape == upright.shape
    np.testing.assert_array_equal(got, upright)


@pytest.mark.parametrize("orientation", [1, 6, 8])
def test_tiff_orientation_16_bit(tmp_path, orientation):
    data = (np.random.default_rng(1).random((5, 7, 3)) * 65535).astype(np.uint16)
    path = tmp_path / "o.tif"
    tifffile.imwrite(path, data, photometric="rgb", extratags=[(274, "H", 1, orientation, True)])
    image, depth = read_image_and_depth(path)
    assert depth == 16
    want = {1: data, 6: np.rot90(data, -1), 8: np.rot90(data, 1)}[orientation]
    np.testing.assert_array_equal(np.round(image * 65535).astype(np.uint16), want)


def test_metadata_is_read_with_orientation_reset(tmp_path):
    path = tmp_path / "m.jpg"
    Image.fromarray(_pixels()).save(path, exif=_exif(6).tobytes(), icc_profile=ICC)
    metadata = read_photo_metadata(path)
    assert metadata.icc == ICC
    exif = Image.Exif()
    exif.load(metadata.exif)
    assert exif[0x0112] == 1 and exif[271] == "TestCam"
    assert read_photo_metadata(tmp_path / "missing.jpg") == PhotoMetadata()


@pytest.mark.parametrize("suffix", [".jpg", ".tif", ".png"])
def test_icc_and_exif_are_copied(tmp_path, suffix):
    metadata = PhotoMetadata(icc=ICC, exif=_exif(1).tobytes())
    path = tmp_path / f"out{suffix}"
    write_image(path, _pixels(), metadata=metadata)
    with Image.open(path) as image:
        assert image.info.get("icc_profile") == ICC
    back = read_photo_metadata(path)
    assert back.icc == ICC
    if suffix in (".jpg", ".tif"):  # EXIF: whole in JPEG, the camera tags of the first IFD in TIFF
        exif = Image.Exif()
        exif.load(back.exif)
        assert exif[271] == "TestCam" and exif[306] == "2024:01:02 03:04:05"


def test_sixteen_bit_tiff_and_png_keep_depth_with_a_profile(tmp_path):
    data = (np.random.default_rng(2).random((5, 7, 3)) * 65535).astype(np.uint16)
    for suffix in (".tif", ".png"):
        path = tmp_path / f"deep{suffix}"
        write_image(path, data, 16, metadata=PhotoMetadata(icc=ICC))
        image, depth = read_image_and_depth(path)
        assert depth == 16
        np.testing.assert_array_equal(np.round(image * 65535).astype(np.uint16), data)
        assert read_photo_metadata(path).icc == ICC


def test_jpeg_quality_is_honoured(tmp_path):
    pixels = _pixels(64, 64)
    write_image(tmp_path / "low.jpg", pixels, jpeg_quality=20)
    write_image(tmp_path / "high.jpg", pixels, jpeg_quality=98)
    assert (tmp_path / "low.jpg").stat().st_size < 0.6 * (tmp_path / "high.jpg").stat().st_size
    with pytest.raises(ValueError, match="jpeg_quality"):
        write_image(tmp_path / "bad.jpg", pixels, jpeg_quality=0)


def test_map_preview():
    labels = np.array([[0, 1, 2], [2, 1, 0]])
    onehot = np.stack([(labels == k).astype(np.float32) for k in range(3)])
    colour = focus_map_preview(onehot)
    assert colour.shape == (2, 3, 3) and colour.dtype == np.uint8
    assert len({tuple(c) for c in colour.reshape(-1, 3)}) == 3
    gray = focus_map_preview(onehot, style="gray")
    np.testing.assert_array_equal(gray, [[0, 128, 255], [255, 128, 0]])
    pair = focus_map_preview(np.stack([labels == 0, labels != 0]).astype(np.float32))
    np.testing.assert_array_equal(pair, np.where(labels == 0, 255, 0))
    many = focus_map_preview(np.eye(12, dtype=np.float32)[:, :, None].repeat(2, 2))
    assert len({tuple(c) for c in many.reshape(-1, 3)}) == 12


def _rotated_pair(folder):
    """Two JPEGs stored sideways (Orientation 6) with an ICC profile and EXIF, focused on different halves."""
    from scipy import ndimage

    rng = np.random.default_rng(0)
    sharp = ndimage.gaussian_filter(rng.random((40, 24, 3)), (0.7, 0.7, 0))
    blurred = ndimage.gaussian_filter(sharp, (2, 2, 0))
    upright = [sharp.copy(), sharp.copy()]
    upright[0][20:] = blurred[20:]
    upright[1][:20] = blurred[:20]
    paths = []
    for k, image in enumerate(upright):
        stored = np.rot90(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8), 1)  # 24x40 on disk
        paths.append(folder / f"s{k + 1}.jpg")
        Image.fromarray(np.ascontiguousarray(stored)).save(paths[-1], quality=100, icc_profile=ICC,
                                                           exif=_exif(6, f"Cam{k + 1}").tobytes())
    return [str(p) for p in paths]


def test_rotated_jpeg_pair_fuses_upright_with_profile_exif_and_preview(tmp_path):
    paths = _rotated_pair(tmp_path)
    out, preview = tmp_path / "fused.jpg", tmp_path / "preview.png"
    assert main(["fuse", *paths, "-o", str(out), "--save-map-preview", str(preview), "--jpeg-quality", "90",
                 "--iterations", "3", "--window", "5", "-q"]) == 0
    with Image.open(out) as image:
        assert image.size == (24, 40)  # width x height: upright
        assert image.info.get("icc_profile") == ICC
        exif = image.getexif()
        assert exif[0x0112] == 1 and exif[271] == "Cam1"  # the anchor (middle = first of two)
    assert read_image(preview).shape == (40, 24, 1)


def test_map_preview_of_three_sources_is_colour(tmp_path):
    from scipy import ndimage

    rng = np.random.default_rng(0)
    sharp = ndimage.gaussian_filter(rng.random((24, 30, 3)), (0.7, 0.7, 0))
    paths = []
    for k in range(3):
        image = ndimage.gaussian_filter(sharp, (2, 2, 0))
        image[:, k * 10:(k + 1) * 10] = sharp[:, k * 10:(k + 1) * 10]
        paths.append(str(tmp_path / f"s{k}.png"))
        write_image(paths[-1], image)
    preview = tmp_path / "p.png"
    assert main(["fuse", *paths, "-o", str(tmp_path / "f.png"), "--save-map-preview", str(preview),
                 "--iterations", "2", "--window", "5", "-q"]) == 0
    image = read_image(preview)
    assert image.shape == (24, 30, 3) and len(np.unique(image.reshape(-1, 3), axis=0)) == 3
    assert main(["fuse", *paths, "-o", str(tmp_path / "g.png"), "--save-map-preview", str(tmp_path / "p.jpg")]) == 2


def test_write_focus_map_preview(tmp_path):
    write_focus_map_preview(tmp_path / "p.png", np.eye(3, dtype=np.float32)[:, :, None].repeat(4, 2))
    assert read_image(tmp_path / "p.png").shape == (3, 4, 3)
