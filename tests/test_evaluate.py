"""``evaluate``: which metrics it computes, their order, the K > 2 rule, and its errors."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from mffssim.metrics import METRIC_NAMES, evaluate, fsim, psnr, qcv, qg, qmi, qp, ssim

NO_REFERENCE = ["qmi", "qncie", "qg", "qe", "qy", "qcb", "qcv", "qp"]


def _images(k: int = 2, shape: tuple[int, int] = (40, 48)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(K, H, W, 3) float32 sources in [0, 1], a fused image and a reference, from one seeded scene."""
    rng = np.random.default_rng(k)
    reference = rng.random((*shape, 3)).astype(np.float32)
    sources = np.stack([np.clip(reference + rng.normal(0, 0.05 * (i + 1), reference.shape), 0, 1) for i in range(k)])
    fused = sources.mean(axis=0)
    return sources.astype(np.float32), fused.astype(np.float32), reference


def test_default_sets() -> None:
    sources, fused, reference = _images()
    without = evaluate(sources, fused)
    assert list(without) == NO_REFERENCE
    with_reference = evaluate(sources, fused, reference=reference)
    assert list(with_reference) == ["psnr", "ssim", "fsim"] + NO_REFERENCE
    assert all(isinstance(value, float) for value in with_reference.values())
    assert {name: with_reference[name] for name in NO_REFERENCE} == without
    assert evaluate(sources, fused, metrics=[]) == without


def test_two_sources_equal_the_metric_functions() -> None:
    sources, fused, reference = _images()
    values = evaluate(sources, fused, reference=reference, metrics=["qcv", "psnr", "qg", "fsim", "ssim", "qp"])
    assert list(values) == ["qcv", "psnr", "qg", "fsim", "ssim", "qp"]
    assert values["qcv"] == qcv(sources[0], sources[1], fused)
    assert values["qg"] == qg(sources[0], sources[1], fused)
    assert values["qp"] == qp(sources[0], sources[1], fused)
    assert values["psnr"] == psnr(reference, fused)
    assert values["ssim"] == ssim(reference, fused)
    assert values["fsim"] == fsim(reference, fused)


def test_a_list_of_sources_equals_the_stacked_array() -> None:
    sources, fused, _ = _images()
    assert evaluate(list(sources), fused, metrics=["qmi", "qg"]) == evaluate(sources, fused, metrics=["qmi", "qg"])


def test_more_than_two_sources_average_all_pairs() -> None:
    sources, fused, _ = _images(k=3)
    values = evaluate(sources, fused, metrics=["qmi", "qg", "qp"])
    for name, metric in (("qmi", qmi), ("qg", qg), ("qp", qp)):
        pairs = [metric(a, b, fused) for a, b in itertools.combinations(sources, 2)]
        assert len(pairs) == 3
        assert values[name] == pytest.approx(float(np.mean(pairs)), abs=1e-15)


def test_full_reference_names_are_skipped_without_a_reference() -> None:
    sources, fused, _ = _images()
    assert list(evaluate(sources, fused, metrics=["psnr", "qmi", "fsim"])) == ["qmi"]


def test_duplicate_names_are_computed_once() -> None:
    sources, fused, _ = _images()
    assert list(evaluate(sources, fused, metrics=["qg", "qmi", "qg"])) == ["qg", "qmi"]


def test_unknown_name_lists_the_valid_ones() -> None:
    sources, fused, _ = _images()
    with pytest.raises(ValueError, match=r"unknown name\(s\) \['nmi'\]; valid names are psnr, ssim, fsim, qmi"):
        evaluate(sources, fused, metrics=["qmi", "nmi"])
    with pytest.raises(ValueError, match="expected a list of names"):
        evaluate(sources, fused, metrics="qmi")
    assert set(METRIC_NAMES) == {"psnr", "ssim", "fsim", *NO_REFERENCE, "ag", "ce", "ei", "en", "fmi", "psnr_mfifb",
                                 "sd", "sf", "te", "qc", "qw", "vif", "ssim_mfifb"}


def test_conventions() -> None:
    """Under mfifb the default set is the MFIFB benchmark's 20 metrics; an unknown convention is named."""
    from mffssim.metrics import MFIFB_METRICS

    sources, fused, reference = _images(shape=(48, 48))
    assert list(evaluate(sources, fused, convention="mfifb")) == list(MFIFB_METRICS)
    assert list(evaluate(sources, fused, reference=reference, convention="mfifb"))[:3] == ["psnr", "ssim", "fsim"]
    with pytest.raises(ValueError, match="convention: expected one of survey, mfifb, got 'matlab'"):
        evaluate(sources, fused, convention="matlab")
    with pytest.raises(ValueError, match="fmi_thinning: expected 'matlab' or 'octave'"):
        evaluate(sources, fused, metrics=["fmi"], fmi_thinning="sobel")


def test_bad_shapes_are_named() -> None:
    sources, fused, reference = _images()
    with pytest.raises(ValueError, match="need at least 2 source images, got 1"):
        evaluate(sources[:1], fused)
    with pytest.raises(ValueError, match="source 2 has shape"):
        evaluate([sources[0], sources[1][:-1]], fused)
    with pytest.raises(ValueError, match="fused: size"):
        evaluate(sources, fused[:-2])
    with pytest.raises(ValueError, match="reference: size"):
        evaluate(sources, fused, reference=reference[:, :-2])


@pytest.mark.parametrize("k", [2, 3])
def test_cached_source_features_give_the_same_values(tmp_path, k) -> None:
    """evaluate(features=source_features(sources)) (saved and reloaded, as the workflow caches them per set)
    equals evaluate without them, for two and three sources."""
    from mffssim.metrics import load_features, save_features, source_features

    rng = np.random.default_rng(k)
    sources = rng.random((k, 48, 40, 3)).astype(np.float32)
    fused = sources.mean(axis=0)
    save_features(tmp_path / "f.npz", source_features(sources))
    features = load_features(tmp_path / "f.npz")
    assert evaluate(sources, fused, features=features) == evaluate(sources, fused)
    with pytest.raises(ValueError, match="2 sources' features for 3 sources"):
        evaluate(np.concatenate([sources, sources])[:3], fused, features=features[:2])
