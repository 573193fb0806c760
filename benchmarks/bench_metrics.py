"""Time every quality metric on one 520x520 colour triple (the size of the MFIF survey's Lytro images).

The triple is c_01 of the ``fusion_metrics`` test vectors (sources and the CNN result, uint8 RGB) when
the tests have downloaded them into the cache (``mffssim.datasets.cache_dir()``), else a seeded synthetic scene of the same size (a textured image, two defocused
sources, their average). Prints, per metric, the median and best wall time and the best CPU time (process
time, all threads) of one call, the budget (0.5 s; QP 1 s) and the system load, since other jobs on a
shared machine inflate wall times.

Then the MFIFB benchmark's 20 metrics as the workflow computes them (``evaluate`` with the sources' features
cached, as rule source_features does), under both conventions: the best CPU time of each metric alone and of
all 20 in one call, whose budget under ``mfifb`` (every metric on three channels) is 3 CPU-s.

Last, the 8 no-reference metrics of the survey's toolbox as a per-set metrics job computes them: one
``evaluate`` per fused image of one set (the c_01 results of several methods, or blends of the synthetic
sources), sources' features cached, in colour and in gray, under both conventions. "cold" empties the
metrics' memo (``mffssim.metrics._memo``) before each image, so every source term is recomputed (the cost
without the memo); "warm" keeps it, as scoring a set's images one after another does. Each row gives the
median CPU ms per image and per megapixel; the budget is 0.4 CPU-s per 520x520 colour image (survey, warm).

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
from mffssim.metrics._common import rgb2gray_matlab
from mffssim.metrics._memo import clear as clear_memo

VECTORS = cache_dir() / "testvectors" / "fusion_metrics" / "color" / "c_01"
BUDGET_S = {"qp": 1.0}  # every other metric: 0.5 s
MFIFB_BUDGET_S = 3.0  # all 20 of MFIFB's metrics under the mfifb convention, sources' features cached
SET_BUDGET_S = 0.4  # the 8 no-reference metrics of one 520x520 colour image, per-set scoring (survey, warm)
OTHER_RESULTS = ("dwt", "gff", "nsct", "sr", "ica", "dtcwt")  # more c_01 results for the per-set rows


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
    """(median wall, best wall, best CPU) seconds of ``call()`` after one warm-up call, each call with the
    metrics' memo emptied first (so repeating one image measures a full computation, not the memo)."""
    call()
    walls, cpus = [], []
    for _ in range(repeats):
        clear_memo()
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
        set_rows(a, b, [f, *more_fused(a, b)], args.conventions)


def more_fused(a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    """Further fused images of the benchmark's sources: other methods' c_01 results, else seeded blends."""
    if VECTORS.is_dir():
        import tifffile

        return [tifffile.imread(VECTORS / f"c_01_{name}.tif") for name in OTHER_RESULTS]
    rng = np.random.default_rng(1)
    weights = [rng.random((*a.shape[:2], 1)) for _ in OTHER_RESULTS]
    return [np.round(w * a + (1 - w) * b).astype(np.uint8) for w in weights]


def set_rows(a: np.ndarray, b: np.ndarray, fused: list[np.ndarray], conventions: list[str]) -> None:
    """Median CPU ms (and ms per megapixel) of the 8 no-reference metrics of each fused image after the first,
    scored one after another with the sources' features cached, with the memo emptied before each image
    (cold) or kept (warm), in colour and in gray."""
    megapixels = a.shape[0] * a.shape[1] / 1e6
    print(f"\nthe 8 no-reference metrics per fused image of one set ({len(fused) - 1} images, sources' features "
          f"cached); median CPU ms and ms per megapixel; load average {os.getloadavg()[0]:.1f}")
    print(f"{'images':8s} {'convention':10s} {'cold ms':>8s} {'ms/MP':>7s} {'warm ms':>8s} {'ms/MP':>7s}")
    verdict = ""
    for label in ("colour", "gray"):
        gray = [rgb2gray_matlab(x.astype(np.float64)).astype(np.uint8) for x in (a, b, *fused)]
        sa, sb, *images = (a, b, *fused) if label == "colour" else gray
        for convention in conventions:
            features = source_features([sa, sb], convention=convention)
            medians = []
            for warm in (False, True):
                clear_memo()
                evaluate([sa, sb], images[0], metrics=list(NO_REFERENCE), convention=convention, features=features)
                cpus = []
                for image in images[1:]:
                    if not warm:
                        clear_memo()
                    start = time.process_time()
                    evaluate([sa, sb], image, metrics=list(NO_REFERENCE), convention=convention, features=features)
                    cpus.append(time.process_time() - start)
                medians.append(float(np.median(cpus)))
            cold, hot = medians
            print(f"{label:8s} {convention:10s} {1e3 * cold:8.0f} {1e3 * cold / megapixels:7.0f} "
                  f"{1e3 * hot:8.0f} {1e3 * hot / megapixels:7.0f}")
            if label == "colour" and convention == "survey":
                verdict = (f"colour, survey, warm: {hot:.2f} CPU-s per image, budget {SET_BUDGET_S} s: "
                           f"{'ok' if hot <= SET_BUDGET_S else 'OVER'}")
    clear_memo()
    if verdict:
        print(verdict)


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
