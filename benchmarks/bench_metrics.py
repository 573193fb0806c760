"""Time every quality metric on one 520x520 colour triple (the size of the MFIF survey's Lytro images).

The triple is c_01 of the ``fusion_metrics`` test vectors (sources and the CNN result, uint8 RGB) when
the tests have downloaded them into the cache (``mffssim.datasets.cache_dir()``), else a seeded synthetic scene of the same size (a textured image, two defocused
sources, their average). Prints, per metric, the median and best wall time and the best CPU time (process
time, all threads) of one call, the budget (0.5 s; QP 1 s) and the system load, since other jobs on a
shared machine inflate wall times.

Then the MFIFB benchmark's 20 metrics as the workflow computes them (``evaluate`` with the sources' features
cached, as rule source_features does), under both conventions: the best CPU time of each metric alone and of
all 20 in one call, whose budget under ``mfifb`` (every metric on three channels) is 3 CPU-s.

    python benchmarks/bench_metrics.py [--repeats 5] [--metrics qg qe ...] [--conventions survey mfifb]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from mffssim.datasets import cache_dir
from mffssim.defocus import defocus_pair
from mffssim.metrics import FULL_REFERENCE, MFIFB_METRICS, NO_REFERENCE, evaluate, fsim, source_features

VECTORS = cache_dir() / "testvectors" / "fusion_metrics" / "color" / "c_01"
BUDGET_S = {"qp": 1.0}  # every other metric: 0.5 s
MFIFB_BUDGET_S = 3.0  # all 20 of MFIFB's metrics under the mfifb convention, sources' features cached


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
    parser.add_argument("--conventions", nargs="*", default=["survey", "mfifb"], choices=["survey", "mfifb"])
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
    if args.conventions:
        mfifb_rows(a, b, f, args.conventions, args.repeats)


def mfifb_rows(a: np.ndarray, b: np.ndarray, f: np.ndarray, conventions: list[str], repeats: int) -> None:
    """Best CPU ms of each of MFIFB's 20 metrics, and of all of them in one ``evaluate`` call, per convention,
    with the sources' features computed beforehand (the workflow's per-set cache)."""
    features = {c: source_features([a, b], convention=c) for c in conventions}
    print(f"\nMFIFB's 20 metrics, sources' features cached; best CPU ms of {repeats}; load average {os.getloadavg()[0]:.1f}")
    print(f"{'metric':12s} " + " ".join(f"{c:>8s}" for c in conventions))
    for name in MFIFB_METRICS:
        cpus = [time_call(lambda c=c, m=name: evaluate([a, b], f, metrics=[m], convention=c, features=features[c]),
                          repeats)[2] for c in conventions]
        print(f"{name:12s} " + " ".join(f"{1e3 * cpu:8.0f}" for cpu in cpus))
    totals = {c: time_call(lambda c=c: evaluate([a, b], f, metrics=list(MFIFB_METRICS), convention=c,
                                                 features=features[c]), repeats)[2] for c in conventions}
    print(f"{'all 20':12s} " + " ".join(f"{1e3 * totals[c]:8.0f}" for c in conventions))
    if "mfifb" in totals:
        verdict = "ok" if totals["mfifb"] <= MFIFB_BUDGET_S else "OVER"
        print(f"all 20 under mfifb: {totals['mfifb']:.2f} CPU-s, budget {MFIFB_BUDGET_S:.0f} s: {verdict}")


if __name__ == "__main__":
    main()
