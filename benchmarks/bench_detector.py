"""Inference time of the ResNet detector for one 520x520 pair, default network and the paper's F=128, B=8.

Run: ``python benchmarks/bench_detector.py [--threads 2] [--repeats 3] [--tile 1024]``. Random weights
(the time does not depend on them). Prints wall and process CPU seconds per pair (median of the
repeats, after one warm-up call); other processes sharing the CPU inflate the wall time, so both are shown.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from mffssim.detector.config import DetectorConfig, paper_config
from mffssim.detector.inference import focus_probability
from mffssim.detector.network import FocusNet, count_parameters


def time_pair(model: FocusNet, size: int, tile: int | None, repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``focus_probability`` on a random ``size``x``size`` pair."""
    rng = np.random.default_rng(0)
    a, b = rng.random((2, size, size), dtype=np.float32)
    focus_probability(a[:64, :64], b[:64, :64], model, tile=tile, device="cpu")  # warm-up
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        focus_probability(a, b, model, tile=tile, device="cpu")
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=520)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--paper-repeats", type=int, default=1)
    parser.add_argument("--tile", type=int, default=1024)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    default, paper = DetectorConfig(), paper_config()
    rows = []
    for name, config, repeats in (("default", default, args.repeats), ("paper", paper, args.paper_repeats)):
        model = FocusNet(config.width, config.blocks).eval()
        wall, cpu = time_pair(model, args.size, args.tile, repeats)
        rows.append((name, config.width, config.blocks, count_parameters(model), wall, cpu))
    print(f"ResNet detector inference, one {args.size}x{args.size} pair, CPU, {args.threads} threads, "
          f"tile {args.tile}")
    print("| network | F | B | parameters | wall s | CPU s |\n|---|---|---|---|---|---|")
    for name, width, blocks, params, wall, cpu in rows:
        print(f"| {name} | {width} | {blocks} | {params:,} | {wall:.2f} | {cpu:.2f} |")


if __name__ == "__main__":
    main()
