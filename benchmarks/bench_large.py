"""Camera-sized frames and long stacks: time, CPU seconds, peak RSS and band share of `mffssim fuse`.

Frames are made from real images and written as 8-bit TIFFs under --work (never committed):

- pairs: a two-source set (e.g. an MFFW or Lytro folder with source_1.*, source_2.*), upscaled (bicubic) to
  1, 4, 12 and 24 MP at 4:3;
- stacks: a folder of frames (e.g. focus_stack_examples/depthmap, 10 frames), upscaled likewise; K = 2 takes
  its first two frames, K = 10 its first ten, K = 30 the ten frames followed by 20 copies of them blurred
  (Gaussian sigma 1 px after upscaling) and scaled by 0.98 / 1.02 in brightness, so that the copies are
  never sharper and the map stays close to the K = 10 one (ties in perfectly flat areas go to the last frame);
- worst case: the pair cut into a checkerboard of 32 px cells (source 1 sharp on white cells, the sources
  swapped on black ones), fused with that map (--map), so every tile holds boundaries.

Every row is one child process (`python -m mffssim.cli fuse ...`), so its peak RSS (ru_maxrss of the child)
does not include the other rows'. Band rows run mffssim.stack.fuse_files (what `mffssim fuse` runs: read,
detect, fuse; no write); full rows run mffssim.fusion.fuse(solver="full") on the frames read into memory, the
old path, skipped above --full-max-mp (default 12). Prints a markdown table: rows, wall and CPU seconds, peak RSS,
iterations, band share, load average at the start of the row, torch threads.

    python benchmarks/bench_large.py --pair resources/data/mffw/mffw2_04 \\
        --stack resources/data/focus_stack_examples/depthmap --work /tmp/bench_large --sizes 1 4 12 24
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

_CHILD = r"""
import json, resource, sys, time, torch
args = json.loads(sys.argv[1])
torch.set_num_threads(args["threads"])
wall, cpu = time.perf_counter(), time.process_time()
if args["solver"] == "full":
    from mffssim.fusion import fuse
    from mffssim.io import read_image_set, read_focus_map
    from mffssim.ssim import window_size
    sources, depth = read_image_set(args["paths"])
    window = window_size(*sources.shape[1:3])
    m = read_focus_map(args["map"], len(args["paths"])) if args["map"] else None
    result = fuse(sources, m, window=window, variant=args["variant"], device="cpu", solver="full")
    share, iterations = 1.0, result.iterations
else:
    from mffssim.ssim import window_size
    from mffssim.stack import fuse_files
    from mffssim.io import read_image_and_depth, read_label_map
    first, _ = read_image_and_depth(args["paths"][0])
    window = window_size(*first.shape[:2]); del first
    labels = read_label_map(args["map"], len(args["paths"])) if args["map"] else None
    result = fuse_files(args["paths"], window=window, labels=labels, variant=args["variant"])
    share, iterations = result.settings["band_share"], result.iterations
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                  "rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                  "share": share, "iterations": iterations, "threads": torch.get_num_threads()}))
"""


def _size(mp: float) -> tuple[int, int]:
    """4:3 frame of about ``mp`` megapixels (width, height), both even."""
    height = int(round((mp * 1e6 * 3 / 4) ** 0.5 / 2)) * 2
    return int(round(height * 4 / 3 / 2)) * 2, height


def _frames(paths: list[Path], mp: float, work: Path, tag: str, extra: int = 0) -> list[Path]:
    from PIL import Image
    from scipy import ndimage

    from mffssim.io import read_image

    width, height = _size(mp)
    out = []
    for index in range(len(paths) + extra):
        target = work / f"{tag}_{mp:g}mp_{index + 1:02d}.tif"
        if not target.exists():
            image = read_image(paths[index % len(paths)])
            if image.shape[2] == 1:
                image = np.repeat(image, 3, axis=2)
            big = np.asarray(Image.fromarray(np.round(image * 255).astype(np.uint8)).resize((width, height),
                                                                                           Image.BICUBIC))
            if index >= len(paths):  # a perturbed copy: blurred, brightness 0.98 or 1.02
                gain = 0.98 if (index // len(paths)) % 2 else 1.02
                big = np.clip(ndimage.gaussian_filter(big.astype(np.float32), (1, 1, 0)) * gain, 0, 255)
                big = np.round(big).astype(np.uint8)
            import tifffile

            tifffile.imwrite(target, big, photometric="rgb")
        out.append(target)
    return out


def _checker(pair: list[Path], mp: float, work: Path) -> tuple[list[Path], Path]:
    """The worst case: 32 px checkerboard cells, the sources swapped on black cells, and that map."""
    import tifffile

    from mffssim.io import write_label_map

    frames = _frames(pair, mp, work, "pair")
    a, b = tifffile.imread(frames[0]), tifffile.imread(frames[1])
    rows, cols = np.indices(a.shape[:2]) // 32
    black = ((rows + cols) % 2).astype(bool)
    out = []
    for index, (x, y) in enumerate(((a, b), (b, a))):
        target = work / f"checker_{mp:g}mp_{index + 1}.tif"
        tifffile.imwrite(target, np.where(black[..., None], y, x), photometric="rgb")
        out.append(target)
    map_path = work / f"checker_{mp:g}mp_map.png"
    write_label_map(map_path, black.astype(np.uint8), 2)
    return out, map_path


def _run(paths, solver: str, variant: str, threads: int, map_path=None) -> dict:
    load = os.getloadavg()[0]
    args = {"paths": [str(p) for p in paths], "solver": solver, "variant": variant, "threads": threads,
            "map": str(map_path) if map_path else None}
    done = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(args)], capture_output=True, text=True)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}",
                "load": load}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]), load=load)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", type=Path, required=True, help="folder with source_1.*, source_2.*")
    parser.add_argument("--stack", type=Path, help="folder of the frames of one focus stack (sorted by name)")
    parser.add_argument("--work", type=Path, required=True, help="folder for the upscaled frames")
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 4, 12, 24], help="megapixels")
    parser.add_argument("--stack-sizes", type=float, nargs="+", default=[12], help="megapixels of the stacks")
    parser.add_argument("--counts", type=int, nargs="+", default=[10, 30], help="K of the stacks")
    parser.add_argument("--variants", nargs="+", default=["paper", "reference"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--full-max-mp", type=float, default=12.0, help="largest frame for the full-frame path")
    parser.add_argument("--checker-mp", type=float, default=4.0, help="size of the checkerboard worst case")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    pair = sorted(p for p in args.pair.iterdir() if p.stem in ("source_1", "source_2"))
    rows = []

    def row(name, mp, k, variant, solver, paths, map_path=None):
        result = _run(paths, solver, variant, args.threads, map_path)
        rows.append((name, mp, k, variant, solver, result))
        print(name, mp, k, variant, solver, result, file=sys.stderr, flush=True)

    for mp in args.sizes:
        frames = _frames(pair, mp, args.work, "pair")
        for variant in args.variants:
            row("pair", mp, 2, variant, "band", frames)
            if mp <= args.full_max_mp:
                row("pair", mp, 2, variant, "full", frames)
    if args.stack is not None:
        stack = sorted(p for p in args.stack.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".tif"))
        for mp in args.stack_sizes:
            for k in args.counts:
                frames = _frames(stack[:k], mp, args.work, "stack", extra=max(k - len(stack), 0))
                row("stack", mp, k, "paper", "band", frames[:k])
    frames, map_path = _checker(pair, args.checker_mp, args.work)
    for variant in args.variants:
        row("checkerboard 32 px", args.checker_mp, 2, variant, "band", frames, map_path)

    print("| frames | MP | K | variant | solver | wall s | CPU s | peak RSS GB | iterations | band share | load | threads |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, mp, k, variant, solver, r in rows:
        if "error" in r:
            print(f"| {name} | {mp:g} | {k} | {variant} | {solver} | error: {r['error']} | | | | | {r['load']:.1f} | |")
            continue
        print(f"| {name} | {mp:g} | {k} | {variant} | {solver} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['rss_gb']:.2f} "
              f"| {r['iterations']} | {r['share']:.1%} | {r['load']:.1f} | {r['threads']} |")


if __name__ == "__main__":
    main()
