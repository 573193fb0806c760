"""Time one MFF-SSIM value-and-gradient and measure the float32 error, on the benchmark pair.

The pair (as bench_fusion.py): scikit-image's astronaut resized (anti-aliased) to 432x624x3; source 1 has
its left half blurred (Gaussian sigma 3), source 2 its right half; the map is the ideal one. Prints ms per
``MFFSSIMObjective.value_and_grad`` for both variants at W = 13 and 25 (float32, CPU, torch threads as
given), and the float32-vs-float64 relative error of Q and of the gradient.

    python benchmarks/bench_objective.py [--threads 2] [--repeats 30] [--device cpu]
"""
from __future__ import annotations

import argparse
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


def time_ms(objective: MFFSSIMObjective, fused: torch.Tensor, repeats: int) -> float:
    """Median wall time of one value_and_grad, in ms."""
    for _ in range(3):
        objective.value_and_grad(fused)
    times = []
    for _ in range(repeats):
        if fused.is_cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        objective.value_and_grad(fused)
        if fused.is_cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sources, _, focus_map = benchmark_pair()
    fused = sources.mean(0)
    print(f"value_and_grad on {HEIGHT}x{WIDTH}x3, K=2, device {args.device}, {args.threads} threads "
          f"(median of {args.repeats}; machine shared, timings approximate)")
    print(f"{'variant':<10} {'W':>3} {'ms (f32)':>9} {'ms (f64)':>9} {'Q rel err f32':>14} {'grad rel err f32':>17}")
    for variant in ("paper", "reference"):
        for window in (13, 25):
            results = {}
            for dtype in (torch.float32, torch.float64):
                s, y, m = to_torch(sources, fused, focus_map, dtype, args.device)
                objective = MFFSSIMObjective(s, m, window, variant)
                q, g = objective.value_and_grad(y)
                results[dtype] = (q.double().cpu(), g.double().cpu(), time_ms(objective, y, args.repeats))
            q32, g32, t32 = results[torch.float32]
            q64, g64, t64 = results[torch.float64]
            q_err = abs(float(q32 - q64)) / abs(float(q64))
            g_err = float((g32 - g64).abs().max() / g64.abs().max())
            print(f"{variant:<10} {window:>3} {t32:>9.2f} {t64:>9.2f} {q_err:>14.2e} {g_err:>17.2e}")


if __name__ == "__main__":
    main()
