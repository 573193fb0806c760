"""Fusion benchmark: ms per iteration, time to converge (defaults vs the authors' run), fused PSNR.

The pair: scikit-image's astronaut resized (anti-aliased) to H x W = 432 x 624; source 1 has its left
half blurred (Gaussian sigma 3), source 2 its right half; the focus map is the Laplacian detector's.

    python benchmarks/bench_fusion.py                 # everything (several minutes on 2 cores)
    python benchmarks/bench_fusion.py --skip-converge # only ms/iteration and PSNR

Figures to reach (2-core CPU): paper W=13 <= 30 ms/iteration, W=25 within 1.3x of W=13;
reference W=13 <= 100 ms/iteration; defaults reach the authors' Q (within 1e-4) in <= 1/5 of its wall
time; fused >= 45 dB against the sharp original, above pixel-wise fusion with the same map.
Timings on a shared machine are approximate: the load average is printed with them.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio

from mffssim.workflow.experiments.speed import benchmark_pair, ms_per_iteration, ms_per_objective, ms_per_step
from mffssim.focus import laplacian_focus_map
from mffssim.fusion import fuse, pixelwise_fuse
from mffssim.ssim import window_size

AUTHORS = {"optimizer": "adam", "lr": 1e-3, "iterations": 1000, "tol": None}


def psnr(image: np.ndarray, reference: np.ndarray) -> float:
    return float(peak_signal_noise_ratio(reference, image, data_range=1.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=40, help="iterations timed per ms/iteration figure")
    parser.add_argument("--repeats", type=int, default=3, help="tries per ms/iteration figure (the fastest counts)")
    parser.add_argument("--skip-speed", action="store_true", help="skip the ms/iteration table")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-converge", action="store_true", help="skip the 1000-iteration authors' runs")
    parser.add_argument("--variants", nargs="+", default=["paper", "reference"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    original, sources = benchmark_pair()
    height, width = original.shape[:2]
    window = window_size(height, width)
    print(f"benchmark pair {width}x{height}x3, K=2, window {window}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, device {args.device}; load average {os.getloadavg()[0]:.1f}")
    start = time.perf_counter()
    fmap = laplacian_focus_map(sources, window)
    print(f"Laplacian focus map: {1000 * (time.perf_counter() - start):.0f} ms")

    speed = {}
    if not args.skip_speed:
        print(f"\nloop overhead (Adam step + clamp, no objective): {ms_per_step((3, height, width), args.device):.2f} ms")
        print("\n| variant | W | ms / iteration (fuse, adam) | ms / objective value+gradient |\n|---|---|---|---|")
    for variant in [] if args.skip_speed else args.variants:
        for w in (13, 25):
            map_w = fmap if w == window else laplacian_focus_map(sources, w)
            speed[variant, w] = ms_per_iteration(sources, map_w, w, variant, args.iterations, args.device,
                                                 args.repeats)
            alone = ms_per_objective(sources, map_w, w, variant, args.iterations, args.device, args.repeats)
            print(f"| {variant} | {w} | {speed[variant, w]:.1f} | {alone:.1f} |", flush=True)
    if ("paper", 13) in speed:
        print(f"paper W=25 / W=13: {speed['paper', 25] / speed['paper', 13]:.2f}x")

    print("\n| variant | run | iterations | Q | wall s | reached authors' Q - 1e-4 at | time / authors' "
          "| evaluations / authors' | PSNR dB |\n|---|---|---|---|---|---|---|---|---|")
    for variant in args.variants:
        default = fuse(sources, fmap, window=window, variant=variant, device=args.device)
        runs = [("defaults", default)]
        if not args.skip_converge:
            authors = fuse(sources, fmap, window=window, variant=variant, device=args.device, **AUTHORS)
            runs.insert(0, ("authors", authors))
        target = runs[0][1].q - 1e-4 if not args.skip_converge else None
        for name, result in runs:
            reach = "-"
            ratio = evaluations = "-"
            if target is not None:
                hit = np.nonzero(result.trace >= target)[0]
                reach = f"iteration {hit[0]}" if len(hit) else "never"
                ratio = f"{result.seconds / runs[0][1].seconds:.3f}"
                evaluations = f"{(result.iterations + 1) / (runs[0][1].iterations + 1):.3f}"
            print(f"| {variant} | {name} ({result.optimizer}) | {result.iterations} | {result.q:.6f} | "
                  f"{result.seconds:.1f} | {reach} | {ratio} | {evaluations} | {psnr(result.image, original):.2f} |", flush=True)
        if target is not None:
            ok = default.q >= target and default.seconds <= runs[0][1].seconds / 5
            print(f"{variant}: defaults {'meet' if ok else 'MISS'} the goal (Q >= authors' - 1e-4 "
                  f"in <= 1/5 of its time): Q gap {runs[0][1].q - default.q:+.2e}")
    print(f"\npixel-wise fusion (Eq. 1), same map: PSNR {psnr(pixelwise_fuse(sources, fmap), original):.2f} dB")
    print(f"load average at the end {os.getloadavg()[0]:.1f} (timings on a shared machine are approximate)")


if __name__ == "__main__":
    main()
