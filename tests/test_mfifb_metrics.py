"""The MFIFB benchmark's metrics (``evaluate(..., convention="mfifb")``) against the values of the benchmark's own
MATLAB code run under GNU Octave, on 18 MFIFB triples (6 pairs x CNN, GFF, DSIFT; 3 gray, 3 colour).

Expected values: tests/data/mfifb_octave.csv (its header states the provenance). Images: the data sets ``mfifb``
and ``mfifb_results`` through the test-data downloader (tests/helpers.py), only the six pairs. Tolerances below;
the measured worst relative differences are in docs/metrics.md.
"""
from __future__ import annotations

import csv
import functools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import fetch
from mffssim.metrics import evaluate, qc, qcb, qcv, qp, qy, source_features
from mffssim.metrics.convention import channel_triples, per_channel
from mffssim.metrics.fmi import fmi, sobel_edges

EXPECTED = Path(__file__).parent / "data" / "mfifb_octave.csv"
RELATIVE = 1e-9  # every metric but Qc
# Qc divides by local covariances with C = 2e-16: where they (nearly) cancel, round-off decides the value. With
# roundoff="octave" (Octave's order of operations) it is held to RELATIVE; the default "exact" (flat windows have
# zero variance) differs from Octave by <= 6.4e-3 on 11 of the 13 rows, 0.018 on stand_03/DSIFT, 0.171 on
# savic_10/CNN
QC_ABSOLUTE = 0.2


def _rows() -> list[dict[str, str]]:
    with open(EXPECTED, newline="") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


ROWS = _rows()
PAIRS = tuple(sorted({row["pair"] for row in ROWS}))
TRIPLES = sorted({(row["pair"], row["method"]) for row in ROWS})
METRICS = sorted({row["metric"] for row in ROWS})


def _read(path: Path) -> np.ndarray:
    image = np.asarray(Image.open(path))
    assert image.dtype == np.uint8, f"{path}: expected uint8, got {image.dtype}"
    return image


@functools.lru_cache(maxsize=None)
def _triple(pair: str, method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sources and fused image of one row, as the benchmark's code reads them (``imread``: uint8)."""
    sources = fetch("mfifb", sets=PAIRS) / pair
    (fused,) = (fetch("mfifb_results", sets=PAIRS) / pair).glob(f"{method}.*")
    return _read(next(sources.glob("source_1.*"))), _read(next(sources.glob("source_2.*"))), _read(fused)


@functools.lru_cache(maxsize=None)
def _values(pair: str, method: str) -> dict[str, float]:
    a, b, f = _triple(pair, method)
    return evaluate([a, b], f, metrics=METRICS, convention="mfifb", fmi_thinning="octave")


def test_the_data_cover_the_metrics() -> None:
    assert len(TRIPLES) == 18 and len(PAIRS) == 6
    assert METRICS == sorted(["ag", "ce", "ei", "en", "fmi", "psnr_mfifb", "qc", "qg", "qmi", "qncie", "qw", "sd",
                              "sf", "te", "vif"])


@pytest.mark.parametrize("row", [pytest.param(r, id=f"{r['pair']}-{r['method']}-{r['metric']}") for r in ROWS])
def test_equals_the_benchmark_code(row: dict[str, str]) -> None:
    value = _values(row["pair"], row["method"])[row["metric"]]
    expected = float(row["value"])
    if row["metric"] == "qc":
        assert abs(value - expected) <= QC_ABSOLUTE
        octave = per_channel(lambda x, y, z: qc(x, y, z, roundoff="octave"), *_triple(row["pair"], row["method"]))
        assert abs(octave - expected) <= RELATIVE * abs(expected), f"{octave!r} vs {expected!r}"
    else:
        assert abs(value - expected) <= RELATIVE * abs(expected), f"{value!r} vs {expected!r}"


@pytest.mark.parametrize("name, metric", [("qy", qy), ("qcb", qcb), ("qcv", qcv), ("qp", qp)])
def test_survey_metrics_under_mfifb_are_the_channel_mean(name, metric) -> None:
    """No oracle row covers them: under mfifb each is the mean of the survey function over R, G and B."""
    a, b, f = _triple("savic_01", "GFF")
    assert f.ndim == 3
    expected = np.mean([metric(a[:, :, k], b[:, :, k], f[:, :, k]) for k in range(3)])
    assert evaluate([a, b], f, metrics=[name], convention="mfifb")[name] == pytest.approx(expected, rel=1e-14)
    assert evaluate([a, b], f, metrics=[name])[name] == metric(a, b, f)  # survey: the luminance


def test_cached_features_under_mfifb_give_the_same_values(tmp_path) -> None:
    from mffssim.metrics import load_features, save_features

    a, b, f = _triple("savic_01", "CNN")
    save_features(tmp_path / "f.npz", source_features([a, b], convention="mfifb"))
    features = load_features(tmp_path / "f.npz")
    assert len(features) == 2 and len(features[0]) == 3
    cached = evaluate([a, b], f, metrics=["qp"], convention="mfifb", features=features)
    assert cached == evaluate([a, b], f, metrics=["qp"], convention="mfifb")
    with pytest.raises(ValueError, match="computed under the mfifb convention, used under survey"):
        evaluate([a, b], f, metrics=["qp"], features=features)


def test_octave_and_matlab_thinning_differ_on_the_triples() -> None:
    """The two thinning rules give different edge maps, so the oracle rows pin the Octave one."""
    a, b, f = _triple("stand_01", "CNN")
    image = a.astype(np.float64)
    assert np.sum(sobel_edges(image, "octave") != sobel_edges(image, "matlab")) > 100
    assert fmi(a, b, f, thinning="matlab") - fmi(a, b, f, thinning="octave") > 1e-3


def test_gray_pair_with_a_colour_fused_image() -> None:
    """MEFB's rule, built by hand: every metric scores F's first channel, AG the unrounded rgb2gray of F."""
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (40, 44), dtype=np.uint8)
    b = rng.integers(0, 256, (40, 44), dtype=np.uint8)
    f = rng.integers(0, 256, (40, 44, 3), dtype=np.uint8)
    names = ["ce", "ei", "en", "qmi", "qg", "sd", "sf", "te", "qw", "psnr_mfifb", "fmi"]
    colour = evaluate([a, b], f, metrics=names + ["ag"], convention="mfifb")
    first = evaluate([a, b], f[:, :, 0], metrics=names, convention="mfifb")
    assert {name: colour[name] for name in names} == first
    gray = f.astype(np.float64) @ np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])
    dy, dx = np.gradient(gray)
    expected = np.sum(np.sqrt((dx * dx + dy * dy) / 2)) / (39 * 43)
    assert colour["ag"] == pytest.approx(expected, rel=1e-14)
    assert channel_triples(a, b, f)[0][2].tolist() == f[:, :, 0].tolist()
    with pytest.raises(ValueError, match="gray fused image of colour sources"):
        evaluate([f, f], a, metrics=["sd"], convention="mfifb")


def test_matlab_thinning_on_a_step_edge() -> None:
    """A vertical step: the two columns beside it have equal strength. MATLAB's rule (left neighbour <=, right
    neighbour <, tested across the edge since |gx| > |gy| = 0) keeps the right one; Octave's (strictly above
    both horizontal or both vertical neighbours) keeps neither."""
    image = np.zeros((12, 16))
    image[:, 8:] = 100.0
    expected = np.zeros((12, 16), dtype=bool)
    expected[:, 8] = True
    assert np.array_equal(sobel_edges(image, "matlab"), expected)
    assert not sobel_edges(image, "octave").any()
    with pytest.raises(ValueError, match="thinning: expected 'matlab' or 'octave'"):
        sobel_edges(image, "canny")


def test_ssim_mfifb_equals_scikit_image() -> None:
    """No output of the benchmark's code exists for its SSIM; it is Wang's ssim_index summed over the sources,
    which scikit-image computes with these settings."""
    from skimage.metrics import structural_similarity

    a, b, f = _triple("savic_01", "DSIFT")
    settings = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False, "data_range": 255}
    expected = np.mean([sum(structural_similarity(s[:, :, k].astype(np.float64), f[:, :, k].astype(np.float64),
                                                  **settings) for s in (a, b)) for k in range(3)])
    value = evaluate([a, b], f, metrics=["ssim_mfifb"], convention="mfifb")["ssim_mfifb"]
    assert value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("convention", ["survey", "mfifb"])
def test_degenerate_and_identical_inputs(convention) -> None:
    """No NaN on constant images; identical sources and fused image give each metric's ideal value."""
    from mffssim.metrics import MFIFB_METRICS

    flat = np.full((48, 50, 3), 77, np.uint8)
    values = evaluate([flat, flat], flat, metrics=list(MFIFB_METRICS), convention=convention)
    assert all(not np.isnan(v) for v in values.values()), values
    image = np.random.default_rng(5).integers(0, 256, (48, 50, 3), dtype=np.uint8)
    same = evaluate([image, image], image, metrics=list(MFIFB_METRICS), convention=convention)
    assert same["ce"] == 0 and same["fmi"] == 1 and same["psnr_mfifb"] == np.inf
    for name, ideal in (("ssim_mfifb", 2.0), ("qc", 1.0), ("qw", 1.0), ("vif", 1.0), ("qmi", 2.0)):
        assert same[name] == pytest.approx(ideal, abs=1e-9), name
