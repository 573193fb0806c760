"""QP: Zhao et al.'s phase-congruency fusion metric, as Zheng Liu's toolbox (``metricZhao``) computes it.

J. Zhao, R. Laganiere, Z. Liu, "Performance assessment of combinative pixel-level image fusion based on
an absolute feature measurement", Int. J. Innovative Computing, Information and Control 3(6A), 2007.
"""
from __future__ import annotations

import numpy as np

from mffssim.metrics._common import check_same_shape, gray_255, numba_kernels
from mffssim.metrics._memo import memo
from mffssim.metrics.phasecong import PhaseCongruency, phase_congruency
from mffssim.metrics.reference import filter_same, gaussian_window

FEATURE_THRESHOLD = 0.1  # a pixel is a feature of a source when its PC exceeds this
C = 1e-4  # stabiliser of the local correlation coefficient


def _source_statistics(feature: np.ndarray, mask: np.ndarray, window: np.ndarray) -> tuple:
    """The masked feature X = feature * mask of one source with its local mean and variance (Gaussian window)."""
    x = feature * mask
    mu_x = filter_same(x, window)
    return x, mu_x, filter_same(x * x, window) - mu_x**2


def _sources_terms(pa: PhaseCongruency, pb: PhaseCongruency) -> tuple:
    """Everything QP needs of the two sources alone: the feature masks (A, B, max-PC source) and, per feature
    (PC, maximum and minimum moment), each of the three masked features' local statistics."""
    a_wins = pa.pc > pb.pc
    best_pc = np.where(a_wins, pa.pc, pb.pc)
    masks = (pa.pc > FEATURE_THRESHOLD, pb.pc > FEATURE_THRESHOLD, best_pc > FEATURE_THRESHOLD)
    window = gaussian_window()
    per_feature = tuple(
        tuple(_source_statistics(x, m, window) for x, m in zip((xa, xb, np.where(a_wins, xa, xb)), masks))
        for xa, xb in ((pa.pc, pb.pc), (pa.max_moment, pb.max_moment), (pa.min_moment, pb.min_moment)))
    return masks, per_feature


def _preservation(sources: tuple, f: np.ndarray, masks: tuple) -> float:
    """Sum over pixels of the best of the three local correlations (A, B, max-PC source with F),
    divided by the area of the max-PC mask.

    Each correlation is (sigma_XF + C) / (sqrt|sigma_X^2 sigma_F^2| + C) of the masked feature X and F, 0
    outside X's mask; ``sources`` holds each X with its local mean and variance. The filtering and the
    per-pixel work run as numba kernels (``_qp_kernels``), with the numpy version's values bit for bit.
    """
    kernels = numba_kernels("_qp_kernels")
    window = gaussian_window()

    def local_mean(image: np.ndarray) -> np.ndarray:
        out = np.empty_like(image)
        kernels.filter_same(image, window, out)
        return out

    mu_f = local_mean(f)
    var_f = local_mean(f * f) - mu_f**2
    best = np.empty_like(f)
    for k, ((x, mu_x, var_x), mask) in enumerate(zip(sources, masks)):
        kernels.best_correlation(local_mean(x * f), mu_x, var_x, mu_f, var_f, mask, C, best, k == 0)
    return float(best.sum() / masks[2].sum())


def qp(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """Phase-congruency fusion metric QP = P_pc P_M P_m of sources ``a``, ``b`` and fused ``f``.

    For each feature (phase congruency, maximum and minimum moment of ``myphasecong3``) the local
    correlation of A's, B's and the pointwise max-PC source's feature with F's is taken inside the
    feature masks (PC > 0.1); the pixelwise best of the three is averaged over the max-PC mask.
    Ties PC_A = PC_B take B's moments, as the toolbox does.  Inputs: uint8, uint16, or float in [0, 1];
    colour goes through MATLAB's rounded rgb2gray.  Range about [0, 1], higher is better.
    If neither source has a feature pixel (e.g. both constant), MATLAB returns NaN (0 / 0); here QP
    is 1.0: there is no feature to lose.
    """
    images = [gray_255(x, name) for x, name in ((a, "a"), (b, "b"), (f, "f"))]
    check_same_shape(*images, names=("a", "b", "f"))
    return qp_from_features(*(phase_congruency(x) for x in images))


def qp_from_features(pa: PhaseCongruency, pb: PhaseCongruency, pf: PhaseCongruency) -> float:
    """QP from the ``phase_congruency`` results (default parameters, with moments) of A, B and F.

    Lets a caller that scores several fused images of one source pair compute the sources' phase
    congruency once; the sources' masks and local statistics are kept too (``memo``), by content.
    """
    if not (pa.pc > FEATURE_THRESHOLD).any() and not (pb.pc > FEATURE_THRESHOLD).any():
        return 1.0
    masks, per_feature = memo("qp_sources", lambda *_: _sources_terms(pa, pb), pa.pc, pa.max_moment,
                              pa.min_moment, pb.pc, pb.max_moment, pb.min_moment)
    result = 1.0
    for sources, xf in zip(per_feature, (pf.pc, pf.max_moment, pf.min_moment)):
        result *= _preservation(sources, xf, masks)
    return result
