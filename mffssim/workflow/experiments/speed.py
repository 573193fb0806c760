"""Speed of the solver: time per iteration and time to converge against the image size
(at a fixed W) and against W (at a fixed size), both variants, and the power law time ~ pixels^b fitted
in log-log (b ~ 1: an iteration costs O(pixels), whatever W for the paper variant).

The timing helpers are shared with ``benchmarks/bench_fusion.py``. Timings on a shared machine are
approximate: each row carries the load average at its measurement.
"""
from __future__ import annotations

import math
import os
import time
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from mffssim.io import save_figure
from mffssim.workflow.experiments.report_io import load_average, markdown_table

SIZES = (128, 256, 512, 1024)
WINDOWS = (5, 9, 13, 17, 25)
VARIANTS = ("paper", "reference")


# ---------------------------------------------------------------------------------------------------
# The benchmark pair and the timers (also used by benchmarks/bench_fusion.py)
# ---------------------------------------------------------------------------------------------------
def benchmark_pair(height: int = 432, width: int = 624, sigma: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """(sharp original (H, W, 3), sources (2, H, W, 3)): scikit-image's astronaut resized (anti-aliased)
    to H x W; source 1 has its left half blurred (Gaussian sigma), source 2 its right half."""
    from skimage import data, transform

    from mffssim.defocus import gaussian_blur

    image = transform.resize(data.astronaut(), (height, width), anti_aliasing=True).astype(np.float32)
    image = np.clip(image, 0.0, 1.0)
    blurred = gaussian_blur(image, sigma)
    half = width // 2
    first, second = image.copy(), image.copy()
    first[:, :half] = blurred[:, :half]
    second[:, half:] = blurred[:, half:]
    return image, np.stack([first, second])


def ms_per_iteration(sources, fmap, window, variant, iterations, device, repeats=3) -> float:
    """Wall time per Adam iteration of fuse: its seconds (objective set-up, the first evaluation and the
    copy back included, so slightly pessimistic) over its iterations; the fastest of ``repeats`` runs,
    the usual estimate on a machine where other jobs take turns."""
    from mffssim.fusion import fuse

    fuse(sources, fmap, window=window, variant=variant, optimizer="adam", iterations=2, tol=None, device=device)
    tries = []
    for _ in range(repeats):
        result = fuse(sources, fmap, window=window, variant=variant, optimizer="adam", iterations=iterations,
                      tol=None, device=device)
        tries.append(1000.0 * result.seconds / iterations)
    return min(tries)


def ms_per_objective(sources, fmap, window, variant, iterations, device, repeats=3) -> float:
    """Wall time of one value_and_grad of the objective alone (the fastest of ``repeats`` means)."""
    from mffssim.ssim import MFFSSIMObjective

    dev = torch.device(device)
    x = torch.from_numpy(sources).permute(0, 3, 1, 2).contiguous().to(dev)
    objective = MFFSSIMObjective(x, torch.from_numpy(fmap).to(dev), window, variant)
    y = x.mean(0).contiguous()
    objective.value_and_grad(y)
    tries = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(iterations):
            q, _grad = objective.value_and_grad(y)
        float(q)  # waits for a GPU
        tries.append(1000.0 * (time.perf_counter() - start) / iterations)
    return min(tries)


def ms_per_step(shape, device, steps=50) -> float:
    """The loop's own cost per iteration: one Adam step with its clamp (torch ops only, no objective),
    the fastest of ``steps`` single steps."""
    from mffssim.fusion import _Adam

    class Fixed:  # stands in for the objective: hands back a fresh gradient-sized tensor, as it does
        def __init__(self, grad):
            self.grad = grad

        def value_and_grad(self, y):
            return None, self.grad

    generator = torch.Generator().manual_seed(0)
    y = torch.rand(shape, generator=generator).to(device)
    grad = (torch.randn(shape, generator=generator) * 1e-6).to(device)
    adam, objective, times = _Adam(y, 1e-3, steps), Fixed(grad.clone()), []
    for _ in range(steps):
        objective.grad = grad.clone()  # the step scales its gradient in place
        start = time.perf_counter()
        adam.step(objective, objective.grad)
        float(y[0, 0, 0])  # waits for a GPU
        times.append(time.perf_counter() - start)
    return 1000.0 * min(times)


def converge_iteration(trace: Sequence[float], q_gap: float) -> int:
    """The first iteration whose Q is within ``q_gap`` of the best Q of the run."""
    trace = np.asarray(trace, dtype=np.float64)
    return int(np.nonzero(trace >= trace.max() - q_gap)[0][0])


def fit_power_law(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """Least-squares fit of y = c * x^b in log-log; returns (b, c)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) < 2 or np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("fit_power_law: needs two or more positive (x, y) points")
    slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
    return float(slope), float(math.exp(intercept))


# ---------------------------------------------------------------------------------------------------
# The study
# ---------------------------------------------------------------------------------------------------
def _measure(sources, window, variant, *, kind, timed_iterations, repeats, q_gap, fuse_options) -> dict[str, Any]:
    from mffssim.focus import laplacian_focus_map
    from mffssim.fusion import fuse

    height, width = sources.shape[1:3]
    fmap = laplacian_focus_map(sources, window)
    device = fuse_options.get("device", "cpu")
    ms = ms_per_iteration(sources, fmap, window, variant, timed_iterations, device, repeats)
    cpu_started = time.process_time()
    result = fuse(sources, fmap, window=window, variant=variant, **fuse_options)
    cpu_per_iteration = (time.process_time() - cpu_started) / max(result.iterations, 1)
    reached = converge_iteration(result.trace, q_gap)
    per_iteration = result.seconds / max(result.iterations, 1)
    return {"kind": kind, "variant": variant, "height": height, "width": width, "pixels": height * width,
            "window": window, "ms_per_iteration": round(ms, 3), "cpu_ms_per_iteration": round(1000 * cpu_per_iteration, 3),
            "run_iterations": result.iterations, "run_seconds": round(result.seconds, 3), "converge_iterations": reached,
            "converge_seconds": round(reached * per_iteration, 3),
            "converge_cpu_seconds": round(reached * cpu_per_iteration, 3), "q": result.q, "load_average": load_average()}


def speed_study(
    *,
    sizes: Sequence[int] = SIZES,
    size_window: int = 13,
    windows: Sequence[int] = WINDOWS,
    window_image_size: int = 512,
    variants: Sequence[str] = VARIANTS,
    timed_iterations: int = 10,
    repeats: int = 2,
    q_gap: float = 1e-4,
    fuse_options: Mapping[str, Any] | None = None,
    progress=None,
) -> list[dict[str, Any]]:
    """Rows of kind ``size`` (square benchmark pairs of each side in ``sizes``, window ``size_window``) and
    ``window`` (the ``window_image_size`` pair, each W in ``windows``), per variant: ms_per_iteration (wall,
    fastest of ``repeats`` timed runs of ``timed_iterations`` Adam steps), and one run with ``fuse_options``
    (the workflow's solver settings): its CPU time per iteration (this process's; with one torch thread it
    hardly depends on the machine's load), its iterations, the first iteration within ``q_gap`` of its best
    Q and the time to get there (that iteration count times the run's wall / CPU time per iteration)."""
    options = dict(fuse_options or {})
    options.pop("window", None)
    common = dict(timed_iterations=timed_iterations, repeats=repeats, q_gap=q_gap, fuse_options=options)
    rows = []
    for size in sizes:
        _, sources = benchmark_pair(size, size)
        for variant in variants:
            rows.append(_measure(sources, size_window, variant, kind="size", **common))
            if progress:
                progress(rows[-1])
    _, sources = benchmark_pair(window_image_size, window_image_size)
    for window in windows:
        for variant in variants:
            rows.append(_measure(sources, window, variant, kind="window", **common))
            if progress:
                progress(rows[-1])
    return rows


def slopes(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The fitted exponent b of time ~ pixels^b per variant (CPU and wall ms/iteration, CPU time to
    converge; CPU ms/iteration over the two largest sizes), and of CPU ms/iteration ~ W^b at the fixed size."""
    def fit(members, x, y):
        points = [(r[x], r[y]) for r in members if r.get(y) is not None and float(r[y]) > 0]
        return fit_power_law(*zip(*points))[0] if len(points) >= 2 else math.nan

    out = []
    for variant in dict.fromkeys(r["variant"] for r in rows):
        by_size = sorted((r for r in rows if r["kind"] == "size" and r["variant"] == variant), key=lambda r: r["pixels"])
        by_window = sorted((r for r in rows if r["kind"] == "window" and r["variant"] == variant), key=lambda r: r["window"])
        out.append({
            "variant": variant,
            "b: CPU ms/it vs pixels": fit(by_size, "pixels", "cpu_ms_per_iteration"),
            "b: CPU ms/it, two largest sizes": fit(by_size[-2:], "pixels", "cpu_ms_per_iteration"),
            "b: CPU s to converge vs pixels": fit(by_size, "pixels", "converge_cpu_seconds"),
            "b: wall ms/it vs pixels": fit(by_size, "pixels", "ms_per_iteration"),
            "b: CPU ms/it vs W": fit(by_window, "window", "cpu_ms_per_iteration"),
        })
    return out


def speed_figure(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike) -> None:
    """Left: ms/iteration and time to converge against pixels (log-log) with the fitted lines; right:
    ms/iteration against W at the fixed size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(13, 4))
    colours = {"paper": "tab:blue", "reference": "tab:orange"}
    for variant in dict.fromkeys(r["variant"] for r in rows):
        colour = colours.get(variant, "k")
        by_size = sorted((r for r in rows if r["kind"] == "size" and r["variant"] == variant), key=lambda r: r["pixels"])
        for axis, column, wall, what in ((left, "cpu_ms_per_iteration", "ms_per_iteration", "ms / iteration"),
                                         (middle, "converge_cpu_seconds", "converge_seconds", "s to converge")):
            points = [(r["pixels"], r[column]) for r in by_size if r.get(column) is not None and r[column] > 0]
            if len(points) < 2:
                continue
            x, y = map(np.array, zip(*points))
            b, c = fit_power_law(x, y)
            axis.loglog(x, y, "o", color=colour, label=f"{variant} (CPU): slope {b:.2f}")
            grid = np.geomspace(x.min(), x.max(), 20)
            axis.loglog(grid, c * grid**b, "-", color=colour, linewidth=0.8)
            axis.loglog([r["pixels"] for r in by_size], [r[wall] for r in by_size], "x", color=colour, alpha=0.5,
                        label=f"{variant} (wall)")
            axis.set_xlabel("pixels (H x W)")
            axis.set_ylabel(what)
        by_window = sorted((r for r in rows if r["kind"] == "window" and r["variant"] == variant), key=lambda r: r["window"])
        if by_window:
            right.plot([r["window"] for r in by_window], [r["cpu_ms_per_iteration"] for r in by_window], "o-", color=colour,
                       label=f"{variant} (CPU)")
            right.plot([r["window"] for r in by_window], [r["ms_per_iteration"] for r in by_window], "x:", color=colour,
                       alpha=0.5, label=f"{variant} (wall)")
    window_rows = [r for r in rows if r["kind"] == "window"]
    size_rows = [r for r in rows if r["kind"] == "size"]
    left.set_title(f"time per iteration vs pixels (W = {size_rows[0]['window'] if size_rows else '-'})", fontsize=9)
    middle.set_title("time to converge vs pixels", fontsize=9)
    right.set_title(f"time per iteration vs W ({window_rows[0]['width'] if window_rows else '-'} px square)", fontsize=9)
    right.set_xlabel("window W")
    right.set_ylabel("ms / iteration")
    right.set_ylim(bottom=0)
    for axis in (left, middle, right):
        axis.grid(alpha=0.3, which="both")
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=8)
    figure.tight_layout()
    save_figure(figure, path, dpi=110)


def summary_markdown(rows: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> str:
    columns = ["kind", "variant", "height", "width", "window", "cpu_ms_per_iteration", "ms_per_iteration",
               "converge_iterations", "converge_cpu_seconds", "converge_seconds", "run_iterations", "load_average"]
    loads = [float(r["load_average"]) for r in rows if math.isfinite(float(r["load_average"]))]
    text = [
        "# Speed: time per iteration and to converge against image size and window",
        "",
        f"Benchmark pairs: scikit-image's astronaut resized to square sizes, half of each source blurred "
        f"(sigma 3), the Laplacian map. Device `{settings.get('device')}`, {settings.get('threads')} torch "
        f"thread(s). Wall ms/iteration: the fastest of {settings.get('repeats')} runs of "
        f"{settings.get('timed_iterations')} Adam steps (set-up included). CPU ms/iteration: this process's CPU "
        f"time over one run with the workflow's solver (`{settings.get('optimizer')}`, {settings.get('iterations')} "
        "iterations at most), which counts the work whatever else shares the machine (the fits use it; on a GPU "
        "it counts only the host's share: read the wall columns there). To "
        f"converge: that run's first iteration within {settings.get('q_gap'):g} of its best Q, times its (CPU or "
        "wall) time per iteration.",
        "",
        "## Fitted exponents b of time ~ x^b",
        "",
        markdown_table(slopes(rows), default_digits=2),
        "Expected: b ~ 1 against pixels for both variants (cost grows with pixels only); against W, b ~ 0 for the "
        "paper variant (running sums) and below 1 for the reference variant (a separable Gaussian costs "
        "O(W) per pixel beside a fixed part). Small images are dominated by fixed per-call overheads, which "
        "lowers the slope over all sizes; the two-largest-sizes column shows the asymptotic one.",
        "",
        "## Measurements",
        "",
        markdown_table(rows, columns, digits={"ms_per_iteration": 1, "cpu_ms_per_iteration": 1, "converge_seconds": 2,
                                             "converge_cpu_seconds": 2, "load_average": 1}),
        f"Timings on a shared machine (load average {min(loads, default=math.nan):.1f} - "
        f"{max(loads, default=math.nan):.1f} during the runs) are approximate. The paper: 3.23 s per iteration "
        "at 624 x 432 colour (i7-8750H).",
        "",
        "Figure: speed.png. Data: speed.csv.",
        "",
    ]
    return "\n".join(text)
