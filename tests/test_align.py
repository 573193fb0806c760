"""Registration of focus stacks (mffssim.align) and the commands `mffssim align` / `fuse --align`."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from skimage import data, transform

from mffssim.align import (
    Alignment, AlignmentError, _half, align_stack, common_area, corner_error, estimate_transform, format_transforms,
    match_blur, read_transforms, similarity_matrix, warp_frame, warp_frames, write_transforms,
)
from mffssim.cli import main
from mffssim.defocus import gaussian_blur
from mffssim.io import read_image, write_image

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def picture(shape=(160, 200)):
    return transform.resize(data.astronaut(), shape, anti_aliasing=True).astype(np.float32)


def stack(shape=(160, 200), seed=0, count=3):
    """Frames focused on vertical bands, each moved by a known similarity; the true frame->anchor matrices."""
    rng = np.random.default_rng(seed)
    sharp = picture(shape)
    w = shape[1]
    frames, truths = [], []
    anchor = (count - 1) // 2
    for k in range(count):
        band = np.zeros(shape + (1,), np.float32)
        band[:, k * w // count:(k + 1) * w // count] = 1
        frame = sharp * band + gaussian_blur(sharp, 2.5) * (1 - band)
        if k == anchor:
            truths.append(np.eye(3))
        else:
            move = similarity_matrix(rng.uniform(0.96, 1.04), rng.uniform(-1, 1), *rng.uniform(-8, 8, 2), shape)
            frame = warp_frame(frame, np.linalg.inv(move))  # frame pixel x shows the anchor at move @ x
            truths.append(move)  # frame -> anchor
        frames.append(frame)
    return np.stack(frames), truths


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recovers_known_similarities_across_focus(seed):
    frames, truths = stack(seed=seed)
    alignment = align_stack(frames)
    assert alignment.anchor == 1
    for k in range(3):
        assert corner_error(alignment.transforms[k], truths[k], frames.shape[1:3]) < 0.2
    x0, y0, w, h = alignment.crop
    assert 0 <= x0 and 0 <= y0 and x0 + w <= 200 and y0 + h <= 160 and w * h > 0.6 * 200 * 160


def test_each_model_recovers_a_similarity():
    frames, truths = stack(seed=3, count=2)
    for model, limit in (("affine", 0.3), ("homography", 0.5)):  # more parameters, the same 200x160 pixels
        matrix, score = estimate_transform(frames[1], frames[0], model=model)
        assert corner_error(matrix, truths[1], frames.shape[1:3]) < limit, model
        assert score > 0.5


def low_texture_pair(seed, shape=(128, 192)):
    """Two views of scikit-image's rocket (mostly flat sky): the fixed one sharp on the left half, the moving
    one sharp on the right half and moved by a known similarity; both rendered at 2x and reduced, so the
    moved view is not a resampled copy. Returns fixed, moving and the true moving -> fixed matrix."""
    rng = np.random.default_rng(seed)
    h, w = shape
    hi = transform.resize(data.rocket(), (2 * h, 2 * w), anti_aliasing=True).astype(np.float32)
    left = np.zeros((2 * h, 2 * w, 1), np.float32)
    left[:, :w] = 1
    blurred = gaussian_blur(hi, 5.0)
    near, far = hi * left + blurred * (1 - left), hi * (1 - left) + blurred * left
    move = similarity_matrix(rng.uniform(0.97, 1.03), rng.uniform(-1, 1), *rng.uniform(-6, 6, 2), shape)
    down = np.array([[0.5, 0, -0.25], [0, 0.5, -0.25], [0, 0, 1.0]])  # 2x pixel coordinates -> 1x
    move_hi = np.linalg.inv(down) @ move @ down
    return _half(near), _half(warp_frame(far, np.linalg.inv(move_hi))), move  # a camera's pixels: 2x2 means


def test_blur_matching_recovers_a_subpixel_similarity_on_low_texture():
    errors, plain = [], []
    for seed in (0, 1, 2):
        fixed, moving, truth = low_texture_pair(seed)
        matrix, score = estimate_transform(moving, fixed)
        errors.append(corner_error(matrix, truth, fixed.shape[:2]))
        assert score > 0.5
        matrix, _ = estimate_transform(moving, fixed, blur_matching=False)
        plain.append(corner_error(matrix, truth, fixed.shape[:2]))
    assert max(errors) < 0.2, errors
    # the plain least-squares fit of a sharp and a defocused view is biased; blur matching removes most of it
    assert np.mean(plain) > 2 * np.mean(errors), (plain, errors)


def test_images_of_two_sizes_are_registered():
    """A moving image cropped by (3, 5) px at the top left (another program's output may be smaller)."""
    frames, truths = stack(seed=1, count=2)
    crop = np.array([[1, 0, 3], [0, 1, 5], [0, 0, 1.0]])  # cropped pixel -> the frame's pixel
    matrix, score = estimate_transform(frames[1][5:-5, 3:-3], frames[0])
    assert score > 0.5
    assert corner_error(matrix, truths[1] @ crop, frames.shape[1:3]) < 0.05


def test_match_blur_blurs_the_sharper_image_only():
    sharp = picture().mean(axis=2)
    blurred = gaussian_blur(sharp, 2.0)
    first, second = match_blur(sharp, blurred)
    np.testing.assert_array_equal(second, blurred)  # the blurred image is never blurred further here
    assert np.abs(first - sharp).mean() > 0.01
    before = np.abs(ndimage.gaussian_filter(sharp, 1) - ndimage.gaussian_filter(blurred, 1)).mean()
    after = np.abs(ndimage.gaussian_filter(first, 1) - ndimage.gaussian_filter(second, 1)).mean()
    assert after < 0.3 * before
    swapped = match_blur(blurred, sharp)
    np.testing.assert_array_equal(swapped[0], second)
    np.testing.assert_array_equal(swapped[1], first)
    with pytest.raises(ValueError, match="two gray images of one shape"):
        match_blur(sharp, sharp[:-1])
    with pytest.raises(ValueError, match="must be positive"):
        match_blur(sharp, blurred, sigmas=(1.0, 0.0))


def test_default_resampling_keeps_detail():
    """A picture (with a camera's slight blur) warped by a similarity and back stays above 50 dB with the
    default quintic B-spline; bilinear resampling loses more than 10 dB of that."""
    image = gaussian_blur(picture(), 0.7)
    move = similarity_matrix(1.02, 0.7, 3.3, -2.6, image.shape[:2])
    inner = (slice(30, -30), slice(30, -30))

    def psnr(order):
        back = warp_frame(warp_frame(image, move, order=order), np.linalg.inv(move), order=order)
        return 10 * np.log10(1 / np.mean((back[inner] - image[inner]) ** 2))

    default = psnr(5)
    assert default > 50
    assert psnr(1) < default - 10


def test_unrelated_images_fail_clearly():
    a = picture()
    b = transform.resize(data.camera(), (160, 200), anti_aliasing=True).astype(np.float32)[:, :, None].repeat(3, 2)
    with pytest.raises(AlignmentError, match=r"^frame 1.*alignment failed|^frame 1.*implausible"):
        align_stack(np.stack([a, b]), anchor=1)


def test_flat_images_fail_clearly():
    flat = np.full((2, 64, 64, 1), 0.5, np.float32)
    with pytest.raises(AlignmentError, match="frame 2"):
        align_stack(flat)


def test_common_area_of_identity_and_shift():
    eye = np.tile(np.eye(3), (2, 1, 1))
    assert common_area(eye, (20, 30)) == (0, 0, 30, 20)
    eye[1, 0, 2] = 3.0  # frame 2 lands 3 px to the right: anchor columns 0..2 are not covered
    assert common_area(eye, (20, 30)) == (3, 0, 27, 20)


def test_warp_frames_crops_and_keeps_the_anchor():
    frames, _ = stack(seed=0)
    alignment = align_stack(frames)
    out = warp_frames(frames, alignment)
    x0, y0, w, h = alignment.crop
    assert out.shape == (3, h, w, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out[1], frames[1][y0:y0 + h, x0:x0 + w])
    full = warp_frames(frames, alignment, crop=False)
    assert full.shape == frames.shape


def test_brightness_matching_fits_gain_and_offset():
    frames, _ = stack(seed=0, count=2)
    frames[0] = np.clip(frames[0] * 0.8 + 0.05, 0, 1)
    alignment = align_stack(frames, match_brightness=True, anchor=1)
    np.testing.assert_allclose(alignment.gains[0], 1 / 0.8, rtol=0.05)
    np.testing.assert_allclose(alignment.offsets[0], -0.05 / 0.8, atol=0.02)


def test_transforms_file_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    matrices = np.tile(np.eye(3), (3, 1, 1))
    matrices[0, :2] += rng.normal(0, 0.01, (2, 3))
    alignment = Alignment(matrices, 1, (40, 50), (2, 3, 45, 30), "affine", np.array([0.9, 1.0, 0.8]),
                          rng.random((3, 3)), rng.random((3, 3)), ["a b.jpg", "c.jpg", "d.jpg"])
    path = tmp_path / "t.tsv"
    write_transforms(path, alignment)
    back = read_transforms(path)
    np.testing.assert_array_equal(back.transforms, matrices)
    assert (back.anchor, back.shape, back.crop, back.model, back.names) == (1, (40, 50), (2, 3, 45, 30), "affine", alignment.names)
    np.testing.assert_array_equal(back.gains, alignment.gains)
    np.testing.assert_array_equal(back.offsets, alignment.offsets)
    assert format_transforms(back) == path.read_text()
    (tmp_path / "bad.tsv").write_text(path.read_text().replace("\t0.0\t", "\tx\t", 1))
    with pytest.raises(ValueError, match=r"bad.tsv:\d+: could not convert"):
        read_transforms(tmp_path / "bad.tsv")
    (tmp_path / "none.tsv").write_text("hello\n")
    with pytest.raises(ValueError, match="none.tsv: not a transforms file"):
        read_transforms(tmp_path / "none.tsv")


def _write_stack(folder, count=3, seed=0):
    frames, truths = stack(seed=seed, count=count)
    paths = []
    for k, frame in enumerate(frames):
        paths.append(str(folder / f"f{k + 1}.png"))
        write_image(paths[-1], frame)
    return paths, truths


def test_align_command_writes_frames_and_transforms(tmp_path, capsys):
    paths, truths = _write_stack(tmp_path)
    out = tmp_path / "aligned"
    assert main(["align", *paths, "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "cropped to the common area" in err
    alignment = read_transforms(out / "transforms.tsv")
    assert alignment.names == ["f1.png", "f2.png", "f3.png"]
    for k in range(3):
        assert corner_error(alignment.transforms[k], truths[k], (160, 200)) < 0.3
    x0, y0, w, h = alignment.crop
    assert read_image(out / "source_1.png").shape == (h, w, 3)
    assert sorted(p.name for p in out.iterdir()) == ["source_1.png", "source_2.png", "source_3.png", "transforms.tsv"]


def test_align_command_fails_in_one_line_and_writes_nothing(tmp_path, capsys):
    a = tmp_path / "a.png"
    b = tmp_path / "b.png"
    write_image(a, picture())
    write_image(b, np.full((160, 200, 3), 0.5, np.float32))
    out = tmp_path / "aligned"
    assert main(["align", str(a), str(b), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mffssim align: error: ") and "b.png" in err[0]
    assert not out.exists()


def test_fuse_align_end_to_end(tmp_path, capsys):
    paths, _ = _write_stack(tmp_path, count=2)
    out = tmp_path / "fused.png"
    transforms = tmp_path / "t.tsv"
    assert main(["fuse", *paths, "-o", str(out), "--align", "--save-transforms", str(transforms),
                 "--iterations", "3", "--window", "5", "-q"]) == 0
    err = capsys.readouterr().err
    assert "cropped to the common area" in err and "misregistered" not in err
    alignment = read_transforms(transforms)
    assert read_image(out).shape == (alignment.crop[3], alignment.crop[2], 3)


def test_fuse_warns_about_a_misregistered_stack(tmp_path, capsys):
    paths, _ = _write_stack(tmp_path, count=2)
    assert main(["fuse", *paths, "-o", str(tmp_path / "o.png"), "--iterations", "2", "--window", "5", "-q"]) == 0
    err = capsys.readouterr().err
    assert "warning: the sources look misregistered" in err and "--align" in err
    # a registered pair: no warning
    sharp = picture()
    write_image(tmp_path / "r1.png", sharp)
    write_image(tmp_path / "r2.png", gaussian_blur(sharp, 1.5))
    assert main(["fuse", str(tmp_path / "r1.png"), str(tmp_path / "r2.png"), "-o", str(tmp_path / "r.png"),
                 "--iterations", "2", "--window", "5", "-q"]) == 0
    assert "misregistered" not in capsys.readouterr().err
