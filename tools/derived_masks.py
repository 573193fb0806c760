"""How often the derived focus matte of a synthetic pair is ambiguous (mffssim.detector.masks.derived_matte).

Run: ``python tools/derived_masks.py FOLDER [FOLDER ...]``, each folder laid out ``<id>/reference.* +
source_1.* + source_2.*`` (the downloaded ``mf_voc_subset``, ``nyu_d_100``). Prints per folder the share of
ambiguous pixels (mean, median, 90th percentile, max), how many pairs are more than half ambiguous, how many
mattes hold one label only (< 1 % or > 99 % source 1), and the CPU seconds taken.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from mffssim.detector.data import to_gray
from mffssim.detector.masks import DERIVED_LEVELS, DERIVED_WINDOW, derived_matte
from mffssim.io import find_image_sets, read_image


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--window", type=int, default=DERIVED_WINDOW)
    parser.add_argument("--levels", type=float, default=DERIVED_LEVELS)
    args = parser.parse_args(argv)
    began = time.process_time()
    for folder in args.folders:
        ambiguous, first = [], []
        for files in find_image_sets(folder).values():
            if files.reference is None or len(files.sources) != 2:
                continue
            gray = [to_gray(read_image(p)) for p in (files.reference, *files.sources)]
            matte, share = derived_matte(*gray, window=args.window, levels=args.levels)
            ambiguous.append(100 * share)
            first.append(100 * float(matte.mean()))
        if not ambiguous:
            print(f"{folder}: no <id>/reference + source_1 + source_2 pairs")
            continue
        share, first = np.array(ambiguous), np.array(first)
        print(f"{folder}: {len(share)} pairs; ambiguous pixels mean {share.mean():.1f} %, median "
              f"{np.median(share):.1f} %, 90th percentile {np.percentile(share, 90):.1f} %, max {share.max():.1f} %; "
              f"{int((share > 50).sum())} pairs > 50 % ambiguous; {int(((first < 1) | (first > 99)).sum())} "
              "one-label mattes")
    print(f"{time.process_time() - began:.1f} CPU s")


if __name__ == "__main__":
    main()
