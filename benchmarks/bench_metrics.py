"""Time every quality metric on one 520x520 colour triple (the size of the MFIF survey's Lytro images).

The triple is image c_01 of the MFIF survey's fusion-metric test vectors (sources and the CNN result, uint8
RGB) when a local copy is found at ``VECTORS`` below, else a seeded synthetic scene of the same size (a textured image, two defocused
sources, their average). Prints, per metric, the median and best wall time and the best CPU time (process
time, all threads) of one call, the budget (0.5 s; QP 1 s) and the system load, since other jobs on a
shared machine inflate wall times.

    python benchmarks/bench_metrics.py [--repeats 5] [--metrics qg qe ...]
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from mffssim.defocus import defocus_pair
from mffssim.metrics import FULL_REFERENCE, NO_REFERENCE, fsim

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "testvectors" / "fusion_metrics" / "color" / "c_01"
BUDGET_S = {"qp": 1.0}  # every other metric: 0.5 s


def triple() -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """uint8 (520, 520, 3) sources a, b and fused f, with a label saying where they come from."""
    if VECTORS.is_dir():
        import tifffile

        a, b, f = (tifffile.imread(VECTORS / name) for name in ("c_01_1.tif", "c_01_2.tif", "c_01_cnn.tif"))
        return a, b, f, f"MFIF c_01 (cnn), {VECTORS}"
    rng = np.random.default_rng(0)
    image = rng.random((520, 520, 3)).astype(np.float32)
    alpha = np.zeros((520, 520), np.float32)
    alpha[:, :260] = 1.0
    s1, s2, _ = defocus_pair(image, alpha, 2.0)
    a, b = (np.round(x * 255).astype(np.uint8) for x in (s1, s2))
    f = ((a.astype(np.uint16) + b) // 2).astype(np.uint8)
    return a, b, f, "synthetic 520x520 scene (shared test vectors absent)"


def time_call(call, repeats: int) -> tuple[float, float, float]:
    """(median wall, best wall, best CPU) seconds of ``call()`` after one warm-up call."""
    call()
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        call()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return float(np.median(walls)), min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--metrics", nargs="*", default=list(NO_REFERENCE) + list(FULL_REFERENCE) + ["fsimc"])
    args = parser.parse_args()
    a, b, f, label = triple()
    calls = {name: (lambda m=metric: m(a, b, f)) for name, metric in NO_REFERENCE.items()}
    calls.update({name: (lambda m=metric: m(a, f)) for name, metric in FULL_REFERENCE.items()})
    calls["fsimc"] = lambda: fsim(a, f, chromatic=True)
    unknown = sorted(set(args.metrics) - set(calls))
    if unknown:
        parser.error(f"unknown metric(s) {unknown}; choose from {sorted(calls)}")
    print(f"images: {label}; {args.repeats} repeats; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
    print(f"{'metric':8s} {'median ms':>10s} {'best ms':>8s} {'CPU ms':>7s} {'budget':>7s}")
    for name in args.metrics:
        median, best, cpu = time_call(calls[name], args.repeats)
        budget = BUDGET_S.get(name, 0.5)
        verdict = "ok" if best <= budget else "OVER"
        print(f"{name:8s} {1e3 * median:10.0f} {1e3 * best:8.0f} {1e3 * cpu:7.0f} {budget:6.1f}s {verdict}")


if __name__ == "__main__":
    main()
