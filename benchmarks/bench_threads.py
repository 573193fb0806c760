"""Torch CPU threads for one fusion: wall and CPU seconds of a 512x512 colour fusion on 1 thread, 2 threads
and torch's default, on the machine as it is and with a competing CPU-bound process (the measurement behind
the default of ``mffssim fuse --threads``). "no rival": the machine as it is (its load average is in
the row); "competing": beside ``python3 -c 'while True: pass'``, killed afterwards.

The pair: scikit-image's astronaut at 512 x 512, each source with one half blurred (Gaussian sigma 3),
the Laplacian focus map, the default solver (adam-cosine, tol 1e-6), on the CPU. Each run is a fresh Python
process (torch fixes its thread pool at first use); its wall and CPU seconds cover the fusion alone.

    python benchmarks/bench_threads.py                       # both conditions, 2 repeats each
    python benchmarks/bench_threads.py --repeats 1 --no-compete

Timings on a shared machine are approximate: each row carries the 1-minute load average before its run.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

CHILD = r"""
import json, sys, time
import torch
threads = sys.argv[1]
if threads != "default":
    torch.set_num_threads(int(threads))
from mffssim.experiments.speed import benchmark_pair
from mffssim.fusion import fuse
_, sources = benchmark_pair(512, 512)
fuse(sources[:, :64, :64], device="cpu", iterations=2)  # warm-up (imports, thread pool)
wall, cpu = time.perf_counter(), time.process_time()
result = fuse(sources, device="cpu")
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
print(json.dumps({"threads": torch.get_num_threads(), "wall": wall, "cpu": cpu,
                  "iterations": result.iterations, "q": result.q}))
"""


def run_once(threads: str) -> dict:
    load = os.getloadavg()[0]
    done = subprocess.run([sys.executable, "-c", CHILD, threads], capture_output=True, text=True, check=True)
    row = json.loads(done.stdout.strip().splitlines()[-1])
    row["load"] = load
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", default=["1", "2", "default"], help="thread counts, or 'default'")
    parser.add_argument("--repeats", type=int, default=2, help="runs per setting and condition")
    parser.add_argument("--no-compete", action="store_true", help="skip the runs beside a competing process")
    parser.add_argument("--only-compete", action="store_true", help="only the runs beside a competing process")
    args = parser.parse_args()
    import torch

    print(f"torch {torch.__version__}, default threads {torch.get_num_threads()}, os.cpu_count() {os.cpu_count()}, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    conditions = [] if args.only_compete else ["no rival"]
    if not args.no_compete:
        conditions.append("competing")
    print("\n| setting | condition | threads | wall s | CPU s | iterations | load (1 min) |\n|---|---|---|---|---|---|---|")
    for condition in conditions:
        rival = None
        if condition == "competing":
            rival = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            time.sleep(1.0)
        try:
            for setting in args.settings:
                for _ in range(args.repeats):
                    row = run_once(setting)
                    print(f"| {setting} | {condition} | {row['threads']} | {row['wall']:.1f} | {row['cpu']:.1f} | "
                          f"{row['iterations']} | {row['load']:.2f} |", flush=True)
        finally:
            if rival is not None:
                rival.kill()
                rival.wait()


if __name__ == "__main__":
    main()
