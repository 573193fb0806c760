"""Training on real photographs: mattes derived from a synthetic pair and its reference, the folder layouts,
several sources at once, and the split held out by image."""
import numpy as np
import pytest
from scipy import ndimage

from mffssim.defocus import defocus_pair
from mffssim.detector.config import DetectorConfig, real_heldout_dataset, training_dataset, training_scenes
from mffssim.detector.data import folder_scenes, make_scenes, reference_pair_scenes, split_by_image
from mffssim.detector.masks import derived_matte
from mffssim.io import write_image


def _scene(seed=0, shape=(48, 56)):
    """A textured reference with a flat band, its true matte (left part in focus in source 1), the pair."""
    rng = np.random.default_rng(seed)
    reference = ndimage.gaussian_filter(rng.random(shape), 1.0)
    reference = (reference - reference.min()) / np.ptp(reference)
    reference[:, 14:42] = 0.5  # flat: blur changes nothing there, but 3 sigma in from the texture
    matte = np.zeros(shape, np.float32)
    matte[:, :28] = 1  # the boundary runs through the flat band
    source_1, source_2, _ = defocus_pair(reference, matte, 2.0, 2.0)
    return reference, matte, source_1[..., 0], source_2[..., 0]


def test_derived_matte_recovers_the_true_matte_and_fills_flat_areas():
    reference, matte, source_1, source_2 = _scene()
    derived, ambiguous = derived_matte(reference, source_1, source_2)
    assert set(np.unique(derived)) == {0.0, 1.0}
    # the flat band less the blur's reach (3 sigma) and half the 7x7 window each side is ambiguous
    assert (28 - 2 * 9) / 56 <= ambiguous < 28 / 56
    # outside the flat band the rule is exact; inside it the nearest decided label fills in
    np.testing.assert_array_equal(derived[:, :12], 1)
    np.testing.assert_array_equal(derived[:, 44:], 0)
    assert derived[:, 14:42].mean() == pytest.approx(0.5, abs=0.1)
    swapped, _ = derived_matte(reference, source_2, source_1)
    np.testing.assert_array_equal(swapped, 1 - derived)
    with pytest.raises(ValueError, match="no pixel"):
        derived_matte(reference, reference, reference)
    with pytest.raises(ValueError, match="three gray"):
        derived_matte(reference, source_1[:10], source_2)


def _write_pairs(root, count, seed=0):
    for i in range(count):
        reference, _, source_1, source_2 = _scene(seed + i)
        folder = root / f"pair_{i:02d}"
        folder.mkdir(parents=True)
        for name, image in (("reference", reference), ("source_1", source_1), ("source_2", source_2)):
            write_image(folder / f"{name}.png", image[..., None], 8)


def _write_masks(root, count):
    rng = np.random.default_rng(5)
    for i in range(count):
        folder = root / f"img_{i}"
        folder.mkdir(parents=True)
        write_image(folder / "image.png", rng.random((40, 44, 3)), 8)
        mask = np.zeros((40, 44, 3))
        mask[10:30, 10:30] = [0.5, 0, 0]
        write_image(folder / "mask.png", mask, 8)


def test_reference_pair_and_folder_layouts(tmp_path):
    _write_pairs(tmp_path / "pairs", 3)
    _write_masks(tmp_path / "masks", 2)
    scenes = reference_pair_scenes(tmp_path / "pairs")
    assert [s.name for s in scenes] == ["pair_00", "pair_01", "pair_02"]
    image, matte = scenes[0].load()
    assert image.shape == matte.shape == (48, 56) and matte[:, :12].all() and not matte[:, 44:].any()
    assert [s.name for s in folder_scenes(tmp_path / "pairs")] == [s.name for s in scenes]
    assert [s.name for s in folder_scenes(tmp_path / "masks")] == ["img_0", "img_1"]
    assert [s.name for s in make_scenes("mf_voc_subset", tmp_path / "pairs")] == [s.name for s in scenes]
    with pytest.raises(FileNotFoundError, match="neither"):
        folder_scenes(tmp_path)
    with pytest.raises(FileNotFoundError, match="reference"):
        reference_pair_scenes(tmp_path / "masks")
    with pytest.raises(ValueError, match="unknown training source 'flickr'"):
        make_scenes("flickr", tmp_path)


def test_split_is_by_image_stable_and_seeded():
    from mffssim.detector.data import Scene

    scenes = [Scene(f"img_{i:03d}", lambda: None) for i in range(200)]
    training, heldout = split_by_image(scenes, 0.25, seed=0)
    assert 30 <= len(heldout) <= 70 and len(training) + len(heldout) == 200
    assert not {s.name for s in training} & {s.name for s in heldout}
    # an image's side does not depend on the others
    _, fewer = split_by_image(scenes[:100], 0.25, seed=0)
    assert {s.name for s in fewer} == {s.name for s in heldout if s.name < "img_100"}
    assert {s.name for s in split_by_image(scenes, 0.25, seed=1)[1]} != {s.name for s in heldout}
    assert split_by_image(scenes, 0.0)[1] == []
    with pytest.raises(ValueError, match="heldout_share"):
        split_by_image(scenes, 1.0)


def test_several_sources_and_real_heldout(tmp_path):
    _write_pairs(tmp_path / "pairs", 8)
    _write_masks(tmp_path / "masks", 4)
    config = DetectorConfig.from_mapping({
        "source": ["mf_voc_subset", "folder", "embedded"], "images": ["moon"],
        "root": {"mf_voc_subset": str(tmp_path / "pairs"), "folder": str(tmp_path / "masks")},
        "heldout_share": 0.3, "samples_per_epoch": 4, "crop": 16, "heldout_samples": 3, "heldout_crop": 24,
    })
    training, heldout = training_scenes(config)
    names = {s.name for s in training}
    assert "embedded/moon" in names and {s.name.split("/")[0] for s in training} >= {"mf_voc_subset", "folder"}
    assert heldout and not names & {s.name for s in heldout}
    assert all(not s.name.startswith("embedded/") for s in heldout)
    x1, x2, target = training_dataset(config)[0]
    assert x1.shape == (1, 16, 16) and float(target.min()) >= 0 and float(target.max()) <= 1
    assert len(real_heldout_dataset(config)) == 3 and real_heldout_dataset(config)[0][0].shape == (1, 24, 24)
    assert real_heldout_dataset(DetectorConfig.from_mapping({"heldout_share": 0.3})) is None  # embedded only
    with pytest.raises(ValueError, match="distinct"):
        training_scenes(DetectorConfig.from_mapping({"source": ["embedded", "embedded"]}))


def test_noise_reaches_both_sources_not_the_target():
    from mffssim.detector.data import synthesize_pair

    reference, matte, _, _ = _scene(3)

    def pair(noise, seed=4):
        return synthesize_pair(reference.astype(np.float32), matte, np.random.default_rng(seed), crop=24,
                               sigma_range=(1.0, 2.0), noise=noise)

    clean, noisy = pair(0.0), pair(0.05)
    np.testing.assert_array_equal(clean[2], noisy[2])
    for a, b in zip(clean[:2], noisy[:2]):
        spread = float(np.std(b - a))
        assert 0 < spread < 0.05 + 1e-3
    np.testing.assert_array_equal(pair(0.05)[0], noisy[0])  # seeded
    assert not np.allclose(noisy[0] - clean[0], noisy[1] - clean[1])  # independent per source
