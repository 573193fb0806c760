"""Training time of the detector per batch, extrapolated to an epoch and to a whole schedule.

Run: ``python benchmarks/bench_detector_epoch.py [--config config/detector_paper.yaml] [--batches 2]
[--threads 1]``. Times ``--batches`` optimiser steps (after one warm-up step) of FocusNet at the config's
width, depth, crop and batch size on random pairs (the time does not depend on the data), and prints the
CPU and wall seconds per batch, per epoch (samples_per_epoch / batch_size batches) and for all epochs.
Other processes sharing the CPU inflate the wall time, so the load average is printed beside it.
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import torch
import yaml
from torch.nn import functional

from mffssim.detector.config import DetectorConfig
from mffssim.detector.network import FocusNet, count_parameters
from mffssim.workflow.experiments.report_io import load_average


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("config/detector_paper.yaml"))
    parser.add_argument("--batches", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    block = yaml.safe_load(args.config.read_text())["detector"]
    known = set(DetectorConfig.__dataclass_fields__)
    config = DetectorConfig.from_mapping({k: v for k, v in block.items() if k in known and k != "source"})
    torch.manual_seed(0)
    model = FocusNet(config.width, config.blocks)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    shape = (config.batch_size, 1, config.crop, config.crop)
    x1, x2, target = torch.rand(shape), torch.rand(shape), torch.rand(shape).round()

    def step() -> None:
        loss = functional.binary_cross_entropy(model(x1, x2), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step()  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(args.batches):
        step()
    wall, cpu = (time.perf_counter() - wall) / args.batches, (time.process_time() - cpu) / args.batches
    per_epoch = math.ceil(config.samples_per_epoch / config.batch_size)
    print(f"FocusNet({config.width}, {config.blocks}), {count_parameters(model):,} parameters, batch "
          f"{config.batch_size} x {config.crop}^2, {args.threads} thread(s), load average {load_average():.1f}")
    print(f"per batch: {cpu:.2f} CPU s, {wall:.2f} s wall ({args.batches} batches)")
    print(f"per epoch ({per_epoch} batches): {cpu * per_epoch / 3600:.2f} CPU h, {wall * per_epoch / 3600:.2f} h wall")
    print(f"{config.epochs} epochs: {cpu * per_epoch * config.epochs / 3600:.1f} CPU h, "
          f"{wall * per_epoch * config.epochs / 3600:.1f} h wall")


if __name__ == "__main__":
    main()
