"""numba kernels for the per-pixel sums of phase congruency (``mffssim.metrics.phasecong``).

``filter_spectrum`` applies one orientation's filters to the image's spectrum. The work after the inverse
FFTs is a dozen elementwise steps over the ``(nscale, rows, cols)`` complex responses; as numpy expressions
each step reads and writes whole arrays, and together they cost more than the FFTs. Here each pixel's scales
are read once: ``orientation_sums`` gives the raw energy, the amplitude sum and maximum and the smallest
scale's squared amplitude (the noise model needs its median over the whole image before the energy can be
thresholded), and ``accumulate_orientation`` thresholds, weights and adds one orientation's energy into the
totals; ``median_of_nonnegative`` takes that median by a radix select, seven times faster than numpy's
partition. The arithmetic is the numpy version's, step for step (sums over scales in scale order, the complex
division as numpy does it: times the reciprocal), so the maps agree with it to round-off (the complex
magnitude is sqrt(re^2 + im^2), numpy's own algorithm may differ in the last bit).

No ``fastmath``: contracting to fused multiply-adds would change the last bits differently on each machine.
"""
from __future__ import annotations

import math

import numba
import numpy as np

EPSILON = 1e-4  # Kovesi's guard against division by zero (as phasecong.EPSILON)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def filter_spectrum(spectrum, filters, out):
    """``out[s]`` = ``spectrum`` times the real ``filters[s]`` (what ``np.multiply`` gives, the real factor
    applied to both parts, without numpy's casting of the real factor to complex)."""
    nscale, rows, cols = filters.shape
    for s in range(nscale):
        for i in range(rows):
            for j in range(cols):
                value, factor = spectrum[i, j], filters[s, i, j]
                out[s, i, j] = complex(value.real * factor, value.imag * factor)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def orientation_sums(responses, energy, sum_amplitude, max_amplitude, smallest_power):
    """Per pixel of one orientation's responses E_s + i O_s ``(nscale, rows, cols)``:

    ``energy`` = sum_s [E_s mean_e + O_s mean_o - |E_s mean_o - O_s mean_e|] with the unit mean vector
    mean = sum_s (E_s + i O_s) / (|sum_s (E_s + i O_s)| + 1e-4), ``sum_amplitude`` = sum_s A_s,
    ``max_amplitude`` = max_s A_s and ``smallest_power`` = A_0^2 (``(rows, cols)`` outputs, overwritten).

    Row by row, one scale at a time, so that each inner loop runs along a row without branches and the
    compiler vectorises it (a loop over the scales inside the pixel loop does not vectorise and took eight
    times as long).
    """
    nscale, rows, cols = responses.shape
    mean_e, mean_o = np.empty(cols), np.empty(cols)  # the summed response, then its unit vector
    deviation = np.empty(cols)
    for i in range(rows):
        _first_scale(responses[0, i], sum_amplitude[i], max_amplitude[i], smallest_power[i], mean_e, mean_o)
        for s in range(1, nscale):
            _add_scale(responses[s, i], sum_amplitude[i], max_amplitude[i], mean_e, mean_o)
        _unit_mean(energy[i], mean_e, mean_o)
        deviation[:] = 0.0
        for s in range(nscale):
            _add_deviation(responses[s, i], deviation, mean_e, mean_o)
        energy[i] -= deviation


@numba.njit(cache=True, nogil=True, inline="always")
def _first_scale(row, sum_amplitude, max_amplitude, smallest_power, even, odd):
    """Start one row's sums with scale 0: amplitude, its square, and the response (even, odd)."""
    for j in range(row.shape[0]):
        re, im = row[j].real, row[j].imag
        amp = math.sqrt(re * re + im * im)
        sum_amplitude[j] = amp
        max_amplitude[j] = amp
        smallest_power[j] = amp * amp
        even[j] = re
        odd[j] = im


@numba.njit(cache=True, nogil=True, inline="always")
def _add_scale(row, sum_amplitude, max_amplitude, even, odd):
    """Add one further scale of a row to its amplitude sum and maximum and to the summed response."""
    for j in range(row.shape[0]):
        re, im = row[j].real, row[j].imag
        amp = math.sqrt(re * re + im * im)
        sum_amplitude[j] += amp
        max_amplitude[j] = max(max_amplitude[j], amp)
        even[j] += re
        odd[j] += im


@numba.njit(cache=True, nogil=True, inline="always")
def _unit_mean(energy, even, odd):
    """Turn a row's summed response into the unit mean vector (in place; times the reciprocal of
    |sum| + 1e-4, as numpy divides a complex by a real) and start the energy with sum . mean."""
    for j in range(energy.shape[0]):
        scale = 1.0 / (math.sqrt(even[j] * even[j] + odd[j] * odd[j]) + EPSILON)
        mean_e, mean_o = even[j] * scale, odd[j] * scale
        energy[j] = even[j] * mean_e + odd[j] * mean_o
        even[j], odd[j] = mean_e, mean_o


@numba.njit(cache=True, nogil=True, inline="always")
def _add_deviation(row, deviation, mean_e, mean_o):
    """Add one scale's |E_s mean_o - O_s mean_e| = |Im(response conj(mean))| to a row's deviation sum."""
    for j in range(row.shape[0]):
        deviation[j] += abs(row[j].real * -mean_o[j] + row[j].imag * mean_e[j])


@numba.njit(cache=True, nogil=True, error_model="numpy")
def accumulate_orientation(energy, sum_amplitude, max_amplitude, threshold, weighting, angle, totals, moments):
    """Add one orientation to the running sums ``totals`` ``(5, rows, cols)``: total energy, total amplitude and,
    when ``moments``, the covariance terms xx, yy, xy of PC_o = energy / sum_amplitude (0 where that is 0).

    The energy is max(energy - threshold, 0), divided by 1 + exp((cutoff - width) g) with
    width = sum_amplitude / (max_amplitude + 1e-4) / nscale when ``weighting`` = (cutoff, g, nscale) holds
    three values (empty: no weighting, as FSIM). ``angle`` is the orientation's angle in radians.
    """
    rows, cols = energy.shape
    weighted = weighting.shape[0] == 3
    cos_a, sin_a = math.cos(angle), math.sin(angle)
    for i in range(rows):
        for j in range(cols):
            value = max(energy[i, j] - threshold, 0.0)
            amplitude = sum_amplitude[i, j]
            if weighted:
                width = amplitude / (max_amplitude[i, j] + EPSILON) / weighting[2]
                value /= 1.0 + math.exp((weighting[0] - width) * weighting[1])
            totals[0, i, j] += value
            totals[1, i, j] += amplitude
            if moments:
                pc_o = value / amplitude if amplitude != 0.0 else 0.0
                cx, cy = pc_o * cos_a, pc_o * sin_a
                totals[2, i, j] += cx * cx
                totals[3, i, j] += cy * cy
                totals[4, i, j] += cx * cy


@numba.njit(cache=True, nogil=True, error_model="numpy")
def moments(totals, norient, pc, max_moment, min_moment):
    """``myphasecong3``'s maximum and minimum moments of the summed covariance terms ``totals[2:5]`` (xx, yy,
    xy), in one pass: xx and yy divided by norient / 2, xy by norient, then
    (yy + xx +/- (sqrt(xy^2 + (xx - yy)^2) + 1e-4)) / 2; ``pc`` is left as it is (computed beforehand)."""
    rows, cols = pc.shape
    half = norient / 2
    for i in range(rows):
        for j in range(cols):
            xx, yy, xy = totals[2, i, j] / half, totals[3, i, j] / half, totals[4, i, j] / norient
            denom = math.sqrt(xy * xy + (xx - yy) * (xx - yy)) + EPSILON
            max_moment[i, j] = (yy + xx + denom) / 2
            min_moment[i, j] = (yy + xx - denom) / 2


@numba.njit(cache=True, nogil=True, error_model="numpy")
def median_of_nonnegative(values):
    """``np.median`` of an array of non-negative floats (no NaN), by a radix select instead of a partition.

    Non-negative floats order as their bit patterns do, so a histogram of the top 16 bits (sign, exponent
    and 4 mantissa bits) finds the few bins that hold the middle value(s); only those values are sorted. The
    middle value, or for an even count the mean (a + b) / 2 of the two middle ones, as numpy computes it.
    """
    flat = values.reshape(-1)
    n = flat.size
    bits = flat.view(np.int64)  # sign bit 0: the same order as the values
    counts = np.zeros(1 << 16, np.int64)
    for v in bits:
        counts[v >> 48] += 1
    low_rank, high_rank = (n - 1) // 2, n // 2  # the middle ranks (equal for an odd count)
    below, first_bin = 0, 0  # values in the bins before first_bin
    while below + counts[first_bin] <= low_rank:
        below += counts[first_bin]
        first_bin += 1
    last_bin, upto = first_bin, below + counts[first_bin]
    while upto <= high_rank:
        last_bin += 1
        upto += counts[last_bin]
    candidates = np.empty(upto - below)
    m = 0
    for k in range(n):
        top = bits[k] >> 48
        if first_bin <= top <= last_bin:
            candidates[m] = flat[k]
            m += 1
    candidates.sort()
    return (candidates[low_rank - below] + candidates[high_rank - below]) / 2.0 if n % 2 == 0 else candidates[
        low_rank - below]
