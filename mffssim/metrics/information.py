"""Information-theoretic fusion metrics: QMI (Hossny's normalised MI) and QNCIE (Wang's NCIE).

Both follow Zheng Liu's toolbox (``metricMI`` with switch 1, ``metricWang``): the images are first
``normalize1``-stretched to integers 0..255, then compared through their 256 x 256 joint histogram.
"""
from __future__ import annotations

import numpy as np

from ._common import normalized_triple
from ._memo import memo

_BINS = 256


def _joint_probability(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """256 x 256 joint histogram of two integer images 0..255, divided by the pixel count."""
    index = x.astype(np.int64).ravel() * _BINS + y.astype(np.int64).ravel()
    counts = np.bincount(index, minlength=_BINS * _BINS).reshape(_BINS, _BINS)
    return counts / counts.sum()


def _entropy(p: np.ndarray) -> float:
    """Shannon entropy in bits of a probability array, with 0 log 0 = 0."""
    nonzero = p[p > 0]
    return float(-np.sum(nonzero * np.log2(nonzero)))


def _entropies(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """``(H(x), H(y), H(x, y))`` in bits from the joint histogram of two 0..255 integer images (shared by QMI
    and QNCIE, and kept for a source pair, through ``memo``)."""
    def compute(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
        joint = _joint_probability(x, y)
        return _entropy(joint.sum(axis=1)), _entropy(joint.sum(axis=0)), _entropy(joint)

    return memo("entropies", compute, x, y)


def _normalised_mi(x: np.ndarray, f: np.ndarray) -> float:
    """MI(x, f) / (H(x) + H(f)); 1/2 when both images are constant (the limit for identical images)."""
    hx, hf, hxf = _entropies(x, f)
    if hx + hf == 0.0:
        return 0.5
    return (hx + hf - hxf) / (hx + hf)


def qmi(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """QMI = 2 [MI(A,F)/(H(A)+H(F)) + MI(B,F)/(H(B)+H(F))] (Hossny et al. 2008), range 0..2, higher is better.

    Inputs: uint8, uint16 or float [0, 1] images, gray or colour (see ``mffssim.metrics``). Entropies in bits
    of ``normalize1``-ed images. Degenerate input: a pair whose images are both constant (zero entropy)
    counts as perfectly transferred (term 1/2, the value for identical images), so three constant images
    give 2; a constant source against a textured fused image gives 0 for that pair.

    >>> import numpy as np
    >>> x = np.arange(64, dtype=np.uint8).reshape(8, 8)
    >>> qmi(x, x, x)
    2.0
    """
    a, b, f = normalized_triple(a, b, f)
    return float(2.0 * (_normalised_mi(a, f) + _normalised_mi(b, f)))


def _ncc(x: np.ndarray, y: np.ndarray) -> float:
    """Nonlinear correlation coefficient: H(x) + H(y) - H(x, y) with base-256 logarithms."""
    hx, hy, hxy = _entropies(x, y)
    return (hx + hy - hxy) / np.log2(_BINS)


def qncie(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """QNCIE, nonlinear correlation information entropy (Wang et al. 2005), range ~0.80..1, higher is better.

    R is the 3 x 3 matrix with unit diagonal and the pairwise NCC of (A, B, F) off it; with its eigenvalues
    r_i, QNCIE = 1 + sum_i (r_i/3) log_256(r_i/3). Eigenvalues are clipped at 0 and 0 log 0 = 0 (MATLAB would
    give NaN for a zero eigenvalue, e.g. three identical images with a uniform histogram). Three constant
    images give R = I and QNCIE = 1 - log_256(3) ~ 0.8019, the lowest value.
    """
    a, b, f = normalized_triple(a, b, f)
    nab, naf, nbf = _ncc(a, b), _ncc(a, f), _ncc(b, f)
    correlation = np.array([[1.0, nab, naf], [nab, 1.0, nbf], [naf, nbf, 1.0]])
    share = np.clip(np.linalg.eigvalsh(correlation), 0.0, None) / 3.0
    share = share[share > 0]
    return float(1.0 + np.sum(share * np.log2(share)) / np.log2(_BINS))


_TSALLIS_Q = 1.85  # Cvejic's constant


def _tsallis(x: np.ndarray, f: np.ndarray, q: float = _TSALLIS_Q) -> float:
    """Tsallis mutual information of two 0..255 integer images as the toolbox's ``tsallis`` computes it:
    (1 - sum h(i, j)^q / (p(i) p'(j))^(q - 1)) / (1 - q) over the cells whose marginal product is non-zero.

    The toolbox multiplies the marginals transposed with respect to the joint histogram's axes: h is indexed
    (level of x, level of f), but p(i) is f's marginal at i and p'(j) is x's at j. That is copied here.
    """
    joint = _joint_probability(x, f)
    product = np.outer(joint.sum(axis=0), joint.sum(axis=1))  # f's marginal down the rows, x's across
    keep = (product != 0) & (joint != 0)
    total = np.sum(joint[keep] ** q / product[keep] ** (q - 1))
    return float((1.0 - total) / (1.0 - q))


def te(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """TE, Tsallis-entropy fusion metric I_q(A, F) + I_q(B, F), q = 1.85 (Cvejic et al., Electron. Lett. 2006),
    higher is better.

    Images are ``normalize1``-ed as for QMI; the joint-histogram sum follows Zheng Liu's ``metricMI`` (switch 2),
    marginals transposed included (``_tsallis``).
    """
    a, b, f = normalized_triple(a, b, f)
    return _tsallis(a, f) + _tsallis(b, f)
