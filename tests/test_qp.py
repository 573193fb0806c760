"""QP (metricZhao) and the phase congruency behind it: the survey's MATLAB values on every fused image of the
``fusion_metrics`` test vectors (tests/helpers.py), and properties."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
import pytest
import tifffile
from scipy import ndimage

from helpers import fetch, fusion_expected, fusion_rows
from mffssim.metrics._common import gray_255, numba_kernels
from mffssim.metrics.phasecong import _filter_bank, phase_congruency
from mffssim.metrics.qp import qp, qp_from_features
from mffssim.metrics.reference import filter_same, gaussian_window

TOLERANCE = 1e-6  # |ours - MATLAB| <= 1e-6


def _rows() -> tuple[dict, ...]:
    fetch("fusion_metrics")  # the files, or a skip (CI: a failure) naming them
    return fusion_rows()


def _matlab_qp(row: dict) -> float:
    return fusion_expected(fetch("fusion_metrics"), row)["QP"]


def _image(relative: str) -> np.ndarray:
    return tifffile.imread(fetch("fusion_metrics") / relative)


@lru_cache(maxsize=8)
def _source_pc(relative: str):
    """Phase congruency of a source (each source pair is shared by up to 18 rows)."""
    return phase_congruency(gray_255(_image(relative)))


def _smooth_random(seed: int, shape=(96, 96)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (ndimage.gaussian_filter(rng.random(shape), 2) * 255).astype(np.uint8)


def _row_delta(row: dict) -> tuple[float, str, str]:
    pf = phase_congruency(gray_255(_image(row["fused_file"])))
    value = qp_from_features(_source_pc(row["source_1"]), _source_pc(row["source_2"]), pf)
    return abs(value - _matlab_qp(row)), row["image"], row["method"]


def test_qp_equals_matlab_on_every_expected_row():
    rows = _rows()
    assert len(rows) == 69
    for source in sorted({row[key] for row in rows for key in ("source_1", "source_2")}):
        _source_pc(source)  # fill the cache (8 sources) before the threads share it
    with ThreadPoolExecutor(max_workers=2) as pool:  # FFTs and filters release the GIL: 2 cores
        worst = max(pool.map(_row_delta, rows))
    assert worst[0] <= TOLERANCE, f"max |QP - MATLAB| = {worst[0]:.3g} at {worst[1]}/{worst[2]}"


@pytest.mark.parametrize("index", [0, 50])  # c_01/dwt (colour) and g_01/nsct (gray)
def test_public_qp_on_files_equals_matlab(index):
    row = _rows()[index]
    value = qp(_image(row["source_1"]), _image(row["source_2"]), _image(row["fused_file"]))
    assert abs(value - _matlab_qp(row)) <= TOLERANCE


def test_qp_symmetric_in_the_sources_and_dtype_independent():
    a, b = _smooth_random(0), _smooth_random(1)
    f = ((a.astype(int) + b) // 2).astype(np.uint8)
    value = qp(a, b, f)
    assert 0.0 < value < 1.0
    assert qp(b, a, f) == pytest.approx(value, abs=1e-12)  # no PC ties in random images
    assert qp(a.astype(np.uint16) * 257, b.astype(np.uint16) * 257, f.astype(np.uint16) * 257) == value
    assert qp(a / 255.0, b / 255.0, (f / 255.0).astype(np.float32)) == value


def test_qp_identical_inputs_near_one_and_better_than_a_mix():
    # Not exactly 1: the sources' features are masked (PC > 0.1) before the local correlation, F's
    # are not, so windows that straddle a mask border correlate imperfectly (as in MATLAB).
    a, b = _smooth_random(0), _smooth_random(1)
    f = ((a.astype(int) + b) // 2).astype(np.uint8)
    same = qp(a, a, a)
    assert 0.95 < same <= 1.0
    assert same > qp(a, b, f)


def test_qp_degenerate_images_give_no_nan():
    a, b = _smooth_random(0), _smooth_random(1)
    flat = np.full((96, 96), 90, np.uint8)
    assert qp(flat, flat, flat) == 1.0  # no source feature: documented as 1.0 (MATLAB: NaN)
    assert qp(flat, flat, a) == 1.0
    # A constant fused image scores high: with sigma_F = 0 the coefficient is (0 + C) / (0 + C) = 1.
    # This is the toolbox's formula, kept as is.
    assert np.isfinite(qp(a, b, flat)) and qp(a, b, flat) > 0.9


def test_qp_rejects_mismatched_sizes():
    with pytest.raises(ValueError, match="f"):
        qp(_smooth_random(0), _smooth_random(1), _smooth_random(2, (96, 90)))


def test_phase_congruency_marks_a_step_edge_and_not_flat_areas():
    image = np.zeros((64, 128))
    image[:, 64:] = 200.0
    image += np.random.default_rng(2).normal(0, 2, image.shape)  # mild noise for the noise model
    result = phase_congruency(image)
    # the edge between columns 63 and 64, and the periodic wrap-around edge at column 0
    for column in (0, 63, 64):
        assert result.pc[:, column].mean() > 0.65
    assert result.pc[:, 20:44].mean() < 0.07  # flat area
    assert np.all(result.max_moment >= result.min_moment)


def test_phase_congruency_of_noise_is_mostly_suppressed():
    noise = np.random.default_rng(3).normal(128, 20, (64, 80))
    assert phase_congruency(noise).pc.mean() < 0.05  # the noise threshold removes most of it


def test_phase_congruency_constant_and_odd_sizes():
    flat = phase_congruency(np.full((63, 81), 7.0))
    assert not np.any(flat.pc) and np.all(np.isfinite(flat.max_moment))
    odd = phase_congruency(np.random.default_rng(4).integers(0, 256, (63, 81)).astype(float))
    assert odd.pc.shape == (63, 81) and np.all((odd.pc >= 0) & (odd.pc <= 1))


def test_phase_congruency_is_shift_equivariant():
    # FFT filtering is circular, so a circular shift of the image shifts every output map.
    image = np.random.default_rng(5).integers(0, 256, (48, 56)).astype(float)
    base, shifted = phase_congruency(image), phase_congruency(np.roll(image, (7, -5), axis=(0, 1)))
    np.testing.assert_allclose(shifted.pc, np.roll(base.pc, (7, -5), axis=(0, 1)), atol=1e-9)
    np.testing.assert_allclose(shifted.min_moment, np.roll(base.min_moment, (7, -5), axis=(0, 1)), atol=1e-9)


@pytest.mark.parametrize("shape", [(40, 52), (41, 37)])
def test_noise_model_kernel_norm_equals_the_spatial_sum(shape):
    # Kovesi sums products of the filters' real spatial kernels; we use Parseval in the frequency domain.
    rows, cols = shape
    filters, smallest_energy, kernel_norm = _filter_bank(rows, cols, 4, 6, 3.0, 2.1, 0.55, 1.2)
    for o in range(6):
        kernels = np.fft.ifft2(filters[o]).real * np.sqrt(rows * cols)
        direct = 2 * np.sum(kernels**2) + 4 * sum(
            np.sum(kernels[i] * kernels[j]) for i in range(4) for j in range(i + 1, 4))
        assert 2 * kernel_norm[o] == pytest.approx(direct, rel=1e-12)
        assert smallest_energy[o] == pytest.approx(np.sum(filters[o, 0] ** 2), rel=1e-14)


def test_phase_congruency_rejects_colour():
    with pytest.raises(ValueError, match="2-D"):
        phase_congruency(np.zeros((8, 8, 3)))


@pytest.mark.parametrize("shape", [(48, 56), (7, 9), (3, 30), (41, 5)])
def test_qp_kernel_filter_equals_scipys_bit_for_bit(shape):
    # QP's numba filter must give correlate1d's values exactly (the same order of operations), borders included.
    rng = np.random.default_rng(6)
    image = rng.normal(size=shape) * (rng.random(shape) > 0.3)
    out = np.empty(shape)
    numba_kernels("_qp_kernels").filter_same(image, gaussian_window(), out)
    assert np.array_equal(out, filter_same(image, gaussian_window()))
