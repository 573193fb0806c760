"""Time one MFF-SSIM value-and-gradient on both engines side by side, and the float32 error of each.

The images: scikit-image's astronaut resized (anti-aliased) to the size asked, K sources each sharp on
its own band of columns and blurred elsewhere (Gaussian sigma 3); the map is the ideal one, one-hot or
soft (the one-hot map smoothed by a Gaussian of sigma 4 and renormalised). Each row times
``value_and_grad`` of the torch engine (``mffssim.ssim.MFFSSIMObjective``) and of the fused engine
(``mffssim.kernels.objective.FusedObjective``) on the same float32 images in the same process, with the
same thread count for torch and numba, and prints nanoseconds per pixel per evaluation (median wall and
median CPU over the calls after a warm-up) and the ratio.

``--per-iteration`` adds, per row, the CPU time of a whole iteration of the default optimiser (adam-cosine: the
step, then Q and dQ/dY at the new image) on each engine, as ``fuse`` runs them: the torch step beside the torch
engine, the numba step (mffssim/kernels/adam.py) beside the fused engine.

``--errors`` adds, per row, each engine's float32 error against the torch engine in float64: of Q
(relative) and of the gradient (max abs error / max abs value). The reference variant's float32 gradient
error of the torch engine is dominated by its clamp at SSIM = 1: on flat areas SSIM is 1 up to rounding,
and float32 and float64 round to opposite sides of the clamp at some positions; the fused engine
accumulates in float64 and does not have that error.

    python benchmarks/bench_objective.py                # a small grid (a few minutes on one core)
    python benchmarks/bench_objective.py --full         # 0.27/1/4 MP, W 13/25, both variants, K 2/3,
                                                        # 1 and 2 threads, one-hot and soft
    python benchmarks/bench_objective.py --sizes 1 --windows 13 --variants paper --threads 1 2

Timings on a shared machine are approximate: each row carries the 1-minute load average before it.
"""
from __future__ import annotations

import argparse
import itertools
import os
import time

import numba
import numpy as np
import torch
from scipy import ndimage
from skimage import data, transform

from mffssim.defocus import gaussian_blur
from mffssim.fusion import _AdamCosine, _FusedAdamCosine  # pylint: disable=protected-access
from mffssim.kernels import set_threads
from mffssim.kernels.objective import FusedObjective
from mffssim.ssim import MFFSSIMObjective

SIZES = {0.27: (432, 624), 1: (1000, 1000), 4: (1600, 2500)}  # megapixels -> (H, W)
ENGINES = {"torch": MFFSSIMObjective, "fused": FusedObjective}


def benchmark_stack(height: int, width: int, count: int, soft: bool) -> tuple[np.ndarray, np.ndarray]:
    """Sources (K, H, W, 3) and the ideal focus map (K, H, W), float32."""
    sharp = transform.resize(data.astronaut(), (height, width), anti_aliasing=True).astype(np.float32)
    blurred = gaussian_blur(sharp, 3.0)
    band = np.minimum(np.arange(width) * count // width, count - 1)
    focus_map = (band[None, None, :] == np.arange(count)[:, None, None]).repeat(height, 1).astype(np.float32)
    sources = np.stack([np.where(focus_map[k][:, :, None] > 0, sharp, blurred) for k in range(count)])
    if soft:
        focus_map = ndimage.gaussian_filter(focus_map, (0, 4, 4))
        focus_map /= focus_map.sum(0)
    return sources, focus_map


def to_torch(sources: np.ndarray, fused: np.ndarray, focus_map: np.ndarray, dtype):
    s = torch.from_numpy(np.ascontiguousarray(sources.transpose(0, 3, 1, 2))).to(dtype)
    y = torch.from_numpy(np.ascontiguousarray(fused.transpose(2, 0, 1))).to(dtype)
    return s, y, torch.from_numpy(focus_map).to(dtype)


def time_ns(objective, fused: torch.Tensor, repeats: int) -> tuple[float, float]:
    """Median wall and median process CPU time of one value_and_grad, in ns per pixel."""
    objective.value_and_grad(fused)
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        objective.value_and_grad(fused)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    pixels = fused.shape[1] * fused.shape[2]
    return 1e9 * float(np.median(wall)) / pixels, 1e9 * float(np.median(cpu)) / pixels


def time_iteration_ns(objective, optimizer_class, fused: torch.Tensor, repeats: int) -> float:
    """Median process CPU time of one optimiser iteration (step + value_and_grad), in ns per pixel."""
    y = fused.clone()
    steps = optimizer_class(y, 2e-2, repeats + 2)
    _, grad = objective.value_and_grad(y)
    _, grad = steps.step(objective, grad)  # warm-up (compilation)
    cpu = []
    for _ in range(repeats):
        start_cpu = time.process_time()
        _, grad = steps.step(objective, grad)
        cpu.append(time.process_time() - start_cpu)
    return 1e9 * float(np.median(cpu)) / (fused.shape[1] * fused.shape[2])


def float32_errors(sources, fused, focus_map, window, variant) -> dict[str, tuple[float, float]]:
    """Per engine, float32 against the torch engine in float64: |dQ| / |Q| and max |d grad| / max |grad|."""
    s, y, m = to_torch(sources, fused, focus_map, torch.float64)
    q64, g64 = MFFSSIMObjective(s, m, window, variant).value_and_grad(y)
    s, y, m = to_torch(sources, fused, focus_map, torch.float32)
    errors = {}
    for name, engine in ENGINES.items():
        q, g = engine(s, m, window, variant).value_and_grad(y)
        errors[name] = (abs(float(q) - float(q64)) / abs(float(q64)),
                        float((g.double() - g64).abs().max() / g64.abs().max()))
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the full grid (every value of every option below)")
    parser.add_argument("--sizes", type=float, nargs="+", default=[1], choices=sorted(SIZES), help="megapixels")
    parser.add_argument("--windows", type=int, nargs="+", default=[13])
    parser.add_argument("--variants", nargs="+", default=["paper", "reference"], choices=["paper", "reference"])
    parser.add_argument("--sources", type=int, nargs="+", default=[2], help="K")
    parser.add_argument("--threads", type=int, nargs="+", default=[1])
    parser.add_argument("--maps", nargs="+", default=["one-hot"], choices=["one-hot", "soft"])
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per engine and row")
    parser.add_argument("--errors", action="store_true", help="also the float32 errors of both engines")
    parser.add_argument("--per-iteration", action="store_true",
                        help="also the CPU time of a whole adam-cosine iteration on each engine")
    args = parser.parse_args()
    if args.full:
        args.sizes, args.windows, args.variants = sorted(SIZES), [13, 25], ["paper", "reference"]
        args.sources, args.threads, args.maps = [2, 3], [1, 2], ["one-hot", "soft"]
    print(f"value_and_grad, float32 colour images, torch {torch.__version__} and numba {numba.__version__} "
          f"({numba.config.THREADING_LAYER} threading layer requested), {args.repeats} calls per engine; "
          f"{os.cpu_count()} CPUs, a shared machine: timings are approximate")
    head = ("| MP | size | variant | W | K | map | threads | torch ns/px | fused ns/px | torch/fused | "
            "torch CPU ns/px | fused CPU ns/px | load |")
    if args.per_iteration:
        head += " torch CPU ns/px/iteration | fused CPU ns/px/iteration | torch/fused |"
    if args.errors:
        head += " torch f32 Q err | torch f32 grad err | fused f32 Q err | fused f32 grad err |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for size, count, soft in itertools.product(args.sizes, args.sources, args.maps):
        height, width = SIZES[size]
        sources, focus_map = benchmark_stack(height, width, count, soft == "soft")
        fused = sources.mean(0)
        s, y, m = to_torch(sources, fused, focus_map, torch.float32)
        for variant, window, threads in itertools.product(args.variants, args.windows, args.threads):
            set_threads(threads)
            load = os.getloadavg()[0]
            timing = {name: time_ns(engine(s, m, window, variant), y, args.repeats) for name, engine in ENGINES.items()}
            line = (f"| {size:g} | {width}x{height} | {variant} | {window} | {count} | {soft} | {threads} | "
                    f"{timing['torch'][0]:.1f} | {timing['fused'][0]:.1f} | "
                    f"{timing['torch'][0] / timing['fused'][0]:.1f} | {timing['torch'][1]:.1f} | "
                    f"{timing['fused'][1]:.1f} | {load:.2f} |")
            if args.per_iteration:
                steps = {"torch": _AdamCosine, "fused": _FusedAdamCosine}
                per = {name: time_iteration_ns(engine(s, m, window, variant), steps[name], y, args.repeats)
                       for name, engine in ENGINES.items()}
                line += f" {per['torch']:.1f} | {per['fused']:.1f} | {per['torch'] / per['fused']:.1f} |"
            if args.errors:
                errors = float32_errors(sources, fused, focus_map, window, variant)
                line += "".join(f" {e:.1e} |" for name in ENGINES for e in errors[name])
            print(line, flush=True)


if __name__ == "__main__":
    main()
