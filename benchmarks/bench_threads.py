"""CPU threads for one fusion: wall and CPU seconds of a 512x512 colour fusion on 1 thread, 2 threads
and the library's default (torch's, or numba's), on the machine as it is and with a competing CPU-bound
process (the measurement behind the default of ``mffssim fuse --threads``), for either engine and, for
the fused engine, each of numba's threading layers. "no rival": the machine as it is (its load average
is in the row); "competing": beside ``python3 -c 'while True: pass'``, killed afterwards.

The pair: scikit-image's astronaut at 512 x 512, each source with one half blurred (Gaussian sigma 3),
the Laplacian focus map, the default solver (adam-cosine, tol 1e-6), on the CPU. Each run is a fresh Python
process (torch fixes its thread pool at first use); its wall and CPU seconds cover the fusion alone.

    python benchmarks/bench_threads.py                       # both conditions, 2 repeats each
    python benchmarks/bench_threads.py --repeats 1 --no-compete
    python benchmarks/bench_threads.py --engine fused --layers workqueue omp   # numba's threading layers

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
from mffssim.kernels import set_threads
threads, engine, torch_threads = sys.argv[1], sys.argv[2], sys.argv[3]
if threads != "default":
    set_threads(int(threads))
if torch_threads != "same":
    torch.set_num_threads(int(torch_threads))
from mffssim.workflow.experiments.speed import benchmark_pair
from mffssim.fusion import fuse
_, sources = benchmark_pair(512, 512)
fuse(sources[:, :64, :64], device="cpu", iterations=2, engine=engine)  # warm-up (imports, compilation, threads)
wall, cpu = time.perf_counter(), time.process_time()
result = fuse(sources, device="cpu", engine=engine)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
if engine == "fused":
    import numba
    used, layer = numba.get_num_threads(), f"{numba.threading_layer()}, torch {torch.get_num_threads()}"
else:
    used, layer = torch.get_num_threads(), "-"
print(json.dumps({"threads": used, "layer": layer, "wall": wall, "cpu": cpu,
                  "iterations": result.iterations, "q": result.q}))
"""


def run_once(threads: str, engine: str, layer: str, torch_threads: str) -> dict:
    load = os.getloadavg()[0]
    env = dict(os.environ)
    if layer != "default":
        env["NUMBA_THREADING_LAYER"] = layer
    done = subprocess.run([sys.executable, "-c", CHILD, threads, engine, torch_threads], capture_output=True, text=True, check=True,
                          env=env)
    row = json.loads(done.stdout.strip().splitlines()[-1])
    row["load"] = load
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", default=["1", "2", "default"], help="thread counts, or 'default'")
    parser.add_argument("--repeats", type=int, default=2, help="runs per setting and condition")
    parser.add_argument("--no-compete", action="store_true", help="skip the runs beside a competing process")
    parser.add_argument("--only-compete", action="store_true", help="only the runs beside a competing process")
    parser.add_argument("--engine", choices=("torch", "fused"), default="torch", help="the objective's engine")
    parser.add_argument("--torch-threads", default="same",
                        help="torch's threads beside the fused engine's (default: the same count)")
    parser.add_argument("--layers", nargs="+", default=["default"],
                        help="numba threading layers of the fused engine (workqueue, omp, tbb) or 'default'")
    args = parser.parse_args()
    import torch

    print(f"torch {torch.__version__}, default threads {torch.get_num_threads()}, os.cpu_count() {os.cpu_count()}, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    conditions = [] if args.only_compete else ["no rival"]
    if not args.no_compete:
        conditions.append("competing")
    print("\n| engine | layer | setting | condition | threads | wall s | CPU s | iterations | load (1 min) |\n"
          "|---|---|---|---|---|---|---|---|---|")
    for condition in conditions:
        rival = None
        if condition == "competing":
            rival = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            time.sleep(1.0)
        try:
            for layer in args.layers if args.engine == "fused" else ["default"]:
                for setting in args.settings:
                    for _ in range(args.repeats):
                        row = run_once(setting, args.engine, layer, args.torch_threads)
                        print(f"| {args.engine} | {row['layer']} | {setting} | {condition} | {row['threads']} | "
                              f"{row['wall']:.1f} | {row['cpu']:.1f} | {row['iterations']} | {row['load']:.2f} |",
                              flush=True)
        finally:
            if rival is not None:
                rival.kill()
                rival.wait()


if __name__ == "__main__":
    main()
