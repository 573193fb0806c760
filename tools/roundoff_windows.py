#!/usr/bin/env python3
"""Count the QY and QE windows whose MATLAB value is decided by floating-point round-off.

MATLAB's ``filter2`` leaves a round-off residue (not 0) as the variance of a window whose pixels are all
equal; ``mffssim.metrics`` uses the exact 0. The two can differ only in these windows (docs/metrics.md):

- QY (7 x 7): a window flat in two of the images compared (A-B, A-F or B-F) at two different non-zero values.
- QE (8 x 8, intensity and Prewitt-edge images): a window flat in both sources, unless both are all zero.

    python tools/roundoff_windows.py SOURCE_1 SOURCE_2 FUSED [FUSED ...]

Prints, per fused image, the QY count, and once the QE counts, each with the number of windows and the QE
worst case n / (S + n/2) per weighted index (S: the sum of the saliency max(var_A, var_B)).
"""
from __future__ import annotations

import argparse

import numpy as np

from mffssim.io import read_image
from mffssim.metrics._common import gray_255, window_is_flat
from mffssim.metrics.structural import _QE_TAPS, _prewitt_magnitude, _window_stats


def qy_roundoff_windows(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> tuple[int, int]:
    """(QY windows decided by MATLAB's round-off, all 7 x 7 windows) for 0..255 luminance images."""
    images = (a, b, f)
    flat = [window_is_flat(image, 7) for image in images]
    centre = [image[3:-3, 3:-3] for image in images]
    decided = np.zeros_like(flat[0])
    for i, j in ((0, 1), (0, 2), (1, 2)):
        decided |= flat[i] & flat[j] & (centre[i] != centre[j]) & (centre[i] != 0) & (centre[j] != 0)
    return int(decided.sum()), decided.size


def qe_roundoff_windows(a: np.ndarray, b: np.ndarray) -> tuple[int, int, float]:
    """(QE windows decided by round-off, all 8 x 8 windows, worst-case change of the weighted index)."""
    decided = window_is_flat(a, 8) & window_is_flat(b, 8) & ~((a[:-7, :-7] == 0) & (b[:-7, :-7] == 0))
    saliency = float(np.sum(np.maximum(_window_stats(a, _QE_TAPS).var, _window_stats(b, _QE_TAPS).var)))
    count = int(decided.sum())
    return count, decided.size, (count / (saliency + count / 2) if count else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source_1")
    parser.add_argument("source_2")
    parser.add_argument("fused", nargs="+")
    args = parser.parse_args()
    a, b = (gray_255(np.asarray(read_image(path))) for path in (args.source_1, args.source_2))
    for path in args.fused:
        count, total = qy_roundoff_windows(a, b, gray_255(np.asarray(read_image(path))))
        print(f"QY {path}: {count} of {total} windows ({100 * count / total:.3f} %)")
    intensity = qe_roundoff_windows(a, b)
    edges = qe_roundoff_windows(_prewitt_magnitude(a), _prewitt_magnitude(b))
    for name, (count, total, bound) in (("intensity", intensity), ("edges", edges)):
        print(f"QE {name}: {count} of {total} windows ({100 * count / total:.3f} %), worst case {bound:.2g}")
    print(f"QE worst-case |ours - MATLAB| <= {intensity[2] + edges[2]:.2g}")


if __name__ == "__main__":
    main()
