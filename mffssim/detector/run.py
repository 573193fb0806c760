"""Train, evaluate and tabulate in one call: the detector's part of the default run, and its command line.

``python -m mffssim.detector.run OUT [--preset paper] [--set key=value ...]`` writes ``OUT/weights.pt``,
``OUT/loss.csv`` (+ ``loss.png``), ``OUT/checkpoints/`` and ``OUT/evaluation.csv`` / ``.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any, Mapping

from mffssim.detector.config import (
    DetectorConfig, heldout_dataset, paper_config, real_heldout_dataset, train_from_config,
)
from mffssim.detector.evaluate import evaluate_detector, write_table


def train_and_evaluate(config: DetectorConfig | Mapping[str, Any] | None, out_dir: str | os.PathLike, *,
                       device: str = "auto", threads: int | None = None, progress: bool = True) -> dict[str, Any]:
    """Train per ``config`` into ``out_dir``, score on the held-out pairs, write the table; return its row."""
    if not isinstance(config, DetectorConfig):
        config = DetectorConfig.from_mapping(config)
    out_dir = Path(out_dir)
    began = time.perf_counter()
    cpu_began = time.process_time()
    history = train_from_config(config, out_dir / "weights.pt", checkpoint_dir=out_dir / "checkpoints",
                                log=out_dir / "loss.csv", device=device, threads=threads, progress=progress)
    train_seconds, train_cpu = time.perf_counter() - began, time.process_time() - cpu_began
    result = evaluate_detector(out_dir / "weights.pt", heldout_dataset(config), device=device)
    real = real_heldout_dataset(config)
    if real is not None:  # the real images held out by image
        scored = evaluate_detector(out_dir / "weights.pt", real, device=device)
        result |= {f"real_{key}": value for key, value in scored.items()}
    source = config.source if isinstance(config.source, str) else "+".join(config.source)
    row = {"source": source, "width": config.width, "blocks": config.blocks, "crop": config.crop,
           "epochs": config.epochs, "samples_per_epoch": config.samples_per_epoch,
           "train_seconds": round(train_seconds, 1), "train_cpu_seconds": round(train_cpu, 1),
           "final_loss": history[-1]["train_loss"], "heldout_loss": history[-1]["heldout_loss"], **result}
    write_table([row], out_dir / "evaluation.csv", out_dir / "evaluation.md")
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--preset", choices=("default", "paper"), default="default")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a DetectorConfig setting (VALUE parsed as JSON when it can be)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    config = paper_config(**overrides) if args.preset == "paper" else DetectorConfig.from_mapping(overrides)
    row = train_and_evaluate(config, args.out_dir, device=args.device, threads=args.threads)
    print(json.dumps(row, indent=1))


if __name__ == "__main__":
    main()
