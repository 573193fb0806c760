"""Kovesi phase congruency (log-Gabor filters in the frequency domain), as the MATLAB metrics use it.

One parameterised implementation serves both flavours the metrics need:

- QP (Zheng Liu's ``myphasecong3``): 4 scales, 6 orientations, frequency-spread weighting, and the
  maximum / minimum moments of the per-orientation phase congruency;
- FSIM (Lin Zhang's ``phasecong2``): 4 scales, 4 orientations, minimum wavelength 6, mult 2, no weighting.

Both estimate the noise like Kovesi's ``phasecong2``: the median of the squared smallest-scale response
gives the noise power, the filters' spatial energy gives the Rayleigh distribution of the noise energy,
and the threshold is (mean + k sigma) / 1.7.  References: P. Kovesi, "Image features from phase
congruency", Videre 1(3), 1999; "Phase congruency detects corners and edges", DICTA 2003.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import fft

from ._common import numba_kernels
from ._memo import freeze

EPSILON = 1e-4  # Kovesi's guard against division by zero


@dataclass(frozen=True)
class PhaseCongruency:
    """Phase congruency map ``pc`` in [0, 1]; the moment maps are None unless requested.

    The maps are frozen (read-only arrays owning their data; a copy is made of any other array given), so
    the metrics' memo hashes them once however many fused images are scored against them (``_memo``).
    """

    pc: np.ndarray
    max_moment: np.ndarray | None = None
    min_moment: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in ("pc", "max_moment", "min_moment"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, freeze(np.asarray(value)))


def _centred_range(n: int) -> np.ndarray:
    """Kovesi's normalised frequency axis: +/-0.5 in n steps (odd n divides by n - 1, even n by n)."""
    if n % 2:
        return np.arange(-(n - 1) / 2, (n - 1) / 2 + 1) / (n - 1)
    return np.arange(-n / 2, n / 2) / n


def _centred_radius(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centred frequency grid: radius, x and y (y grows downwards, as MATLAB's meshgrid)."""
    x, y = np.meshgrid(_centred_range(cols), _centred_range(rows))
    return np.sqrt(x**2 + y**2), x, y


def lowpass_filter(rows: int, cols: int, cutoff: float = 0.45, order: int = 15) -> np.ndarray:
    """Butterworth low-pass 1 / (1 + (r / cutoff)^(2 order)), zero frequency at [0, 0] (un-centred)."""
    radius, _, _ = _centred_radius(rows, cols)
    return np.fft.ifftshift(1.0 / (1.0 + (radius / cutoff) ** (2 * order)))


def log_gabor_bank(
    rows: int, cols: int, nscale: int, min_wavelength: float, mult: float, sigma_onf: float
) -> np.ndarray:
    """Radial log-Gabor filters ``(nscale, rows, cols)``, low-passed (radius 0.45, order 15), DC = 0.

    Scale s has centre frequency 1 / (min_wavelength mult^s); the radius at DC is set to 1 only to
    keep the logarithm finite, and the DC value of every filter is then set back to 0.
    """
    radius, _, _ = _centred_radius(rows, cols)
    radius = np.fft.ifftshift(radius)
    radius[0, 0] = 1.0
    centre = 1.0 / (min_wavelength * mult ** np.arange(nscale))  # centre frequency f0 of each scale
    log_ratio = np.log(radius[None] / centre[:, None, None])
    bank = np.exp(-(log_ratio**2) / (2 * np.log(sigma_onf) ** 2)) * lowpass_filter(rows, cols)
    bank[:, 0, 0] = 0.0
    return bank


def angular_spread(rows: int, cols: int, norient: int, d_theta_on_sigma: float) -> np.ndarray:
    """Angular Gaussians ``(norient, rows, cols)`` centred on the angles o pi / norient.

    Their standard deviation is pi / norient / d_theta_on_sigma; the angular distance is taken with
    atan2 of the sine and cosine differences, so it wraps around correctly.
    """
    _, x, y = _centred_radius(rows, cols)
    theta = np.fft.ifftshift(np.arctan2(-y, x))  # -y: anticlockwise angles
    sin_t, cos_t = np.sin(theta), np.cos(theta)
    angles = np.arange(norient) * np.pi / norient
    spreads = np.empty((norient, rows, cols))
    sigma = np.pi / norient / d_theta_on_sigma
    for o, angle in enumerate(angles):
        ds = sin_t * np.cos(angle) - cos_t * np.sin(angle)
        dc = cos_t * np.cos(angle) + sin_t * np.sin(angle)
        spreads[o] = np.exp(-(np.arctan2(ds, dc) ** 2) / (2 * sigma**2))
    return spreads


@lru_cache(maxsize=4)
def _filter_bank(
    rows: int, cols: int, nscale: int, norient: int, min_wavelength: float, mult: float,
    sigma_onf: float, d_theta_on_sigma: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Filters ``(norient, nscale, rows, cols)`` (log-Gabor x angular Gaussian) and, per orientation,
    the two filter constants of the noise model: the smallest scale's energy sum F_0^2 and the squared
    norm ||sum_s h_s||^2 of the scales' summed spatial kernels (see ``noise_threshold``).

    Cached (4 entries): the filters depend only on the image size and the parameters, and QP filters
    three images of one size.  One entry holds 8 norient nscale rows cols bytes (52 MB for QP at 520^2).
    """
    radial = log_gabor_bank(rows, cols, nscale, min_wavelength, mult, sigma_onf)
    spreads = angular_spread(rows, cols, norient, d_theta_on_sigma)
    filters = spreads[:, None] * radial[None]
    smallest_energy = np.sum(filters[:, 0] ** 2, axis=(1, 2))
    summed = filters.sum(axis=1)
    mirrored = np.roll(summed[:, ::-1, ::-1], (1, 1), axis=(1, 2))  # F(-u) on the periodic grid
    kernel_norm = np.sum((0.5 * (summed + mirrored)) ** 2, axis=(1, 2))
    for array in (filters, smallest_energy, kernel_norm):
        array.flags.writeable = False
    return filters, smallest_energy, kernel_norm


def noise_threshold(
    smallest_power: np.ndarray, smallest_energy: float, kernel_norm: float, k: float
) -> float:
    """Kovesi's phasecong2 noise threshold for one orientation, (mu + k sigma) / 1.7.

    ``smallest_power`` is |smallest-scale response|^2 per pixel. The noise power is its median / ln 2
    divided by the smallest filter's energy sum F_0^2.  The noise energy is Rayleigh with E[energy^2] = 2 power ||sum_s h_s||^2, where
    h_s is the real part of scale s's spatial kernel scaled by sqrt(rows cols); that norm
    (``kernel_norm``) is computed in the frequency domain (Parseval) from the Hermitian-symmetric
    part of the filters, which is what the real part keeps.
    """
    mean_e2 = numba_kernels("_pc_kernels").median_of_nonnegative(smallest_power) / np.log(2.0)
    tau = np.sqrt(mean_e2 / smallest_energy * kernel_norm)  # Rayleigh parameter sqrt(E[energy^2] / 2)
    mean, sigma = tau * np.sqrt(np.pi / 2), tau * np.sqrt(2 - np.pi / 2)
    return (mean + k * sigma) / 1.7


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, with 0 where den is 0 (a featureless image, where MATLAB returns NaN)."""
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)


def phase_congruency(
    image: np.ndarray,
    *,
    nscale: int = 4,
    norient: int = 6,
    min_wavelength: float = 3.0,
    mult: float = 2.1,
    sigma_onf: float = 0.55,
    d_theta_on_sigma: float = 1.2,
    k: float = 2.0,
    cutoff: float | None = 0.5,
    g: float = 10.0,
    pc_epsilon: float = EPSILON,
    moments: bool = True,
) -> PhaseCongruency:
    """Phase congruency of a 2-D gray image (defaults: the fusion toolbox's ``myphasecong3``).

    Per orientation o: the energy sum_s [E_s MeanE + O_s MeanO - |E_s MeanO - O_s MeanE|] minus the noise
    threshold (clipped at 0), weighted by 1 / (1 + exp(g (cutoff - width))) with
    width = sum_s A_s / (max_s A_s + 1e-4) / nscale (skipped when ``cutoff`` is None, as in FSIM).
    ``pc`` = sum_o weighted energy / (sum_o sum_s A_s + ``pc_epsilon``) (1e-4 in ``myphasecong3``, 0 in
    FSIM's ``phasecong2``), set to 0 where that denominator is 0 (a constant image; MATLAB gives NaN).
    With ``moments``, the per-orientation PC_o = weighted energy / sum_s A_s (0 where the amplitude is
    0) gives the maximum and minimum moments of its covariance, normalised as ``myphasecong3`` does
    (covxy / norient, 1/4 of Kovesi's own 4 covxy / norient).
    """
    im = np.asarray(image, dtype=np.float64)
    if im.ndim != 2:
        raise ValueError(f"image: phase congruency needs a 2-D gray image, got shape {im.shape}")
    if nscale < 1 or norient < 1:
        raise ValueError(f"nscale ({nscale}) and norient ({norient}) must be >= 1")
    rows, cols = im.shape
    spectrum = fft.fft2(im)
    filters, smallest_energy, kernel_norm = _filter_bank(
        rows, cols, int(nscale), int(norient), float(min_wavelength), float(mult), float(sigma_onf),
        float(d_theta_on_sigma))
    weighting = np.array([] if cutoff is None else [cutoff, g, nscale], dtype=np.float64)
    totals = np.zeros((5, rows, cols))  # energy, amplitude and the covariance terms xx, yy, xy of the PC_o
    energy, sum_amplitude, max_amplitude, smallest_power = np.empty((4, rows, cols))
    product = np.empty((nscale, rows, cols), dtype=np.complex128)
    kernels = numba_kernels("_pc_kernels")
    for o in range(norient):
        kernels.filter_spectrum(spectrum, filters[o], product)
        responses = fft.ifft2(product, overwrite_x=True)  # (nscale, rows, cols): E + i O
        kernels.orientation_sums(responses, energy, sum_amplitude, max_amplitude, smallest_power)
        threshold = noise_threshold(smallest_power, smallest_energy[o], kernel_norm[o], k)
        kernels.accumulate_orientation(energy, sum_amplitude, max_amplitude, threshold, weighting,
                                       o * np.pi / norient, totals, moments)
    return _combine(totals, norient, pc_epsilon, moments)


def _combine(totals: np.ndarray, norient: int, pc_epsilon: float, moments: bool) -> PhaseCongruency:
    """The PC map sum_o energy / (sum_o amplitude + ``pc_epsilon``) and, with ``moments``, the maximum and
    minimum moments from the summed covariance terms (``myphasecong3``'s normalisation)."""
    pc = _ratio(totals[0], totals[1] + pc_epsilon)
    if not moments:
        return PhaseCongruency(pc)
    max_moment, min_moment = np.empty_like(pc), np.empty_like(pc)
    numba_kernels("_pc_kernels").moments(totals, float(norient), pc, max_moment, min_moment)
    return PhaseCongruency(pc, max_moment, min_moment)
