"""The no-reference fusion metrics against the MATLAB values of the MFIF survey, on every fused image of
the ``fusion_metrics`` test vectors (69 rows: c_01, c_02, g_01, g_02).

The vectors (source pairs, fused results and the survey's per-image MATLAB tables ``Q_color.mat`` and
``Q_grayscale.mat``; docs/testvectors.md) are downloaded by tests/helpers.py; the
expected values are read from the tables (``helpers.fusion_expected``). Tolerances are per metric and row
group, each the tightest that the measured agreement supports with a margin for platform round-off
(measured maxima in comments).
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
import tifffile

from mffssim.metrics import qcb, qcv, qe, qg, qmi, qncie, qy
from helpers import fetch, fusion_expected, fusion_rows
from mffssim.metrics._common import gray_255, gray_triple, window_is_flat

METRICS = {"QMI": qmi, "QNCIE": qncie, "QG": qg, "QE": qe, "QY": qy, "QCB": qcb, "QCV": qcv}
TOLERANCE = {  # measured max |ours - MATLAB| over all 69 rows in the comment
    "QMI": 1e-11,  # 4.0e-15
    "QNCIE": 1e-11,  # 2.2e-16
    "QG": 1e-12,  # 2.0e-15
    "QE": 1e-11,  # 9.0e-15 outside c_02; c_02 below
    "QY": 1e-10,  # 3.3e-13 on rows without round-off-decided windows; the others below
    "QCB": 1e-11,  # 1.6e-14
    "QCV": 1e-10,  # 2.8e-14 (values up to ~140)
}
# c_02 has 8 x 8 windows flat in both sources: MATLAB's round-off there moves QE by ~1e-7 (measured 9.8e-8).
QE_C02_TOLERANCE = 1e-6


ROWS = fusion_rows()  # from the mirror's manifest: the cases are known before the files are fetched
CASES = [pytest.param(row, name, id=f"{row['image']}-{row['method']}-{name}") for row in ROWS for name in METRICS]


@pytest.fixture(autouse=True)
def _vectors() -> None:
    """Every test here needs the vectors: fetched once per session, or a skip (CI: a failure) naming them."""
    fetch("fusion_metrics")


def _expected(row: dict[str, str], name: str) -> float:
    return fusion_expected(fetch("fusion_metrics"), row)[name]


@functools.lru_cache(maxsize=None)
def _file(relative: str) -> np.ndarray:
    """A test-vector TIFF exactly as stored (uint8, gray or RGB)."""
    image = tifffile.imread(fetch("fusion_metrics") / relative)
    assert image.dtype == np.uint8, f"{relative}: expected uint8, got {image.dtype}"
    image.setflags(write=False)
    return image


@functools.lru_cache(maxsize=None)
def _gray(relative: str) -> np.ndarray:
    """The file as the uint8 luminance MATLAB's scripts feed the metrics (rounded rgb2gray for RGB).

    Converting once per file keeps the 483 comparisons fast; ``test_colour_input_equals_its_luminance``
    checks that every metric gives exactly the same value on the RGB file itself.
    """
    image = _file(relative)
    if image.ndim == 2:
        return image
    gray = gray_255(image).astype(np.uint8)
    gray.setflags(write=False)
    return gray


def _triple(row: dict[str, str], convert=_gray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return convert(row["source_1"]), convert(row["source_2"]), convert(row["fused_file"])


def _roundoff_windows(row: dict[str, str]) -> tuple[int, int]:
    return _roundoff_windows_of(row["source_1"], row["source_2"], row["fused_file"])


@functools.lru_cache(maxsize=None)
def _roundoff_windows_of(*files: str) -> tuple[int, int]:
    """(windows where MATLAB's QY is set by round-off, all 7 x 7 windows).

    Such a window is flat in two of the images compared (A, B or F) at two different non-zero values:
    there SSIM's structure term is (2 cov + C2)/(var_x + var_y + C2) with C2 = 2e-16 and variances that
    are exactly 0 here but round-off residues in MATLAB. Equal values give identical MATLAB operands
    (SSIM exactly 1 in both), a zero value gives SSIM ~ C1 ~ 0 in both.
    """
    images = gray_triple(*(_gray(name) for name in files))
    flat = [window_is_flat(image, 7) for image in images]
    centre = [image[3:-3, 3:-3] for image in images]
    sensitive = np.zeros_like(flat[0])
    for i, j in ((0, 1), (0, 2), (1, 2)):
        sensitive |= flat[i] & flat[j] & (centre[i] != centre[j]) & (centre[i] != 0) & (centre[j] != 0)
    return int(sensitive.sum()), sensitive.size


@pytest.mark.parametrize("row, name", CASES)
def test_equals_matlab(row: dict[str, str], name: str) -> None:
    value = METRICS[name](*_triple(row))
    expected = _expected(row, name)
    assert isinstance(value, float)
    tolerance = TOLERANCE[name]
    if name == "QE" and row["image"] == "c_02":
        tolerance = QE_C02_TOLERANCE
    if name == "QY":
        sensitive, windows = _roundoff_windows(row)
        if sensitive:
            # MATLAB's value in such a window is round-off; ours is the exact formula. Each window moves the
            # mean by at most ~1/windows (measured: 0.28/windows on average; rows: c_02, g_01/dtcwt).
            tolerance = sensitive / windows
    assert abs(value - expected) <= tolerance, f"{name} {row['image']}/{row['method']}: {value!r} vs {expected!r}"


def test_qy_roundoff_rows_are_the_documented_ones() -> None:
    """Only c_02 (all rows) and g_01/dtcwt have QY windows decided by MATLAB's round-off."""
    affected = {(row["image"], row["method"]) for row in ROWS if _roundoff_windows(row)[0]}
    expected = {(row["image"], row["method"]) for row in ROWS if row["image"] == "c_02"} | {("g_01", "dtcwt")}
    assert affected == expected


def test_qg_original_variant_on_c01_cnn() -> None:
    """Zheng Liu's first QG gives ~0.720 on c_01/cnn where the corrected one gives 0.7536."""
    row = next(row for row in ROWS if (row["image"], row["method"]) == ("c_01", "cnn"))
    original = qg(*_triple(row), variant="original")
    assert abs(original - 0.720) < 5e-4
    assert abs(qg(*_triple(row)) - _expected(row, "QG")) <= TOLERANCE["QG"]


@pytest.mark.parametrize("image", ["c_01", "c_02"])
def test_colour_input_equals_its_luminance(image: str) -> None:
    """RGB files go through MATLAB's rounded rgb2gray: same values as the uint8 luminance, bit for bit."""
    row = next(row for row in ROWS if (row["image"], row["method"]) == (image, "cnn"))
    colour = _triple(row, convert=_file)
    assert colour[0].ndim == 3
    for name, metric in METRICS.items():
        assert metric(*colour) == metric(*_triple(row)), name
