"""Ground-truth benchmark of the default solver: PSNR against the all-in-focus reference, iterations, seconds.

For every two-source image set with a ``reference.*`` under ``--data`` (e.g. a downloaded NYU-D-100 or
MF-VOC subset), with the Laplacian map of the authors' window rule, it fuses with

- ``default``: ``mffssim.fuse`` with its defaults (variant ``--variant``),
- ``pixelwise``: Eq. 1 with the same map,

and prints a row per set, then the figures: mean PSNR of each, the default's gain over pixel-wise, the sets
where it falls below pixel-wise (and by how much), and the median ``FusionResult.seconds`` per set beside the
CPU seconds of the same runs (the machine may be shared).

    python benchmarks/bench_ground_truth.py --data resources/data/nyu_d_100
    python benchmarks/bench_ground_truth.py --data resources/data/mf_voc_subset --variant reference --limit 20
    python benchmarks/bench_ground_truth.py --data resources/data/nyu_d_100 --compare-engines --threads 1

``--engine`` picks the objective's engine (``fuse(engine=...)``, default auto, as fuse's); ``--compare-engines`` also
fuses every set with the defaults on the torch engine and on the fused engine and prints both PSNRs, their
difference per set and the largest difference.

PSNR is computed on the 8-bit images as written (``mffssim.metrics.psnr``).
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from mffssim.focus import laplacian_focus_map
from mffssim.kernels import set_threads
from mffssim.fusion import fuse, pixelwise_fuse
from mffssim.io import find_image_sets, read_image, read_image_set
from mffssim.metrics.reference import psnr
from mffssim.ssim import window_size


def _psnr_8bit(reference: np.ndarray, image: np.ndarray) -> float:
    return psnr(reference, np.round(np.clip(image, 0, 1) * 255) / 255)


def _timed_fuse(sources, focus_map, window, **options):
    cpu = time.process_time()
    result = fuse(sources, focus_map, window=window, device="cpu", **options)
    return result, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder of <set>/source_1.*, source_2.*, reference.*")
    parser.add_argument("--variant", default="paper", choices=["paper", "reference"])
    parser.add_argument("--threads", type=int, default=2, help="torch and numba threads (default 2)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"], help="fuse(dtype=...)")
    parser.add_argument("--engine", default="auto", choices=["auto", "fused", "torch"],
                        help="fuse(engine=...) (default auto, as fuse's)")
    parser.add_argument("--compare-engines", action="store_true",
                        help="also fuse each set on the torch and the fused engine (defaults) and compare PSNR")
    parser.add_argument("--limit", type=int, default=None, help="only the first N sets (sorted by id)")
    parser.add_argument("--sets", nargs="*", default=None, help="only these set ids")
    args = parser.parse_args()
    set_threads(args.threads)

    found = find_image_sets(args.data)
    chosen = [s for s in sorted(found) if found[s].reference is not None and len(found[s].sources) == 2]
    if args.sets:
        chosen = [s for s in chosen if s in set(args.sets)]
    chosen = chosen[: args.limit] if args.limit else chosen
    if not chosen:
        raise SystemExit(f"{args.data}: no two-source image set with a reference")
    print(f"{len(chosen)} sets of {Path(args.data).name}; variant {args.variant}; engine {args.engine}; {args.dtype}; torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.1f}")
    print("\n| set | W | pixel-wise dB | default dB | default - pixel-wise | iterations | stopped early | seconds | "
          "CPU s |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = []
    for set_id in chosen:
        files = found[set_id]
        sources, _ = read_image_set(files.sources)
        reference = read_image(files.reference)
        window = window_size(*sources.shape[1:3])
        focus_map = laplacian_focus_map(sources, window)
        default, cpu = _timed_fuse(sources, focus_map, window, variant=args.variant, dtype=args.dtype,
                                   engine=args.engine)
        row = {
            "set": set_id, "window": window,
            "pixelwise": _psnr_8bit(reference, pixelwise_fuse(sources, focus_map)),
            "default": _psnr_8bit(reference, default.image),
            "iterations": default.iterations, "stopped": default.stopped_early,
            "seconds": default.seconds, "cpu": cpu, "engine": default.solver.get("engine"),
        }
        if args.compare_engines:
            for engine in ("torch", "fused"):
                result, engine_cpu = _timed_fuse(sources, focus_map, window, variant=args.variant,
                                                 dtype=args.dtype, engine=engine)
                row[engine] = (_psnr_8bit(reference, result.image), result.seconds, engine_cpu)
            print(f"  {set_id}: torch {row['torch'][0]:.3f} dB ({row['torch'][1]:.2f} s, {row['torch'][2]:.2f} CPU s), "
                  f"fused {row['fused'][0]:.3f} dB ({row['fused'][1]:.2f} s, {row['fused'][2]:.2f} CPU s), "
                  f"fused - torch {row['fused'][0] - row['torch'][0]:+.4f} dB", flush=True)
        rows.append(row)
        print(f"| {set_id} | {window} | {row['pixelwise']:.2f} | {row['default']:.2f} | "
              f"{row['default'] - row['pixelwise']:+.2f} | {row['iterations']} | {'yes' if row['stopped'] else 'no'} | {row['seconds']:.2f} | {cpu:.2f} |",
              flush=True)

    # a fused image equal to its reference scores an infinite PSNR: such sets are left out of the means
    finite = [r for r in rows if all(math.isfinite(r[k]) for k in ("pixelwise", "default"))]
    if len(finite) < len(rows):
        print(f"\n{len(rows) - len(finite)} set(s) with an infinite PSNR left out of the means: "
              + ", ".join(r["set"] for r in rows if r not in finite))
    mean = {k: statistics.fmean(r[k] for r in finite) for k in ("pixelwise", "default")}
    gains = [r["default"] - r["pixelwise"] for r in finite]
    below = sorted((r["default"] - r["pixelwise"], r["set"]) for r in rows if r["default"] < r["pixelwise"])
    print(f"\nmean PSNR: default {mean['default']:.3f} dB, "
          f"pixel-wise {mean['pixelwise']:.3f} dB; default - pixel-wise {mean['default'] - mean['pixelwise']:+.3f} dB "
          f"(median {statistics.median(gains):+.3f} dB)")
    print(f"below pixel-wise: {len(below)} set(s)" + (": " + ", ".join(f"{s} {d:+.3f} dB" for d, s in below) if below else ""))
    print(f"iterations of the default: median {statistics.median(r['iterations'] for r in rows):.0f}, "
          f"min {min(r['iterations'] for r in rows)}, max {max(r['iterations'] for r in rows)}; "
          f"stopped early on {sum(r['stopped'] for r in rows)} of {len(rows)}")
    print(f"seconds per set (FusionResult.seconds, {torch.get_num_threads()} threads): "
          f"median {statistics.median(r['seconds'] for r in rows):.2f} s, max {max(r['seconds'] for r in rows):.2f} s; "
          f"CPU seconds median {statistics.median(r['cpu'] for r in rows):.2f} s; "
          f"load average {os.getloadavg()[0]:.1f}")
    if args.compare_engines:
        gaps = [abs(r["fused"][0] - r["torch"][0]) for r in rows if all(math.isfinite(r[e][0]) for e in ("torch", "fused"))]
        print(f"engines: largest |fused - torch| PSNR {max(gaps):.4f} dB over {len(gaps)} set(s), "
              f"{sum(g > 0.01 for g in gaps)} above 0.01 dB; median solver seconds torch "
              f"{statistics.median(r['torch'][1] for r in rows):.2f} s, fused {statistics.median(r['fused'][1] for r in rows):.2f} s; "
              f"median CPU s torch {statistics.median(r['torch'][2] for r in rows):.2f}, "
              f"fused {statistics.median(r['fused'][2] for r in rows):.2f}")


if __name__ == "__main__":
    main()
