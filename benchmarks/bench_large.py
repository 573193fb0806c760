"""Camera-sized frames and long stacks: time, peak memory and band share of fuse(), per solver.

Frames are upscaled (bicubic) from real pairs and stacks, so the focus map's boundaries are as dense as real
photos make them: MFFW (mffw2_02), Lytro (lytro_01) and frames 1 and 5 of the PCB stack of
``focus_stack_examples/pcb``; K = 10 is the 10-frame stack ``focus_stack_examples/depthmap``, K = 30 repeats it
with +-1 grey level of seeded noise per copy. A worst-case row fuses with a checkerboard map
of 32-pixel squares (boundaries everywhere). Every row runs in a child process, so its peak RSS is its own.

    python benchmarks/bench_large.py --data resources/data --sizes 1 4 --solvers band full
    python benchmarks/bench_large.py --data resources/data --sizes 12 24 --solvers band --stacks 10 30
    python benchmarks/bench_large.py --traffic            # full frame: ns/pixel/iteration vs memory bandwidth
    python benchmarks/bench_large.py --astronaut DIR --threads 2   # `mffssim fuse` and enfuse, 6000x4000 pair

``--astronaut`` writes a seeded synthetic 6000x4000 pair as 8-bit TIFFs into DIR (made once, reused):
scikit-image's astronaut resized to 1500x1000 with anti-aliasing, then bilinearly to 6000x4000, plus
Gaussian noise of standard deviation 0.03 (seed 0), clipped to [0, 1]; a disc of radius 4000/3 centred at
(x = 2000, y = 2000) is sharp in source 1 and the rest blurred with a Gaussian of sigma 4; source 2 is the
complement. It then times, in the same run, ``mffssim fuse s1.tif s2.tif -o out.tif --threads N`` (otherwise
defaults) and, when it is on PATH, ``enfuse --exposure-weight=0 --saturation-weight=0 --contrast-weight=1
--hard-mask``: wall, CPU seconds and peak RSS of each command.

Columns: wall and CPU seconds of the child (map detection and fusion; reading the small originals and
upscaling excluded), peak RSS, the solver's own seconds, iterations, ns per pixel per iteration of the solver,
the share of pixels that may move and of windows computed. Give the load average beside the figures: on a
shared machine wall time is not CPU time.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

PAIRS = {"lytro": "lytro/lytro_01/source_{k}.jpg", "mffw": "mffw/mffw2_02/source_{k}.tif",
         "pcb": "focus_stack_examples/pcb/pcb_00{k}.jpg"}
SIZES = {1: (1155, 866), 4: (2309, 1732), 12: (4000, 3000), 24: (6000, 4000)}


def _frames(data: Path, scene: str, count: int, size: tuple[int, int]) -> np.ndarray:
    """float32 (K, H, W, 3) frames of ``scene`` upscaled to ``size`` (width, height)."""
    return np.stack(list(_frame_iter(data, scene, count, size)))


def _frame_iter(data: Path, scene: str, count: int, size: tuple[int, int]):
    """The frames of :func:`_frames`, one at a time."""
    from PIL import Image

    if scene == "pcb" and count > 2:  # the 10-frame stack of focus_stack_examples/depthmap
        names = [data / f"focus_stack_examples/depthmap/pcb_{i:03d}.JPG" for i in range(10)]
    else:
        names = [data / PAIRS[scene].format(k=k) for k in ((1, 5) if scene == "pcb" else (1, 2))]
    rng = np.random.default_rng(0)
    for i in range(count):
        image = Image.open(names[i % len(names)]).convert("RGB").resize(size, Image.BICUBIC)
        frame = np.asarray(image, np.float32) / 255
        if i >= len(names):  # a repeated frame: a different copy
            frame = np.clip(frame + rng.integers(-1, 2, frame.shape) / 255, 0, 1).astype(np.float32)
        yield frame


def _row(args) -> dict:
    """One measurement, in this (child) process."""
    import torch

    from mffssim.focus import laplacian_focus_map, one_hot
    from mffssim.fusion import fuse
    from mffssim.ssim import window_size

    torch.set_num_threads(args.threads)
    width, height = SIZES[args.size]
    sources = _frames(Path(args.data), args.scene, args.count, (width, height))
    window = window_size(height, width)
    wall, cpu = time.perf_counter(), time.process_time()
    if args.scene_map == "checker":
        yy, xx = np.mgrid[:height, :width]
        focus_map = one_hot(((yy // 32 + xx // 32) % args.count), args.count)
    else:
        focus_map = laplacian_focus_map(sources, window)
    result = fuse(sources, focus_map, window=window, device="cpu", solver=args.solver,
                  iterations=args.iterations)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    info = result.solver
    return {"scene": args.scene if args.scene_map != "checker" else f"{args.scene} checker", "MP": args.size,
            "K": args.count, "solver": info["solver"], "wall_s": wall, "cpu_s": cpu,
            "peak_GB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, "solver_s": result.seconds,
            "iterations": result.iterations,
            "ns_px_it": 1e9 * result.seconds / (width * height * max(result.iterations, 1)),
            "moving": info.get("moving_share"), "computed": info.get("computed_share"),
            "threads": torch.get_num_threads()}


# operators that make views or allocate without touching the data
_NO_TRAFFIC = {"select", "slice", "view", "as_strided", "narrow", "reshape", "expand", "permute", "transpose",
               "t", "unsqueeze", "squeeze", "detach", "alias", "empty", "empty_like", "empty_strided", "lift_fresh",
               "item", "_local_scalar_dense", "to", "resolve_conj", "resolve_neg"}


def _traffic(threads: int) -> None:
    """The full-frame path at 1 MP: ns/pixel/iteration, the bytes its operators read and write per pixel per
    iteration (from the profiler's shapes), and the time those bytes take at the measured copy bandwidth."""
    import torch

    from mffssim.fusion import _Adam
    from mffssim.ssim import MFFSSIMObjective

    torch.set_num_threads(threads)
    big = np.ones(1 << 25)  # 256 MiB
    out = np.empty_like(big)
    np.copyto(out, big)
    start = time.perf_counter()
    for _ in range(5):
        np.copyto(out, big)
    bandwidth = 5 * 2 * big.nbytes / (time.perf_counter() - start)  # read + write
    rng = np.random.default_rng(0)
    k, c, h, w = 2, 3, 1000, 1000
    x = torch.from_numpy(rng.random((k, c, h, w), dtype=np.float32))
    labels = (rng.random((h // 40 + 1, w // 40 + 1)) > 0.5).repeat(40, 0).repeat(40, 1)[:h, :w]
    m = torch.from_numpy(np.stack([labels, ~labels]).astype(np.float32))
    objective = MFFSSIMObjective(x, m, 25)
    y = x[0].clone()
    adam = _Adam(y, 1e-3, 10)
    q, grad = objective.value_and_grad(y)
    steps = 5
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        q, grad = adam.step(objective, grad)
    wall, cpu = (time.perf_counter() - wall) / steps, (time.process_time() - cpu) / steps
    with torch.profiler.profile(record_shapes=True) as prof:
        q, grad = adam.step(objective, grad)
    moved = 0  # per top-level operator: a read of every tensor argument and a write of the largest
    sizes = {"float": 4, "double": 8, "bool": 1, "long int": 8}
    for event in prof.events():
        if event.cpu_parent is not None or event.name.split("::")[-1] in _NO_TRAFFIC:
            continue
        tensors = [int(np.prod(shape)) * sizes[dtype] for shape, dtype in zip(event.input_shapes, event.input_dtypes)
                   if shape and dtype in sizes]
        if tensors:
            moved += sum(tensors) + max(tensors)
    pixels = h * w
    print(f"copy bandwidth {bandwidth / 1e9:.1f} GB/s (numpy, 256 MiB, read + write); torch {threads} threads; "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"full frame 1 MP, K 2, C 3, W 25: {1e9 * wall / pixels:.0f} ns/pixel/iteration wall, "
          f"{1e9 * cpu / pixels:.0f} CPU; its operators read and write about {moved / pixels:.0f} bytes/pixel/iteration "
          f"(profiler shapes: every tensor argument read, the largest written; caches not counted); at the copy bandwidth "
          f"{1e9 * moved / bandwidth / pixels:.0f} ns/pixel/iteration: {wall * bandwidth / moved:.1f}x the "
          f"bandwidth bound")


def astronaut_pair(folder: Path) -> list[Path]:
    """The seeded 6000x4000 pair described in the module docstring, as 8-bit TIFFs in ``folder`` (kept)."""
    from skimage import data, transform

    from mffssim.defocus import gaussian_blur
    from mffssim.io import write_image

    paths = [folder / "astronaut_s1.tif", folder / "astronaut_s2.tif"]
    if all(p.is_file() for p in paths):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    small = transform.resize(data.astronaut(), (1000, 1500), anti_aliasing=True)
    image = transform.resize(small, (4000, 6000), order=1, anti_aliasing=False).astype(np.float32)
    image += np.random.default_rng(0).normal(0.0, 0.03, image.shape).astype(np.float32)
    np.clip(image, 0.0, 1.0, out=image)
    blurred = gaussian_blur(image, 4.0)
    yy, xx = np.ogrid[:4000, :6000]
    disc = ((xx - 2000) ** 2 + (yy - 2000) ** 2 <= (4000 / 3) ** 2)[:, :, None]
    write_image(paths[0], np.where(disc, image, blurred), 8)
    write_image(paths[1], np.where(disc, blurred, image), 8)
    return paths


def _command(argv: list[str]) -> dict:
    """Wall and CPU seconds and peak RSS (GB) of one command, run as a child of a fresh Python process."""
    probe = ("import resource, subprocess, sys, time, json; t = time.perf_counter(); "
             "done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
             "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
             "print(json.dumps({'wall': time.perf_counter() - t, 'cpu': u.ru_utime + u.ru_stime, "
             "'peak': u.ru_maxrss / 1e6, 'status': done.returncode, 'err': done.stderr[-2000:]}))")
    load = os.getloadavg()[0]
    out = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=True)
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "load": load}


def _astronaut(folder: Path, threads: int) -> None:
    import shutil

    sources = astronaut_pair(folder)
    runs = [("mffssim fuse", [sys.executable, "-m", "mffssim.cli", "fuse", *map(str, sources), "-o",
                              str(folder / "mffssim.tif"), "--threads", str(threads)])]
    enfuse = shutil.which("enfuse")
    if enfuse:
        runs.append(("enfuse", [enfuse, "--exposure-weight=0", "--saturation-weight=0", "--contrast-weight=1",
                                "--hard-mask", f"--output={folder / 'enfuse.tif'}", *map(str, sources)]))
    print(f"6000x4000 astronaut pair in {folder}; mffssim --threads {threads}; {os.cpu_count()} CPUs, a shared "
          "machine: timings are approximate")
    print("| command | wall s | CPU s | peak GB | load (1 min) | status |\n|---|---|---|---|---|---|")
    for name, argv in runs:
        r = _command(argv)
        print(f"| {name} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['peak']:.2f} | {r['load']:.2f} | {r['status']} |",
              flush=True)
        solver = [line for line in r["err"].splitlines() if "solver" in line or "Q " in line]
        if solver:
            print("  " + "\n  ".join(solver[-2:]))


def _share(value) -> str:
    return "-" if value is None else f"{100 * value:.0f} %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="resources/data",
                        help="folder holding lytro/, mffw/, focus_stack_examples/ (the workflow downloads them there)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 12, 24], choices=sorted(SIZES))
    parser.add_argument("--scenes", nargs="+", default=["pcb", "lytro", "mffw"], choices=sorted(PAIRS))
    parser.add_argument("--stacks", type=int, nargs="*", default=[], help="K > 2 rows (PCB stack), e.g. 10 30")
    parser.add_argument("--solvers", nargs="+", default=["band", "full"], choices=["band", "full", "auto"])
    parser.add_argument("--full-max", type=int, default=4, help="largest size (MP) the full frame is run at")
    parser.add_argument("--worst", action="store_true", help="add the checkerboard rows (first scene)")
    parser.add_argument("--iterations", type=int, default=None, help="default: fuse()'s")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--traffic", action="store_true", help="only the bandwidth estimate of the full frame")
    parser.add_argument("--write", metavar="DIR", help="only write the frames of the first size and of each of "
                        "--stacks (or K = 2) as DIR/<MP>mp_k<K>/frame_NN.png, for timing `mffssim fuse` end to end")
    parser.add_argument("--astronaut", metavar="DIR", help="only the synthetic 6000x4000 pair: `mffssim fuse` "
                        "(--threads) and enfuse, timed in the same run; the pair is written to DIR once")
    parser.add_argument("--row", help=argparse.SUPPRESS)  # internal: one row as JSON, in a child
    args = parser.parse_args()
    if args.astronaut:
        _astronaut(Path(args.astronaut), args.threads)
        return
    if args.row:
        row = argparse.Namespace(**json.loads(args.row))
        print(json.dumps(_row(row)))
        return
    if args.traffic:
        _traffic(args.threads)
        return
    if args.write:
        from mffssim.io import write_image

        size = args.sizes[0]
        for count in args.stacks or [2]:
            folder = Path(args.write) / f"{size}mp_k{count}"
            folder.mkdir(parents=True, exist_ok=True)
            scene = "pcb" if count > 2 else args.scenes[0]
            for k, frame in enumerate(_frame_iter(Path(args.data), scene, count, SIZES[size])):
                write_image(folder / f"frame_{k + 1:02d}.png", frame)
            print(folder)
        return
    jobs = []
    for size in args.sizes:
        for solver in args.solvers:
            if solver == "full" and size > args.full_max:
                continue
            for scene in args.scenes:
                jobs.append(dict(scene=scene, count=2, size=size, solver=solver, scene_map="lap"))
            if args.worst:
                jobs.append(dict(scene=args.scenes[0], count=2, size=size, solver=solver, scene_map="checker"))
            for count in args.stacks:
                jobs.append(dict(scene="pcb", count=count, size=size, solver=solver, scene_map="lap"))
    print(f"load average {os.getloadavg()[0]:.1f} at the start; {args.threads} torch thread(s)")
    print("| scene | MP | K | solver | wall s | CPU s | peak GB | solver s | iterations | ns/px/it | moving | "
          "windows computed | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for job in jobs:
        job.update(data=args.data, iterations=args.iterations, threads=args.threads)
        done = subprocess.run([sys.executable, __file__, "--row", json.dumps(job)], capture_output=True, text=True)
        if done.returncode:
            print(f"| {job['scene']} | {job['size']} | {job['count']} | {job['solver']} | failed: "
                  f"{done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode} |")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"| {r['scene']} | {r['MP']} | {r['K']} | {r['solver']} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
              f"{r['peak_GB']:.2f} | {r['solver_s']:.1f} | {r['iterations']} | {r['ns_px_it']:.0f} | "
              f"{_share(r['moving'])} | {_share(r['computed'])} | {os.getloadavg()[0]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
