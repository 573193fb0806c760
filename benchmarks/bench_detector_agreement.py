"""Agreement of a detector's ResNet maps with the authors' published MS-ResNet maps, in one process.

Run: ``python benchmarks/bench_detector_agreement.py WEIGHTS --data resources/data [--threads 1]``
(``--data``: the workflow's download folder holding lytro/, mffw/, grayscale/ and
mffssim_official_results/). The quick loop for choosing detector settings; the workflow's own table is
the target ``detector_agreement`` (results/experiments/detector_agreement/). Prints, per data set and split
(the tuning half of config.yaml's ``experiments.detector_agreement.tune``, the other half, all), the mean
and min agreement on all pixels and on informative pixels, and the CPU and wall seconds of the maps.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import yaml

from mffssim import read_focus_map, registry
from mffssim.detector.inference import detect_focus_map
from mffssim.detector.train import load_model
from mffssim.io import find_image_sets, read_image_set
from mffssim.workflow.experiments.detector_agreement import pair_record, split_of, summarise
from mffssim.workflow.experiments.report_io import load_average, markdown_table

CONFIG = Path(__file__).resolve().parent.parent / "config.yaml"


def measure(weights: str, data: Path, datasets: tuple[str, ...], tune: dict) -> list[dict]:
    """One :func:`pair_record` per published pair of ``datasets`` (our ResNet map against theirs)."""
    model = load_model(weights, "cpu")
    records = []
    for dataset in datasets:
        sets = find_image_sets(data / dataset)
        for set_id in sorted(registry.official_sets(dataset)):
            sources, _ = read_image_set(sets[set_id].sources)
            official = data / registry.OFFICIAL_RESULTS / registry.official_dir(dataset, set_id)
            shape = sources.shape[1:3]
            maps = {"resnet": detect_focus_map(sources, model, device="cpu"),
                    "their_resnet": read_focus_map(official / "ms_resnet_map.png", 2, shape=shape),
                    "their_lap": read_focus_map(official / "ms_lap_map.png", 2, shape=shape)}
            records.append(pair_record(dataset, set_id, sources, maps, split=split_of(dataset, set_id, tune)))
    return records


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights")
    parser.add_argument("--data", type=Path, default=Path("resources/data"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the per-pair records here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    settings = yaml.safe_load(CONFIG.read_text())["experiments"]["detector_agreement"]
    wall, cpu = time.perf_counter(), time.process_time()
    records = measure(args.weights, args.data, tuple(settings["datasets"]), settings["tune"])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    columns = ["dataset", "split", "pairs", "resnet_all_mean", "resnet_all_min", "resnet_informative_mean",
               "resnet_informative_min", "theirs_resnet_lap_mean"]
    print(markdown_table(summarise(records), columns, digits={"pairs": 0}, default_digits=2))
    print(f"{len(records)} pairs mapped in {wall:.1f} s wall, {cpu:.1f} s CPU, {args.threads} thread(s), "
          f"load average {load_average():.1f}")
    if args.json:
        args.json.write_text(json.dumps(records, indent=1))


if __name__ == "__main__":
    main()
