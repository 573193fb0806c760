"""Time one MFF-SSIM value-and-gradient and measure the float32 error, on the benchmark pair.

The pair (as bench_fusion.py): scikit-image's astronaut resized (anti-aliased) to 432x624x3; source 1 has
its left half blurred (Gaussian sigma 3), source 2 its right half; the map is the ideal one. Prints ms per
``MFFSSIMObjective.value_and_grad`` for both variants at W = 13 and 25 (float32, torch threads as given),
and the float32-vs-float64 error of Q (relative) and of the gradient (max abs error / max abs value).

The reference variant's gradient error is dominated by its clamp at SSIM = 1: on flat areas SSIM is 1 up
to rounding, and float32 and float64 round to opposite sides of the clamp at some positions.

    python benchmarks/bench_objective.py [--threads 2] [--repeats 30] [--device cpu]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from skimage import data, transform

from mffssim.defocus import gaussian_blur
from mffssim.ssim import MFFSSIMObjective

HEIGHT, WIDTH = 432, 624


def benchmark_pair() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sources (2, H, W, 3), the sharp image (H, W, 3) and the ideal focus map (2, H, W), float32."""
    sharp = transform.resize(data.astronaut(), (HEIGHT, WIDTH), anti_aliasing=True).astype(np.float32)
    blurred = gaussian_blur(sharp, 3.0)
    left = np.zeros((HEIGHT, WIDTH), dtype=bool)
    left[:, : WIDTH // 2] = True
    source_1 = np.where(left[:, :, None], blurred, sharp)
    source_2 = np.where(left[:, :, None], sharp, blurred)
    focus_map = np.stack([~left, left]).astype(np.float32)  # source 1 is sharp on the right
    return np.stack([source_1, source_2]), sharp, focus_map


def to_torch(sources: np.ndarray, fused: np.ndarray, focus_map: np.ndarray, dtype, device):
    s = torch.from_numpy(np.ascontiguousarray(sources.transpose(0, 3, 1, 2))).to(device=device, dtype=dtype)
    y = torch.from_numpy(np.ascontiguousarray(fused.transpose(2, 0, 1))).to(device=device, dtype=dtype)
    m = torch.from_numpy(focus_map).to(device=device, dtype=dtype)
    return s, y, m


def time_ms(objective: MFFSSIMObjective, fused: torch.Tensor, repeats: int) -> tuple[float, float, float]:
    """Wall time of one value_and_grad (median, min) and its process CPU time (median), in ms."""
    for _ in range(3):
        objective.value_and_grad(fused)
    wall, cpu = [], []
    for _ in range(repeats):
        if fused.is_cuda:
            torch.cuda.synchronize()
        start, start_cpu = time.perf_counter(), time.process_time()
        objective.value_and_grad(fused)
        if fused.is_cuda:
            torch.cuda.synchronize()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return 1e3 * float(np.median(wall)), 1e3 * float(np.min(wall)), 1e3 * float(np.median(cpu))


def relative_errors(sources, fused, focus_map, window, variant, device) -> tuple[float, float]:
    """float32 against float64: |dQ| / |Q| and max |d grad| / max |grad|."""
    out = {}
    for dtype in (torch.float32, torch.float64):
        s, y, m = to_torch(sources, fused, focus_map, dtype, device)
        q, g = MFFSSIMObjective(s, m, window, variant).value_and_grad(y)
        out[dtype] = (float(q), g.double().cpu())
    (q32, g32), (q64, g64) = out[torch.float32], out[torch.float64]
    return abs(q32 - q64) / abs(q64), float((g32 - g64).abs().max() / g64.abs().max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sources, _, focus_map = benchmark_pair()
    fused = sources.mean(0)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"MFFSSIMObjective.value_and_grad, float32, {HEIGHT}x{WIDTH}x3, K=2, device {args.device}, "
          f"{args.threads} torch threads, {args.repeats} calls; load average {load:.1f} on {os.cpu_count()} CPUs "
          "(a shared machine makes timings approximate)")
    print(f"{'variant':<10} {'W':>3} {'wall median':>12} {'wall min':>9} {'CPU median':>11} "
          f"{'Q f32 err':>10} {'grad f32 err':>13}")
    for variant in ("paper", "reference"):
        for window in (13, 25):
            s, y, m = to_torch(sources, fused, focus_map, torch.float32, args.device)
            wall, wall_min, cpu = time_ms(MFFSSIMObjective(s, m, window, variant), y, args.repeats)
            q_err, g_err = relative_errors(sources, fused, focus_map, window, variant, args.device)
            print(f"{variant:<10} {window:>3} {wall:>9.1f} ms {wall_min:>6.1f} ms {cpu:>8.1f} ms "
                  f"{q_err:>10.1e} {g_err:>13.1e}")


if __name__ == "__main__":
    main()
