"""Training pairs: determinism, augmentation/swap consistency, generated and VOC masks, VOC 2012 layout."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mffssim.defocus import defocus_pair
from mffssim.detector.data import (SyntheticPairs, embedded_scenes, make_scenes, synthesize_pair,
                                   voc2012_scenes, voc_seg_scenes)
from mffssim.detector.masks import VOC_VOID_COLOUR, random_mask, read_voc_mask

def _image(seed=0, shape=(60, 70)):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def test_pairs_are_deterministic_from_the_seed():
    image = _image()
    a = synthesize_pair(image, None, np.random.default_rng(5), crop=24, sigma_range=(1, 3))
    b = synthesize_pair(image, None, np.random.default_rng(5), crop=24, sigma_range=(1, 3))
    c = synthesize_pair(image, None, np.random.default_rng(6), crop=24, sigma_range=(1, 3))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    assert all(x.shape == (24, 24) and x.dtype == np.float32 for x in a)
    assert set(np.unique(a[2])) <= {0.0, 1.0}


def test_without_augmentation_the_pair_is_the_centre_of_eq16():
    image, matte = _image(1, (40, 40)), np.zeros((40, 40), np.float32)
    matte[10:30, 5:25] = 1
    s1, s2, target = synthesize_pair(image, matte, np.random.default_rng(0), crop=28, sigma_range=(2, 2),
                                     augment=False, swap=False)
    # window = 28 + 2 * 6 = 40 = the whole image; sigma fixed at 2
    e1, e2, focus = defocus_pair(image, matte, 2.0, 2.0)
    np.testing.assert_array_equal(s1, e1[6:34, 6:34, 0])
    np.testing.assert_array_equal(s2, e2[6:34, 6:34, 0])
    np.testing.assert_array_equal(target, focus[0, 6:34, 6:34])


@pytest.mark.parametrize("seed", range(6))
def test_swap_and_rotation_keep_sources_and_target_together(seed):
    image, matte = _image(2, (50, 50)), np.zeros((50, 50), np.float32)
    matte[:, :22] = 1
    plain = synthesize_pair(image, matte, np.random.default_rng(seed), crop=30, sigma_range=(1, 3), swap=False)
    swapped = synthesize_pair(image, matte, np.random.default_rng(seed), crop=30, sigma_range=(1, 3), swap=True)
    same = all(np.array_equal(x, y) for x, y in zip(plain, swapped))
    exchanged = (np.array_equal(plain[0], swapped[1]) and np.array_equal(plain[1], swapped[0])
                 and np.array_equal(1 - plain[2], swapped[2]))
    assert same or exchanged
    # the in-focus source is the sharper one where the target says so (gradient energy inside each region)
    s1, s2, target = swapped
    energy = [np.abs(np.diff(s, axis=0))[:, :] ** 2 + 0 for s in (s1, s2)]
    inside = target[1:] == 1
    assert energy[0][inside].mean() > energy[1][inside].mean()
    assert energy[1][~inside].mean() > energy[0][~inside].mean()


def test_dataset_items_depend_only_on_seed_epoch_index():
    scenes = embedded_scenes(["camera", "coins"])
    data = SyntheticPairs(scenes, samples=5, crop=16, seed=3)
    first = [t.clone() for t in data[2]]
    _ = data[0], data[4]
    assert all(np.array_equal(a, b) for a, b in zip(first, data[2]))
    data.set_epoch(1)
    assert not np.array_equal(first[0], data[2][0])
    assert first[0].shape == (1, 16, 16)
    with pytest.raises(IndexError):
        data[5]


def test_small_images_are_padded_to_the_window():
    s1, s2, target = synthesize_pair(_image(3, (9, 40)), None, np.random.default_rng(0), crop=32,
                                     sigma_range=(1, 2))
    assert s1.shape == (32, 32)


def test_generated_masks_are_binary_and_vary():
    rng = np.random.default_rng(0)
    masks = [random_mask((48, 48), rng) for _ in range(20)]
    assert all(set(np.unique(m)) <= {0.0, 1.0} for m in masks)
    shares = [m.mean() for m in masks]
    assert 0.05 < np.mean(shares) < 0.95 and np.std(shares) > 0.05


def _palette_png(labels, path):
    """An indexed PNG with a full 256-colour palette, as the VOC masks are."""
    image = Image.fromarray(labels, mode="P")
    image.putpalette(list(np.random.default_rng(0).integers(0, 256, 768)))
    image.save(path)


def test_voc_palette_mask_void_handling(tmp_path):
    _palette_png(np.array([[0, 15, 255], [3, 0, 255]], dtype=np.uint8), tmp_path / "p.png")
    np.testing.assert_array_equal(read_voc_mask(tmp_path / "p.png"), [[0, 1, 0.5], [1, 0, 0.5]])
    np.testing.assert_array_equal(read_voc_mask(tmp_path / "p.png", void=1.0), [[0, 1, 1], [1, 0, 1]])
    rgb = np.zeros((1, 3, 3), np.uint8)
    rgb[0, 1] = (128, 0, 0)
    rgb[0, 2] = VOC_VOID_COLOUR
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    np.testing.assert_array_equal(read_voc_mask(tmp_path / "rgb.png", void=0.0), [[0, 1, 0]])
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="bad.png"):
        read_voc_mask(tmp_path / "bad.png")


def _fake_voc2012(root: Path, ids):
    base = root / "VOCdevkit" / "VOC2012"
    for folder in ("JPEGImages", "SegmentationObject", "SegmentationClass", "ImageSets/Segmentation"):
        (base / folder).mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ids:
        Image.fromarray((rng.random((40, 50, 3)) * 255).astype(np.uint8)).save(base / "JPEGImages" / f"{name}.jpg")
        labels = np.zeros((40, 50), np.uint8)
        labels[10:30, 10:30], labels[9, 10:30] = 1, 255
        for kind in ("SegmentationObject", "SegmentationClass"):
            _palette_png(labels, base / kind / f"{name}.png")
    (base / "ImageSets" / "Segmentation" / "train.txt").write_text(ids[0] + "\n")
    return base


def test_voc2012_layout_loader_on_a_fake_archive(tmp_path):
    ids = ["2007_000032", "2007_000033"]
    _fake_voc2012(tmp_path, ids)
    scenes = voc2012_scenes(tmp_path)
    assert [s.name for s in scenes] == ids
    image, matte = scenes[0].load()
    assert image.shape == matte.shape == (40, 50)
    assert matte[20, 20] == 1 and matte[0, 0] == 0 and matte[9, 15] == 0.5
    assert [s.name for s in voc2012_scenes(tmp_path / "VOCdevkit", split="train",
                                           masks="SegmentationClass")] == ids[:1]
    pairs = SyntheticPairs(make_scenes("voc2012", tmp_path), samples=2, crop=24)
    assert pairs[1][0].shape == (1, 24, 24)
    with pytest.raises(FileNotFoundError, match="VOCdevkit/VOC2012/JPEGImages"):
        voc2012_scenes(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="val.txt"):
        voc2012_scenes(tmp_path, split="val")


def test_bad_sources_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="not in skimage.data"):
        embedded_scenes(["no_such_image"])
    with pytest.raises(ValueError, match="unknown training source"):
        make_scenes("imagenet", tmp_path)
    with pytest.raises(FileNotFoundError, match="image.png"):
        voc_seg_scenes(tmp_path)


def test_voc_seg_samples_downloaded(fetch_data):
    root = fetch_data("voc_seg_samples")
    scenes = voc_seg_scenes(root)
    assert len(scenes) == 14
    image, matte = scenes[0].load()
    assert image.shape == matte.shape == (513, 513)
    assert set(np.unique(matte)) == {0.0, 0.5, 1.0}
    s1, s2, target = SyntheticPairs(scenes, samples=1, crop=64, seed=0)[0]
    assert s1.shape == target.shape == (1, 64, 64)


def test_scale_augmentation_keeps_matte_labels_and_is_seeded():
    image, matte = _image(4, (120, 120)), np.zeros((120, 120), np.float32)
    matte[30:90, 30:90], matte[29, 30:90] = 1.0, 0.5  # an object with a void band
    a = synthesize_pair(image, matte, np.random.default_rng(1), crop=32, sigma_range=(1, 2), scale_range=(0.4, 0.6))
    b = synthesize_pair(image, matte, np.random.default_rng(1), crop=32, sigma_range=(1, 2), scale_range=(0.4, 0.6))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert set(np.unique(a[2])) <= {0.0, 0.5, 1.0} and a[0].shape == (32, 32)
    with pytest.raises(ValueError, match="scale_range"):
        synthesize_pair(image, matte, np.random.default_rng(1), crop=32, sigma_range=(1, 2), scale_range=(0, 1))
