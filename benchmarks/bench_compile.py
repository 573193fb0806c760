"""Compilation of the fused engine (mffssim/kernels): numba compiles the kernels on their first use and
caches the machine code under ``NUMBA_CACHE_DIR`` (by default ``<mffssim cache>/numba``).

Each row is a fresh Python process timing ``FusedObjective.compile`` (the kernels of one variant for one
image dtype, on a tiny problem) for both variants and both dtypes, with an empty cache ("first call"),
then with the cache it left ("cached"), then two processes at once on another empty cache followed by a
third one: it must load from the cache (cached times) and give the same Q as an uncached process.

    python benchmarks/bench_compile.py

Times on a shared machine are approximate: the load average is printed with the rows.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

CHILD = r"""
import json, time
import torch
t0 = time.perf_counter(); c0 = time.process_time()
from mffssim.kernels import fused_objective_class
fused = fused_objective_class()
times = {"import": time.perf_counter() - t0}
for variant in ("paper", "reference"):
    for dtype in (torch.float32, torch.float64):
        start = time.perf_counter()
        fused.compile(variant, dtype)
        times[f"{variant} {str(dtype)[6:]}"] = time.perf_counter() - start
x = torch.rand(2, 3, 40, 40, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
m = torch.stack([torch.ones(40, 40), torch.zeros(40, 40)]).double()
q = float(fused(x, m, 7, "paper").value(x.mean(0)))
print(json.dumps({"times": times, "wall": time.perf_counter() - t0, "cpu": time.process_time() - c0, "q": q}))
"""


def child(cache: str) -> subprocess.Popen:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache, "NUMBA_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", CHILD], env=env, stdout=subprocess.PIPE, text=True)


def result(process: subprocess.Popen) -> dict:
    out, _ = process.communicate()
    if process.returncode:
        raise SystemExit(f"child failed with status {process.returncode}")
    return json.loads(out.strip().splitlines()[-1])


def row(name: str, record: dict) -> None:
    times = " | ".join(f"{t:.2f}" for t in record["times"].values())
    print(f"| {name} | {times} | {record['wall']:.1f} | {record['cpu']:.1f} | {os.getloadavg()[0]:.2f} |", flush=True)


def main() -> None:
    with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as shared:
        cold = result(child(first))
        names = " | ".join(f"{name} s" for name in cold["times"])
        print(f"| process | {names} | wall s | CPU s | load (1 min) |")
        print("|---" * (len(cold["times"]) + 4) + "|")
        row("first call (empty cache)", cold)
        row("cached", result(child(first)))
        pair = [child(shared), child(shared)]
        both = [result(p) for p in pair]
        for number, record in enumerate(both, start=1):
            row(f"two at once, process {number} (empty cache)", record)
        after = result(child(shared))
        row("after the two (their cache)", after)
        same = all(r["q"] == cold["q"] for r in both + [after])
        print(f"\nQ equal in every process: {same}")


if __name__ == "__main__":
    main()
