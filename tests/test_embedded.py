"""The embedded synthetic dataset: offline, deterministic, exact references and focus maps; and the
layered defocus model it uses."""
from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from mffssim.datasets import EMBEDDED_SETS, make_embedded_dataset, make_embedded_set
import json

from mffssim.datasets.embedded import DEPTH_SIGMA_RANGE, LAYER_STEP_RANGE, SIGMA_RANGE
from mffssim.defocus import defocus_layers, defocus_pair
from mffssim.io import find_image_sets, read_focus_map, read_image, read_image_set

# no blur reaches further than int(3 sigma + 0.5) pixels (gaussian_blur truncates there); at size 192
LARGEST_REACH = int(3 * max(SIGMA_RANGE[1], DEPTH_SIGMA_RANGE[1], 2 * LAYER_STEP_RANGE[1]) + 0.5)


def _spill_reach(sigmas: list[list[float]], k: int) -> int:
    """How far the layers nearer than source k's focal layer spill into it (0: none is nearer)."""
    row = sigmas[k]
    focal = row.index(0.0)
    return max([int(3 * s + 0.5) for s in row[focal + 1:]], default=0)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def embedded(tmp_path_factory) -> Path:
    """The default embedded dataset (seed 0), made with every network connection refused."""
    root = tmp_path_factory.mktemp("embedded")

    def refuse(*args, **kwargs):
        raise OSError("network access attempted while making the embedded dataset")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket, "create_connection", refuse)
        assert make_embedded_dataset(root, seed=0) == list(EMBEDDED_SETS)
    return root


def _load(root: Path, set_id: str):
    files = find_image_sets(root)[set_id]
    sources, _ = read_image_set(files.sources)
    reference = read_image(files.reference)
    focus_map = read_focus_map(files.focus_map, len(files.sources), reference.shape[:2])
    return sources, reference, focus_map


def test_layout_sizes_and_variety(embedded):
    sets = find_image_sets(embedded)
    assert list(sets) == sorted(EMBEDDED_SETS)
    ks, channels = [], []
    for files in sets.values():
        assert files.reference is not None and files.focus_map is not None
        assert [p.name for p in files.sources] == [f"source_{k}.png" for k in range(1, len(files.sources) + 1)]
        sources, depth = read_image_set(files.sources)
        assert depth == 8 and min(sources.shape[1:3]) == 192 and max(sources.shape[1:3]) <= 320
        ks.append(len(files.sources))
        channels.append(sources.shape[3])
    assert 6 <= len(sets) <= 8 and 3 in ks and 2 in ks and 1 in channels and 3 in channels


def test_same_seed_same_bytes_other_seed_other_bytes(embedded, tmp_path):
    make_embedded_dataset(tmp_path / "again", seed=0)
    assert _files(tmp_path / "again") == _files(embedded)
    picked = ["coins", "chelsea_k3", "motorcycle_k3"]
    make_embedded_dataset(tmp_path / "other", seed=1, sets=picked)
    other, first = _files(tmp_path / "other"), _files(embedded)
    for set_id in picked:
        assert other[f"{set_id}/reference.png"] == first[f"{set_id}/reference.png"]  # same scene
        assert other[f"{set_id}/source_1.png"] != first[f"{set_id}/source_1.png"]  # other blur


def test_a_set_does_not_depend_on_the_others(embedded, tmp_path):
    make_embedded_dataset(tmp_path, seed=0, sets=["horse"])
    assert _files(tmp_path) == {k: v for k, v in _files(embedded).items() if k.startswith("horse/")}


def test_files_hold_what_make_embedded_set_returns(embedded):
    made = make_embedded_set("chelsea_k3", seed=0)
    sources, reference, focus_map = _load(embedded, "chelsea_k3")
    np.testing.assert_array_equal(sources, made.sources)
    np.testing.assert_array_equal(reference, made.reference)
    np.testing.assert_array_equal(focus_map, made.focus_map)
    assert made.recipe["model"] == "layers" and made.recipe["seed"] == 0


def _laplacian_energy(image: np.ndarray, where: np.ndarray) -> float:
    """Mean squared Laplacian over the pixels ``where`` (a measure of fine detail)."""
    return float(sum(np.mean(ndimage.laplace(image[:, :, c])[where] ** 2) for c in range(image.shape[2])))


@pytest.mark.parametrize("set_id", EMBEDDED_SETS)
def test_content_matches_the_focus_map(embedded, set_id):
    sources, reference, focus_map = _load(embedded, set_id)
    recipe = json.loads((embedded / set_id / "recipe.json").read_text())
    assert np.array_equal(focus_map.sum(axis=0), np.ones(focus_map.shape[1:]))  # one-hot
    for k, source in enumerate(sources):
        sharp = focus_map[k] > 0.5
        assert 0.02 < sharp.mean() < 0.98, f"source {k + 1} is sharpest on {sharp.mean():.1%} of the image"
        # beyond the reach of nearer blurred layers, the sharp source is the reference itself ...
        reach = _spill_reach(recipe["sigmas"], k)
        assert reach <= LARGEST_REACH
        interior = ndimage.distance_transform_cdt(sharp, metric="chessboard") > reach
        assert interior.sum() > 0.01 * sharp.size
        np.testing.assert_array_equal(source[interior], reference[interior])
        # ... while where it is not the sharpest it is blurred: different, and (away from the matte's
        # edge, where a sharp object meets a smoothed background) less detailed than the reference
        blurred = ~sharp
        assert np.abs(source[blurred] - reference[blurred]).mean() > 0.005
        inside = ndimage.distance_transform_cdt(blurred, metric="chessboard") > 3
        assert _laplacian_energy(source, inside) < 0.5 * _laplacian_energy(reference, inside)
    # sources differ where the map says the first one is in focus
    first = focus_map[0] > 0.5
    assert np.abs(sources[0][first] - sources[1][first]).mean() > 0.005


@pytest.mark.parametrize("set_id", ["camera", "coins", "horse", "astronaut", "coffee"])
def test_blurred_foreground_spills_over_sharp_background(embedded, set_id):
    """Eq. 16's defocus spread: beside the boundary, source 2's sharp background is contaminated by the
    blurred foreground, while source 1's sharp foreground stays exact up to its edge."""
    sources, reference, focus_map = _load(embedded, set_id)
    foreground = focus_map[0] > 0.5
    background_band = ~foreground & (ndimage.distance_transform_edt(~foreground) <= 2)
    foreground_edge = foreground & (ndimage.distance_transform_edt(foreground) <= 2)
    assert np.abs(sources[1][background_band] - reference[background_band]).mean() > 0.01
    np.testing.assert_array_equal(sources[0][foreground_edge], reference[foreground_edge])


def test_k3_map_labels_and_depth_order(embedded):
    for set_id in ("chelsea_k3", "motorcycle_k3"):
        files = find_image_sets(embedded)[set_id]
        labels = np.round(read_image(files.focus_map)[:, :, 0] * 255).astype(int)
        assert set(np.unique(labels)) == {1, 2, 3}
    # source 1 focuses the nearest layer; blur grows with the distance from the focal layer
    made = make_embedded_set("motorcycle_k3", seed=0)
    sigmas = np.array(made.recipe["sigmas"])
    assert np.allclose(np.diag(sigmas[:, ::-1]), 0.0)  # source k is sharp on layer K-1-k
    assert sigmas[0, 0] == sigmas.max() and sigmas[2, 2] == sigmas.max()
    assert sigmas[0, 0] > sigmas[0, 1] > 0 and sigmas[2, 2] > sigmas[2, 1] > 0


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown embedded set.*'nope'.*known sets: camera"):
        make_embedded_dataset(tmp_path, sets=["camera", "nope"])
    with pytest.raises(ValueError, match="seed"):
        make_embedded_dataset(tmp_path, seed=-1)
    with pytest.raises(ValueError, match="size"):
        make_embedded_set("camera", size=8)
    assert not list(tmp_path.iterdir())


def test_size_sets_the_shorter_side(tmp_path):
    made = make_embedded_set("coffee", seed=0, size=64)
    assert made.sources.shape == (2, 64, 96, 3) and made.reference.shape == (64, 96, 3)


# ----------------------------------------------------------------------------- layered defocus
def test_two_layers_are_exactly_eq16():
    rng = np.random.default_rng(3)
    image = rng.random((40, 50, 3)).astype(np.float32)
    alpha = np.zeros((40, 50), np.float32)
    alpha[10:28, 12:40] = 1.0
    source_1, source_2, _ = defocus_pair(image, alpha, 2.5, 1.5)
    layers = np.stack([1.0 - alpha, alpha])
    np.testing.assert_allclose(defocus_layers(image, layers, [1.5, 0.0]), source_1, atol=1e-6)
    np.testing.assert_allclose(defocus_layers(image, layers, [0.0, 2.5]), source_2, atol=1e-6)
    np.testing.assert_array_equal(defocus_layers(image, layers, [0.0, 0.0]), image)


def test_layers_must_partition_the_image():
    image = np.zeros((8, 8, 1), np.float32)
    with pytest.raises(ValueError, match="partition"):
        defocus_layers(image, np.zeros((2, 8, 8)), [1.0, 0.0])
    with pytest.raises(ValueError, match="one sigma per layer"):
        defocus_layers(image, np.stack([np.ones((8, 8)), np.zeros((8, 8))]), [1.0])
    with pytest.raises(ValueError, match="shape"):
        defocus_layers(image, np.ones((1, 4, 4)), [1.0])
